#!/bin/sh
# test_exit.sh: mdraid's exit codes, one case per class (lib/err.h, README):
# a missing member exits 4 (I/O), a bad option 2 (usage), a member without a
# superblock 3 (bad data), a member too small for md 5 (refused, nothing
# written). The codes are opskit's own: mdadm says 1 for all of these.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/mdraid/lib.sh"
M="$OPSKIT_BUILD/mdraid/mdraid"
T="$TAP_TMP"

"$M" read "$T/nonexistent" 2>"$T/err"
check_eq "read of a missing member exits 4 (I/O)" 4 $?
check_eq "the missing member is named once, with one strerror" \
	"mdraid: $T/nonexistent: no usable member: cannot open: No such file or directory" "$(cat "$T/err")"
testcmd_rc "examine of a missing member exits 4 (I/O)" 4 "'$M' examine '$T/nonexistent'"
testcmd_rc "a bad option exits 2 (usage)" 2 "'$M' read --bogus '$T/nonexistent'"
testcmd_rc "an unknown command exits 2 (usage)" 2 "'$M' bogus '$T/nonexistent'"
# 1 MiB of a fixed pattern: no md superblock at any of v1.0/1.1/1.2's places
awk 'BEGIN { for (i = 0; i < 16384; i++) printf "opskit exit test %046d\n", i }' > "$T/junk.img"
"$M" read "$T/junk.img" "$T/junk.img" "$T/junk.img" "$T/junk.img" 2>"$T/err" >/dev/null
check_eq "members without a superblock exit 3 (bad data)" 3 $?
testcmd_rc "no superblock: no strerror after the magic" 0 "grep -q 'expected 0xa92b4efc)\$' '$T/err'"
head -c 4096 /dev/zero > "$T/tiny.img"
for i in 1 2 3; do head -c 1048576 /dev/zero > "$T/d$i.img"; done
before=$(md5sum "$T"/*.img)
testcmd_rc "create on a member too small for md exits 5 (refused)" 5 \
	"'$M' create --level=6 --raid-devices=4 -f '$T/tiny.img' '$T/d1.img' '$T/d2.img' '$T/d3.img'"
check_eq "refused: nothing was written" "$before" "$(md5sum "$T"/*.img)"
tap_done
