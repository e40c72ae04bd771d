#!/bin/sh
# test_reshape.sh: mdraid grow --chunk and --layout (issue 24: chunk and
# layout changes at constant raid-devices, and RAID6 --layout=normalise, which
# drops the "-6" a RAID5 -> RAID6 conversion leaves) against the kernel's and
# mdadm 4.2's, all in the same two boots.
#
# Boot 1: the guest's mdadm creates each array (metadata 1.2, mdadm's default
# data offset) and the kernel resyncs it; an ext4 image made on the host
# (this repository's mdraid/ and tests/mdraid/ sources) is written onto it.
# The image is made over random bytes (lib.sh fs_image with a seed): its
# free blocks, most of it, are not zeros, so a stripe put in the wrong
# place shows in the byte-for-byte comparison.
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
# Kernel-started, forwards (c6 and l6, copy Xk): the same change started by
# mdadm --grow in boot 1 and stopped at a fixed point (guest-lib.sh's
# kstop_*: frozen at once, sync_max set to FW_STOP sectors of each member,
# let go at full speed; raid5.c reshape_request records reshape_position as
# it nears sync_max, with every stripe below it written and none above, and
# md_do_sync waits there for mdadm --stop). The host asserts the state
# (reshape_position FW_STOP x 2 = 32768 of 126976 on every member,
# RESHAPE_ACTIVE without RESHAPE_BACKWARDS; NEW_OFFSET, data_offset 2048,
# new_offset -1024 in the runs), `mdraid grow --continue` finishes it
# (superblocks = the reference's, masked) and boot 2 assembles it (file
# system byte for byte, e2fsck clean, mismatch_cnt 0). The kernel finishes
# that state too (one run, not kept in make check: copies of c6k and l6k
# assembled in boot 2 as the guest stopped them, reshape at assembly, the
# same checks passed).
# What nobody can continue is a forward change stopped WHILE it runs: with
# mdadm's minimal data_offset move (one larger chunk) kernel 6.1 writes new
# stripes past the reshape_position it records (raid5.c reshape_request
# updates the superblock only every 10 s when readpos is not ahead of
# writepos), both after a plug pull and after mdadm --stop (slowed by
# sync_speed_max): in one run (position 40960, row 20 of 512K stripes) the
# members held new rows 23 and 24 over the old data of rows 22 and 23,
# which a restart at row 20 reads (mdraid --continue then gave a file
# system differing at 23 MiB; the kernel's own restart reads the same
# places). An earlier header said no forward kernel-started change could
# be continued; that was concluded from such stops only.
# c6r (issue 24): that running stop, kept: a copy of c6 gets the same
# change in boot 1 with sync_speed_max 4000, mdadm --stop 4 s after
# mdadm --grow. `mdraid grow --continue` (which checks the rows past what a
# restart may write in both geometries, reshape.c torn_check) must either
# refuse (exit 5, the message, the members' md5 unchanged) or finish with
# the file system reading back byte for byte (mdraid read on the host);
# which one happened is printed as a "# c6r:" line. In the first run
# (16:35 UTC, load ~4.5): refused, reshape_position 0 recorded with new
# rows 2-33 of 512K written (16 MiB of each member); not finished from a
# frontier because row 1 (array MiB 1-2, zeroed inode tables) holds zeros,
# which prove nothing either way.
#
# Boot 2: the kernel assembles every reshaped array (and continues the ones
# mdraid stopped): chunk and layout as asked, the file system image reads
# back byte for byte (every
# file's md5 is then the original's; e2fsck -fn passes on the host), check
# gives mismatch_cnt 0.
#
# The backwards block (issue 24), in the same two boots, three cases
# (BW_CASES; one helper each side, bw_host on the host): bw changes 64K ->
# 512K, bl left-symmetric -> right-asymmetric, b0 64K -> 512K on metadata
# 1.0 (data_offset 0, superblock at the end: mdadm 4.2 needs no
# --backup-file when --size left room after the data), each on a RAID6 of
# 4 members created with --size=20M on 24 MiB members, so more room is left
# after the data than before it. mdadm 4.2's set_new_data_offset then moves
# data_offset UP (choose_offset) and the kernel reshapes backwards
# (RESHAPE_BACKWARDS, the position counting down); the reference case
# asserts both (data_offset up, md's reshape_direction "backwards"), so no
# case can go forwards unseen.
# Boot 1: mdadm + the kernel reshape a copy to the end (the reference), and
# another copy (Xk) is started by mdadm --grow, frozen, given sync_max =
# BW_STOP sectors of each member and let go: raid5.c records the position as
# it nears sync_max and waits there, where mdadm --stop stops it (position
# 49152 of 81920, exactly). On the host: mdraid reshapes the original
# (superblocks = the reference's, masked), a copy stopped by mdraid
# part-way (--stop-after: RESHAPE_BACKWARDS set, the position between 0 and
# the end), and `mdraid grow --continue` finishes the kernel's stopped one
# (superblocks = the reference's). Boot 2: the kernel assembles all three
# (continuing mdraid's stopped one): file system byte for byte, e2fsck
# clean, mismatch_cnt 0.
# Why not stop the kernel's reshape with mdadm --stop while it runs (slowed
# by sync_speed_max, as this block did before): kernel 6.1 leaves
# reshape_position at its last checkpoint (the start, or a 10 s one) while
# its writes have gone on below it, new rows over old rows the position
# says are still to be read. In one run (64K -> 512K, stopped after 4 s and
# after 12 s: positions 81920 and 40960) the kernel's own assembly of those
# members and mdraid --continue gave the same array, byte for byte, and
# both differed from the file system from 30 MiB (after 4 s) and 14 MiB
# (after 12 s) up: data of 2 MiB lower (the 1 MiB data_offset move of 2
# data disks). That case passed here only because the file system image
# was zeros up there.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id level create-options (commas for blanks) the-change chunk_size-after
# layout-after stop (yes: a copy reshaped by mdraid stopped mid-way, the
# kernel continues; and a copy the kernel reshaped stopped at FW_STOP,
# mdraid grow --continue finishes)
ARRAYS="c6 6 --chunk=64 --chunk=512 524288 2 yes
c6b 6 --chunk=512 --chunk=64 65536 2 -
c5 5 --chunk=64 --chunk=512 524288 2 -
l6 6 --chunk=64,--layout=left-symmetric --layout=right-asymmetric 65536 1 yes
n6 6 --chunk=64,--layout=left-symmetric-6 --layout=normalise 65536 2 -
l5 5 --chunk=64,--layout=left-symmetric --layout=right-asymmetric 65536 1 -"
MIB=32     # member size
FS_MIB=40  # the file system image (fits RAID6 on 4 x 32 MiB)
FW_STOP=16384 # where the kernel's forward reshape of Xk (stop yes) is stopped: sectors of each member

title() { echo "$1: raid$2 4 members $(echo "$3" | tr , ' ') $4"; }
subs() { # stop
	echo "mdadm + kernel reshape on a copy"
	echo "mdraid grow: superblocks = mdadm + kernel's (masked)"
	echo "kernel assembles mdraid's result: file system intact, mismatch_cnt 0"
	if [ "$1" = yes ]; then
		echo "mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0"
		echo "a reshape the kernel started and was stopped in at sync_max (position $((FW_STOP * 2)), forwards)"
		echo "mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)"
		echo "mdraid grow --continue finishes the kernel's: kernel assembles, file system intact, mismatch_cnt 0"
	fi
	[ "$2" = c6 ] && echo "a forward reshape stopped while running (mdadm --stop): mdraid grow --continue refuses (exit 5, nothing written) or gives the file system byte for byte"
}
# the backwards block's cases: id create-options (commas for blanks, with
# --size=$BW_SIZE_K added) the-change chunk_size-after layout-after; each
# has X (mdraid's), Xs (mdraid's, stopped), Xm (mdadm's reference) and Xk
# (the kernel's, stopped) members
BW_CASES="bw --chunk=64 --chunk=512 524288 2
bl --chunk=64,--layout=left-symmetric --layout=right-asymmetric 65536 1
b0 --metadata=1.0,--chunk=64 --chunk=512 524288 2"
BW_MIB=24 # backwards block: member size, and the size (KiB) given to mdadm --create
BW_SIZE_K=20480
BW_STOP=16384 # where the kernel's reshape of Xk is stopped: sectors of each member done
# bt ID CREATE-OPTIONS CHANGE: a backwards case's title
bt() { echo "$1: raid6 4 members $(echo "$2" | tr , ' ') --size=$BW_SIZE_K $3 (backwards)"; }
# bw_subs TITLE: a backwards case's sub-cases
bw_subs() {
	echo "$1: mdadm + kernel reshape on a copy, data_offset moved up"
	echo "$1: mdraid grow: superblocks = mdadm + kernel's (masked)"
	echo "$1: kernel assembles mdraid's result: file system intact, mismatch_cnt 0"
	echo "$1: mdraid grow stopped mid-way: RESHAPE_BACKWARDS, position inside"
	echo "$1: mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0"
	echo "$1: a reshape the kernel started and was stopped in (position inside)"
	echo "$1: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)"
	echo "$1: mdraid grow --continue finishes the kernel's: kernel assembles, file system intact, mismatch_cnt 0"
}
all_skip() {
	{
		echo "$ARRAYS" | while read -r id lvl co ch nch nly ks; do
			t=$(title "$id" "$lvl" "$co" "$ch")
			subs "$ks" "$id" | while read -r s; do echo "$t: $s"; done
		done
		echo "$BW_CASES" | while read -r id co ch nch nly; do
			bw_subs "$(bt "$id" "$co" "$ch")"
		done
	} >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null ||
	all_skip "no mkfs.ext4/e2fsck on the host (package e2fsprogs)"

# the file system: a file tree on ext4, made on the host
fs_image "$FS_MIB" 23999 || all_skip "mkfs.ext4 -d failed"

# --- boot 1 ------------------------------------------------------------------
seed=24000
first=0
imgs=""
mkdir -p "$W/in1"
: >"$W/in1/arrays"
while read -r id lvl co ch nch nly ks; do
	sets="$id ${id}m"
	[ "$ks" = yes ] && sets="$sets ${id}k"
	[ "$id" = c6 ] && sets="$sets ${id}r"
	for s in $sets; do
		i=0
		while [ $i -lt 4 ]; do
			mkimg "$W/$s$i.img" "${MIB}M" $seed
			seed=$((seed + 1))
			i=$((i + 1))
		done
		imgs="$imgs $(imgs_of "$s" 4)"
	done
	# members: the array at first, mdadm's copy at first+4, the kernel's
	# stopped copy (stop yes) at first+8, c6's running-stop copy (Xr) at
	# first+12
	echo "$id $lvl $co $ch $nch $nly $ks $first" >>"$W/in1/arrays"
	first=$((first + 4 * $(echo "$sets" | wc -w)))
done <<EOF
$ARRAYS
EOF
# the backwards block's members after the file system image, for each case
# X: X (the array, then mdraid's), Xm (mdadm's reference), Xk (the
# kernel's, stopped); the guest is told each case's first member and md
bwimgs=""
: >"$W/in1/bw"
bwfirst=$((first + 1))
bwmd=9
while read -r id co ch nch nly; do
	for s in "$id" "${id}m" "${id}k"; do
		i=0
		while [ $i -lt 4 ]; do
			mkimg "$W/$s$i.img" "${BW_MIB}M" $seed
			seed=$((seed + 1))
			i=$((i + 1))
		done
		bwimgs="$bwimgs $(imgs_of "$s" 4)"
	done
	echo "$id md$bwmd $bwfirst $co $ch" >>"$W/in1/bw"
	bwfirst=$((bwfirst + 12))
	bwmd=$((bwmd + 1))
done <<EOF
$BW_CASES
EOF
cat >"$W/body1" <<EOF
FS=\$M$first
FS_MIB=$FS_MIB
BW_SIZE_K=$BW_SIZE_K
BW_STOP=$BW_STOP
FW_STOP=$FW_STOP
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
	[ "$ks" = yes ] && copy_members "$first" $((first + 8)) 4
	[ "$id" = c6 ] && copy_members "$first" $((first + 12)) 4
	# mdadm + the kernel reshape the copy, to the end
	mdadm --assemble "/dev/$md" $(range $((first + 4)) 4) >>"/out/$id.create" 2>&1
	mdadm --grow "/dev/$md" "$ch" >"/out/$id.grow" 2>&1
	say "$id.grow_rc" $?
	wait_started "$md"
	say "$id.chunk" "$(cat "/sys/block/$md/md/chunk_size")"
	say "$id.layout" "$(cat "/sys/block/$md/md/layout")"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	if [ "$id" = c6 ]; then
		# Xr: the same change, slowed and stopped by mdadm --stop while
		# it runs (issue 24: the superblock may be behind what the
		# kernel wrote); before Xk, which holds the same uuid running
		mdadm --assemble "/dev/$md" $(range $((first + 12)) 4) >>"/out/$id.create" 2>&1
		echo 4000 >"/sys/block/$md/md/sync_speed_max"
		mdadm --grow "/dev/$md" "$ch" >"/out/${id}r.grow" 2>&1 </dev/null
		say "${id}r.grow_rc" $?
		sleep 4
		say "${id}r.completed" "$(cat "/sys/block/$md/md/sync_completed")"
		mdadm --stop "/dev/$md" >/dev/null 2>&1
	fi
	if [ "$ks" = yes ]; then
		# the kernel's copy: the same change, stopped at FW_STOP (the
		# fixed-point stop; waited for after the backwards block's)
		mdadm --assemble "/dev/$md" $(range $((first + 8)) 4) >>"/out/$id.create" 2>&1
		kstop_hold "$md"
		mdadm --grow "/dev/$md" "$ch" >"/out/${id}k.grow" 2>&1 </dev/null
		say "${id}k.grow_rc" $?
		kstop_freeze "$md"
		kstop_arm "$md" "${id}k" "$FW_STOP"
		echo "$md ${id}k" >>/tmp/fwk
	fi
	k=$((k + 1))
done </in/arrays
true
EOF
cat >>"$W/body1" <<'EOF'
# --- the backwards block ---
# each case: the array made and written, copied twice (Xm, Xk); Xm
# reshaped by mdadm + the kernel to the end (the reference)
while read -r id md first co ch; do
	meta=--metadata=1.2
	case $co in *--metadata=*) meta="" ;; esac
	mdadm --create "/dev/$md" --run --level=6 --raid-devices=4 $(echo "$co" | tr , ' ') \
		--size="$BW_SIZE_K" $meta --homehost=opskit $(range "$first" 4) \
		>"/out/$id.create" 2>&1 </dev/null
	say "$id.create_rc" $?
	wait_idle "$md"
	fs_write "/dev/$md"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	copy_members "$first" $((first + 4)) 4
	copy_members "$first" $((first + 8)) 4
	mdadm --assemble "/dev/$md" $(range $((first + 4)) 4) >>"/out/$id.create" 2>&1
	mdadm --grow "/dev/$md" "$ch" >"/out/$id.grow" 2>&1 </dev/null
	say "$id.grow_rc" $?
	say "$id.direction" "$(cat "/sys/block/$md/md/reshape_direction")"
	wait_started "$md"
	say "$id.chunk" "$(cat "/sys/block/$md/md/chunk_size")"
	say "$id.layout" "$(cat "/sys/block/$md/md/layout")"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
done </in/bw
# every case's Xk: the same change started by mdadm --grow and stopped at
# BW_STOP sectors of each member (guest-lib.sh's fixed-point stop: held,
# frozen, sync_max set, let go; raid5.c's reshape_request records
# reshape_position as it nears sync_max, and md_do_sync waits there for
# mdadm --stop). (Stopped by mdadm --stop while it runs instead, kernel 6.1
# is found ahead of the position it recorded: see the header.)
while read -r id md first co ch; do
	mdadm --assemble "/dev/$md" $(range $((first + 8)) 4) >>"/out/$id.create" 2>&1
	kstop_hold "$md"
	mdadm --grow "/dev/$md" "$ch" >"/out/${id}k.grow" 2>&1 </dev/null
	say "${id}k.grow_rc" $?
	kstop_freeze "$md"
done </in/bw
while read -r id md first co ch; do
	kstop_arm "$md" "${id}k" "$BW_STOP"
done </in/bw
while read -r id md first co ch; do
	kstop_wait "$md" "${id}k" "$BW_STOP"
done </in/bw
if [ -f /tmp/fwk ]; then
	while read -r md id; do
		kstop_wait "$md" "$id" "$FW_STOP"
	done </tmp/fwk
fi
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
		subs "$ks" "$id" | sed 1d >"$W/names"
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
		# the kernel's copy, stopped forwards at FW_STOP sectors of each
		# member: reshape_position FW_STOP x 2 data members, RESHAPE_ACTIVE
		# without RESHAPE_BACKWARDS, on every member
		fk_mid() {
			[ "$(kv "$W/kv1" "${id}k.grow_rc")" = 0 ] ||
				{ echo "mdadm --grow: $(head -n 3 "$W/out1/${id}k.grow")"; return 1; }
			for i in 0 1 2 3; do
				f=$(le_u "$W/${id}k$i.img" 4104 4) p=$(le_u "$W/${id}k$i.img" 4200)
				[ $((f & 0x24)) = 4 ] && [ "$p" = $((FW_STOP * 2)) ] ||
					{ echo "member $i: feature_map $f reshape_position $p: not stopped forwards at $((FW_STOP * 2)) ($(grep "^${id}k\." "$W/kv1" | tr '\n' ' '))"; return 1; }
			done
			echo "# ${id}k: stopped at reshape_position $p of $((($(le_u "$W/${id}k0.img" 4176) * 2))) (forwards, feature_map $f, data_offset $(le_u "$W/${id}k0.img" 4224) new_offset $(le_s32 "$W/${id}k0.img" 4220); sync_completed $(kv "$W/kv1" "${id}k.completed") before the stop)"
		}
		fk_cont() {
			# shellcheck disable=SC2046
			"$MDRAID" grow -q --continue $(imgs_of "${id}k" 4) ||
				{ echo "mdraid grow --continue: exit $?"; return 1; }
			fk_done=1
			sb_cmp "${id}k" "${id}m" 4
		}
		fk_done=0
		fk_ok=0
		if [ $rc1 -ne 0 ]; then
			tap_fail "$t: a reshape the kernel started and was stopped in at sync_max (position $((FW_STOP * 2)), forwards)" "boot 1 failed"
		elif fk_mid >"$W/fk.out" 2>&1; then
			tap_ok "$t: a reshape the kernel started and was stopped in at sync_max (position $((FW_STOP * 2)), forwards)"
			grep '^# ' "$W/fk.out"
			fk_ok=1
		else
			tap_fail "$t: a reshape the kernel started and was stopped in at sync_max (position $((FW_STOP * 2)), forwards)" \
				"$(head -n 30 "$W/fk.out")"
		fi
		# (in this shell, not tap_check's subshell: fk_done counts)
		if [ $fk_ok = 0 ]; then
			tap_skip "$t: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
				"no stopped reshape"
		elif fk_cont >"$W/fk.out" 2>&1; then
			tap_ok "$t: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)"
		else
			tap_fail "$t: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
				"$(head -n 30 "$W/fk.out")"
		fi
		if [ $fk_done = 1 ]; then
			imgs2="$imgs2 $(imgs_of "${id}k" 4)"
			echo "${id}k $first2 $slot" >>"$W/in2/arrays"
			first2=$((first2 + 4))
			slot=$((slot + 1))
		fi
	fi
	if [ "$id" = c6 ]; then
		# Xr (issue 24): exactly one of the two, never a shifted result
		fr() {
			[ $rc1 = 0 ] && [ "$(kv "$W/kv1" "${id}r.grow_rc")" = 0 ] ||
				{ echo "boot 1 or mdadm --grow failed: $(head -n 3 "$W/out1/${id}r.grow")"; return 1; }
			_p=$(le_u "$W/${id}r0.img" 4200)
			# shellcheck disable=SC2046
			_s0=$(cat $(imgs_of "${id}r" 4) | md5sum)
			# shellcheck disable=SC2046
			"$MDRAID" grow -q --continue $(imgs_of "${id}r" 4) >"$W/fr.err" 2>&1
			_r=$?
			case $_r in
			5)
				# shellcheck disable=SC2046
				grep -q shift "$W/fr.err" && [ "$(cat $(imgs_of "${id}r" 4) | md5sum)" = "$_s0" ] ||
					{ echo "exit 5 without the message or with members changed: $(head -c 400 "$W/fr.err")"; return 1; }
				echo "# ${id}r: refused (reshape_position $_p, sync_completed $(kv "$W/kv1" "${id}r.completed") at the stop): $(head -c 300 "$W/fr.err")" >"$W/fr.note" ;;
			0)
				# shellcheck disable=SC2046
				"$MDRAID" read --length=$((FS_MIB * 1048576)) $(imgs_of "${id}r" 4) |
					cmp - "$W/fs.img" || { echo "finished, file system differs"; return 1; }
				echo "# ${id}r: finished byte for byte (reshape_position $_p, sync_completed $(kv "$W/kv1" "${id}r.completed") at the stop): $(head -c 300 "$W/fr.err")" >"$W/fr.note" ;;
			*) echo "mdraid grow --continue: exit $_r: $(head -c 400 "$W/fr.err")"; return 1 ;;
			esac
		}
		rm -f "$W/fr.note"
		tap_check "$t: a forward reshape stopped while running (mdadm --stop): mdraid grow --continue refuses (exit 5, nothing written) or gives the file system byte for byte" fr
		[ -f "$W/fr.note" ] && cat "$W/fr.note"
	fi
done <"$W/in1/arrays"

# --- the backwards block, on the host ---
# the superblock ($bw_sb: v1.2 at 4 KiB, v1.0 8 KiB from the end rounded down
# to 4 KiB, mdadm's super1 locate): feature_map +8, reshape_position +104,
# data_offset +128
sbu() { le_u "$W/$1.img" $((bw_sb + $2)) "${3:-8}"; }
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
# the checks of one case ($id, $ch: the change), for bw_case
bw_refok() {
	[ "$(kv "$W/kv1" "$id.create_rc")" = 0 ] && [ "$(kv "$W/kv1" "$id.grow_rc")" = 0 ] ||
		{ echo "mdadm: $(cat "$W/out1/$id.create" "$W/out1/$id.grow" 2>/dev/null | head -n 8)"; return 1; }
	[ "$(kv "$W/kv1" "$id.chunk")" = "$nch" ] && [ "$(kv "$W/kv1" "$id.layout")" = "$nly" ] ||
		{ echo "chunk_size $(kv "$W/kv1" "$id.chunk") layout $(kv "$W/kv1" "$id.layout"), expected $nch $nly"; return 1; }
	# backwards, not forwards: md was told so, and data_offset moved up
	[ "$(kv "$W/kv1" "$id.direction")" = backwards ] ||
		{ echo "reshape_direction $(kv "$W/kv1" "$id.direction"), expected backwards"; return 1; }
	[ "$(sbu "${id}m0" 128)" -gt "$(sbu "${id}0" 128)" ] ||
		{ echo "data_offset $(sbu "${id}0" 128) -> $(sbu "${id}m0" 128): not up"; return 1; }
}
bwg() {
	[ "$bwg_rc" = 0 ] || { echo "mdraid grow: exit $bwg_rc: $(head -n 3 "$W/bwg.out")"; return 1; }
	[ "$bw_ref" = 1 ] || { echo "no reference"; return 1; }
	sb_cmp "$id" "${id}m" 4 "$bw_sb"
}
bws_mid() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q "$ch" --stop-after=4 $(imgs_of "${id}s" 4)
	r=$?
	[ $r = 1 ] || { echo "mdraid grow --stop-after: exit $r, expected 1 (stopped)"; return 1; }
	f=$(sbu "${id}s0" 8 4) p=$(sbu "${id}s0" 104)
	[ $((f & 4)) != 0 ] && [ $((f & 32)) != 0 ] ||
		{ echo "feature_map $f: expected RESHAPE_ACTIVE (4) and RESHAPE_BACKWARDS (32)"; return 1; }
	# above 0, below the start: size x 2 data disks (sectors)
	[ "$p" -gt 0 ] && [ "$p" -lt $((BW_SIZE_K * 4)) ] || { echo "reshape_position $p"; return 1; }
}
bwk_mid() {
	[ "$(kv "$W/kv1" "${id}k.grow_rc")" = 0 ] ||
		{ echo "mdadm --grow: $(head -n 3 "$W/out1/${id}k.grow")"; return 1; }
	f=$(sbu "${id}k0" 8 4) p=$(sbu "${id}k0" 104)
	# backwards from the end (2 data disks): at sync_max, the position is
	# the end less BW_STOP sectors of each data disk
	[ $((f & 4)) != 0 ] && [ $((f & 32)) != 0 ] && [ "$p" = $(((BW_SIZE_K * 2 - BW_STOP) * 2)) ] ||
		{ echo "feature_map $f reshape_position $p: not stopped backwards at $(((BW_SIZE_K * 2 - BW_STOP) * 2)) ($(grep "^${id}k\." "$W/kv1" | tr '\n' ' '))"; return 1; }
	echo "# ${id}k: stopped at reshape_position $p of $((BW_SIZE_K * 4)) (counting down; sync_completed $(kv "$W/kv1" "${id}k.completed") before the stop)"
}
bwk_cont() {
	# shellcheck disable=SC2046
	"$MDRAID" grow -q --continue $(imgs_of "${id}k" 4) || { echo "mdraid grow --continue: exit $?"; return 1; }
	bwk_done=1
	[ "$bw_ref" = 1 ] || { echo "no reference"; return 1; }
	sb_cmp "${id}k" "${id}m" 4 "$bw_sb"
}
# bw_host ID CREATE-OPTIONS CHANGE CHUNK-AFTER LAYOUT-AFTER: one backwards
# case's host side; the members it leaves for boot 2 go into $bw_ids
bw_host() {
	id=$1 co=$2 ch=$3 nch=$4 nly=$5
	BT=$(bt "$id" "$co" "$ch")
	bw_sb=4096
	case $co in *--metadata=1.0*) bw_sb=$((((BW_MIB * 2048 - 16) / 8 * 8) * 512)) ;; esac
	bw_ref=0
	if [ $rc1 -ne 0 ]; then
		tap_fail "$BT: mdadm + kernel reshape on a copy, data_offset moved up" "boot 1 failed"
	elif bw_case "$BT: mdadm + kernel reshape on a copy, data_offset moved up" bw_refok; then
		echo "# $id: data_offset $(sbu "${id}0" 128) -> $(sbu "${id}m0" 128), reshape_direction $(kv "$W/kv1" "$id.direction")"
		bw_ref=1
	fi
	if [ $rc1 -ne 0 ] || [ "$(kv "$W/kv1" "$id.create_rc")" != 0 ]; then
		skip_each "no array made" <<EOF
$BT: mdraid grow: superblocks = mdadm + kernel's (masked)
$BT: mdraid grow stopped mid-way: RESHAPE_BACKWARDS, position inside
EOF
	else
		for i in 0 1 2 3; do cp "$W/$id$i.img" "$W/${id}s$i.img"; done
		# shellcheck disable=SC2046
		"$MDRAID" grow -q "$ch" $(imgs_of "$id" 4) >"$W/bwg.out" 2>&1
		bwg_rc=$?
		# mdraid's result goes to boot 2 even without a reference to compare with
		[ $bwg_rc = 0 ] && bw_ids="$bw_ids $id"
		bw_case "$BT: mdraid grow: superblocks = mdadm + kernel's (masked)" bwg
		bw_case "$BT: mdraid grow stopped mid-way: RESHAPE_BACKWARDS, position inside" bws_mid &&
			bw_ids="$bw_ids ${id}s"
	fi
	bwk_done=0
	if [ $rc1 -ne 0 ]; then
		skip_each "boot 1 failed" <<EOF
$BT: a reshape the kernel started and was stopped in (position inside)
$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)
EOF
	elif bw_case "$BT: a reshape the kernel started and was stopped in (position inside)" bwk_mid; then
		grep '^# ' "$W/bw.out"
		bw_case "$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" bwk_cont
		[ $bwk_done = 1 ] && bw_ids="$bw_ids ${id}k"
	else
		tap_skip "$BT: mdraid grow --continue finishes the kernel's: superblocks = mdadm + kernel's (masked)" \
			"no stopped reshape"
	fi
}
bw_ids=""
while read -r id co ch nch nly; do
	bw_host "$id" "$co" "$ch" "$nch" "$nly"
done <<EOF
$BW_CASES
EOF
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
# before it is seen, and "continued at assembly" would read idle. Only the
# arrays mdraid stopped (ids ending in s) are looked at, for up to 1 s
# while md's thread starts the reshape; the others are finished ones (a
# fixed half second each was 10 s of the boot)
lim=$(cat /proc/sys/dev/raid/speed_limit_max)
while read -r id first slot; do
	md=md$k
	echo 1000 >/proc/sys/dev/raid/speed_limit_max
	mdadm --assemble "/dev/$md" $(range "$first" 4) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	case $id in *s)
		n=0
		while [ $n -lt 10 ] && [ "$(cat "/sys/block/$md/md/sync_action")" = idle ]; do
			sleep 0.1
			n=$((n + 1))
		done
		;;
	esac
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
# boot2_case TITLE ID V CHUNK LAYOUT: boot 2's case for array V of case ID
# (V = ID: mdraid's result; IDs: mdraid's stopped one the kernel continued;
# IDk: the kernel's stopped one mdraid finished), read back by fs_ok
boot2_case() {
	case $3 in
	"$2") _bc_n="kernel assembles mdraid's result: file system intact, mismatch_cnt 0" ;;
	*s) _bc_n="mdraid grow stopped mid-way: the kernel continues it, file system intact, mismatch_cnt 0" ;;
	*k) _bc_n="mdraid grow --continue finishes the kernel's: kernel assembles, file system intact, mismatch_cnt 0" ;;
	esac
	_bc_s=$(awk -v i="$3" '$1 == i { print $3 }' "$W/in2/arrays")
	if [ -z "$_bc_s" ]; then
		tap_fail "$1: $_bc_n" "not reshaped on the host"
	elif [ $rc2 -ne 0 ]; then
		tap_fail "$1: $_bc_n" "boot 2 failed (rc $rc2)"
	else
		tap_check "$1: $_bc_n" fs_ok "$3" "$_bc_s" "$4" "$5"
	fi
}
while read -r id lvl co ch nch nly ks first; do
	t=$(title "$id" "$lvl" "$co" "$ch")
	for v in "$id" "${id}s" "${id}k"; do
		[ "$v" = "$id" ] || [ "$ks" = yes ] || continue
		boot2_case "$t" "$id" "$v" "$nch" "$nly"
	done
done <"$W/in1/arrays"
while read -r id co ch nch nly; do
	BT=$(bt "$id" "$co" "$ch")
	for v in "$id" "${id}s" "${id}k"; do
		boot2_case "$BT" "$id" "$v" "$nch" "$nly"
	done
done <<EOF
$BW_CASES
EOF
tap_done
