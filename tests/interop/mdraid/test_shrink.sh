#!/bin/sh
# test_shrink.sh: mdraid grow --raid-devices=5 --array-size=S of a RAID6 of 6
# (issue 24, shrink) against mdadm 4.2 + the kernel's --grow --array-size,
# then --grow --raid-devices=5 (a backwards reshape, data_offset up).
#
# Boot 1: the guest's mdadm creates a RAID6 (6 members of 16 MiB, metadata
# 1.2, 64K chunk, --size=14336K so that 1 MiB after the data is free: mdadm
# then moves data_offset up instead of asking for a backup file) and the
# kernel resyncs it; an ext4 image made on the host (this repository's
# mdraid/ and tests/mdraid/ sources, 40 MiB: it fits the 42 MiB RAID6 of 5)
# is written onto it. Two copies of the members:
#   m: mdadm --grow --array-size=43008, then --grow --raid-devices=5, to the
#      end: the reference superblocks (the sixth member a spare). mdadm 4.2
#      fails that shrink on kernel 6.1 ("Cannot set new_offset": it writes
#      the members' new_offset, up, before md's reshape_direction says
#      backwards, which md refuses with EINVAL; said as m.plain_rc, and
#      nothing changes), so the test writes "backwards" to reshape_direction
#      first, the one step mdadm's set_new_data_offset leaves out for
#      delta_disks < 0, and mdadm then shrinks as it means to;
#   k: the same, slowed down (sync_speed_max) and stopped by mdadm --stop
#      part-way: a shrink the kernel started, for mdraid to finish.
#
# On the host: mdraid grow -n 5 --array-size=43008K shrinks the originals;
# each of the 6 superblocks equals (masked: uuids, times, events, checksum,
# and reshape_position, which the kernel leaves at its last checkpoint) the
# one mdadm + the kernel left on copy m. A copy of the originals is shrunk
# by mdraid stopped mid-way (--stop-after) for the kernel to finish; copy
# k is finished by `mdraid grow --continue` and then equals the reference.
#
# Boot 2: the kernel assembles the three results: 5 raid devices, the file
# system image reads back byte for byte (every file's md5 is then the
# original's; e2fsck -fn passes on the host), check gives mismatch_cnt 0;
# the stopped one's reshape is continued by the kernel first.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

MIB=16       # member size
SIZE_K=14336 # component size given to mdadm --create (1 MiB left after it)
FS_MIB=40    # the file system image (fits RAID6 on 5 x 14 MiB = 42 MiB)
ASIZE_K=$((SIZE_K * 3))
T1="RAID6 6 -> 5 members (--array-size=${ASIZE_K}K)"
NAMES="$T1: mdadm + kernel shrink on a copy
$T1: mdraid grow: superblocks = mdadm + kernel's (masked)
$T1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0
$T1: mdraid grow stopped mid-way: the kernel finishes the reshape, file system intact, mismatch_cnt 0
$T1: a shrink the kernel started and was stopped in (reshape part-way)
$T1: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)
$T1: kernel assembles the finished one: file system intact, mismatch_cnt 0"
all_skip() {
	echo "$NAMES" >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
[ -n "$MDRAID_SKIP" ] && all_skip "$MDRAID_SKIP"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null ||
	all_skip "no mkfs.ext4/e2fsck on the host (package e2fsprogs)"
"$MDRAID" grow --help 2>&1 | grep -q -- '--array-size=KiB' || all_skip "mdraid grow lacks the shrink"

fs_image "$FS_MIB" || all_skip "mkfs.ext4 -d failed"

# --- boot 1 ------------------------------------------------------------------
# disks: z0..z5 (the original), m0..m5 and k0..k5 (the copies); M0.. in that
# order, then fs.img
seed=24800
imgs=""
for s in z m k; do
	for i in 0 1 2 3 4 5; do
		mkimg "$W/$s$i.img" "${MIB}M" $seed
		seed=$((seed + 1))
	done
	imgs="$imgs $(imgs_of "$s" 6)"
done
mkdir -p "$W/in1"
cat >"$W/body1" <<EOF
FS=\$M18
FS_MIB=$FS_MIB
SIZE_K=$SIZE_K
ASIZE_K=$ASIZE_K
EOF
cat >>"$W/body1" <<'EOF'
mdadm --create /dev/md0 --run --level=6 --raid-devices=6 --chunk=64 --metadata=1.2 \
	--size=$SIZE_K --homehost=opskit $(range 0 6) >/out/create 2>&1
say create_rc $?
wait_idle md0
dd if="$FS" of=/dev/md0 bs=1M count="$FS_MIB" conv=fsync 2>/dev/null
mdadm --stop /dev/md0 >/dev/null 2>&1
copy_members 0 6 6
copy_members 0 12 6
# m: to the end
mdadm --assemble /dev/md0 $(range 6 6) >>/out/create 2>&1
mdadm --grow /dev/md0 --array-size=$ASIZE_K >/out/m.grow 2>&1
# mdadm 4.2 alone: its set_new_data_offset writes each member's new_offset
# (up) without first setting reshape_direction, which md refuses (EINVAL,
# "Cannot set new_offset"); nothing changes. Then as mdadm means it.
mdadm --grow /dev/md0 --raid-devices=5 >/out/m.plain 2>&1
say m.plain_rc $?
echo backwards >/sys/block/md0/md/reshape_direction
mdadm --grow /dev/md0 --raid-devices=5 >>/out/m.grow 2>&1
say m.grow_rc $?
sleep 1
wait_idle md0
say m.disks "$(cat /sys/block/md0/md/raid_disks)"
mdadm --stop /dev/md0 >/dev/null 2>&1
# k: stopped with the reshape part-way
mdadm --assemble /dev/md1 $(range 12 6) >>/out/create 2>&1
echo 500 >/sys/block/md1/md/sync_speed_max
mdadm --grow /dev/md1 --array-size=$ASIZE_K >/out/k.grow 2>&1
echo backwards >/sys/block/md1/md/reshape_direction
mdadm --grow /dev/md1 --raid-devices=5 >>/out/k.grow 2>&1
say k.grow_rc $?
sleep 4
say k.action "$(cat /sys/block/md1/md/sync_action)"
mdadm --stop /dev/md1 >/dev/null 2>&1
mdadm --examine $(range 12 1) >/out/k.examine 2>&1
true
EOF
guest_script "$W/script1" "$W/body1"
# shellcheck disable=SC2086
boot "boot 1" "$W/kv1" "$W/err1" -t 900 -o "$W/out1" -i "$W/in1" "$W/script1" $imgs "$W/fs.img"
rc1=$?

ref_ok=0
if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" create_rc)" != 0 ] || [ "$(kv "$W/kv1" m.grow_rc)" != 0 ] ||
	[ "$(kv "$W/kv1" m.disks)" != 5 ]; then
	tap_fail "$T1: mdadm + kernel shrink on a copy" \
		"$(cat "$W/kv1"; cat "$W/out1/create" "$W/out1/m.grow" 2>/dev/null | head -n 12)"
else
	tap_ok "$T1: mdadm + kernel shrink on a copy"
	ref_ok=1
fi
# the kernel leaves reshape_position at its last checkpoint once done (the
# feature bits say it is over); mdraid's is 0
SB_IGNORE="$SB_IGNORE reshape_position"

for i in 0 1 2 3 4 5; do cp "$W/z$i.img" "$W/s$i.img"; done
mz() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q -n 5 --array-size=${ASIZE_K}K $(imgs_of z 6) ||
		{ echo "mdraid grow: exit $?"; return 1; }
	sb_cmp z m 6
}
if [ $ref_ok = 1 ]; then
	tap_check "$T1: mdraid grow: superblocks = mdadm + kernel's (masked)" mz
else
	mz >/dev/null 2>&1 # still shrunk, for boot 2
	tap_skip "$T1: mdraid grow: superblocks = mdadm + kernel's (masked)" "no reference shrink"
fi
# mid_reshape IMG: its superblock says reshaping (feature bit 4), a shrink
# (delta_disks -1), at a position strictly between the new size and 0
mid_reshape() {
	_f=$(le_u "$W/$1.img" $((4096 + 8)) 4)
	_p=$(le_u "$W/$1.img" $((4096 + 104)))
	[ $((_f & 4)) = 4 ] && [ "$(le_s32 "$W/$1.img" $((4096 + 112)))" = -1 ] && [ "$_p" -gt 0 ] && [ "$_p" -lt $((ASIZE_K * 2)) ]
}
# s: stopped after a few checkpoint steps
ms() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q -n 5 --array-size=${ASIZE_K}K --mem=1M --stop-after=3 $(imgs_of s 6)
	r=$?
	[ $r = 1 ] || { echo "mdraid grow --stop-after: exit $r, expected 1 (stopped)"; return 1; }
	mid_reshape s0 || { echo "not mid-reshape:"; mdadm --examine "$W/s0.img" | head -n 30; return 1; }
}
s_ok=0
ms >"$W/ms.out" 2>&1 && s_ok=1

kmid() {
	[ "$(kv "$W/kv1" k.grow_rc)" = 0 ] || { echo "mdadm --grow: rc $(kv "$W/kv1" k.grow_rc)"; return 1; }
	mid_reshape k0 || { echo "feature $(le_u "$W/k0.img" $((4096 + 8)) 4), reshape_position" \
		"$(le_u "$W/k0.img" $((4096 + 104))):"; head -n 30 "$W/out1/k.examine"; return 1; }
}
k_ok=0
if [ $rc1 -ne 0 ]; then
	tap_fail "$T1: a shrink the kernel started and was stopped in (reshape part-way)" "boot 1 failed"
elif kmid >"$W/kmid.out" 2>&1; then
	tap_ok "$T1: a shrink the kernel started and was stopped in (reshape part-way)"
	k_ok=1
else
	tap_fail "$T1: a shrink the kernel started and was stopped in (reshape part-way)" \
		"$(head -n 30 "$W/kmid.out"; grep '^k\.' "$W/kv1")"
fi
kc() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --continue $(imgs_of k 6) || { echo "mdraid grow --continue: exit $?"; return 1; }
	[ $ref_ok = 1 ] || return 0
	sb_cmp k m 6
}
if [ $k_ok = 1 ]; then
	tap_check "$T1: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" kc
else
	tap_skip "$T1: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
		"no stopped shrink"
fi

# --- boot 2: the kernel assembles the results ----------------------------------
ids="z"
[ $s_ok = 1 ] && ids="$ids s"
[ $k_ok = 1 ] && ids="$ids k"
truncate -s 192M "$W/export2.img"
mkdir -p "$W/in2"
echo "$ids" >"$W/in2/ids"
cat >"$W/body2" <<'EOF'
ids=$(cat /in/ids)
n=0
for id in $ids; do n=$((n + 1)); done
E=$(range $((n * 6)) 1 | tr -d ' ')
slot=0
for id in $ids; do
	mdadm --assemble /dev/md0 $(range $((slot * 6)) 6) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	wait_idle md0
	say "$id.disks" "$(cat /sys/block/md0/md/raid_disks)"
	export_check md0 "$id" "$E" $((slot * 67108864))
	mdadm --stop /dev/md0 >/dev/null 2>&1
	slot=$((slot + 1))
done
true
EOF
guest_script "$W/script2" "$W/body2"
imgs2=""
for id in $ids; do imgs2="$imgs2 $(imgs_of "$id" 6)"; done
# shellcheck disable=SC2086
boot "boot 2" "$W/kv2" "$W/err2" -t 600 -o "$W/out2" -i "$W/in2" "$W/script2" \
	$imgs2 "$W/export2.img"
rc2=$?

# fs_ok ID SLOT: the exported array holds the file system image byte for
# byte, e2fsck finds it clean, the kernel's check finds P/Q right
fs_ok() {
	[ $rc2 -eq 0 ] || { echo "boot 2 failed (rc $rc2)"; return 1; }
	[ "$(kv "$W/kv2" "$1.assembled")" = 0 ] || { echo "assemble: $(head -n 3 "$W/out2/$1.assemble")"; return 1; }
	[ "$(kv "$W/kv2" "$1.disks")" = 5 ] || { echo "raid_disks $(kv "$W/kv2" "$1.disks")"; return 1; }
	slice "$W/export2.img" $(($2 * 67108864)) $((FS_MIB * 1048576)) >"$W/got.img"
	cmp "$W/got.img" "$W/fs.img" || return 1
	e2fsck -fn "$W/got.img" >"$W/fsck.out" 2>&1 || { head -n 5 "$W/fsck.out"; return 1; }
	[ "$(kv "$W/kv2" "$1.mismatch")" = 0 ] || { echo "mismatch_cnt $(kv "$W/kv2" "$1.mismatch")"; return 1; }
}
slot_of() {
	_so=0
	for _id in $ids; do
		[ "$_id" = "$1" ] && { echo $_so; return; }
		_so=$((_so + 1))
	done
}
tap_check "$T1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0" fs_ok z 0
if [ $s_ok = 1 ]; then
	tap_check "$T1: mdraid grow stopped mid-way: the kernel finishes the reshape, file system intact, mismatch_cnt 0" \
		fs_ok s "$(slot_of s)"
else
	tap_fail "$T1: mdraid grow stopped mid-way: the kernel finishes the reshape, file system intact, mismatch_cnt 0" \
		"$(head -n 20 "$W/ms.out")"
fi
if [ $k_ok = 1 ]; then
	tap_check "$T1: kernel assembles the finished one: file system intact, mismatch_cnt 0" fs_ok k "$(slot_of k)"
else
	tap_skip "$T1: kernel assembles the finished one: file system intact, mismatch_cnt 0" "no stopped shrink"
fi
tap_done
