#!/bin/sh
# mkimg.sh OUT: a small deterministic sparse image for the bmap fixtures:
# 1 MiB + 1000 bytes (not a multiple of the block size), data at blocks 0-1,
# 10, 100-119 and in the short last block, holes elsewhere.
# sample.bmap was made from it by bmap-tools 3.6:
#   sh mkimg.sh sample.img && bmaptool create sample.img > sample.bmap
set -eu
rm -f "$1"
truncate -s 1049576 "$1"
awk 'BEGIN { for (i = 0; i < 8192; i++) printf "%c", 65 + i % 26 }' | dd of="$1" bs=4096 seek=0 conv=notrunc status=none
awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%c", 97 + i % 26 }' | dd of="$1" bs=4096 seek=10 conv=notrunc status=none
awk 'BEGIN { for (i = 0; i < 81920; i++) printf "%c", 48 + i % 10 }' | dd of="$1" bs=4096 seek=100 conv=notrunc status=none
printf 'tail-data' | dd of="$1" bs=1 seek=1049000 conv=notrunc status=none
