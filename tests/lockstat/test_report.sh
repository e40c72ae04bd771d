#!/bin/sh
# test_report.sh: lockstat's aggregation and output formats, replayed from
# hand-written record files (no root needed). Every expected line is built
# with printf from the Solaris format strings quoted in
# illumos' usr/src/cmd/lockstat/lockstat.c, with counts, percentages, averages and tie
# order worked out by hand from the rules there (the working is in the
# comments); nothing here comes from running lockstat itself.
. "$OPSKIT_SOURCE/tests/tap.sh"
L="$OPSKIT_BUILD/lockstat/lockstat"
T=$TAP_TMP
BAR=-------------------------------------------------------------------------------

hdr() { # block header: desc count seconds rate
	printf '\n%s: %s events in %s seconds (%s events/sec)\n\n' "$1" "$2" "$3" "$4"
}
cols() { # count-label indv-label units lock-hdr caller-hdr
	printf '%5s %4s %4s %4s %8s %-22s %-24s\n' "$1" "$2" cuml rcnt "$3" "$4" "$5"
}
row() { # count indv% cuml% nsec lock caller
	printf '%5s %3s%% %3s%% %4s %8s %-22s %-24s\n' "$1" "$2" "$3" 0.00 "$4" "$5" "$6"
}

# Fixture A: contention events; 2 s.
cat > "$T/a.rec" <<'REC'
lockstat-record 1
# hand-written fixture
elapsed 2000000000
ncpu 2
ev 1 ffffffff82000000 ffffffff81000110 1000 -
ev 1 ffffffff82000000 ffffffff81000110 3000 -
ev 1 ffffffff82000008 ffffffff81000120 2000 -
ev 2 ffffffff82000010 ffffffff81000310 500 -
ev 1 ffffffff82000000 ffffffff81000310 700 -
sym ffffffff81000000 100 mutex_vector_enter
sym ffffffff81000100 200 foo
sym ffffffff81000300 100 bar
sym ffffffff82000000 40 pse_mutex
REC

# Default (-t). Event 1: 4 events, 2/s. Records (key order): R1 pse_mutex/foo+0x10
# (2, 4000 ns), R3 pse_mutex/bar+0x10 (1, 700), R2 pse_mutex+0x8/foo+0x20 (1, 2000).
# Sorting by count with Solaris' merge sort puts R2 before R3 (tie).
# Event 2: 1 event; 0.5/s prints as 0 (%.0f rounds half to even).
{
	hdr "Adaptive mutex block" 4 2.000 2
	cols Count indv nsec Lock Caller
	echo $BAR
	row 2 50 50 2000 pse_mutex foo+0x10
	row 1 25 75 2000 pse_mutex+0x8 foo+0x20
	row 1 25 100 700 pse_mutex bar+0x10
	echo $BAR
	hdr "Spin lock spin" 1 2.000 0
	cols Count indv nsec Lock Caller
	echo $BAR
	row 1 100 100 500 pse_mutex+0x10 bar+0x10
	echo $BAR
} > "$T/exp"
"$L" --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "default report, tie order by count" "$T/exp" "$T/out"

# -c: locks coalesced to pse_mutex, printed with their size: pse_mutex[64]. The
# key-order sort (event, stack, caller, lock) gives R1, R2', R3; the count sort
# then yields R1, R3, R2' (the tie now resolves the other way).
{
	hdr "Adaptive mutex block" 4 2.000 2
	cols Count indv nsec Lock Caller
	echo $BAR
	row 2 50 50 2000 'pse_mutex[64]' foo+0x10
	row 1 25 75 700 'pse_mutex[64]' bar+0x10
	row 1 25 100 2000 'pse_mutex[64]' foo+0x20
	echo $BAR
	hdr "Spin lock spin" 1 2.000 0
	cols Count indv nsec Lock Caller
	echo $BAR
	row 1 100 100 500 'pse_mutex[64]' bar+0x10
	echo $BAR
} > "$T/exp"
"$L" -c --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-c coalesces locks and prints name[size]" "$T/exp" "$T/out"

# -w: callers merged per lock; pse_mutex: 2+1 events, 4700 ns, avg 1566 (integer
# division), the hottest caller foo+0x10 survives.
{
	hdr "Adaptive mutex block" 4 2.000 2
	cols Count indv nsec Lock "Hottest Caller"
	echo $BAR
	row 3 75 75 1566 pse_mutex foo+0x10
	row 1 25 100 2000 pse_mutex+0x8 foo+0x20
	echo $BAR
	hdr "Spin lock spin" 1 2.000 0
	cols Count indv nsec Lock "Hottest Caller"
	echo $BAR
	row 1 100 100 500 pse_mutex+0x10 bar+0x10
	echo $BAR
} > "$T/exp"
"$L" -w --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-w merges callers, hottest caller kept" "$T/exp" "$T/out"

# -P: sorted by total time: R1 4000, R2 2000, R3 700; indv = time share of the
# event's 6700 ns: 59.7% -> 60, 29.9% (cuml 89.6) -> 30/90, 10.4% -> 10/100.
{
	hdr "Adaptive mutex block" 4 2.000 2
	cols Count indv nsec Lock Caller
	echo $BAR
	row 2 60 60 2000 pse_mutex foo+0x10
	row 1 30 90 2000 pse_mutex+0x8 foo+0x20
	row 1 10 100 700 pse_mutex bar+0x10
	echo $BAR
} > "$T/exp"
"$L" -P -e 1 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-P sorts by time and shares time" "$T/exp" "$T/out"

# -h on event 2: 500 ns is in bucket [256, 512), labelled 512; 1*30/1 = 30 '@'.
{
	hdr "Spin lock spin" 1 2.000 0
	echo $BAR
	cols Count indv nsec Lock Caller
	row 1 100 100 500 pse_mutex+0x10 bar+0x10
	echo
	printf '%10s %31s %-9s %-24s\n' nsec "------ Time Distribution ------" count ""
	printf '%10s |%s %-9s \n' 512 '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@' 1
	echo $BAR
} > "$T/exp"
"$L" -h -e 2 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-h histogram" "$T/exp" "$T/out"

# -p: "event count lock caller rcnt time".
printf '2 1 pse_mutex+0x10 bar+0x10 0.000000 500\n' > "$T/exp"
"$L" -p -e 2 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-p parsable row" "$T/exp" "$T/out"

# -D 0: totals only, "%20llu %s".
printf '%20s %s\n' 4 "Adaptive mutex block" 1 "Spin lock spin" > "$T/exp"
"$L" -D 0 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-D 0 prints totals" "$T/exp" "$T/out"

# -D 1 -R: the top row only, as rates: 2 events / 2 s = 1 op/s.
{
	hdr "Adaptive mutex block" 4 2.000 2
	cols ops/s indv nsec Lock Caller
	echo $BAR
	row 1 50 50 2000 pse_mutex foo+0x10
	echo $BAR
} > "$T/exp"
"$L" -D 1 -R -e 1 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-D 1 -R top row as a rate" "$T/exp" "$T/out"

# -b: count only; the units column is blank.
{
	hdr "Spin lock spin" 1 2.000 0
	cols Count indv "" Lock Caller
	echo $BAR
	row 1 100 100 "" pse_mutex+0x10 bar+0x10
	echo $BAR
} > "$T/exp"
"$L" -b -e 2 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-b blank units" "$T/exp" "$T/out"

# -l pse_mutex,8 keeps the two events on pse_mutex+0..7 of event 1.
"$L" -l pse_mutex,8 -e 1 -p --replay "$T/a.rec" > "$T/out" 2>&1
printf '1 2 pse_mutex foo+0x10 0.000000 4000\n1 1 pse_mutex bar+0x10 0.000000 700\n' > "$T/exp"
test_cmp "-l lock range filter" "$T/exp" "$T/out"

# -d 1500 keeps events of at least 1500 ns: 3000 and 2000. Two records of
# count 1 in key order [foo+0x10, foo+0x20]: the merge sort takes the right one
# on a tie, so they print reversed.
"$L" -d 1500 -p --replay "$T/a.rec" > "$T/out" 2>&1
printf '1 1 pse_mutex+0x8 foo+0x20 0.000000 2000\n1 1 pse_mutex foo+0x10 0.000000 3000\n' > "$T/exp"
test_cmp "-d duration filter" "$T/exp" "$T/out"

# Fixture B: profiling; 1 s, two CPUs.
# (tests/lockstat/fixtures/profile.rec, also the demo's sample):
#   cpu_halt+0x10 x2 and +0x30 on cpu[0], cpu_halt+0x20 on cpu[1],
#   lzjb_compress+0x50 x2 on cpu[1] called from zio_compress <- zio_execute,
#   one user-mode sample of 'sh' on cpu[0].
cp "$OPSKIT_SOURCE/tests/lockstat/fixtures/profile.rec" "$T/b.rec"

# -kIW: callers coalesced to function starts, then merged across CPUs:
# cpu_halt 3 (cpu[0]) + 1 (cpu[1]) = 4, hottest cpu[0]; lzjb_compress 2 on cpu[1];
# (usermode) 1 on cpu[0]. 4/7 = 57%, 2/7 = 29% (cuml 86%), 1/7 = 14% (100%).
{
	hdr "Profiling interrupt" 7 1.000 7
	cols Count indv nsec "Hottest CPU+PIL" Caller
	echo $BAR
	row 4 57 57 0 'cpu[0]' cpu_halt
	row 2 29 86 0 'cpu[1]' lzjb_compress
	row 1 14 100 0 'cpu[0]' '(usermode)'
	echo $BAR
} > "$T/exp"
"$L" -kIW --replay "$T/b.rec" > "$T/out" 2>&1
test_cmp "-kIW profile by function, hottest CPU" "$T/exp" "$T/out"

# -f lzjb_compress -s 3: two frames kept; latency 0 is bucket 0, labelled 1.
{
	hdr "Profiling interrupt" 2 1.000 2
	echo $BAR
	cols Count indv nsec "Hottest CPU+PIL" Caller
	row 2 100 100 0 'cpu[1]' lzjb_compress
	echo
	printf '%10s %31s %-9s %-24s\n' nsec "------ Time Distribution ------" count Stack
	printf '%10s |%s %-9s %-24s\n' 1 '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@' 2 zio_compress
	printf '%15s %-36s %-24s\n' "" "" zio_execute
	echo $BAR
} > "$T/exp"
"$L" -kIW -f lzjb_compress -s 3 --replay "$T/b.rec" > "$T/out" 2>&1
test_cmp "-f func -s 3 stacks and histogram" "$T/exp" "$T/out"

# -I without -k: cpu_halt+0x10 and +0x30 stay apart; cpu[1]+... lock column is cpu[N].
"$L" -I -p --replay "$T/b.rec" | sort > "$T/out" 2>&1
sort > "$T/exp" <<'EXP'
56 2 cpu[0] cpu_halt+0x10 0.000000 0
56 1 cpu[0] cpu_halt+0x30 0.000000 0
56 1 cpu[1] cpu_halt+0x20 0.000000 0
56 2 cpu[1] lzjb_compress+0x50 0.000000 0
56 1 cpu[0] (usermode) 0.000000 0
EXP
test_cmp "-I -p rows by exact PC" "$T/exp" "$T/out"

# -g on the profile: each stack frame becomes a caller; with -k zio_compress
# and zio_execute each "generated" 2 events; cpu_halt 4, lzjb_compress 2,
# (usermode) 1. lockstat.c makes the exploded records LK_TIME ones, so -p
# rows end with the time (0 here) and carry no histogram. Whole lines,
# sorted (the tie order is checked on fixture G below).
sort > "$T/exp" <<'EXP'
56 3 cpu[0] cpu_halt 0.000000 0
56 1 cpu[1] cpu_halt 0.000000 0
56 2 cpu[1] zio_compress 0.000000 0
56 2 cpu[1] zio_execute 0.000000 0
56 2 cpu[1] lzjb_compress 0.000000 0
56 1 cpu[0] (usermode) 0.000000 0
EXP
"$L" -kIg -p --replay "$T/b.rec" | sort > "$T/out"
test_cmp "-g -p rows: time, no histogram" "$T/exp" "$T/out"

# Fixture G: contention on one lock, 1 s; counts chosen without ties.
#   A x3: caller foo+0x10, 100 ns each, stack gfn+0x8 <- hfn+0x4
#   B x2: caller foo+0x20, 400 ns each, stack gfn+0x8
#   C x1: caller foo+0x30, 1000 ns,     stack hfn+0x4
cat > "$T/g.rec" <<'REC'
lockstat-record 1
elapsed 1000000000
ncpu 1
ev 1 ffffffff82000000 ffffffff81000110 100 - ffffffff81000208 ffffffff81000304
ev 1 ffffffff82000000 ffffffff81000110 100 - ffffffff81000208 ffffffff81000304
ev 1 ffffffff82000000 ffffffff81000110 100 - ffffffff81000208 ffffffff81000304
ev 1 ffffffff82000000 ffffffff81000120 400 - ffffffff81000208
ev 1 ffffffff82000000 ffffffff81000120 400 - ffffffff81000208
ev 1 ffffffff82000000 ffffffff81000130 1000 - ffffffff81000304
sym ffffffff81000100 100 foo
sym ffffffff81000200 100 gfn
sym ffffffff81000300 100 hfn
sym ffffffff82000000 40 pse_mutex
REC
# -g (implies -s 50): every frame a caller, plus the caller itself (never in
# its own stack here). gfn+0x8: A+B = 5 events, 300+800 = 1100 ns, avg 220;
# hfn+0x4: A+C = 4, 1300, avg 325; foo+0x10 3 (avg 100); foo+0x20 2 (400);
# foo+0x30 1 (1000). genr = count*100/6 (the totals before -g): 83, 67, 50,
# 33, 17; cuml prints ----. The -t form of lockstat.c's report_stats (the
# records are LK_TIME after -g): one header, no histograms.
grow() { # count genr% nsec lock caller
	printf '%5s %3s%% ---- %4s %8s %-22s %-24s\n' "$1" "$2" 0.00 "$3" "$4" "$5"
}
{
	hdr "Adaptive mutex block" 6 1.000 6
	cols Count genr nsec Lock Caller
	echo $BAR
	grow 5 83 220 pse_mutex gfn+0x8
	grow 4 67 325 pse_mutex hfn+0x4
	grow 3 50 100 pse_mutex foo+0x10
	grow 2 33 400 pse_mutex foo+0x20
	grow 1 17 1000 pse_mutex foo+0x30
	echo $BAR
} > "$T/exp"
"$L" -g --replay "$T/g.rec" > "$T/out" 2>&1
test_cmp "-g: the -t form, generated load per function" "$T/exp" "$T/out"
printf '%s\n' "1 5 pse_mutex gfn+0x8 0.000000 1100" "1 4 pse_mutex hfn+0x4 0.000000 1300" \
	"1 3 pse_mutex foo+0x10 0.000000 300" "1 2 pse_mutex foo+0x20 0.000000 800" \
	"1 1 pse_mutex foo+0x30 0.000000 1000" > "$T/exp"
"$L" -g -p --replay "$T/g.rec" > "$T/out" 2>&1
test_cmp "-g -p: whole rows in count order" "$T/exp" "$T/out"

# -T: lockstat.c's report_trace: header "%5s  %7s  %11s  %-24s  %-24s" and
# dashes (not with -p), one "%2d  %10llu  %11p  %-24s  %-24s" row per event
# in arrival order; frames only with -s N >= 1, each "%53s  %-24s" (55
# columns in), then a blank line. Owner is %p of a zeroed record: 0.
trow() { printf '%2s  %10s  %11s  %-24s  %-24s\n' "$1" "$2" 0 "$3" "$4"; }
tframe() { printf '%53s  %-24s\n' "" "$1"; }
{
	printf '%5s  %7s  %11s  %-24s  %-24s\n' Event Time Owner Lock Caller
	echo $BAR
	trow 1 100 pse_mutex foo+0x10
	trow 1 100 pse_mutex foo+0x10
	trow 1 100 pse_mutex foo+0x10
	trow 1 400 pse_mutex foo+0x20
	trow 1 400 pse_mutex foo+0x20
	trow 1 1000 pse_mutex foo+0x30
} > "$T/exp"
"$L" -T --replay "$T/g.rec" > "$T/out" 2>&1
test_cmp "-T rows, no frames, no blank lines" "$T/exp" "$T/out"
# -T -p -s 3: no header; two frames at most; the last event's caller is its
# frame 1, so (report_trace's "went a few frames below the caller") its
# frames print from frame 1.
cp "$T/g.rec" "$T/t.rec"
echo "ev 1 ffffffff82000000 ffffffff81000208 50 - ffffffff81000110 ffffffff81000208 ffffffff81000304" >> "$T/t.rec"
{
	trow 1 100 pse_mutex foo+0x10; tframe gfn+0x8; tframe hfn+0x4; echo
	trow 1 100 pse_mutex foo+0x10; tframe gfn+0x8; tframe hfn+0x4; echo
	trow 1 100 pse_mutex foo+0x10; tframe gfn+0x8; tframe hfn+0x4; echo
	trow 1 400 pse_mutex foo+0x20; tframe gfn+0x8; echo
	trow 1 400 pse_mutex foo+0x20; tframe gfn+0x8; echo
	trow 1 1000 pse_mutex foo+0x30; tframe hfn+0x4; echo
	trow 1 50 pse_mutex gfn+0x8; tframe gfn+0x8; echo
} > "$T/exp"
"$L" -T -p -s 3 --replay "$T/t.rec" > "$T/out" 2>&1
test_cmp "-T -p -s 3: frames at column 55, blank line after each" "$T/exp" "$T/out"

# No events at all: lockstat.c exits before report_trace, so not even the
# header is printed.
testcmd "-T with no events prints nothing" "$L -T -e 3 --replay $T/g.rec 2>&1; echo rc=\$?" "rc=0
" ""

# Several -l and -f: lockstat.c ORs every range into one predicate.
# -l pse_mutex+0x8,8 -l pse_mutex+0x10,8: the events on +0x8 and +0x10.
printf '1 1 pse_mutex+0x8 foo+0x20 0.000000 2000\n2 1 pse_mutex+0x10 bar+0x10 0.000000 500\n' > "$T/exp"
"$L" -l pse_mutex+0x8,8 -l pse_mutex+0x10,8 -p --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-l twice: either range" "$T/exp" "$T/out"
# -f bar -f 0xffffffff81000120,1 (hex: foo+0x20): callers bar+0x10 (twice)
# and foo+0x20. Event 1 keeps two records of count 1, key order [pse_mutex
# bar+0x10, pse_mutex+0x8 foo+0x20]: the tie prints reversed.
{
	printf '1 1 pse_mutex+0x8 foo+0x20 0.000000 2000\n1 1 pse_mutex bar+0x10 0.000000 700\n'
	printf '2 1 pse_mutex+0x10 bar+0x10 0.000000 500\n'
} > "$T/exp"
"$L" -f bar -f 0xffffffff81000120,1 -p --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-f twice: either range" "$T/exp" "$T/out"
# -l and -f together are ORed too (ANDed, nothing would match): the lock
# range gives pse_mutex+0x8/foo+0x20, the function bar both bar+0x10 events.
"$L" -l pse_mutex+0x8,8 -f bar -p --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-l and -f: either" "$T/exp" "$T/out"

# -P -b: without times -P is off (g_Pflag = 0): count order and count
# percentages, as the plain -b report (2/4 = 50%, 1/4 = 25%).
{
	hdr "Adaptive mutex block" 4 2.000 2
	cols Count indv "" Lock Caller
	echo $BAR
	row 2 50 50 "" pse_mutex foo+0x10
	row 1 25 75 "" pse_mutex+0x8 foo+0x20
	row 1 25 100 "" pse_mutex bar+0x10
	echo $BAR
} > "$T/exp"
"$L" -P -b -e 1 --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-P -b: counts, not times" "$T/exp" "$T/out"

# -A is -C here (hold events have no source): the default report's rows.
printf '%s\n' "1 2 pse_mutex foo+0x10 0.000000 4000" "1 1 pse_mutex+0x8 foo+0x20 0.000000 2000" \
	"1 1 pse_mutex bar+0x10 0.000000 700" "2 1 pse_mutex+0x10 bar+0x10 0.000000 500" > "$T/exp"
"$L" -A -p --replay "$T/a.rec" > "$T/out" 2>&1
test_cmp "-A watches the contention events" "$T/exp" "$T/out"

# --linux-types -e 4: only the Linux types that fold into event 4 (rwsem:W
# = 14, percpu-rwsem:W = 17), not every type.
cat > "$T/lt.rec" <<'REC'
lockstat-record 1
elapsed 1000000000
ncpu 1
ev 14 ffffffff82000000 ffffffff81000110 100 -
ev 13 ffffffff82000000 ffffffff81000110 200 -
ev 10 ffffffff82000000 ffffffff81000110 300 -
ev 17 ffffffff82000000 ffffffff81000120 400 -
sym ffffffff81000100 100 foo
sym ffffffff82000000 40 pse_mutex
REC
printf '14 1 pse_mutex foo+0x10 0.000000 100\n17 1 pse_mutex foo+0x20 0.000000 400\n' > "$T/exp"
"$L" --linux-types -e 4 -p --replay "$T/lt.rec" > "$T/out" 2>&1
test_cmp "--linux-types -e 4: rwsem:W and percpu-rwsem:W only" "$T/exp" "$T/out"

# --comm splits (usermode) by process; --folded gives flame-graph lines.
"$L" -I --folded --replay "$T/b.rec" | sort > "$T/out"
sort > "$T/exp" <<'EXP'
cpu_halt 2
cpu_halt 1
cpu_halt 1
zio_execute;zio_compress;lzjb_compress 2
(usermode) 1
EXP
test_cmp "--folded stacks" "$T/exp" "$T/out"
"$L" -I -p --comm --replay "$T/b.rec" | grep usermode > "$T/out"
echo "56 1 cpu[0] (usermode:sh) 0.000000 0" > "$T/exp"
test_cmp "--comm names user-mode samples" "$T/exp" "$T/out"

# Bad input: Solaris' messages and exit codes (usage 1, errors 2).
testcmd "-e out of range" "$L -e 64 true 2>&1; echo rc=\$?" "lockstat: -e events out of range
rc=2
" ""
testcmd "-i above 1000 Hz" "$L -i 1001 true 2>&1; echo rc=\$?" "lockstat: max interrupt rate is 1000 Hz
rc=2
" ""
testcmd "-s above 50" "$L -s 51 true 2>&1; echo rc=\$?" "lockstat: max stack depth is 50
rc=2
" ""
testcmd "-g needs -s" "$L -g -b --replay $T/a.rec 2>&1; echo rc=\$?" "lockstat: '-g' requires at least '-s 1' data gathering
rc=2
" ""
testcmd "unknown -f symbol" "$L -f no_such_fn --replay $T/a.rec 2>&1; echo rc=\$?" "lockstat: symbol 'no_such_fn' not found
rc=2
" ""
testcmd_rc "missing command is a usage error" 1 "$L -I"
testcmd "hold events explained" "$L -H true 2>&1 | grep -c CONFIG_LOCKDEP" "1
" ""
printf 'lockstat-record 1\nelapsed 5\nncpu 1\nev 1 zz 0 0 -\n' > "$T/bad.rec"
testcmd "corrupt replay names file and line" "$L --replay $T/bad.rec 2>&1; echo rc=\$?" "lockstat: $T/bad.rec:4: expected 'ev EVENT(0-63) LOCK CALLER TIME COMM [FRAME...]'
rc=2
" ""
printf 'PK\003\004junk\n' > "$T/bad2.rec"
testcmd "not a record file" "$L --replay $T/bad2.rec 2>&1; echo rc=\$?" "lockstat: $T/bad2.rec:1: expected 'lockstat-record 1' (not a lockstat record file)
rc=2
" ""
# Static locks on a kernel without CONFIG_KALLSYMS_ALL: the only .data
# symbol below them is the marker __start_init_stack. Two distinct locks
# (+0x8080, +0x80c0) print as their addresses and -c keeps them apart
# (before: "__start_init_stack+0x8080", and -c merged both into
# __start_init_stack[...]). Key order puts ...8080 first; the count tie then
# prints reversed.
cat > "$T/m.rec" <<'REC'
lockstat-record 1
elapsed 1000000000
ncpu 1
ev 2 ffffffff82e08080 ffffffff81000110 100 -
ev 2 ffffffff82e080c0 ffffffff81000110 300 -
sym ffffffff81000100 100 foo
sym ffffffff82e00000 100000 __start_init_stack
REC
printf '2 1 0xffffffff82e080c0 foo+0x10 0.000000 300\n2 1 0xffffffff82e08080 foo+0x10 0.000000 100\n' > "$T/exp"
"$L" -c -p --replay "$T/m.rec" > "$T/out" 2>&1
test_cmp "-c: locks after a section marker stay apart, printed as addresses" "$T/exp" "$T/out"

# A report that cannot be written is an error (exit 2), to stdout or -o.
testcmd "stdout to /dev/full fails" "$L --replay $T/a.rec 2>&1 >/dev/full; echo rc=\$?" "lockstat: error writing output: No space left on device
rc=2
" ""
testcmd "-o /dev/full fails" "$L -o /dev/full --replay $T/a.rec 2>&1; echo rc=\$?" "lockstat: error writing output: No space left on device
rc=2
" ""
# -n 2 with three distinct records: the Solaris warning, and the totals still count all.
"$L" -n 2 -e 1 -p --replay "$T/a.rec" > "$T/out" 2> "$T/err"
testcmd "-n budget warning" "cat $T/err" "lockstat: warning: ran out of data records (use -n for more)
" ""
# Lock names: 'lock' lines name two heap locks mmap_lock; a third has no
# class. Without -c each is its own row, named class@address (the bare
# address without a class); -c coalesces named locks into their class as it
# coalesces addresses into their symbol. Event 4, 1 s, 6 events: the first
# lock 3 x 1000 ns, the second 2 x 3000 ns, the third 1 x 2000 ns.
# indv 3/6 = 50%, 2/6 = 33%, 1/6 = 17% (cuml 50, 83, 100); with -c the class
# row has 5 events (83%) of 9000 ns in all, 1800 ns each.
cat > "$T/names.rec" <<'REC'
lockstat-record 1
elapsed 1000000000
ncpu 1
ev 4 ffff888100001000 ffffffff81000110 1000 -
ev 4 ffff888100001000 ffffffff81000110 1000 -
ev 4 ffff888100001000 ffffffff81000110 1000 -
ev 4 ffff888100002000 ffffffff81000110 3000 -
ev 4 ffff888100002000 ffffffff81000110 3000 -
ev 4 ffff888100003000 ffffffff81000110 2000 -
sym ffffffff81000100 200 foo
lock ffff888100001000 mmap_lock
lock ffff888100002000 mmap_lock
REC
{
	hdr "R/W writer blocked by writer" 6 1.000 6
	cols Count indv nsec Lock Caller
	echo $BAR
	row 3 50 50 1000 mmap_lock@0xffff888100001000 foo+0x10
	row 2 33 83 3000 mmap_lock@0xffff888100002000 foo+0x10
	row 1 17 100 2000 0xffff888100003000 foo+0x10
	echo $BAR
} > "$T/exp"
"$L" --replay "$T/names.rec" > "$T/out" 2>&1
test_cmp "lock names: class@address, bare address without a class" "$T/exp" "$T/out"
{
	hdr "R/W writer blocked by writer" 6 1.000 6
	cols Count indv nsec Lock Caller
	echo $BAR
	row 5 83 83 1800 mmap_lock foo+0x10
	row 1 17 100 2000 0xffff888100003000 foo+0x10
	echo $BAR
} > "$T/exp"
"$L" --replay "$T/names.rec" -c > "$T/out" 2>&1
test_cmp "lock names: -c coalesces a class into one row" "$T/exp" "$T/out"
tap_done
