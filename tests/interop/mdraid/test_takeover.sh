#!/bin/sh
# test_takeover.sh: mdraid grow --level=6 --layout=preserve (issue 24: RAID5
# 4 -> RAID6 5 with no restripe) against mdadm 4.2 + the kernel's.
#
# Boot 1: the guest's mdadm creates a RAID5 (4 members, metadata 1.2, 64K
# chunk, left-symmetric) and the kernel resyncs it; an ext4 image made on
# the host (this repository's mdraid/ and tests/mdraid/ sources) is written
# onto it. Two copies of the members are made in the guest:
#   m: mdadm --add of a fifth disk, then mdadm --grow --level=6
#      --raid-devices=5 --layout=preserve (the kernel's raid6_takeover, then
#      md's recovery computes Q onto the new disk) to the end: the
#      reference superblocks;
#   k: the same, stopped at a fixed point (guest-lib.sh's kstop_*: the
#      recovery frozen at once, sync_max set to KSTOP sectors of each
#      member, let go; md records recovery_offset as it gets there and
#      waits; then mdadm --stop): a conversion the kernel started, for
#      mdraid to finish. The host asserts the recorded state exactly:
#      RAID6 left-symmetric-6 of 5, the new member recovering at
#      recovery_offset KSTOP, the others in sync.
#
# On the host: mdraid grow --level=6 --layout=preserve converts the original
# (4 members + a blank one); each of the five superblocks equals (masked:
# uuids, times, events, checksum) the one mdadm + the kernel left on copy m;
# mdraid grow --continue finishes copy k, whose superblocks then equal
# copy m's too.
#
# Boot 2: the kernel assembles both results: RAID6 left-symmetric-6 with 5
# members, nothing to recover, the file system image reads back byte for
# byte (every file's md5 is then the original's; e2fsck -fn passes on the
# host), check gives mismatch_cnt 0; with two members removed (one data
# member and P's member) the image still reads back: Q is right.
#
# Without --layout (copy d in the guest, u on the host): mdadm 4.2 converts
# into the -6 form and then restripes into the plain layout of the RAID5
# layout's number (left-symmetric, data_offset moved down); mdraid grow
# --level=6 --raid-devices=5 does the conversion then --layout=normalise:
# superblocks equal (masked, and the stale reshape_position), the kernel
# reads the file system back with mismatch_cnt 0.
#
# The size change (issue 24: mdraid grow --size=max after every member was
# enlarged, against mdadm 4.2 + the kernel's --grow --size=max) rides along
# in the same two boots, after the conversions (it was test_resize.sh):
#
# Boot 1: the guest's mdadm creates a RAID6 (4 members of 32 MiB, z0..z3)
# and the kernel resyncs it; the same file system image is written onto it.
# The members are copied onto 48 MiB disks whose last 16 MiB hold random
# bytes (so the resync of the added space has real data to make P/Q of):
#   rm: mdadm --grow --size=max (md's dev-N/size, raid5_resize, the resync
#       of the added space) to the end: the reference superblocks;
#   rk: the same, stopped at a fixed point (RSTOP sectors of each member,
#       half-way through the added space: resync_offset RSTOP on every
#       member, asserted on the host): a size change the kernel started,
#       for mdraid to finish.
#
# On the host: the original members are enlarged to 48 MiB (truncate, the
# same random tail copy rm had before the guest grew it); mdraid grow
# --size=max grows the array; each superblock equals (masked: uuids, times,
# events, checksum) the one mdadm + the kernel left on copy rm. A copy of the
# enlarged originals (rs) is grown by mdraid stopped mid-way (--stop-after)
# for the kernel to finish; copy rk is finished by mdraid (the same command)
# and then equals the reference too.
#
# Boot 2: the kernel assembles the three results: component size 48128K,
# the file system image reads back byte for byte (every file's md5 is then
# the original's; e2fsck -fn passes on the host), check gives mismatch_cnt 0
# (P/Q of the added space right); the stopped one resyncs at assembly.
#
# The shrink (issue 24: mdraid grow --raid-devices=5 --array-size=S of a
# RAID6 of 6, a backwards reshape with data_offset up, against mdadm 4.2 +
# the kernel's --grow --array-size then --grow --raid-devices=5) rides along
# too (it was test_shrink.sh; its members are h*):
#
# Boot 1: the guest's mdadm creates a RAID6 (6 members of 16 MiB, hz0..hz5,
# 64K chunk, --size=14336K so that 1 MiB after the data is free: mdadm then
# moves data_offset up instead of asking for a backup file) and the kernel
# resyncs it; the same file system image (40 MiB: it fits the 42 MiB RAID6
# of 5) is written onto it. Two copies of the members:
#   hm: mdadm --grow --array-size=43008, then --grow --raid-devices=5, to
#       the end: the reference superblocks (the sixth member a spare).
#       mdadm 4.2 fails that shrink on kernel 6.1 ("Cannot set new_offset":
#       it writes the members' new_offset, up, before md's
#       reshape_direction says backwards, which md refuses with EINVAL;
#       said as hm.plain_rc, and nothing changes), so the test writes
#       "backwards" to reshape_direction first, the one step mdadm's
#       set_new_data_offset leaves out for delta_disks < 0, and mdadm then
#       shrinks as it means to;
#   hk: the same, stopped at a fixed point (HSTOP sectors of each member:
#       reshape_position 86016 - 3 x HSTOP, counting down, with
#       RESHAPE_ACTIVE, NEW_OFFSET and delta_disks -1 on all six members,
#       asserted on the host): a shrink the kernel started, for mdraid to
#       finish.
#
# On the host: mdraid grow -n 5 --array-size=43008K shrinks the originals;
# each of the 6 superblocks equals (masked: uuids, times, events, checksum,
# and reshape_position, which the kernel leaves at its last checkpoint) the
# one mdadm + the kernel left on copy hm. A copy of the originals (hs) is
# shrunk by mdraid stopped mid-way (--stop-after) for the kernel to finish;
# copy hk is finished by `mdraid grow --continue` and then equals the
# reference.
#
# Boot 2: the kernel assembles the three results: 5 raid devices, the file
# system image reads back byte for byte (every file's md5 is then the
# original's; e2fsck -fn passes on the host), check gives mismatch_cnt 0;
# the stopped one's reshape is continued by the kernel first.
#
# The file system image is made over random bytes (lib.sh fs_image with a
# seed), so that its free blocks, most of it, show a misplaced stripe in
# the byte-for-byte comparisons (without a seed 38 of its 40 MiB are
# zeros, the top included, where the shrink's backwards reshape starts;
# with it 5, the journal's and inode tables'). The three kernel-started
# cases were first run that way on the old stop (slowed by sync_speed_max,
# mdadm --stop after 4 s: recovery 17920 of 63488, resync 69512 of 96256,
# shrink at reshape_position 56832): all 24 cases passed. None of the three
# is the state test_reshape.sh's header describes: a conversion's recovery
# and a size change's resync move no data, and a shrink reads ahead of
# where it writes (fewer data members, data_offset moving up), so raid5.c
# records its position before each write that needs it. The fixed-point
# stop makes the stopped state the same in every run and lets the test say
# exactly what it is; the three stops run at full speed, side by side, to
# the end of boot 1 (run beside the old test: boot 1 32 s against 43 s,
# the whole test 69 s against 77 s, load 1.5-3.4).
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

MIB=32    # member size
FS_MIB=40 # the file system image (fits RAID5 on 4 x 32 MiB)
T1="RAID5 4 -> RAID6 5 left-symmetric-6"
T2="RAID5 4 -> RAID6 5 without --layout (left-symmetric, restriped)"
NAMES="$T1: mdadm + kernel conversion on a copy
$T1: mdraid grow --level=6 --layout=preserve: superblocks = mdadm + kernel's (masked)
$T1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0
$T1: kernel reads mdraid's result with two members missing (Q right)
$T1: a conversion the kernel started and was stopped in (recovery part-way)
$T1: mdraid grow --continue finishes the kernel's conversion: superblocks = mdadm + kernel's (masked)
$T1: kernel assembles the finished conversion: file system intact, mismatch_cnt 0
$T2: mdadm + kernel conversion and restripe on a copy
$T2: mdraid grow --level=6 --raid-devices=5: superblocks = mdadm + kernel's (masked)
$T2: kernel assembles mdraid's result: file system intact, mismatch_cnt 0"
BIG=48       # size change: the members after the enlargement
SIZE_K=48128 # 48 MiB - 1 MiB data offset, a multiple of the 64K chunk
T3="RAID6 4 x ${MIB}M -> ${BIG}M members --size=max"
RNAMES="$T3: mdadm + kernel size change on a copy
$T3: mdraid grow --size=max: superblocks = mdadm + kernel's (masked)
$T3: kernel assembles mdraid's result: file system intact, mismatch_cnt 0
$T3: mdraid grow --size=max stopped mid-way: the kernel finishes the resync, file system intact, mismatch_cnt 0
$T3: a size change the kernel started and was stopped in (resync part-way)
$T3: mdraid grow --size=max finishes the kernel's: superblocks = mdadm + kernel's (masked)
$T3: kernel assembles the finished one: file system intact, mismatch_cnt 0"
HMIB=16       # shrink: member size
HSIZE_K=14336 # component size given to mdadm --create (1 MiB left after it)
HASIZE_K=$((HSIZE_K * 3))
# where the kernel-started ones are stopped (guest-lib.sh's fixed-point
# stop), in sectors of each member, multiples of the 64K chunk: the
# conversion's recovery half-way (of 63488), the size change's resync
# half-way through the added space (63488 -> 96256), the shrink with 16384
# of its 28672 done (reshape_position 36864 of 86016: 18 MiB, below the
# top of the file system)
KSTOP=32768
RSTOP=79872
HSTOP=16384
T4="RAID6 6 -> 5 members (--array-size=${HASIZE_K}K)"
HNAMES="$T4: mdadm + kernel shrink on a copy
$T4: mdraid grow: superblocks = mdadm + kernel's (masked)
$T4: kernel assembles mdraid's result: file system intact, mismatch_cnt 0
$T4: mdraid grow stopped mid-way: the kernel finishes the reshape, file system intact, mismatch_cnt 0
$T4: a shrink the kernel started and was stopped in (reshape part-way)
$T4: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)
$T4: kernel assembles the finished one: file system intact, mismatch_cnt 0"
all_skip() {
	printf '%s\n%s\n%s\n' "$NAMES" "$RNAMES" "$HNAMES" >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null ||
	all_skip "no mkfs.ext4/e2fsck on the host (package e2fsprogs)"

fs_image "$FS_MIB" 24499 || all_skip "mkfs.ext4 -d failed"
# the size change needs mdraid grow --size=max (resize=0: its cases skip)
resize=1
"$MDRAID" grow --help 2>&1 | grep -q -- '--size=.*max\|max (all the room' || resize=0
# the shrink needs mdraid grow --array-size (shrink=0: its cases skip)
shrink=1
"$MDRAID" grow --help 2>&1 | grep -q -- '--array-size=KiB' || shrink=0

# --- boot 1 ------------------------------------------------------------------
# disks: t0..t4 (the original + its new member), m0..m4 (mdadm's copy), k0..k4
# (the copy the kernel is stopped in); M0.. in that order, then fs.img
seed=24500
imgs=""
for s in t m k d; do
	for i in 0 1 2 3 4; do
		mkimg "$W/$s$i.img" "${MIB}M" $seed
		seed=$((seed + 1))
	done
	imgs="$imgs $(imgs_of "$s" 5)"
done
# the size change's disks, after fs.img (M21..): z0..z3 (the original, 32
# MiB), rm0..rm3 and rk0..rk3 (the copies, 48 MiB, random throughout)
seed=24700
rimgs=""
for s in z rm rk; do
	[ $resize = 1 ] || break
	sz=$BIG
	[ $s = z ] && sz=$MIB
	for i in 0 1 2 3; do
		mkimg "$W/$s$i.img" "${sz}M" $seed
		eval "seed_$s$i=$seed"
		seed=$((seed + 1))
	done
	rimgs="$rimgs $(imgs_of "$s" 4)"
done
# the shrink's disks, after those: hz0..hz5 (the original), hm0..hm5 and
# hk0..hk5 (the copies)
seed=24800
himgs=""
for s in hz hm hk; do
	[ $shrink = 1 ] || break
	for i in 0 1 2 3 4 5; do
		mkimg "$W/$s$i.img" "${HMIB}M" $seed
		seed=$((seed + 1))
	done
	himgs="$himgs $(imgs_of "$s" 6)"
done
mkdir -p "$W/in1"
cat >"$W/body1" <<EOF
FS=\$M20
FS_MIB=$FS_MIB
R=21
RESIZE=$resize
H=$((21 + 12 * resize))
SHRINK=$shrink
HSIZE_K=$HSIZE_K
HASIZE_K=$HASIZE_K
KSTOP=$KSTOP
HSTOP=$HSTOP
RSTOP=$RSTOP
EOF
cat >>"$W/body1" <<'EOF'
fs_array t 0 4 5 --level=5 --raid-devices=4
# m: to the end
mdadm --assemble /dev/md0 $(range 5 4) >>/out/t.create 2>&1
mdadm /dev/md0 --add $(range 9 1) >/out/m.add 2>&1
say m.add_rc $?
mdadm --grow /dev/md0 --level=6 --raid-devices=5 --layout=preserve >/out/m.grow 2>&1
say m.grow_rc $?
wait_started md0
say m.level "$(cat /sys/block/md0/md/level)"
say m.layout "$(cat /sys/block/md0/md/layout)"
say m.degraded "$(cat /sys/block/md0/md/degraded)"
mdadm --stop /dev/md0 >/dev/null 2>&1
# d: without --layout, to the end (the restripe, then any recovery)
copy_members 0 15 4
mdadm --assemble /dev/md0 $(range 15 4) >>/out/t.create 2>&1
mdadm /dev/md0 --add $(range 19 1) >/out/d.add 2>&1
mdadm --grow /dev/md0 --level=6 --raid-devices=5 >/out/d.grow 2>&1
say d.grow_rc $?
wait_started md0
wait_started md0
say d.level "$(cat /sys/block/md0/md/level)"
say d.layout "$(cat /sys/block/md0/md/layout)"
say d.degraded "$(cat /sys/block/md0/md/degraded)"
mdadm --stop /dev/md0 >/dev/null 2>&1
# k: the recovery of Q stopped at KSTOP sectors of each member (the
# fixed-point stop: it runs there while the rest of the script goes on;
# kstop_wait at the end). After d: mdadm does not assemble a copy of an
# array whose uuid is active ("Found some drive for an array that is
# already active")
mdadm --assemble /dev/md1 $(range 10 4) >>/out/t.create 2>&1
mdadm /dev/md1 --add $(range 14 1) >/out/k.add 2>&1
kstop_hold md1
mdadm --grow /dev/md1 --level=6 --raid-devices=5 --layout=preserve >/out/k.grow 2>&1
say k.grow_rc $?
kstop_freeze md1
kstop_arm md1 k "$KSTOP"
shrink() {
	# the shrink: a RAID6 of 6 on hz (M<H>..), copied onto hm and hk
	fs_array h $H 6 6 --level=6 --raid-devices=6 --size=$HSIZE_K
	# hm: to the end
	mdadm --assemble /dev/md0 $(range $((H + 6)) 6) >>/out/h.create 2>&1
	mdadm --grow /dev/md0 --array-size=$HASIZE_K >/out/hm.grow 2>&1
	# mdadm 4.2 alone: its set_new_data_offset writes each member's new_offset
	# (up) without first setting reshape_direction, which md refuses (EINVAL,
	# "Cannot set new_offset"); nothing changes. Then as mdadm means it.
	mdadm --grow /dev/md0 --raid-devices=5 >/out/hm.plain 2>&1
	say hm.plain_rc $?
	echo backwards >/sys/block/md0/md/reshape_direction
	mdadm --grow /dev/md0 --raid-devices=5 >>/out/hm.grow 2>&1
	say hm.grow_rc $?
	wait_started md0
	say hm.disks "$(cat /sys/block/md0/md/raid_disks)"
	mdadm --stop /dev/md0 >/dev/null 2>&1
	# hk: the reshape stopped at HSTOP sectors of each member (fixed point)
	mdadm --assemble /dev/md2 $(range $((H + 12)) 6) >>/out/h.create 2>&1
	mdadm --grow /dev/md2 --array-size=$HASIZE_K >/out/hk.grow 2>&1
	echo backwards >/sys/block/md2/md/reshape_direction
	kstop_hold md2
	mdadm --grow /dev/md2 --raid-devices=5 >>/out/hk.grow 2>&1
	say hk.grow_rc $?
	kstop_freeze md2
	kstop_arm md2 hk "$HSTOP"
}
[ "$SHRINK" = 1 ] && shrink
resize() {
	# the size change: a RAID6 on z (M21..M24), copied onto rm and rk
	fs_array r $R 4 4 --level=6 --raid-devices=4
	# rm: to the end
	mdadm --assemble /dev/md0 $(range $((R + 4)) 4) >>/out/r.create 2>&1
	mdadm --grow /dev/md0 --size=max >/out/rm.grow 2>&1
	say rm.grow_rc $?
	wait_started md0
	say rm.size "$(cat /sys/block/md0/md/component_size)"
	mdadm --stop /dev/md0 >/dev/null 2>&1
	# rk: the resync of the added space stopped at RSTOP sectors of each
	# member (fixed point)
	mdadm --assemble /dev/md3 $(range $((R + 8)) 4) >>/out/r.create 2>&1
	kstop_hold md3
	mdadm --grow /dev/md3 --size=max >/out/rk.grow 2>&1
	say rk.grow_rc $?
	kstop_freeze md3
	kstop_arm md3 rk "$RSTOP"
}
[ "$RESIZE" = 1 ] && resize
# the stopped ones: each at its point, then mdadm --stop
kstop_wait md1 k "$KSTOP"
mdadm --examine $(range 14 1) >/out/k.examine 2>&1
if [ "$SHRINK" = 1 ]; then
	kstop_wait md2 hk "$HSTOP"
	mdadm --examine $(range $((H + 12)) 1) >/out/hk.examine 2>&1
fi
if [ "$RESIZE" = 1 ]; then
	kstop_wait md3 rk "$RSTOP"
	mdadm --examine $(range $((R + 8)) 1) >/out/rk.examine 2>&1
fi
true
EOF
guest_script "$W/script1" "$W/body1"
# shellcheck disable=SC2086
boot "boot 1" "$W/kv1" "$W/err1" -t 2100 -o "$W/out1" -i "$W/in1" "$W/script1" $imgs "$W/fs.img" $rimgs $himgs
rc1=$?

ref_ok=0
if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" t.create_rc)" != 0 ] || [ "$(kv "$W/kv1" m.grow_rc)" != 0 ] ||
	[ "$(kv "$W/kv1" m.level)" != raid6 ] || [ "$(kv "$W/kv1" m.layout)" != 18 ] ||
	[ "$(kv "$W/kv1" m.degraded)" != 0 ]; then
	tap_fail "$T1: mdadm + kernel conversion on a copy" \
		"$(cat "$W/kv1"; cat "$W/out1/t.create" "$W/out1/m.add" "$W/out1/m.grow" 2>/dev/null | head -n 12)"
else
	tap_ok "$T1: mdadm + kernel conversion on a copy"
	ref_ok=1
fi
# u: the original (and its blank new member) as it was, for the conversion
# without --layout
for i in 0 1 2 3 4; do cp "$W/t$i.img" "$W/u$i.img"; done
mt() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --level=6 --layout=preserve $(imgs_of t 5) || { echo "mdraid grow: exit $?"; return 1; }
	sb_cmp t m 5
}
if [ $ref_ok = 1 ]; then
	tap_check "$T1: mdraid grow --level=6 --layout=preserve: superblocks = mdadm + kernel's (masked)" mt
else
	# still convert, for boot 2
	mt >/dev/null 2>&1
	tap_skip "$T1: mdraid grow --level=6 --layout=preserve: superblocks = mdadm + kernel's (masked)" \
		"no reference conversion"
fi
# sbv ID OFF [SIZE]: the v1.2 superblock field at byte OFF of member image ID
sbv() { le_u "$W/$1.img" $((4096 + $2)) "${3:-8}"; }
# the kernel's conversion stopped at its fixed point: RAID6 left-symmetric-6
# of 5, the new member (role 4) recovering (feature bit 2) at recovery_offset
# KSTOP exactly, the others in sync
kmid() {
	[ "$(kv "$W/kv1" k.grow_rc)" = 0 ] || { echo "mdadm --grow: rc $(kv "$W/kv1" k.grow_rc)"; return 1; }
	[ "$(sbv k4 72 4)/$(sbv k4 76 4)/$(sbv k4 92 4)" = 6/18/5 ] ||
		{ echo "level/layout/raid_disks $(sbv k4 72 4)/$(sbv k4 76 4)/$(sbv k4 92 4), expected 6/18/5"; return 1; }
	[ $(($(sbv k4 8 4) & 2)) = 2 ] && [ "$(sbv k4 152)" = "$KSTOP" ] ||
		{ echo "new member: feature_map $(sbv k4 8 4) recovery_offset $(sbv k4 152), expected bit 2 and $KSTOP:"
			head -n 30 "$W/out1/k.examine"; return 1; }
	for i in 0 1 2 3; do
		[ $(($(sbv "k$i" 8 4) & 2)) = 0 ] || { echo "member $i: feature_map $(sbv "k$i" 8 4): recovering"; return 1; }
	done
	echo "# k: stopped at recovery_offset $(sbv k4 152) of $((MIB * 2048 - 2048)) (sync_completed $(kv "$W/kv1" k.completed) before the stop)"
}
k_ok=0
kernel_stopped "$T1: a conversion the kernel started and was stopped in (recovery part-way)" kmid k && k_ok=1
kc() {
	# shellcheck disable=SC2046
	"$MDRAID" grow --continue -q $(imgs_of k 5) || { echo "mdraid grow --continue: exit $?"; return 1; }
	mdadm --examine "$W/k4.img" | grep -q 'Recovery Offset' && { echo "still recovering"; return 1; }
	[ $ref_ok = 1 ] || return 0
	sb_cmp k m 5
}
if [ $k_ok = 1 ]; then
	tap_check "$T1: mdraid grow --continue finishes the kernel's conversion: superblocks = mdadm + kernel's (masked)" kc
else
	tap_skip "$T1: mdraid grow --continue finishes the kernel's conversion: superblocks = mdadm + kernel's (masked)" \
		"no stopped conversion"
fi

d_ok=0
if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" d.grow_rc)" != 0 ] || [ "$(kv "$W/kv1" d.level)" != raid6 ] ||
	[ "$(kv "$W/kv1" d.layout)" != 2 ] || [ "$(kv "$W/kv1" d.degraded)" != 0 ]; then
	tap_fail "$T2: mdadm + kernel conversion and restripe on a copy" \
		"$(grep '^d\.' "$W/kv1"; cat "$W/out1/d.add" "$W/out1/d.grow" 2>/dev/null | head -n 12)"
else
	tap_ok "$T2: mdadm + kernel conversion and restripe on a copy"
	d_ok=1
fi
mu() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --level=6 --raid-devices=5 $(imgs_of u 5) || { echo "mdraid grow: exit $?"; return 1; }
	[ $d_ok = 1 ] || return 0
	# after the restripe reshape_position is the kernel's last checkpoint
	_ig=$SB_IGNORE
	SB_IGNORE="$SB_IGNORE reshape_position"
	sb_cmp u d 5
	_r=$?
	SB_IGNORE=$_ig
	return $_r
}
if [ $d_ok = 1 ]; then
	tap_check "$T2: mdraid grow --level=6 --raid-devices=5: superblocks = mdadm + kernel's (masked)" mu
else
	mu >/dev/null 2>&1
	tap_skip "$T2: mdraid grow --level=6 --raid-devices=5: superblocks = mdadm + kernel's (masked)" \
		"no reference conversion"
fi

# --- the size change on the host -------------------------------------------------
rref_ok=0
rk_ok=0
rids=""
if [ $resize = 0 ]; then
	echo "$RNAMES" >"$W/names"
	skip_each "mdraid grow lacks --size=max" <"$W/names"
elif [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" r.create_rc)" != 0 ] || [ "$(kv "$W/kv1" rm.grow_rc)" != 0 ] ||
	[ "$(kv "$W/kv1" rm.size)" != $SIZE_K ]; then
	tap_fail "$T3: mdadm + kernel size change on a copy" \
		"$(grep '^r[mk]*\.' "$W/kv1"; cat "$W/out1/r.create" "$W/out1/rm.grow" 2>/dev/null | head -n 12)"
else
	tap_ok "$T3: mdadm + kernel size change on a copy"
	rref_ok=1
fi
# the enlargement: the originals get the random tail copy rm had before boot 1
for i in 0 1 2 3; do
	[ $resize = 1 ] || break
	truncate -s "${BIG}M" "$W/z$i.img"
	eval "s=\$seed_rm$i"
	"$RANDFILL" "$s" "$W/z$i.img" "${MIB}M:$((BIG - MIB))M"
	cp "$W/z$i.img" "$W/rs$i.img"
done
mz() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --size=max $(imgs_of z 4) || { echo "mdraid grow: exit $?"; return 1; }
	sb_cmp z rm 4
}
# mid_resync IMG: its superblock says size SIZE_K and a resync_offset
# between the old size and the new one (not clean, not 0)
mid_resync() {
	_ro=$(le_u "$W/$1.img" $((4096 + 208)))
	[ "$(le_u "$W/$1.img" $((4096 + 80)))" = $((SIZE_K * 2)) ] &&
		[ "$_ro" -ge $((MIB * 2048 - 2048)) ] 2>/dev/null && [ "$_ro" -lt $((SIZE_K * 2)) ]
}
# mdraid_stopped MID ID N ARGS...: mdraid grow -q ARGS (with --stop-after)
# of array ID's N members stops part-way (exit 1), and MID ID0 (the case's
# judge of a superblock) says it is mid-way on disk
mdraid_stopped() {
	_ms_mid=$1 _ms_id=$2 _ms_n=$3
	shift 3
	# shellcheck disable=SC2046
	"$MDRAID" grow -q "$@" $(imgs_of "$_ms_id" "$_ms_n")
	_ms_r=$?
	[ $_ms_r = 1 ] || { echo "mdraid grow --stop-after: exit $_ms_r, expected 1 (stopped)"; return 1; }
	"$_ms_mid" "${_ms_id}0" ||
		{ echo "not mid-way ($_ms_mid):"; mdadm --examine "$W/${_ms_id}0.img" | head -n 30; return 1; }
}
# kernel_at AT ID N: the guest's mdadm --grow of copy ID said rc 0, and AT
# (the case's judge of one member's superblock, saying what it found when
# that is wrong) holds for each of its N members (else the guest's mdadm
# --examine of the first member follows)
kernel_at() {
	[ "$(kv "$W/kv1" "$2.grow_rc")" = 0 ] || { echo "mdadm --grow: rc $(kv "$W/kv1" "$2.grow_rc")"; return 1; }
	_ka_i=0
	while [ $_ka_i -lt "$3" ]; do
		"$1" "$2$_ka_i" || { head -n 30 "$W/out1/$2.examine"; return 1; }
		_ka_i=$((_ka_i + 1))
	done
}
# the kernel's size change stopped at its fixed point: size SIZE_K,
# resync_offset RSTOP exactly (on every member)
rk_at() {
	[ "$(sbv "$1" 80)" = $((SIZE_K * 2)) ] && [ "$(sbv "$1" 208)" = "$RSTOP" ] ||
		{ echo "$1: size $(sbv "$1" 80), resync_offset $(sbv "$1" 208), expected $((SIZE_K * 2)) $RSTOP"; return 1; }
}
rkmid() {
	kernel_at rk_at rk 4 || return 1
	echo "# rk: stopped at resync_offset $(sbv rk0 208) (from $((MIB * 2048 - 2048)) to $((SIZE_K * 2)); sync_completed $(kv "$W/kv1" rk.completed) before the stop)"
}
rkc() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --size=max $(imgs_of rk 4) || { echo "mdraid grow --size=max: exit $?"; return 1; }
	mdadm --examine "$W/rk0.img" | grep -q 'State : clean' || { echo "not clean"; return 1; }
	[ $rref_ok = 1 ] || return 0
	sb_cmp rk rm 4
}
if [ $resize = 1 ]; then
	if [ $rref_ok = 1 ]; then
		tap_check "$T3: mdraid grow --size=max: superblocks = mdadm + kernel's (masked)" mz
	else
		mz >/dev/null 2>&1 # still grown, for boot 2
		tap_skip "$T3: mdraid grow --size=max: superblocks = mdadm + kernel's (masked)" \
			"no reference size change"
	fi
	rids="z"
	# rs: stopped after the size round and some resync checkpoints
	mdraid_stopped mid_resync rs 4 --size=max --stop-after=4 >"$W/ms.out" 2>&1 && rids="$rids rs"
	kernel_stopped "$T3: a size change the kernel started and was stopped in (resync part-way)" rkmid rk &&
		rk_ok=1
	if [ $rk_ok = 1 ]; then
		tap_check "$T3: mdraid grow --size=max finishes the kernel's: superblocks = mdadm + kernel's (masked)" rkc
		rids="$rids rk"
	else
		tap_skip "$T3: mdraid grow --size=max finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
			"no stopped size change"
	fi
fi

# --- the shrink on the host ------------------------------------------------------
href_ok=0
hk_ok=0
hids=""
if [ $shrink = 0 ]; then
	echo "$HNAMES" >"$W/names"
	skip_each "mdraid grow lacks the shrink" <"$W/names"
elif [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" h.create_rc)" != 0 ] || [ "$(kv "$W/kv1" hm.grow_rc)" != 0 ] ||
	[ "$(kv "$W/kv1" hm.disks)" != 5 ]; then
	tap_fail "$T4: mdadm + kernel shrink on a copy" \
		"$(grep '^h[mk]*\.' "$W/kv1"; cat "$W/out1/h.create" "$W/out1/hm.grow" 2>/dev/null | head -n 12)"
else
	tap_ok "$T4: mdadm + kernel shrink on a copy"
	href_ok=1
fi
# the kernel leaves reshape_position at its last checkpoint once done (the
# feature bits say it is over); mdraid's is 0
HSB_IGNORE="$SB_IGNORE reshape_position"
for i in 0 1 2 3 4 5; do
	[ $shrink = 1 ] || break
	cp "$W/hz$i.img" "$W/hs$i.img"
done
hmz() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q -n 5 --array-size=${HASIZE_K}K $(imgs_of hz 6) ||
		{ echo "mdraid grow: exit $?"; return 1; }
	SB_IGNORE=$HSB_IGNORE sb_cmp hz hm 6
}
# mid_reshape IMG: its superblock says reshaping (feature bit 4), a shrink
# (delta_disks -1), at a position strictly between the new size and 0
mid_reshape() {
	_f=$(le_u "$W/$1.img" $((4096 + 8)) 4)
	_p=$(le_u "$W/$1.img" $((4096 + 104)))
	[ $((_f & 4)) = 4 ] && [ "$(le_s32 "$W/$1.img" $((4096 + 112)))" = -1 ] && [ "$_p" -gt 0 ] &&
		[ "$_p" -lt $((HASIZE_K * 2)) ]
}
# the kernel's shrink stopped at its fixed point: RESHAPE_ACTIVE and
# NEW_OFFSET (0x44; md writes RESHAPE_BACKWARDS only when delta_disks is 0,
# a shrink is backwards by definition: md.c super_1_sync), delta_disks -1,
# reshape_position counting down from the new size by HSTOP sectors of each
# of the 3 new data members
HK_POS=$((HASIZE_K * 2 - 3 * HSTOP))
hk_at() {
	[ $(($(sbv "$1" 8 4) & 0x44)) = $((0x44)) ] && [ "$(le_s32 "$W/$1.img" $((4096 + 112)))" = -1 ] &&
		[ "$(sbv "$1" 104)" = "$HK_POS" ] ||
		{ echo "$1: feature_map $(sbv "$1" 8 4), delta_disks $(le_s32 "$W/$1.img" $((4096 + 112))), reshape_position $(sbv "$1" 104), expected 0x44 -1 $HK_POS"; return 1; }
}
hkmid() {
	kernel_at hk_at hk 6 || return 1
	echo "# hk: stopped at reshape_position $(sbv hk0 104) of $((HASIZE_K * 2)) (counting down; sync_completed $(kv "$W/kv1" hk.completed) before the stop)"
}
hkc() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --continue $(imgs_of hk 6) || { echo "mdraid grow --continue: exit $?"; return 1; }
	[ $href_ok = 1 ] || return 0
	SB_IGNORE=$HSB_IGNORE sb_cmp hk hm 6
}
if [ $shrink = 1 ]; then
	if [ $href_ok = 1 ]; then
		tap_check "$T4: mdraid grow: superblocks = mdadm + kernel's (masked)" hmz
	else
		hmz >/dev/null 2>&1 # still shrunk, for boot 2
		tap_skip "$T4: mdraid grow: superblocks = mdadm + kernel's (masked)" "no reference shrink"
	fi
	hids="hz"
	# hs: stopped after a few checkpoint steps
	mdraid_stopped mid_reshape hs 6 -n 5 --array-size=${HASIZE_K}K --mem=1M --stop-after=3 >"$W/hms.out" 2>&1 &&
		hids="$hids hs"
	kernel_stopped "$T4: a shrink the kernel started and was stopped in (reshape part-way)" hkmid hk && hk_ok=1
	if [ $hk_ok = 1 ]; then
		tap_check "$T4: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" hkc
		hids="$hids hk"
	else
		tap_skip "$T4: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
			"no stopped shrink"
	fi
fi

# --- boot 2: the kernel assembles the results -----------------------------------
# M0..M14 the conversions (t, k, u), M15 the export disk (slots of 128 MiB:
# t, k, u, t with two members gone, 4.. the size change's, 7.. the
# shrink's), M16.. the size change's results (rids: z, rs, rk as far as
# they were made), then the shrink's (hids: hz, hs, hk)
truncate -s 1280M "$W/export2.img"
mkdir -p "$W/in2"
nr=0
for id in $rids; do nr=$((nr + 1)); done
cat >"$W/body2" <<EOF
E=\$M15
RIDS="$rids"
HIDS="$hids"
H=$((16 + 4 * nr))
EOF
cat >>"$W/body2" <<'EOF'
# the conversions: their level and layout, and nothing to do at assembly
conv() {
	[ "$1" = assembled ] || return 0
	sleep 0.5
	say "$2.action" "$(cat /sys/block/md0/md/sync_action)"
	say "$2.degraded" "$(cat /sys/block/md0/md/degraded)"
	say "$2.level" "$(cat /sys/block/md0/md/level)"
	say "$2.layout" "$(cat /sys/block/md0/md/layout)"
}
assemble_each conv 0 5 "$E" 0 t k u
# t with members 1 and 3 gone: row 0 of left-symmetric-6 on 5 members has
# P on member 3, so data on member 1 is rebuilt from Q and data
mdadm --assemble --run /dev/md0 $(disks 0 2 4) >/out/t2.assemble 2>&1
say t2.assembled $?
export_dev /dev/md0 "$E" $((3 * 134217728)) | sed 's/^md0\./t2./'
mdadm --stop /dev/md0 >/dev/null 2>&1
# the size change's results: slowed down at assembly, so that a resync
# there is seen
resized() {
	case $1 in
	before) echo 1000 >/proc/sys/dev/raid/speed_limit_max ;;
	assembled)
		sleep 0.5
		say "$2.action" "$(cat /sys/block/md0/md/sync_action)"
		echo 200000 >/proc/sys/dev/raid/speed_limit_max
		;;
	idle) say "$2.size" "$(cat /sys/block/md0/md/component_size)" ;;
	esac
}
# shellcheck disable=SC2086
assemble_each resized 16 4 "$E" 4 $RIDS
# the shrink's results: raid_disks once the reshape (if any) is over
shrunk() {
	[ "$1" = idle ] && say "$2.disks" "$(cat /sys/block/md0/md/raid_disks)"
	return 0
}
# shellcheck disable=SC2086
assemble_each shrunk "$H" 6 "$E" 7 $HIDS
true
EOF
guest_script "$W/script2" "$W/body2"
rimgs2=""
for id in $rids; do rimgs2="$rimgs2 $(imgs_of "$id" 4)"; done
for id in $hids; do rimgs2="$rimgs2 $(imgs_of "$id" 6)"; done
# shellcheck disable=SC2086
boot "boot 2" "$W/kv2" "$W/err2" -t 1200 -o "$W/out2" -i "$W/in2" "$W/script2" \
	$(imgs_of t 5) $(imgs_of k 5) $(imgs_of u 5) "$W/export2.img" $rimgs2
rc2=$?

fs_ok() { # ID SLOT [LAYOUT]
	assembled_ok "$W/kv2" "$1" || return 1
	[ "$(kv "$W/kv2" "$1.level")" = raid6 ] && [ "$(kv "$W/kv2" "$1.layout")" = "${3:-18}" ] ||
		{ echo "level $(kv "$W/kv2" "$1.level") layout $(kv "$W/kv2" "$1.layout"), expected raid6 ${3:-18}"; return 1; }
	[ "$(kv "$W/kv2" "$1.degraded")" = 0 ] || { echo "degraded $(kv "$W/kv2" "$1.degraded")"; return 1; }
	[ "$(kv "$W/kv2" "$1.action")" = idle ] ||
		{ echo "sync_action at assembly: $(kv "$W/kv2" "$1.action"), expected idle"; return 1; }
	fs_back "$W/kv2" "$1" "$W/export2.img" $(($2 * 134217728))
}
q_ok() {
	assembled_ok "$W/kv2" t2 || return 1
	slice "$W/export2.img" $((3 * 134217728)) $((FS_MIB * 1048576)) | cmp - "$W/fs.img"
}
if [ $rc2 -ne 0 ]; then
	tap_fail "$T1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0" "boot 2 failed (rc $rc2)"
	tap_fail "$T1: kernel reads mdraid's result with two members missing (Q right)" "boot 2 failed"
else
	tap_check "$T1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0" fs_ok t 0
	tap_check "$T1: kernel reads mdraid's result with two members missing (Q right)" q_ok
fi
if [ $k_ok != 1 ]; then
	tap_skip "$T1: kernel assembles the finished conversion: file system intact, mismatch_cnt 0" \
		"no stopped conversion"
elif [ $rc2 -ne 0 ]; then
	tap_fail "$T1: kernel assembles the finished conversion: file system intact, mismatch_cnt 0" "boot 2 failed"
else
	tap_check "$T1: kernel assembles the finished conversion: file system intact, mismatch_cnt 0" fs_ok k 1
fi
if [ $rc2 -ne 0 ]; then
	tap_fail "$T2: kernel assembles mdraid's result: file system intact, mismatch_cnt 0" "boot 2 failed"
else
	tap_check "$T2: kernel assembles mdraid's result: file system intact, mismatch_cnt 0" fs_ok u 2 2
fi

# slot_ok ID KEY WANT SLOT0 IDS: boot 2 assembled ID, which the guest said
# KEY=WANT of, and exported it at slot SLOT0 + its place in IDS: the file
# system image byte for byte, e2fsck finds it clean, the kernel's check
# finds P/Q right
slot_ok() {
	[ $rc2 -eq 0 ] || { echo "boot 2 failed (rc $rc2)"; return 1; }
	assembled_ok "$W/kv2" "$1" || return 1
	[ "$(kv "$W/kv2" "$1.$2")" = "$3" ] || { echo "$2 $(kv "$W/kv2" "$1.$2"), expected $3"; return 1; }
	# shellcheck disable=SC2086
	fs_back "$W/kv2" "$1" "$W/export2.img" $((($4 + $(index_of "$1" $5)) * 134217728))
}
# rfs_ok ID: the size change's result ID (component size SIZE_K, slot 4 +
# its place in rids); rs resynced at assembly
rfs_ok() {
	slot_ok "$1" size $SIZE_K 4 "$rids" || return 1
	case $1 in rs) [ "$(kv "$W/kv2" rs.action)" = resync ] ||
		{ echo "sync_action at assembly: $(kv "$W/kv2" rs.action), expected resync"; return 1; } ;;
	esac
}
# hfs_ok ID: the shrink's result ID (5 raid devices, slot 7 + its place in
# hids)
hfs_ok() {
	slot_ok "$1" disks 5 7 "$hids"
}
# read_back T CHECK ORIG MID KID IDS MIDCASE MIDOUT KOK KWHY: boot 2's three
# cases of the size change and of the shrink, each judged by CHECK ID:
# mdraid's result ORIG; MID, the one mdraid was stopped in (case MIDCASE;
# when it is not in IDS, its failure is in MIDOUT); KID, the one the kernel
# was stopped in and mdraid finished (when KOK is 1, else skipped for KWHY)
read_back() {
	tap_check "$1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0" "$2" "$3"
	case " $6 " in
	*" $4 "*) tap_check "$1: $7" "$2" "$4" ;;
	*) tap_fail "$1: $7" "$(head -n 20 "$8")" ;;
	esac
	if [ "$9" = 1 ]; then
		tap_check "$1: kernel assembles the finished one: file system intact, mismatch_cnt 0" "$2" "$5"
	else
		tap_skip "$1: kernel assembles the finished one: file system intact, mismatch_cnt 0" "${10}"
	fi
}
[ $resize = 1 ] && read_back "$T3" rfs_ok z rs rk "$rids" \
	"mdraid grow --size=max stopped mid-way: the kernel finishes the resync, file system intact, mismatch_cnt 0" \
	"$W/ms.out" $rk_ok "no stopped size change"
[ $shrink = 1 ] && read_back "$T4" hfs_ok hz hs hk "$hids" \
	"mdraid grow stopped mid-way: the kernel finishes the reshape, file system intact, mismatch_cnt 0" \
	"$W/hms.out" $hk_ok "no stopped shrink"
tap_done
