#!/bin/sh
# test_repo.sh: rpmq --repo DIR (issue 21 item 10) on repositories that
# createrepo_c 0.17 builds at test time from the packages mkrepopkgs.sh
# builds (and the shared corpus's packages when present), its gzip
# metadata and a zstd copy. Expected values: `rpm -qp MODE` 4.18 on the same package files,
# in primary.xml's order (read by repo_tool.py with Python's XML parser),
# with what createrepo_c's metadata cannot hold derived independently: an
# explicit epoch 0 is not in primary.xml (dnf prints none either), and -R
# leaves out rpmlib() requirements, repeats (a line whose pre="1" bit, from
# REQUIREFLAGS, is that of the line's latest kept copy), requirements identical to
# one of the package's provides or naming one of its files, and every
# libc.so.6 requirement but the highest GLIBC version (compared as sorted
# multisets, as createrepo_c moves libc's to the end).
# Then damaged repositories, each refused with a one-line error: a changed
# byte, a lying <size>, a changed document with the right <checksum> but
# the old <open-checksum>, an href out of DIR (.. and a symlink), a DOCTYPE
# with entities, nesting past the bound, a package missing from filelists.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
C="$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"
T="$TAP_TMP"
for p in rpm rpmbuild createrepo_c python3; do
	if ! command -v $p >/dev/null 2>&1; then
		tap_skip "--repo" "$p is not installed (apt-get install rpm createrepo-c python3)"
		tap_done
	fi
done
R="$T/repo"
sh "$HERE/mkrepopkgs.sh" "$R" || tap_fail "mkrepopkgs.sh builds the packages"
# the corpus's packages, for breadth (not its damaged one)
if [ -d "$C" ]; then
	for f in "$C"/*.rpm; do
		case $f in *corrupt*) continue ;; esac
		cp "$f" "$R"/
	done
fi
createrepo_c -q "$R" || tap_fail "createrepo_c builds the repository"
# repo_tool.py: primary.xml's order, a zstd copy (createrepo_c 0.17.3 in
# Debian 12 has no zstd: the zstd program recompresses its XML) and the
# damaged copies of the metadata, in one Python run
Z="$T/zrepo"
python3 "$HERE/repo_tool.py" "$R" "$Z" "$T/bad" > "$T/order" || tap_fail "repo_tool.py"
n=$(wc -l < "$T/order")
sed "s|^|$R/|" "$T/order" > "$T/files"

# rpm's answer for all packages (one rpm run, in primary.xml's order), with
# epoch 0 spelled as dnf spells it (none)
rpm_all() {
	# shellcheck disable=SC2046
	rpm -qp --nosignature --nodigest "$@" $(cat "$T/files") 2>/dev/null |
		sed 's/ \([<>=]*\) 0:/ \1 /'
}
# every mode in one run: each package's answers in the order given, then its
# files, in rpm as in rpmq
for mode in "" -l "--conflicts --obsoletes --recommends --suggests --supplements --enhances -P -l"; do
	# shellcheck disable=SC2086
	rpm_all $mode > "$T/expect"
	for d in "$R" "$Z"; do
		# shellcheck disable=SC2086
		"$Q" --repo "$d" $mode > "$T/actual" 2>"$T/err" || echo "exit $?: $(cat "$T/err")" >> "$T/actual"
		test_cmp "--repo ${mode:-(NVRA)} on $n packages ($(basename "$d")) as rpm -qp" \
			"$T/expect" "$T/actual"
	done
done

# -R: createrepo_c's list, derived from rpm -qp's -R, -P and -l: each
# package's block starts with an @@ line
rpm_all --qf '@@R\n' -R --qf '@@F\n[%{REQUIREFLAGS}\n]@@P\n' -P -l > "$T/rpl"
awk '
function flush(   i, name, keep, v, best, seen) {
	best = ""; keep = ""
	for (i = 1; i <= nr; i++)
		if (req[i] ~ /^libc\.so\.6\(GLIBC_/) {
			v = req[i]; sub(/^libc\.so\.6\(GLIBC_/, "", v); sub(/\).*/, "", v)
			if (best == "" || vcmp(v, best) > 0) { best = v; keep = req[i] }
		}
	for (i = 1; i <= nr && keep == ""; i++)
		if (req[i] ~ /^libc\.so\.6/) keep = req[i]
	for (i = 1; i <= nr; i++) {
		name = req[i]; sub(/ .*/, "", name)
		if (name ~ /^rpmlib\(/ || (req[i] in prov)) continue
		if ((req[i] in seen) && seen[req[i]] == pre(fl[i])) continue
		if (name ~ /^libc\.so\.6/ && req[i] != keep) continue
		seen[req[i]] = pre(fl[i])
		print req[i]
	}
	nr = 0; nf = 0; split("", prov); split("", seen)
}
# createrepo_c'"'"'s pre="1": rpm'"'"'s isInstallPreReq or legacy PREREQ (the
# flags SCRIPT_PRE, SCRIPT_POST, RPMLIB, KEYRING, PRETRANS, POSTTRANS, PREREQ)
function pre(f,   b) {
	split("9 10 24 26 7 5 6", b, " ")
	for (i2 = 1; i2 <= 7; i2++)
		if (int(f / 2 ^ b[i2]) % 2) return 1
	return 0
}
function vcmp(a, b,   x, y, i, n) {
	n = split(a, x, "."); split(b, y, ".")
	for (i = 1; i <= n || (i in y); i++)
		if (x[i] + 0 != y[i] + 0) return x[i] + 0 - (y[i] + 0)
	return 0
}
/^@@R$/ { if (started) flush(); started = 1; sect = "R"; next }
/^@@F$/ { sect = "F"; next }
/^@@P$/ { sect = "P"; next }
sect == "R" { req[++nr] = $0; next }
sect == "F" { fl[++nf] = $0; next }
{ prov[$0] = 1 }
END { if (started) flush() }
' "$T/rpl" | sort > "$T/expect"
"$Q" --repo "$R" -R | sort > "$T/actual"
test_cmp "--repo -R on $n packages: rpm -qp -R without what createrepo_c leaves out" \
	"$T/expect" "$T/actual"
"$Q" --repo "$Z" -R | sort > "$T/actual"
test_cmp "--repo -R (zstd metadata) the same" "$T/expect" "$T/actual"

testcmd "--repo with -i: usage error 1 naming it" \
	"'$Q' --repo '$R' -i 2>&1 >/dev/null | head -n 1; echo \$?" \
	"rpmq: --repo: --info needs the package files (the repository's metadata does not hold its answer)
0
" ""
testcmd_rc "--repo with a FILE operand: usage error 1" 1 "'$Q' --repo '$R' '$R/$(head -n 1 "$T/order")'"
testcmd_rc "--repo without repodata: exit 1" 1 "'$Q' --repo '$T'"

# damaged copies of the gzip repository's metadata (repo_tool.py's CASES):
# each must fail with one line naming the file and the fault, printing
# nothing on stdout
damaged() {
	name=$1 case=$2 want=$3
	"$Q" --repo "$T/bad/$case" -l > "$T/out" 2> "$T/err"
	rc=$?
	if [ "$rc" = 1 ] && [ ! -s "$T/out" ] && [ "$(wc -l < "$T/err")" = 1 ] &&
		grep -q -- "$want" "$T/err"; then
		tap_ok "$name: refused ($(sed "s|$T/bad/||" "$T/err"))"
	else
		tap_fail "$name: refused, one line with '$want'" \
			"exit $rc, $(wc -c < "$T/out") bytes out, stderr: $(head -n 3 "$T/err")"
	fi
}
damaged "one byte of primary.xml.gz changed" flip \
	"primary.xml.gz: sha256 checksum [0-9a-f]*, repomd.xml's <checksum> says"
damaged "repomd.xml's <size> lies" size "bytes, repomd.xml's <size> says"
damaged "filelists.xml changed, <checksum> updated, <open-checksum> not" open \
	"<open-checksum> says"
damaged "an href with .. (out of DIR)" dotdot "cannot open (beneath"
damaged "an href through a symlink out of DIR" symlink "cannot open (beneath"
damaged "a DOCTYPE with entities in primary.xml" laughs ":2: a DOCTYPE declaration (refused"
damaged "elements nested 101 deep" deep "elements nested deeper than 64"
damaged "a package missing from filelists.xml" nofiles "no files for .* of primary.xml"
damaged "a <package> without <name>" noname "<package> without <name>"
tap_done
