#!/bin/sh
# test_kernel_read.sh: arrays the kernel made are read by mdraid.
#
# One guest boot: mdadm --create makes seven arrays on members filled with
# random bytes (RAID6 with 4, 5, 6 and 8 members, RAID5 with 3 and 4; chunks
# 64K and 512K; metadata 1.0, 1.1 and 1.2; layouts 0-3, 5, 17, 18 and 20;
# with and without an internal bitmap; two arrays in metadata 0.90, so that
# mdraid detail meets mdadm --detail of 0.90 too), the kernel resyncs them, writes random data (aligned and
# unaligned) through /dev/mdN, and leaves each in one on-disk state: clean,
# active (dirty, powered off while running), degraded with a genuinely stale
# member (failed, then written without it), rebuilding (a fresh member
# recovered up to sync_max, then stopped), corrupt (bytes of a member
# overwritten behind md's back, then a kernel check counts the mismatches). The guest exports what the kernel
# reads from each array onto an export disk, and records mdadm --examine of
# every member and mdadm --detail of each array.
#
# On the host, per array: mdraid read equals the kernel's content; so does
# every read with one member, and (RAID6) every pair of members, given as
# "missing" over at least n stripes; mdraid check finds as many mismatched
# sectors as the kernel's mismatch_cnt; mdraid examine of every member equals
# mdadm --examine; mdraid detail agrees with mdadm --detail.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id level members chunk_KiB metadata layout bitmap member_MiB state
ARRAYS="a 6 4 64 1.2 left-symmetric none 32 clean
b 6 5 512 1.0 right-asymmetric internal 32 active
c 6 8 64 1.1 left-asymmetric none 16 degraded
d 5 4 64 1.2 left-symmetric internal 16 rebuilding
e 6 6 512 1.2 right-symmetric internal 16 clean
f 6 5 64 1.2 left-symmetric-6 none 16 clean
g 5 3 512 1.0 right-asymmetric none 16 clean
h 6 4 64 1.1 right-asymmetric-6 internal 16 clean
i 6 5 512 1.0 parity-first-6 none 16 clean
j 5 4 64 1.2 parity-last none 16 clean
k 6 4 64 1.2 left-symmetric none 16 corrupt
l 6 5 64 0.90 right-asymmetric none 16 degraded
m 5 4 64 0.90 left-symmetric internal 16 clean"
STALE_SLOT=2      # array c: this member is failed, then the array is written
REBUILD_SLOT=1    # array d: this member is replaced by a fresh one
REBUILD_SECTORS=8192

case_names() {
	echo "$ARRAYS" | while read -r id lvl n c meta lay bm sz state; do
		t="$id: raid$lvl n$n ${c}K v$meta $lay bitmap=$bm $state"
		echo "$t: kernel made it"
		if [ "$state" = corrupt ]; then
			echo "$t: mdraid check total = kernel's mismatch_cnt"
			echo "$t: mdraid repair, then mdraid check finds none"
			continue
		fi
		echo "$t: mdraid read = kernel's content"
		# rebuilding: singles only below the recovery offset (own case);
		# degraded: a pair plus the stale member is three missing
		[ "$state" = rebuilding ] || echo "$t: one member missing, each"
		[ "$lvl" = 6 ] && [ "$state" != degraded ] && echo "$t: two members missing, every pair"
		echo "$t: mdraid examine = mdadm --examine, every member"
		echo "$t: mdraid detail = mdadm --detail"
		echo "$t: mdraid detail --brief = mdadm --detail --brief"
		[ "$state" = degraded ] && echo "$t: stale member left out with another missing"
		[ "$state" = rebuilding ] && echo "$t: rebuilt part used with another missing"
	done
}
if [ -n "$GUEST_SKIP" ]; then
	case_names >"$W/names"
	skip_each "$GUEST_SKIP" <"$W/names"
	tap_done
fi

# --- members, the data disk, the export disk, and the guest script ---------
imgs=""
first=0
body=$W/body
: >"$body"
seed=1000
echo "$ARRAYS" >"$W/arrays"
k=0
while read -r id lvl n c meta lay bm sz state; do
	i=0
	while [ $i -lt "$n" ]; do
		mkimg "$W/$id$i.img" "${sz}M" $seed
		seed=$((seed + 1))
		imgs="$imgs $W/$id$i.img"
		i=$((i + 1))
	done
	echo "$id $first" >>"$W/first"
	first=$((first + n))
	k=$((k + 1))
done <"$W/arrays"
X=$first          # data disk: random bytes the guest writes into the arrays
E=$((first + 1))  # export disk: array k's content at k * 128 MiB
mkimg "$W/data.img" 16M 999
truncate -s $((k * 128))M "$W/export.img"

cat >>"$body" <<EOF
X=\$M$X
E=\$M$E
STALE_SLOT=$STALE_SLOT
REBUILD_SLOT=$REBUILD_SLOT
REBUILD_SECTORS=$REBUILD_SECTORS
EOF
cat >>"$body" <<'EOF'
# write_data MD: random data through the md device, 4 MiB at 0 and unaligned
# sector runs spread over the array, each from a different place of $X
write_data() {
	dd if="$X" of="/dev/$1" bs=1M count=4 conv=notrunc,fsync 2>/dev/null
	sz=$(blockdev --getsz "/dev/$1")
	for p in 3 5 7 11; do
		dd if="$X" of="/dev/$1" bs=512 skip=$((p * 4099)) seek=$((sz * p / 13 + p)) \
			count=$((p * 37)) conv=notrunc,fsync 2>/dev/null
	done
}
k=0
while read -r id lvl n c meta lay bm sz state first; do
	md=md$k
	mems=$(range "$first" "$n")
	name=""
	[ "$id" = b ] && name="--name=data"
	mdadm --create "/dev/$md" --run --level="$lvl" --raid-devices="$n" --chunk="$c" \
		--metadata="$meta" --layout="$lay" --bitmap="$bm" --homehost=opskit $name \
		$mems >"/out/$id.create" 2>&1 || say "$id.create_failed" 1
	wait_idle "$md"
	write_data "$md"
	case $state in
	active)
		# dirty on disk: no safe-mode clean-up before the power goes
		echo 3600 >"/sys/block/$md/md/safe_mode_delay"
		dd if="$X" of="/dev/$md" bs=4096 seek=100 count=3 conv=notrunc,fsync 2>/dev/null
		;;
	corrupt)
		# overwrite 8 bytes in two places of member 1's data area
		# behind md's back; the kernel's check counts the stripes
		mdadm --stop "/dev/$md" >/dev/null 2>&1
		eval "victim=\$M$((first + 1))"
		dof=$(mdadm --examine "$victim" | sed -n 's/^ *Data Offset : \([0-9]*\) sectors.*/\1/p')
		for o in 70000 700000; do
			printf 'garbage!' | dd of="$victim" bs=1 seek=$((dof * 512 + o)) conv=notrunc 2>/dev/null
		done
		mdadm --assemble "/dev/$md" $mems >>"/out/$id.create" 2>&1
		md_check "$md" | sed "s/^$md\./$id./"
		;;
	degraded)
		eval "stale=\$M$((first + STALE_SLOT))"
		mdadm "/dev/$md" --fail "$stale" --remove "$stale" >>"/out/$id.create" 2>&1
		# the stale member misses these writes
		dd if="$X" of="/dev/$md" bs=1M seek=1 skip=7 count=2 conv=notrunc,fsync 2>/dev/null
		dd if="$X" of="/dev/$md" bs=512 seek=333 skip=3 count=9 conv=notrunc,fsync 2>/dev/null
		;;
	rebuilding)
		eval "fresh=\$M$((first + REBUILD_SLOT))"
		mdadm "/dev/$md" --fail "$fresh" --remove "$fresh" >>"/out/$id.create" 2>&1
		dd if="$X" of="/dev/$md" bs=1M seek=2 skip=9 count=1 conv=notrunc,fsync 2>/dev/null
		mdadm --zero-superblock "$fresh"
		echo "$REBUILD_SECTORS" >"/sys/block/$md/md/sync_max"
		mdadm "/dev/$md" --add "$fresh" >>"/out/$id.create" 2>&1
		n=0
		while [ $n -lt 600 ]; do
			case $(cat "/sys/block/$md/md/sync_completed") in
			"$REBUILD_SECTORS "*) break ;;
			esac
			sleep 0.1
			n=$((n + 1))
		done
		say "$id.sync_completed" "$(cat "/sys/block/$md/md/sync_completed")"
		;;
	esac
	export_dev "/dev/$md" "$E" $((k * 134217728)) | sed "s/^$md\./$id./"
	# the O_DIRECT export can end inside md's safe-mode delay after the
	# last write: mdadm --detail would say active where the stopped
	# members say clean (a fresh-clone make check saw it once)
	case $state in clean | degraded | corrupt) wait_clean "/dev/$md" ;; esac
	mdadm --detail "/dev/$md" >"/out/$id.detail" 2>&1
	mdadm --detail --brief "/dev/$md" >"/out/$id.brief" 2>&1
	[ "$state" = active ] || mdadm --stop "/dev/$md" >/dev/null 2>&1
	examine_to "$id" $mems
	k=$((k + 1))
done </in/arrays
EOF
mkdir -p "$W/in"
paste -d' ' "$W/arrays" "$W/first" | awk '{ $10 = $11; NF = 10; print }' >"$W/in/arrays"
guest_script "$W/script" "$body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 400 -o "$W/out" -i "$W/in" "$W/script" $imgs "$W/data.img" \
	"$W/export.img"
rc=$?

# --- the checks, per array ---------------------------------------------------
# members ID N [MISSING...]: the image paths of array ID, "missing" for the
# slots listed
members() {
	mid=$1
	mn=$2
	shift 2
	mi=0
	while [ $mi -lt "$mn" ]; do
		case " $* " in
		*" $mi "*) printf 'missing ' ;;
		*) printf '%s ' "$W/$mid$mi.img" ;;
		esac
		mi=$((mi + 1))
	done
}
# read_cmp ID N OFF LEN EXPECT_FILE [MISSING...]: mdraid read of the range
# equals the same range of EXPECT_FILE
read_cmp() {
	rid=$1
	rn=$2
	roff=$3
	rlen=$4
	rexp=$5
	shift 5
	# shellcheck disable=SC2046
	"$MDRAID" read --offset="$roff" --length="$rlen" $(members "$rid" "$rn" "$@") \
		>"$W/got" 2>"$W/got.err" || { echo "missing [$*]: exit $?: $(head -n 3 "$W/got.err")"; return 1; }
	slice "$rexp" "$roff" "$rlen" >"$W/want"
	cmp "$W/want" "$W/got" >"$W/cmp" 2>&1 || { echo "missing [$*]: $(head -n 1 "$W/cmp")"; return 1; }
}
# detail_fields: the lines of a --detail report both sides must agree on
detail_fields() {
	grep -E '^ *(Version|Raid Level|Array Size|Used Dev Size|Raid Devices|Total Devices|Persistence|Intent Bitmap|State|Active Devices|Working Devices|Failed Devices|Spare Devices|Layout|Chunk Size|Consistency Policy|Rebuild Status|Name|UUID) :' |
		sed 's/[[:space:]]*$//'
}

k=0
while read -r id lvl n c meta lay bm sz state first; do
	t="$id: raid$lvl n$n ${c}K v$meta $lay bitmap=$bm $state"
	bytes=$(kv "$W/kv" "$id.bytes")
	if [ $rc -ne 0 ] || [ -z "$bytes" ] || [ -n "$(kv "$W/kv" "$id.create_failed")" ]; then
		tap_fail "$t: kernel made it" "$(cat "$W/out/$id.create" 2>/dev/null | head -n 5)"
		case_names | grep -F "$t: " | sed 1d >"$W/names"
		skip_each "the guest did not make the array" <"$W/names"
		k=$((k + 1))
		continue
	fi
	tap_ok "$t: kernel made it"
	if [ "$state" = corrupt ]; then
		if why=$(mdraid_lacks check); then
			skip_cases "$why" "$t: mdraid check total = kernel's mismatch_cnt" \
				"$t: mdraid repair, then mdraid check finds none"
		else
			ck() {
				# shellcheck disable=SC2046
				"$MDRAID" check $(members "$id" "$n") >"$W/$id.check" 2>&1
				crc=$?
				km=$(kv "$W/kv" "$id.mismatch")
				got=$(sed -n 's/^mismatch_cnt \([0-9]*\).*/\1/p' "$W/$id.check")
				[ "$crc" = 1 ] && [ -n "$km" ] && [ "$km" -gt 0 ] && [ "$got" = "$km" ] ||
					{ echo "kernel mismatch_cnt '$km'; mdraid check exit $crc:"; head -n 8 "$W/$id.check"; return 1; }
			}
			tap_check "$t: mdraid check total = kernel's mismatch_cnt" ck
			rp() {
				# shellcheck disable=SC2046
				"$MDRAID" repair $(members "$id" "$n") >"$W/$id.repair" 2>&1
				# shellcheck disable=SC2046
				"$MDRAID" check $(members "$id" "$n") >"$W/$id.check2" 2>&1 ||
					{ echo "mdraid check after repair: exit $?"; head -n 5 "$W/$id.check2"; return 1; }
			}
			tap_check "$t: mdraid repair, then mdraid check finds none" rp
		fi
		k=$((k + 1))
		continue
	fi
	slice "$W/export.img" $((k * 134217728)) "$bytes" >"$W/$id.content"
	if why=$(mdraid_lacks read); then
		case_names | grep -F "$t: " | grep -E 'content|missing, (each|every pair)' >"$W/names"
		skip_each "$why" <"$W/names"
	else
		tap_check "$t: mdraid read = kernel's content" read_cmp "$id" "$n" 0 "$bytes" "$W/$id.content"
		# n + 1 stripes from an unaligned offset: every parity rotation
		dd=$((n - lvl + 4))
		[ "$lvl" = 5 ] && dd=$((n - 1))
		len=$(((n + 1) * dd * c * 1024))
		off=$((c * 1024 * dd + 4096 + 512))
		[ $((off + len)) -gt "$bytes" ] && len=$((bytes - off))
		singles() {
			f=0
			s=0
			while [ $s -lt "$n" ]; do
				read_cmp "$id" "$n" "$off" "$len" "$W/$id.content" $s || f=1
				s=$((s + 1))
			done
			[ $f -eq 0 ]
		}
		pairs() {
			f=0
			s=0
			while [ $s -lt "$n" ]; do
				u=$((s + 1))
				while [ $u -lt "$n" ]; do
					read_cmp "$id" "$n" "$off" "$len" "$W/$id.content" $s $u || f=1
					u=$((u + 1))
				done
				s=$((s + 1))
			done
			[ $f -eq 0 ]
		}
		# rebuilding: with another member missing the fresh one is
		# needed, valid only below the recovery offset ("rebuilt part
		# used" below); degraded: pairs with the stale member are the
		# "stale member left out" case
		[ "$state" = rebuilding ] || tap_check "$t: one member missing, each" singles
		[ "$lvl" = 6 ] && [ "$state" != degraded ] && tap_check "$t: two members missing, every pair" pairs
	fi
	if why=$(mdraid_lacks examine); then
		tap_skip "$t: mdraid examine = mdadm --examine, every member" "$why"
	else
		tap_check "$t: mdraid examine = mdadm --examine, every member" \
			examine_cmp "$W/out/$id" "$W/$id" "$n"
	fi
	if why=$(mdraid_lacks detail); then
		skip_cases "$why" "$t: mdraid detail = mdadm --detail" "$t: mdraid detail --brief = mdadm --detail --brief"
	else
		det() {
			detail_fields <"$W/out/$id.detail" >"$W/want"
			# shellcheck disable=SC2046
			"$MDRAID" detail $(members "$id" "$n") 2>&1 | detail_fields >"$W/got"
			diff -u "$W/want" "$W/got" | sed -n '3,30p'
			cmp -s "$W/want" "$W/got"
		}
		tap_check "$t: mdraid detail = mdadm --detail" det
		# the ARRAY line's words, without the device name (/dev/md0 in
		# the guest, /dev/md/0 from members)
		brief_words() {
			tr ' ' '\n' | grep -E '^(metadata|name|UUID|spares)=' | sort
		}
		brief() {
			brief_words <"$W/out/$id.brief" >"$W/want"
			# shellcheck disable=SC2046
			"$MDRAID" detail --brief $(members "$id" "$n") 2>&1 | brief_words >"$W/got"
			[ -s "$W/want" ] || { echo "no mdadm --detail --brief"; return 1; }
			diff -u "$W/want" "$W/got" | sed -n '3,10p'
			cmp -s "$W/want" "$W/got"
		}
		tap_check "$t: mdraid detail --brief = mdadm --detail --brief" brief
	fi
	if [ "$state" = degraded ]; then
		if why=$(mdraid_lacks read); then
			tap_skip "$t: stale member left out with another missing" "$why"
		else
			stale2() {
				f=0
				s=0
				while [ $s -lt "$n" ]; do
					if [ $s -ne $STALE_SLOT ]; then
						read_cmp "$id" "$n" 0 "$bytes" "$W/$id.content" $s || f=1
					fi
					s=$((s + 1))
				done
				[ $f -eq 0 ]
			}
			tap_check "$t: stale member left out with another missing" stale2
		fi
	fi
	if [ "$state" = rebuilding ]; then
		if why=$(mdraid_lacks read); then
			tap_skip "$t: rebuilt part used with another missing" "$why"
		else
			rebuilt() {
				# whole stripes below the recovery offset mdadm saw
				ro=$(sed -n 's/^ *Recovery Offset : \([0-9]*\) sectors.*/\1/p' \
					"$W/out/$id.$REBUILD_SLOT.examine")
				[ -n "$ro" ] && [ "$ro" -gt 0 ] || { echo "no Recovery Offset in mdadm --examine"; return 1; }
				below=$((ro / (c * 2) * c * 1024 * (n - 1)))
				f=0
				s=0
				while [ $s -lt "$n" ]; do
					if [ $s -ne $REBUILD_SLOT ]; then
						read_cmp "$id" "$n" 0 "$below" "$W/$id.content" $s || f=1
					fi
					s=$((s + 1))
				done
				[ $f -eq 0 ]
			}
			tap_check "$t: rebuilt part used with another missing" rebuilt
		fi
	fi
	k=$((k + 1))
done <"$W/in/arrays"
tap_done
