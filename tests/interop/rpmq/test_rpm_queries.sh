#!/bin/sh
# test_rpm_queries.sh: rpmq against the real rpm (Debian 12's rpm 4.18), byte
# for byte, run at test time on the same files: every query mode for every
# package of ../shared/corpus/rpm/ and for packages built here by rpmbuild
# (mkpkgs.sh: every scriptlet kind, triggers, file triggers, every payload
# compressor). Reference command: TZ=UTC LC_ALL=C.UTF-8 rpm -qp MODE
# --nosignature --nodigest FILE.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"

MODES='--scripts|--triggers|--filetriggers|-l|-lv|-c|-d|--dump|-i|-R|-P|--conflicts|--obsoletes|--recommends|--suggests|--supplements|--enhances|--changelog|--changes|-Rv|-Pv|--conflicts -v|--obsoletes -v|--recommends -v|--suggests -v|--supplements -v|--enhances -v|--scripts --triggers --filetriggers -l|-i -l|--filesbypkg|--filecaps|--triggerscripts|--filetriggerscripts|-q|--xml|--filecolor|-L|-A|--noghost -l|--noconfig -lv|--noartifact --dump|--noghost|-s|-s -v|-s --dump|-c -d -L|-A --noartifact|--fileclass|--fileprovide|--filerequire'

if ! command -v rpm >/dev/null 2>&1; then
	tap_skip "rpm queries" "rpm is not installed (apt-get install rpm)"
	tap_done
fi
# The sanitizer build runs rpmq alone on every input where the release build
# compares it with rpm (tap_sanitized; as mdraid-cli and logsift-peer): peer=0.
peer=1
tap_sanitized && peer=0
# same NAME: rpmq's $TAP_TMP/act equals rpm's $TAP_TMP/exp; without the peer,
# rpmq ran clean ($TAP_TMP/err its stderr)
same() {
	if [ $peer = 1 ]; then
		test_cmp "$1" "$TAP_TMP/exp" "$TAP_TMP/act"
	else
		tap_ran_clean "$1" "" "$TAP_TMP/act" "$TAP_TMP/err"
	fi
}

pkgs=$(ls "$CORPUS"/*.rpm)
if command -v rpmbuild >/dev/null 2>&1 && sh "$HERE/mkpkgs.sh" -c "$OPSKIT_BUILD/tests/interop/rpmq" "$TAP_TMP/built" 2>"$TAP_TMP/mk.err"; then
	pkgs="$pkgs $(ls "$TAP_TMP"/built/*.rpm)"
else
	tap_skip "rpmbuild packages" "rpmbuild failed or is missing: $(head -c 200 "$TAP_TMP/mk.err" 2>/dev/null)"
fi

# v6 packages with preuntrans/postuntrans would differ from 4.18 by design;
# none in the corpus has them (checked by the unit tests instead).
# One rpm and one rpmq run per mode over every package (rpm queries each in
# turn, so its output is the per-package outputs in argument order); when
# they differ, each package is compared alone to name the ones that do.
npkgs=$(echo $pkgs | wc -w)
IFS_SAVE=$IFS
IFS='|'
for m in $MODES; do
	IFS=$IFS_SAVE
	# shellcheck disable=SC2086
	[ $peer = 0 ] || rpm -qp $m --nosignature --nodigest $pkgs >"$TAP_TMP/exp" 2>/dev/null
	# shellcheck disable=SC2086
	"$Q" -qp $m $pkgs >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	if [ $peer = 0 ] || cmp -s "$TAP_TMP/exp" "$TAP_TMP/act"; then
		same "all $npkgs packages: $m"
	else
		for f in $pkgs; do
			# shellcheck disable=SC2086
			rpm -qp $m --nosignature --nodigest "$f" >"$TAP_TMP/exp" 2>/dev/null
			# shellcheck disable=SC2086
			"$Q" -qp $m "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
			test_cmp "$(basename "$f"): $m" "$TAP_TMP/exp" "$TAP_TMP/act"
		done
	fi
	IFS='|'
done
IFS=$IFS_SAVE

# %{*} (every tag in rpm's index order, raw data), the tags rpm adds on
# load (SOURCEPACKAGE for source packages, SOURCERPM "(none)" otherwise),
# rpm 4.18's tag names (PAYLOADDIGEST, HDRID, ...), DBINSTANCE and the
# HEADERIMMUTABLE region blob, on every package; FILECLASS, FILEPROVIDE and
# FILEREQUIRE as rpm's extensions compute them.
for qf in '[%{*:tagname} %{*}\n]' '%{*}|%{NAME}\n' \
	'%{SOURCEPACKAGE}|%{SOURCERPM}|%|SOURCERPM?{y}:{n}|%|SOURCEPACKAGE?{y}:{n}|%{NEVRA}|%{ARCHSUFFIX}\n%{PAYLOADDIGEST}|%{PAYLOADDIGESTALGO}|%{PAYLOADDIGESTALT}|%{HDRID}|%{PKGID}|%{SOURCEPKGID}|%{HEADERIMAGE}|%{HEADERSIGNATURES}|%{HEADERREGIONS}|%{DBINSTANCE}\n%{RPMTAG_PAYLOADDIGEST} %{HEADERIMMUTABLE:base64}|%{HEADERIMMUTABLE:arraysize}' \
	'[%{FILECLASS}|%{FILEPROVIDE}|%{FILEREQUIRE}|%{FILECLASS:arraysize}\n]%{FILEPROVIDE:arraysize}\n'; do
	# shellcheck disable=SC2086
	[ $peer = 0 ] || rpm -qp --qf "$qf" --nosignature --nodigest $pkgs >"$TAP_TMP/exp" 2>/dev/null
	# shellcheck disable=SC2086
	"$Q" -qp --qf "$qf" $pkgs >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	if [ $peer = 0 ] || cmp -s "$TAP_TMP/exp" "$TAP_TMP/act"; then
		same "all $npkgs packages: --qf '$qf'"
	else
		for f in $pkgs; do
			rpm -qp --qf "$qf" --nosignature --nodigest "$f" >"$TAP_TMP/exp" 2>/dev/null
			"$Q" -qp --qf "$qf" "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
			test_cmp "$(basename "$f"): --qf '$qf'" "$TAP_TMP/exp" "$TAP_TMP/act"
		done
	fi
done

# Query formats: the subset of the issue, on the richest packages.
rich="$CORPUS/rpm--RPMS_hello-2.0-1.x86_64-signed.rpm $CORPUS/rpmrs--RPMS_v6_rpm-scriptlets-1.0-1.noarch.rpm"
[ -d "$TAP_TMP/built" ] && rich="$rich $TAP_TMP/built/rpmqtest-1.2-gzip.noarch.rpm"
for f in $rich; do
	b=$(basename "$f")
	while IFS= read -r qf; do
		[ -z "$qf" ] && continue
		[ $peer = 0 ] || rpm -qp --qf "$qf" --nosignature --nodigest "$f" >"$TAP_TMP/exp" 2>/dev/null
		"$Q" -qp --qf "$qf" "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
		same "$b: --qf '$qf'"
	done <<'EOF'
%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n
%{name} %{RPMTAG_VERSION} %{nevra} %{nvr} %{evr} %{epochnum}\n
[%{FILENAMES}\t%{FILEMODES:perms}\t%{FILEMODES:octal}\t%{FILESIZES}\t%{FILEFLAGS:fflags}\n]
[%-40{FILENAMES} %10{FILESIZES} %{=NAME}\n]
[%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION} %{REQUIREFLAGS:deptype}\n]
%{BUILDTIME:date} | %{BUILDTIME:day} | %{BUILDTIME:hex} | %{BUILDTIME:octal}\n
%{SIZE:humansi} %{SIZE:humaniec} %{LONGSIZE} %{ARCHIVESIZE:humaniec}\n
%{#FILENAMES} %{FILENAMES:arraysize} %{NAME:arraysize}\n
%{SUMMARY:shescape} %{DESCRIPTION:shescape}\n
%|EPOCH?{epoch %{EPOCH}}:{no epoch}| %|PREIN?{has pre}|\n
[%{TRIGGERFLAGS:triggertype} %{TRIGGERNAME}\n]
%{RSAHEADER:pgpsig}\n
%{SIGMD5} %{SHA256HEADER} %{SIGSIZE}\n
%{NAME:date} %{SIZE:perms} %{NAME:hex} %{SIGMD5:depflags}\n
%%literal \{braces\} \\ \t tab%{NOSUCHTAGEVER}\n
[%{FILENAMES} %{FILEMTIMES:date}\n]
%{HEADERI18NTABLE} %{ARCHSUFFIX} %{HEADERCOLOR} %{FILENLINKS}\n
[%{FILENAMES} %{FILENLINKS} %{FILEINODES}\n]
%{INSTALLTIME} %{INSTALLTIME:date}\n
[%{CHANGELOGTIME:day} %{CHANGELOGNAME}\n]
%{NAME} %{VERBOSE}\n
%{RSAHEADER:base64}|%{SIGMD5:base64}|%{DSAHEADER:base64}|%{NAME:base64}\n
%{RSAHEADER:armor}|%{SIGMD5:armor}|%{NAME:armor}|%{SHA256HEADER:armor}|%{SIZE:armor}|%{SUMMARY:armor}\n
[%{FILENAMES:xml}\n][%{REQUIRENAME:xml}\n][%{FILEMODES:xml}\n]%{SIGMD5:xml}\n%{NAME:xml}\n
[%{SIGMD5:xml}\n][%{RSAHEADER:xml}\n][%{NAME:xml}\n][%{EPOCH:xml}\n]
%{NAME:tagname} %{FILENAMES:tagname} %{SIGMD5:tagname} %{PROVIDENAME:tagname} %{SHA256HEADER:tagname} %{PAYLOADFORMAT:tagname} %{BASENAMES:tagname} %{HEADERI18NTABLE:tagname}\n
EOF
done

# Error messages for bad formats are ours; rpm and rpmq must both refuse,
# print nothing on stdout and exit with rpm's status (0 in rpm 4.18).
for qf in '%{NOSUCHTAG}' '%{NAME' '[%{NAME}' '%|NAME?{x}' '%{NAME:nosuchfmt}' '%{}' '%5x{NAME}' 'a]' '%{NAME}}'; do
	rpm -qp --qf "$qf" --nosignature --nodigest "$CORPUS/rpm--RPMS_foo-1.0-1.noarch.rpm" >"$TAP_TMP/exp" 2>"$TAP_TMP/experr"
	rrc=$?
	"$Q" -qp --qf "$qf" "$CORPUS/rpm--RPMS_foo-1.0-1.noarch.rpm" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	qrc=$?
	if [ $rrc = $qrc ] && grep -q "incorrect format" "$TAP_TMP/experr" && [ ! -s "$TAP_TMP/exp" ] &&
		[ ! -s "$TAP_TMP/act" ] && [ "$(wc -l <"$TAP_TMP/err")" = 1 ]; then
		tap_ok "--qf '$qf' refused as by rpm, exit $qrc ($(cat "$TAP_TMP/err"))"
	else
		tap_fail "--qf '$qf' refused" "rpm: exit $rrc $(cat "$TAP_TMP/experr") rpmq: exit $qrc $(cat "$TAP_TMP/err")"
	fi
done

# Arrays of different sizes: rpm prints nothing for the package and an error.
f=$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm
rpm -qp --qf '[%{FILENAMES} %{REQUIRENAME}\n]' --nosignature --nodigest "$f" >"$TAP_TMP/exp" 2>/dev/null
"$Q" -qp --qf '[%{FILENAMES} %{REQUIRENAME}\n]' "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
test_cmp "different sized arrays: no output" "$TAP_TMP/exp" "$TAP_TMP/act"
if grep -q "different sized arrays" "$TAP_TMP/err"; then tap_ok "different sized arrays: message"; else tap_fail "different sized arrays: message" "$(cat "$TAP_TMP/err")"; fi

# Tags by number (rpmq extension): same as by name.
rpm -qp --qf '%{NAME} %{VERSION}\n' --nosignature --nodigest "$f" >"$TAP_TMP/exp"
"$Q" -qp --qf '%{1000} %{1001}\n' "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
test_cmp "tags by number" "$TAP_TMP/exp" "$TAP_TMP/act"

# Several packages in one call, and stdin.
[ $peer = 0 ] || rpm -qp --scripts --nosignature --nodigest $pkgs >"$TAP_TMP/exp" 2>/dev/null
# shellcheck disable=SC2086
"$Q" -qp --scripts $pkgs >"$TAP_TMP/act" 2>"$TAP_TMP/err"
same "all packages in one call: --scripts"
# --last and --dupes pipe everything through sort (rpmpopt's --pipe).
for m in --last --dupes '--last -l' '--dupes -s --noghost'; do
	# shellcheck disable=SC2086
	[ $peer = 0 ] || rpm -qp $m --nosignature --nodigest $pkgs $pkgs >"$TAP_TMP/exp" 2>/dev/null
	# shellcheck disable=SC2086
	"$Q" -qp $m $pkgs $pkgs >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	same "all packages twice in one call: $m"
done
rpm -qp -i --nosignature --nodigest - <"$f" >"$TAP_TMP/exp" 2>/dev/null
"$Q" -q -i -p - <"$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
test_cmp "stdin: -q -i -p -" "$TAP_TMP/exp" "$TAP_TMP/act"

# -K[v]: digests, as rpm -K[v] --nosignature prints them, exit status too.
kcheck() { # NAME FILE
	for k in -K -Kv; do
		if [ $peer = 0 ]; then
			"$Q" $k --nosignature "$2" >"$TAP_TMP/act" 2>&1
			arc=$?
			tap_ran_clean "$1: $k (exit $arc)" $arc "$TAP_TMP/act"
			continue
		fi
		rpm $k --nosignature "$2" >"$TAP_TMP/exp" 2>&1
		erc=$?
		"$Q" $k --nosignature "$2" >"$TAP_TMP/act" 2>&1
		arc=$?
		if [ $erc != $arc ]; then
			tap_fail "$1: $k exit status" "rpm $erc, rpmq $arc"
		else
			test_cmp "$1: $k (exit $arc)" "$TAP_TMP/exp" "$TAP_TMP/act"
		fi
	done
}
for f in $pkgs; do
	kcheck "$(basename "$f")" "$f"
done
# Damaged copies: a payload byte (payload SHA256 and MD5 BAD), a header
# string byte (header SHA256/SHA1 and MD5 BAD).
flip() { # FILE OFFSET: replace one byte by 'X'
	printf 'X' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
cp "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" "$TAP_TMP/dmg.rpm"; chmod u+w "$TAP_TMP/dmg.rpm"
flip "$TAP_TMP/dmg.rpm" 8000
kcheck "payload byte flipped" "$TAP_TMP/dmg.rpm"
cp "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" "$TAP_TMP/dmg.rpm"; chmod u+w "$TAP_TMP/dmg.rpm"
flip "$TAP_TMP/dmg.rpm" 5436
kcheck "header string byte flipped" "$TAP_TMP/dmg.rpm"
cp "$CORPUS/rpm--RPMS_hello-1.0-1.ppc64.rpm" "$TAP_TMP/dmg.rpm"; chmod u+w "$TAP_TMP/dmg.rpm"
flip "$TAP_TMP/dmg.rpm" 4800
kcheck "old package, payload byte flipped" "$TAP_TMP/dmg.rpm"

# --json: rpm >= 4.20's expected output from its own test suite (Debian's
# 4.18 lacks --json), see tests/rpmq/data/README.
"$Q" -qp --json "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
test_cmp "--json as rpm 4.20's tests/rpmquery.at" "$OPSKIT_SOURCE/tests/rpmq/data/hello-2.0-1.x86_64.json" "$TAP_TMP/act"
# --json over every package (one array), --json=lines, -j 2: json_check.py
# (rpm 4.18's --xml tag names per package, rpm 4.20's object for hello)
# shellcheck disable=SC2086
python3 "$HERE/json_check.py" "$Q" "$OPSKIT_SOURCE/tests/rpmq/data/hello-2.0-1.x86_64.json" \
	"$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" $pkgs >"$TAP_TMP/json.tap" 2>&1
while IFS= read -r l; do
	case $l in
	"ok "*) tap_ok "json: ${l#ok * - }" ;;
	"not ok "*) tap_fail "json: ${l#not ok * - }" ;;
	"#"*) echo "$l" ;;
	esac
done <"$TAP_TMP/json.tap"
grep -q '^ok ' "$TAP_TMP/json.tap" || tap_fail "json_check.py ran: $(head -c 300 "$TAP_TMP/json.tap")"
# preuntrans/postuntrans (rpm >= 4.19; Debian's 4.18 cannot build them): the
# pretrans/posttrans tags of a built package renumbered to PREUNTRANS 5103,
# POSTUNTRANS 5104 and their PROG tags 5105/5106 (index entries only). The
# expected text is rpm 4.18's --scripts of that file (which ignores the
# unknown tags) with the two sections inserted before "verify", in rpm
# 4.19's order (rpmpopt.in: ... posttrans, preuntrans, postuntrans, verify),
# their bodies taken from the original package by rpm itself.
orig="$TAP_TMP/built/rpmqtest-1.2-none.noarch.rpm"
if [ -f "$orig" ]; then
	perl -pe 's/\x00\x00\x04\x7f(\x00\x00\x00\x06)/\x00\x00\x13\xef$1/; s/\x00\x00\x04\x81(\x00\x00\x00[\x06\x08])/\x00\x00\x13\xf1$1/; s/\x00\x00\x04\x80(\x00\x00\x00\x06)/\x00\x00\x13\xf0$1/; s/\x00\x00\x04\x82(\x00\x00\x00[\x06\x08])/\x00\x00\x13\xf2$1/' "$orig" >"$TAP_TMP/untrans.rpm"
	rpm -qp --nosignature --nodigest --qf 'preuntrans scriptlet (using %{PRETRANSPROG}):\n%{PRETRANS}\npostuntrans scriptlet (using %{POSTTRANSPROG}):\n%{POSTTRANS}\n' "$orig" >"$TAP_TMP/ins"
	rpm -qp --nosignature --nodigest --scripts "$TAP_TMP/untrans.rpm" |
		awk -v ins="$TAP_TMP/ins" '/^verify scriptlet/ { while ((getline l < ins) > 0) print l } { print }' >"$TAP_TMP/exp"
	"$Q" -qp --scripts "$TAP_TMP/untrans.rpm" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	if grep -q '^preuntrans scriptlet (using <lua>):' "$TAP_TMP/exp"; then
		test_cmp "preuntrans/postuntrans in rpm 4.19's order" "$TAP_TMP/exp" "$TAP_TMP/act"
	else
		tap_fail "preuntrans/postuntrans: test package" "renumbering did not work"
	fi
else
	tap_skip "preuntrans/postuntrans" "no rpmbuild package"
fi
# Translated SUMMARY/GROUP/DESCRIPTION chosen by LANGUAGE as rpm does
# (exact, codeset-stripped and language-only matches, lists, fallback to C).
f18="$CORPUS/rpmrs--RPMS_v6_rpm-i18n-1.0-1.noarch.rpm"
for l in de fr_FR.UTF-8 ja zh_CN es:de C xx; do
	[ $peer = 0 ] || LANGUAGE=$l rpm -qp --nosignature --nodigest -i "$f18" >"$TAP_TMP/exp" 2>/dev/null
	LANGUAGE=$l "$Q" -qp -i "$f18" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	same "i18n: LANGUAGE=$l -i"
done
# Local time zones (dates are local time, as in rpm), when zoneinfo is there.
if [ -f /usr/share/zoneinfo/Asia/Tokyo ]; then
	fs="$CORPUS/rpm--RPMS_hello-2.0-1.x86_64-signed.rpm"
	for tz in Asia/Tokyo America/New_York; do
		for m in -i -lv --changes; do
			[ $peer = 0 ] || TZ=$tz rpm -qp --nosignature --nodigest $m "$fs" >"$TAP_TMP/exp" 2>/dev/null
			TZ=$tz "$Q" -qp $m "$fs" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
			same "TZ=$tz $m"
		done
	done
else
	tap_skip "time zones" "no /usr/share/zoneinfo (apt-get install tzdata)"
fi
# Many packages at once (-j): 300 files (the corpus repeated, a truncated
# copy in the middle), worker threads against one rpm -qp run and against
# rpmq -j1: the same bytes in argument order and the same exit status.
head -c 3000 "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" >"$TAP_TMP/trunc.rpm"
many=""
i=0
while [ $i -lt 15 ]; do
	many="$many $pkgs"
	[ $i = 7 ] && many="$many $TAP_TMP/trunc.rpm"
	i=$((i + 1))
done
for m in --scripts -l -R; do
	if [ $peer = 1 ]; then
		rpm -qp $m --nosignature --nodigest $many >"$TAP_TMP/exp" 2>/dev/null
		erc=$?
	fi
	for j in 1 2 5; do
		"$Q" -qp $m -j $j $many >"$TAP_TMP/act" 2>"$TAP_TMP/err"
		arc=$?
		if [ $peer = 0 ]; then
			tap_ran_clean "$(echo $many | wc -w) packages, $m -j $j (exit $arc)" $arc "$TAP_TMP/act" "$TAP_TMP/err"
		elif [ $erc != $arc ]; then
			tap_fail "$(echo $many | wc -w) packages, $m -j $j: exit status" "rpm $erc, rpmq $arc"
		else
			test_cmp "$(echo $many | wc -w) packages, $m -j $j (exit $arc)" "$TAP_TMP/exp" "$TAP_TMP/act"
		fi
	done
done
tap_done
