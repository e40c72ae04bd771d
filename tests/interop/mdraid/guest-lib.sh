# guest-lib.sh: helpers for the scripts the interop tests run in the guest
# (busybox sh; put in front of each script by lib.sh's guest_script). The
# guest prints "key=value" lines on stdout for the host to check, leaves files
# in /out, and copies block devices onto export disks.
#
#   disks I J...          the member devices $M<I> $M<J> ... (one line)
#   range I N             the member devices I .. I+N-1
#   copy_members FROM TO N   copy members FROM.. onto members TO.. (N of
#                         each, a whole member at a time, fsync'd)
#   dcopy IF OF [SEEK_BYTES] [DD_ARGS...]   dd IF onto OF at byte SEEK_BYTES
#                         (default 0), O_DIRECT both ways (below)
#   say KEY VALUE         print KEY=VALUE
#   wait_idle MD          wait until sync_action is idle (resync, recovery,
#                         check, reshape); gives up after 600 s
#   wait_started MD       up to 1 s for a grow's sync_action to start, then
#                         wait_idle
#   md_check MD           run a check; say MD.mismatch N
#   export_dev DEV DISK OFFSET   copy DEV onto DISK at byte OFFSET (the host
#                         slices it out); say DEV size in bytes
#   export_check MD ID DISK OFFSET   export_dev and md_check of /dev/MD, their
#                         keys said as ID.* instead of MD.*
#   fs_write MD           the first $FS_MIB MiB of $FS onto MD, flushed
#   examine_to NAME DEV...       mdadm --examine of each DEV into
#                         /out/NAME.<i>.examine (i counts from 0)
#   fs_array ID FIRST N STRIDE ARGS...   an array with $FS on it, copied
#                         twice (below)
#   kstop_hold, kstop_freeze, kstop_arm, kstop_wait   a reshape, resync or
#                         recovery the kernel runs, stopped at a fixed point
#                         (below)
#   assemble_each HOOK FIRST N DISK SLOT ID...   assemble, look at, export
#                         and check one array after another (below)
export TZ=UTC

disks() {
	for i in "$@"; do eval "printf '%s ' \"\$M$i\""; done
}
range() {
	i=$1
	while [ "$i" -lt $(($1 + $2)) ]; do
		eval "printf '%s ' \"\$M$i\""
		i=$((i + 1))
	done
}
say() {
	echo "$1=$2"
}
# dcopy: the guest's bulk copies (an array or a member onto another disk)
# with O_DIRECT on both sides, 4 MiB at a time. Buffered, every byte passes
# through the guest's page cache, which under TCG is memcpy in emulated
# code: a 93 MiB RAID6 read onto the export disk took 2.2-4.1 s buffered
# with bs=1M and 0.46 s this way (one guest, load 5 on the 2-core host).
# What md returns is the same: a direct read is still md's read path
# (raid5.c chunk_aligned_read or the stripe cache), only the guest-side
# copying goes. Falls back to a buffered copy when O_DIRECT is refused.
dcopy() {
	_dc_if=$1 _dc_of=$2 _dc_seek=${3:-0}
	shift 2
	[ $# -gt 0 ] && shift
	dd if="$_dc_if" of="$_dc_of" bs=4M iflag=direct oflag=direct,seek_bytes seek="$_dc_seek" \
		conv=notrunc "$@" 2>/dev/null ||
		dd if="$_dc_if" of="$_dc_of" bs=1M oflag=seek_bytes seek="$_dc_seek" conv=notrunc "$@" \
			2>/dev/null
}
copy_members() {
	i=0
	while [ $i -lt "$3" ]; do
		dcopy "$(range $(($1 + i)) 1 | tr -d ' ')" "$(range $(($2 + i)) 1 | tr -d ' ')" 0 conv=fsync
		i=$((i + 1))
	done
}
wait_idle() {
	md=${1#/dev/}
	n=0
	while [ $n -lt 6000 ]; do
		a=$(cat "/sys/block/$md/md/sync_action" 2>/dev/null)
		[ "$a" = idle ] || [ -z "$a" ] && return 0
		sleep 0.1
		n=$((n + 1))
	done
	echo "wait_idle: $md still $(cat "/sys/block/$md/md/sync_action")" >&2
	return 1
}
# wait_clean MD: md marks an array clean safe_mode_delay (200 ms by default)
# after its last write; a report taken sooner (mdadm --detail) says active
# where the superblocks of the stopped members say clean. At most 5 s.
wait_clean() {
	_wc_n=0
	while [ $_wc_n -lt 50 ]; do
		[ "$(cat "/sys/block/${1#/dev/}/md/array_state" 2>/dev/null)" = clean ] && return 0
		sleep 0.1
		_wc_n=$((_wc_n + 1))
	done
	return 1
}
# wait_started MD: what mdadm --grow asked for (a reshape, a recovery) is
# started by md's thread a moment after mdadm returns: up to 1 s for
# sync_action to leave idle, then wait_idle. The fixed "sleep 1" it
# replaces spent the whole second even when md had started at once.
wait_started() {
	_ws_n=0
	while [ $_ws_n -lt 10 ] && [ "$(cat "/sys/block/${1#/dev/}/md/sync_action" 2>/dev/null)" = idle ]; do
		sleep 0.1
		_ws_n=$((_ws_n + 1))
	done
	wait_idle "$1"
}
md_check() {
	md=${1#/dev/}
	wait_idle "$md"
	echo check >"/sys/block/$md/md/sync_action"
	sleep 0.1
	wait_idle "$md"
	say "$md.mismatch" "$(cat "/sys/block/$md/md/mismatch_cnt")"
}
export_dev() {
	sz=$(($(blockdev --getsz "$1") * 512))
	dcopy "$1" "$2" "$3"
	say "${1#/dev/}.bytes" "$sz"
}
export_check() {
	export_dev "/dev/$1" "$3" "$4" | sed "s/^$1\./$2./"
	md_check "$1" | sed "s/^$1\./$2./"
}
examine_to() {
	name=$1
	shift
	i=0
	for d in "$@"; do
		mdadm --examine "$d" >"/out/$name.$i.examine" 2>&1
		i=$((i + 1))
	done
}

# assemble_each HOOK FIRST N DISK SLOT ID...: for each ID in turn, /dev/md0
# assembled from the next N members (from $M<FIRST> on; mdadm's output in
# /out/ID.assemble, its status said as ID.assembled), waited for, exported
# at SLOT (counting up) x 128 MiB of DISK and checked (export_check as ID),
# stopped. HOOK PHASE ID lets a case look at it: PHASE "before" ahead of the
# assembly, "assembled" right after it (a resync or reshape the assembly
# starts may still run), "idle" once md is idle again; ":" for none. One
# loop for the second boots that read several results back.
assemble_each() {
	_ae_hook=$1 _ae_first=$2 _ae_n=$3 _ae_disk=$4 _ae_slot=$5
	shift 5
	for _ae_id in "$@"; do
		$_ae_hook before "$_ae_id"
		mdadm --assemble /dev/md0 $(range "$_ae_first" "$_ae_n") >"/out/$_ae_id.assemble" 2>&1
		say "$_ae_id.assembled" $?
		$_ae_hook assembled "$_ae_id"
		wait_idle md0
		$_ae_hook idle "$_ae_id"
		export_check md0 "$_ae_id" "$_ae_disk" $((_ae_slot * 134217728))
		mdadm --stop /dev/md0 >/dev/null 2>&1
		_ae_first=$((_ae_first + _ae_n))
		_ae_slot=$((_ae_slot + 1))
	done
}

# fs_write MD: the first $FS_MIB MiB of $FS (a file system image) written
# onto MD and flushed, with dcopy's O_DIRECT: md gets the same bytes through
# its own write path (raid5.c make_request), only the guest's page cache is
# left out (40 MiB onto a RAID6: 1.6 s buffered, 0.6 s direct, load 10)
fs_write() {
	dcopy "$FS" "$1" 0 iflag=count_bytes count=$((FS_MIB * 1048576)) conv=fsync
}

# fs_array ID FIRST N STRIDE ARGS...: mdadm --create /dev/md0 (64K chunk,
# metadata 1.2, ARGS) of the N members from $M<FIRST> (mdadm's output in
# /out/ID.create, its status said as ID.create_rc), resynced, the first
# $FS_MIB MiB of $FS (a file system image) written onto it, stopped, and
# its members copied onto those from FIRST + STRIDE and FIRST + 2 STRIDE:
# the set-up of the reshape tests that compare a copy mdadm + the kernel
# changed to the end and one the kernel was stopped in with mdraid's
fs_array() {
	_fa_id=$1 _fa_first=$2 _fa_n=$3 _fa_stride=$4
	shift 4
	mdadm --create /dev/md0 --run --chunk=64 --metadata=1.2 --homehost=opskit "$@" \
		$(range "$_fa_first" "$_fa_n") >"/out/$_fa_id.create" 2>&1
	say "$_fa_id.create_rc" $?
	wait_idle md0
	fs_write /dev/md0
	mdadm --stop /dev/md0 >/dev/null 2>&1
	copy_members "$_fa_first" $((_fa_first + _fa_stride)) "$_fa_n"
	copy_members "$_fa_first" $((_fa_first + 2 * _fa_stride)) "$_fa_n"
}

# --- the fixed-point stop ------------------------------------------------------
# A reshape (resync, recovery) the kernel started, stopped part-way at a
# point chosen in advance, for mdraid to finish. Stopped by mdadm --stop
# while it runs, kernel 6.1 can leave a reshape's superblocks at its last
# checkpoint while its writes went on past it (raid5.c reshape_request
# records reshape_position only every 10 s while readpos is not ahead of
# writepos): a state nobody can finish, the kernel included
# (test_reshape.sh's header has the runs). Instead, per array:
#   kstop_hold MD     before the command that starts it: md's speed held at
#                     100 KB/s (sync_speed_max)
#   kstop_freeze MD   right after that command: sync_action frozen, md's
#                     thread interrupted, nothing runs (written again until
#                     sync_completed reads none, no thread running, up to
#                     5 s: md.c action_store interrupts only a thread
#                     already running, and md_check_recovery may start one
#                     just after; a resync was once found running 11 s on.
#                     sync_action says frozen either way)
#   kstop_arm MD ID STOP   sync_max STOP (sectors of each member, a multiple
#                     of the chunk; md refuses to lower it while its thread
#                     runs, EBUSY: retried for up to 10 s), said as
#                     ID.sync_max; the speed back to the system's, and
#                     sync_action idle: it runs at full speed up to STOP
#   kstop_wait MD ID STOP   up to 60 s for sync_completed to reach STOP, where
#                     md_do_sync waits for sync_max to move (raid5.c
#                     reshape_request records reshape_position as it nears
#                     sync_max; md_do_sync's curr_resync_completed reaches it
#                     too); says ID.action, ID.completed, ID.position, then
#                     freezes it and mdadm --stop: the superblocks hold
#                     position STOP (a reshape's reshape_position, a
#                     resync's resync_offset, a recovery's recovery_offset).
#                     Frozen first because mdadm 4.2's --stop of a running
#                     reshape (Manage.c) freezes it itself, sets sync_max to
#                     where it reckons the reshape is and waits up to 3 s
#                     for sync_completed to get there: the shrink's stop
#                     took 3.2 s that way, 0.15 s frozen (same run), and the
#                     position on disk is the same
# Separate steps so that several arrays can run to their points at once.
kstop_hold() {
	echo 100 >"/sys/block/${1#/dev/}/md/sync_speed_max"
}
kstop_freeze() {
	_kf_n=0
	while [ $_kf_n -lt 50 ]; do
		echo frozen >"/sys/block/${1#/dev/}/md/sync_action"
		[ "$(cat "/sys/block/${1#/dev/}/md/sync_completed")" = none ] && return 0
		sleep 0.1
		_kf_n=$((_kf_n + 1))
	done
}
kstop_arm() {
	_ka_md=${1#/dev/}
	_ka_n=0
	until echo "$3" >"/sys/block/$_ka_md/md/sync_max" 2>/dev/null || [ $_ka_n -ge 100 ]; do
		sleep 0.1
		_ka_n=$((_ka_n + 1))
	done
	say "$2.sync_max" "$(cat "/sys/block/$_ka_md/md/sync_max")"
	echo system >"/sys/block/$_ka_md/md/sync_speed_max"
	echo idle >"/sys/block/$_ka_md/md/sync_action"
}
kstop_wait() {
	_kw_md=${1#/dev/}
	_kw_n=0
	while [ $_kw_n -lt 600 ] && [ "$(cut -d' ' -f1 "/sys/block/$_kw_md/md/sync_completed")" != "$3" ]; do
		sleep 0.1
		_kw_n=$((_kw_n + 1))
	done
	say "$2.action" "$(cat "/sys/block/$_kw_md/md/sync_action")"
	say "$2.completed" "$(cat "/sys/block/$_kw_md/md/sync_completed")"
	say "$2.position" "$(cat "/sys/block/$_kw_md/md/reshape_position")"
	kstop_freeze "$_kw_md"
	mdadm --stop "/dev/$_kw_md" >/dev/null 2>&1
}
