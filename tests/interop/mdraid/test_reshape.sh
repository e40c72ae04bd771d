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
all_skip() {
	echo "$ARRAYS" | while read -r id lvl co ch nch nly ks; do
		t=$(title "$id" "$lvl" "$co" "$ch")
		subs "$ks" | while read -r s; do echo "$t: $s"; done
	done >"$W/names"
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
cat >"$W/body1" <<EOF
FS=\$M$first
FS_MIB=$FS_MIB
EOF
cat >>"$W/body1" <<'EOF'
k=0
while read -r id lvl co ch nch nly ks first; do
	md=md$k
	mdadm --create "/dev/$md" --run --level="$lvl" --raid-devices=4 $(echo "$co" | tr , ' ') \
		--metadata=1.2 --homehost=opskit $(range "$first" 4) >"/out/$id.create" 2>&1
	say "$id.create_rc" $?
	wait_idle "$md"
	dd if="$FS" of="/dev/$md" bs=1M count="$FS_MIB" conv=fsync 2>/dev/null
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	copy_members "$first" $((first + 4)) 4
	# mdadm + the kernel reshape the copy, to the end
	mdadm --assemble "/dev/$md" $(range $((first + 4)) 4) >>"/out/$id.create" 2>&1
	mdadm --grow "/dev/$md" "$ch" >"/out/$id.grow" 2>&1
	say "$id.grow_rc" $?
	sleep 1
	wait_idle "$md"
	say "$id.chunk" "$(cat "/sys/block/$md/md/chunk_size")"
	say "$id.layout" "$(cat "/sys/block/$md/md/layout")"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	k=$((k + 1))
done </in/arrays
true
EOF
guest_script "$W/script1" "$W/body1"
# shellcheck disable=SC2086
boot "boot 1" "$W/kv1" "$W/err1" -t 900 -o "$W/out1" -i "$W/in1" "$W/script1" $imgs "$W/fs.img"
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

# --- boot 2: the kernel assembles every result ---------------------------------
truncate -s $((slot * 128))M "$W/export2.img"
cat >"$W/body2" <<EOF
E=\$M$first2
EOF
cat >>"$W/body2" <<'EOF'
k=0
while read -r id first slot; do
	md=md$k
	mdadm --assemble "/dev/$md" $(range "$first" 4) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	sleep 0.5
	say "$id.action" "$(cat "/sys/block/$md/md/sync_action")"
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
tap_done
