#!/bin/sh
# test_diff.sh: differential test. tests/mmusim/refmodel.py is a small,
# separately written reference model (dictionary page tables, plain LRU
# lists); it and mmusim run the same random lackey traces (with address-space
# switches, and in three cases PTE rewrites, INVLPG, faults and unmaps) under
# several configurations, and every count must match exactly:
# TLB hits/misses per level, walks, guest and nested references, PWC and
# nested-TLB hits, guest faults, PTE writes, VM exits by reason, flushes by cause.
. "$OPSKIT_SOURCE/tests/tap.sh"
M="$OPSKIT_BUILD/mmusim/mmusim"
REF="$OPSKIT_SOURCE/tests/mmusim/refmodel.py"
if ! command -v python3 >/dev/null 2>&1; then
	tap_skip "differential test" "python3 not installed"
	tap_done
	exit 0
fi
# python3 resolved once: a version manager's shim (pyenv on the CI VM) runs a
# dozen bash processes per call
PY=$(python3 -c 'import sys; print(sys.executable)') || PY=python3
N=${MMUSIM_DIFF_LINES:-12000}
compare() { # name seed[:events] sets...
	name=$1 seed=${2%:*} ev=""
	[ "$2" != "$seed" ] && ev=events
	shift 2
	"$PY" "$REF" gen "$seed" "$N" $ev > "$TAP_TMP/t.lk"
	sets=""
	for kv in "$@"; do
		case $kv in
		modes=*) sets="$sets -m ${kv#modes=}" ;;
		*) sets="$sets -s $kv" ;;
		esac
	done
	# shellcheck disable=SC2086
	if ! "$M" --json -s dc1_kib=0 -s dc2_kib=0 -s dc3_kib=0 -s data_refs=0 $sets "$TAP_TMP/t.lk" > "$TAP_TMP/ours.json" 2>"$TAP_TMP/err"; then
		tap_fail "$name" "$(cat "$TAP_TMP/err")"
		return
	fi
	"$PY" "$REF" sim "$TAP_TMP/t.lk" "$@" > "$TAP_TMP/ref.json"
	if "$PY" - "$TAP_TMP/ours.json" "$TAP_TMP/ref.json" > "$TAP_TMP/diff" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["modes"]
ref = json.load(open(sys.argv[2]))
bad = 0
n = 0
for mode, counts in ref.items():
    for k, v in counts.items():
        n += 1
        if ours[mode][k] != v:
            print("%s %s: mmusim %s, reference %s" % (mode, k, ours[mode][k], v))
            bad += 1
print("%d counts compared" % n)
sys.exit(1 if bad else 0)
PY
	then
		tap_ok "$name ($(tail -n 1 "$TAP_TMP/diff"))"
	else
		tap_fail "$name" "$(cat "$TAP_TMP/diff")"
	fi
}
compare "barcelona defaults" 1
compare "barcelona, untagged (asids=0), unsync off" 2 asids=0 unsync=0
compare "small set-associative TLBs, PCID wrap, small PWC and NTLB" 3 \
	l1d_entries=8 l1d_ways=2 l1i_entries=4 l1i_ways=0 l2_entries=32 l2_ways=4 \
	ntlb_entries=4 pwc_entries=8 pcids=3 asids=3
compare "5-level guest, 4-level host, no PWC, no NTLB" 4 levels=5 pwc=none ntlb_entries=0
compare "guest 2M pages, host 4K" 5 guest_page=2M l2_2m_entries=16 l2_2m_ways=2
compare "PCIDs, one VM tag for shadow, 2 shadow roots" 6 pcids=4096 shadow_as_tags=0 shadow_roots=2
# OS events: PTE rewrites, INVLPG, explicit faults, unmaps (nested TLB off: a
# remapped frame keeps its gPA in mmusim but gets a new identity in the model)
compare "events: ptwrite/invlpg/fault/unmap, unsync" 7:events ntlb_entries=0
compare "events, unsync off, untagged" 8:events ntlb_entries=0 unsync=0 asids=0
compare "events, PCIDs, small TLBs" 9:events ntlb_entries=0 pcids=5 l1d_entries=16 l2_entries=64
# tagged without unsync: a trapped PTE write zapping a present shadow entry
# flushes the TLBs (kvm_mmu_pte_write), visible in later hits and walks
compare "events, unsync off, ASIDs" 12:events ntlb_entries=0 unsync=0
# Intel-style paging-structure caches (VA prefix), native and shadow modes
compare "VA-tagged PSC, native + shadow" 10 modes=native,shadow pwc=va pwc_entries=4 pcids=4096
compare "VA-tagged PSC with events" 11:events modes=native,shadow pwc=va pwc_entries=8 ntlb_entries=0
tap_done
