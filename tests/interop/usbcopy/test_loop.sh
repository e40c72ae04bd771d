#!/bin/sh
# test_loop.sh: usbcopy on real block devices (loop devices) and against
# bmaptool (bmap-tools), the peer for block-map writes.
#   - an image written by usbcopy and by `bmaptool copy` onto two loop devices
#     prefilled with the same random pattern gives identical device content
#     (usbcopy also zeroes the device's last MiB: compared separately), with
#     and without a bmap made by `bmaptool create` (also rewritten into the
#     old formats 1.2 and 1.3 by bmap-v1.py, accepted by both tools);
#   - sectors written (/sys/block/loopN/stat) stay close to the mapped size;
#   - the loop's backing file changed behind the device after a chunk was
#     written: only a true (O_DIRECT) device read-back notices; it is re-written
#     (by the final pass, and at once with --verify-chunks);
#   - the device is read once (sectors read, /sys/block/loopN/stat), twice
#     with --verify-chunks;
#   - kill after chunk 3: chunk 0 not written (its first MiB was zeroed
#     before anything else, the rest still holds the old pattern);
#   - a real mount (mkfs.ext4 on a loop partition): refused, O_EXCL gives
#     EBUSY, --unmount unmounts and writes; an image living on that
#     filesystem, or being the loop's backing file, is refused;
#   - stacked devices: a loop set up on the target (offset 1 MiB), formatted
#     and mounted, is refused (also with --unmount) and left intact (e2fsck),
#     refused while attached; a partition held open by a process is refused.
# Needs root and loop devices; runs serially and detaches only its own loops.
. "$OPSKIT_SOURCE/tests/tap.sh"
U="$OPSKIT_BUILD/usbcopy/usbcopy"
T=$TAP_TMP
MB=1048576
MNT=""
cleanup() {
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	mountpoint -q "$T/mnt2" 2>/dev/null && umount "$T/mnt2"
	[ -f "$T/.loops" ] && for l in $(cat "$T/.loops"); do losetup -d "$l" 2>/dev/null; done
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
newloop() { # FILE [losetup options]: attach, remember, print the device
	f=$1
	shift
	l=$(losetup -f --show "$@" "$f") || return 1
	echo "$l" >> "$T/.loops" # newloop runs in $(...): remember in a file
	echo "$l"
}
skip_all() {
	for n in $(seq 1 37); do tap_skip "loop test $n" "$1"; done
	tap_done
}
[ "$(id -u)" = 0 ] || skip_all "needs root for loop devices"
command -v losetup >/dev/null || skip_all "losetup (util-linux) missing"
head -c $((64 * MB)) /dev/urandom > "$T/pattern"
cp "$T/pattern" "$T/a.back"
A=$(newloop "$T/a.back" 2>/dev/null) || skip_all "losetup -f --show failed: no loop devices in this sandbox"
cp "$T/pattern" "$T/b.back"
B=$(newloop "$T/b.back") || skip_all "second loop device unavailable"
reset_loops() {
	dd if="$T/pattern" of="$A" bs=4M oflag=direct status=none
	dd if="$T/pattern" of="$B" bs=4M oflag=direct status=none
}
DEVSZ=$((64 * MB))
KEEP=$((DEVSZ - MB)) # compare all but the last MiB, which usbcopy zeroes
last_mib_zero() { cmp -s -i $KEEP:0 -n $MB "$1" /dev/zero; }

# a sparse 40 MiB image, 25% mapped, with a partial last block
rm -f "$T/img"
truncate -s $((40 * MB + 1000)) "$T/img"
for s in 0 3 9 17 30; do
	head -c $((2 * MB)) /dev/urandom | dd of="$T/img" bs=$MB seek=$s conv=notrunc status=none
done
printf 'end' | dd of="$T/img" bs=1 seek=$((40 * MB + 900)) conv=notrunc status=none
IMGSZ=$(stat -c %s "$T/img")

# 1. raw image, whole image written
reset_loops
testcmd "raw image to a loop device: the summary" \
	"$U -q -y -d $A $T/img | sed 's/in [0-9]* seconds ([0-9.]*MB\\/s)/in S seconds (R)/'" \
	"Copying and verifying image to USB device
Finished 40 MB in S seconds (R)
0 block(s) re-written due to verification failure
Completed copy to USB
$A can now be removed
" ""
if cmp -s -n "$IMGSZ" "$T/img" "$A"; then tap_ok "raw: device holds the image"; else tap_fail "raw: device differs"; fi
if last_mib_zero "$A"; then tap_ok "raw: last MiB zeroed (stale backup GPT)"; else tap_fail "raw: last MiB not zero"; fi

if command -v bmaptool >/dev/null; then
	# 2. against bmaptool copy --nobmap: same bytes
	reset_loops
	$U -q -y -d "$A" "$T/img" >/dev/null 2>&1
	bmaptool -q copy --nobmap "$T/img" "$B" 2>/dev/null
	if cmp -s -n $KEEP "$A" "$B"; then tap_ok "no bmap: usbcopy == bmaptool copy --nobmap (all but the last MiB)"; else tap_fail "no bmap: devices differ"; fi
	# 3. with a bmap from bmaptool create
	bmaptool create -o "$T/img.bmap" "$T/img" 2>/dev/null
	reset_loops
	N=${A#/dev/}
	w0=$(awk '{print $7}' /sys/block/$N/stat)
	out=$($U -q -y --bmap "$T/img.bmap" -d "$A" "$T/img" 2>&1)
	w1=$(awk '{print $7}' /sys/block/$N/stat)
	bmaptool -q copy --bmap "$T/img.bmap" "$T/img" "$B" 2>/dev/null
	if cmp -s -n $KEEP "$A" "$B"; then tap_ok "bmap: usbcopy == bmaptool copy on identically prefilled loops"; else tap_fail "bmap: devices differ" "$out"; fi
	if ! cmp -s -n $KEEP "$A" "$T/pattern"; then tap_ok "bmap: something was written"; else tap_fail "bmap: nothing written"; fi
	if cmp -s -i $((5 * MB)):$((5 * MB)) -n $MB "$A" "$T/pattern"; then tap_ok "bmap: unmapped MiB 5 untouched"; else tap_fail "bmap: hole overwritten"; fi
	mapped=$(sed -n 's/.*<MappedBlocksCount> *\([0-9]*\).*/\1/p' "$T/img.bmap")
	mapped=$((mapped * 4096))
	written=$(((w1 - w0) * 512))
	if [ $written -ge $mapped ] && [ $written -le $((mapped + 3 * MB)) ]; then
		tap_ok "bmap: sectors written ($written) close to the mapped size ($mapped) + the zeroed first and last MiB"
	else
		tap_fail "bmap: sectors written $written, mapped $mapped"
	fi
	# bmap format 1.2 and 1.3 (sha1), fed to both tools
	for minor in 2 3; do
		python3 "$OPSKIT_SOURCE/tests/interop/usbcopy/bmap-v1.py" "$T/img" "$T/img.bmap" $minor > "$T/v1$minor.bmap"
		reset_loops
		out=$($U -q -y --bmap "$T/v1$minor.bmap" -d "$A" "$T/img" 2>&1)
		bmaptool -q copy --bmap "$T/v1$minor.bmap" "$T/img" "$B" 2>"$T/bmerr"
		if cmp -s -n $KEEP "$A" "$B" && ! cmp -s -n $KEEP "$A" "$T/pattern"; then
			tap_ok "bmap format 1.$minor: usbcopy == bmaptool copy"
		else
			tap_fail "bmap format 1.$minor" "$out $(cat "$T/bmerr")"
		fi
	done
	# the fake-capacity probe restores what it overwrote (holes keep the old data)
	reset_loops
	$U -q -y --probe --bmap "$T/img.bmap" -d "$A" "$T/img" >/dev/null 2>&1
	bmaptool -q copy --bmap "$T/img.bmap" "$T/img" "$B" 2>/dev/null
	if cmp -s -n $KEEP "$A" "$B"; then tap_ok "--probe + bmap: probe blocks restored, result == bmaptool copy"; else tap_fail "--probe changed the device"; fi
	# 4. compressed image with the bmap
	xz -T1 -c "$T/img" > "$T/img.xz"
	reset_loops
	$U -q -y --bmap "$T/img.bmap" -d "$A" "$T/img.xz" >/dev/null 2>&1
	bmaptool -q copy --bmap "$T/img.bmap" "$T/img.xz" "$B" 2>/dev/null
	if cmp -s -n $KEEP "$A" "$B"; then tap_ok "bmap + xz image: usbcopy == bmaptool copy"; else tap_fail "bmap + xz: devices differ"; fi
else
	for n in 1 2 3 4 5 6 7 8 9; do tap_skip "bmaptool comparison $n" "bmaptool (bmap-tools) not installed"; done
fi

# 5. two loop devices at once
reset_loops
$U -q -y -d "$A" -d "$B" "$T/img" >/dev/null 2>&1
if cmp -s -n "$IMGSZ" "$T/img" "$A" && cmp -s "$A" "$B"; then tap_ok "two loops at once: both hold the image"; else tap_fail "two loops at once"; fi

# 6. the backing file changed behind the device after chunk 2 was written
reset_loops
testcmd "backing file changed after block 2: only a device read-back sees it; re-written" \
	"USBCOPY_TEST_FAULTS=backing@2x1 $U -q -y -d $A $T/img | grep re-written" \
	"1 block(s) re-written due to verification failure
" ""
if cmp -s -n "$IMGSZ" "$T/img" "$A"; then tap_ok "backing fault: device correct afterwards"; else tap_fail "backing fault: device wrong"; fi
reset_loops
USBCOPY_TEST_FAULTS=backing@2x1 $U -q -y --no-verify -d "$A" "$T/img" >/dev/null 2>&1
if ! cmp -s -n "$IMGSZ" "$T/img" "$A"; then tap_ok "backing fault with --no-verify: the damage stays (nothing else would notice)"; else tap_fail "backing fault unnoticed but harmless?"; fi

# 6b. the device is read once: sectors read (/sys/block/loopN/stat, field 3,
# the kernel's count) are the image plus the zeroed last MiB (read back) by
# default, and twice the image with --verify-chunks (each chunk, then the
# final pass)
rd() { echo $(($(awk '{ print $3 }' "/sys/block/${A#/dev/}/stat") * 512)); }
for mode in default --verify-chunks; do
	reset_loops
	r0=$(rd)
	if [ $mode = default ]; then $U -q -y -d "$A" "$T/img" >/dev/null 2>&1; else $U -q -y $mode -d "$A" "$T/img" >/dev/null 2>&1; fi
	rc=$?
	got=$(($(rd) - r0))
	if [ $mode = default ]; then lo=$IMGSZ hi=$((IMGSZ + 3 * MB)); else lo=$((2 * IMGSZ)) hi=$((2 * IMGSZ + 3 * MB)); fi
	if [ $rc = 0 ] && [ "$got" -ge $lo ] && [ "$got" -lt $hi ] && cmp -s -n "$IMGSZ" "$T/img" "$A"; then
		tap_ok "$mode: the device read $got bytes for a $IMGSZ-byte image (expected [$lo, $hi))"
	else
		tap_fail "$mode: bytes read from the device" "rc=$rc got=$got expected [$lo, $hi)"
	fi
done
reset_loops
testcmd "--verify-chunks on a loop, backing file changed after block 2: re-written at once" \
	"USBCOPY_TEST_FAULTS=backing@2x1 $U -q -y --verify-chunks -d $A $T/img | grep re-written" \
	"1 block(s) re-written due to verification failure
" ""
if cmp -s -n "$IMGSZ" "$T/img" "$A"; then tap_ok "--verify-chunks backing fault: device correct afterwards"; else tap_fail "--verify-chunks backing fault: device wrong"; fi

# 7. corrupt every time on a device: exit 1, chunk 0 old
reset_loops
testcmd "corrupt every time on a loop: the original's failure line, exit 1" \
	"USBCOPY_TEST_FAULTS=corrupt@4 $U -q -y -d $A $T/img; echo rc=\$?" \
	"Copying and verifying image to USB device
Verification failed after 3 attempts on block 4
rc=1
" ""
reset_loops
rc=$( { USBCOPY_TEST_FAULTS=kill@3 $U -q -y -d "$A" "$T/img" >/dev/null 2>&1; echo $?; } 2>/dev/null)
if [ "$rc" != 0 ] && cmp -s -n $MB "$A" /dev/zero &&
	cmp -s -i $MB:$MB -n $((3 * MB)) "$A" "$T/pattern" &&
	cmp -s -i $((12 * MB)):$((12 * MB)) -n $((4 * MB)) "$A" "$T/img"; then
	tap_ok "killed after block 3: blocks 1-3 written, chunk 0 not: its first MiB zeroed (before writing), the rest the old pattern"
else
	tap_fail "kill@3" "rc=$rc"
fi

# 8. guards on real devices
truncate -s $((8 * MB)) "$T/small.back"
S=$(newloop "$T/small.back")
testcmd "device smaller than the image: refused" "$U -q -y -d $S $T/img 2>&1; echo rc=\$?" \
	"usbcopy: Image (40 MB) is larger than the device (8 MB)
Installation aborted
rc=5
" ""
xz -T1 -0 -c "$T/img" > "$T/img.xz0"
testcmd "compressed image larger than the device (size unknown up front): exit 4" \
	"$U -q -y -d $S $T/img.xz0 2>&1; echo rc=\$?" \
	"Copying and verifying image to USB device
usbcopy: $S: offset 8388608: Image is larger than the device (8 MB): No space left on device
rc=4
" ""
testcmd "image is the loop's backing file: refused" "$U -q -y -d $A $T/a.back 2>&1; echo rc=\$?" \
	"usbcopy: $A: refusing: the image $T/a.back is the backing file of $A
rc=5
" ""
rm -f "$T/p.back"
truncate -s $((64 * MB)) "$T/p.back"
printf '\000\000\000\000\203\000\000\000\000\010\000\000\000\360\000\000' | dd of="$T/p.back" bs=1 seek=446 conv=notrunc status=none
printf '\125\252' | dd of="$T/p.back" bs=1 seek=510 conv=notrunc status=none
P=$(newloop "$T/p.back" -P)
partx -a "$P" 2>/dev/null
if [ -b "${P}p1" ] && command -v mkfs.ext4 >/dev/null && mkfs.ext4 -q "${P}p1" 2>/dev/null &&
	mkdir -p "$T/mnt" && mount "${P}p1" "$T/mnt" 2>/dev/null; then
	MNT=$T/mnt
	testcmd "mounted partition: refused" "$U -q -y -d $P $T/img 2>&1; echo rc=\$?" \
		"usbcopy: $P: refusing: ${P#/dev/}p1 is mounted on $T/mnt (use --unmount to unmount it first)
rc=5
" ""
	testcmd "O_EXCL open of the mounted disk: EBUSY" \
		"python3 -c \"import os
try:
    os.open('$P', os.O_RDWR | os.O_EXCL)
except OSError as e:
    print(e.strerror)\"" "Device or resource busy
" ""
	cp "$T/img" "$T/mnt/img"
	testcmd "image on a filesystem of the target disk: refused" "$U -q -y --unmount -d $P $T/mnt/img 2>&1; echo rc=\$?" \
		"usbcopy: $P: refusing: the image $T/mnt/img lives on $P (${P#/dev/}p1)
rc=5
" ""
	testcmd "--unmount: unmounted, then written" "$U -q -y --unmount -d $P $T/img 2>&1 | head -n 2" \
		"Unmounted $T/mnt
Copying and verifying image to USB device
" ""
	MNT=""
	if cmp -s -n "$IMGSZ" "$T/img" "$P"; then tap_ok "--unmount: device holds the image"; else tap_fail "--unmount: device differs"; fi
else
	for n in 1 2 3 4 5; do tap_skip "mount test $n" "no partition device or mkfs.ext4/mount failed in this sandbox"; done
fi
# Stacked devices (issue 18 item 5): a loop device set up on the target at
# 1 MiB, formatted and mounted: O_EXCL on the target does not see it (the
# loop driver opens its backing device shared). usbcopy must find it through
# loop/backing_file, refuse (exit 5) while it is mounted, even with
# --unmount, and while it is set up at all; e2fsck is the judge that the
# filesystem was not written under. A partition that a process holds open
# (not mounted) is refused naming the process.
SL=$(newloop "$B" -o $MB)
if [ -n "$SL" ] && command -v mkfs.ext4 >/dev/null && mkfs.ext4 -q -F "$SL" >/dev/null 2>&1 &&
	mkdir -p "$T/mnt2" && mount "$SL" "$T/mnt2" 2>/dev/null; then
	echo data > "$T/mnt2/f"
	sync
	testcmd "loop over the target, mounted: refused, named, exit 5" "$U -q -y -d $B $T/img 2>&1; echo rc=\$?" \
		"usbcopy: $B: refusing: ${SL#/dev/} (a loop device over ${B#/dev/} at offset $MB) is mounted on $T/mnt2
rc=5
" ""
	testcmd_rc "loop over the target, mounted: --unmount does not help, exit 5" 5 "$U -q -y --unmount -d $B $T/img"
	if mountpoint -q "$T/mnt2" && [ "$(cat "$T/mnt2/f")" = data ]; then tap_ok "loop over the target: still mounted, file intact"; else tap_fail "loop over the target: mount disturbed"; fi
	umount "$T/mnt2"
	if e2fsck -fn "$SL" >/dev/null 2>&1; then tap_ok "loop over the target: e2fsck finds the filesystem clean"; else tap_fail "loop over the target: e2fsck finds damage"; fi
	testcmd "loop over the target, not mounted: refused while set up" "$U -q -y -d $B $T/img 2>&1; echo rc=\$?" \
		"usbcopy: $B: refusing: ${SL#/dev/} (a loop device over ${B#/dev/} at offset $MB) is set up over it
rc=5
" ""
	losetup -d "$SL"
	testcmd_rc "loop detached: written" 0 "$U -q -y -d $B $T/img && cmp -s -n $IMGSZ $T/img $B"
else
	for n in 1 2 3 4 5; do tap_skip "stacked loop test $n" "losetup -o, mkfs.ext4 or mount failed in this sandbox"; done
fi
cp "$T/pattern" "$T/q.back"
dd if=/dev/zero of="$T/q.back" bs=1 seek=446 count=64 conv=notrunc status=none # one partition, no garbage
printf '\000\000\000\000\203\000\000\000\000\010\000\000\000\360\000\000' | dd of="$T/q.back" bs=1 seek=446 conv=notrunc status=none
printf '\125\252' | dd of="$T/q.back" bs=1 seek=510 conv=notrunc status=none
Q=$(newloop "$T/q.back" -P)
partx -a "$Q" 2>/dev/null
if [ -b "${Q}p1" ]; then
	python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.getpid(), flush=True)
time.sleep(60)' "${Q}p1" > "$T/held" &
	HOLDER=$!
	n=0
	while [ ! -s "$T/held" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	testcmd "partition held open by a process: refused, the process named" "$U -q -y -d $Q $T/img 2>&1; echo rc=\$?" \
		"usbcopy: $Q: refusing: ${Q#/dev/}p1 is open by process $(cat "$T/held") (python3)
rc=5
" ""
	kill $HOLDER
	wait $HOLDER 2>/dev/null
	testcmd_rc "partition closed: written" 0 "$U -q -y -d $Q $T/img && cmp -s -n $IMGSZ $T/img $Q"
else
	for n in 1 2; do tap_skip "open partition test $n" "no partition device for a loop in this sandbox"; done
fi
tap_done
