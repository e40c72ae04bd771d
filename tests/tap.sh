# tap.sh: a TAP producer for shell tests, after toybox's testcmd and git's
# test_cmp. Source it, call the helpers, end with tap_done.
#
#   testcmd NAME COMMAND EXPECTED_STDOUT STDIN
#       run COMMAND with sh -c, feed STDIN, compare stdout with EXPECTED_STDOUT
#   testcmd_rc NAME RC COMMAND      the command's exit status must be RC
#   test_cmp NAME EXPECT_FILE ACTUAL_FILE
#   tap_ok NAME / tap_fail NAME [DETAIL] / tap_skip NAME REASON
#   tap_done                        print the plan; exit 0 (failures are in TAP)
#   tap_need_corpus DIR             skip the whole script (one SKIP line naming
#                                   DIR) when the shared test corpus is absent
#   tap_sanitized                   true in a build with sanitizers (build-asan)
#   tap_ran_clean NAME RC FILE...   ok when RC < 128 and no FILE holds a
#                                   sanitizer report (RC "" when unknown)
#
# Every test case is one "ok"/"not ok" line; meson reads them (protocol tap)
# and scripts/test-summary counts them.
TAP_N=0
TAP_FAILED=0
TAP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/opskit-tap.XXXXXX")
trap 'rm -rf "$TAP_TMP"' EXIT

tap_ok() {
	TAP_N=$((TAP_N + 1))
	# printf, not echo: dash's echo turns a "\n" in a case name (a --qf
	# format, a template) into a line break that is not TAP
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}
tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
tap_skip() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$1" "$2"
}
testcmd() {
	printf '%s' "$3" > "$TAP_TMP/expected"
	printf '%s' "$4" | sh -c "$2" > "$TAP_TMP/actual" 2>"$TAP_TMP/stderr"
	if cmp -s "$TAP_TMP/expected" "$TAP_TMP/actual"; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(diff -u "$TAP_TMP/expected" "$TAP_TMP/actual" | head -n 40; head -n 10 "$TAP_TMP/stderr")"
	fi
}
testcmd_rc() {
	sh -c "$3" >/dev/null 2>&1 </dev/null
	rc=$?
	if [ "$rc" = "$2" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "exit status $rc, expected $2"
	fi
}
test_cmp() {
	if cmp -s "$2" "$3"; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(diff -u "$2" "$3" | head -n 40)"
	fi
}
# The public test corpus lives beside the repository ($OPSKIT_SHARED, by
# default ../shared, see meson.build), not in it: a clone without it skips the
# corpus tests with the path it looked at, never fails them.
tap_need_corpus() {
	[ -d "$1" ] && [ -n "$(ls "$1" 2>/dev/null)" ] && return 0
	tap_skip "corpus tests" "the shared test corpus $1 is absent (set OPSKIT_SHARED=/path/to/shared at meson setup)"
	tap_done
}
# A peer's output does not depend on our build: the sanitizer build (make
# check's second pass, there for memory safety) may run our side alone on the
# same inputs while the release build compares with the peer.
tap_sanitized() {
	! grep -q '"name": "b_sanitize", "value": "none"' \
		"$OPSKIT_BUILD/meson-info/intro-buildoptions.json" 2>/dev/null
}
# The case for such a run: no signal (the sanitizers abort), no report in
# the files that got its stdout and stderr.
tap_ran_clean() {
	_rc_name=$1
	_rc_rc=$2
	shift 2
	if [ "${_rc_rc:-0}" -lt 128 ] &&
		! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@" 2>/dev/null; then
		tap_ok "$_rc_name (ASan+UBSan: ran clean; the peer's comparison runs in the release build)"
	else
		tap_fail "$_rc_name: ran clean under ASan+UBSan" \
			"exit ${_rc_rc:-?}: $(grep -hE -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@" 2>/dev/null | head -n 8)"
	fi
}
# Damage one byte of FILE at OFFSET so that it surely differs: writing a
# fixed byte leaves random data unchanged once in 256 runs (a test that then
# finds nothing wrong fails by chance).
tap_poke() {
	_pk_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $(((_pk_b + 85) % 256)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
tap_done() {
	echo "1..$TAP_N"
	exit 0
}
