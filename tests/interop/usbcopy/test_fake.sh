#!/bin/sh
# test_fake.sh: counterfeit cards and interrupted writes on real block
# devices: loop devices over tests/usbcopy/fakeflash (a FUSE file that
# advertises SIZE bytes over REAL bytes of flash; this kernel has no
# device-mapper). Issue 18 items 1-3:
#   - --probe on wrap-around fakes (2x, 8x, a decimal size), a fake that
#     drops writes (f3's limbo), a good device: the real capacity it reports
#     equals both the fake's configuration and f3probe's verdict on the same
#     device (f3probe, Debian's f3, is the peer); the probe leaves the flash
#     as it was (the backing file's digest);
#   - the final pass: an image larger than the real flash passes the
#     per-chunk read-back (each chunk reads back right after its write) but
#     not the final pass: exit 1, and the stick is left blank (sfdisk, blkid);
#   - dropped writes and failing ranges: exit 1 / 4 naming the block;
#   - SIGINT, SIGTERM or SIGHUP during --probe: the blocks it wrote are put
#     back (the flash's digest), nothing else written, exit 4, said so;
#   - a stick holding MBR + ext4 written until SIGINT, SIGTERM, SIGHUP or
#     SIGKILL mid-way (and a damaged .gz source): sfdisk and blkid see
#     nothing, not a damaged old filesystem.
# f3probe on an 8x fake of 512 MiB over 64 MiB reports "damaged" (its cache
# test writes 4x the real size over the real flash); its agreement on 8x is
# checked at 32 GiB over 4 GiB with USBCOPY_EXHAUSTIVE=1 (about 80 s).
# Needs root, /dev/fuse and loop devices; skips with the reason otherwise.
. "$OPSKIT_SOURCE/tests/tap.sh"
U="$OPSKIT_BUILD/usbcopy/usbcopy"
FF="$OPSKIT_BUILD/tests/usbcopy/fakeflash"
T=$TAP_TMP
MB=1048576
L=""
MNT="$T/mnt"
cleanup() {
	[ -n "$L" ] && losetup -d "$L" 2>/dev/null
	mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT"
	rm -rf "$TAP_TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
skip_all() {
	tap_skip "fake-card and interruption tests" "$1"
	tap_done
}
[ "$(id -u)" = 0 ] || skip_all "needs root for loop devices"
[ -c /dev/fuse ] || skip_all "/dev/fuse is unavailable"
[ -x "$FF" ] || skip_all "fakeflash not built (libfuse3-dev missing)"
command -v fusermount3 >/dev/null || skip_all "fusermount3 (fuse3) missing"
mkdir -p "$MNT"

# fake SIZE REAL MODE [fail=OFF:LEN]: a loop device over a fresh fake card in $L
fake() {
	detach
	rm -f "$T/back"
	"$FF" "$MNT" "$T/back" "$@" > "$T/ff.log" 2>&1 &
	n=0
	while [ ! -e "$MNT/disk" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -e "$MNT/disk" ] || return 1
	L=$(losetup -f --show "$MNT/disk") || return 1
}
detach() {
	[ -n "$L" ] && losetup -d "$L"
	L=""
	if mountpoint -q "$MNT"; then
		fusermount3 -u "$MNT"
		n=0
		while mountpoint -q "$MNT" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	fi
}
fake $((64 * MB)) $((64 * MB)) good || skip_all "cannot mount fakeflash or attach a loop device over it"
command -v f3probe >/dev/null || F3MISSING=1

head -c $MB /dev/urandom > "$T/one"
# f3probe's verdict as "KIND BYTES": KIND wraparound, limbo, good or damaged
f3() {
	# --destructive: the fake is thrown away after; f3 8.0 spends minutes restoring
	timeout 600 f3probe --destructive "$L" > "$T/f3.out" 2>&1
	kind=$(sed -n "s/.*is a counterfeit of type \([a-z]*\).*/\1/p; s/.*is the real thing.*/good/p; s/.*is damaged.*/damaged/p" "$T/f3.out")
	blocks=$(sed -n 's/.*Usable\* size: .*(\([0-9]*\) blocks).*/\1/p' "$T/f3.out")
	echo "$kind $((blocks * 512))"
}
# ours as "KIND BYTES" from --probe's message
ours() {
	out=$($U -q -y -d "$L" --probe "$T/one" 2>&1)
	rc=$?
	case "$out" in
	*"Device is FAKE ("*) k=${out#*FAKE (}; k=${k%%)*}; b=${out##*real capacity is }; b=${b%% *}; echo "$k $b rc=$rc" ;;
	*"probe passed"*) echo "good $(blockdev --getsize64 "$L") rc=$rc" ;;
	*) echo "error rc=$rc: $out" ;;
	esac
}
probe_case() { # NAME SIZE REAL MODE EXPECTED_KIND [f3-skip-reason]
	if ! fake "$2" "$3" "$4"; then tap_fail "$1: fake device"; return; fi
	want="$5 $3"
	[ "$5" = good ] && want="good $2"
	before=$(sha256sum < "$T/back")
	got=$(ours)
	after=$(sha256sum < "$T/back")
	rcw=rc=1
	[ "$5" = good ] && rcw=rc=0
	if [ "$got" = "$want $rcw" ]; then
		tap_ok "$1: --probe finds $want"
	else
		tap_fail "$1: --probe" "got '$got', want '$want $rcw'"
	fi
	# the good case writes the 1 MiB image after the probe
	if [ "$5" = good ] || [ "$before" = "$after" ]; then
		tap_ok "$1: the probe leaves the flash as it was"
	else
		tap_fail "$1: the probe changed the flash"
	fi
	if [ -n "${F3MISSING:-}" ]; then
		tap_skip "$1: f3probe agrees" "f3probe (package f3) not installed"
	elif [ -n "${6:-}" ]; then
		tap_skip "$1: f3probe agrees" "$6"
	else
		f=$(f3)
		if [ "$f" = "$want" ]; then
			tap_ok "$1: f3probe agrees ($f)"
		else
			tap_fail "$1: f3probe says '$f', --probe '$want'" "$(tail -n 12 "$T/f3.out")"
		fi
	fi
}
probe_case "2x wrap-around (32 MiB over 16 MiB)" $((32 * MB)) $((16 * MB)) wrap wraparound
probe_case "decimal-size wrap-around (50 MB over 16 MiB)" 50000000 $((16 * MB)) wrap wraparound
probe_case "8x wrap-around (128 MiB over 16 MiB)" $((128 * MB)) $((16 * MB)) wrap wraparound \
	"f3probe calls an 8x fake this small 'damaged' (its cache test overwrites all the real flash); compared at 32 GiB over 4 GiB with USBCOPY_EXHAUSTIVE=1"
probe_case "dropped writes past 12 MiB (32 MiB, limbo)" $((32 * MB)) $((12 * MB)) drop limbo
probe_case "good device (32 MiB)" $((32 * MB)) $((32 * MB)) good good
if [ -n "${USBCOPY_EXHAUSTIVE:-}" ]; then
	probe_case "8x wrap-around (32 GiB over 4 GiB)" $((32768 * MB)) $((4096 * MB)) wrap wraparound
else
	tap_skip "8x wrap-around, 32 GiB over 4 GiB, against f3probe" "set USBCOPY_EXHAUSTIVE=1 (f3probe takes about 80 s)"
fi

# SIGINT/TERM/HUP during --probe (item 6): a slow good card (20 ms per write:
# the probe's 64 samples take over a second) full of random data; the signal
# comes once the probe has written two blocks.
# The probe must stop, put back every block it wrote (the flash's digest as
# before), write nothing else, say so and exit 4.
for sig in INT TERM HUP; do
	fake $((32 * MB)) $((32 * MB)) good delay=20000 || { tap_fail "SIG$sig during --probe: fake device"; continue; }
	head -c $((32 * MB)) /dev/urandom | dd of="$T/back" conv=notrunc status=none
	before=$(sha256sum < "$T/back")
	st=/sys/block/${L#/dev/}/stat
	base=$(awk '{print $7}' "$st")
	$U -q -y -d "$L" --probe "$T/one" > "$T/out" 2>&1 &
	pid=$!
	n=0 # the probe's first signed blocks (8 sectors each) have reached the device
	while [ $n -lt 600 ] && [ "$(awk '{print $7}' "$st")" -lt $((base + 16)) ]; do
		sleep 0.02
		n=$((n + 1))
	done
	kill -$sig $pid
	n=0
	while kill -0 $pid 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid
		rc=hung
	else
		wait $pid
		rc=$?
	fi
	after=$(sha256sum < "$T/back")
	nb=$(sed -n 's/.*probe interrupted; the \([0-9]*\) block(s) it wrote were restored, the device is as it was.*/\1/p' "$T/out")
	if [ "$rc" = 4 ] && [ "$before" = "$after" ] && [ "${nb:-0}" -ge 2 ]; then
		tap_ok "SIG$sig during --probe: exit 4, the $nb blocks it wrote restored (flash digest as before), said so"
	else
		tap_fail "SIG$sig during --probe" "rc=$rc same=$([ "$before" = "$after" ] && echo yes || echo no) $(cat "$T/out")"
	fi
done

# the final pass: a 24 MiB image on wrap-around fakes over 16 MiB
head -c $((24 * MB)) /dev/urandom > "$T/img"
blank() { # the stick's first and last MiB are zero; sfdisk and blkid find nothing
	sz=$(blockdev --getsize64 "$L")
	cmp -s -n $MB "$L" /dev/zero && cmp -s -i $((sz - MB)):0 -n $MB "$L" /dev/zero &&
		! sfdisk -d "$L" >/dev/null 2>&1 && [ -z "$(blkid -p "$L" 2>/dev/null)" ]
}
for spec in "2x:$((32 * MB))" "8x:$((128 * MB))" "decimal:50000000"; do
	name=${spec%%:*}
	fake "${spec#*:}" $((16 * MB)) wrap
	$U -q -y -d "$L" --no-final-verify "$T/img" >/dev/null 2>&1
	rc=$?
	if [ $rc = 0 ] && ! cmp -s -n $((24 * MB)) "$T/img" "$L"; then
		tap_ok "$name wrap-around: the per-chunk read-back alone passes (exit 0) though the device differs"
	else
		tap_fail "$name wrap-around, --no-final-verify" "rc=$rc"
	fi
	$U -q -y -d "$L" "$T/img" > "$T/err" 2>&1 # the original's failure words are on stdout
	rc=$?
	if [ $rc = 1 ] && grep -q "Final verification failed on block" "$T/err" && blank; then
		tap_ok "$name wrap-around: the final pass fails it (exit 1), the stick is left blank"
	else
		tap_fail "$name wrap-around: final pass" "rc=$rc $(cat "$T/err")"
	fi
done
fake $((32 * MB)) $((20 * MB)) drop # only block 5 (20-24 MiB) is lost
testcmd "dropped writes: the per-chunk read-back fails block 5 (20 MiB), exit 1" \
	"$U -q -y -d $L $T/img 2>&1 | grep -c 'Verification failed after 3 attempts on block 5'; $U -q -y -d $L $T/img >/dev/null 2>&1; echo rc=\$?" \
	"1
rc=1
" ""
fake $((32 * MB)) $((32 * MB)) good fail=$((20 * MB)):4096
testcmd "failing range at 20 MiB: block 5 cannot be written, exit 4" \
	"$U -q -y -d $L $T/img 2>&1 | grep -c 'Write to device failed after 3 attempts on block 5'; $U -q -y -d $L $T/img >/dev/null 2>&1; echo rc=\$?" \
	"1
rc=4
" ""
if blank; then tap_ok "failing range: the stick is left blank"; else tap_fail "failing range: not blank"; fi
fake $((32 * MB)) $((32 * MB)) good
testcmd_rc "good 32 MiB device: written, both passes, exit 0" 0 "$U -q -y -d $L $T/img && cmp -s -n $((24 * MB)) $T/img $L"


# two targets, one of them fake: a status line for each, the worst exit code
fake $((32 * MB)) $((16 * MB)) wrap
testcmd "two targets, one a fake card: one status line each, exit 1" \
	"$U -q -y -d $L -d $T/good.img $T/img 2>&1 | grep -e ': FAILED' -e ': Completed'; $U -q -y -d $L -d $T/good.img $T/img >/dev/null 2>&1; echo rc=\$?; cmp -s $T/img $T/good.img && echo file-holds-the-image" \
	"$L: FAILED, the device does not hold the image
$T/good.img: Completed copy to USB
rc=1
file-holds-the-image
" ""
# a device another program holds open exclusively: O_EXCL gives EBUSY, exit 5
python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)
print("held", flush=True)
time.sleep(60)' "$L" > "$T/held" &
HOLDER=$!
n=0
while [ ! -s "$T/held" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
testcmd "device held open exclusively by another program: refused, exit 5" \
	"$U -q -y -d $L $T/img 2>&1 | grep -c 'cannot open exclusively: in use'; $U -q -y -d $L $T/img >/dev/null 2>&1; echo rc=\$?" \
	"1
rc=5
" ""
kill $HOLDER
wait $HOLDER 2>/dev/null

# interrupted writes over a stick that held MBR + ext4 (1 MiB chunks; the
# signal comes once 12 MiB more have reached the device, about block 12)
oldstick() {
	dd if="$T/fs.img" of="$L" bs=1M seek=1 oflag=direct status=none
	printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q --no-reread -w never "$L" >/dev/null 2>&1
	sfdisk -d "$L" >/dev/null 2>&1 && [ "$(blkid -p -O $MB -s TYPE -o value "$L")" = ext4 ]
}
# a real stick (a fake would alias the wiped first MiB), slow: 20 ms per
# write request, so the write is still under way when the signal comes
fake $((32 * MB)) $((32 * MB)) good delay=20000
if ! command -v mkfs.ext4 >/dev/null; then
	tap_skip "interrupted writes" "mkfs.ext4 (e2fsprogs) missing"
else
	truncate -s $((16 * MB)) "$T/fs.img"
	mkfs.ext4 -q -F "$T/fs.img"
	for sig in INT TERM HUP KILL; do
		if ! oldstick; then tap_fail "SIG$sig: could not make the old MBR + ext4 stick"; continue; fi
		st=/sys/block/${L#/dev/}/stat
		base=$(awk '{print $7}' "$st")
		out=$($U -q -c 1M -y -d "$L" "$T/img" > /dev/null 2>&1 &
			pid=$!
			n=0
			while [ $n -lt 600 ] && [ "$(awk '{print $7}' "$st")" -lt $((base + 12 * 2048)) ]; do
				sleep 0.05
				n=$((n + 1))
			done
			kill -$sig $pid
			n=0 # bounded: a hang is a failure with the threads' stacks, not a stuck test
			while kill -0 $pid 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
			if kill -0 $pid 2>/dev/null; then
				cat /proc/$pid/task/*/stack /proc/$pid/task/*/wchan >&2
				kill -9 $pid
				echo hung
			else
				wait $pid
				echo $?
			fi)
		if [ "$out" != 0 ] && blank && ! blkid -p -O $MB "$L" >/dev/null 2>&1; then
			tap_ok "SIG$sig mid-write (exit $out): sfdisk and blkid see nothing"
		else
			sz=$(blockdev --getsize64 "$L")
			tap_fail "SIG$sig mid-write" "rc=$out sfdisk: $(sfdisk -d "$L" 2>&1 | tail -n 1) blkid: $(blkid -p "$L" 2>&1) first MiB: $(cmp -n $MB "$L" /dev/zero 2>&1) last MiB: $(cmp -i $((sz - MB)):0 -n $MB "$L" /dev/zero 2>&1)"
		fi
	done
	oldstick
	gzip -c "$T/img" > "$T/img.gz"
	sz=$(stat -c %s "$T/img.gz")
	tap_poke "$T/img.gz" $((sz / 2))
	$U -q -y -d "$L" "$T/img.gz" > "$T/err" 2>&1
	rc=$?
	if [ $rc = 3 ] && blank; then
		tap_ok "damaged .gz onto the old stick: exit 3, sfdisk and blkid see nothing"
	else
		tap_fail "damaged .gz onto the old stick" "rc=$rc $(cat "$T/err"; cmp -n $MB "$L" /dev/zero; sfdisk -d "$L" 2>&1 | tail -n 1; blkid -p "$L")"
	fi
fi
detach
tap_done
