#!/bin/sh
# test_cli.sh: the mdraid command on image files.
#
# The peer on the host is mdadm 4.2: `mdadm --examine` reads image files
# without the md driver, so every examine case runs both tools on the same
# member and compares the text (TZ=UTC, fixed homehost). Array content and
# parity are checked against the data written (shadow files) and against
# raidmodel.py, an independent model of the layouts written from the spec.
# The kernel itself is the peer of tests/interop/mdraid.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/mdraid/lib.sh"
SRC="$OPSKIT_SOURCE/tests/mdraid"
MODEL="python3 $SRC/raidmodel.py"
SBEDIT="python3 $SRC/sbedit.py"
# sums: md5 of all members (to prove nothing was written)
sums() {
	md5sum "$T"/m*.img "$@" 2>/dev/null
}

# ---- create + examine against mdadm, every metadata version ----
mk 4 64M
"$M" create --level=6 --raid-devices=4 --chunk=64K --homehost=$HH $MEM
check_eq "create 4x64M 64K exits 0" 0 $?
ex_cmp "examine 1.2 64K equals mdadm" $MEM
check_eq "64M/64K data_offset 2048 (mdadm 4.2)" "    Data Offset : 2048 sectors" \
	"$("$M" examine $T/m0.img | grep 'Data Offset')"
check_eq "64M/64K array 258048 sectors" "     Array Size : 129024 KiB (126.00 MiB 132.12 MB)" \
	"$("$M" examine $T/m0.img | grep 'Array Size')"
check_eq "model: P/Q of every stripe after create" "stripes 1008 ok" "$($MODEL verify $MEM)"

mk 4 64M
"$M" create --level=6 --raid-devices=4 --homehost=$HH --name=big $MEM
check_eq "64M/512K data_offset 4096 (mdadm 4.2)" "    Data Offset : 4096 sectors" \
	"$("$M" examine $T/m1.img | grep 'Data Offset')"
ex_cmp "examine 1.2 512K named equals mdadm" $MEM
"$M" examine --brief --homehost=$HH $MEM > "$T/ours"
if [ $peer_mdadm = 1 ]; then
	"$MDADM" --examine --brief $MEM > "$T/theirs"
	test_cmp "examine --brief equals mdadm" "$T/theirs" "$T/ours"
else
	peer_skip "examine --brief equals mdadm"
fi

for md in 1.0 1.1; do
	mk 5 32M
	"$M" create --level=6 --raid-devices=5 --chunk=64K --metadata=$md --homehost=$HH $MEM
	check_eq "create metadata $md" 0 $?
	ex_cmp "examine $md equals mdadm" $MEM
	check_eq "model verify $md" "ok" "$($MODEL verify $MEM | sed 's/.* //')"
done

mk 4 16M
"$M" create --level=5 --raid-devices=4 --chunk=64K --homehost=$HH $MEM
ex_cmp "examine raid5 equals mdadm" $MEM
check_eq "model verify raid5" "ok" "$($MODEL verify $MEM | sed 's/.* //')"

for md in 1.2 1.0; do
	mk 4 16M
	"$M" create --level=6 --raid-devices=4 --chunk=64K --bitmap=internal --metadata=$md \
		--homehost=$HH $MEM
	ex_cmp "examine $md with internal bitmap equals mdadm" $MEM
	head -c 1000000 /dev/urandom > "$T/d"
	"$M" write --offset=70000 $MEM < "$T/d"
	ex_cmp "examine $md bitmap after write equals mdadm" $MEM
	if [ $peer_mdadm = 1 ]; then
		# mdadm -X finds internal bitmaps only on block devices: cut it out
		so=$("$M" examine $T/m0.img | awk '/Super Offset/{print $4}')
		bo=$("$M" examine $T/m0.img | awk '/Internal Bitmap/{print $4}')
		dd if=$T/m0.img of=$T/bm bs=512 skip=$((so + bo)) count=8 2>/dev/null
		"$MDADM" --examine-bitmap $T/bm > "$T/xb" 2>&1
		check_eq "$md bitmap: mdadm -X sees events in step, 0 dirty" "3" \
			"$(grep -cE '  Events : 4|Events Cleared : 4|, 0 dirty' "$T/xb")"
	else
		peer_skip "$md bitmap: mdadm -X"
	fi
done

mk 5 16M
"$M" create --level=6 --raid-devices=5 --chunk=64K --homehost=$HH $T/m0.img missing \
	$T/m2.img $T/m3.img $T/m4.img
check_eq "create with a missing member" 0 $?
ex_cmp "examine degraded create equals mdadm" $T/m0.img $T/m2.img $T/m3.img

# sparse large members: data offsets and the automatic bitmap (mdadm 4.2)
sparse 4 2G
"$M" create --level=6 --raid-devices=4 --chunk=64K --assume-clean --homehost=$HH $MEM
check_eq "2G/64K data_offset 6144" "    Data Offset : 6144 sectors" \
	"$("$M" examine $T/m0.img | grep 'Data Offset')"
ex_cmp "examine 2G sparse equals mdadm" $T/m0.img
sparse 4 16G
"$M" create --level=6 --raid-devices=4 --assume-clean --homehost=$HH $MEM
check_eq "16G/512K data_offset 34816" "    Data Offset : 34816 sectors" \
	"$("$M" examine $T/m0.img | grep 'Data Offset')"
ex_cmp "examine 16G sparse equals mdadm" $T/m3.img
sparse 4 201G
"$M" create --level=6 --raid-devices=4 --assume-clean --homehost=$HH $MEM
check_eq ">=200G data_offset 264192" "    Data Offset : 264192 sectors" \
	"$("$M" examine $T/m0.img | grep 'Data Offset')"
check_eq ">100G gets an internal bitmap" "    Feature Map : 0x1" \
	"$("$M" examine $T/m0.img | grep 'Feature Map')"
ex_cmp "examine 201G with automatic bitmap equals mdadm" $T/m0.img
rm -f "$T"/m*.img

# 64 MiB chunks: rows are sliced to stay within the memory budget
sparse 4 200M
"$M" create --level=6 --raid-devices=4 --chunk=64M --assume-clean $MEM
head -c 20000000 /dev/urandom > "$T/d"
"$M" write --offset=66000000 $MEM < "$T/d"
"$M" read --offset=66000000 --length=20000000 $MEM > "$T/r"
test_cmp "64M chunk: read back across a chunk boundary" "$T/d" "$T/r"
"$M" read --offset=66000000 --length=20000000 missing $T/m1.img $T/m2.img missing > "$T/r"
test_cmp "64M chunk: degraded read" "$T/d" "$T/r"
testcmd "64M chunk: check" "'$M' check $MEM" "mismatch_cnt 0
" ""
rm -f "$T"/m*.img

# ---- read / write / degraded ----
mk 5 12M
"$M" create --level=6 --raid-devices=5 --chunk=16K --homehost=$HH $MEM
head -c 5000000 /dev/urandom > "$T/d"
"$M" write --offset=12345 $MEM < "$T/d"
check_eq "unaligned write exits 0" 0 $?
"$M" read --offset=12345 --length=5000000 $MEM > "$T/r"
test_cmp "read back what was written" "$T/d" "$T/r"
check_eq "model verify after unaligned write" "ok" "$($MODEL verify $MEM | sed 's/.* //')"
$MODEL content $MEM | tail -c +12346 | head -c 5000000 > "$T/r"
test_cmp "model content equals the data written" "$T/d" "$T/r"
"$M" read $MEM > "$T/full"
fails=""
for a in 0 1 2 3 4; do
	for b in 0 1 2 3 4; do
		[ $a -lt $b ] || continue
		set --
		for i in 0 1 2 3 4; do
			if [ $i = $a ] || [ $i = $b ]; then set -- "$@" missing; else set -- "$@" $T/m$i.img; fi
		done
		"$M" read "$@" 2>/dev/null | cmp -s - "$T/full" || fails="$fails $a+$b"
	done
done
check_eq "degraded reads, every pair of 5 missing" "" "$fails"
fails=""
for a in 0 1 2 3 4; do
	set --
	for i in 0 1 2 3 4; do
		if [ $i = $a ]; then set -- "$@" missing; else set -- "$@" $T/m$i.img; fi
	done
	"$M" read "$@" 2>/dev/null | cmp -s - "$T/full" || fails="$fails $a"
done
check_eq "degraded reads, each single member missing" "" "$fails"
# members in any order: roles come from the superblocks
"$M" read $T/m4.img $T/m2.img $T/m0.img $T/m3.img $T/m1.img | cmp -s - "$T/full"
check_eq "member order on the command line does not matter" 0 $?
testcmd_rc "three of RAID6 missing is refused" 3 \
	"'$M' read missing missing missing $T/m3.img $T/m4.img"

# degraded write then reads with the other members
head -c 300000 /dev/urandom > "$T/d2"
"$M" write --offset=1000000 $T/m0.img missing $T/m2.img $T/m3.img $T/m4.img < "$T/d2"
check_eq "degraded write exits 0" 0 $?
"$M" read --offset=1000000 --length=300000 $T/m0.img missing missing $T/m3.img $T/m4.img \
	> "$T/r" 2>/dev/null
test_cmp "degraded write reads back without the absent member" "$T/d2" "$T/r"
testcmd_rc "the absent member is now stale and left out" 0 \
	"'$M' read $MEM 2>&1 >/dev/null | grep -q 'm1.img: not used: stale'"
"$M" read --offset=1000000 --length=300000 $MEM > "$T/r" 2>/dev/null
test_cmp "read with the stale member given ignores it" "$T/d2" "$T/r"

# raid5
mk 4 8M
"$M" create --level=5 --raid-devices=4 --chunk=32K $MEM
head -c 2000000 /dev/urandom > "$T/d"
"$M" write --offset=4097 $MEM < "$T/d"
fails=""
for a in 0 1 2 3; do
	set --
	for i in 0 1 2 3; do
		if [ $i = $a ]; then set -- "$@" missing; else set -- "$@" $T/m$i.img; fi
	done
	"$M" read --offset=4097 --length=2000000 "$@" 2>/dev/null | cmp -s - "$T/d" || fails="$fails $a"
done
check_eq "raid5 degraded reads" "" "$fails"
check_eq "raid5 model verify" "ok" "$($MODEL verify $MEM | sed 's/.* //')"

# ---- check / repair ----
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=64K $MEM
testcmd "check of a fresh array" "'$M' check $MEM" "mismatch_cnt 0
" ""
# corrupt 4 KiB of data on member 1 inside stripe 3 (data_offset 2048 sectors)
dd if=/dev/urandom of=$T/m1.img bs=4096 seek=$((2048 / 8 + 3 * 16 + 2)) count=1 conv=notrunc 2>/dev/null
"$M" check $MEM > "$T/out"
check_eq "check finds the corruption (exit 1)" 1 $?
check_eq "check counts 8 sectors per 4 KiB" "mismatch_cnt 8" "$(tail -n 1 "$T/out")"
"$M" repair $MEM > /dev/null
testcmd "repair then check is clean" "'$M' check $MEM" "mismatch_cnt 0
" ""
check_eq "model verify after repair" "ok" "$($MODEL verify $MEM | sed 's/.* //')"

# ---- rebuild ----
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=16K $MEM
head -c 4000000 /dev/urandom > "$T/d"
"$M" write --offset=0 $MEM < "$T/d"
"$M" read $MEM > "$T/full"
dd if=$T/m2.img of=$T/orig2 bs=1M skip=1 2>/dev/null
head -c 8M /dev/urandom > "$T/new.img"
"$M" rebuild --slot=2 --stop-after=1M $T/new.img $T/m0.img $T/m1.img missing $T/m3.img
check_eq "interrupted rebuild exits 0" 0 $?
ex_cmp "examine of a member being rebuilt equals mdadm" $T/new.img
check_eq "recovery_offset checkpoint is written" "Recovery Offset : 2048 sectors" \
	"$("$M" examine $T/new.img | grep 'Recovery Offset')"
"$M" read $T/new.img $T/m0.img $T/m1.img missing > "$T/r" 2>/dev/null
test_cmp "partly rebuilt member is used only below recovery_offset" "$T/full" "$T/r"
"$M" rebuild --slot=2 $T/new.img $T/m0.img $T/m1.img missing $T/m3.img
check_eq "rebuild resumes and finishes" 0 $?
dd if=$T/new.img of=$T/new2 bs=1M skip=1 2>/dev/null
test_cmp "rebuilt member's data equals the lost one's" "$T/orig2" "$T/new2"
"$M" read $T/m0.img missing $T/new.img missing > "$T/r"
test_cmp "rebuilt member serves reads with two others missing" "$T/full" "$T/r"
testcmd "check after rebuild" "'$M' check $T/m0.img $T/m1.img $T/new.img $T/m3.img" \
	"mismatch_cnt 0
" ""
ex_cmp "examine after rebuild equals mdadm" $T/new.img $T/m0.img

# rebuild keeps the bitmap's event count in step (else the kernel resyncs all)
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=64K --bitmap=internal $MEM
head -c 8M /dev/urandom > "$T/new.img"
"$M" rebuild --slot=1 $T/new.img $T/m0.img missing $T/m2.img $T/m3.img
for f in $T/m0.img $T/new.img; do
	ev=$("$M" examine $f | awk '/Events/{print $3}')
	dd if=$f of=$T/bm bs=512 skip=16 count=1 2>/dev/null
	bev=$(python3 -c "import struct; print(struct.unpack_from('<Q', open('$T/bm','rb').read(), 24)[0])")
	check_eq "after rebuild: bitmap events = superblock events ($(basename $f))" "$ev" "$bev"
done

# ---- states mdraid does not make itself: mid-reshape, bad fields ----
mk 4 16M
"$M" create --level=6 --raid-devices=4 --chunk=64K --homehost=$HH $MEM
cp $T/m0.img $T/rs.img
$SBEDIT $T/rs.img feature_map=0x44 raid_disks=5 delta_disks=1 new_level=6 new_layout=2 \
	new_chunk=128 reshape_position=46080 new_offset=-1024 role.4=4
ex_cmp "examine mid-reshape (new offset) equals mdadm" $T/rs.img
$SBEDIT $T/rs.img feature_map=0x4 new_offset=0 new_layout=3 new_chunk=256
ex_cmp "examine mid-reshape (backup, layout+chunk change) equals mdadm" $T/rs.img
$SBEDIT $T/rs.img feature_map=0x4 delta_disks=-1 raid_disks=3 new_layout=2 new_chunk=128
ex_cmp "examine mid-reshape shrinking equals mdadm" $T/rs.img
cp $T/m1.img $T/bad.img
$SBEDIT $T/bad.img --keep-csum events=99
ex_cmp "examine bad checksum equals mdadm (Checksum : X - expected Y)" $T/bad.img
cp $T/m1.img $T/bad.img
$SBEDIT $T/bad.img feature_map=0x2 recovery_offset=4096 role.1=1 devflags=3
ex_cmp "examine recovering + flags equals mdadm" $T/bad.img
cp $T/m1.img $T/bad.img
$SBEDIT $T/bad.img feature_map=0x10 role.5=1
ex_cmp "examine replacement equals mdadm" $T/bad.img
cp $T/m1.img $T/bad.img
$SBEDIT $T/bad.img feature_map=0x1 bitmap_offset=8
ex_cmp "examine with a missing bitmap drops bit 1 as mdadm does" $T/bad.img
cp $T/m1.img $T/bad.img
$SBEDIT $T/bad.img role.0=1
ex_cmp "examine inconsistent roles equals mdadm" $T/bad.img
cp $T/m1.img $T/bad.img
$SBEDIT $T/bad.img magic=0x12345678
ex_cmp "examine without a superblock: same message and status" $T/bad.img
rm -f $T/bad.img $T/rs.img

# refusals: nothing written
before=$(sums)
testcmd_rc "write refuses a member with a bad checksum (exit 3)" 3 \
	"cp $T/m1.img $T/x && $SBEDIT $T/m1.img --keep-csum events=7 && \
	 '$M' write --offset=0 $MEM < /dev/null; rc=\$?; cp $T/x $T/m1.img; exit \$rc"
check_eq "refused write wrote nothing" "$before" "$(sums)"
cp $T/m1.img $T/x
$SBEDIT $T/m1.img --keep-csum events=7
"$M" read $MEM > "$T/r" 2>"$T/err"
check_eq "read treats a bad-checksum member as missing" 0 $?
testcmd_rc "the bad member is named with its field" 0 \
	"grep -q 'm1.img: offset 4312: checksum' $T/err"
cp $T/x $T/m1.img
"$M" read $MEM | cmp -s - "$T/r"
check_eq "read without the bad member is correct" 0 $?
for f in "pad0=1" "feature_map=0x8000" "max_dev=5000" "data_size=5" "data_offset=4" \
	"level=1" "chunksize=24" "super_offset=0"; do
	cp $T/m2.img $T/x
	$SBEDIT $T/m2.img $f
	before=$(sums)
	"$M" write --offset=0 $MEM < "$T/d" 2>"$T/err"
	rc=$?
	after=$(sums)
	cp $T/x $T/m2.img
	if [ $rc -ne 0 ] && [ "$before" = "$after" ] && [ -s "$T/err" ]; then
		tap_ok "write refused, nothing written: $f"
	else
		tap_fail "write refused, nothing written: $f" "rc $rc $(cat $T/err)"
	fi
done
cp $T/m3.img $T/x
# another array uuid: its first byte changed (a fixed value matched the
# random uuid 1 time in 256)
u0=$(od -An -tu1 -j 4112 -N1 $T/m3.img | tr -d ' ')
$SBEDIT $T/m3.img byte.16=$(((u0 + 1) % 256))
before=$(sums)
testcmd_rc "members of different arrays are refused (exit 3)" 3 "'$M' read $MEM"
check_eq "different arrays: nothing written" "$before" "$(sums)"
cp $T/x $T/m3.img
cp $T/m3.img $T/x
$SBEDIT $T/m3.img role.3=2 dev_number=3
testcmd_rc "two members claiming one slot are refused" 3 "'$M' read $MEM"
$SBEDIT $T/m3.img feature_map=0x10
"$M" read $MEM 2>/dev/null | cmp -s - "$T/r"
check_eq "with REPLACEMENT the original is read" 0 $?
cp $T/x $T/m3.img
head -c 6M $T/m0.img > $T/x && cp $T/m0.img $T/x0 && cp $T/x $T/m0.img
testcmd_rc "truncated member refused for writing" 3 "'$M' write --offset=0 $MEM < /dev/null"
"$M" read $MEM 2>/dev/null | cmp -s - "$T/r"
check_eq "truncated member treated as missing for reading" 0 $?
cp $T/x0 $T/m0.img
cp $T/m0.img $T/x0; cp $T/m1.img $T/x1; cp $T/m2.img $T/x2; cp $T/m3.img $T/x3
for f in $MEM; do $SBEDIT $f feature_map=0xc00; done
before=$(sums)
testcmd_rc "arrays with a partial parity log are not written (exit 5)" 5 \
	"'$M' write --offset=0 $MEM < /dev/null"
check_eq "PPL refusal wrote nothing" "$before" "$(sums)"
for i in 0 1 2 3; do cp $T/x$i $T/m$i.img; done
# a 0.90 superblock (issue 11, tests/mdraid/super0): examined as mdadm does,
# and a bad one is named by field when used
truncate -s 8M $T/old.img
python3 -c "
import struct,sys
f=open('$T/old.img','r+b'); f.seek((8*1024*1024 & ~65535) - 65536)
f.write(struct.pack('<IIII', 0xa92b4efc, 0, 90, 0))"
ex_cmp "0.90 superblock (bad checksum) examined as mdadm does" $T/old.img
"$M" read $T/old.img $T/old.img $T/old.img $T/old.img >/dev/null 2>"$T/err"
testcmd_rc "bad 0.90 superblock named when used" 0 "grep -q 'version number 0.90\\|raid_disks\\|checksum' $T/err"
# dirty degraded
cp $T/m0.img $T/x
$SBEDIT $T/m0.img resync_offset=0
before=$(sums)
testcmd_rc "dirty degraded write refused (exit 5)" 5 \
	"'$M' write --offset=0 $T/m0.img missing $T/m2.img $T/m3.img < $T/d"
check_eq "dirty degraded refusal wrote nothing" "$before" "$(sums)"
"$M" read $T/m0.img missing $T/m2.img $T/m3.img 2>"$T/err" >/dev/null
testcmd_rc "dirty degraded read warns" 0 "grep -q 'dirty and degraded' $T/err"
testcmd_rc "dirty degraded write with --force" 0 \
	"'$M' write --force --offset=0 $T/m0.img missing $T/m2.img $T/m3.img < /dev/null"
# --force marked it clean as mdadm --assemble --force does ("force-array")
testcmd_rc "after --force the dirty degraded array is clean: a plain write is taken" 0 \
	"'$M' write --offset=0 $T/m0.img missing $T/m2.img $T/m3.img < /dev/null"
cp $T/x $T/m0.img
# create over an existing array needs --force
before=$(sums)
testcmd_rc "create refuses members of an array (exit 5)" 5 \
	"'$M' create --level=6 --raid-devices=4 $MEM"
check_eq "refused create wrote nothing" "$before" "$(sums)"
testcmd_rc "write beyond the end refused" 2 \
	"head -c 100 /dev/zero | '$M' write --offset=\$(( $(stat -c %s $T/m0.img) * 4 )) $MEM"
head -c 20000 /dev/urandom > "$T/big"
before=$(sums)
testcmd_rc "a file that does not fit is refused" 2 \
	"'$M' write --offset=\$(( $("$M" read $MEM | wc -c) - 10000 )) $MEM < $T/big"
check_eq "refused oversized write wrote nothing" "$before" "$(sums)"
testcmd_rc "usage error: no members" 2 "'$M' read"
testcmd_rc "usage error: bad chunk" 2 "'$M' create --level=6 --raid-devices=4 --chunk=3K $MEM"

# ---- bad-block log: listed ranges count as missing ----
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=64K --homehost=$HH $MEM
head -c 3000000 /dev/urandom > "$T/d"
"$M" write --offset=0 $MEM < "$T/d"
# member 2: sectors [2048+64, +8) are bad (log at sector 8+16), and garbage
python3 -c "
import struct
f = open('$T/m2.img', 'r+b')
f.seek(24 * 512)
f.write(struct.pack('<Q', ((2048 + 64) << 10) | 8) + b'\xff' * 4088)
f.seek((2048 + 64) * 512)
f.write(b'\x55' * 4096)"
$SBEDIT $T/m2.img feature_map=0x8
ex_cmp "examine with bad blocks present equals mdadm" $T/m2.img
"$M" read --length=3000000 $MEM > "$T/r"
test_cmp "bad blocks are reconstructed on read" "$T/d" "$T/r"

# ---- detail ----
mk 4 8M
"$M" create --level=6 --raid-devices=4 --chunk=64K --homehost=$HH --name=data $MEM
"$M" detail $T/m0.img missing $T/m2.img $T/m3.img > "$T/out"
check_eq "detail: degraded state" "             State : clean, degraded " \
	"$(grep 'State :' "$T/out")"
check_eq "detail: counts" "3 3 0" \
	"$(awk '/Active Devices/{a=$4}/Working Devices/{w=$4}/Failed Devices/{f=$4}END{print a,w,f}' "$T/out")"
check_eq "detail: removed slot row" "       -       0        0        1      removed" \
	"$(grep removed "$T/out")"
u=$("$M" examine $T/m0.img | awk '/Array UUID/{print $4}')
check_eq "detail --brief" "ARRAY /dev/md/data metadata=1.2 name=testhost:data UUID=$u" \
	"$("$M" detail --brief $MEM)"
head -c 8M /dev/urandom > "$T/new.img"
"$M" rebuild --slot=1 --stop-after=1M $T/new.img $T/m0.img missing $T/m2.img $T/m3.img
check_eq "detail --brief counts a rebuilding member as a spare (as mdadm)" \
	"ARRAY /dev/md/data metadata=1.2 spares=1 name=testhost:data UUID=$u" \
	"$("$M" detail --brief $T/m0.img $T/new.img $T/m2.img $T/m3.img)"
# 2048 of 14336 sectors: the kernel prints 13.3% ((2048>>10)*1000/((14336>>10)+1))
check_eq "detail: rebuild status as the kernel rounds it" "    Rebuild Status : 13% complete" \
	"$("$M" detail $T/m0.img $T/new.img $T/m2.img $T/m3.img | grep 'Rebuild Status')"
# mid-reshape: "Array Size" is the md device's size, which the kernel keeps
# at raid5_size() with min(old, new) members and the size rounded down to
# both chunks until the reshape ends (mdadm Detail.c prints BLKGETSIZE64)
mk 5 16M
"$M" create --level=6 --raid-devices=5 --chunk=64K --assume-clean --homehost=$HH $MEM
for f in $MEM; do
	$SBEDIT $f feature_map=0x4 delta_disks=1 new_level=6 new_layout=2 new_chunk=128 \
		reshape_position=4096
done
check_eq "detail mid-grow 4->5: Array Size is the old size" \
	"        Array Size : 30720 (30.00 MiB 31.46 MB)" \
	"$("$M" detail $MEM | grep 'Array Size')"
for f in $MEM; do $SBEDIT $f new_chunk=4096; done
check_eq "detail mid-grow with a 2M new chunk: rounded down to both chunks" \
	"        Array Size : 28672 (28.00 MiB 29.36 MB)" \
	"$("$M" detail $MEM | grep 'Array Size')"
for f in $MEM; do $SBEDIT $f feature_map=0 delta_disks=0 new_chunk=128; done
check_eq "detail after the reshape: the new size" \
	"        Array Size : 46080 (45.00 MiB 47.19 MB)" \
	"$("$M" detail $MEM | grep 'Array Size')"

# ---- create --spare-devices, --size ----
mk 5 16M
"$M" create --level=6 --raid-devices=4 --spare-devices=1 --chunk=64K --homehost=t $MEM >/dev/null 2>&1
check_eq "create -x 1: the last member is a spare (detail)" \
	"       4       0        0        -      spare   $T/m4.img" \
	"$("$M" detail $MEM 2>/dev/null | tail -n 1)"
if [ $peer_mdadm = 1 ]; then
	check_eq "create -x 1: mdadm --examine of the spare" "spare AAAA" \
		"$("$MDADM" --examine "$T/m4.img" | sed -n 's/^ *Device Role : //p;s/^ *Array State : \([^ ]*\).*/\1/p' | tr '\n' ' ' | sed 's/ $//')"
else
	peer_skip "create -x 1: mdadm --examine of the spare"
fi
testcmd_rc "create: members must be raid-devices + spare-devices (exit 3)" 3 \
	"'$M' create --level=6 --raid-devices=4 --spare-devices=2 -f $MEM"
testcmd_rc "create: a spare cannot be missing (exit 3)" 3 \
	"'$M' create --level=6 --raid-devices=4 --spare-devices=1 -f $T/m0.img $T/m1.img $T/m2.img $T/m3.img missing"
"$M" create --level=6 --raid-devices=5 --chunk=64K --size=6000 -f $MEM >/dev/null 2>&1
check_eq "create --size=6000 uses 5952K (rounded to the chunk) of each member" \
	"     Used Dev Size : 5952 (5.81 MiB 6.09 MB)" "$("$M" detail $MEM 2>/dev/null | grep 'Used Dev Size')"
testcmd_rc "create --size beyond the smallest member is refused" 5 \
	"'$M' create --level=6 --raid-devices=5 --size=64M -f $MEM"
tap_done
