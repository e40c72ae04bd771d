#!/bin/sh
# test_reshape.sh: mdraid grow --chunk and --layout (issue 24: chunk and
# layout changes at constant raid-devices, and RAID6 --layout=normalise, which
# drops the "-6" a RAID5 -> RAID6 conversion leaves) against the kernel's and
# mdadm 4.2's, all in the same two boots.
#
# Boot 1: the guest's mdadm creates each array (metadata 1.2, mdadm's default
# data offset) and the kernel resyncs it; an ext4 image made on the host
# (this repository's mdraid/ and tests/mdraid/ sources) is written onto it.
# Copies of the members are made in the guest; on one copy mdadm --grow
# --chunk (--layout) runs to the end (the kernel's reshape, data_offset moved:
# the reference superblocks).
#
# On the host: mdraid grow --chunk (--layout) reshapes the originals; each member's
# superblock equals (masked: uuids, times, events, checksum, the stale
# reshape_position) the one mdadm + the kernel left on the copy; for the
# RAID6 64K -> 512K and left-symmetric -> right-asymmetric arrays a copy of
# the original is reshaped by mdraid stopped mid-way (--stop-after) for the
# kernel to continue.
#
# Not tested: a chunk (or layout) change the kernel started and was stopped
# in, finished by mdraid. Kernel 6.1 does not leave a state anyone can continue: with
# mdadm's minimal data_offset move (one larger chunk) it writes new stripes
# past the reshape_position it records (raid5.c reshape_request updates the
# superblock only every 10 s when readpos is not ahead of writepos), both
# after a plug pull and after mdadm --stop: in one run (position 40960, row
# 20 of 512K stripes) the members held new rows 23 and 24 over the old data
# of rows 22 and 23, which a restart at row 20 reads (mdraid --continue then
# gave a file system differing at 23 MiB; the kernel's own restart reads the
# same places).
#
# Boot 2: the kernel assembles every reshaped array (and continues the one
# mdraid stopped): chunk and layout as asked, the file system image reads
# back byte for byte (every
# file's md5 is then the original's; e2fsck -fn passes on the host), check
# gives mismatch_cnt 0.
#
# The backwards block (issue 24), in the same two boots: a RAID6 of 4 members
# created with --size=20M on 24 MiB members, so more room is left after the
# data than before it, and changed 64K -> 512K. mdadm 4.2's
# set_new_data_offset then moves data_offset UP (choose_offset) and the
# kernel reshapes backwards (RESHAPE_BACKWARDS, the position counting down).
# Boot 1: mdadm + the kernel reshape a copy to the end (the reference: its
# data_offset must have moved up), and another copy slowed down
# (sync_speed_max) and stopped by mdadm --stop part-way. On the host: mdraid
# reshapes the original (superblocks = the reference's, masked), a copy
# stopped by mdraid part-way (--stop-after: RESHAPE_BACKWARDS set, the
# position between 0 and the end), and `mdraid grow --continue` finishes the
# kernel's stopped one (superblocks = the reference's). Boot 2: the kernel
# assembles all three (continuing mdraid's stopped one): file system byte
# for byte, e2fsck clean, mismatch_cnt 0.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id level create-options (commas for blanks) the-change chunk_size-after
# layout-after stop (yes: a copy reshaped by mdraid stopped mid-way, the
# kernel continues)
ARRAYS="c6 6 --chunk=64 --chunk=512 524288 2 yes
c6b 6 --chunk=512 --chunk=64 65536 2 -
c5 5 --chunk=64 --chunk=512 524288 2 -
l6 6 --chunk=64,--layout=left-symmetric --layout=right-asymmetric 65536 1 yes
n6 6 --chunk=64,--layout=left-symmetric-6 --layout=normalise 65536 2 -
l5 5 --chunk=64,--layout=left-symmetric --layout=right-asymmetric 65536 1 -"
MIB=32     # member size
FS_MIB=40  # the file system image (fits RAID6 on 4 x 32 MiB)

title() { echo "$1: raid$2 4 members $(echo "$3" | tr , ' ') $4"; }
subs() { # stop
	echo "mdadm + kernel reshape on a copy"
	echo "mdraid grow: superblocks = mdadm + kernel's (masked)"
	echo "kernel assembles mdraid's result: file system intact, mismatch_cnt 0"
	if [ "$1" = yes ]; then
		echo "mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0"
	fi
}
# the backwards block's cases
BW_MIB=24 # backwards block: member size, and the size (KiB) given to mdadm --create
BW_SIZE_K=20480
BT="bw: raid6 4 members --chunk=64 --size=$BW_SIZE_K --chunk=512 (backwards)"
bw_subs() {
	echo "$BT: mdadm + kernel reshape on a copy, data_offset moved up"
	echo "$BT: mdraid grow: superblocks = mdadm + kernel's (masked)"
	echo "$BT: kernel assembles mdraid's result: file system intact, mismatch_cnt 0"
	echo "$BT: mdraid grow stopped mid-way: RESHAPE_BACKWARDS, position inside"
	echo "$BT: mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0"
	echo "$BT: a reshape the kernel started and was stopped in (position inside)"
	echo "$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)"
	echo "$BT: mdraid grow --continue finishes the kernel's: kernel assembles, file system intact, mismatch_cnt 0"
}
all_skip() {
	{
		echo "$ARRAYS" | while read -r id lvl co ch nch nly ks; do
			t=$(title "$id" "$lvl" "$co" "$ch")
			subs "$ks" | while read -r s; do echo "$t: $s"; done
		done
		bw_subs
	} >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null ||
	all_skip "no mkfs.ext4/e2fsck on the host (package e2fsprogs)"

# the file system: a file tree on ext4, made on the host
fs_image "$FS_MIB" || all_skip "mkfs.ext4 -d failed"

# --- boot 1 ------------------------------------------------------------------
seed=24000
first=0
imgs=""
mkdir -p "$W/in1"
: >"$W/in1/arrays"
while read -r id lvl co ch nch nly ks; do
	sets="$id ${id}m"
	for s in $sets; do
		i=0
		while [ $i -lt 4 ]; do
			mkimg "$W/$s$i.img" "${MIB}M" $seed
			seed=$((seed + 1))
			i=$((i + 1))
		done
		imgs="$imgs $(imgs_of "$s" 4)"
	done
	# members: the array at first, mdadm's copy at first+4
	echo "$id $lvl $co $ch $nch $nly $ks $first" >>"$W/in1/arrays"
	first=$((first + 8))
done <<EOF
$ARRAYS
EOF
# the backwards block's members after the file system image: bw (mdraid's),
# bwm (mdadm's reference), bwk (the kernel's, stopped)
bwimgs=""
for s in bw bwm bwk; do
	i=0
	while [ $i -lt 4 ]; do
		mkimg "$W/$s$i.img" "${BW_MIB}M" $seed
		seed=$((seed + 1))
		i=$((i + 1))
	done
	bwimgs="$bwimgs $(imgs_of "$s" 4)"
done
cat >"$W/body1" <<EOF
FS=\$M$first
FS_MIB=$FS_MIB
BW=$((first + 1))
BW_SIZE_K=$BW_SIZE_K
EOF
cat >>"$W/body1" <<'EOF'
k=0
while read -r id lvl co ch nch nly ks first; do
	md=md$k
	mdadm --create "/dev/$md" --run --level="$lvl" --raid-devices=4 $(echo "$co" | tr , ' ') \
		--metadata=1.2 --homehost=opskit $(range "$first" 4) >"/out/$id.create" 2>&1
	say "$id.create_rc" $?
	wait_idle "$md"
	fs_write "/dev/$md"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	copy_members "$first" $((first + 4)) 4
	# mdadm + the kernel reshape the copy, to the end
	mdadm --assemble "/dev/$md" $(range $((first + 4)) 4) >>"/out/$id.create" 2>&1
	mdadm --grow "/dev/$md" "$ch" >"/out/$id.grow" 2>&1
	say "$id.grow_rc" $?
	wait_started "$md"
	say "$id.chunk" "$(cat "/sys/block/$md/md/chunk_size")"
	say "$id.layout" "$(cat "/sys/block/$md/md/layout")"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	k=$((k + 1))
done </in/arrays
true
EOF
cat >>"$W/body1" <<'EOF'
# --- the backwards block ---
md=md9
mdadm --create /dev/$md --run --level=6 --raid-devices=4 --chunk=64 --size="$BW_SIZE_K" \
	--metadata=1.2 --homehost=opskit $(range "$BW" 4) >/out/bw.create 2>&1
say bw.create_rc $?
wait_idle $md
fs_write /dev/$md
mdadm --stop /dev/$md >/dev/null 2>&1
copy_members "$BW" $((BW + 4)) 4
copy_members "$BW" $((BW + 8)) 4
# bwm: mdadm + the kernel, to the end
mdadm --assemble /dev/$md $(range $((BW + 4)) 4) >>/out/bw.create 2>&1
mdadm --grow /dev/$md --chunk=512 >/out/bw.grow 2>&1
say bw.grow_rc $?
say bw.direction "$(cat /sys/block/$md/md/reshape_direction)"
wait_started $md
say bw.chunk "$(cat /sys/block/$md/md/chunk_size)"
mdadm --stop /dev/$md >/dev/null 2>&1
# bwk: slowed down and stopped part-way
mdadm --assemble /dev/$md $(range $((BW + 8)) 4) >>/out/bw.create 2>&1
echo 500 >/sys/block/$md/md/sync_speed_max
mdadm --grow /dev/$md --chunk=512 >/out/bwk.grow 2>&1
say bwk.grow_rc $?
sleep 4
say bwk.action "$(cat /sys/block/$md/md/sync_action)"
mdadm --stop /dev/$md >/dev/null 2>&1
true
EOF
guest_script "$W/script1" "$W/body1"
# shellcheck disable=SC2086
boot "boot 1" "$W/kv1" "$W/err1" -t 900 -o "$W/out1" -i "$W/in1" "$W/script1" $imgs "$W/fs.img" $bwimgs
rc1=$?

# the stale reshape_position: once the reshape is over (feature_map,
# compared, says so on both) that field is the kernel's last 10 s checkpoint
# (0 in one run, 96256 in another)
SB_IGNORE="$SB_IGNORE reshape_position"

mkdir -p "$W/in2"
: >"$W/in2/arrays"
imgs2=""
first2=0
slot=0
while read -r id lvl co ch nch nly ks first; do
	t=$(title "$id" "$lvl" "$co" "$ch")
	if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" "$id.create_rc")" != 0 ] ||
		[ "$(kv "$W/kv1" "$id.grow_rc")" != 0 ] ||
		[ "$(kv "$W/kv1" "$id.chunk")" != "$nch" ] || [ "$(kv "$W/kv1" "$id.layout")" != "$nly" ]; then
		tap_fail "$t: mdadm + kernel reshape on a copy" \
			"$(grep "^$id\." "$W/kv1"; cat "$W/out1/$id.create" "$W/out1/$id.grow" 2>/dev/null | head -n 8)"
		subs "$ks" | sed 1d >"$W/names"
		skip_each "no reference reshape" <"$W/names"
		continue
	fi
	tap_ok "$t: mdadm + kernel reshape on a copy"
	# a copy for the kernel to continue after mdraid stopped
	[ "$ks" = yes ] && for i in 0 1 2 3; do cp "$W/$id$i.img" "$W/${id}s$i.img"; done
	mg() {
		# shellcheck disable=SC2046
		"$MDRAID" grow -q "$ch" $(imgs_of "$id" 4) || { echo "mdraid grow: exit $?"; return 1; }
		sb_cmp "$id" "${id}m" 4
	}
	tap_check "$t: mdraid grow: superblocks = mdadm + kernel's (masked)" mg
	imgs2="$imgs2 $(imgs_of "$id" 4)"
	echo "$id $first2 $slot" >>"$W/in2/arrays"
	first2=$((first2 + 4))
	slot=$((slot + 1))
	if [ "$ks" = yes ]; then
		ms() {
			# shellcheck disable=SC2046
			"$MDRAID" grow -q "$ch" --stop-after=4 $(imgs_of "${id}s" 4)
			r=$?
			[ $r = 1 ] || { echo "mdraid grow --stop-after: exit $r, expected 1 (stopped)"; return 1; }
			mdadm --examine "$W/${id}s0.img" | grep -q "Reshape pos'n : [1-9]" ||
				{ echo "not mid-reshape"; return 1; }
		}
		if ms >"$W/ms.out" 2>&1; then
			imgs2="$imgs2 $(imgs_of "${id}s" 4)"
			echo "${id}s $first2 $slot" >>"$W/in2/arrays"
			first2=$((first2 + 4))
			slot=$((slot + 1))
		else
			echo "# ${id}s: $(head -n 3 "$W/ms.out")"
		fi
	fi
done <"$W/in1/arrays"

# --- the backwards block, on the host ---
# v1.2 superblock at 4 KiB: feature_map +8, reshape_position +104, data_offset +128
sbu() { le_u "$W/$1.img" $((4096 + $2)) "${3:-8}"; }
bw_ref=0
if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" bw.create_rc)" != 0 ] || [ "$(kv "$W/kv1" bw.grow_rc)" != 0 ] ||
	[ "$(kv "$W/kv1" bw.chunk)" != 524288 ]; then
	tap_fail "$BT: mdadm + kernel reshape on a copy, data_offset moved up" \
		"$(grep '^bw' "$W/kv1"; cat "$W/out1/bw.create" "$W/out1/bw.grow" 2>/dev/null | head -n 8)"
elif [ "$(sbu bwm0 128)" -le "$(sbu bw0 128)" ]; then
	tap_fail "$BT: mdadm + kernel reshape on a copy, data_offset moved up" \
		"data_offset $(sbu bw0 128) -> $(sbu bwm0 128) (direction $(kv "$W/kv1" bw.direction))"
else
	tap_ok "$BT: mdadm + kernel reshape on a copy, data_offset moved up"
	echo "# bw: data_offset $(sbu bw0 128) -> $(sbu bwm0 128), reshape_direction $(kv "$W/kv1" bw.direction)"
	bw_ref=1
fi
bw_ids=""
# bw_case NAME CMD...: tap_check's, and true when CMD succeeded
bw_case() {
	_bn=$1
	shift
	if "$@" >"$W/bw.out" 2>&1; then
		tap_ok "$_bn"
	else
		tap_fail "$_bn" "$(head -n 30 "$W/bw.out")"
		return 1
	fi
}
bwg() {
	[ "$bwg_rc" = 0 ] || { echo "mdraid grow: exit $bwg_rc: $(head -n 3 "$W/bwg.out")"; return 1; }
	[ $bw_ref = 1 ] || { echo "no reference"; return 1; }
	sb_cmp bw bwm 4
}
bws_mid() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --chunk=512 --stop-after=4 $(imgs_of bws 4)
	r=$?
	[ $r = 1 ] || { echo "mdraid grow --stop-after: exit $r, expected 1 (stopped)"; return 1; }
	f=$(sbu bws0 8 4) p=$(sbu bws0 104)
	[ $((f & 4)) != 0 ] && [ $((f & 32)) != 0 ] ||
		{ echo "feature_map $f: expected RESHAPE_ACTIVE (4) and RESHAPE_BACKWARDS (32)"; return 1; }
	# above 0, below the start: size x 2 data disks (sectors)
	[ "$p" -gt 0 ] && [ "$p" -lt $((BW_SIZE_K * 4)) ] || { echo "reshape_position $p"; return 1; }
}
if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" bw.create_rc)" != 0 ]; then
	skip_each "no array made" <<EOF
$BT: mdraid grow: superblocks = mdadm + kernel's (masked)
$BT: mdraid grow stopped mid-way: RESHAPE_BACKWARDS, position inside
EOF
else
	for i in 0 1 2 3; do cp "$W/bw$i.img" "$W/bws$i.img"; done
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --chunk=512 $(imgs_of bw 4) >"$W/bwg.out" 2>&1
	bwg_rc=$?
	# mdraid's result goes to boot 2 even without a reference to compare with
	[ $bwg_rc = 0 ] && bw_ids="bw"
	bw_case "$BT: mdraid grow: superblocks = mdadm + kernel's (masked)" bwg
	bw_case "$BT: mdraid grow stopped mid-way: RESHAPE_BACKWARDS, position inside" bws_mid &&
		bw_ids="$bw_ids bws"
fi
bwk_mid() {
	[ "$(kv "$W/kv1" bwk.grow_rc)" = 0 ] || { echo "mdadm --grow: $(head -n 3 "$W/out1/bwk.grow")"; return 1; }
	f=$(sbu bwk0 8 4) p=$(sbu bwk0 104)
	[ $((f & 4)) != 0 ] && [ $((f & 32)) != 0 ] && [ "$p" -gt 0 ] ||
		{ echo "feature_map $f reshape_position $p: not stopped part-way backwards (action $(kv "$W/kv1" bwk.action))"; return 1; }
}
bwk_cont() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --continue $(imgs_of bwk 4) || { echo "mdraid grow --continue: exit $?"; return 1; }
	bwk_done=1
	[ $bw_ref = 1 ] || { echo "no reference"; return 1; }
	sb_cmp bwk bwm 4
}
bwk_done=0
if [ $rc1 -ne 0 ]; then
	skip_each "boot 1 failed" <<EOF
$BT: a reshape the kernel started and was stopped in (position inside)
$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)
EOF
elif bw_case "$BT: a reshape the kernel started and was stopped in (position inside)" bwk_mid; then
	bw_case "$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" bwk_cont
	[ $bwk_done = 1 ] && bw_ids="$bw_ids bwk"
else
	tap_skip "$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
		"no stopped reshape"
fi
for v in $bw_ids; do
	imgs2="$imgs2 $(imgs_of "$v" 4)"
	echo "$v $first2 $slot" >>"$W/in2/arrays"
	first2=$((first2 + 4))
	slot=$((slot + 1))
done

# --- boot 2: the kernel assembles every result ---------------------------------
truncate -s $((slot * 128))M "$W/export2.img"
cat >"$W/body2" <<EOF
E=\$M$first2
EOF
cat >>"$W/body2" <<'EOF'
k=0
# md's speed held at 1 MB/s from assembly until sync_action is read: a
# small stopped reshape (the backwards block's 20 MiB) could otherwise end
# within the half second, and "continued at assembly" would read idle
lim=$(cat /proc/sys/dev/raid/speed_limit_max)
while read -r id first slot; do
	md=md$k
	echo 1000 >/proc/sys/dev/raid/speed_limit_max
	mdadm --assemble "/dev/$md" $(range "$first" 4) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	sleep 0.5
	say "$id.action" "$(cat "/sys/block/$md/md/sync_action")"
	echo "$lim" >/proc/sys/dev/raid/speed_limit_max
	wait_idle "$md"
	say "$id.chunk" "$(cat "/sys/block/$md/md/chunk_size")"
	say "$id.layout" "$(cat "/sys/block/$md/md/layout")"
	export_check "$md" "$id" "$E" $((slot * 134217728))
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	k=$((k + 1))
done </in/arrays
true
EOF
guest_script "$W/script2" "$W/body2"
# shellcheck disable=SC2086
boot "boot 2" "$W/kv2" "$W/err2" -t 600 -o "$W/out2" -i "$W/in2" "$W/script2" $imgs2 "$W/export2.img"
rc2=$?

# fs_ok ID SLOT: the exported array holds the file system image byte for byte
# and e2fsck finds it clean
fs_ok() {
	[ "$(kv "$W/kv2" "$1.assembled")" = 0 ] || { echo "assemble: $(head -n 3 "$W/out2/$1.assemble")"; return 1; }
	slice "$W/export2.img" $(($2 * 134217728)) $((FS_MIB * 1048576)) >"$W/got.img"
	cmp "$W/got.img" "$W/fs.img" || return 1
	e2fsck -fn "$W/got.img" >"$W/fsck.out" 2>&1 || { head -n 5 "$W/fsck.out"; return 1; }
	[ "$(kv "$W/kv2" "$1.mismatch")" = 0 ] || { echo "mismatch_cnt $(kv "$W/kv2" "$1.mismatch")"; return 1; }
	[ "$(kv "$W/kv2" "$1.chunk")" = "$3" ] || { echo "chunk_size $(kv "$W/kv2" "$1.chunk"), expected $3"; return 1; }
	[ "$(kv "$W/kv2" "$1.layout")" = "$4" ] || { echo "layout $(kv "$W/kv2" "$1.layout"), expected $4"; return 1; }
	# the reshape mdraid stopped: the kernel continued it at assembly
	case $1 in *s) [ "$(kv "$W/kv2" "$1.action")" = reshape ] ||
		{ echo "sync_action at assembly: $(kv "$W/kv2" "$1.action"), expected reshape"; return 1; } ;;
	esac
}
while read -r id lvl co ch nch nly ks first; do
	t=$(title "$id" "$lvl" "$co" "$ch")
	for v in "$id" "${id}s"; do
		case $v in
		"$id") name="kernel assembles mdraid's result: file system intact, mismatch_cnt 0" ;;
		*s) name="mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0" ;;
		esac
		[ "$v" = "$id" ] || [ "$ks" = yes ] || continue
		s=$(awk -v i="$v" '$1 == i { print $3 }' "$W/in2/arrays")
		if [ -z "$s" ]; then
			tap_fail "$t: $name" "not reshaped on the host"
		elif [ $rc2 -ne 0 ]; then
			tap_fail "$t: $name" "boot 2 failed (rc $rc2)"
		else
			tap_check "$t: $name" fs_ok "$v" "$s" "$nch" "$nly"
		fi
	done
done <"$W/in1/arrays"
for v in bw bws bwk; do
	case $v in
	bw) name="kernel assembles mdraid's result: file system intact, mismatch_cnt 0" ;;
	bws) name="mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0" ;;
	bwk) name="mdraid grow --continue finishes the kernel's: kernel assembles, file system intact, mismatch_cnt 0" ;;
	esac
	s=$(awk -v i="$v" '$1 == i { print $3 }' "$W/in2/arrays")
	if [ -z "$s" ]; then
		tap_fail "$BT: $name" "not reshaped on the host"
	elif [ $rc2 -ne 0 ]; then
		tap_fail "$BT: $name" "boot 2 failed (rc $rc2)"
	else
		tap_check "$BT: $name" fs_ok "$v" "$s" 524288 2
	fi
done
tap_done
