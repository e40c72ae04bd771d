#!/bin/sh
# demo: mdraid on four 32 MiB image files: create a RAID6 array, write a
# file into it, read it back with two members missing, scrub, corrupt a
# member and repair, rebuild a member onto a new file, and show examine next
# to mdadm's (when mdadm is installed).
set -eu
M="$OPSKIT_BUILD/mdraid/mdraid"
D="$DEMO_TMP/mdraid"
mkdir -p "$D"
cd "$D"
say() { printf '\n$ %s\n' "$*"; }
for i in 0 1 2 3; do head -c 32M /dev/urandom > "d$i.img"; done
say mdraid create --level=6 --raid-devices=4 --chunk=64K --name=demo d0.img d1.img d2.img d3.img
"$M" create --level=6 --raid-devices=4 --chunk=64K --name=demo --homehost=demo d0.img d1.img d2.img d3.img
head -c 5000000 /dev/urandom > data.bin
say "mdraid write --offset=1234567 d*.img < data.bin"
"$M" write --offset=1234567 d0.img d1.img d2.img d3.img < data.bin
say "mdraid read --offset=1234567 --length=5000000 missing d1.img missing d3.img | cmp - data.bin"
"$M" read --offset=1234567 --length=5000000 missing d1.img missing d3.img | cmp - data.bin && echo "identical (two members missing)"
say mdraid detail d0.img missing d2.img d3.img
"$M" detail d0.img missing d2.img d3.img | sed -n '1,12p'
say "dd if=/dev/urandom of=d2.img bs=4096 seek=300 count=1 conv=notrunc; mdraid check d*.img"
dd if=/dev/urandom of=d2.img bs=4096 seek=300 count=1 conv=notrunc 2>/dev/null
"$M" check d0.img d1.img d2.img d3.img || true
say mdraid repair d*.img
"$M" repair d0.img d1.img d2.img d3.img | tail -n 1
say "mdraid rebuild --slot=1 new1.img d0.img missing d2.img d3.img"
head -c 32M /dev/zero > new1.img
"$M" rebuild --slot=1 new1.img d0.img missing d2.img d3.img && echo rebuilt
"$M" read --offset=1234567 --length=5000000 d0.img new1.img missing missing | cmp - data.bin && echo "rebuilt member reads correctly"
say mdraid examine --homehost=demo new1.img
TZ=UTC "$M" examine --homehost=demo new1.img
if command -v mdadm >/dev/null 2>&1; then
	say "diff against: mdadm --examine --homehost=demo new1.img"
	TZ=UTC mdadm --examine --homehost=demo new1.img > mdadm.txt
	TZ=UTC "$M" examine --homehost=demo new1.img | diff mdadm.txt - && echo "identical to mdadm"
fi
