# mmusim demo: a short tour on built-in data (seeded synthetic workloads) and,
# when valgrind is installed, on a real lackey trace streamed from valgrind.
M="$OPSKIT_BUILD/mmusim/mmusim"
echo "# A cold 2D walk, no caches: 24 numbered references (nested mode)"
"$M" -m nested -s pwc=none -s ntlb_entries=0 --explain=0x555500000000 --synth=seq --refs=1 |
	sed -n '1,25p'
echo
echo "# Fork/exec churn on AMD Barcelona-like hardware: shadow pays VM exits"
"$M" --synth=fork --refs=200000 --ws=4M --quantum=2000 --csv |
	grep -E '^(metric|walks|refs_per_walk|vm_exits|exits_|cycles_per_access|break)'
echo
echo "# A random 256 MiB working set, stable address space, 2 M references, heat map"
"$M" --synth=random --refs=2000000 --ws=256M --heatmap | tail -n 16
if command -v valgrind >/dev/null 2>&1; then
	echo
	echo "# valgrind --tool=lackey piping /bin/ls's references into mmusim (never stored)"
	valgrind --tool=lackey --trace-mem=yes --log-fd=9 /bin/ls / 9>&1 >/dev/null 2>&1 |
		"$M" --svg="$DEMO_TMP/ls.svg" - | grep -E '^(mmusim|hardware|accesses|page walks|references per|VM exits|cycles per|break)'
	echo "(SVG plot written to $DEMO_TMP/ls.svg)"
fi
