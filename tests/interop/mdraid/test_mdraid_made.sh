#!/bin/sh
# test_mdraid_made.sh: arrays mdraid created and wrote are accepted by the
# kernel.
#
# On the host, per geometry: mdraid create (without --assume-clean, so mdraid
# makes P/Q consistent itself) on members full of random bytes; a shadow file
# starts as mdraid's view of the array; mdraid write then puts sequential runs
# and random unaligned pieces into the array and dd puts the same bytes into
# the shadow; mdraid read must equal the shadow. One guest boot then, per
# array: mdadm --assemble, the size and the content (exported) equal the
# shadow with no resync started (nor the bitmap found out of date), `echo check > sync_action` ends with
# mismatch_cnt 0, mdadm --examine (before assembly) says every checksum is
# correct and the state clean, mdadm --detail says clean; and assembled
# again with two members left out (one for RAID5), the kernel's degraded read
# equals the shadow too.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id level members chunk_KiB metadata layout bitmap member_MiB
ARRAYS="a 6 4 64 1.2 left-symmetric none 32
b 6 5 512 1.0 right-asymmetric internal 32
c 6 8 64 1.1 left-asymmetric none 16
d 5 4 512 1.2 left-symmetric internal 16
e 6 6 64 1.2 right-symmetric internal 16
f 5 3 64 1.0 right-asymmetric none 16"
SUBS="mdraid create
mdraid write, read = shadow
kernel assembles clean, size and content = shadow
check: mismatch_cnt 0
mdadm --examine: checksums correct, state clean
kernel degraded read = shadow"

title() { echo "$1: raid$2 n$3 ${4}K v$5 $6 bitmap=$7"; }
all_skip() {
	echo "$ARRAYS" | while read -r id lvl n c meta lay bm sz; do
		t=$(title "$id" "$lvl" "$n" "$c" "$meta" "$lay" "$bm")
		echo "$SUBS" | while read -r s; do echo "$t: $s"; done
	done >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
why=$(mdraid_lacks create) && all_skip "$why"

mkimg "$W/src.img" 8M 3999
members() { # ID N: the image paths
	i=0
	while [ $i -lt "$2" ]; do
		printf '%s ' "$W/$1$i.img"
		i=$((i + 1))
	done
}
# put ID N OFF LEN SRC_OFF: mdraid write LEN bytes of src.img at SRC_OFF to
# array offset OFF, and the same into the shadow
put() {
	slice "$W/src.img" "$5" "$4" >"$W/piece"
	# shellcheck disable=SC2046
	"$MDRAID" write --offset="$3" $(members "$1" "$2") <"$W/piece" 2>>"$W/$1.write.err" || return 1
	dd if="$W/piece" of="$W/$1.shadow" bs=64K oflag=seek_bytes seek="$3" conv=notrunc 2>/dev/null
}

seed=4000
first=0
imgs=""
mkdir -p "$W/in"
: >"$W/in/arrays"
: >"$W/results"
while read -r id lvl n c meta lay bm sz; do
	t=$(title "$id" "$lvl" "$n" "$c" "$meta" "$lay" "$bm")
	i=0
	while [ $i -lt "$n" ]; do
		mkimg "$W/$id$i.img" "${sz}M" $seed
		seed=$((seed + 1))
		i=$((i + 1))
	done
	# shellcheck disable=SC2046
	if ! "$MDRAID" create --level="$lvl" --raid-devices="$n" --chunk="${c}K" --metadata="$meta" \
		--layout="$lay" --bitmap="$bm" --homehost=opskit $(members "$id" "$n") >"$W/$id.create" 2>&1; then
		tap_fail "$t: mdraid create" "$(head -n 5 "$W/$id.create")"
		echo "$SUBS" | sed 1d | while read -r s; do echo "$t: $s"; done >"$W/names"
		skip_each "mdraid create failed" <"$W/names"
		continue
	fi
	tap_ok "$t: mdraid create"
	# shellcheck disable=SC2046
	"$MDRAID" read $(members "$id" "$n") >"$W/$id.shadow" 2>"$W/$id.read.err"
	bytes=$(stat -c %s "$W/$id.shadow")
	if [ "$bytes" -eq 0 ]; then
		tap_fail "$t: mdraid write, read = shadow" "mdraid read after create: $(head -n 3 "$W/$id.read.err")"
	else
		w() {
			dd=$((n - lvl + 4))
			[ "$lvl" = 5 ] && dd=$((n - 1))
			stripe=$((dd * c * 1024))
			# sequential: three full stripes from 0, then runs of odd sizes
			put "$id" "$n" 0 $((3 * stripe)) 0 || return 1
			o=$((3 * stripe))
			for l in 4096 100000 $((stripe + 513)) 777; do
				put "$id" "$n" $o $l $((o % 4000000)) || return 1
				o=$((o + l))
			done
			# random unaligned pieces anywhere, the last one ending at the end
			awk -v s="$seed" -v b="$bytes" 'BEGIN { srand(s); for (i = 0; i < 24; i++) {
				l = 1 + int(rand() * 300000); o = int(rand() * (b - l)); printf "%d %d %d\n", o, l, int(rand() * 8000000) }
				printf "%d %d %d\n", b - 12345, 12345, 99 }' |
				while read -r o l so; do
					[ $((so + l)) -gt 8388608 ] && so=$((8388608 - l))
					put "$id" "$n" "$o" "$l" "$so" || return 1
				done || return 1
			# shellcheck disable=SC2046
			"$MDRAID" read $(members "$id" "$n") >"$W/$id.readback" 2>"$W/$id.read.err" || return 1
			cmp "$W/$id.shadow" "$W/$id.readback"
		}
		if w >"$W/$id.w.out" 2>&1; then
			tap_ok "$t: mdraid write, read = shadow"
		else
			tap_fail "$t: mdraid write, read = shadow" "$(cat "$W/$id.w.out" "$W/$id.write.err" "$W/$id.read.err" 2>/dev/null | head -n 8)"
		fi
	fi
	imgs="$imgs $(members "$id" "$n")"
	echo "$id $lvl $n $first" >>"$W/in/arrays"
	first=$((first + n))
done <<EOF
$ARRAYS
EOF
E=$first
nar=$(wc -l <"$W/in/arrays")
truncate -s $((nar * 2 * 128))M "$W/export.img"

cat >"$W/body" <<EOF
E=\$M$E
EOF
cat >>"$W/body" <<'EOF'
k=0
while read -r id lvl n first; do
	md=md$k
	mems=$(range "$first" "$n")
	# what mdraid wrote, before the kernel touches it
	examine_to "$id" $mems
	mdadm --assemble "/dev/$md" $mems >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	say "$id.sectors" "$(blockdev --getsz "/dev/$md")"
	say "$id.resync" "$(cat "/sys/block/$md/md/sync_action")"
	# a bitmap older than the superblocks makes the kernel resync it all
	say "$id.stale_bitmap" "$(dmesg | grep -c "$md: bitmap file is out of date")"
	export_check "$md" "$id" "$E" $((k * 2 * 134217728))
	mdadm --detail "/dev/$md" >"/out/$id.detail" 2>&1
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	# degraded: leave out the first two members (RAID5: the second)
	if [ "$lvl" = 6 ]; then
		part=$(range $((first + 2)) $((n - 2)))
	else
		part="$(range "$first" 1) $(range $((first + 2)) $((n - 2)))"
	fi
	mdadm --assemble --run "/dev/$md" $part >"/out/$id.assemble2" 2>&1
	say "$id.degraded_assembled" $?
	export_dev "/dev/$md" "$E" $(((k * 2 + 1) * 134217728)) | sed "s/^$md\./$id.degraded_/"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	k=$((k + 1))
done </in/arrays
EOF
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 400 -o "$W/out" -i "$W/in" "$W/script" $imgs "$W/export.img"
rc=$?

k=0
while read -r id lvl n first; do
	t=$(echo "$ARRAYS" | while read -r i2 l2 n2 c2 m2 la2 b2 s2; do
		[ "$i2" = "$id" ] && title "$i2" "$l2" "$n2" "$c2" "$m2" "$la2" "$b2"
	done)
	bytes=$(stat -c %s "$W/$id.shadow")
	got=$(kv "$W/kv" "$id.bytes")
	# clean: the kernel starts no resync of what mdraid made
	if [ "$(kv "$W/kv" "$id.assembled")" = 0 ] && [ "$got" = "$bytes" ] &&
		[ "$(kv "$W/kv" "$id.resync")" = idle ] && [ "$(kv "$W/kv" "$id.stale_bitmap")" = 0 ] &&
		slice "$W/export.img" $((k * 2 * 134217728)) "$bytes" | cmp -s - "$W/$id.shadow"; then
		tap_ok "$t: kernel assembles clean, size and content = shadow"
	else
		tap_fail "$t: kernel assembles clean, size and content = shadow" \
			"$(echo "kernel: $got bytes, mdraid: $bytes, sync_action $(kv "$W/kv" "$id.resync")," \
				"bitmap out of date: $(kv "$W/kv" "$id.stale_bitmap")"
				head -n 5 "$W/out/$id.assemble" 2>/dev/null)"
	fi
	m=$(kv "$W/kv" "$id.mismatch")
	[ "$m" = 0 ] && tap_ok "$t: check: mismatch_cnt 0" || tap_fail "$t: check: mismatch_cnt 0" "mismatch_cnt '$m'"
	ex() {
		f=0
		i=0
		while [ $i -lt "$n" ]; do
			e=$W/out/$id.$i.examine
			grep -q 'Checksum : [0-9a-f]* - correct' "$e" || { echo "member $i: $(grep Checksum "$e")"; f=1; }
			grep -q 'State : clean' "$e" || { echo "member $i: $(grep 'State :' "$e" | head -n 1)"; f=1; }
			i=$((i + 1))
		done
		grep -qE 'State : clean ?$' "$W/out/$id.detail" || { echo "detail: $(grep 'State :' "$W/out/$id.detail")"; f=1; }
		return $f
	}
	tap_check "$t: mdadm --examine: checksums correct, state clean" ex
	got=$(kv "$W/kv" "$id.degraded_bytes")
	if [ "$(kv "$W/kv" "$id.degraded_assembled")" = 0 ] && [ "$got" = "$bytes" ] &&
		slice "$W/export.img" $(((k * 2 + 1) * 134217728)) "$bytes" | cmp -s - "$W/$id.shadow"; then
		tap_ok "$t: kernel degraded read = shadow"
	else
		tap_fail "$t: kernel degraded read = shadow" \
			"$(echo "kernel: $got bytes"; head -n 5 "$W/out/$id.assemble2" 2>/dev/null)"
	fi
	k=$((k + 1))
done <"$W/in/arrays"
tap_done
