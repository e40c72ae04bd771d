#!/bin/sh
# test_resize.sh: mdraid grow --size=max after every member was enlarged
# (issue 24) against mdadm 4.2 + the kernel's --grow --size=max.
#
# Boot 1: the guest's mdadm creates a RAID6 (4 members of 32 MiB, metadata
# 1.2, 64K chunk) and the kernel resyncs it; an ext4 image made on the host
# (this repository's mdraid/ and tests/mdraid/ sources) is written onto it.
# The members are copied onto 48 MiB disks whose last 16 MiB hold random
# bytes (so the resync of the added space has real data to make P/Q of):
#   m: mdadm --grow --size=max (md's dev-N/size, raid5_resize, the resync of
#      the added space) to the end: the reference superblocks;
#   k: the same, slowed down (sync_speed_max) and stopped by mdadm --stop
#      with the resync part-way: a size change the kernel started, for
#      mdraid to finish.
#
# On the host: the original members are enlarged to 48 MiB (truncate, the
# same random tail copy m had before the guest grew it); mdraid grow
# --size=max grows the array; each superblock equals (masked: uuids, times,
# events, checksum) the one mdadm + the kernel left on copy m. A copy of the
# enlarged originals is grown by mdraid stopped mid-way (--stop-after) for
# the kernel to finish; copy k is finished by mdraid (the same command) and
# then equals the reference too.
#
# Boot 2: the kernel assembles the three results: component size 48128K,
# the file system image reads back byte for byte (every file's md5 is then
# the original's; e2fsck -fn passes on the host), check gives mismatch_cnt 0
# (P/Q of the added space right); the stopped one resyncs at assembly.
#
# Self-contained (its own two boots), like test_takeover.sh.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

MIB=32    # member size at create
BIG=48    # after the enlargement
FS_MIB=40 # the file system image (fits RAID6 on 4 x 32 MiB)
SIZE_K=48128 # 48 MiB - 1 MiB data offset, a multiple of the 64K chunk
T1="RAID6 4 x ${MIB}M -> ${BIG}M members --size=max"
NAMES="$T1: mdadm + kernel size change on a copy
$T1: mdraid grow --size=max: superblocks = mdadm + kernel's (masked)
$T1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0
$T1: mdraid grow --size=max stopped mid-way: the kernel finishes the resync, file system intact, mismatch_cnt 0
$T1: a size change the kernel started and was stopped in (resync part-way)
$T1: mdraid grow --size=max finishes the kernel's: superblocks = mdadm + kernel's (masked)
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
"$MDRAID" grow --help 2>&1 | grep -q -- '--size=.*max\|max (all the room' ||
	all_skip "mdraid grow lacks --size=max"

fs_image "$FS_MIB" || all_skip "mkfs.ext4 -d failed"

# --- boot 1 ------------------------------------------------------------------
# disks: z0..z3 (the original, 32 MiB), m0..m3 and k0..k3 (the copies, 48
# MiB, random throughout); M0.. in that order, then fs.img
seed=24700
imgs=""
for s in z m k; do
	sz=$BIG
	[ $s = z ] && sz=$MIB
	for i in 0 1 2 3; do
		mkimg "$W/$s$i.img" "${sz}M" $seed
		eval "seed_$s$i=$seed"
		seed=$((seed + 1))
	done
	imgs="$imgs $(imgs_of "$s" 4)"
done
mkdir -p "$W/in1"
cat >"$W/body1" <<EOF
FS=\$M12
FS_MIB=$FS_MIB
EOF
cat >>"$W/body1" <<'EOF'
mdadm --create /dev/md0 --run --level=6 --raid-devices=4 --chunk=64 --metadata=1.2 \
	--homehost=opskit $(range 0 4) >/out/create 2>&1
say create_rc $?
wait_idle md0
dd if="$FS" of=/dev/md0 bs=1M count="$FS_MIB" conv=fsync 2>/dev/null
mdadm --stop /dev/md0 >/dev/null 2>&1
copy_members 0 4 4
copy_members 0 8 4
# m: to the end
mdadm --assemble /dev/md0 $(range 4 4) >>/out/create 2>&1
mdadm --grow /dev/md0 --size=max >/out/m.grow 2>&1
say m.grow_rc $?
sleep 1
wait_idle md0
say m.size "$(cat /sys/block/md0/md/component_size)"
mdadm --stop /dev/md0 >/dev/null 2>&1
# k: stopped with the resync of the added space part-way
mdadm --assemble /dev/md1 $(range 8 4) >>/out/create 2>&1
echo 1000 >/sys/block/md1/md/sync_speed_max
mdadm --grow /dev/md1 --size=max >/out/k.grow 2>&1
say k.grow_rc $?
sleep 4
say k.action "$(cat /sys/block/md1/md/sync_action)"
say k.completed "$(cat /sys/block/md1/md/sync_completed)"
mdadm --stop /dev/md1 >/dev/null 2>&1
mdadm --examine $(range 8 1) >/out/k.examine 2>&1
true
EOF
guest_script "$W/script1" "$W/body1"
# shellcheck disable=SC2086
boot "boot 1" "$W/kv1" "$W/err1" -t 900 -o "$W/out1" -i "$W/in1" "$W/script1" $imgs "$W/fs.img"
rc1=$?

ref_ok=0
if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" create_rc)" != 0 ] || [ "$(kv "$W/kv1" m.grow_rc)" != 0 ] ||
	[ "$(kv "$W/kv1" m.size)" != $SIZE_K ]; then
	tap_fail "$T1: mdadm + kernel size change on a copy" \
		"$(cat "$W/kv1"; cat "$W/out1/create" "$W/out1/m.grow" 2>/dev/null | head -n 12)"
else
	tap_ok "$T1: mdadm + kernel size change on a copy"
	ref_ok=1
fi

# the enlargement: the originals get the random tail copy m had before boot 1
for i in 0 1 2 3; do
	truncate -s "${BIG}M" "$W/z$i.img"
	eval "s=\$seed_m$i"
	"$RANDFILL" "$s" "$W/z$i.img" "${MIB}M:$((BIG - MIB))M"
	cp "$W/z$i.img" "$W/s$i.img"
done
mz() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --size=max $(imgs_of z 4) || { echo "mdraid grow: exit $?"; return 1; }
	sb_cmp z m 4
}
if [ $ref_ok = 1 ]; then
	tap_check "$T1: mdraid grow --size=max: superblocks = mdadm + kernel's (masked)" mz
else
	mz >/dev/null 2>&1 # still grown, for boot 2
	tap_skip "$T1: mdraid grow --size=max: superblocks = mdadm + kernel's (masked)" \
		"no reference size change"
fi
# mid_resync IMG: its superblock says size SIZE_K and a resync_offset
# between the old size and the new one (not clean, not 0)
mid_resync() {
	_ro=$(le_u "$W/$1.img" $((4096 + 208)))
	[ "$(le_u "$W/$1.img" $((4096 + 80)))" = $((SIZE_K * 2)) ] &&
		[ "$_ro" -ge $((MIB * 2048 - 2048)) ] 2>/dev/null && [ "$_ro" -lt $((SIZE_K * 2)) ]
}
# s: stopped after the size round and some resync checkpoints
ms() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --size=max --stop-after=4 $(imgs_of s 4)
	r=$?
	[ $r = 1 ] || { echo "mdraid grow --stop-after: exit $r, expected 1 (stopped)"; return 1; }
	mid_resync s0 || { echo "not mid-resync:"; mdadm --examine "$W/s0.img" | head -n 30; return 1; }
}
s_ok=0
ms >"$W/ms.out" 2>&1 && s_ok=1

# the kernel's size change stopped part-way: resync_offset between the sizes
kmid() {
	[ "$(kv "$W/kv1" k.grow_rc)" = 0 ] || { echo "mdadm --grow: rc $(kv "$W/kv1" k.grow_rc)"; return 1; }
	mid_resync k0 || { echo "size $(le_u "$W/k0.img" $((4096 + 80))), resync_offset" \
		"$(le_u "$W/k0.img" $((4096 + 208))):"; head -n 30 "$W/out1/k.examine"; return 1; }
}
k_ok=0
if [ $rc1 -ne 0 ]; then
	tap_fail "$T1: a size change the kernel started and was stopped in (resync part-way)" "boot 1 failed"
elif kmid >"$W/kmid.out" 2>&1; then
	tap_ok "$T1: a size change the kernel started and was stopped in (resync part-way)"
	k_ok=1
else
	tap_fail "$T1: a size change the kernel started and was stopped in (resync part-way)" \
		"$(head -n 30 "$W/kmid.out"; grep '^k\.' "$W/kv1")"
fi
kc() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --size=max $(imgs_of k 4) || { echo "mdraid grow --size=max: exit $?"; return 1; }
	mdadm --examine "$W/k0.img" | grep -q 'State : clean' || { echo "not clean"; return 1; }
	[ $ref_ok = 1 ] || return 0
	sb_cmp k m 4
}
if [ $k_ok = 1 ]; then
	tap_check "$T1: mdraid grow --size=max finishes the kernel's: superblocks = mdadm + kernel's (masked)" kc
else
	tap_skip "$T1: mdraid grow --size=max finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
		"no stopped size change"
fi

# --- boot 2: the kernel assembles the results ----------------------------------
ids="z"
[ $s_ok = 1 ] && ids="$ids s"
[ $k_ok = 1 ] && ids="$ids k"
truncate -s 384M "$W/export2.img"
mkdir -p "$W/in2"
echo "$ids" >"$W/in2/ids"
cat >"$W/body2" <<'EOF'
ids=$(cat /in/ids)
n=0
for id in $ids; do n=$((n + 1)); done
E=$(range $((n * 4)) 1 | tr -d ' ')
slot=0
for id in $ids; do
	# slowed down, so that a resync at assembly is seen
	echo 1000 >/proc/sys/dev/raid/speed_limit_max
	mdadm --assemble /dev/md0 $(range $((slot * 4)) 4) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	sleep 0.5
	say "$id.action" "$(cat /sys/block/md0/md/sync_action)"
	echo 200000 >/proc/sys/dev/raid/speed_limit_max
	wait_idle md0
	say "$id.size" "$(cat /sys/block/md0/md/component_size)"
	export_check md0 "$id" "$E" $((slot * 134217728))
	mdadm --stop /dev/md0 >/dev/null 2>&1
	slot=$((slot + 1))
done
true
EOF
guest_script "$W/script2" "$W/body2"
imgs2=""
for id in $ids; do imgs2="$imgs2 $(imgs_of "$id" 4)"; done
# shellcheck disable=SC2086
boot "boot 2" "$W/kv2" "$W/err2" -t 600 -o "$W/out2" -i "$W/in2" "$W/script2" \
	$imgs2 "$W/export2.img"
rc2=$?

# fs_ok ID SLOT: the exported array holds the file system image byte for
# byte, e2fsck finds it clean, the kernel's check finds P/Q right
fs_ok() {
	[ $rc2 -eq 0 ] || { echo "boot 2 failed (rc $rc2)"; return 1; }
	[ "$(kv "$W/kv2" "$1.assembled")" = 0 ] || { echo "assemble: $(head -n 3 "$W/out2/$1.assemble")"; return 1; }
	[ "$(kv "$W/kv2" "$1.size")" = $SIZE_K ] || { echo "component_size $(kv "$W/kv2" "$1.size")"; return 1; }
	slice "$W/export2.img" $(($2 * 134217728)) $((FS_MIB * 1048576)) >"$W/got.img"
	cmp "$W/got.img" "$W/fs.img" || return 1
	e2fsck -fn "$W/got.img" >"$W/fsck.out" 2>&1 || { head -n 5 "$W/fsck.out"; return 1; }
	[ "$(kv "$W/kv2" "$1.mismatch")" = 0 ] || { echo "mismatch_cnt $(kv "$W/kv2" "$1.mismatch")"; return 1; }
	case $1 in s) [ "$(kv "$W/kv2" s.action)" = resync ] ||
		{ echo "sync_action at assembly: $(kv "$W/kv2" s.action), expected resync"; return 1; } ;;
	esac
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
	tap_check "$T1: mdraid grow --size=max stopped mid-way: the kernel finishes the resync, file system intact, mismatch_cnt 0" \
		fs_ok s "$(slot_of s)"
else
	tap_fail "$T1: mdraid grow --size=max stopped mid-way: the kernel finishes the resync, file system intact, mismatch_cnt 0" \
		"$(head -n 20 "$W/ms.out")"
fi
if [ $k_ok = 1 ]; then
	tap_check "$T1: kernel assembles the finished one: file system intact, mismatch_cnt 0" fs_ok k "$(slot_of k)"
else
	tap_skip "$T1: kernel assembles the finished one: file system intact, mismatch_cnt 0" "no stopped size change"
fi
tap_done
