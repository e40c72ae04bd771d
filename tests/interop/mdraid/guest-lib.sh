# guest-lib.sh: helpers for the scripts the interop tests run in the guest
# (busybox sh; put in front of each script by lib.sh's guest_script). The
# guest prints "key=value" lines on stdout for the host to check, leaves files
# in /out, and copies block devices onto export disks.
#
#   disks I J...          the member devices $M<I> $M<J> ... (one line)
#   range I N             the member devices I .. I+N-1
#   copy_members FROM TO N   copy members FROM.. onto members TO.. (N of
#                         each, a whole member at a time, fsync'd)
#   say KEY VALUE         print KEY=VALUE
#   wait_idle MD          wait until sync_action is idle (resync, recovery,
#                         check, reshape); gives up after 600 s
#   md_check MD           run a check; say MD.mismatch N
#   export_dev DEV DISK OFFSET   copy DEV onto DISK at byte OFFSET (the host
#                         slices it out); say DEV size in bytes
#   export_check MD ID DISK OFFSET   export_dev and md_check of /dev/MD, their
#                         keys said as ID.* instead of MD.*
#   examine_to NAME DEV...       mdadm --examine of each DEV into
#                         /out/NAME.<i>.examine (i counts from 0)
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
copy_members() {
	i=0
	while [ $i -lt "$3" ]; do
		dd if="$(range $(($1 + i)) 1 | tr -d ' ')" of="$(range $(($2 + i)) 1 | tr -d ' ')" bs=1M \
			conv=fsync 2>/dev/null
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
	# 1 MiB blocks when OFFSET allows, else 512-byte ones
	if [ $(($3 % 1048576)) -eq 0 ]; then
		dd if="$1" of="$2" bs=1M seek=$(($3 / 1048576)) conv=notrunc 2>/dev/null
	else
		dd if="$1" of="$2" bs=512 seek=$(($3 / 512)) conv=notrunc 2>/dev/null
	fi
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
