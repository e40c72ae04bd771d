#!/bin/sh
# test_safety.sh: mdraid refuses members someone else holds, and writes to
# loop block devices end to end.
#
# Real holders where the host allows them (root and loop devices): a loop
# device opened O_EXCL by another process, a mounted file system, a loop
# device whose backing file is given too, a member of another array. The
# kernel's bookkeeping that needs the md driver (/proc/mdstat, holders) is
# faked under MDRAID_SYSROOT. Every refusal is checked to write nothing
# (md5 of the members before and after).
. "$OPSKIT_SOURCE/tests/tap.sh"
M="$OPSKIT_BUILD/mdraid/mdraid"
T="$TAP_TMP"
LOOPS=""
HOLDER=""
cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	mountpoint -q "$T/mnt" 2>/dev/null && umount "$T/mnt"
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT

check_eq() {
	if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1" "expected [$2], got [$3]"; fi
}
# sums FILE...: md5 of each (files or block devices)
sums() { md5sum "$@" | cut -d' ' -f1 | tr '\n' ' '; }
# refused NAME CMD FILE...: CMD exits 5 and FILEs are unchanged
refused() {
	name=$1 cmd=$2
	shift 2
	before=$(sums "$@")
	sh -c "$cmd" > /dev/null 2> "$T/err" < /dev/null
	rc=$?
	after=$(sums "$@")
	[ -n "${SAFETY_DEBUG:-}" ] && head -n 2 "$T/err" >&2
	if [ $rc = 5 ] && [ "$before" = "$after" ]; then
		tap_ok "$name"
	else
		tap_fail "$name" "exit $rc (expected 5), unchanged: $([ "$before" = "$after" ] && echo yes || echo NO)
$(head -n 3 "$T/err")"
	fi
}
mk() {
	MEM=""
	i=0
	while [ "$i" -lt "$1" ]; do
		head -c "$2" /dev/urandom > "$T/m$i.img"
		MEM="$MEM $T/m$i.img"
		i=$((i + 1))
	done
}

# ---- faked kernel state: an image file backing a loop device ----
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=16K $MEM
head -c 4000000 /dev/urandom > "$T/d"
"$M" write --offset=0 $MEM < "$T/d"
"$M" read $MEM > "$T/full"
R="$T/root"
mkdir -p "$R/sys/block/loop99/loop" "$R/proc"
realpath "$T/m1.img" > "$R/sys/block/loop99/loop/backing_file"
refused "write refuses an image backing a loop device (faked sysroot)" \
	"MDRAID_SYSROOT='$R' '$M' write --offset=0 $MEM < '$T/d'" $MEM
check_eq "the refusal names the loop device" "yes" \
	"$(grep -q 'backs loop device /dev/loop99' "$T/err" && echo yes)"
refused "rebuild refuses a new member backing a loop device (faked sysroot)" \
	"MDRAID_SYSROOT='$R' '$M' rebuild --slot=1 '$T/m1.img' $T/m0.img missing $T/m2.img $T/m3.img" \
	$MEM
# grow runs the same checks (issue 15): the old members and the new one are
# left untouched
head -c 8M /dev/urandom > "$T/g4.img"
refused "grow refuses an image backing a loop device (faked sysroot)" \
	"MDRAID_SYSROOT='$R' '$M' grow -q --raid-devices=5 $MEM '$T/g4.img'" $MEM "$T/g4.img"
check_eq "the grow refusal names the member and the loop device" "yes" \
	"$(grep -q "m1.img: backs loop device /dev/loop99" "$T/err" && echo yes)"
rm -rf "$R/sys/block/loop99"
testcmd "without the fake loop device the same write works" \
	"MDRAID_SYSROOT='$R' '$M' write --offset=0 $MEM < '$T/d' && '$M' read $MEM | cmp - '$T/full' && echo same" \
	"same
" ""

# ---- real block devices: need root and loop devices ----
L=""
if [ "$(id -u)" = 0 ] && command -v losetup > /dev/null; then
	head -c 8M /dev/urandom > "$T/new.img"
	L=$(losetup -f --show --direct-io=on "$T/new.img" 2>/dev/null ||
		losetup -f --show "$T/new.img" 2>/dev/null)
	[ -n "$L" ] && LOOPS="$L"
fi
if [ -z "$L" ]; then
	for n in "rebuild onto a loop device" "rebuilt loop member reads back" \
		"degraded read with the loop member" "O_EXCL held during a write" \
		"write through a loop member reads back" "check after writes via loop" \
		"O_EXCL holder: write refused" "O_EXCL holder: rebuild refused" \
		"the rebuild refusal says the device is in use" \
		"O_EXCL holder: create refused" "loop device and its backing file" \
		"rebuild onto a loop device of another array" "rebuild --force over another array" \
		"mounted file system refused" "faked mdstat refused" "mdstat names the array" \
		"faked holders refused" "holders names the holder" \
		"O_EXCL holder: grow refused" "mounted file system: grow refused" \
		"faked mdstat: grow refused" "faked holders: grow refused"; do
		tap_skip "$n" "needs root and a free loop device"
	done
	tap_done
fi
LN=$(basename "$L")

# rebuild onto the loop device, end to end
"$M" rebuild --slot=2 "$L" $T/m0.img $T/m1.img missing $T/m3.img 2> "$T/err"
check_eq "rebuild onto a loop device" 0 $?
"$M" read $T/m0.img $T/m1.img "$L" $T/m3.img > "$T/r"
test_cmp "rebuilt loop member reads back" "$T/full" "$T/r"
"$M" read $T/m0.img missing "$L" missing > "$T/r"
test_cmp "degraded read with the loop member" "$T/full" "$T/r"
MEML="$T/m0.img $T/m1.img $L $T/m3.img"

# O_EXCL is held while mdraid writes: stdin is a fifo held open while we look
mkfifo "$T/fifo"
"$M" write --offset=100000 $MEML < "$T/fifo" 2> "$T/err" &
WP=$!
exec 9> "$T/fifo"
i=0
while [ $i -lt 50 ] && ! ls -l /proc/$WP/fd 2>/dev/null | grep -q "$L"; do
	sleep 0.1
	i=$((i + 1))
done
excl=$(python3 -c '
import os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL))
    print("opened")
except OSError as e:
    print("busy" if e.errno == 16 else e.strerror)
' "$L")
head -c 3000000 /dev/urandom > "$T/d2"
cat "$T/d2" >&9
exec 9>&-
wait $WP
wrc=$?
check_eq "O_EXCL held during a write" "busy" "$excl"
"$M" read --offset=100000 --length=3000000 $MEML > "$T/r"
if [ $wrc = 0 ] && cmp -s "$T/r" "$T/d2"; then
	tap_ok "write through a loop member reads back"
else
	tap_fail "write through a loop member reads back" "exit $wrc"
fi
testcmd "check after writes via loop" "'$M' check $MEML" "mismatch_cnt 0
" ""

# another process holds the loop device exclusively
python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
print("held", flush=True)
time.sleep(120)
' "$L" > "$T/held" &
HOLDER=$!
i=0
while [ $i -lt 50 ] && ! grep -q held "$T/held"; do
	sleep 0.1
	i=$((i + 1))
done
refused "O_EXCL holder: write refused" "'$M' write --offset=0 $MEML < '$T/d'" $MEML
refused "O_EXCL holder: rebuild refused" \
	"'$M' rebuild --slot=2 '$L' $T/m0.img $T/m1.img missing $T/m3.img" $MEML
check_eq "the rebuild refusal says the device is in use" yes \
	"$(grep -q "$L: in use" "$T/err" && echo yes)"
refused "O_EXCL holder: grow refused" "'$M' grow -q --raid-devices=5 $MEML '$T/g4.img'" \
	$MEML "$T/g4.img"
refused "O_EXCL holder: create refused" \
	"'$M' create --force --level=6 --raid-devices=4 --chunk=16K $MEML" $MEML
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
HOLDER=""

# the loop device and its backing file: one disk given twice
refused "loop device and its backing file" \
	"'$M' create --force --level=6 --raid-devices=5 --chunk=16K $MEML '$T/new.img'" \
	$MEML

# a loop device holding a member of another array
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=16K $MEM
refused "rebuild onto a loop device of another array" \
	"'$M' rebuild --slot=0 '$L' missing $T/m1.img $T/m2.img $T/m3.img" $MEM "$L"
"$M" read $MEM > "$T/full2"
"$M" rebuild --force --slot=0 "$L" missing $T/m1.img $T/m2.img $T/m3.img 2> "$T/err" &&
	"$M" read "$L" missing $T/m2.img $T/m3.img > "$T/r" && cmp -s "$T/r" "$T/full2"
check_eq "rebuild --force over another array" 0 $?

# a mounted file system on a loop device (read-only, so the kernel does not
# write its own superblock while we compare md5s)
head -c 16M /dev/zero > "$T/fs.img"
L2=$(losetup -f --show "$T/fs.img" 2>/dev/null)
[ -n "$L2" ] && LOOPS="$LOOPS $L2"
mkdir -p "$T/mnt"
if [ -n "$L2" ] && mkfs.ext2 -q "$L2" 2>/dev/null && mount -o ro "$L2" "$T/mnt" 2>/dev/null; then
	refused "mounted file system refused" \
		"'$M' create --force --level=6 --raid-devices=4 --chunk=16K $T/m0.img $T/m1.img $T/m2.img '$L2'" \
		"$L2" $T/m0.img
	refused "mounted file system: grow refused" \
		"'$M' grow -q --raid-devices=5 $MEM '$L2'" "$L2" $MEM
	umount "$T/mnt"
else
	tap_skip "mounted file system refused" "cannot mkfs.ext2 or mount here"
	tap_skip "mounted file system: grow refused" "cannot mkfs.ext2 or mount here"
fi

# faked /proc/mdstat and holders for the loop device
MM=$(printf '%d:%d' "0x$(stat -c %t "$L")" "0x$(stat -c %T "$L")")
mkdir -p "$R/sys/dev/block" "$R/sys/devices/virtual/block/$LN/holders"
ln -s "$R/sys/devices/virtual/block/$LN" "$R/sys/dev/block/$MM"
printf 'Personalities : [raid6]\nmd9 : active raid6 %s[0] sdx[1]\n      16 blocks\n' "$LN" \
	> "$R/proc/mdstat"
refused "faked mdstat refused" \
	"MDRAID_SYSROOT='$R' '$M' rebuild --force --slot=0 '$L' missing $T/m1.img $T/m2.img $T/m3.img" \
	$MEM "$L"
check_eq "mdstat names the array" yes "$(grep -q 'running array md9' "$T/err" && echo yes)"
head -c 8M /dev/urandom > "$T/g4.img" # a blank new member, whatever ran before
refused "faked mdstat: grow refused" \
	"MDRAID_SYSROOT='$R' '$M' grow -q --raid-devices=5 '$L' $T/m1.img $T/m2.img $T/m3.img '$T/g4.img'" \
	$MEM "$L" "$T/g4.img"
rm "$R/proc/mdstat"
mkdir "$R/sys/devices/virtual/block/$LN/holders/dm-3"
refused "faked holders refused" \
	"MDRAID_SYSROOT='$R' '$M' write --offset=0 '$L' missing $T/m2.img $T/m3.img < '$T/d'" \
	$MEM "$L"
check_eq "holders names the holder" yes "$(grep -q 'held by dm-3' "$T/err" && echo yes)"
refused "faked holders: grow refused" \
	"MDRAID_SYSROOT='$R' '$M' grow -q --raid-devices=5 '$L' $T/m1.img $T/m2.img $T/m3.img '$T/g4.img'" \
	$MEM "$L" "$T/g4.img"
tap_done
