#!/bin/sh
# test_exit.sh: rpmq's exit codes are rpm's (lib/err.h ok_exit_rpm): 1 for a
# usage error, else the number of packages that failed. Each case runs rpm
# 4.18 on the same command line where rpm has it and compares the status:
# a missing file, a bad option, a corrupt package, several failures at once;
# the refusal (an --extract payload entry not in the header, rpm has no
# --extract) must be 1, as for any failed package.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
T="$TAP_TMP"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
have_rpm=0
command -v rpm >/dev/null 2>&1 && have_rpm=1
# a cut package: the corpus's hello cut at 4000 bytes, or without the corpus
# a lead and a signature header magic followed by nothing
if [ -f "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" ]; then
	head -c 4000 "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" > "$T/cut.rpm"
else
	{ printf '\355\253\356\333\003\000'; head -c 90 /dev/zero; printf '\216\255\350\001'; } > "$T/cut.rpm"
fi

# same NAME EXPECTED ARGS...: rpmq ARGS must exit EXPECTED, and so must rpm
same() {
	name=$1 want=$2
	shift 2
	"$Q" "$@" >/dev/null 2>"$T/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		tap_fail "$name: rpmq exits $want" "exit $rc: $(cat "$T/err")"
	else
		tap_ok "$name: rpmq exits $want"
	fi
	if [ $have_rpm = 0 ]; then
		tap_skip "$name: as rpm" "rpm is not installed"
		return
	fi
	rpm "$@" >/dev/null 2>&1
	prc=$?
	if [ "$prc" = "$rc" ]; then tap_ok "$name: as rpm ($prc)"; else tap_fail "$name: as rpm" "rpm $prc, rpmq $rc"; fi
}
same "a missing file" 1 -qp "$T/nonexistent"
same "a bad option" 1 -qp --bogus "$T/cut.rpm"
same "no package given" 1 -qp
same "a corrupt (cut) package" 1 -qp "$T/cut.rpm"
same "three failed packages" 3 -qp "$T/cut.rpm" "$T/nonexistent" "$T/cut.rpm"
same "-K of a corrupt package" 1 -K "$T/cut.rpm"
# rpm 4.20's --json is a plain flag (a --qf alias); rpmq's forms are its
# own: an unknown one, or --json with another format, is a usage error
rc=0; "$Q" -qp --json=bogus "$T/cut.rpm" >/dev/null 2>"$T/err" || rc=$?
testcmd "--json=bogus: usage error 1, naming the argument" "echo $rc; head -1 '$T/err'" \
	"1
rpmq: invalid argument 'bogus' for '--json'
" ""
for o in --last --dupes; do
	rc=0; "$Q" -qp --json $o "$T/cut.rpm" >/dev/null 2>"$T/err" || rc=$?
	testcmd "--json with $o: usage error 1, naming it" "echo $rc; head -1 '$T/err'" \
		"1
rpmq: --json cannot be combined with --last or --dupes (their sort pipes reorder text lines, not JSON objects)
" ""
done
rc=0; "$Q" -qp --json -i "$T/cut.rpm" >/dev/null 2>"$T/err" || rc=$?
testcmd "--json with -i: usage error 1" "echo $rc; head -1 '$T/err'" \
	"1
rpmq: --json cannot be combined with query formats or file lists
" ""

base="$CORPUS/rpm--RPMS_hlinktest-1.0-1.noarch.rpm"
if [ ! -f "$base" ]; then
	tap_skip "--extract refusal" "the shared test corpus $CORPUS is absent"
	tap_done
fi
perl -pe 's{\./foo/copyllo}{./foo/copyXlo}' <"$base" >"$T/evil.rpm"
mkdir -p "$T/x"
testcmd_rc "--extract refuses a payload entry not in the header: 1 (a failed package)" 1 \
	"'$Q' --extract -C '$T/x' '$T/evil.rpm'"
tap_done
