#!/bin/sh
# test_malformed.sh: the logsift binary on malformed configurations. Real
# configs (tests/interop/logsift/cases/, each checked against syslog-ng 3.38
# there) are cut off at token boundaries and have single tokens deleted;
# every variant must end with exit 0 (still a config), 1 or 2, and an error
# must name the config as FILE:LINE (but for 3.38's missing-@version text). Under build-asan (make check) a
# memory error aborts the run, so it fails here too; a leak too in every 8th
# variant (LeakSanitizer's exit scan took 3/4 of the time and the test timed
# out on a loaded machine; LOGSIFT_EXHAUSTIVE=1 leak-checks them all). test_logsift.c's
# test_cfg_malformed parses every variant of every interop config in-process;
# this runs a sample (every 2nd boundary) through main.c's exit path.
# The @-line errors the generator makes are checked against the peer in
# tests/interop/logsift/errors/.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
CASES="$OPSKIT_SOURCE/tests/interop/logsift/cases"

# variants SRC DIR: write DIR/cut.N.conf and DIR/del.N.conf (N = offset)
variants() {
	"$PYTHON" - "$1" "$2" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
text = open(src, "rb").read()
# tokens: words, quoted strings, single characters; whitespace between
toks = [m.span() for m in re.finditer(rb'[\w.$-]+|"(?:\\.|[^"\\])*"|\'[^\']*\'|\S', text)]
for i, (a, b) in enumerate(toks):
    if i % 2:
        continue
    open("%s/cut.%d.conf" % (out, a), "wb").write(text[:a])
    open("%s/del.%d.conf" % (out, a), "wb").write(text[:a] + text[b:])
PY
}

for name in routing blocks; do
	d="$TAP_TMP/$name"
	mkdir -p "$d"
	variants "$CASES/$name.conf" "$d"
	for mode in cut del; do
		n=0 bad=""
		for f in "$d"/$mode.*.conf; do
			n=$((n + 1))
			# LeakSanitizer's exit scan is 3/4 of a sanitized run: every
			# 8th variant is leak-checked, all with LOGSIFT_EXHAUSTIVE=1
			leaks=0
			[ $((n % 8)) = 1 ] || [ -n "${LOGSIFT_EXHAUSTIVE:-}" ] && leaks=1
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=$leaks" \
				"$LS" --syntax-only -f "$f" >/dev/null 2>"$d/err"
			rc=$?
			# the one error without a position (as in 3.38): no @version at all
			if [ $rc -gt 2 ] || grep -q "Sanitizer\|runtime error" "$d/err" ||
				{ [ $rc -ne 0 ] && ! grep -q "$f:[0-9]" "$d/err" &&
					! head -n 1 "$d/err" | grep -q "^ERROR: configuration files without a version"; }; then
				bad="$bad
$(basename "$f"): rc=$rc: $(head -n 3 "$d/err")"
			fi
		done
		what="cut off at a token boundary"
		[ $mode = del ] && what="with a token deleted"
		if [ -z "$bad" ] && [ $n -gt 50 ]; then
			tap_ok "$name.conf $what ($n variants): exit 0/1/2, errors name file:line"
		else
			tap_fail "$name.conf $what ($n variants)" "${bad:-too few variants}"
		fi
	done
done
tap_done
