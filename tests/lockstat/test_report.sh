#!/bin/sh
# test_report.sh: lockstat's aggregation and output formats, replayed from
# hand-written record files (no root needed). Every expected line is built
# with printf from the Solaris format strings quoted in
# ../shared/specs/lockstat.md §2, with counts, percentages, averages and tie
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

# -g: each stack frame becomes a caller; with -k zio_compress and zio_execute
# each "generated" 2 events; cpu_halt 4, lzjb_compress 2, (usermode) 1.
"$L" -kIg -p --replay "$T/b.rec" | sort > "$T/out" 2>&1
sort > "$T/exp" <<'EXP'
56 3 cpu[0] cpu_halt 0.000000 0
56 1 cpu[1] cpu_halt 0.000000 0
56 2 cpu[1] zio_compress 0.000000 0
56 2 cpu[1] zio_execute 0.000000 0
56 2 cpu[1] lzjb_compress 0.000000 0
56 1 cpu[0] (usermode) 0.000000 0
EXP
# -g gathers histograms (-s 50 implied): drop the 64 histogram fields for the compare.
"$L" -kIg -p --replay "$T/b.rec" | awk '{print $1, $2, $3, $4, $5, $6}' | sort > "$T/out"
test_cmp "-g generated load per function" "$T/exp" "$T/out"

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
tap_done
