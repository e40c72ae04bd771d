#!/bin/sh
# test_batch.sh: many packages in one process go through io_uring
# (rpmq/batch.c: a window's opens in one io_uring_enter, its reads of 64 KiB
# in another); every way that path can end differently from one plain
# open-read-close a package must give rpm's bytes and exit status. The list
# (73 files; --scripts and -l, -j 1 and -j 2) mixes the corpus with: a
# package whose headers exceed the 64 KiB read-ahead (built here with
# rpmbuild: a 100 KB %description, so the rest is read from the
# descriptor), a FIFO fed in two writes (a read can stop short of the end
# of the file), a missing file, a directory, a truncated copy and "-"
# (standard input, never in the ring). Expected: rpm -qp --nosignature
# --nodigest on the same list (stdout and exit status) and rpmq with
# RPMQ_IO=sync (no ring: stderr too). Then the same list with 24
# descriptors allowed (the window's opens hit EMFILE and must fall back
# without failing a package) and under a seccomp filter that makes
# io_uring_setup fail with EPERM, as container profiles do (nouring.c).
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
NOURING="$OPSKIT_BUILD/tests/interop/rpmq/nouring"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$CORPUS"
T="$TAP_TMP"
if ! command -v rpm >/dev/null 2>&1 || ! command -v rpmbuild >/dev/null 2>&1; then
	tap_skip "io_uring batch" "rpm or rpmbuild is not installed (apt-get install rpm)"
	tap_done
fi

# a package with a 100 KB description: headers beyond the read-ahead
mkdir -p "$T/top/SPECS" "$T/big"
{
	printf 'Name: bighdr\nVersion: 1\nRelease: 1\nSummary: big header\nLicense: MIT\n'
	printf 'BuildArch: noarch\n%%description\n'
	i=0
	while [ $i -lt 1600 ]; do
		echo "line $i of a description longer than rpmq's 64 KiB read-ahead...."
		i=$((i + 1))
	done
	printf '%%files\n'
} >"$T/top/SPECS/big.spec"
if ! rpmbuild --quiet --define "_topdir $T/top" --define "_rpmdir $T/big" \
	--define '_build_name_fmt %%{NAME}.rpm' -bb "$T/top/SPECS/big.spec" >"$T/mk.err" 2>&1; then
	tap_fail "rpmbuild of the big-header package" "$(head -c 400 "$T/mk.err")"
	tap_done
fi
big="$T/big/bighdr.rpm"
hello="$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm"
head -c 3000 "$hello" >"$T/trunc.rpm"
mkdir "$T/adir"
mkfifo "$T/fifo"
pkgs=$(ls "$CORPUS"/*.rpm)
list=""
i=0
while [ $i -lt 3 ]; do
	list="$list $pkgs"
	case $i in
	1) list="$list $big $T/missing.rpm $T/fifo" ;;
	2) list="$list $T/adir $big - $T/trunc.rpm" ;;
	esac
	i=$((i + 1))
done
# feed FILE...: a writer for the FIFO (first 100 bytes, then the rest, so
# that a read can stop short of the end), stdin from hello; then run
feed() {
	{ head -c 100 "$hello"; sleep 0.1; tail -c +101 "$hello"; } >"$T/fifo" &
	fpid=$!
	"$@" <"$hello"
	rc=$?
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	return $rc
}
for m in --scripts -l; do
	# shellcheck disable=SC2086
	feed rpm -qp $m --nosignature --nodigest $list >"$T/exp" 2>/dev/null
	erc=$?
	for j in 1 2; do
		# shellcheck disable=SC2086
		RPMQ_IO=sync feed "$Q" -qp $m -j $j $list >"$T/sync" 2>"$T/sync.err"
		src=$?
		for how in ring emfile seccomp; do
			# ulimit -n: dash and bash have it (SC3045)
			# shellcheck disable=SC2086,SC3045
			case $how in
			ring) feed "$Q" -qp $m -j $j $list >"$T/act" 2>"$T/act.err" ;;
			emfile) (ulimit -n 24 && feed "$Q" -qp $m -j $j $list) >"$T/act" 2>"$T/act.err" ;;
			seccomp) feed "$NOURING" "$Q" -qp $m -j $j $list >"$T/act" 2>"$T/act.err" ;;
			esac
			arc=$?
			name="$(echo $list | wc -w) files, $m -j $j, $how"
			if [ $arc = 77 ] && [ $how = seccomp ]; then
				tap_skip "$name" "$(cat "$T/act.err")"
				continue
			fi
			if [ $arc != $erc ] || [ $src != $erc ]; then
				tap_fail "$name: exit status" "rpm $erc, rpmq $arc, RPMQ_IO=sync $src"
				continue
			fi
			test_cmp "$name: stdout as rpm's (exit $arc)" "$T/exp" "$T/act"
			test_cmp "$name: stderr as without io_uring" "$T/sync.err" "$T/act.err"
		done
	done
done
tap_done
