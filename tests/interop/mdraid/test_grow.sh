#!/bin/sh
# test_grow.sh: mdraid grow against the kernel's reshape (issue 5).
#
# Boot 1 (needs no mdraid grow): mdadm in the guest grows a RAID6 4->5 and a
# RAID5 3->4 (moving data_offset, mdadm's default with head-room) and a RAID6
# 4->5 with --backup-file, throttled with speed_limit_max, and the plug is
# pulled once a reshape_position is on disk. Checked on the host: the members
# are mid-reshape (RESHAPE_ACTIVE, NEW_OFFSET only for the first two,
# 0 < reshape_position < end); mdraid examine equals mdadm
# --examine on them (mdadm on the host: the guest's view would race with the
# running reshape); `mdraid grow --continue` finishes the reshape.
#
# On the host (needs mdraid grow): arrays mdraid created and wrote (shadow
# file) are grown 4->5, 4->6, 5->8 and RAID5 3->4, chunks 64K and 512K, by each
# placement: moving data_offset (v1.2 with head-room), --backup-file, and the
# backup on a new member (v1.0, no head-room); mdraid read after the grow
# equals the shadow. One grow is stopped mid-way (SIGTERM once a
# reshape_position is on disk; mdraid stops at its next checkpoint) for the
# kernel to continue.
#
# Boot 2 (when anything was grown): the kernel assembles each grown array
# with the new size ((N-2)·size, RAID5 (N-1)·size), the old content
# unchanged, and check gives mismatch_cnt 0; the grow mdraid stopped is
# continued by the kernel (dmesg: "md: reshape of RAID array mdN" at
# assembly) to the same result.
#
# Why the plug pull is a sound stop here, where test_reshape.sh's chunk and
# layout changes need a fixed point (guest-lib.sh kstop_*): a grow reads
# ahead of where it writes (more data members, data_offset moving down, or
# mdadm's backup of the critical section), so raid5.c reshape_request
# records reshape_position before every write a restart from it would
# need to read, wherever the plug is pulled. And a state where it had not
# would show: what is compared after `--continue` is the whole old array,
# random from end to end (the members are randfill's bytes the resync
# keeps, with data.img written over the first 6 MiB): in one run the four
# exports held 0.39% zero bytes (1/256) and were pulled at reshape
# positions 12480, 9216, 8448 and 8448 KiB of their 60-63 MiB.
#
# Metadata 0.90 (issue 11) rides along in each part: the kernel grows a 0.90
# array with mdadm --backup-file (minor version 91 on disk when the plug is
# pulled; mdraid finishes it); mdraid grows 0.90 arrays with the backup in a
# file and on the new members (RAID6 4->5, 4->6, RAID5 3->4), and one 0.90
# grow stopped by SIGTERM is continued by the kernel.
#
# Cut inside the critical section (crit: mdraid grow --backup-file
# --simulate-crash=critical: the data of the first stripes already re-laid,
# the superblocks still at reshape_position 0, the backup valid): the kernel
# alone refuses such an array ("reshape_position too early"); the guest's
# mdadm --assemble --backup-file=F restores the section from mdraid's backup
# file (mdadm's Grow_restart reads it) and the kernel finishes the grow.
# For metadata 1.2 and for 0.90, the classic case of mdadm 2.x arrays.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# kernel-started reshapes: id level old new chunk_KiB metadata member_MiB method
# method: offset (mdadm moves data_offset) or file (mdadm --backup-file; the
# reshape runs past the critical section before the plug is pulled)
KARRAYS="ka 6 4 5 64 1.2 32 offset
kb 5 3 4 512 1.2 32 offset
kc 6 4 5 64 1.2 32 file
k9 6 4 5 64 0.90 32 file"
# mdraid grows: id level old new chunk_KiB metadata member_MiB placement stop
# stop: "term" sends SIGTERM once a reshape_position is on disk; "crit" cuts
# the grow inside the critical section (needs placement file)
# bitmap (optional): internal = created with an internal write-intent bitmap,
# which the grow keeps; the kernel must assemble with it and must not find it
# out of date ("bitmap file is out of date ... forcing full recovery")
# layout (optional): the layout to create with (default left-symmetric); the
# "-6" layouts are what a RAID5 -> RAID6 conversion leaves
# placement: offset (move data_offset), file (--backup-file), member (backup
# on a new member; v1.0 has no head-room)
GARRAYS="g45o 6 4 5 64 1.2 16 offset -
g46f 6 4 6 512 1.2 16 file -
g58m 6 5 8 64 1.0 16 member -
g45m 6 4 5 512 1.0 16 member -
g58o 6 5 8 512 1.2 16 offset -
g45f 6 4 5 64 1.2 16 file -
g34o 5 3 4 64 1.2 16 offset -
gsto 6 4 5 64 1.2 48 offset term
g9f 6 4 5 64 0.90 16 file -
g9m 6 4 6 512 0.90 16 member -
g9r 5 3 4 64 0.90 16 member -
g9t 6 4 5 64 0.90 48 member term
gcc 6 4 5 64 1.2 16 file crit
g9c 6 4 5 64 0.90 16 file crit
gbo 6 4 5 64 1.2 16 offset - internal
gbt 6 4 6 512 1.2 48 offset term internal
gl6 6 4 5 64 1.2 16 file - - left-symmetric-6
gp6 6 5 7 64 1.0 16 member term - parity-first-6"

# used_sectors EXAMINE_FILE: the members' used size (sb.size) in sectors
# (mdadm prints it in KiB for 0.90)
used_sectors() {
	u=$(sed -n 's/^ *Used Dev Size : \([0-9]*\) sectors.*/\1/p' "$1")
	[ -n "$u" ] || u=$(sed -n 's/^ *Avail Dev Size : \([0-9]*\) sectors.*/\1/p' "$1")
	[ -n "$u" ] || u=$(($(sed -n 's/^ *Used Dev Size : \([0-9]*\) (.*/\1/p' "$1") * 2))
	echo "${u:-0}"
}
# sb_state MEMBER: "ACTIVE POS SIZE" of its superblock: 1 when a reshape is
# recorded (v1.x RESHAPE_ACTIVE; 0.90 minor version 91), reshape_position
# and size (sectors); v1.2 at 4 KiB, 0.90 at the end (64 KiB aligned), v1.0
# 8 KiB from the end (4 KiB aligned)
sb_state() {
	_ss_bytes=$(stat -c %s "$1")
	_ss_at=$(((_ss_bytes / 65536 - 1) * 65536))
	if [ "$(le_u "$1" 4096 4)" = 2838187772 ]; then
		_ss_at=4096
	elif [ "$(le_u "$1" "$_ss_at" 4)" = 2838187772 ] && [ "$(le_u "$1" $((_ss_at + 4)) 4)" = 0 ]; then
		_ss_a=0
		[ "$(le_u "$1" $((_ss_at + 8)) 4)" = 91 ] && _ss_a=1
		echo "$_ss_a $(le_u "$1" $((_ss_at + 176)) 8) $(($(le_u "$1" $((_ss_at + 32)) 4) * 2))"
		return
	else
		_ss_at=$((((_ss_bytes / 512 - 16) / 8 * 8) * 512))
	fi
	echo "$((($(le_u "$1" $((_ss_at + 8)) 4) & 4) / 4)) $(le_u "$1" $((_ss_at + 104)) 8) $(le_u "$1" $((_ss_at + 80)) 8)"
}
# stop_grow MEMBER0 N [--backup-file=F] MEMBER...: mdraid grow to N members
# in the background, SIGTERM as soon as MEMBER0's superblock (v1.2 or 0.90)
# records a reshape with a reshape_position > 0; then it must have stopped at
# a checkpoint (exit 1) with 0 < reshape_position < end on disk. 77 when the
# grow finished before the signal could stop it.
stop_grow() {
	_sg_m0=$1
	_sg_n=$2
	shift 2
	"$MDRAID" grow --raid-devices="$_sg_n" "$@" >"$W/stop_grow.out" 2>&1 &
	_sg_pid=$!
	while kill -0 $_sg_pid 2>/dev/null; do
		set -- $(sb_state "$_sg_m0")
		_sg_act=$1 _sg_pos=$2
		if [ "$_sg_act" = 1 ] && [ "$_sg_pos" -gt 0 ]; then
			kill -TERM $_sg_pid
			break
		fi
		sleep 0.01
	done
	wait $_sg_pid
	_sg_rc=$?
	set -- $(sb_state "$_sg_m0")
	_sg_act=$1 _sg_pos=$2 _sg_size=$3
	if [ $_sg_rc -eq 0 ] && [ "$_sg_act" = 0 ]; then
		echo "the grow finished before SIGTERM could stop it"
		return 77
	fi
	[ $_sg_rc -eq 1 ] || { echo "mdraid grow: exit $_sg_rc, expected 1 (stopped)"; head -n 5 "$W/stop_grow.out"; return 1; }
	# the array end in sectors, from the members' size and the new count
	_sg_end=$((_sg_size * (_sg_n - 2)))
	[ "$_sg_act" = 1 ] && [ "$_sg_pos" -gt 0 ] && [ "$_sg_pos" -lt "$_sg_end" ] ||
		{ echo "not mid-reshape: reshape recorded $_sg_act, reshape_position $_sg_pos of $_sg_end"; return 1; }
}
ktitle() { echo "$1: kernel grew raid$2 $3->$4 ${5}K v$6 backup=$8"; }
gtitle() {
	case $9 in
	term) _gt=" stopped by SIGTERM" ;;
	crit) _gt=" cut in the critical section" ;;
	*) _gt="" ;;
	esac
	_gb=${10#-}
	echo "$1: mdraid grow raid$2 $3->$4 ${5}K v$6 backup=$8${_gb:+ bitmap=$_gb}${11:+ ${11}}$_gt"
}
ksubs="on disk mid-reshape (RESHAPE_ACTIVE, 0 < reshape_position < end)
mdraid examine = mdadm --examine, mid-reshape
mdraid grow --continue finishes it, read = old content
kernel assembles the result: new size, old content, mismatch_cnt 0"
gsubs() {
	if [ "$1" = - ]; then
		echo "mdraid grow, read = shadow"
		echo "kernel assembles: new size, old content, mismatch_cnt 0"
	elif [ "$1" = crit ]; then
		echo "on disk at reshape_position 0 with a valid backup file"
		echo "mdadm --assemble --backup-file restores it, the kernel finishes: new size, old content, mismatch_cnt 0"
	else
		echo "mdraid grow stopped mid-way, on disk mid-reshape"
		echo "kernel continues the grow: new size, old content, mismatch_cnt 0"
	fi
}
all_skip() {
	echo "$KARRAYS" | while read -r id lvl o nn c meta sz how; do
		t=$(ktitle "$id" "$lvl" "$o" "$nn" "$c" "$meta" "$sz" "$how")
		echo "$ksubs" | while read -r s; do echo "$t: $s"; done
	done >"$W/names"
	echo "$GARRAYS" | while read -r id lvl o nn c meta sz pl st bm lay; do
		t=$(gtitle "$id" "$lvl" "$o" "$nn" "$c" "$meta" "$sz" "$pl" "${st#-}" "$bm" "$lay")
		gsubs "$st" | while read -r s; do echo "$t: $s"; done
	done >>"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
GROW_SKIP=$(mdraid_lacks grow) || GROW_SKIP=""

# --- boot 1: the kernel starts reshapes, the plug is pulled ------------------
mkimg "$W/data.img" 16M 7999
mkimg "$W/src.img" 8M 7998
seed=8000
first=0
imgs=""
mkdir -p "$W/in1"
: >"$W/in1/arrays"
while read -r id lvl o nn c meta sz how; do
	i=0
	while [ $i -lt "$nn" ]; do
		mkimg "$W/$id$i.img" "${sz}M" $seed
		seed=$((seed + 1))
		i=$((i + 1))
	done
	imgs="$imgs $(imgs_of "$id" "$nn")"
	echo "$id $lvl $o $nn $c $meta $first $how" >>"$W/in1/arrays"
	first=$((first + nn))
done <<EOF
$KARRAYS
EOF
truncate -s $(($(echo "$KARRAYS" | wc -l) * 128))M "$W/export1.img"
cat >"$W/body1" <<EOF
X=\$M$first
E=\$M$((first + 1))
EOF
cat >>"$W/body1" <<'EOF'
k=0
while read -r id lvl o nn c meta first how; do
	md=md$k
	mdadm --create "/dev/$md" --run --level="$lvl" --raid-devices="$o" --chunk="$c" \
		--metadata="$meta" --homehost=opskit $(range "$first" "$o") >"/out/$id.create" 2>&1
	wait_idle "$md"
	dd if="$X" of="/dev/$md" bs=1M count=6 conv=notrunc,fsync 2>/dev/null
	dd if="$X" of="/dev/$md" bs=512 skip=99 seek=77777 count=333 conv=notrunc,fsync 2>/dev/null
	export_dev "/dev/$md" "$E" $((k * 134217728)) | sed "s/^$md\./$id./"
	i=$o
	while [ "$i" -lt "$nn" ]; do
		mdadm "/dev/$md" --add $(range $((first + i)) 1) >>"/out/$id.create" 2>&1
		i=$((i + 1))
	done
	k=$((k + 1))
done </in/arrays
# throttled: a checkpoint reaches the disk (every 10 s at the latest) long
# before the reshape ends
echo 1000 >/proc/sys/dev/raid/speed_limit_min
echo 1000 >/proc/sys/dev/raid/speed_limit_max
k=0
while read -r id lvl o nn c meta first how; do
	bf=""
	[ "$how" = file ] && bf="--backup-file=/tmp/$id.backup"
	mdadm --grow "/dev/md$k" --raid-devices="$nn" $bf >"/out/$id.grow" 2>&1
	say "$id.grow_rc" $?
	k=$((k + 1))
done </in/arrays
# wait for a reshape_position on disk in every array (60 s at most; at
# 1 MB/s the reshapes take longer)
end=$(($(cut -d. -f1 /proc/uptime) + 60))
while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
	all=1
	k=0
	while read -r id lvl o nn c meta first how; do
		mdadm --examine $(range "$first" 1) 2>/dev/null | grep -q "Reshape pos'n : [1-9]" || all=0
		k=$((k + 1))
	done </in/arrays
	[ $all = 1 ] && break
	sleep 0.5
done
k=0
while read -r id lvl o nn c meta first how; do
	say "$id.action" "$(cat "/sys/block/md$k/md/sync_action")"
	say "$id.sectors" "$(blockdev --getsz "/dev/md$k")"
	k=$((k + 1))
done </in/arrays
# what is left of a backup file (mdadm deletes it past the critical section)
cp /tmp/*.backup /out/ 2>/dev/null
# the plug is pulled with the reshapes running (guest-init)
true
EOF
cp "$W/in1/arrays" "$W/in1/arrays.keep"
guest_script "$W/script1" "$W/body1"
# shellcheck disable=SC2086
boot "boot 1" "$W/kv1" "$W/err1" -t 300 -o "$W/out1" -i "$W/in1" "$W/script1" $imgs \
	"$W/data.img" "$W/export1.img"
rc=$?

mkdir -p "$W/in2"
: >"$W/in2/arrays"
imgs2=""
first2=0
exp2=0
k=0
while read -r id lvl o nn c meta first how; do
	t=$(ktitle "$id" "$lvl" "$o" "$nn" "$c" "$meta" "-" "$how")
	bytes=$(kv "$W/kv1" "$id.bytes")
	[ -n "$bytes" ] && slice "$W/export1.img" $((k * 134217728)) "$bytes" >"$W/$id.shadow"
	mid() {
		[ -n "$bytes" ] || { echo "the guest did not make the array"; cat "$W/out1/$id.create"; return 1; }
		i=0
		while [ $i -lt "$nn" ]; do
			mdadm --examine "$W/$id$i.img" >"$W/$id.$i.examine" 2>&1
			e=$W/$id.$i.examine
			fm=$(sed -n 's/^ *Feature Map : 0x\([0-9a-f]*\).*/\1/p' "$e")
			pos=$(sed -n "s/^ *Reshape pos'n : \([0-9]*\) .*/\1/p" "$e")
			# reshape_position in KiB; the end is the new array size
			end=$(((nn - lvl + 4) * $(used_sectors "$e") / 2))
			[ "$lvl" = 5 ] && end=$(((nn - 1) * $(used_sectors "$e") / 2))
			# RESHAPE_ACTIVE; NEW_OFFSET only when data_offset moves;
			# 0.90 has no feature map: version 0.91 says it
			want_fm=$((0x44))
			[ "$how" = file ] && want_fm=$((0x4))
			if [ "$meta" = 0.90 ]; then
				grep -q 'Version : 0.91.00' "$e" && fm=4 || fm=0
			fi
			if [ -z "$fm" ] || [ $((0x$fm & 0x44)) -ne $want_fm ] || [ -z "$pos" ] ||
				[ "$pos" -le 0 ] || [ "$pos" -ge "$end" ]; then
				echo "member $i: feature map 0x$fm, reshape pos'n '$pos' KiB of $end"
				return 1
			fi
			i=$((i + 1))
		done
	}
	if [ $rc -ne 0 ] || [ "$(kv "$W/kv1" "$id.grow_rc")" != 0 ]; then
		tap_fail "$t: on disk mid-reshape (RESHAPE_ACTIVE, 0 < reshape_position < end)" \
			"$(cat "$W/out1/$id.grow" "$W/out1/$id.create" 2>/dev/null | head -n 5)"
		echo "$ksubs" | sed 1d | while read -r s; do echo "$t: $s"; done >"$W/names"
		skip_each "no kernel reshape" <"$W/names"
		k=$((k + 1))
		continue
	fi
	tap_check "$t: on disk mid-reshape (RESHAPE_ACTIVE, 0 < reshape_position < end)" mid
	if why=$(mdraid_lacks examine); then
		tap_skip "$t: mdraid examine = mdadm --examine, mid-reshape" "$why"
	else
		tap_check "$t: mdraid examine = mdadm --examine, mid-reshape" \
			examine_cmp "$W/$id" "$W/$id" "$nn"
	fi
	if [ -n "$GROW_SKIP" ]; then
		skip_cases "$GROW_SKIP" "$t: mdraid grow --continue finishes it, read = old content" \
			"$t: kernel assembles the result: new size, old content, mismatch_cnt 0"
	else
		cont() {
			bf=""
			[ -f "$W/out1/$id.backup" ] && bf="--backup-file=$W/out1/$id.backup"
			# shellcheck disable=SC2046
			"$MDRAID" grow --continue $bf $(imgs_of "$id" "$nn") || { echo "exit $?"; return 1; }
			# shellcheck disable=SC2046
			"$MDRAID" read --length="$bytes" $(imgs_of "$id" "$nn") | cmp - "$W/$id.shadow"
		}
		tap_check "$t: mdraid grow --continue finishes it, read = old content" cont
		imgs2="$imgs2 $(imgs_of "$id" "$nn")"
		echo "$id $lvl $nn $first2 $exp2 - -" >>"$W/in2/arrays"
		echo "$id|$t: kernel assembles the result: new size, old content, mismatch_cnt 0" >>"$W/in2/titles"
		first2=$((first2 + nn))
		exp2=$((exp2 + 1))
	fi
	k=$((k + 1))
done <"$W/in1/arrays.keep"

# --- mdraid grows on the host --------------------------------------------------
while read -r id lvl o nn c meta sz pl st bm lay; do
	bm=${bm#-}
	t=$(gtitle "$id" "$lvl" "$o" "$nn" "$c" "$meta" "$sz" "$pl" "${st#-}" "$bm" "$lay")
	if [ -n "$GROW_SKIP" ]; then
		gsubs "$st" | while read -r s; do echo "$t: $s"; done >"$W/names"
		skip_each "$GROW_SKIP" <"$W/names"
		continue
	fi
	i=0
	while [ $i -lt "$nn" ]; do
		mkimg "$W/$id$i.img" "${sz}M" $seed
		seed=$((seed + 1))
		i=$((i + 1))
	done
	old=$(i=0; while [ $i -lt "$o" ]; do printf '%s ' "$W/$id$i.img"; i=$((i + 1)); done)
	new=$(i=$o; while [ $i -lt "$nn" ]; do printf '%s ' "$W/$id$i.img"; i=$((i + 1)); done)
	gr() {
		# shellcheck disable=SC2086
		"$MDRAID" create --level="$lvl" --raid-devices="$o" --chunk="${c}K" --metadata="$meta" \
			--homehost=opskit ${bm:+--bitmap=$bm} ${lay:+--layout=$lay} $old ||
			{ echo "mdraid create failed"; return 1; }
		# shellcheck disable=SC2086
		fill_writes "$id" $seed $old || { echo "mdraid write/read failed"; return 1; }
		ba=""
		[ "$pl" = file ] && ba="--backup-file=$W/$id.backup"
		if [ "$st" = term ]; then
			stop_grow "$W/${id}0.img" "$nn" $ba $old $new
			return $?
		fi
		if [ "$st" = crit ]; then
			# shellcheck disable=SC2086
			"$MDRAID" grow --raid-devices="$nn" $ba --simulate-crash=critical $old $new \
				>"$W/$id.grow.out" 2>&1
			grc=$?
			[ $grc -eq 1 ] || { echo "mdraid grow: exit $grc, expected 1 (cut)"; head -n 5 "$W/$id.grow.out"; return 1; }
			set -- $(sb_state "$W/${id}0.img")
			[ "$1" = 1 ] && [ "$2" = 0 ] || { echo "superblock: reshape recorded $1, reshape_position $2"; return 1; }
			head -c 16 "$W/$id.backup" | grep -q md_backup_data-1 || { echo "no md_backup_data-1 header"; return 1; }
			cp "$W/$id.backup" "$W/in2/$id.backup"
			return 0
		fi
		# shellcheck disable=SC2086
		"$MDRAID" grow --raid-devices="$nn" $ba $old $new >"$W/$id.grow.out" 2>&1 ||
			{ echo "mdraid grow: exit $?"; head -n 5 "$W/$id.grow.out"; return 1; }
		if [ "$pl" = file ]; then
			grep -q 'Need to backup [0-9]*K of critical section' "$W/$id.grow.out" ||
				{ echo "no 'Need to backup' line"; return 1; }
		fi
		# shellcheck disable=SC2086
		"$MDRAID" read --length="$(stat -c %s "$W/$id.shadow")" $old $new | cmp - "$W/$id.shadow"
	}
	if [ "$st" = - ]; then
		tap_check "$t: mdraid grow, read = shadow" gr
	else
		gr >"$W/$id.gr" 2>&1
		grc=$?
		if [ $grc -eq 77 ]; then
			tap_skip "$t: mdraid grow stopped mid-way, on disk mid-reshape" "$(cat "$W/$id.gr")"
			tap_skip "$t: kernel continues the grow: new size, old content, mismatch_cnt 0" \
				"not stopped mid-way"
			continue
		fi
		first_sub=$(gsubs "$st" | head -n 1)
		if [ $grc -eq 0 ]; then
			tap_ok "$t: $first_sub"
		else
			tap_fail "$t: $first_sub" "$(head -n 10 "$W/$id.gr")"
		fi
	fi
	imgs2="$imgs2 $(imgs_of "$id" "$nn")"
	echo "$id $lvl $nn $first2 $exp2 $st ${bm:--}" >>"$W/in2/arrays"
	last=$(gsubs "$st" | tail -n 1)
	echo "$id|$t: $last" >>"$W/in2/titles"
	first2=$((first2 + nn))
	exp2=$((exp2 + 1))
done <<EOF
$GARRAYS
EOF

# --- boot 2: the kernel assembles what mdraid grew -----------------------------
# In batches of at most BATCH_DISKS members per boot: a guest with much over
# a hundred virtio disks does not bring them all up (PCI interrupt vectors).
# 64 (eight PCI slots of guest-run's 8 disks) puts the 118 members of the 22
# arrays in two boots; 56 made three, the third for one array of 7 members,
# and a boot costs 6-9 s before its script runs.
[ "$exp2" -gt 0 ] || tap_done
BATCH_DISKS=64
cat >"$W/body2" <<'EOF'
k=0
while read -r id lvl nn first e st bm; do
	md=md$k
	bf=""
	[ "$st" = crit ] && bf="--backup-file=/in/$id.backup"
	mdadm --assemble "/dev/$md" $bf $(range "$first" "$nn") >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	wait_idle "$md"
	# a reshape that resumes starts at assembly
	say "$id.continued" "$(dmesg | grep -c "md: reshape of RAID array $md\$")"
	say "$id.bitmap" "$(cat "/sys/block/$md/md/bitmap/location" 2>/dev/null)"
	say "$id.bitmap_stale" "$(dmesg | grep -c "$md: bitmap file is out of date")"
	say "$id.sectors" "$(blockdev --getsz "/dev/$md")"
	export_check "$md" "$id" "$E" $((e * 268435456))
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	k=$((k + 1))
done </in/arrays
true
EOF
# run_batch B: boot the guest on the arrays listed in $W/in2.B/arrays
# (members numbered from 0, exports numbered from 0 on export2.B.img)
run_batch() {
	_rb=$W/in2.$1
	_rb_disks=0
	_rb_n=0
	_rb_imgs=""
	# (its own names: the caller is inside a loop that reads id, nn, ...)
	while read -r _rb_id _rb_lvl _rb_nn _rb_rest; do
		_rb_imgs="$_rb_imgs $(imgs_of "$_rb_id" "$_rb_nn")"
		_rb_disks=$((_rb_disks + _rb_nn))
		_rb_n=$((_rb_n + 1))
	done <"$_rb/arrays"
	truncate -s $((_rb_n * 256))M "$W/export2.$1.img"
	{ echo "E=\$M$_rb_disks"; cat "$W/body2"; } >"$W/body2.$1"
	guest_script "$W/script2.$1" "$W/body2.$1"
	# shellcheck disable=SC2086
	boot "boot 2.$1 ($_rb_n arrays, $_rb_disks members)" "$W/kv2" "$W/err2.$1" -t 400 \
		-o "$W/out2" -i "$_rb" "$W/script2.$1" $_rb_imgs "$W/export2.$1.img"
}
: >"$W/kv2"
mkdir -p "$W/out2"
b=0
bd=0
be=0
mkdir -p "$W/in2.0"
: >"$W/in2.0/arrays"
while read -r id lvl nn first e st bm; do
	if [ $((bd + nn)) -gt $BATCH_DISKS ] && [ $be -gt 0 ]; then
		run_batch $b
		b=$((b + 1))
		bd=0
		be=0
		mkdir -p "$W/in2.$b"
		: >"$W/in2.$b/arrays"
	fi
	echo "$id $lvl $nn $bd $be $st $bm" >>"$W/in2.$b/arrays"
	[ -f "$W/in2/$id.backup" ] && cp "$W/in2/$id.backup" "$W/in2.$b/"
	echo "$id $b $be" >>"$W/batch.map"
	bd=$((bd + nn))
	be=$((be + 1))
done <"$W/in2/arrays"
run_batch $b
while read -r id lvl nn first e st bm; do
	t=$(sed -n "s/^$id|//p" "$W/in2/titles")
	# where its boot put it: batch and export slot
	read -r _ bno e <<EOF
$(grep "^$id " "$W/batch.map")
EOF
	bytes=$(stat -c %s "$W/$id.shadow" 2>/dev/null || echo 0)
	# the new size from the members' (unchanged) used size
	mdadm --examine "$W/${id}0.img" >"$W/$id.final.examine" 2>&1
	used=$(used_sectors "$W/$id.final.examine")
	want=$((used * (nn - lvl + 4)))
	[ "$lvl" = 5 ] && want=$((used * (nn - 1)))
	got=$(kv "$W/kv2" "$id.sectors")
	res() {
		[ "$bytes" -gt 0 ] || { echo "no old content to compare"; return 1; }
		[ "$(kv "$W/kv2" "$id.assembled")" = 0 ] || { head -n 5 "$W/out2/$id.assemble"; return 1; }
		[ "$got" = "$want" ] || { echo "size $got sectors, want $want"; return 1; }
		slice "$W/export2.$bno.img" $((e * 268435456)) "$bytes" | cmp - "$W/$id.shadow" ||
			{ echo "old content changed"; return 1; }
		[ "$(kv "$W/kv2" "$id.mismatch")" = 0 ] || { echo "mismatch_cnt $(kv "$W/kv2" "$id.mismatch")"; return 1; }
		if [ "$st" != - ]; then
			[ "$(kv "$W/kv2" "$id.continued")" -ge 1 ] || { echo "dmesg: no 'reshape of RAID array'"; return 1; }
		fi
		if [ "$bm" = internal ]; then
			[ "$(kv "$W/kv2" "$id.bitmap")" = +8 ] || { echo "bitmap location '$(kv "$W/kv2" "$id.bitmap")', want +8"; return 1; }
			[ "$(kv "$W/kv2" "$id.bitmap_stale")" = 0 ] || { echo "dmesg: bitmap file is out of date"; return 1; }
		fi
	}
	tap_check "$t" res
done <"$W/in2/arrays"
tap_done
