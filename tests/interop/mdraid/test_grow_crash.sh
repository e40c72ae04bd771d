#!/bin/sh
# test_grow_crash.sh: a grow killed inside a superblock round, judged by the
# kernel and mdadm 4.2 in the guest (issue 15).
#
# On the host, mdraid creates and fills an array (shadow file), then grows it
# with --simulate-crash=start:K or final:K: it stops as a SIGKILL would just
# before superblock write K of the START round (new members first, then the
# old ones) or of the end rounds (NEW_OFFSET: 5 data_offset writes, then 5
# flag writes; otherwise the flag writes only), the writes before it durable.
# Boot: mdadm --assemble in the guest either refuses the array, or assembles
# it and then the old content must read back unchanged and check must give
# mismatch_cnt 0 (never a clean assembly with other data). Back on the host,
# `mdraid grow --continue` finishes whatever is left (or finds nothing left
# when the kernel finished it) and `mdraid read` equals the shadow.
#
# make check boots once on a fixed sample; MDRAID_INTEROP_CRASH_ALL=1 runs
# every write of both rounds for each placement (v1.2 moving data_offset,
# v1.2 --backup-file, v1.0 backup on the new member, 0.90 --backup-file),
# in batches of boots (MDRAID_INTEROP_CRASH_ONLY=ERE picks ids: s|e for the
# start|end round, o|f|m|n for the placement, then K).
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id metadata placement round K
SAMPLE="co2 1.2 offset final 2
co7 1.2 offset final 7
cs2 1.2 offset start 2
cf2 1.2 file final 2"
cases() {
	if [ "${MDRAID_INTEROP_CRASH_ALL:-0}" != 1 ]; then
		echo "$SAMPLE"
		return
	fi
	for pl in "1.2 offset o" "1.2 file f" "1.0 member m" "0.90 file n"; do
		set -- $pl
		for k in 0 1 2 3 4; do echo "s$3$k $1 $2 start $k"; done
		nf=4
		[ "$2" = offset ] && nf=9
		k=0
		while [ $k -le $nf ]; do
			echo "e$3$k $1 $2 final $k"
			k=$((k + 1))
		done
	done
}
title() { echo "$1: v$2 $3, killed before superblock write $5 of the $4 round"; }

# MDRAID_INTEROP_CRASH_ONLY=ERE: only the cases whose id matches
cases | grep -E "^(${MDRAID_INTEROP_CRASH_ONLY:-.*}) " >"$W/cases"
if [ -n "$GUEST_SKIP$MDRAID_SKIP" ]; then
	while read -r id meta pl rd k; do title "$id" "$meta" "$pl" "$rd" "$k"; done <"$W/cases" >"$W/names"
	skip_each "$GUEST_SKIP$MDRAID_SKIP" <"$W/names"
	tap_done
fi

mkimg "$W/src.img" 8M 7998
seed=500
mkdir -p "$W/out"
: >"$W/kv"
# --- host: create, fill, grow until the simulated kill ---
: >"$W/made"
while read -r id meta pl rd k; do
	t=$(title "$id" "$meta" "$pl" "$rd" "$k")
	i=0
	while [ $i -lt 5 ]; do
		mkimg "$W/$id$i.img" 16M $seed
		seed=$((seed + 1))
		i=$((i + 1))
	done
	old="$W/${id}0.img $W/${id}1.img $W/${id}2.img $W/${id}3.img"
	ba=""
	[ "$pl" = file ] && ba="--backup-file=$W/$id.backup"
	mk() {
		# shellcheck disable=SC2086
		"$MDRAID" create --level=6 --raid-devices=4 --chunk=64K --metadata="$1" \
			--homehost=opskit $old || { echo "mdraid create failed"; return 1; }
		# shellcheck disable=SC2086
		fill_writes "$id" $seed $old || { echo "mdraid write/read failed"; return 1; }
		# shellcheck disable=SC2086
		"$MDRAID" grow --raid-devices=5 $ba --simulate-crash="$2:$3" $old "$W/${id}4.img" \
			>"$W/$id.grow.out" 2>&1
		_rc=$?
		[ $_rc -eq 1 ] && grep -q 'simulated crash' "$W/$id.grow.out" ||
			{ echo "mdraid grow: exit $_rc, expected 1 (simulated kill)"; head -n 5 "$W/$id.grow.out"; return 1; }
	}
	if mk "$meta" "$rd" "$k" >"$W/$id.mk" 2>&1 </dev/null; then
		echo "$id $meta $pl $rd $k" >>"$W/made"
		[ -f "$W/$id.backup" ] && cp "$W/$id.backup" "$W/out/"
	else
		tap_fail "$t" "$(head -n 10 "$W/$id.mk")"
	fi
done <"$W/cases"

# --- boots: mdadm --assemble in the guest, in batches of 8 arrays ---
cat >"$W/body" <<'EOF'
k=0
while read -r id first; do
	md=md$k
	bf=""
	[ -f "/in/$id.backup" ] && bf="--backup-file=/in/$id.backup"
	mdadm --assemble "/dev/$md" $bf $(range "$first" 5) >"/out/$id.assemble" 2>&1
	rc=$?
	say "$id.assembled" $rc
	if [ $rc -eq 0 ]; then
		wait_idle "$md"
		export_check "$md" "$id" "$E" $((k * 67108864))
		mdadm --stop "/dev/$md" >/dev/null 2>&1
	fi
	k=$((k + 1))
done </in/arrays
true
EOF
b=0
split -l 8 "$W/made" "$W/batch." 2>/dev/null
for f in "$W"/batch.*; do
	[ -s "$f" ] || continue
	in=$W/in.$b
	mkdir -p "$in"
	: >"$in/arrays"
	imgs=""
	n=0
	while read -r id meta pl rd k; do
		echo "$id $((n * 5))" >>"$in/arrays"
		[ -f "$W/out/$id.backup" ] && cp "$W/out/$id.backup" "$in/"
		imgs="$imgs $(imgs_of "$id" 5)"
		echo "$id $b $n" >>"$W/where"
		n=$((n + 1))
	done <"$f"
	truncate -s $((n * 64))M "$W/export.$b.img"
	{ echo "E=\$M$((n * 5))"; cat "$W/body"; } >"$W/body.$b"
	guest_script "$W/script.$b" "$W/body.$b"
	# shellcheck disable=SC2086
	boot "boot $b ($n arrays)" "$W/kv" "$W/err.$b" -t 500 -o "$W/out" -i "$in" "$W/script.$b" \
		$imgs "$W/export.$b.img"
	b=$((b + 1))
done

# --- judge, then finish on the host ---
while read -r id meta pl rd k; do
	t=$(title "$id" "$meta" "$pl" "$rd" "$k")
	read -r _ bno slot <<EOF
$(grep "^$id " "$W/where")
EOF
	bytes=$(stat -c %s "$W/$id.shadow")
	m="$(imgs_of "$id" 5)"
	judge() {
		a=$(kv "$W/kv" "$id.assembled")
		[ -n "$a" ] || { echo "the guest did not report on it"; return 1; }
		if [ "$a" = 0 ]; then
			slice "$W/export.$bno.img" $((slot * 67108864)) "$bytes" | cmp - "$W/$id.shadow" ||
				{ echo "mdadm assembled it and the kernel returned OTHER data"; return 1; }
			[ "$(kv "$W/kv" "$id.mismatch")" = 0 ] ||
				{ echo "mismatch_cnt $(kv "$W/kv" "$id.mismatch")"; return 1; }
			echo "assembled, content equal, mismatch_cnt 0"
		else
			echo "refused: $(head -n 2 "$W/out/$id.assemble" | tr '\n' ' ')"
		fi
		ba=""
		[ -f "$W/$id.backup" ] && ba="--backup-file=$W/$id.backup"
		# shellcheck disable=SC2086
		if ! "$MDRAID" grow --continue $ba -q $m >"$W/$id.cont" 2>&1; then
			grep -q 'nothing to continue' "$W/$id.cont" || { cat "$W/$id.cont"; return 1; }
		fi
		# shellcheck disable=SC2086
		"$MDRAID" read --length="$bytes" $m | cmp - "$W/$id.shadow" ||
			{ echo "after --continue: mdraid read differs"; return 1; }
	}
	if out=$(judge 2>&1); then
		tap_ok "$t: mdadm refuses or reads it right; --continue finishes ($(echo "$out" | head -n 1 | cut -c1-120))"
	else
		tap_fail "$t" "$(echo "$out" | head -n 10)"
	fi
done <"$W/made"
tap_done
