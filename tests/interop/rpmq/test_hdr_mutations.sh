#!/bin/sh
# test_hdr_mutations.sh: rpmq's header checks against rpm 4.18's, mutation
# by mutation (issue 21 item 6). hdr_mutate.py makes copies of six corpus
# packages (v4 binary and source, a legacy rpm 4.0 ppc64 one, hard links,
# rpm-rs's basic) with one change each in the main or signature header (an
# index field set to a boundary value or a neighbour's tag, a byte replaced,
# an early NUL in a string, il/dl moved by one). Each copy is read by
# `rpm -qp --nosignature --nodigest --qf ... -l` and by rpmq with the same
# query: the verdict (exit status zero or not) must be the same for every
# copy, and when both accept, so must stdout. Where rpm's file-list loader
# (rpmfilesPopulate) refuses what rpmq lists ("Wrong number of entries for
# tag", or "(contains no files)" where rpmq lists files: checks rpmq does not
# make yet) stdout is not compared; those copies are counted in the test name.
# Default: 200 mutations of a fixed seed; RPMQ_MUTATIONS_ALL=1: 3000.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
C="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"
if ! command -v rpm >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	tap_skip "header mutations" "rpm or python3 is not installed (apt-get install rpm python3)"
	tap_done
fi
n=200
[ "${RPMQ_MUTATIONS_ALL:-0}" = 1 ] && n=3000
mkdir -p "$TAP_TMP/m"
python3 "$HERE/hdr_mutate.py" 21 $n "$TAP_TMP/m" "$C/rpm--RPMS_hello-2.0-1.x86_64.rpm" \
	"$C/rpm--RPMS_foo-1.0-1.noarch.rpm" "$C/rpm--RPMS_hello-1.0-1.ppc64.rpm" \
	"$C/rpm--SRPMS_hello-1.0-1.src.rpm" "$C/rpmrs--RPMS_v4_rpm-basic-2.3.4-5.el9.noarch.rpm" \
	"$C/rpm--RPMS_hlinktest-1.0-1.noarch.rpm" >"$TAP_TMP/list" || {
	tap_fail "hdr_mutate.py"
	tap_done
}
QF='%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH} %{SUMMARY} %{SOURCERPM} %{SIGSIZE}\n'
verdict="" output="" rejected=0 nocmp=0
while read -r f base what; do
	rpm -qp --nosignature --nodigest --qf "$QF" -l "$TAP_TMP/m/$f" >"$TAP_TMP/r" 2>"$TAP_TMP/re"
	rr=$?
	"$Q" -qp --qf "$QF" -l "$TAP_TMP/m/$f" >"$TAP_TMP/q" 2>"$TAP_TMP/qe"
	qr=$?
	[ $rr != 0 ] && rr=1
	[ $qr != 0 ] && qr=1
	[ $rr = 1 ] && rejected=$((rejected + 1))
	if [ $rr != $qr ]; then
		verdict="$verdict
$f ($base, $what): rpm exit $rr, rpmq exit $qr $(head -c 200 "$TAP_TMP/qe")"
	elif [ $rr = 0 ] && { grep -q 'Wrong number of entries for tag' "$TAP_TMP/re" ||
		{ grep -qx '(contains no files)' "$TAP_TMP/r" && ! grep -qx '(contains no files)' "$TAP_TMP/q"; }; }; then
		nocmp=$((nocmp + 1))
	elif [ $rr = 0 ] && ! cmp -s "$TAP_TMP/r" "$TAP_TMP/q"; then
		output="$output
$f ($base, $what): $(diff "$TAP_TMP/r" "$TAP_TMP/q" | head -4 | tr '\n' ' ')"
	fi
done <"$TAP_TMP/list"
if [ -z "$verdict" ]; then
	tap_ok "$n header mutations (seed 21): rpmq accepts and rejects exactly what rpm 4.18 does ($rejected rejected)"
else
	tap_fail "$n header mutations (seed 21): same verdict as rpm 4.18" "$verdict"
fi
if [ -z "$output" ]; then
	tap_ok "accepted mutations: the same query output as rpm 4.18 (not compared: $nocmp where rpm's file-list loader refuses the file tags)"
else
	tap_fail "accepted mutations: the same query output as rpm 4.18" "$output"
fi
tap_done
