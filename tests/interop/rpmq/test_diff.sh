#!/bin/sh
# test_diff.sh: rpmq --diff OLD NEW against rpmlint 2.4's rpmdiff, byte for
# byte and the exit status (issue 21 item 10). Pairs: two builds of one spec
# made here with rpmbuild, changing each file attribute rpmdiff compares
# (size, mode, digest, rdev, nlink, verify flags, user, group, file flags,
# mtime), a scriptlet, the summary, URL and every dependency kind (with
# Requires(pre,post), Requires(preun) and a PreReq, which rpm 4.18 turns
# into Requires(pre,preun)), both ways round;
# a package against itself; and, with the shared corpus, neighbouring pairs
# of its packages (v4 and v6, source, scriptlet and file-attribute packages;
# rpmlint 2.4's package loader fails on v6 packages: for those pairs
# rpmdiff's Rpmdiff class compares the headers rpm's Python bindings read).
# rpmdiff's Rpmdiff class (what its CLI runs) is called for all pairs in one
# Python process: Python starts slowly on a loaded machine.
# --ignore/--exclude (rpmdiff -i/-e): the rqdiff pair both ways with each
# column ignored and several at once, one way with globs for each branch of Python
# 3.11's PurePath.match and fnmatch (relative from the right, rooted whole,
# a rooted glob's parent directories, "//", "." parts, classes with ranges,
# an empty range, '!' negation, an unclosed '[', '?' on a two-byte UTF-8
# character), in a second Python process on the headers rpm's bindings
# read (Rpmdiff's -i changes its class state: it is reset before each
# case); one case through rpmdiff's CLI, which unpacks the packages.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
C="$OPSKIT_SHARED/corpus/rpm"
T="$TAP_TMP"
for p in rpmbuild python3; do
	if ! command -v $p >/dev/null 2>&1; then
		tap_skip "--diff" "$p is not installed"
		tap_done
	fi
done
# the Python rpmdiff runs with (its #! line): the one with rpm's bindings
PY=$(command -v rpmdiff >/dev/null 2>&1 && sed -n '1s/^#! *//p' "$(command -v rpmdiff)")
if [ -z "$PY" ] || ! $PY -c 'import rpmlint.rpmdiff' 2>/dev/null; then
	tap_skip "--diff against rpmdiff" "rpmlint is not installed (apt-get install rpmlint)"
	tap_done
fi
mkdir -p "$T/top/SPECS" "$T/p"
cat > "$T/top/SPECS/rqdiff.spec" <<'SPEC'
Name: rqdiff
Version: 1.0
Release: %{rel}
Summary: rpmq --diff test %{rel}
License: MIT
URL: https://example.org/%{rel}
BuildArch: noarch
Requires: common >= 1
%if %{rel} == 1
Requires: only-old
Requires(pre,post): /bin/sh
Provides: feature = 1.0
Conflicts: bad < 2
Recommends: rec-old
%else
Requires: only-new > 0:2
Requires(preun): /bin/sh
PreReq: legacy-prereq
Provides: feature = 2.0
Obsoletes: gone <= 1
Suggests: sug
Supplements: sup
Enhances: enh
%endif
%description
Diff test.
%install
mkdir -p %{buildroot}/usr/share/rqd %{buildroot}/dev
head -c %{rel}0 /dev/zero > %{buildroot}/usr/share/rqd/size
echo "same" > %{buildroot}/usr/share/rqd/same
echo "abc%{rel}" > %{buildroot}/usr/share/rqd/digest
echo x > %{buildroot}/usr/share/rqd/mode
echo x > %{buildroot}/usr/share/rqd/owner
echo x > %{buildroot}/usr/share/rqd/conf
echo x > %{buildroot}/usr/share/rqd/verify
echo x > %{buildroot}/usr/share/rqd/link
ln %{buildroot}/usr/share/rqd/link %{buildroot}/usr/share/rqd/link2
echo x > %{buildroot}/usr/share/rqd/only-%{rel}
echo %{rel} > %{buildroot}/usr/share/rqd/café
touch -d @%{rel}000000 %{buildroot}/usr/share/rqd/mtime
%if %{rel} == 1
echo x > %{buildroot}/usr/share/rqd/link3
%else
ln %{buildroot}/usr/share/rqd/link %{buildroot}/usr/share/rqd/link3
%endif
%files
%dir /usr/share/rqd
/usr/share/rqd/size
/usr/share/rqd/same
/usr/share/rqd/digest
%attr(%{?mode}%{!?mode:0644},root,root) /usr/share/rqd/mode
%attr(0644,%{owner},%{owner}) /usr/share/rqd/owner
%{?cfg} /usr/share/rqd/conf
%verify(%{vfy}) /usr/share/rqd/verify
/usr/share/rqd/link
/usr/share/rqd/link2
/usr/share/rqd/link3
/usr/share/rqd/only-%{rel}
/usr/share/rqd/mtime
/usr/share/rqd/café
%dev(c, 1, %{minor}) /dev/rqd
%pre
echo pre %{rel}
%post
echo post
SPEC
build() {
	rpmbuild --quiet --define "_topdir $T/top" --define "_build_id_links none" \
		--define "__os_install_post %{nil}" --define "use_source_date_epoch_as_buildtime 1" \
		--define "clamp_mtime_to_source_date_epoch 0" "$@" \
		-bb "$T/top/SPECS/rqdiff.spec" >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
}
SOURCE_DATE_EPOCH=1700000000 build --define "rel 1" --define "mode 0644" --define "owner root" \
	--define "cfg %%config" --define "vfy md5 size" --define "minor 3" &&
	SOURCE_DATE_EPOCH=1700000000 build --define "rel 2" --define "mode 0600" --define "owner nobody" \
		--define "cfg %%doc" --define "vfy md5" --define "minor 5" ||
	tap_fail "rpmbuild builds the two rqdiff packages"
cp "$T"/top/RPMS/noarch/*.rpm "$T/p/"
old="$T/p/rqdiff-1.0-1.noarch.rpm" new="$T/p/rqdiff-1.0-2.noarch.rpm"
: > "$T/pairs"
printf '%s %s\n%s %s\n%s %s\n' "$old" "$new" "$new" "$old" "$old" "$old" >> "$T/pairs"
if [ -d "$C" ]; then
	prev=""
	for f in "$C"/*.rpm "$C"/v3/*.rpm; do
		[ -f "$f" ] || continue
		case $f in *corrupt*) continue ;; esac
		[ -n "$prev" ] && printf '%s %s\n' "$prev" "$f" >> "$T/pairs"
		prev=$f
	done
fi
# rpmdiff's answers: each pair's text (as its CLI prints it) and status
$PY - "$T/pairs" "$T/exp" <<'PY' 2>"$T/pyerr" || tap_fail "rpmdiff (Python) ran" "$(cat "$T/pyerr")"
import os, pathlib, sys, types
import rpm
from rpmlint.rpmdiff import Rpmdiff


class HdrDiff(Rpmdiff):
    """rpmdiff's comparison on the header rpm's bindings read: rpmlint's Pkg
    (which rpmdiff loads through) fails on v6 packages."""
    def _Rpmdiff__load_pkg(self, name):
        ts = rpm.TransactionSet()
        ts.setVSFlags(-1)
        with open(name, "rb") as f:
            return types.SimpleNamespace(header=ts.hdrFromFdno(f.fileno()))


for i, line in enumerate(open(sys.argv[1])):
    a, b = line.split()
    try:
        d = Rpmdiff(pathlib.Path(a), pathlib.Path(b))
    except Exception as e:  # rpmlint 2.4's Pkg fails on v6 packages
        try:
            d = HdrDiff(pathlib.Path(a), pathlib.Path(b))
            open("%s.%d.hdr" % (sys.argv[2], i), "w").write("%s: %s\n" % (type(e).__name__, e))
        except Exception as e2:
            open("%s.%d.failed" % (sys.argv[2], i), "w").write("%s: %s\n" % (type(e2).__name__, e2))
            continue
    t = d.textdiff()
    with open("%s.%d" % (sys.argv[2], i), "w") as f:
        if t:
            f.write(t + "\n")
        f.write("exit %d\n" % int(d.differs()))
PY
i=0
while read -r a b; do
	"$Q" --diff "$a" "$b" > "$T/act" 2>&1
	echo "exit $?" >> "$T/act"
	if [ -f "$T/exp.$i.failed" ]; then
		tap_skip "--diff $(basename "$a") $(basename "$b")" \
			"rpmdiff cannot read the pair: $(cat "$T/exp.$i.failed")"
		i=$((i + 1))
		continue
	fi
	how="as rpmdiff"
	[ -f "$T/exp.$i.hdr" ] && how="as rpmdiff's Rpmdiff on rpm's header (its Pkg: $(cat "$T/exp.$i.hdr"))"
	test_cmp "--diff $(basename "$a") $(basename "$b") $how" "$T/exp.$i" "$T/act"
	i=$((i + 1))
done < "$T/pairs"
# what the rqdiff pair must show, whatever rpmdiff says: every column
if grep -q '^S.5.*/usr/share/rqd/size$' "$T/exp.0" && grep -q '^.M.*/usr/share/rqd/mode$' "$T/exp.0" &&
	grep -q '^..5.*/usr/share/rqd/digest$' "$T/exp.0" &&
	grep -q '^...D.*/dev/rqd$' "$T/exp.0" && grep -q '^....N.*/usr/share/rqd/link$' "$T/exp.0" &&
	grep -q '^......V.*/usr/share/rqd/verify$' "$T/exp.0" &&
	grep -q '^.......UG.*/usr/share/rqd/owner$' "$T/exp.0" &&
	grep -q '^.........F.*/usr/share/rqd/conf$' "$T/exp.0" &&
	grep -q '^..........T /usr/share/rqd/mtime$' "$T/exp.0" &&
	grep -q '^added       REQUIRES(pre,preun) legacy-prereq' "$T/exp.0" &&
	grep -q '^S.5.....    PREIN$' "$T/exp.0"; then
	tap_ok "the rqdiff pair exercises S, M, 5, D, N, V, U, G, F, T, REQUIRES(...) and a scriptlet"
else
	tap_fail "the rqdiff pair exercises every column" "$(cat "$T/exp.0")"
fi
# --ignore and --exclude: one case a line, rpmdiff's options (-i COL, -e GLOB)
set -f
cat > "$T/optcases" <<'CASES'
-i S
-i M
-i 5
-i D
-i N
-i L
-i V
-i U
-i G
-i F
-i T
-i S -i 5 -i T -i U -i G
-i S -i M -i 5 -i D -i N -i L -i V -i U -i G -i F -i T
-e /usr/share/rqd
-e /usr/share
-e /usr
-e /
-e /usr/share/rqd/size
-e size
-e rqd/size
-e share/rqd/size
-e usr/share/rqd/size
-e */usr/share/rqd/size
-e */*/usr/share/rqd/size
-e rqd
-e rqd/*
-e /usr/share/rqd/*
-e /usr/*/rqd
-e /usr/sh*
-e /usr/share/rq?
-e //usr/share/rqd
-e /usr//share/./rqd/size
-e rqd/./size/
-e l?nk*
-e link[23]
-e link[!2]
-e [lm]*
-e [!l]*
-e [a-m]*
-e [m-a]*
-e [a-c-z]*
-e [z-a-m]*
-e [!a-l]*
-e [-o]*
-e [o-]*
-e []o]*
-e [!]o]*
-e link[
-e caf?
-e caf??
-e c*
-e /dev
-e dev
-e rqd -e /dev -e conf
-i 5 -i S -e /usr/share/rqd/size -e mode
CASES
i=0
: > "$T/optpairs"
while read -r args; do # --ignore both ways round, --exclude one way (it skips paths either way)
	printf '%s %s %s\n' "$old" "$new" "$args" >> "$T/optpairs"
	case $args in -i*) printf '%s %s %s\n' "$new" "$old" "$args" >> "$T/optpairs" ;; esac
done < "$T/optcases"
$PY - "$T/optpairs" "$T/oexp" <<'PY' 2>"$T/pyerr" || tap_fail "rpmdiff (Python) ran the option cases" "$(cat "$T/pyerr")"
import copy, pathlib, sys, types
import rpm
from rpmlint.rpmdiff import Rpmdiff


class HdrDiff(Rpmdiff):
    """rpmdiff's comparison on the header rpm's bindings read: its Pkg
    unpacks each package into a directory first, which -i and -e do not
    look at (the CLI case below goes through it)."""
    def _Rpmdiff__load_pkg(self, name):
        ts = rpm.TransactionSet()
        ts.setVSFlags(-1)
        with open(name, "rb") as f:
            return types.SimpleNamespace(header=ts.hdrFromFdno(f.fileno()))


fileidx = copy.deepcopy(Rpmdiff._Rpmdiff__FILEIDX)
for i, line in enumerate(open(sys.argv[1])):
    w = line.split()
    ignore = [w[k + 1] for k in range(2, len(w), 2) if w[k] == "-i"]
    exclude = [w[k + 1] for k in range(2, len(w), 2) if w[k] == "-e"]
    Rpmdiff._Rpmdiff__FILEIDX = copy.deepcopy(fileidx)  # -i changes it
    d = HdrDiff(pathlib.Path(w[0]), pathlib.Path(w[1]), ignore=ignore or None,
                exclude=exclude or None)
    t = d.textdiff()
    with open("%s.%d" % (sys.argv[2], i), "w") as f:
        if t:
            f.write(t + "\n")
        f.write("exit %d\n" % int(d.differs()))
PY
while read -r a b args; do
	# shellcheck disable=SC2086
	"$Q" --diff $(echo " $args" | sed 's/ -i / --ignore /g; s/ -e / --exclude /g') "$a" "$b" \
		> "$T/act" 2>&1
	echo "exit $?" >> "$T/act"
	test_cmp "--diff $args $(basename "$a") $(basename "$b") as rpmdiff" "$T/oexp.$i" "$T/act"
	i=$((i + 1))
done < "$T/optpairs"
set +f
# the cases must have changed something: ignoring S drops an S column, the
# directory glob every /usr/share/rqd file
if grep -q '^S.*/usr/share/rqd/size$' "$T/oexp.0" || ! grep -q '/usr/share/rqd/size$' "$T/oexp.0" ||
	grep -q '/usr/share/rqd/' "$T/oexp.26" || ! grep -q '/dev/rqd' "$T/oexp.26"; then
	tap_fail "--ignore S and --exclude /usr/share/rqd change rpmdiff's answer" \
		"$(cat "$T/oexp.0" "$T/oexp.26")"
else
	tap_ok "--ignore S and --exclude /usr/share/rqd change rpmdiff's answer"
fi
# the glob matcher alone against Python's (what rpmdiff's _excluded runs):
# 10,000 random paths and globs of the characters that matter, fixed seed
python3 - "$T/gexp" > "$T/gin" <<'PY' || tap_fail "Python made the glob cases"
import pathlib, random, sys
random.seed(21)
pchars = ["a", "b", "/", "/", ".", "\u00e9", "c", "-", "z"]
gchars = pchars + ["*", "?", "[", "]", "!", "/"]
exp = []
for n in range(10000):
    p = "".join(random.choice(pchars) for _ in range(random.randint(0, 8)))
    if random.random() < 0.7:
        p = "/" + p
    g = "".join(random.choice(gchars) for _ in range(random.randint(0, 7)))
    f = pathlib.PurePath(p)
    try:  # rpmdiff's Rpmdiff._excluded for one glob
        r = int(f.match(g) or (g.startswith("/") and any(q.match(g) for q in f.parents)))
    except ValueError:  # "empty pattern"
        r = -22
    print(p + "\t" + g)
    exp.append("%d\n" % r)
open(sys.argv[1], "w").write("".join(exp))
PY
"$OPSKIT_BUILD/tests/interop/rpmq/diffglob" < "$T/gin" > "$T/gact"
if cmp -s "$T/gexp" "$T/gact" && [ "$(grep -c '^1$' "$T/gexp")" -gt 50 ]; then
	tap_ok "--exclude's matcher as Python's PurePath.match on 10,000 random path/glob pairs"
else
	tap_fail "--exclude's matcher as Python's PurePath.match on 10,000 random path/glob pairs" \
		"$(paste "$T/gin" "$T/gexp" "$T/gact" | awk -F'\t' '$2 != $3' | head -5)"
fi
# rpmdiff's CLI (its -i and -e take several values) agrees with its class
rpmdiff "$old" "$new" -i S 5 -e rqd/mode 'l?nk*' > "$T/cli" 2>&1
echo "exit $?" >> "$T/cli"
"$Q" --diff --ignore S --ignore 5 --exclude rqd/mode --exclude 'l?nk*' "$old" "$new" > "$T/act" 2>&1
echo "exit $?" >> "$T/act"
test_cmp "--diff --ignore S --ignore 5 --exclude ... as rpmdiff's CLI -i S 5 -e ..." "$T/cli" "$T/act"
testcmd "--ignore with a column rpmdiff does not have: usage error 1" \
	"'$Q' --diff --ignore X '$old' '$new' >/dev/null 2>&1; echo \$?" "1
" ""
testcmd "--exclude '' (Python: empty pattern): usage error 1" \
	"'$Q' --diff --exclude '' '$old' '$new' >/dev/null 2>&1; echo \$?" "1
" ""
testcmd "--ignore without --diff: usage error" \
	"'$Q' -qp --ignore S '$old' >/dev/null 2>&1; echo \$?" "1
" ""
testcmd "--diff with one package: usage error 1" "'$Q' --diff '$old' >/dev/null 2>&1; echo \$?" "1
" ""
testcmd "--diff of a missing file: exit 2, as rpmdiff's error" \
	"'$Q' --diff '$old' '$T/nonexistent' >/dev/null 2>&1; echo \$?" "2
" ""
tap_done
