#!/bin/sh
# test_cli.sh: mmusim on real lackey traces, made at test time by
#   valgrind --tool=lackey --trace-mem=yes --log-file=T ./prog
# of two small C programs (page toucher, pointer chase), plus the CLI
# contract: pipes, the binary converter, --explain, errors and exit codes,
# and relations that must hold whatever the costs:
#   nested references per walk > native's; native <= 4; guest faults = distinct
#   pages in the trace (counted here independently); shadow exits = guest #PF +
#   hidden faults + PT writes + CR3 + INVLPG; INVLPG exits = INVLPG events.
. "$OPSKIT_SOURCE/tests/tap.sh"
M="$OPSKIT_BUILD/mmusim/mmusim"
T=$TAP_TMP
CC=${CC:-cc}
# python3 resolved once: a version manager's shim (pyenv on the CI VM) runs a
# dozen bash processes per call, which was most of this script's CPU time
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=python3
# json file key mode: one number from mmusim --json (mode "-": a top-level
# key). Each file is flattened to "mode key value" lines by one python3 run
# and then read with awk: a python3 start costs 0.1 s of CPU on this VM, and this script looks up some thirty values.
json() {
	[ -s "$1.flat" ] || "$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k, v in d.items():
    if k != "modes": print("-", k, v)
for m, ks in d["modes"].items():
    for k, v in ks.items(): print(m, k, v)' "$1" > "$1.flat" || return 1
	awk -v m="$3" -v k="$2" '$1 == m && $2 == k { print $3; f = 1; exit } END { exit !f }' "$1.flat"
}
# le A B / gt A B: numeric comparisons of decimals without a python3 start
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# ---- traces from valgrind
have_vg=1
command -v valgrind >/dev/null 2>&1 || have_vg=0
command -v python3 >/dev/null 2>&1 || have_vg=0
cat > "$T/touch.c" <<'C'
#include <stdlib.h>
int main(void)
{
	volatile char *p = malloc(4 << 20);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < (4 << 20); i += 4096)
			p[i] += 1;
	return p[8192] == 3;
}
C
cat > "$T/chase.c" <<'C'
#include <stdlib.h>
struct node { struct node *next; long pad[7]; };
int main(void)
{
	enum { N = 4096 };
	struct node *a = malloc(N * sizeof(*a));
	unsigned x = 1;
	int *perm = malloc(N * sizeof(int));
	for (int i = 0; i < N; i++) perm[i] = i;
	for (int i = N - 1; i > 0; i--) { x = x * 1103515245u + 12345u; int j = (int)(x % (unsigned)(i + 1)); int t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
	for (int i = 0; i < N; i++) a[perm[i]].next = &a[perm[(i + 1) % N]];
	struct node *p = &a[perm[0]];
	for (int i = 0; i < 2 * N; i++) p = p->next;
	return p == NULL;
}
C
# Linked statically where libc.a is there: without the dynamic loader's
# relocations lackey writes a third of the lines (66 k instead of 185 k for
# touch), which keeps the valgrind cases cheap on a loaded machine (the
# suite's 600 s timeout); dynamically linked otherwise.
cc_prog() { # name
	$CC -O1 -static -o "$T/$1" "$T/$1.c" 2>/dev/null || $CC -O1 -o "$T/$1" "$T/$1.c"
}
if [ $have_vg = 1 ] && cc_prog touch && cc_prog chase &&
	valgrind --tool=lackey --trace-mem=yes --log-file="$T/touch.lk" "$T/touch" &&
	valgrind --tool=lackey --trace-mem=yes --log-file="$T/chase.lk" "$T/chase"; then
	:
else
	have_vg=0
fi

if [ $have_vg = 0 ]; then
	for n in "lackey trace parses" "banner lines counted" "records = access lines" \
		"guest faults = distinct pages" "native refs/walk <= 4" "nested refs/walk > native" \
		"shadow exits add up" "nested cycles > native" "pointer chase: nested > native walks cost" \
		"pipe equals file" "valgrind --log-fd pipe" "binary conversion keeps every count" \
		"explain: cold 2D walk = 24 numbered steps" "lackey --trace-superblocks=yes"; do
		tap_skip "$n" "valgrind, python3 or a C compiler missing"
	done
else
	if "$M" --json "$T/touch.lk" > "$T/touch.json" 2>"$T/err"; then tap_ok "lackey trace parses"; else tap_fail "lackey trace parses" "$(cat "$T/err")"; fi
	want=$(grep -c '^==' "$T/touch.lk")
	got=$(json "$T/touch.json" banner_lines -)
	[ "$want" = "$got" ] && tap_ok "banner lines counted ($got)" || tap_fail "banner lines counted" "$got vs $want"
	want=$(grep -c -E '^(I  | [LSM] )' "$T/touch.lk")
	got=$(json "$T/touch.json" records -)
	[ "$want" = "$got" ] && tap_ok "records = access lines ($got)" || tap_fail "records = access lines" "$got vs $want"
	pages=$("$PY" -c '
import sys
s = set()
for l in open(sys.argv[1]):
    if l[:2] == "==": continue
    a, n = l.split()[1].split(",")
    a = int(a, 16); s.add(a >> 12); s.add((a + int(n) - 1) >> 12)
print(len(s))' "$T/touch.lk")
	got=$(json "$T/touch.json" guest_faults native)
	[ "$pages" = "$got" ] && tap_ok "guest faults = distinct pages ($got)" || tap_fail "guest faults = distinct pages" "$got vs $pages"
	nat=$(json "$T/touch.json" refs_per_walk native)
	nes=$(json "$T/touch.json" refs_per_walk nested)
	le "$nat" 4 && tap_ok "native refs/walk <= 4 ($nat)" || tap_fail "native refs/walk <= 4" "$nat"
	gt "$nes" "$nat" && tap_ok "nested refs/walk > native ($nes > $nat)" || tap_fail "nested refs/walk > native" "$nes vs $nat"
	sum=0
	for r in pt_write hidden_fault guest_pf cr3 invlpg; do sum=$((sum + $(json "$T/touch.json" exits_$r shadow))); done
	tot=$(json "$T/touch.json" vm_exits shadow)
	gpf=$(json "$T/touch.json" exits_guest_pf shadow)
	if [ "$sum" = "$tot" ] && [ "$gpf" = "$pages" ] && [ "$(json "$T/touch.json" vm_exits nested)" = 0 ]; then
		tap_ok "shadow exits add up ($tot; $gpf guest #PF; nested 0)"
	else
		tap_fail "shadow exits add up" "sum $sum total $tot gpf $gpf pages $pages"
	fi
	a=$(json "$T/touch.json" cycles_walk native)
	b=$(json "$T/touch.json" cycles_walk nested)
	[ "$b" -gt "$a" ] && tap_ok "nested cycles > native ($b > $a)" || tap_fail "nested cycles > native" "$b vs $a"
	"$M" --json "$T/chase.lk" > "$T/chase.json"
	a=$(json "$T/chase.json" cycles_walk native)
	b=$(json "$T/chase.json" cycles_walk nested)
	[ "$b" -gt "$a" ] && tap_ok "pointer chase: nested > native walks cost ($b > $a)" || tap_fail "pointer chase" "$b vs $a"
	"$M" --csv "$T/touch.lk" > "$T/f.csv"
	"$M" --csv - < "$T/touch.lk" > "$T/p.csv"
	test_cmp "pipe equals file" "$T/f.csv" "$T/p.csv"
	# valgrind writes the trace straight into mmusim (fd 9 carries it), with
	# lackey's --trace-superblocks=yes "SB ADDR" lines, which are accepted and
	# make no record; tee keeps a copy only to count the records independently
	# (one valgrind run for both cases)
	valgrind --tool=lackey --trace-mem=yes --trace-superblocks=yes --log-fd=9 "$T/touch" 9>&1 >/dev/null 2>&1 |
		tee "$T/sb.lk" | "$M" --json - > "$T/pipe.json" 2>"$T/err"
	got=$(json "$T/pipe.json" guest_faults native 2>/dev/null)
	[ -n "$got" ] && [ "$got" -gt 1000 ] && tap_ok "valgrind --log-fd pipe ($got pages)" || tap_fail "valgrind --log-fd pipe" "$(cat "$T/err")"
	"$M" --write-trace="$T/touch.bin" "$T/touch.lk" > /dev/null
	"$M" --csv "$T/touch.bin" > "$T/b"
	test_cmp "binary conversion keeps every count" "$T/f.csv" "$T/b"
	if grep -q '^SB ' "$T/sb.lk"; then
		want=$(grep -c -E '^(I  | [LSM] )' "$T/sb.lk")
		got=$(json "$T/pipe.json" records - 2>/dev/null)
		[ "$want" = "$got" ] && tap_ok "lackey --trace-superblocks=yes: SB lines skipped ($got records)" ||
			tap_fail "lackey --trace-superblocks=yes" "$got vs $want: $(cat "$T/err")"
	else
		tap_fail "lackey --trace-superblocks=yes" "valgrind wrote no SB line"
	fi
	addr=$(grep -m1 '^ S' "$T/touch.lk" | sed 's/^ S \([0-9A-Fa-f]*\),.*/\1/')
	"$M" -m nested -s pwc=none -s ntlb_entries=0 --explain=0x$addr "$T/touch.lk" > "$T/ex"
	if grep -q "nested mode, 24 references" "$T/ex" && [ "$(grep -c -E '^ +[0-9]+\. ' "$T/ex")" = 24 ] &&
		grep -q '^ 24\. nested nL1' "$T/ex"; then
		tap_ok "explain: cold 2D walk = 24 numbered steps"
	else
		tap_fail "explain: cold 2D walk = 24 numbered steps" "$(head -30 "$T/ex")"
	fi
fi

# ---- synthetic workloads: accounting relations
"$M" --json --synth=ptupdate --refs=200000 --ws=16M --quantum=100 > "$T/pt.json"
inv=$(json "$T/pt.json" exits_invlpg shadow)
[ "$inv" = 1999 ] && [ "$(json "$T/pt.json" vm_exits nested)" = 0 ] &&
	tap_ok "ptupdate: one INVLPG exit per INVLPG event (1999), nested none" || tap_fail "ptupdate invlpg exits" "$inv"
"$M" --json --synth=fork --refs=100000 --quantum=1000 --ws=4M > "$T/fork.json"
# 99 churn points: 50 forks (each a full flush, then the child's exec loads a
# new root) and 49 exits with a switch back: 50 x 2 + 49 CR3 exits; the
# child execs at once, so the parent's COW faults all reuse: no INVLPG
cr3=$(json "$T/fork.json" exits_cr3 shadow)
[ "$cr3" = 149 ] && [ "$(json "$T/fork.json" flushes_full native)" = 50 ] &&
	[ "$(json "$T/fork.json" exits_invlpg shadow)" = 0 ] &&
	tap_ok "fork churn: CR3 exits = 2 per fork/exec + 1 per switch back (149), 50 full flushes" ||
	tap_fail "fork churn CR3 exits" "$cr3"
# fork and exec events in a lackey trace and its binary form: 5 guest faults,
# 19 PTE writes (see test_fork_cow's derivation: 4 + 1, the fork's 2 + 5,
# the copy's 2, the child's new space 4, the reuse 1)
printf 'E switch 1\n L 555500000000,8\n S 555500001000,8\nE fork 2\n S 555500000000,8\nE exec 2\n L 555500000000,8\nE switch 1\n M 555500001000,8\n' > "$T/fork.lk"
"$M" --json "$T/fork.lk" > "$T/fl.json" && "$M" --write-trace="$T/fork.bin" "$T/fork.lk" >/dev/null 2>&1 &&
	"$M" --json "$T/fork.bin" > "$T/fb.json" &&
	[ "$(json "$T/fl.json" guest_faults nested)" = 5 ] && [ "$(json "$T/fl.json" pt_writes native)" = 19 ] &&
	[ "$(json "$T/fb.json" pt_writes shadow)" = 19 ] && [ "$(json "$T/fb.json" flushes_full shadow)" = 1 ] &&
	tap_ok "E fork / E exec: lackey and binary traces (19 PTE writes, 1 full flush)" ||
	tap_fail "E fork / E exec" "$(cat "$T/fl.json" | head -c 300)"
# exits per fault without unsync, the README's published comparison (KVM
# commit 0028425f: 3 exits for a demand page or a COW fault): first touch 2,
# demand page 3, fork 2 + CR3, COW copy 5, exec + switch 2 CR3, COW reuse 3
printf 'E switch 1\n S 555500000000,8\n S 555500001000,8\nE fork 2\n S 555500001000,8\nE exec 2\nE switch 1\n S 555500000000,8\n' |
	"$M" -m shadow -s unsync=0 --csv - | grep '^exits_' | tr '\n' ' ' > "$T/kiv"
[ "$(cat "$T/kiv")" = "exits_pt_write,6 exits_hidden_fault,4 exits_guest_pf,4 exits_cr3,3 exits_invlpg,1 " ] &&
	tap_ok "shadow exits per demand page / COW fault (README's KVM comparison)" ||
	tap_fail "shadow exits per COW fault" "$(cat "$T/kiv")"
"$M" --json --synth=multi --procs=4 --refs=50000 --quantum=1000 --ws=1M -p barcelona > "$T/m.json"
fl=$(json "$T/m.json" flushes_cr3 native)
[ "$fl" = 49 ] && [ "$(json "$T/m.json" flushes_cr3 shadow)" = 0 ] &&
	tap_ok "barcelona: no PCID, 49 native flushes; shadow ASIDs none" || tap_fail "multi flushes" "$fl"
"$M" --json --synth=multi --procs=4 --refs=50000 --quantum=1000 --ws=1M -p modern > "$T/m2.json"
[ "$(json "$T/m2.json" flushes_cr3 native)" = 0 ] && tap_ok "modern: PCIDs, no native flushes" || tap_fail "modern flushes"
a=$("$M" --csv --synth=random --refs=20000 --seed=5 | md5sum)
b=$("$M" --csv --synth=random --refs=20000 --seed=5 | md5sum)
c=$("$M" --csv --synth=random --refs=20000 --seed=6 | md5sum)
[ "$a" = "$b" ] && [ "$a" != "$c" ] && tap_ok "seeded: same seed same result, other seed differs" || tap_fail "seeded"
"$M" --synth=seq --refs=1000 --svg="$T/o.svg" > /dev/null
grep -q '<svg' "$T/o.svg" && grep -q 'nested</text>' "$T/o.svg" && tap_ok "svg plot written" || tap_fail "svg plot"
"$M" --synth=random --refs=5000 --heatmap > "$T/h"
grep -q '^gPA      21   22   23   24$' "$T/h" && tap_ok "heat map numbers the 24 steps" || tap_fail "heat map" "$(tail -15 "$T/h")"

# ---- warm-up and intervals (counts derived by hand, barcelona preset, native)
# Pages P0..P4 are 4 KiB apart at 0x555500000000; all five share their PML4E,
# PDPTE and PDE, and their PTEs sit in one 64-byte line. Trace: P0 P1 P2 P3
# (4 cold walks), P0 P1 P2 P3 again (L1 hits: 4 pages fit the 48-entry L1),
# then P4 (a walk whose 3 upper entries are in the 24-entry PWC).
for p in 0 1 2 3 0 1 2 3 4; do printf ' L 55550000%d000,8\n' "$p"; done > "$T/w.lk"
# --warmup=4: references 5..9 count: 5 accesses, 4 L1 hits, 1 walk of 4
# references (3 PWC hits), 1 guest fault (P4's first touch).
# --interval=3: interval 1 = refs 5..7 (3 hits), interval 2 = refs 8..9 (P3 hit,
# P4 walk), the shorter last interval.
testcmd "warm-up 4 + interval 3: rows and totals" \
	"'$M' -m native --csv --warmup=4 --interval=3 '$T/w.lk' | grep -e '^interval' -e '^[0-9]' | '$PY' -c 'import csv,sys; [print(*(r[k] for k in \"interval end mode accesses l1_hits l1_misses walks guest_refs pwc_hits guest_faults\".split()), sep=\",\") for r in csv.DictReader(sys.stdin)]'; '$M' -m native --csv --warmup=4 '$T/w.lk' | grep -E '^(accesses|l1_hits|walks|guest_refs|pwc_hits|guest_faults|warmup_refs),'" \
	"1,7,native,3,3,0,0,0,0,0
2,9,native,2,1,1,1,4,3,1
accesses,5
l1_hits,4
walks,1
guest_refs,4
pwc_hits,3
guest_faults,1
warmup_refs,4
" ""
# The same trace without warm-up: 9 accesses, 5 walks, 5 guest faults.
testcmd "no warm-up: every reference counts" \
	"'$M' -m native --csv '$T/w.lk' | grep -E '^(accesses|walks|guest_faults),'" \
	"accesses,9
walks,5
guest_faults,5
" ""
# A boundary inside a reader batch (256 records): 600 loads of P0, then P1.
# --warmup=299: counted = loads 300..600 of P0 (301 L1 hits) + P1 (1 walk).
{ i=0; while [ $i -lt 600 ]; do echo ' L 555500000008,8'; i=$((i + 1)); done; echo ' L 555500001000,8'; } > "$T/w2.lk"
testcmd "warm-up boundary inside a batch" \
	"'$M' -m native,nested --json --warmup=299 '$T/w2.lk' | '$PY' -c 'import json,sys; d=json.load(sys.stdin); print(d[\"measured\"], *[(d[\"modes\"][m][\"accesses\"], d[\"modes\"][m][\"l1_hits\"], d[\"modes\"][m][\"walks\"]) for m in (\"native\", \"nested\")])'" \
	"302 (302, 301, 1) (302, 301, 1)
" ""
# Instructions as the unit: I C, L P0, I C, L P1, I C, L P2 with
# --warmup=2 --warmup-unit=insns ends after the second I: counted are L P1
# (cold walk), I C (L1 ITLB hit), L P2 (cold walk).
printf 'I  555500100000,4\n L 555500000000,8\nI  555500100000,4\n L 555500001000,8\nI  555500100000,4\n L 555500002000,8\n' > "$T/w3.lk"
testcmd "warm-up in instructions" \
	"'$M' -m shadow --csv --warmup=2 --warmup-unit=insns '$T/w3.lk' | grep -E '^(accesses|l1_hits|walks|exits_guest_pf|warmup_insns),'" \
	"accesses,3
l1_hits,1
walks,2
exits_guest_pf,2
warmup_insns,2
" ""
testcmd "warm-up longer than the trace: zeros and a warning" \
	"'$M' -m native --csv --warmup=100 '$T/w.lk' 2>&1 | grep -E '(^accesses,|warning)'" \
	"mmusim: warning: the warm-up (100 refs) is longer than the trace (9): nothing counted
accesses,0
" ""
testcmd "interval rows to a file, JSON lines" \
	"'$M' -m native --json --interval=5 --interval-out='$T/iv' '$T/w.lk' >/dev/null; '$PY' -c 'import json,sys; print([(r[\"interval\"], r[\"end\"], r[\"walks\"]) for r in map(json.loads, open(sys.argv[1]))])' '$T/iv'" \
	"[(1, 5, 4), (2, 9, 1)]
" ""

# ---- the header reproduces the run: preset, every override, the seed
testcmd "JSON header: overrides and seed" \
	"'$M' --json -s pwc=2d --host-page=2M --seed=7 '$T/w.lk' | '$PY' -c 'import json,sys; d=json.load(sys.stdin); print(d[\"preset\"], d[\"overrides\"], d[\"seed\"])'" \
	"barcelona pwc=2d host_page=2M 7
" ""

# ---- several VMs: each VM's share adds up to the total (synthetic, 3 VMs)
"$M" -m native,shadow,nested,agile -s agile_epoch=5000 --synth=random --ws=4M --refs=30000 --vms=3 --vm-quantum=4000 --json > "$T/vms.json"
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = sorted(d["vms"]) == ["0", "1", "2"] and all(
    sum(v[m][k] for v in d["vms"].values()) == d["modes"][m][k]
    for m in ("native", "shadow", "nested", "agile") for k in ("accesses", "walks", "vm_exits", "cycles"))
sys.exit(0 if ok else 1)' "$T/vms.json" && tap_ok "3 VMs: per-VM shares add up to the totals" || tap_fail "3 VMs: per-VM shares" "$(head -c 300 "$T/vms.json")"
testcmd_rc "--vms without --synth exits 2" 2 "'$M' --vms=2 '$T/none.lk'"
printf ' L 1000,8\nE vm 1\n L 1000,8\n' > "$T/vm1.lk"
testcmd_rc "agile mode and an E vm switch exits 0" 0 "'$M' -m agile '$T/vm1.lk'"
# agile with the root nested walks as nested paging does (every count of the walk equal)
testcmd "agile_start=levels: agile walks = nested walks" \
	"'$M' -m nested,agile -s agile_start=4 --synth=random --ws=16M --refs=20000 --csv | grep -E '^(walks|guest_refs|nested_refs|pwc_hits|ntlb_hits),' | awk -F, '{print (\$2 == \$3) ? \"same\" : \$0}' | sort -u" \
	"same
" ""

# ---- constant memory: a lackey stream through a pipe (mmusim.h invariant 2)
# A seeded generator writes N lackey lines over a fixed footprint (fetches
# in 64 KiB of code, loads, stores and modifies anywhere in 4 MiB), so every
# page is touched within the first 1 M lines and the simulated state is the
# same for 1 M and 4 M lines: mmusim's peak RSS (all four modes) must not grow
# with the stream (a per-record leak of even 8 bytes would add 24 MiB).
cat > "$T/lkgen.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	unsigned long long x = 88172645463325252ull;
	for (long i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (x % 3 == 0)
			printf("I  %08llX,4\n", 0x400000 + (x >> 8) % (64u << 10));
		else
			printf(" %c %08llX,8\n", "LSM"[(x >> 4) % 3], 0x5000000 + ((x >> 24) % (4u << 20) & ~7ull));
	}
	return fflush(stdout) != 0;
}
C
if [ ! -x /usr/bin/time ]; then
	tap_skip "constant memory on a lackey stream" "no /usr/bin/time (package time)"
elif ! $CC -O2 -o "$T/lkgen" "$T/lkgen.c" 2>"$T/lkgen.err"; then
	tap_skip "constant memory on a lackey stream" "no C compiler ($CC)"
else
	for n in 1000000 4000000; do
		"$T/lkgen" $n | /usr/bin/time -f %M -o "$T/rss.$n" "$M" -m native,shadow,nested,agile --csv - > "$T/lk.$n.csv"
	done
	small=$(cat "$T/rss.1000000") big=$(cat "$T/rss.4000000")
	acc=$(awk -F, '$1 == "accesses" { print $2 }' "$T/lk.4000000.csv")
	if [ "$acc" -ge 4000000 ] && [ "$big" -le $((small + small / 20 + 512)) ]; then
		tap_ok "constant memory: peak RSS $big KiB on 4 M piped lackey lines, $small KiB on 1 M"
	else
		tap_fail "constant memory on a lackey stream" "peak RSS $big KiB on 4 M lines ($acc accesses) against $small KiB on 1 M"
	fi
fi

# ---- errors and exit codes
printf 'I  0023C790,2\n L BE801950,4\n X 1,2\n' > "$T/bad.lk"
testcmd "malformed line: file:line: expected" "'$M' '$T/bad.lk' 2>&1 >/dev/null | sed 's|.*/bad.lk|bad.lk|'" \
	"bad.lk:3: expected a lackey line (I, L, S or M, then ADDR,SIZE), an 'E' event line or a ==PID== message
" ""
testcmd_rc "malformed line exits 3 (bad data)" 3 "'$M' '$T/bad.lk'"
testcmd "unknown preset lists the presets" "'$M' -p pentium --synth=seq 2>&1" \
	"mmusim: unknown preset 'pentium'; known presets: barcelona, nehalem, modern
" ""
testcmd_rc "unknown preset exits 2" 2 "'$M' -p pentium --synth=seq"
printf 'levels = 4\npwc = maybe\n' > "$T/bad.cfg"
testcmd "bad config value: file:line" "'$M' -c '$T/bad.cfg' --synth=seq 2>&1 | sed 's|.*/bad.cfg|bad.cfg|'" \
	"bad.cfg:2: pwc: expected none, pa, va or 2d, got 'maybe'
" ""
testcmd_rc "bad config file value exits 3 (bad data)" 3 "'$M' -c '$T/bad.cfg' --synth=seq"
testcmd_rc "bad -s value exits 2 (usage)" 2 "'$M' -s pwc=maybe --synth=seq"
testcmd_rc "missing trace exits 4" 4 "'$M' '$T/nope.lk'"
printf ' L ffffffffffff0000,8\n' > "$T/kern.lk"
testcmd_rc "kernel address exits 3" 3 "'$M' '$T/kern.lk'"
testcmd_rc "a bad option exits 2 (usage)" 2 "'$M' --bogus '$T/kern.lk'"
printf 'MMUSIMT1\001\000\000\000\000\000\000\000\377' > "$T/bad.bin"
testcmd "binary: bad op at its offset" "'$M' '$T/bad.bin' 2>&1 | sed 's|.*/bad.bin|bad.bin|'" \
	"bad.bin: offset 16: record tag 0xff, expected an access (op 0..3, size in the high nibble), an event (op 4..15, high nibble 0) or age (tag 0x1f)
" ""
testcmd_rc "binary: bad op exits 3 (bad data)" 3 "'$M' '$T/bad.bin'"
tap_done
