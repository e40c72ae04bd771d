#!/bin/sh
# test_super0_cli.sh: mdraid on metadata 0.90 image files.
#
# The host peer is mdadm 4.2: `mdadm --examine` reads 0.90 members in image
# files without the md driver, so every examine case runs both tools on the
# same members and compares the text (TZ=UTC, fixed homehost). Content is
# checked against the bytes written (shadow files); parity with mdraid check.
# The kernel is the peer of test_super0_kernel.sh.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/mdraid/lib.sh"
# mem_with K1 [K2]: $MEM with members K1 (and K2) replaced by "missing"
mem_with() {
	out=""
	i=0
	for f in $MEM; do
		if [ "$i" = "$1" ] || [ "$i" = "${2:--1}" ]; then out="$out missing"; else out="$out $f"; fi
		i=$((i + 1))
	done
	echo "$out"
}
# read_cmp NAME SHADOW MEMBERS...: the array reads as SHADOW
read_cmp() {
	name=$1
	sh=$2
	shift 2
	if "$M" read "$@" 2>"$T/rerr" | cmp -s - "$sh"; then
		tap_ok "$name"
	else
		tap_fail "$name" "$(head -n 3 "$T/rerr")"
	fi
}

# ---- create RAID6 4 x 64 MiB, 64 KiB chunk: examine, location, content ----
mk 4 64M
"$M" create --level=6 --raid-devices=4 --chunk=64K --metadata=0.90 --homehost=$HH $MEM
check_eq "create --metadata=0.90 raid6 4x64M exits 0" 0 $?
ex_cmp "examine 0.90 raid6 left-symmetric equals mdadm" $MEM
"$M" examine --brief $MEM > "$T/ours"
if [ $peer_mdadm = 1 ]; then
	"$MDADM" --examine --brief $MEM > "$T/theirs"
	test_cmp "examine --brief 0.90 equals mdadm" "$T/theirs" "$T/ours"
else
	peer_skip "examine --brief 0.90 equals mdadm"
fi
# MD_NEW_SIZE_SECTORS(131072) = 131072 - 128: magic a92b4efc, version 0.90
check_eq "superblock at 64 MiB - 64 KiB, host-endian magic and version 0.90" \
	"fc4e2ba9 00000000 5a000000" \
	"$(od -A n -t x1 -j $((131072 * 512 - 65536)) -N 12 "$T/m0.img" |
		sed 's/ //g; s/\(........\)/\1 /g; s/ $//')"
check_eq "size is the superblock sector rounded to the chunk (65472 KiB)" \
	"  Used Dev Size : 65472 (63.94 MiB 67.04 MB)" \
	"$("$M" examine "$T/m2.img" | grep 'Used Dev Size')"
check_eq "check after create: mismatch_cnt 0" "mismatch_cnt 0" "$("$M" check $MEM 2>&1)"
check_eq "detail --brief names /dev/md0 and metadata 0.90" \
	"ARRAY /dev/md0 metadata=0.90 UUID=$("$M" examine --brief $MEM | sed 's/.*UUID=//')" \
	"$("$M" detail --brief $MEM)"
check_eq "detail says Version 0.90 and Events hi.lo" "0.90 0.3" \
	"$("$M" detail $MEM | awk '/ Version :/{v=$3} / Events :/{e=$3} END{print v, e}')"

# data from sector 0: the first chunk of the array is the first 64 KiB of m0
head -c 134086656 /dev/urandom > "$T/shadow"
"$M" write --offset=0 $MEM < "$T/shadow"
check_eq "write the whole array exits 0" 0 $?
# (left-symmetric RAID6, stripe 0: P on member 3, Q on 0, data from member 1)
check_eq "data from sector 0: chunk 0 is the first 64 KiB of member 1" \
	"$(head -c 65536 "$T/shadow" | md5sum)" "$(head -c 65536 "$T/m1.img" | md5sum)"
read_cmp "read equals what was written" "$T/shadow" $MEM
check_eq "check after write: mismatch_cnt 0" "mismatch_cnt 0" "$("$M" check $MEM 2>&1)"
ex_cmp "examine after write equals mdadm (clean, events)" $MEM
for pair in "0 1" "0 2" "0 3" "1 2" "1 3" "2 3"; do
	set -- $pair
	read_cmp "degraded read without members $1 and $2" "$T/shadow" $(mem_with $1 $2)
done

# unaligned writes on a degraded array; then the stale member is left out
head -c 300001 /dev/urandom > "$T/d"
dd if="$T/d" of="$T/shadow" bs=1 seek=123457 conv=notrunc 2>/dev/null
cp "$T/m2.img" "$T/stale.img"
"$M" write --offset=123457 $(mem_with 2) < "$T/d"
check_eq "degraded unaligned write exits 0" 0 $?
read_cmp "degraded read after degraded write" "$T/shadow" $(mem_with 2)
ex_cmp "examine of a degraded 0.90 array equals mdadm (removed, faulty)" \
	"$T/m0.img" "$T/m1.img" "$T/m3.img"
check_eq "disk table: slot 2 removed+faulty, 1 failed, 3 active" \
	"   2     2       0        0        2      faulty removed|3 1" \
	"$("$M" examine "$T/m0.img" | awk '/^   2 /{r=$0} / Failed Devices/{f=$4} / Active Devices/{a=$4} END{print r "|" a, f}')"
read_cmp "stale member (events behind) is left out" "$T/shadow" \
	"$T/m0.img" "$T/m1.img" "$T/stale.img" "$T/m3.img"
# one event behind: super_90_validate accepts it in the role of its own
# disk table (events + 1 >= the freshest), even though the others say removed
ev=$("$M" examine "$T/m0.img" | awk '/ Events :/{print $3}')
python3 - "$T/stale.img" $((ev - 1)) <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(0, 2)
    at = (f.tell() // 512 // 128 * 128 - 128) * 512
    f.seek(at)
    w = list(struct.unpack('<1024I', f.read(4096)))
    w[39], w[40] = int(sys.argv[2]) & 0xffffffff, int(sys.argv[2]) >> 32
    w[38] = 0
    t = sum(w)
    w[38] = ((t & 0xffffffff) + (t >> 32)) & 0xffffffff
    f.seek(at)
    f.write(struct.pack('<1024I', *w))
PY
check_eq "member one event behind keeps its own table's role (slot 2), as the kernel" \
	"2 active sync" \
	"$("$M" detail "$T/m0.img" "$T/m1.img" "$T/stale.img" "$T/m3.img" |
		awk '/stale.img/{print $4, $5, $6}')"

# slot 0 missing: super_90_sync presets disks[0] to removed, never faulty
mk 4 16M
"$M" create --level=6 --raid-devices=4 --chunk=64K --metadata=0.90 --assume-clean \
	--homehost=$HH missing $(echo $MEM | cut -d' ' -f2-)
check_eq "create with slot 0 missing exits 0" 0 $?
check_eq "slot 0 missing: removed only, failed count 0" \
	"   0     0       0        0        0      removed|0" \
	"$("$M" examine "$T/m1.img" | awk '/^   0 /{r=$0} / Failed Devices/{f=$4} END{print r "|" f}')"
ex_cmp "examine with slot 0 missing equals mdadm" "$T/m1.img" "$T/m2.img" "$T/m3.img"

# ---- RAID5 and other layouts / chunks ----
mk 3 16M
"$M" create --level=5 --raid-devices=3 --chunk=512K --layout=right-asymmetric \
	--metadata=0.90 --homehost=$HH --name=3 $MEM
ex_cmp "examine 0.90 raid5 right-asymmetric 512K, preferred minor 3, equals mdadm" $MEM
bytes=$("$M" examine "$T/m0.img" | awk '/Array Size/{print $4 * 1024}')
head -c "$bytes" /dev/urandom > "$T/shadow"
"$M" write --offset=0 $MEM < "$T/shadow"
read_cmp "raid5 0.90 read equals written" "$T/shadow" $MEM
read_cmp "raid5 0.90 degraded read (member 1 missing)" "$T/shadow" $(mem_with 1)
check_eq "raid5 check: mismatch_cnt 0" "mismatch_cnt 0" "$("$M" check $MEM 2>&1)"

mk 5 16M
"$M" create --level=6 --raid-devices=5 --chunk=64K --layout=right-asymmetric \
	--metadata=0.90 --homehost=$HH $MEM
ex_cmp "examine 0.90 raid6 5 members right-asymmetric equals mdadm" $MEM
bytes=$("$M" examine "$T/m0.img" | awk '/Array Size/{print $4 * 1024}')
head -c "$bytes" /dev/urandom > "$T/shadow"
"$M" write --offset=0 $MEM < "$T/shadow"
read_cmp "raid6 5 members degraded read (0 and 4 missing)" "$T/shadow" $(mem_with 0 4)
check_eq "raid6 5 members check: mismatch_cnt 0" "mismatch_cnt 0" "$("$M" check $MEM 2>&1)"

# ---- rebuild (0.90 has no recovery_offset: no superblock until complete) ----
head -c 16M /dev/urandom > "$T/new.img"
cp "$T/new.img" "$T/new0.img"
"$M" rebuild --slot=2 --stop-after=1M "$T/new.img" $(mem_with 2)
check_eq "interrupted 0.90 rebuild exits 0" 0 $?
"$M" examine "$T/new.img" >/dev/null 2>&1
check_eq "interrupted 0.90 rebuild leaves no superblock on the new member" 1 $?
read_cmp "array reads as before after the interrupted rebuild" "$T/shadow" \
	$(echo $MEM | sed "s|$T/m2.img|$T/new.img|")
"$M" rebuild --slot=2 "$T/new.img" $(mem_with 2)
check_eq "0.90 rebuild from the start finishes" 0 $?
read_cmp "rebuilt member in use with members 0 and 4 missing" "$T/shadow" \
	missing "$T/m1.img" "$T/new.img" "$T/m3.img" missing
check_eq "check after rebuild: mismatch_cnt 0" "mismatch_cnt 0" \
	"$("$M" check $(echo $MEM | sed "s|$T/m2.img|$T/new.img|") 2>&1)"
ex_cmp "examine after rebuild equals mdadm (all active sync)" \
	$(echo $MEM | sed "s|$T/m2.img|$T/new.img|")
check_eq "rebuilt member is slot 2, active sync" \
	"this     2       0        0        2      active sync" \
	"$("$M" examine "$T/new.img" | grep '^this')"

# ---- bad input ----
cp "$T/m1.img" "$T/bad.img"
so=$(( ($(stat -c %s "$T/bad.img") / 512 / 128 * 128 - 128) * 512 ))
printf '\001' | dd of="$T/bad.img" bs=1 seek=$((so + 24)) conv=notrunc 2>/dev/null
ex_cmp "bad checksum: examine prints 'expected' as mdadm does" "$T/bad.img"
check_eq "bad checksum member is treated as missing for reading" 0 \
	"$("$M" read $(echo $MEM | sed "s|$T/m1.img|$T/bad.img|") 2>/dev/null | cmp -s - "$T/shadow"; echo $?)"
sums_before=$(md5sum "$T"/m*.img "$T/bad.img")
printf 'x' | "$M" write --offset=0 $(echo $MEM | sed "s|$T/m1.img|$T/bad.img|") 2>/dev/null
check_eq "write refused with a bad member (exit 3), nothing written" "3 same" \
	"$? $([ "$sums_before" = "$(md5sum "$T"/m*.img "$T/bad.img")" ] && echo same)"
# ---- check / repair ----
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=64K --metadata=0.90 $MEM
# 4 KiB of member 1 inside stripe 3 (data from sector 0)
dd if=/dev/urandom of="$T/m1.img" bs=4096 seek=$((3 * 16 + 2)) count=1 conv=notrunc 2>/dev/null
"$M" check $MEM >"$T/out"
check_eq "check finds the corruption on 0.90 (exit 1, 8 sectors)" "1 mismatch_cnt 8" \
	"$? $(tail -n 1 "$T/out")"
"$M" repair $MEM >/dev/null
check_eq "repair then check is clean on 0.90" "mismatch_cnt 0" "$("$M" check $MEM 2>&1)"
ex_cmp "examine after repair equals mdadm" $MEM

# ---- 0.91: mid-reshape fields, as the kernel writes them ----
python3 - $MEM <<'PY'
import struct, sys
for p in sys.argv[1:]:
    with open(p, 'r+b') as f:
        f.seek(0, 2)
        at = (f.tell() // 512 // 128 * 128 - 128) * 512
        f.seek(at)
        w = list(struct.unpack('<1024I', f.read(4096)))
        w[2] = 91            # minor_version
        w[10] = 5            # raid_disks (new)
        w[44], w[45] = 3072, 0  # reshape_position (sectors)
        w[46], w[47], w[48], w[49] = 6, 1, 2, 65536
        w[38] = 0
        s = sum(w)
        w[38] = ((s & 0xffffffff) + (s >> 32)) & 0xffffffff
        f.seek(at)
        f.write(struct.pack('<1024I', *w))
PY
ex_cmp "examine of a 0.91 (reshaping 4->5) member equals mdadm" $MEM
"$M" read $MEM >/dev/null 2>"$T/err"
check_eq "read of a 0.91 array mid-reshape is refused by name (exit 5)" "5 1" \
	"$? $(grep -c 'reshape is in progress' "$T/err")"

# a 0.91 array records a grow to 5: a grow to 6 is refused, nothing written
# (the 0.90 grow itself is tested in tests/mdraid/grow)
head -c 16M /dev/urandom > "$T/g4.img"
sums_before=$(md5sum "$T"/m*.img "$T/g4.img")
"$M" grow --raid-devices=6 --backup-file="$T/bk" $MEM "$T/g4.img" 2>/dev/null
check_eq "grow to 6 of a 0.91 array reshaping to 5 is refused (exit 5), nothing written, no backup file" "5 same no" \
	"$? $([ "$sums_before" = "$(md5sum "$T"/m*.img "$T/g4.img")" ] && echo same) $([ -e "$T/bk" ] && echo yes || echo no)"
mk 4 4M
"$M" create --level=6 --raid-devices=4 --metadata=0.90 --bitmap=internal --chunk=64K \
	$MEM 2>"$T/err"
check_eq "--bitmap=internal with 0.90: created (mdadm: state 'Internal Bitmap : present')" "0 1" \
	"$? $(mdadm --examine "$T/m0.img" 2>/dev/null | grep -c 'Internal Bitmap : present')"
# mdadm -X reads a bitmap through a block device only (a plain file is taken
# for a bitmap file): a read-only loop device
if lo=$(losetup -r -f --show "$T/m2.img" 2>/dev/null); then
	x=$(mdadm -X "$lo" 2>&1)
	losetup -d "$lo"
	ev=$(mdadm --examine "$T/m2.img" | sed -n 's/^ *Events : \([0-9]*\).*/\1/p')
	u=$(mdadm --examine "$T/m2.img" | sed -n 's/^ *UUID : \([0-9a-f:]*\).*/\1/p')
	check_eq "0.90 bitmap: mdadm -X: uuid and events of the superblock, 64 MB chunks, clean" \
		"$u $ev 64 MB 0 dirty" \
		"$(echo "$x" | sed -n 's/^ *UUID : //p') $(echo "$x" | sed -n 's/^ *Events : //p') $(echo "$x" | sed -n 's/^ *Chunksize : //p') $(echo "$x" | sed -n 's/.*, \([0-9]* dirty\).*/\1/p')"
else
	tap_skip "0.90 bitmap: mdadm -X" "no loop device"
fi
tap_done
