#!/bin/sh
# test_superblock.sh: the superblocks mdraid create writes are byte-equal to
# those mdadm --create writes, for the same geometry, member size and
# --assume-clean, except uuids, times, events and the checksum.
#
# Each geometry gets two identical sets of members (random bytes where the
# metadata goes, sparse elsewhere): mdadm --create in the guest writes one,
# mdraid create on the host the other. In the guest raid456 is unloaded first,
# so mdadm writes its superblocks and then fails at RUN_ARRAY: what is
# compared is exactly what mdadm wrote, not what the kernel made of it at
# start. Compared per member: everything from the start of the device to past
# the data offset and the last 8 MiB (v1.0 superblock, bitmap and bad-block
# log), byte for byte; differences are named by superblock field.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

# id level members chunk_KiB metadata layout bitmap member_size options
# ("-" = mdadm's default, not given to either tool)
GEOMS="c64k 6 4 64 1.2 - - 64M -
c512k 6 4 512 1.2 - - 64M -
defaults 6 4 - - - - 16M -
v10 6 5 64 1.0 right-asymmetric - 16M -
v11bm 6 4 512 1.1 left-symmetric internal 16M -
n8bm 6 8 64 1.2 right-asymmetric internal 16M -
raid5 5 3 64 1.2 left-asymmetric - 16M -
named 6 4 512 1.2 - none 16M --name=data
sized 6 4 64 1.2 - - 64M --size=40000
sized10bm 6 5 64 1.0 - internal 16M --size=9M
spare 6 4 64 1.2 - internal 16M --spare-devices=1
g2c64 6 4 64 1.2 - - 2G -
g2 6 4 512 1.2 - - 2G -
g16 6 4 512 1.2 - - 16G -
g16v10bm 6 4 512 1.0 - internal 16G -
g128 6 4 512 1.2 - - 128G -"
TAIL=$((8 << 20)) # compared at the end: v1.0 superblock, bitmap, bad-block log
# head_bytes SIZE: compared from the start, past the data offset (17 MiB for
# 16 GiB members, 129 MiB from 100 GiB)
head_bytes() {
	if [ "$1" -ge $((100 << 30)) ]; then
		echo $((136 << 20))
	else
		echo $((24 << 20))
	fi
}

geom_name() {
	echo "sb $1: raid$2 n$3 chunk=$4 v$5 layout=$6 bitmap=$7 $8 $9"
}
opts() { # level n chunk meta layout bitmap extra
	printf -- '--level=%s --raid-devices=%s' "$1" "$2"
	[ "$3" = - ] || printf ' --chunk=%s' "$3"
	[ "$4" = - ] || printf ' --metadata=%s' "$4"
	[ "$5" = - ] || printf ' --layout=%s' "$5"
	[ "$6" = - ] || printf ' --bitmap=%s' "$6"
	[ "$7" = - ] || printf ' %s' "$7"
	printf ' --homehost=opskit --assume-clean'
}
if [ -n "$GUEST_SKIP" ]; then
	echo "$GEOMS" | while read -r g; do echo "$(geom_name $g): superblocks equal mdadm's"; done >"$W/names"
	skip_each "$GUEST_SKIP" <"$W/names"
	tap_done
fi

# --- members: random where metadata goes, identical copies for mdraid -------
echo "$GEOMS" >"$W/geoms"
imgs=""
seed=2000
first=0
mkdir -p "$W/in"
: >"$W/in/geoms"
# members ID N EXTRA: how many members a geometry has (raid devices + spares)
members_of() {
	case $3 in
	*--spare-devices=*) echo $(($2 + ${3##*--spare-devices=})) ;;
	*) echo "$2" ;;
	esac
}
while read -r id lvl n c meta lay bm sz extra; do
	tot=$(members_of "$id" "$n" "$extra")
	bytes=$(numfmt --from=iec "$sz")
	HEAD=$(head_bytes "$bytes")
	i=0
	while [ $i -lt "$tot" ]; do
		if [ "$bytes" -le $((HEAD + TAIL)) ]; then
			mkimg "$W/$id.k$i.img" "$sz" $seed
		else
			mkimg "$W/$id.k$i.img" "$sz" $seed 0:$HEAD $((bytes - TAIL)):$TAIL
		fi
		cp --sparse=always "$W/$id.k$i.img" "$W/$id.u$i.img"
		imgs="$imgs $W/$id.k$i.img"
		seed=$((seed + 1))
		i=$((i + 1))
	done
	echo "$id $first $tot $(opts "$lvl" "$n" "$c" "$meta" "$lay" "$bm" "$extra")" >>"$W/in/geoms"
	first=$((first + tot))
done <"$W/geoms"

cat >"$W/body" <<'EOF'
# without the personality mdadm writes the superblocks, then RUN_ARRAY fails
rmmod raid456
# always md0: mdadm's default name is the md minor ("opskit:0")
while read -r id first n opts; do
	mdadm --create /dev/md0 --run $opts $(range "$first" "$n") >"/out/$id.create" 2>&1
	say "$id.rc" $?
	mdadm --stop /dev/md0 >/dev/null 2>&1
done </in/geoms
true
EOF
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 200 -o "$W/out" -i "$W/in" "$W/script" $imgs
rc=$?

# sb_compare ID N: compare the members mdadm (k) and mdraid (u) wrote
sb_compare() {
	f=0
	i=0
	while [ $i -lt "$2" ]; do
		a=$W/$1.k$i.img
		b=$W/$1.u$i.img
		bytes=$(stat -c %s "$a")
		sectors=$((bytes / 512))
		# where mdadm put the superblock: 1.1 at 0, 1.2 at 4K, 1.0 at the end
		sbo=""
		for o in 0 4096 $((((sectors - 16) / 8 * 8) * 512)); do
			[ "$(le_u "$a" "$o" 4)" = 2838187772 ] && { sbo=$o; break; }
		done
		[ -n "$sbo" ] || { echo "member $i: no superblock in mdadm's image"; f=1; i=$((i + 1)); continue; }
		table=$(field_table "$sbo" sb_fields)
		fm=$(le_u "$a" $((sbo + 8)) 4)
		if [ $((fm & 1)) -eq 1 ]; then
			bmo=$((sbo + $(le_s32 "$a" $((sbo + 96))) * 512))
			table="$table
$(field_table "$bmo" bm_fields)"
		fi
		head=$(head_bytes "$bytes")
		[ "$head" -gt "$bytes" ] && head=$bytes
		slice "$a" 0 "$head" >"$W/ra"
		slice "$b" 0 "$head" >"$W/rb"
		d=$(region_diff "$W/ra" "$W/rb" 0 "$table")
		if [ "$bytes" -gt "$head" ]; then
			t0=$((bytes - TAIL))
			[ $t0 -lt "$head" ] && t0=$head
			slice "$a" $t0 $((bytes - t0)) >"$W/ra"
			slice "$b" $t0 $((bytes - t0)) >"$W/rb"
			d="$d$(region_diff "$W/ra" "$W/rb" $t0 "$table")"
		fi
		if [ -n "$d" ]; then
			echo "member $i (superblock at byte $sbo) differs at:"
			printf '%s\n' "$d" | head -n 12 | while read -r off field fo fl; do
				case $field in
				byte) echo "  byte $off (outside the superblock)" ;;
				*)
					if [ "$fl" -le 8 ] && [ "$fl" != 3 ]; then
						echo "  $field: mdadm $(le_u "$a" "$fo" "$fl"), mdraid $(le_u "$b" "$fo" "$fl")"
					else
						echo "  $field (byte $off)"
					fi
					;;
				esac
			done
			f=1
		fi
		i=$((i + 1))
	done
	return $f
}

while read -r id lvl n c meta lay bm sz extra; do
	t="$(geom_name "$id" "$lvl" "$n" "$c" "$meta" "$lay" "$bm" "$sz" "$extra"): superblocks equal mdadm's"
	if [ "$(kv "$W/kv" "$id.rc")" != 1 ] || ! grep -q 'RUN_ARRAY failed' "$W/out/$id.create" 2>/dev/null; then
		tap_fail "$t" "mdadm in the guest: $(cat "$W/out/$id.create" 2>/dev/null | head -n 5)"
		continue
	fi
	if why=$(mdraid_lacks create); then
		tap_skip "$t" "$why"
		continue
	fi
	tot=$(members_of "$id" "$n" "$extra")
	# shellcheck disable=SC2046
	if ! "$MDRAID" create $(opts "$lvl" "$n" "$c" "$meta" "$lay" "$bm" "$extra") \
		$(i=0; while [ $i -lt "$tot" ]; do printf '%s ' "$W/$id.u$i.img"; i=$((i + 1)); done) \
		>"$W/create.out" 2>&1; then
		tap_fail "$t" "mdraid create failed: $(head -n 5 "$W/create.out")"
		continue
	fi
	tap_check "$t" sb_compare "$id" "$tot"
done <"$W/geoms"
tap_done
