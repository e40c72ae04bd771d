#!/bin/sh
# test_rebuild.sh: members mdraid rebuilt are accepted by the kernel.
#
# On the host: mdraid creates and writes an array (shadow file as in
# test_mdraid_made.sh), one member is replaced by a fresh file of random bytes
# and `mdraid rebuild --slot=K NEW ...` rebuilds it; mdraid read with the new
# member must equal the shadow. One array's rebuild is interrupted
# (--stop-after), leaving RECOVERY_OFFSET in the new member's superblock.
# One guest boot then, per array:
#   complete rebuilds: mdadm --examine of the new member says checksum
#     correct and no recovery offset; the kernel assembles with no resync or
#     recovery, the content equals the shadow, check gives mismatch_cnt 0;
#     assembled again without two other members (one for RAID5) the kernel
#     reads the shadow through the rebuilt member;
#   the interrupted rebuild: the kernel resumes the recovery from the
#     checkpoint (with the recovery throttled, sync_completed starts at
#     mdraid's recovery_offset, not 0), finishes it, and the content and
#     mismatch_cnt are right.
# In both, the kernel must not find the bitmap out of date (which would make
# it resync the whole array).
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id level members chunk_KiB metadata layout bitmap member_MiB slot stop_after
ARRAYS="a 6 5 64 1.2 left-symmetric none 16 1 -
b 6 4 512 1.0 left-symmetric internal 32 3 -
c 5 4 64 1.1 right-asymmetric none 16 0 -
d 6 6 64 1.2 left-symmetric none 32 2 4M"
title() { echo "$1: raid$2 n$3 ${4}K v$5 $6 bitmap=$7 slot $9${10:+ stopped at ${10}}"; }
subs() { # stop_after
	echo "mdraid rebuild, read = shadow"
	if [ "$1" = - ]; then
		echo "examine of the new member: checksum correct, in sync"
		echo "kernel assembles clean, content = shadow, mismatch_cnt 0"
		echo "kernel reads through the rebuilt member with others missing"
	else
		echo "kernel resumes the recovery from mdraid's checkpoint"
		echo "kernel finishes it: content = shadow, mismatch_cnt 0"
	fi
}
all_skip() {
	echo "$ARRAYS" | while read -r id lvl n c meta lay bm sz slot stop; do
		t=$(title "$id" "$lvl" "$n" "$c" "$meta" "$lay" "$bm" "$sz" "$slot" "${stop#-}")
		subs "$stop" | while read -r s; do echo "$t: $s"; done
	done >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
why=$(mdraid_lacks rebuild) && all_skip "$why"

mkimg "$W/src.img" 8M 5999
seed=6000
first=0
imgs=""
mkdir -p "$W/in"
: >"$W/in/arrays"
while read -r id lvl n c meta lay bm sz slot stop; do
	t=$(title "$id" "$lvl" "$n" "$c" "$meta" "$lay" "$bm" "$sz" "$slot" "${stop#-}")
	i=0
	while [ $i -lt "$n" ]; do
		mkimg "$W/$id$i.img" "${sz}M" $seed
		seed=$((seed + 1))
		i=$((i + 1))
	done
	rb() {
		# shellcheck disable=SC2046
		"$MDRAID" create --level="$lvl" --raid-devices="$n" --chunk="${c}K" --metadata="$meta" \
			--layout="$lay" --bitmap="$bm" --homehost=opskit $(imgs_of "$id" "$n") ||
			{ echo "mdraid create failed"; return 1; }
		# shellcheck disable=SC2046
		fill_writes "$id" $seed $(imgs_of "$id" "$n") || { echo "mdraid write/read failed"; return 1; }
		# the member is lost; a new one full of random bytes takes its place
		mkimg "$W/$id$slot.img" "${sz}M" $((seed + 500))
		sa=""
		[ "$stop" = - ] || sa="--stop-after=$stop"
		# shellcheck disable=SC2046
		"$MDRAID" rebuild --slot="$slot" $sa "$W/$id$slot.img" $(imgs_of "$id" "$n" "$slot") ||
			{ echo "mdraid rebuild failed: exit $?"; return 1; }
		# shellcheck disable=SC2046
		"$MDRAID" read $(imgs_of "$id" "$n") | cmp - "$W/$id.shadow"
	}
	if rb >"$W/$id.rb" 2>&1; then
		tap_ok "$t: mdraid rebuild, read = shadow"
	else
		tap_fail "$t: mdraid rebuild, read = shadow" "$(head -n 8 "$W/$id.rb")"
	fi
	imgs="$imgs $(imgs_of "$id" "$n")"
	echo "$id $lvl $n $first $slot $stop" >>"$W/in/arrays"
	first=$((first + n))
done <<EOF
$ARRAYS
EOF
nar=$(wc -l <"$W/in/arrays")
truncate -s $((nar * 2 * 128))M "$W/export.img"

cat >"$W/body" <<EOF
E=\$M$first
EOF
cat >>"$W/body" <<'EOF'
k=0
while read -r id lvl n first slot stop; do
	md=md$k
	mems=$(range "$first" "$n")
	eval "new=\$M$((first + slot))"
	mdadm --examine "$new" >"/out/$id.new.examine" 2>&1
	if [ "$stop" != - ]; then
		# slow the recovery down to see where it starts
		echo 1 >/proc/sys/dev/raid/speed_limit_min
		echo 1 >/proc/sys/dev/raid/speed_limit_max
	fi
	mdadm --assemble "/dev/$md" $mems >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	sleep 0.5
	if [ "$stop" != - ]; then
		# the recovery thread may take a moment to start under TCG
		n=0
		while [ $n -lt 100 ] && [ "$(cat "/sys/block/$md/md/sync_completed")" = none ]; do
			sleep 0.1
			n=$((n + 1))
		done
	fi
	say "$id.action" "$(cat "/sys/block/$md/md/sync_action")"
	say "$id.completed" "$(cat "/sys/block/$md/md/sync_completed")"
	# a bitmap older than the superblocks makes the kernel resync it all
	say "$id.stale_bitmap" "$(dmesg | grep -c "$md: bitmap file is out of date")"
	if [ "$stop" != - ]; then
		echo 1000 >/proc/sys/dev/raid/speed_limit_min
		echo 200000 >/proc/sys/dev/raid/speed_limit_max
		wait_idle "$md"
		say "$id.recovery_msgs" "$(dmesg | grep -c "md: recovery of RAID array $md\$")"
	fi
	export_check "$md" "$id" "$E" $((k * 2 * 134217728))
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	mdadm --examine "$new" >"/out/$id.new.examine.after" 2>&1
	# through the rebuilt member: two others left out (RAID5: one)
	part=""
	left=0
	i=0
	while [ $i -lt "$n" ]; do
		if [ $i -ne "$slot" ] && [ $left -lt $((lvl - 4)) ]; then
			left=$((left + 1))
		else
			part="$part $(range $((first + i)) 1)"
		fi
		i=$((i + 1))
	done
	mdadm --assemble --run "/dev/$md" $part >"/out/$id.assemble2" 2>&1
	say "$id.degraded_assembled" $?
	export_dev "/dev/$md" "$E" $(((k * 2 + 1) * 134217728)) | sed "s/^$md\./$id.degraded_/"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	k=$((k + 1))
done </in/arrays
true
EOF
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 400 -o "$W/out" -i "$W/in" "$W/script" $imgs "$W/export.img"
rc=$?

k=0
while read -r id lvl n first slot stop; do
	t=$(echo "$ARRAYS" | while read -r i2 l2 n2 c2 m2 la2 b2 s2 sl2 st2; do
		[ "$i2" = "$id" ] && title "$i2" "$l2" "$n2" "$c2" "$m2" "$la2" "$b2" "$s2" "$sl2" "${st2#-}"
	done)
	bytes=$(stat -c %s "$W/$id.shadow")
	content_ok() { # export slot index
		[ "$(kv "$W/kv" "$id.$2bytes")" = "$bytes" ] &&
			slice "$W/export.img" $(($1 * 134217728)) "$bytes" | cmp -s - "$W/$id.shadow"
	}
	ex=$W/out/$id.new.examine
	if [ "$stop" = - ]; then
		if grep -q 'Checksum : [0-9a-f]* - correct' "$ex" && ! grep -q 'Recovery Offset' "$ex" &&
			grep -q "Device Role : Active device $slot" "$ex"; then
			tap_ok "$t: examine of the new member: checksum correct, in sync"
		else
			tap_fail "$t: examine of the new member: checksum correct, in sync" \
				"$(grep -E 'Checksum|Recovery|Role|Feature' "$ex")"
		fi
		if [ "$(kv "$W/kv" "$id.assembled")" = 0 ] && [ "$(kv "$W/kv" "$id.action")" = idle ] &&
			[ "$(kv "$W/kv" "$id.stale_bitmap")" = 0 ] &&
			content_ok $((k * 2)) "" && [ "$(kv "$W/kv" "$id.mismatch")" = 0 ]; then
			tap_ok "$t: kernel assembles clean, content = shadow, mismatch_cnt 0"
		else
			tap_fail "$t: kernel assembles clean, content = shadow, mismatch_cnt 0" \
				"$(grep "^$id\." "$W/kv"; head -n 5 "$W/out/$id.assemble")"
		fi
		if [ "$(kv "$W/kv" "$id.degraded_assembled")" = 0 ] && content_ok $((k * 2 + 1)) degraded_; then
			tap_ok "$t: kernel reads through the rebuilt member with others missing"
		else
			tap_fail "$t: kernel reads through the rebuilt member with others missing" \
				"$(head -n 5 "$W/out/$id.assemble2")"
		fi
	else
		# where mdraid stopped, in sectors from the data offset
		ro=$(sed -n 's/^ *Recovery Offset : \([0-9]*\) sectors.*/\1/p' "$ex")
		done_at=$(kv "$W/kv" "$id.completed" | cut -d' ' -f1)
		if [ -n "$ro" ] && [ "$ro" -gt 0 ] && [ "$(kv "$W/kv" "$id.action")" = recover ] &&
			[ "$(kv "$W/kv" "$id.recovery_msgs")" -ge 1 ] 2>/dev/null &&
			[ "$(kv "$W/kv" "$id.stale_bitmap")" = 0 ] &&
			[ -n "$done_at" ] && [ "$done_at" -ge "$ro" ] 2>/dev/null; then
			tap_ok "$t: kernel resumes the recovery from mdraid's checkpoint"
		else
			tap_fail "$t: kernel resumes the recovery from mdraid's checkpoint" \
				"$(echo "mdadm --examine: Recovery Offset '$ro'"; grep "^$id\." "$W/kv")"
		fi
		if content_ok $((k * 2)) "" && [ "$(kv "$W/kv" "$id.mismatch")" = 0 ] &&
			! grep -q 'Recovery Offset' "$W/out/$id.new.examine.after"; then
			tap_ok "$t: kernel finishes it: content = shadow, mismatch_cnt 0"
		else
			tap_fail "$t: kernel finishes it: content = shadow, mismatch_cnt 0" \
				"$(grep "^$id\." "$W/kv"; grep Recovery "$W/out/$id.new.examine.after")"
		fi
	fi
	k=$((k + 1))
done <"$W/in/arrays"
tap_done
