#!/bin/sh
# test_legacy.sh: the retrofits rpm 4.18 applies to old packages on load
# (issue 21 item 3), rpmq against the real rpm byte for byte: the old
# packages of ../shared/corpus/rpm/v3/ (from rpm's git history; one true v3
# package) and copies that mkv3.py makes of two corpus packages, one per
# branch of rpm's applyRetrofits/compressFilelist/providePackageNVR: v3
# header (no region) with OLDFILENAMES, unsorted file list, unversioned or
# no provides, the self-provide already there, an epoch, no SOURCERPM,
# provide counts that differ, a region with OLDFILENAMES (--nodirtokens,
# compressed but no self-provide), v3 source packages (SOURCEPACKAGE, no
# self-provide), a relative first file name. Every simple query mode,
# %{SOURCEPACKAGE}/%{SOURCERPM}, the tag list %{*} and the file tags.
# Reference: TZ=UTC LC_ALL=C.UTF-8 rpm -qp MODE --nosignature --nodigest.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
C="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"
if ! command -v rpm >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	tap_skip "legacy retrofits" "rpm or python3 is not installed (apt-get install rpm python3)"
	tap_done
fi
mkdir -p "$TAP_TMP/g"
python3 "$HERE/mkv3.py" "$TAP_TMP/g" "$C/rpm--RPMS_hello-2.0-1.x86_64.rpm" \
	"$C/rpm--SRPMS_hello-1.0-1.src.rpm" >/dev/null || tap_fail "mkv3.py"
pkgs=$(ls "$TAP_TMP"/g/*.rpm)
if [ -d "$C/v3" ]; then
	pkgs="$pkgs $(ls "$C"/v3/*.rpm)"
else
	tap_skip "old packages from rpm's history" "no $C/v3 in this corpus"
fi
n=$(echo $pkgs | wc -w)

# one mode over every package in one call each side; each package alone
# when they differ, to name it
check() { # TITLE ARGS...
	t=$1
	shift
	# shellcheck disable=SC2086
	rpm -qp "$@" --nosignature --nodigest $pkgs >"$TAP_TMP/exp" 2>/dev/null
	erc=$?
	# shellcheck disable=SC2086
	"$Q" -qp "$@" $pkgs >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	arc=$?
	if cmp -s "$TAP_TMP/exp" "$TAP_TMP/act" && [ $erc = $arc ]; then
		tap_ok "$n old packages: $t (exit $arc)"
		return
	fi
	for f in $pkgs; do
		rpm -qp "$@" --nosignature --nodigest "$f" >"$TAP_TMP/exp" 2>/dev/null
		"$Q" -qp "$@" "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
		test_cmp "$(basename "$f"): $t" "$TAP_TMP/exp" "$TAP_TMP/act"
	done
}
for m in -P -Pv -l -lv --dump -i -R -c -d -s --filesbypkg --scripts; do
	check "$m" $m
done
check "the tags rpm holds after load" --qf '[%{*:tagname} %{*}\n]'
check "SOURCEPACKAGE, SOURCERPM, the file and provide tags" \
	--qf '%{SOURCEPACKAGE}|%{SOURCERPM}|%{NEVRA}|%{OLDFILENAMES}\n[%{DIRNAMES}\n][%{DIRINDEXES} %{BASENAMES} %{FILENAMES}\n][%{PROVIDENAME} %{PROVIDEFLAGS:depflags} %{PROVIDEVERSION}\n]'
tap_done
