#!/bin/sh
# test_grow.sh: the `mdraid grow` command end to end on image files. Arrays
# are built by grow_fixture (independent of the engine) and checked by it,
# by the host's mdadm --examine (the real peer: mdadm reads image files), and
# by the core's `mdraid check` / `mdraid read` / `mdraid examine`.
. "$OPSKIT_SOURCE/tests/tap.sh"
M="$OPSKIT_BUILD/mdraid/mdraid"
F="$OPSKIT_BUILD/tests/mdraid/grow/grow_fixture"
T="$TAP_TMP"
cd "$T" || exit 1
MB=1048576
have_mdadm=1
command -v mdadm >/dev/null 2>&1 || have_mdadm=0
[ -x /usr/sbin/mdadm ] && PATH="$PATH:/usr/sbin"
command -v mdadm >/dev/null 2>&1 && have_mdadm=1

mk() { # name: 4 members of 8 MiB, 64K chunk, data_offset $2 (sectors), seed $3; one blank
	rm -f "$1"-*
	"$F" create level=6 layout=2 chunk=128 minor=2 bytes=$((8 * MB)) doff="$2" seed="$3" \
		"$1-0" "$1-1" "$1-2" "$1-3" && "$F" blank bytes=$((8 * MB)) "$1-4"
}
verify() { # name seed
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed="$2" old=4 "$1-0" "$1-1" "$1-2" "$1-3" "$1-4"
}
# fixture_case NAME CMD...: one TAP case, ok when CMD (verify, verify0 or
# "$F" verify with its arguments: the fixture's independent check of content
# and parity) exits 0, else not ok with CMD's stderr as the detail. One
# helper so that every fixture check reports its failure the same way.
fixture_case() {
	_fc_name=$1
	shift
	if "$@" 2>"$T/fixture_case.err"; then
		tap_ok "$_fc_name"
	else
		tap_fail "$_fc_name" "$(cat "$T/fixture_case.err")"
	fi
}

testcmd "grow --help shows the synopsis" "$M grow --help | head -n 1" \
	"usage: mdraid grow --raid-devices=N [--backup-file=F] [--force] [--dry-run] MEMBER... NEW-MEMBER...
" ""
testcmd "mdraid --help lists grow" "$M --help | grep -c '^  grow '" "1
" ""

# --- mdadm spelling, backup file: mdadm's figure and message ---
mk a 2048 11
"$M" read a-0 a-1 a-2 a-3 >a.before 2>/dev/null
testcmd "mdadm spelling with --backup-file prints mdadm's figure" \
	"$M --grow --raid-devices=5 --backup-file=$T/a.bak a-0 a-1 a-2 a-3 a-4 2>&1 >/dev/null | grep 'critical'" \
	"mdraid: Need to backup 384K of critical section..
" ""
fixture_case "backup-file grow: content and P/Q (fixture)" verify a 11
testcmd_rc "backup file removed after the grow" 1 "test -e $T/a.bak"
testcmd_rc "mdraid check: no mismatches after the grow" 0 "$M check a-0 a-1 a-2 a-3 a-4"
old=$(stat -c %s a.before)
"$M" read --length="$old" a-0 a-1 a-2 a-3 a-4 >a.after 2>/dev/null
test_cmp "mdraid read: old content unchanged" a.before a.after
testcmd "mdraid read: the new space reads as zeros" \
	"$M read --offset=$old a-0 a-1 a-2 a-3 a-4 2>/dev/null | tr -d '\\0' | wc -c" "0
" ""
if [ $have_mdadm = 1 ]; then
	testcmd "mdadm --examine: new member is active device 4 of 5, checksum correct" \
		"mdadm --examine a-4 | grep -E 'Raid Devices|Array Size|Checksum|Device Role|Array State' | sed 's/: [0-9a-f]* - correct/: correct/'" \
		"   Raid Devices : 5
     Array Size : 21504 KiB (21.00 MiB 22.02 MB)
       Checksum : correct
   Device Role : Active device 4
   Array State : AAAAA ('A' == active, '.' == missing, 'R' == replacing)
" ""
else
	tap_skip "mdadm --examine of the grown member" "mdadm not installed"
fi

# --- default placement: data_offset moves; stop mid-way and continue ---
mk b 2048 12
testcmd_rc "stopped grow exits 1" 1 "$M grow --raid-devices=5 --mem=1M --stop-after=3 -q b-0 b-1 b-2 b-3 b-4"
"$M" grow --raid-devices=5 --mem=1M --stop-after=3 -q b-0 b-1 b-2 b-3 b-4 >/dev/null 2>b.err
testcmd "a re-run on a mid-reshape array says how to continue" \
	"grep -c 'continue with: mdraid grow --continue' b.err" "1
" ""
if [ $have_mdadm = 1 ]; then
	testcmd "mdadm --examine mid-reshape: feature map, offsets, delta" \
		"mdadm --examine b-4 | grep -E 'Feature Map|Data Offset|New Offset|Delta Devices|Checksum' | sed 's/: [0-9a-f]* - correct/: correct/'" \
		"    Feature Map : 0x44
    Data Offset : 2048 sectors
     New Offset : 1664 sectors
  Delta Devices : 1 (4->5)
       Checksum : correct
" ""
	pos=$(mdadm --examine b-0 | sed -n 's/.*Reshape pos.n : \([0-9]*\).*/\1/p')
	if [ -n "$pos" ] && [ "$pos" -gt 0 ] && [ "$pos" -lt 21504 ]; then
		tap_ok "mdadm --examine: 0 < Reshape pos'n ($pos) < end"
	else
		tap_fail "mdadm --examine: 0 < Reshape pos'n < end" "got '$pos'"
	fi
	mdadm --examine b-0 b-1 b-2 b-3 b-4 >b.mdadm 2>&1
	TZ=UTC "$M" examine b-0 b-1 b-2 b-3 b-4 >b.ours 2>&1
	TZ=UTC mdadm --examine b-0 b-1 b-2 b-3 b-4 >b.mdadm 2>&1
	test_cmp "mdraid examine equals mdadm --examine mid-reshape" b.mdadm b.ours
else
	tap_skip "mdadm --examine mid-reshape" "mdadm not installed"
	tap_skip "mdadm --examine reshape position" "mdadm not installed"
	tap_skip "mdraid examine vs mdadm mid-reshape" "mdadm not installed"
fi
testcmd "grow --continue finishes" "$M grow --continue -q b-0 b-1 b-2 b-3 b-4 2>/dev/null" \
	"mdraid: grown to 5 members: array size 21504K (was 14336K)
" ""
fixture_case "continued grow: content and P/Q" verify b 12
testcmd "grow again: nothing to do" "$M grow --raid-devices=5 b-0 b-1 b-2 b-3 b-4 2>&1" \
	"mdraid: the array already has 5 members: nothing to do
" ""

# --- plain re-run resumes; backup on the new member (no head-room) ---
mk c 128 13
"$M" grow -n 5 --mem=1M --stop-after=2 -q c-0 c-1 c-2 c-3 c-4 >/dev/null 2>c.err
testcmd "backup on the new member: message" "grep -c 'backup goes on the new members' c.err" "1
" ""
testcmd_rc "plain re-run resumes and finishes" 0 "$M grow -n 5 -q c-0 c-1 c-2 c-3 c-4"
fixture_case "backup-on-member grow: content and P/Q" verify c 13
testcmd_rc "mdraid check after backup-on-member grow" 0 "$M check c-0 c-1 c-2 c-3 c-4"

# --- the backup as mdadm writes it, left by a crash inside the critical section ---
mk e 2048 15
"$M" grow -n 5 --backup-file="$T/e.bak" --simulate-crash=critical -q e-0 e-1 e-2 e-3 e-4 >/dev/null 2>&1
testcmd "backup file size is (B + 8) sectors, as mdadm makes it" "stat -c %s e.bak" "397312
" ""
testcmd "md_backup_data-1 header: magic, devstart 8, arraystart 0, length 768, csum, devstart2" \
	"od -A d -t x1 -N 100 e.bak | sed -n '1p;3,7p'" \
"0000000 6d 64 5f 62 61 63 6b 75 70 5f 64 61 74 61 2d 31
0000032 $(od -A n -t x1 -j 32 -N 8 e.bak | sed 's/^ //') 08 00 00 00 00 00 00 00
0000048 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00
0000064 15 49 92 24 00 00 00 00 00 03 00 00 00 00 00 00
0000080 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
0000096 00 00 00 00
" ""
testcmd "devstart (bytes 40..47) is 8" "od -A n -t u8 -j 40 -N 8 e.bak | tr -d ' '" "8
" ""
"$F" create level=6 layout=2 chunk=128 minor=2 bytes=$((8 * MB)) doff=2048 seed=15 x-0 x-1 x-2 x-3
"$M" read --length=$((768 * 512)) x-0 x-1 x-2 x-3 >e.first 2>/dev/null
dd if=e.bak bs=4096 skip=1 2>/dev/null >e.data
test_cmp "backup data = the array's first 384K in logical order" e.first e.data
testcmd "superblocks: RESHAPE_ACTIVE, reshape_position still 0" \
	"for m in e-0 e-4; do od -A n -t u4 -j 4104 -N 4 \$m; od -A n -t u8 -j 4200 -N 8 \$m; done | tr -d ' '" "4
0
4
0
" ""
testcmd_rc "--continue without the backup refused (exit 5)" 5 "$M grow --continue -q e-0 e-1 e-2 e-3 e-4"
testcmd "--continue --backup-file restores the critical section" \
	"$M grow --continue --backup-file=$T/e.bak -q e-0 e-1 e-2 e-3 e-4 2>/dev/null" \
	"mdraid: restoring critical section
mdraid: grown to 5 members: array size 21504K (was 14336K)
" ""
fixture_case "restored grow: content and P/Q" verify e 15

# --- the backup on the new member: headers where Grow_restart reads them ---
mk h 128 16
"$M" grow -n 5 --simulate-crash=critical -q h-0 h-1 h-2 h-3 h-4 >/dev/null 2>&1
# data_offset 128 + size 16256 - 8 = 16376: Grow_restart's header; data at 16376 - 768
testcmd "header copy after the data (data_offset + size - 8): devstart" \
	"od -A n -t u8 -j $((16376 * 512 + 40)) -N 8 h-4 | tr -d ' '" "$((16376 - 768))
" ""
testcmd "header 4 KiB before the data equals it" \
	"cmp -n 68 h-4 h-4 $((16376 * 512)) $(((16376 - 768 - 8) * 512)) && echo same" "same
" ""
testcmd_rc "--continue finds the backup on the new member" 0 "$M grow --continue -q h-0 h-1 h-2 h-3 h-4"
fixture_case "restored from the member: content and P/Q" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=16 old=4 h-0 h-1 h-2 h-3 h-4

# --- degraded: refused without --force, grown with it ---
mk g 2048 17
"$M" read g-0 g-1 g-2 g-3 >g.before 2>/dev/null
testcmd_rc "degraded array refused without --force (exit 5)" 5 "$M grow -n 5 g-0 missing g-2 g-3 g-4"
testcmd_rc "degraded grow with --force" 0 "$M grow -n 5 --force -q g-0 missing g-2 g-3 g-4"
"$M" read --length="$(stat -c %s g.before)" g-0 missing g-2 g-3 g-4 >g.after 2>/dev/null
test_cmp "degraded grow: mdraid read (rebuilding slot 1) gives the old content" g.before g.after

# --- refusals: exit 5, nothing written ---
mk d 2048 14
sum1=$(cat d-0 d-1 d-2 d-3 d-4 | md5sum)
: >d.bak
testcmd_rc "existing backup file refused (exit 5)" 5 "$M grow -n 5 --backup-file=$T/d.bak d-0 d-1 d-2 d-3 d-4"
testcmd_rc "shrinking without --array-size refused (exit 5)" 5 "$M grow -n 3 d-0 d-1 d-2 d-3"
testcmd_rc "--continue without a reshape refused (exit 5)" 5 "$M grow --continue d-0 d-1 d-2 d-3 d-4"
testcmd_rc "missing --raid-devices is a usage error (exit 2)" 2 "$M grow d-0 d-1 d-2 d-3 d-4"
sum2=$(cat d-0 d-1 d-2 d-3 d-4 | md5sum)
if [ "$sum1" = "$sum2" ]; then tap_ok "refusals wrote nothing"; else tap_fail "refusals wrote nothing"; fi

# --- metadata 0.90 (issue 11): always a backup, in a file or on a new member ---
mk0() { # name seed: 4 members of 8 MiB, 0.90 superblocks (fixture), one blank
	rm -f "$1"-*
	"$F" create level=6 layout=2 chunk=128 minor=90 bytes=$((8 * MB)) seed="$2" \
		"$1-0" "$1-1" "$1-2" "$1-3" && "$F" blank bytes=$((8 * MB)) "$1-4"
}
verify0() { # name seed
	"$F" verify level=6 layout=2 chunk=128 minor=90 seed="$2" old=4 "$1-0" "$1-1" "$1-2" "$1-3" "$1-4"
}
mk0 z 21
"$M" read z-0 z-1 z-2 z-3 >z.before 2>/dev/null
testcmd "0.90 grow with --backup-file: mdadm's figure" \
	"$M grow -n 5 --backup-file=$T/z.bak z-0 z-1 z-2 z-3 z-4 2>&1 >/dev/null | grep 'critical'" \
	"mdraid: Need to backup 384K of critical section..
" ""
fixture_case "0.90 backup-file grow: content and P/Q (fixture)" verify0 z 21
"$M" read --length="$(stat -c %s z.before)" z-0 z-1 z-2 z-3 z-4 >z.after 2>/dev/null
test_cmp "0.90 grow: mdraid read gives the old content" z.before z.after
testcmd_rc "0.90 grow: mdraid check finds no mismatch" 0 "$M check z-0 z-1 z-2 z-3 z-4"
if [ $have_mdadm = 1 ]; then
	testcmd "0.90 grow: mdadm --examine of the new member" \
		"mdadm --examine z-4 | grep -E 'Version|Raid Devices|Total Devices|State :|Checksum|^this' | sed 's/: [0-9a-f]* - correct/: correct/'" \
		"        Version : 0.90.00
   Raid Devices : 5
  Total Devices : 5
          State : clean
       Checksum : correct
this     4       0        0        4      active sync
" ""
else
	tap_skip "0.90 grow: mdadm --examine of the new member" "mdadm not installed"
fi

mk0 y 22
"$M" grow -n 5 --mem=1M --stop-after=3 -q y-0 y-1 y-2 y-3 y-4 >/dev/null 2>y.err
testcmd "0.90 grow without a backup file: the backup goes on the new member" \
	"grep -c 'backup goes on the new members' y.err" "1
" ""
if [ $have_mdadm = 1 ]; then
	testcmd "0.90 mid-reshape: mdadm --examine says 0.91 and the delta" \
		"mdadm --examine y-0 | grep -E 'Version|Delta Devices|Raid Devices'" \
		"        Version : 0.91.00
   Raid Devices : 5
  Delta Devices : 1 (4->5)
" ""
	TZ=UTC "$M" examine y-0 y-1 y-2 y-3 y-4 >y.ours 2>&1
	TZ=UTC mdadm --examine y-0 y-1 y-2 y-3 y-4 >y.mdadm 2>&1
	test_cmp "0.90 mid-reshape: mdraid examine equals mdadm --examine" y.mdadm y.ours
else
	tap_skip "0.90 mid-reshape: mdadm --examine" "mdadm not installed"
	tap_skip "0.90 mid-reshape: mdraid examine vs mdadm" "mdadm not installed"
fi
testcmd_rc "0.90: --continue finishes" 0 "$M grow --continue -q y-0 y-1 y-2 y-3 y-4"
fixture_case "0.90 continued grow: content and P/Q" verify0 y 22

mk0 x0 23
"$M" grow -n 5 --backup-file="$T/x0.bak" --simulate-crash=critical -q x0-0 x0-1 x0-2 x0-3 x0-4 >/dev/null 2>&1
testcmd_rc "0.90 inside the critical section: --continue without the backup refused (exit 5)" 5 \
	"$M grow --continue -q x0-0 x0-1 x0-2 x0-3 x0-4"
testcmd_rc "0.90: --continue --backup-file restores and finishes" 0 \
	"$M grow --continue --backup-file=$T/x0.bak -q x0-0 x0-1 x0-2 x0-3 x0-4"
fixture_case "0.90 restored grow: content and P/Q" verify0 x0 23

# --- an internal write-intent bitmap: kept as it is (it covers each member's
# own sectors, which a grow does not change), its events in step with the
# superblocks, copied onto the new member; host mdadm -X reads it (through a
# read-only loop device: mdadm -X takes a plain file for a bitmap file) ---
bm_check() { # name member: mdadm -X events = mdadm --examine events, state OK, nothing dirty
	if [ $have_mdadm = 0 ] || ! lo=$(losetup -r -f --show "$2" 2>/dev/null); then
		tap_skip "$1" "needs mdadm and a loop device"
		return
	fi
	x=$(mdadm -X "$lo" 2>&1)
	losetup -d "$lo"
	ev=$(mdadm --examine "$2" | sed -n 's/^ *Events : \([0-9.]*\).*/\1/p')
	bev=$(echo "$x" | sed -n 's/^ *Events : \([0-9]*\).*/\1/p')
	if [ "${ev#0.}" = "$bev" ] && echo "$x" | grep -q 'State : OK' && echo "$x" | grep -q ' 0 dirty'; then
		tap_ok "$1"
	else
		tap_fail "$1" "examine events '$ev', bitmap: $(echo "$x" | tr '\n' ' ' | cut -c1-300)"
	fi
}
bm_grow() { # name minor seed what [grow options]: a bitmap array grown 4 -> 5, checked
	_n=$1 _mi=$2 _sd=$3 _what=$4
	shift 4
	rm -f "$_n"-*
	"$F" create level=6 layout=2 chunk=128 minor="$_mi" bytes=$((8 * MB)) doff=2048 seed="$_sd" \
		bitmap=1 "$_n-0" "$_n-1" "$_n-2" "$_n-3" && "$F" blank bytes=$((8 * MB)) "$_n-4"
	testcmd_rc "grow an array with an internal bitmap ($_what)" 0 \
		"$M grow -n 5 $* -q $_n-0 $_n-1 $_n-2 $_n-3 $_n-4"
	fixture_case "bitmap grow ($_what): content, P/Q, every bitmap as new as its superblock (fixture)" \
		"$F" verify level=6 layout=2 chunk=128 minor="$_mi" seed="$_sd" bitmap=1 old=4 \
		"$_n-0" "$_n-1" "$_n-2" "$_n-3" "$_n-4"
	bm_check "bitmap grow ($_what): mdadm -X of the new member: events = the superblock's, clean" "$_n-4"
}
bm_grow w 2 24 "v1.2, data_offset moves"
bm_check "bitmap grow (v1.2): mdadm -X of an old member: events = the superblock's, clean" w-1
bm_grow v 90 25 "0.90, backup file" --backup-file="$T/v.bak"
# --- grow checks the members first, as read and write do (issue 15): a
# truncated member is refused with the same message and exit code as write
# gives, and nothing is written (md5 of every member before and after) ---
sums() { md5sum "$@" | cut -d' ' -f1 | tr '\n' ' '; }
mk t 2048 26
truncate -s $((7 * MB)) t-2
before=$(sums t-0 t-1 t-2 t-3 t-4)
"$M" grow --raid-devices=5 -q t-0 t-1 t-2 t-3 t-4 >/dev/null 2>t.err
grc=$?
"$M" write --offset=0 t-0 t-1 t-2 t-3 </dev/null >/dev/null 2>t.werr
wrc=$?
check_eq() { if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1" "expected [$2], got [$3]"; fi; }
check_eq "grow refuses a truncated member: exit 3, as write's" "3 3" "$grc $wrc"
testcmd "the refusal names the member and the fault, in one line" \
	"cat t.err" "mdraid: t-2: offset 4232: data_offset 2048 + data_size 14336 is beyond the device (14336 sectors)
" ""
check_eq "grow refused the truncated member before any write" "$before" "$(sums t-0 t-1 t-2 t-3 t-4)"
# --- a grow killed before each superblock write of its START round and of
# its end rounds (issue 15): the verbs read the original content or refuse
# by name (never other data), and --continue finishes the grow ---
mixed_verbs() { # name what: read/check/detail on the torn state
	_n=$1
	_m="$_n-0 $_n-1 $_n-2 $_n-3 $_n-4"
	_bad=""
	if "$M" read $_m >"$_n.read" 2>"$_n.rerr"; then
		_len=$(stat -c %s "$_n.before")
		head -c "$_len" "$_n.read" | cmp -s - "$_n.before" || _bad="$_bad read returned other data;"
	elif ! grep -q -e 'grow --continue' -e 'reshape is in progress' "$_n.rerr"; then
		_bad="$_bad read refused without naming the cure: $(cat "$_n.rerr");"
	fi
	if "$M" check $_m >"$_n.chk" 2>&1; then
		grep -q 'mismatch_cnt 0' "$_n.chk" || _bad="$_bad check: $(cat "$_n.chk");"
	elif ! grep -q -e 'grow --continue' -e 'reshape is in progress' "$_n.chk"; then
		_bad="$_bad check refused without naming the cure: $(cat "$_n.chk");"
	fi
	"$M" repair $_m >"$_n.rep" 2>&1
	if [ $? = 0 ] && ! grep -q 'mismatch_cnt 0' "$_n.rep"; then _bad="$_bad repair changed data: $(cat "$_n.rep");"; fi
	echo "$_bad"
}
torn_round() { # round K seed [grow options]: kill before write K, judge, continue, verify
	_r=$1 _k=$2 _sd=$3
	shift 3
	_n=t$_r$_k
	mk "$_n" 2048 "$_sd"
	"$M" read "$_n-0" "$_n-1" "$_n-2" "$_n-3" >"$_n.before" 2>/dev/null
	"$M" grow -n 5 "$@" --simulate-crash="$_r:$_k" -q "$_n-0" "$_n-1" "$_n-2" "$_n-3" "$_n-4" >/dev/null 2>"$_n.crash"
	_bad=$(mixed_verbs "$_n")
	_what="the start round"
	[ "$_r" = final ] && _what="the end rounds"
	_opts=$(echo "$*" | sed "s#$T/#\$T/#g") # case names stable across runs
	if "$M" grow --continue "$@" -q "$_n-0" "$_n-1" "$_n-2" "$_n-3" "$_n-4" >"$_n.cont" 2>&1; then
		verify "$_n" "$_sd" 2>"$_n.err" || _bad="$_bad verify: $(cat "$_n.err");"
	elif grep -q 'nothing to continue' "$_n.cont"; then
		# nothing was written: the old array, intact
		"$M" read "$_n-0" "$_n-1" "$_n-2" "$_n-3" 2>&1 | cmp -s - "$_n.before" || _bad="$_bad old array changed;"
	else
		_bad="$_bad continue: $(cat "$_n.cont");"
	fi
	if [ -z "$_bad" ]; then
		tap_ok "killed before write $_k of $_what ($_opts): read/check/repair right or refused by name; --continue finishes"
	else
		tap_fail "killed before write $_k of $_what ($_opts)" "$(head -c 600 "$_n.crash") / $_bad"
	fi
	rm -f "$_n"-* "$_n".*
}
# start: the new member first, then the 4 old ones; end: 5 data_offset
# writes (NEW_OFFSET) then 5 flag writes
# (every write with MDRAID_EXHAUSTIVE=1; a fixed sample by default)
if [ "${MDRAID_EXHAUSTIVE:-0}" = 1 ]; then
	ks="0 1 2 3 4" kf="0 1 2 3 4 5 6 7 8 9" kbs="0 1 2 3 4" kbf="0 1 2 3 4"
else
	ks="0 2" kf="1 5 7" kbs="3" kbf="2"
fi
for k in $ks; do torn_round start $k 40; done
for k in $kf; do torn_round final $k 41; done
for k in $kbs; do torn_round start $k 42 --backup-file="$T/tb$k.bak"; done
for k in $kbf; do torn_round final $k 43 --backup-file="$T/tf$k.bak"; done

# the state the kernel's own single end round leaves when torn (issue 15,
# item 1): member 0 done (offset moved, no reshape, events + 1), the others
# still reshaping at the end at the old offset: every verb refuses it by name
mk u 2048 44
"$M" grow -n 5 --simulate-crash=final:0 -q u-0 u-1 u-2 u-3 u-4 >/dev/null 2>&1
no=$(od -A n -t d4 -j $((4096 + 124)) -N 4 u-0 | tr -d ' ')
doff=$(od -A n -t u8 -j $((4096 + 128)) -N 8 u-0 | tr -d ' ')
dsz=$(od -A n -t u8 -j $((4096 + 136)) -N 8 u-0 | tr -d ' ')
evn=$(od -A n -t u8 -j $((4096 + 200)) -N 8 u-0 | tr -d ' ')
python3 "$OPSKIT_SOURCE/tests/mdraid/sbedit.py" u-0 feature_map=0 new_offset=0 reshape_position=0 \
	delta_disks=0 data_offset=$((doff + no)) data_size=$((dsz - no)) events=$((evn + 1))
for verb in read check repair detail; do
	testcmd "$verb refuses the kernel's torn end round by name" \
		"$M $verb u-0 u-1 u-2 u-3 u-4 2>&1 >/dev/null | grep -c 'disagrees about the reshape'" "1
" ""
done
testcmd_rc "--continue finishes the kernel's torn end round" 0 "$M grow --continue -q u-0 u-1 u-2 u-3 u-4"
fixture_case "kernel's torn end round finished: content and P/Q" verify u 44
# --- chunk change at constant raid-devices (issue 24) ---
mk k 2048 50
"$M" read k-0 k-1 k-2 k-3 >k.before 2>/dev/null
# mdadm 4.2: min move = backup_blocks / data disks = 512 sectors; 1968 free
# before the data, none after: down, choose_offset(80, 2048, 80, 1536) = 1024
testcmd "chunk 64K -> 256K: data_offset moves where mdadm's choose_offset puts it" \
	"$M grow --chunk=256 k-0 k-1 k-2 k-3 2>&1 >/dev/null | grep 'data moves'" \
	"mdraid: data moves from offset 2048 to 1024 sectors (no backup needed)
" ""
fixture_case "chunk change: content and P/Q in 256K chunks (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=50 old=4 k-0 k-1 k-2 k-3
"$M" read k-0 k-1 k-2 k-3 >k.after 2>/dev/null
test_cmp "chunk change: mdraid read gives the old content" k.before k.after
testcmd_rc "chunk change: mdraid check finds P/Q consistent" 0 "$M check k-0 k-1 k-2 k-3"
if [ $have_mdadm = 1 ]; then
	testcmd "chunk change: mdadm --examine reads chunk and data offset" \
		"mdadm --examine $T/k-0 | grep -E 'Chunk Size|Data Offset|Feature Map' | tr -s ' '" \
		" Feature Map : 0x0
 Data Offset : 1024 sectors
 Chunk Size : 256K
" ""
else
	tap_skip "chunk change: mdadm --examine reads chunk and data offset" "mdadm not installed"
fi
# back at once: now more room after the data (1024) than before it (944):
# mdadm 4.2 moves data_offset up, choose_offset(1024, 2048, 1536, 2048) =
# 2048, and md reshapes backwards (RESHAPE_BACKWARDS); stopped part-way
# first, then continued
testcmd_rc "chunk back at once: stopped part-way (exit 1)" 1 "$M grow --chunk=64 --stop-after=2 -q k-0 k-1 k-2 k-3"
testcmd "stopped backwards change: RESHAPE_ACTIVE|BACKWARDS|NEW_OFFSET, new_offset +1024, position inside" \
	"od -A n -t u4 -j $((4096 + 8)) -N 4 k-0 | tr -d ' '; od -A n -t d4 -j $((4096 + 124)) -N 4 k-0 | tr -d ' '
	p=\$(od -A n -t u8 -j $((4096 + 104)) -N 8 k-0 | tr -d ' '); [ \$p -gt 0 ] && [ \$p -lt 28672 ] && echo inside" \
	"100
1024
inside
" ""
testcmd "chunk back at once: --continue finishes it" \
	"$M grow --continue k-0 k-1 k-2 k-3 2>&1 >/dev/null | grep -c 'continuing the chunk change 256K -> 64K'; echo rc=\$?" \
	"1
rc=0
" ""
fixture_case "chunk back (backwards): content and P/Q in 64K chunks (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=50 old=4 k-0 k-1 k-2 k-3
"$M" read k-0 k-1 k-2 k-3 >k.after2 2>/dev/null
test_cmp "chunk back (backwards): mdraid read gives the old content" k.before k.after2
if [ $have_mdadm = 1 ]; then
	testcmd "chunk back (backwards): mdadm --examine reads chunk and data offset" \
		"mdadm --examine $T/k-0 | grep -E 'Chunk Size|Data Offset|Feature Map' | tr -s ' '" \
		" Feature Map : 0x0
 Data Offset : 2048 sectors
 Chunk Size : 64K
" ""
else
	tap_skip "chunk back (backwards): mdadm --examine reads chunk and data offset" "mdadm not installed"
fi
# the same backwards plan, said as the plan
mk kb 2048 54
"$M" grow --chunk=256 -q kb-0 kb-1 kb-2 kb-3 >/dev/null 2>&1
testcmd "chunk back: the plan names the backwards move" \
	"$M grow --chunk=64 kb-0 kb-1 kb-2 kb-3 2>&1 >/dev/null | grep 'data moves'" \
	"mdraid: data moves from offset 1024 to 2048 sectors, backwards (no backup needed)
" ""
sum1=$(cat k-0 k-1 k-2 k-3 | md5sum)
mk j 2048 51
testcmd_rc "chunk change with --backup-file refused (sliding backup, exit 5)" 5 \
	"$M grow --chunk=256 --backup-file=$T/j.bak j-0 j-1 j-2 j-3"
testcmd_rc "chunk and raid-devices together refused (exit 5)" 5 "$M grow --chunk=256 -n 5 j-0 j-1 j-2 j-3 j-4"
testcmd "a chunk that does not divide the size: mdadm's message" \
	"$M grow --chunk=4M j-0 j-1 j-2 j-3 2>&1" \
	"mdraid: New chunk size (4096K) does not evenly divide device size (7168k)
" ""
for o in --level=5 --array-size=1M; do
	testcmd_rc "grow $o refused at start-up (exit 5)" 5 "$M grow $o j-0 j-1 j-2 j-3"
done
testcmd "grow --level=6 of a RAID6: no change requested (exit 0)" \
	"$M grow --level=6 j-0 j-1 j-2 j-3; echo rc=\$?" \
	"mdraid: the array is RAID6 already: no change requested: nothing to do
rc=0
" ""
testcmd_rc "--chunk=192K (not a power of two) is a usage error (exit 2)" 2 "$M grow --chunk=192K j-0 j-1 j-2 j-3"
"$F" create level=6 layout=2 chunk=128 minor=0 bytes=$((8 * MB)) doff=0 seed=53 v-0 v-1 v-2 v-3
testcmd "metadata 1.0: chunk change refused (no room to move data_offset)" \
	"$M grow --chunk=32 v-0 v-1 v-2 v-3 2>&1 | grep -c 'sliding backup'" "1
" ""
# the refusal: one line saying what is refused and what does it instead
# (the sizes masked: the 1.0 case above already covers the room arithmetic)
testcmd "metadata 1.0: layout change refused in one line naming mdadm --backup-file (exit 5)" \
	"$M grow --layout=right-asymmetric v-0 v-1 v-2 v-3 2>$T/lr.err; echo rc=\$?; sed -E 's/[0-9]+K/NK/g' $T/lr.err" \
	"rc=5
mdraid: NK free after the data, less than the NK the move needs: mdadm 4.2 would change the layout in place with a sliding backup file; not supported: use mdadm --grow --backup-file=FILE on the assembled array
" ""
# metadata 1.0 created with room after the data (size 14848 of 16352
# sectors, superblock at 16368): mdadm 4.2's space_after 1520 > space_before
# 0, so data_offset moves up, choose_offset(0, 1520, 512, 1520) = 1024
"$F" create level=6 layout=2 chunk=128 minor=0 bytes=$((8 * MB)) doff=0 seed=55 tail=1504 \
	w-0 w-1 w-2 w-3
testcmd "metadata 1.0 with room after the data: chunk change backwards" \
	"$M grow --chunk=256 w-0 w-1 w-2 w-3 2>&1 >/dev/null | grep 'data moves'" \
	"mdraid: data moves from offset 0 to 1024 sectors, backwards (no backup needed)
" ""
fixture_case "metadata 1.0 backwards: content and P/Q in 256K chunks (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=0 seed=55 old=4 w-0 w-1 w-2 w-3
sum2=$(cat k-0 k-1 k-2 k-3 | md5sum)
if [ "$sum1" = "$sum2" ]; then tap_ok "chunk refusals wrote nothing"; else tap_fail "chunk refusals wrote nothing"; fi
# stopped at a checkpoint, continued
mk s 2048 52
testcmd_rc "chunk change stopped at a checkpoint (exit 1)" 1 "$M grow --chunk=512 --stop-after=3 -q s-0 s-1 s-2 s-3"
testcmd "stopped chunk change: on disk mid-reshape (RESHAPE_ACTIVE|NEW_OFFSET, new_chunk 512K)" \
	"od -A n -t u4 -j $((4096 + 8)) -N 4 s-0 | tr -d ' '; od -A n -t u4 -j $((4096 + 120)) -N 4 s-0 | tr -d ' '" \
	"68
1024
" ""
testcmd_rc "stopped chunk change: --continue finishes it" 0 "$M grow --continue -q s-0 s-1 s-2 s-3"
fixture_case "continued chunk change: content and P/Q (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=52 old=4 s-0 s-1 s-2 s-3
# --- RAID5 -> RAID6 without a restripe (issue 24): --level=6 --layout=preserve ---
mk5() { # name seed: RAID5 left-symmetric, 4 members of 8 MiB, 64K chunk; one blank
	rm -f "$1"-*
	"$F" create level=5 layout=2 chunk=128 minor=2 bytes=$((8 * MB)) doff=2048 seed="$2" \
		"$1-0" "$1-1" "$1-2" "$1-3" && "$F" blank bytes=$((8 * MB)) "$1-4"
}
mk5 t 60
"$M" read t-0 t-1 t-2 t-3 >t.before 2>/dev/null
sum1=$(cat t-0 t-1 t-2 t-3 t-4 | md5sum)
testcmd_rc "RAID5 -> RAID6 --layout=left-symmetric (a restripe) refused (exit 5)" 5 \
	"$M grow --level=6 --layout=left-symmetric t-0 t-1 t-2 t-3 t-4"
testcmd_rc "RAID5 -> RAID6 with 6 members (a restripe) refused (exit 5)" 5 \
	"$M grow --level=6 --layout=preserve -n 6 t-0 t-1 t-2 t-3 t-4"
testcmd_rc "RAID5 -> RAID6 with --chunk refused (exit 5)" 5 \
	"$M grow --level=6 --layout=preserve --chunk=128 t-0 t-1 t-2 t-3 t-4"
testcmd "--layout=normalise with --level=6: mdadm's message" \
	"$M grow --level=6 --layout=normalise t-0 t-1 t-2 t-3 t-4 2>&1" \
	"mdraid: normalise is only meaningful when reshaping a RAID6 array.
" ""
testcmd_rc "--level=0 refused (exit 5)" 5 "$M grow --level=0 t-0 t-1 t-2 t-3"
testcmd_rc "RAID5 layout change with more members refused (exit 5)" 5 \
	"$M grow --layout=right-asymmetric -n 5 t-0 t-1 t-2 t-3 t-4"
testcmd_rc "RAID5 -> RAID6 without the new member refused (exit 5)" 5 \
	"$M grow --level=6 --layout=preserve t-0 t-1 t-2 t-3"
sum2=$(cat t-0 t-1 t-2 t-3 t-4 | md5sum)
if [ "$sum1" = "$sum2" ]; then tap_ok "RAID5 -> RAID6 refusals wrote nothing"; else tap_fail "RAID5 -> RAID6 refusals wrote nothing"; fi
testcmd "RAID5 -> RAID6 --layout=preserve (mdadm's level change: Q onto the new member)" \
	"$M grow --level=6 --layout=preserve t-0 t-1 t-2 t-3 t-4 2>/dev/null" \
	"mdraid: level changed to RAID6 (left-symmetric-6, 5 members): array size 21504K
" ""
fixture_case "RAID5 -> RAID6: content, P and Q in left-symmetric-6 (fixture)" \
	"$F" verify level=6 layout=18 chunk=128 minor=2 seed=60 old=5 t-0 t-1 t-2 t-3 t-4
"$M" read t-0 missing missing t-3 t-4 >t.after 2>/dev/null
test_cmp "RAID5 -> RAID6: two members missing, the content reads back (Q used)" t.before t.after
if [ $have_mdadm = 1 ]; then
	for i in 0 4; do
		testcmd "RAID5 -> RAID6: mdadm --examine t-$i: raid6 left-symmetric-6, 5 devices, in sync" \
			"mdadm --examine t-$i | grep -E 'Feature Map|Raid Level|Raid Devices|Layout|Checksum|Device Role|Array State' | sed 's/: [0-9a-f]* - correct/: correct/'" \
			"    Feature Map : 0x0
     Raid Level : raid6
   Raid Devices : 5
       Checksum : correct
         Layout : left-symmetric-6
   Device Role : Active device $i
   Array State : AAAAA ('A' == active, '.' == missing, 'R' == replacing)
" ""
	done
else
	tap_skip "RAID5 -> RAID6: mdadm --examine" "mdadm not installed"
fi
testcmd "RAID5 -> RAID6 again: nothing to do (exit 0)" \
	"$M grow --level=6 --layout=preserve t-0 t-1 t-2 t-3 t-4; echo rc=\$?" \
	"mdraid: the array is already RAID6 (left-symmetric-6, 5 members): nothing to do
rc=0
" ""
# killed after two of the level round's four superblock writes: --continue
mk5 u 61
testcmd_rc "RAID5 -> RAID6 killed inside the level round (exit 1)" 1 \
	"$M grow --level=6 --layout=preserve --simulate-crash=start:2 u-0 u-1 u-2 u-3 u-4"
testcmd "torn level round: members say RAID5 4 and RAID6 5 (mdadm refuses that mix)" \
	"for i in 0 1 2 3; do od -A n -t d4 -j $((4096 + 72)) -N 4 u-\$i | tr -d ' '; done" \
	"6
6
5
5
" ""
testcmd_rc "torn level round: --continue finishes the conversion" 0 "$M grow --continue -q u-0 u-1 u-2 u-3 u-4"
fixture_case "continued RAID5 -> RAID6: content, P and Q (fixture)" \
	"$F" verify level=6 layout=18 chunk=128 minor=2 seed=61 old=5 u-0 u-1 u-2 u-3 u-4
# stopped after the level round: a degraded RAID6 the kernel reads as is;
# --level=6 again (or --continue) computes Q
mk5 w 62
testcmd_rc "RAID5 -> RAID6 stopped after the level round (exit 1)" 1 \
	"$M grow --level=6 --layout=preserve --simulate-crash=critical w-0 w-1 w-2 w-3 w-4"
"$M" read w-0 w-1 w-2 w-3 >w.after 2>/dev/null
"$M" read --length="$(stat -c %s w.after)" w-0 w-1 w-2 w-3 >w.after 2>/dev/null
cmp -s w.after t.before && tap_fail "after the level round: content (seeded differently)" "same as t" ||
	tap_ok "after the level round: content (seeded differently)"
testcmd_rc "after the level round: the same command computes Q" 0 \
	"$M grow --level=6 --layout=preserve -q w-0 w-1 w-2 w-3 w-4"
fixture_case "RAID5 -> RAID6 finished by a second run: content, P and Q (fixture)" \
	"$F" verify level=6 layout=18 chunk=128 minor=2 seed=62 old=5 w-0 w-1 w-2 w-3 w-4
# --- layout change at constant raid-devices (issue 24) ---
# the conversion's left-symmetric-6 normalised: the whole chain of the issue
"$M" read --length="$(stat -c %s t.before)" t-0 t-1 t-2 t-3 t-4 >t.before6 2>/dev/null
testcmd "RAID6 left-symmetric-6 --layout=normalise: left-symmetric, data_offset moves" \
	"$M grow --layout=normalise t-0 t-1 t-2 t-3 t-4 2>&1 >/dev/null" \
	"mdraid: changing the layout of RAID6 (5 members) left-symmetric-6 -> left-symmetric
mdraid: data moves from offset 2048 to 1024 sectors (no backup needed)
" ""
fixture_case "normalised: content, P and Q in left-symmetric (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=60 old=5 t-0 t-1 t-2 t-3 t-4
"$M" read --length="$(stat -c %s t.before)" t-0 t-1 t-2 t-3 t-4 >t.after 2>/dev/null
test_cmp "normalised: mdraid read gives the RAID5's content" t.before t.after
mk y 2048 63
"$M" read y-0 y-1 y-2 y-3 >y.before 2>/dev/null
sum1=$(cat y-0 y-1 y-2 y-3 | md5sum)
testcmd "--layout=bogus: mdadm's message (exit 5)" \
	"$M grow --layout=bogus y-0 y-1 y-2 y-3 2>&1; echo rc=\$?" \
	"mdraid: layout bogus not understood for this level (RAID6)
rc=5
" ""
testcmd_rc "layout and raid-devices together refused (exit 5)" 5 \
	"$M grow --layout=right-asymmetric -n 5 y-0 y-1 y-2 y-3 y-4"
testcmd_rc "layout and chunk together refused (exit 5)" 5 \
	"$M grow --layout=right-asymmetric --chunk=128 y-0 y-1 y-2 y-3"
testcmd "--layout=normalise of a left-symmetric RAID6: nothing to do (exit 0)" \
	"$M grow --layout=normalise y-0 y-1 y-2 y-3; echo rc=\$?" \
	"mdraid: the array already has layout left-symmetric: nothing to do
rc=0
" ""
sum2=$(cat y-0 y-1 y-2 y-3 | md5sum)
if [ "$sum1" = "$sum2" ]; then tap_ok "layout refusals wrote nothing"; else tap_fail "layout refusals wrote nothing"; fi
testcmd_rc "layout change stopped at a checkpoint (exit 1)" 1 \
	"$M grow --layout=right-asymmetric --stop-after=3 -q y-0 y-1 y-2 y-3"
testcmd "stopped layout change: on disk mid-reshape (RESHAPE_ACTIVE|NEW_OFFSET, new_layout 1)" \
	"od -A n -t u4 -j $((4096 + 8)) -N 4 y-0 | tr -d ' '; od -A n -t u4 -j $((4096 + 116)) -N 4 y-0 | tr -d ' '" \
	"68
1
" ""
testcmd_rc "stopped layout change: --continue finishes it" 0 "$M grow --continue -q y-0 y-1 y-2 y-3"
fixture_case "continued layout change: content and P/Q in right-asymmetric (fixture)" \
	"$F" verify level=6 layout=1 chunk=128 minor=2 seed=63 old=4 y-0 y-1 y-2 y-3
testcmd_rc "layout change: mdraid check finds P/Q consistent" 0 "$M check y-0 y-1 y-2 y-3"
if [ $have_mdadm = 1 ]; then
	testcmd "layout change: mdadm --examine reads layout and data offset" \
		"mdadm --examine y-0 | grep -E 'Feature Map|Data Offset|Layout'" \
		"    Feature Map : 0x0
    Data Offset : 1024 sectors
         Layout : right-asymmetric
" ""
else
	tap_skip "layout change: mdadm --examine reads layout and data offset" "mdadm not installed"
fi
# --- --size: the component size after every member grew (issue 24) ---
# (the kernel's and mdadm's result: tests/interop/mdraid/test_takeover.sh;
# every crash state: mdraid-grow-crash's size-max scenarios)
mk z 2048 71
"$M" read z-0 z-1 z-2 z-3 >z.before 2>/dev/null
testcmd "--size=max with members not enlarged: unchanged (exit 0)" \
	"$M grow --size=max z-0 z-1 z-2 z-3; echo rc=\$?" \
	"mdraid: component size unchanged at 7168K
rc=0
" ""
for i in 0 1 2 3; do truncate -s $((12 * MB)) z-$i; done
sum1=$(cat z-0 z-1 z-2 z-3 | md5sum)
testcmd "--size with --raid-devices: mdadm's refusal (exit 5)" \
	"$M grow --size=max -n 5 z-0 z-1 z-2 z-3 z-4 2>&1; echo rc=\$?" \
	"mdraid: cannot change component size at the same time as other changes.
   Change size first, then check data is intact before making other changes.
rc=5
" ""
testcmd "--size below the chunk: mdadm's refusal (exit 5)" \
	"$M grow --size=32K z-0 z-1 z-2 z-3 2>&1; echo rc=\$?" \
	"mdraid: component size must be larger than chunk size.
rc=5
" ""
testcmd_rc "--size below the current size (a shrink) refused (exit 5)" 5 "$M grow --size=4M z-0 z-1 z-2 z-3"
testcmd_rc "--size beyond the members' room refused (exit 5)" 5 "$M grow --size=20M z-0 z-1 z-2 z-3"
testcmd_rc "--array-size refused (exit 5)" 5 "$M grow --array-size=1M z-0 z-1 z-2 z-3"
sum2=$(cat z-0 z-1 z-2 z-3 | md5sum)
if [ "$sum1" = "$sum2" ]; then tap_ok "size refusals wrote nothing"; else tap_fail "size refusals wrote nothing"; fi
testcmd "--size=9M: mdadm's message" "$M grow -q --size=9M z-0 z-1 z-2 z-3" \
	"mdraid: component size has been set to 9216K
" ""
testcmd_rc "--size=max stopped at a resync checkpoint (exit 1)" 1 \
	"$M grow -q --size=max --stop-after=3 z-0 z-1 z-2 z-3"
testcmd "stopped: size 11264K, resync_offset between the old size and it" \
	"od -A n -t u8 -j $((4096 + 80)) -N 8 z-0 | tr -d ' '; r=\$(od -A n -t u8 -j $((4096 + 208)) -N 8 z-0 | tr -d ' '); [ \$r -gt 18432 ] && [ \$r -lt 22528 ] && echo mid" \
	"22528
mid
" ""
testcmd "the same command finishes the resync" "$M grow -q --size=max z-0 z-1 z-2 z-3 2>&1" \
	"mdraid: the array is not clean: resyncing from $(($(od -A n -t u8 -j $((4096 + 208)) -N 8 z-0 | tr -d ' ') / 2))K of each member
mdraid: component size unchanged at 11264K
" ""
testcmd_rc "--size=max: mdraid check finds P/Q consistent" 0 "$M check z-0 z-1 z-2 z-3"
"$M" read --length=$((14 * MB)) z-0 z-1 z-2 z-3 >z.after 2>/dev/null
testcmd "--size=max: the old content is intact" "cmp z.before z.after && echo same" "same
" ""
if [ $have_mdadm = 1 ]; then
	testcmd "--size=max: mdadm --examine reads the new sizes, clean" \
		"mdadm --examine z-0 | grep -E 'Avail Dev Size|Array Size|^ +State :'" \
		" Avail Dev Size : 22528 sectors (11.00 MiB 11.53 MB)
     Array Size : 22528 KiB (22.00 MiB 23.07 MB)
          State : clean
" ""
else
	tap_skip "--size=max: mdadm --examine reads the new sizes, clean" "mdadm not installed"
fi
"$F" create level=6 layout=2 chunk=128 minor=0 bytes=$((8 * MB)) doff=0 seed=72 v-0 v-1 v-2 v-3
testcmd "metadata 1.0: --size refused (exit 5)" \
	"$M grow --size=max v-0 v-1 v-2 v-3 2>&1 | grep -c 'metadata 1.0'; $M grow --size=max v-0 v-1 v-2 v-3 2>/dev/null; echo rc=\$?" \
	"1
rc=5
" ""
# --- --simulate-crash in the rounds of the size change and the RAID5 ->
# RAID6 conversion (the kernel's judgement of these states:
# tests/interop/mdraid/test_grow_crash.sh, kinds sizemax, level6, level6n) ---
# the size change's start rounds: DATA_SIZE (4 writes), then SIZE (4)
mk y 2048 73
"$M" read y-0 y-1 y-2 y-3 >y.before 2>/dev/null
for i in 0 1 2 3; do truncate -s $((12 * MB)) y-$i; done
testcmd "--size=max killed before write 6 of the start rounds (exit 1)" \
	"$M grow -q --size=max --simulate-crash=start:6 y-0 y-1 y-2 y-3 2>y.msg; echo rc=\$?; tail -n 1 y.msg" \
	"rc=1
mdraid: simulated crash before superblock write 6 of the start rounds: Operation canceled
" ""
testcmd "torn SIZE round: data_size new on all 4, size new on members 0 and 1 only" \
	"for i in 0 1 2 3; do echo \$(od -A n -t u8 -j $((4096 + 136)) -N 8 y-\$i) \$(od -A n -t u8 -j $((4096 + 80)) -N 8 y-\$i); done" \
	"22528 22528
22528 22528
22528 14336
22528 14336
" ""
testcmd_rc "torn SIZE round: the same command finishes it" 0 "$M grow -q --size=max y-0 y-1 y-2 y-3"
testcmd_rc "torn SIZE round finished: mdraid check finds P/Q consistent" 0 "$M check y-0 y-1 y-2 y-3"
"$M" read --length=$((14 * MB)) y-0 y-1 y-2 y-3 >y.after 2>/dev/null
test_cmp "torn SIZE round finished: the old content is intact" y.before y.after
# its end round: CLEAN (4 writes), after the resync's checkpoints (every
# sixteenth of the 8192 added sectors, as md_do_sync: the last at 22016)
mk y 2048 74
for i in 0 1 2 3; do truncate -s $((12 * MB)) y-$i; done
testcmd "--size=max killed before write 1 of the CLEAN round: member 0 clean, the rest still resyncing" \
	"$M grow -q --size=max --simulate-crash=final:1 y-0 y-1 y-2 y-3 2>/dev/null; echo rc=\$?; for i in 0 1 2 3; do od -A n -t x8 -j $((4096 + 208)) -N 8 y-\$i | tr -d ' '; done" \
	"rc=1
ffffffffffffffff
$(printf '%016x' $((22528 - 8192 / 16)))
$(printf '%016x' $((22528 - 8192 / 16)))
$(printf '%016x' $((22528 - 8192 / 16)))
" ""
testcmd_rc "--simulate-crash=critical with --size: no critical section (exit 2)" 2 \
	"$M grow -q --size=max --simulate-crash=critical y-0 y-1 y-2 y-3"
# the conversion's end round: the rebuild's last (4 old members, then Q)
mk5 x 63
testcmd "RAID5 -> RAID6 killed before write 2 of the rebuild's last round (exit 1)" \
	"$M grow -q --level=6 --layout=preserve --simulate-crash=final:2 x-0 x-1 x-2 x-3 x-4 2>x.msg; echo rc=\$?; tail -n 1 x.msg" \
	"rc=1
mdraid: simulated crash before superblock write 2 of the end rounds: Operation canceled
" ""
testcmd "torn rebuild end: members 0 and 1 one event ahead, Q still recovering" \
	"for i in 0 1 2 3; do od -A n -t u8 -j $((4096 + 200)) -N 8 x-\$i; done | sort | uniq -c | awk '{print \$1}'; echo \$((\$(od -A n -t u4 -j $((4096 + 8)) -N 4 x-4) & 2))" \
	"2
2
2
" ""
testcmd_rc "torn rebuild end: --continue finishes it" 0 "$M grow -q --continue x-0 x-1 x-2 x-3 x-4"
fixture_case "torn rebuild end continued: content, P and Q (fixture)" \
	"$F" verify level=6 layout=18 chunk=128 minor=2 seed=63 old=5 x-0 x-1 x-2 x-3 x-4
# without --layout, K counts on from the conversion into the restripe: its
# end rounds are writes 0-4 (the rebuild's), then 5-14 (the restripe's
# data_offset round, then its flag round)
mk5 x 64
testcmd "RAID5 -> RAID6 without --layout killed before end write 7: inside the restripe's data_offset round" \
	"$M grow -q --level=6 --simulate-crash=final:7 x-0 x-1 x-2 x-3 x-4 2>&1 | tail -n 1; for i in 0 1 2 3 4; do od -A n -t u4 -j $((4096 + 76)) -N 4 x-\$i | tr -d ' '; done | sort | uniq -c | awk '{print \$1, \$2}'" \
	"mdraid: simulated crash before superblock write 7 of the end of the grow: Operation canceled
5 18
" ""
testcmd_rc "the restripe's torn end: --continue finishes it" 0 "$M grow -q --continue x-0 x-1 x-2 x-3 x-4"
fixture_case "the restripe's torn end continued: content, P and Q in left-symmetric (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=64 old=5 x-0 x-1 x-2 x-3 x-4
# --- RAID5 -> RAID6 without --layout: as mdadm 4.2, the -6 form then a
# restripe into the plain layout of the RAID5 layout's number ---
mk5 u 61
testcmd "RAID5 -> RAID6 without --layout: the conversion, then the restripe (mdadm 4.2)" \
	"$M grow --level=6 --raid-devices=5 u-0 u-1 u-2 u-3 u-4 2>u.msg >/dev/null; echo rc=\$?; head -n 1 u.msg" \
	"rc=0
mdraid: without --layout, as mdadm 4.2: RAID6 left-symmetric-6 first, then a restripe into left-symmetric
" ""
fixture_case "RAID5 -> RAID6 without --layout: content, P and Q in left-symmetric (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=61 old=5 u-0 u-1 u-2 u-3 u-4
testcmd "RAID5 -> RAID6 without --layout again: nothing to change (as mdadm)" \
	"$M grow --level=6 --raid-devices=5 u-0 u-1 u-2 u-3 u-4; echo rc=\$?" \
	"mdraid: the array already has layout left-symmetric: nothing to do
rc=0
" ""
# --- shrink (issue 24): 6 -> 5 members, only with --array-size (mdadm's
# --grow --array-size first, which md keeps in memory only); data_offset up
# by backup_blocks / old data disks = LCM(4*64K, 3*64K) / 4 = 192K (2048 ->
# 2432 sectors), backwards. Members of 8 MiB, 512 sectors left after size
# (13824 sectors: 41472 array sectors = 20736K after, 27648K before). ---
rm -f s-*
"$F" create level=6 layout=2 chunk=128 minor=2 bytes=$((8 * MB)) doff=2048 tail=512 seed=81 \
	s-0 s-1 s-2 s-3 s-4 s-5
"$M" read s-0 s-1 s-2 s-3 s-4 s-5 >s.before 2>/dev/null
sum1=$(cat s-0 s-1 s-2 s-3 s-4 s-5 | md5sum)
testcmd "shrink without --array-size: mdadm's refusal, the size to give (exit 5)" \
	"$M grow -n 5 s-0 s-1 s-2 s-3 s-4 s-5 2>&1 | grep -o 'use --grow --array-size first.*--array-size=20736K or less'; $M grow -n 5 s-0 s-1 s-2 s-3 s-4 s-5 2>/dev/null; echo rc=\$?" \
	"use --grow --array-size first to truncate array\"): give --array-size=20736K or less
rc=5
" ""
testcmd_rc "shrink with --array-size above the new size refused (exit 5)" 5 "$M grow -n 5 --array-size=20737K s-0 s-1 s-2 s-3 s-4 s-5"
testcmd_rc "shrink with --backup-file refused (mdadm's in-place shrink, exit 5)" 5 "$M grow -n 5 --array-size=20M --backup-file=$T/s.bak s-0 s-1 s-2 s-3 s-4 s-5"
testcmd_rc "--array-size without --raid-devices refused (exit 5)" 5 "$M grow --array-size=20M s-0 s-1 s-2 s-3 s-4 s-5"
testcmd "--array-size with a growing --raid-devices refused (exit 5)" \
	"$M grow -n 7 --array-size=20M s-0 s-1 s-2 s-3 s-4 s-5 2>&1 | grep -c 'only taken with a shrinking'; $M grow -n 7 --array-size=20M s-0 s-1 s-2 s-3 s-4 s-5 2>/dev/null; echo rc=\$?" \
	"1
rc=5
" ""
sum2=$(cat s-0 s-1 s-2 s-3 s-4 s-5 | md5sum)
if [ "$sum1" = "$sum2" ]; then tap_ok "shrink refusals wrote nothing"; else tap_fail "shrink refusals wrote nothing"; fi
# the stop's checkpoints reach all 6 members, the one leaving too: md
# keeps it in the array until the end, and mdadm --assemble leaves out a
# member more than one event behind (each distinct line counted: 6 + 6)
testcmd "shrink stopped after 2 steps (exit 1), every member at the same events and position, then --continue (exit 0)" \
	"$M grow -q -n 5 --array-size=20736K --mem=1M --stop-after=2 s-0 s-1 s-2 s-3 s-4 s-5 >/dev/null 2>&1; echo rc=\$?; for i in 0 1 2 3 4 5; do $M examine s-\$i | grep -E 'Events|Reshape pos'; done | sort | uniq -c | awk '{print \$1}'; $M grow -q --continue --mem=1M s-0 s-1 s-2 s-3 s-4 s-5; echo rc=\$?" \
	"rc=1
6
6
mdraid: shrunk to 5 members: array size 20736K (was 27648K); 1 spare
rc=0
" ""
fixture_case "shrink: content and P/Q of the 5 members (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=81 old=6 s-0 s-1 s-2 s-3 s-4
testcmd_rc "shrink: mdraid check finds no mismatches" 0 "$M check s-0 s-1 s-2 s-3 s-4"
"$M" read s-0 s-1 s-2 s-3 s-4 >s.after 2>/dev/null
head -c $((20736 * 1024)) s.before >s.head
test_cmp "shrink: mdraid read gives the first 20736K of the old content" s.head s.after
if [ $have_mdadm = 1 ]; then
	testcmd "shrink: mdadm --examine: 5 raid devices, data offset 2432, the sixth a spare" \
		"mdadm --examine s-0 | grep -E 'Raid Devices|Array Size|Data Offset|Array State'; mdadm --examine s-5 | grep -E 'Device Role|Data Offset'" \
		"   Raid Devices : 5
     Array Size : 20736 KiB (20.25 MiB 21.23 MB)
    Data Offset : 2432 sectors
   Array State : AAAAA ('A' == active, '.' == missing, 'R' == replacing)
    Data Offset : 2432 sectors
   Device Role : spare
" ""
else
	tap_skip "shrink: mdadm --examine" "mdadm not installed"
fi
# a shrink the kernel finished after mdraid was killed inside its flag
# round before the removed member's write (tests/interop/mdraid/
# test_grow_crash.sh eh10): that member keeps its old superblock
# (reshaping, events behind) and mdadm --assemble leaves it out; the
# kernel's later updates are played here by a write through the core on
# the five (active, then clean). --continue given all six: nothing to
# continue, not "a degraded array"
rm -f g-* gk-*
"$F" create level=6 layout=2 chunk=128 minor=2 bytes=$((8 * MB)) doff=2048 tail=512 seed=82 \
	g-0 g-1 g-2 g-3 g-4 g-5
for i in 0 1 2 3 4 5; do cp g-$i gk-$i; done
"$M" grow -q -n 5 --array-size=20736K --simulate-crash=final:6 gk-0 gk-1 gk-2 gk-3 gk-4 gk-5 >/dev/null 2>&1
"$M" grow -q -n 5 --array-size=20736K g-0 g-1 g-2 g-3 g-4 g-5 >/dev/null 2>&1
"$M" read --length=65536 g-0 g-1 g-2 g-3 g-4 >g.blk 2>/dev/null
"$M" write --offset=0 g-0 g-1 g-2 g-3 g-4 <g.blk 2>/dev/null
cp gk-5 g-5
testcmd "shrink finished without the removed member's last write: --continue finds nothing to continue (exit 5)" \
	"$M grow --continue g-0 g-1 g-2 g-3 g-4 g-5 2>&1 | grep -c 'g-5: not in the array any more.*nothing to continue'; $M grow --continue g-0 g-1 g-2 g-3 g-4 g-5 2>/dev/null; echo rc=\$?" \
	"1
rc=5
" ""
fixture_case "that shrink: content and P/Q of the 5 members (fixture)" \
	"$F" verify level=6 layout=2 chunk=128 minor=2 seed=82 old=6 g-0 g-1 g-2 g-3 g-4
tap_done
