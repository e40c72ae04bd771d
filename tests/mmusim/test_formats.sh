#!/bin/sh
# test_formats.sh: mmusim's other text formats.
#  - perf script: a page-fault trace recorded here at test time by
#      perf record -e page-faults -c 1 -d -- sh -c '/bin/true; ls / >/dev/null'
#      perf script -F pid,tid,event,addr --show-task-events
#    (fork, exec and exit of the shell's children included); mmusim's guest
#    faults must equal the first touches of each page per address space,
#    counted here by awk from perf's text (fork copies the parent's pages,
#    exec and exit empty the process); the binary converter keeps every count.
#    perf mem could not record here ("memory events not supported" on this
#    VM: no PEBS/IBS); its data_src lines are covered by test_perf_lines.
#  - DynamoRIO drmemtrace's view text: drrun is not in Debian, so
#    data/drmemtrace-view.txt is written after the view tool's example in
#    DynamoRIO's drmemtrace_samples README and view.cpp's formats (markers, a
#    prefetch, an encoding spill-over line, a sharded W0.T tid); its counts
#    are derived by hand below.
. "$OPSKIT_SOURCE/tests/tap.sh"
M="$OPSKIT_BUILD/mmusim/mmusim"
T=$TAP_TMP
D="$OPSKIT_SOURCE/tests/mmusim/data"
# python3 resolved once: a version manager's shim (pyenv on the CI VM) runs a
# dozen bash processes per call
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=python3
json() { # file key mode
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["modes"][sys.argv[3]][sys.argv[2]])' "$@"
}

# ---- drmemtrace view: 7 ifetch, 3 read, 3 write records (13); 18 lines
# without one (2 header lines, 2 dividers, 10 markers and a thread exit, a
# prefetch, a spill-over line, 2 result lines); the 10-byte ifetch at
# 0x402ff8 crosses into page 0x403: 14 translations; pages 0x402, 0x403,
# 0x404, 0x4e3, 0x7fdf64e2a, 0x7ffd90c13, 0x7ffd90c14 (no page is both code
# and data): 7 first touches, 7 walks per mode.
testcmd "drmemtrace: records and skipped lines" \
	"'$M' --format=drmemtrace '$D/drmemtrace-view.txt' | head -n 1" \
	"mmusim: $D/drmemtrace-view.txt (drmemtrace), 13 records, 18 record-less lines skipped
" ""
"$M" --format=drmemtrace --json "$D/drmemtrace-view.txt" > "$T/dr.json"
for mode in native shadow nested; do
	got="$(json "$T/dr.json" accesses $mode) $(json "$T/dr.json" guest_faults $mode) $(json "$T/dr.json" walks $mode)"
	if [ "$got" = "14 7 7" ]; then
		tap_ok "drmemtrace, $mode: 14 translations, 7 faults, 7 walks"
	else
		tap_fail "drmemtrace, $mode: 14 translations, 7 faults, 7 walks" "got $got"
	fi
done
printf '           1           0:     12 read  8 byte(s) @ 0x10 by PC 0x1\n  2 1:  12 <marker: x>\n  3 1:  12 bogus 8 byte(s) @ 0x10\n' > "$T/bad.dr"
testcmd "drmemtrace: a bad line names its line" \
	"'$M' --format=drmemtrace '$T/bad.dr' 2>&1 | sed 's|.*/bad.dr|bad.dr|'" \
	"bad.dr:3: expected a drmemtrace view line 'RECORD INSTR: TID ifetch|read|write N byte(s) @ 0xADDR', a <marker: ...> or a header line
" ""
testcmd_rc "drmemtrace: a bad line exits 3 (bad data)" 3 "'$M' --format=drmemtrace '$T/bad.dr'"

# ---- perf, recorded here
if ! command -v perf >/dev/null 2>&1; then
	tap_skip "perf page-fault trace" "perf is not installed (Debian: linux-perf)"
	tap_done
fi
if ! perf record -q -e page-faults -c 1 -d -o "$T/pf.data" -- sh -c '/bin/true; ls / >/dev/null' \
	>/dev/null 2>"$T/perf.err"; then
	tap_skip "perf page-fault trace" "perf record cannot record page-faults here: $(head -n 1 "$T/perf.err")"
	tap_done
fi
perf script -i "$T/pf.data" -F pid,tid,event,addr --show-task-events > "$T/pf.txt" 2>/dev/null
awk '
function clear(p,   k) { for (k in pg) { split(k, a, SUBSEP); if (a[1] == p) delete pg[k] } }
/PERF_RECORD_FORK\(/ {
	split($0, x, /[():]+/) # ... FORK, child, ctid, parent, ptid
	for (i = 1; i in x; i++) if (x[i] ~ /PERF_RECORD_FORK$/) break
	c = x[i + 1]; ct = x[i + 2]; p = x[i + 3]
	if (c != ct) next
	clear(c)
	for (k in pg) { split(k, a, SUBSEP); if (a[1] == p) pg[c, a[2]] = 1 }
	next
}
/PERF_RECORD_EXIT\(/ {
	split($0, x, /[():]+/)
	for (i = 1; i in x; i++) if (x[i] ~ /PERF_RECORD_EXIT$/) break
	if (x[i + 1] == x[i + 2]) clear(x[i + 1])
	next
}
/PERF_RECORD_COMM exec: / { n = split($NF, x, /[:\/]/); clear(x[n - 1]); next }
/ page-faults: / {
	split($1, x, "/"); pid = x[1]; addr = $3
	if (addr == "0" || length(addr) > 12) next # no data address, or the kernel
	page = substr(addr, 1, length(addr) - 3)
	if (!((pid, page) in pg)) { pg[pid, page] = 1; faults++ }
}
END { print faults + 0 }' "$T/pf.txt" > "$T/want"
if ! "$M" --format=perf --json "$T/pf.txt" > "$T/pf.json" 2>"$T/err"; then
	tap_fail "perf: mmusim reads the trace" "$(cat "$T/err")"
	tap_done
fi
want=$(cat "$T/want")
for mode in native shadow nested; do
	got=$(json "$T/pf.json" guest_faults $mode)
	if [ "$got" = "$want" ] && [ "$want" -gt 10 ]; then
		tap_ok "perf, $mode: $got guest faults = first touches per address space (awk)"
	else
		tap_fail "perf, $mode: guest faults = first touches per address space" "mmusim $got, awk $want"
	fi
done
grep -c 'PERF_RECORD_FORK\|PERF_RECORD_COMM exec' "$T/pf.txt" > "$T/ntask"
if [ "$(cat "$T/ntask")" -ge 2 ]; then
	tap_ok "perf: the trace carries forks and execs ($(cat "$T/ntask") task events)"
else
	tap_fail "perf: the trace carries forks and execs" "$(cat "$T/ntask") task events"
fi
"$M" --format=perf --write-trace="$T/pf.bin" "$T/pf.txt" > "$T/conv" 2>"$T/err"
"$M" --format=perf --csv "$T/pf.txt" > "$T/a.csv"
"$M" --csv "$T/pf.bin" > "$T/b.csv"
test_cmp "perf: the binary converter keeps every count" "$T/a.csv" "$T/b.csv"
printf ' 12/12 page-faults: 7f0000001000\n 12/12 page-faults\n' > "$T/bad.perf"
testcmd "perf: a bad line names its line" \
	"'$M' --format=perf '$T/bad.perf' 2>&1 | sed 's|.*/bad.perf|bad.perf|'" \
	"bad.perf:2: expected a perf script sample 'PID EVENT: ADDR' (perf script -F pid,tid,event,addr) or a PERF_RECORD_ line
" ""
tap_done
