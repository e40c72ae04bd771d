#!/bin/sh
# test_extract.sh: rpmq --extract and --cpio against rpm2cpio (Debian's rpm
# 4.18) and cpio, on every corpus package and the rpmbuild-built ones (every
# payload compressor). Trees are compared by file type, mode, link count,
# size, mtime, link target, content sha256 and hard-link groups
# (rpm2cpio FILE | cpio -idm as the reference). Two deliberate differences
# are left out of the comparison: cpio -m does not restore the mtimes of
# directories (it fills them afterwards) nor of symlinks; rpmq restores
# both from the header, as rpm does on install.
# v6 packages (stripped payloads, which rpm2cpio 4.18 refuses) are compared
# with rpm2archive's tar unpacked by GNU tar, and checked against the header
# as printed by the real rpm: each file's sha256 (FILEDIGESTS), size, mode
# and symlink target.
# Hostile payloads: a symlink followed by a file beneath it, "..", names not
# in the header: refused, nothing written outside the target; --tar refuses
# the same packages.
# --tar is compared with `rpm2archive -n` byte for byte, --cat of every
# regular file with rpm2archive's member (tar_cat_check.py).
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"

if ! command -v rpm2cpio >/dev/null 2>&1 || ! command -v cpio >/dev/null 2>&1 || ! command -v rpm >/dev/null 2>&1; then
	tap_skip "extraction" "rpm, rpm2cpio or cpio is not installed (apt-get install rpm rpm2cpio cpio)"
	tap_done
fi

# manifest DIR: one line per path, then the hard-link groups.
manifest() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
			if [ -L "$p" ]; then
				echo "$p $(stat -c '%F %a %h' "$p") -> $(readlink "$p")"
			elif [ -d "$p" ]; then
				echo "$p $(stat -c '%F %a %h' "$p")"
			elif [ -f "$p" ]; then
				echo "$p $(stat -c '%F %a %h %Y %s' "$p") $(sha256sum <"$p" | cut -d' ' -f1)"
			else
				echo "$p $(stat -c '%F %a %h %Y %t %T' "$p")"
			fi
		done
		find . -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort -k2 |
			awk '{g[$1]=g[$1] " " $2} END {for (k in g) print "hardlinks" g[k]}' | LC_ALL=C sort
	)
}

pkgs=$(ls "$CORPUS"/*.rpm)
if command -v rpmbuild >/dev/null 2>&1 && sh "$HERE/mkpkgs.sh" -c "$OPSKIT_BUILD/tests/interop/rpmq" "$TAP_TMP/built" 2>/dev/null; then
	pkgs="$pkgs $(ls "$TAP_TMP"/built/*.rpm)"
else
	tap_skip "rpmbuild packages" "rpmbuild failed or is missing"
fi

# relay PREFIX FILE: a helper's "ok - X" / "not ok - X" lines as TAP cases
relay() {
	while IFS= read -r l; do
		case $l in
		"ok - "*) tap_ok "${l#ok - }" ;;
		"not ok - "*) tap_fail "${l#not ok - }" ;;
		"#"*) printf '%s\n' "$l" ;;
		esac
	done <"$1"
	grep -q '^ok - \|^not ok - ' "$1" || tap_fail "tar_cat_check.py ran" "$(head -c 300 "$1")"
}

# The sanitizer build runs rpmq alone on every package where the release
# build compares it with rpm2cpio, cpio and rpm2archive (tap_sanitized; as
# mdraid-cli and logsift-peer): --tar, --cat of every regular file (one run,
# and the first alone), --extract and --cpio, each run clean.
peer=1
tap_sanitized && peer=0
ours_only() { # FILE
	b=$(basename "$1")
	"$Q" --tar "$1" >"$TAP_TMP/our.tar" 2>"$TAP_TMP/err"
	tap_ran_clean "$b: --tar" $? "$TAP_TMP/err"
	"$Q" -qp --qf '[%{FILEMODES:perms}\t%{FILEFLAGS:fflags}\t%{FILENAMES}\n]' "$1" 2>/dev/null |
		awk -F'\t' '$1 ~ /^-/ && $2 !~ /g/ { print $3 }' >"$TAP_TMP/regs"
	if [ -s "$TAP_TMP/regs" ]; then
		"$Q" --cat "$(head -n 1 "$TAP_TMP/regs")" "$1" >"$TAP_TMP/cat" 2>"$TAP_TMP/err"
		tap_ran_clean "$b: --cat of one file" $? "$TAP_TMP/err"
		{ sed 's/^/--cat\n/' "$TAP_TMP/regs"; echo "$1"; } | xargs -d '\n' "$Q" >"$TAP_TMP/cat" 2>"$TAP_TMP/err"
		tap_ran_clean "$b: --cat of all $(wc -l <"$TAP_TMP/regs") regular files in one run" "" "$TAP_TMP/err"
	fi
	rm -rf "$TAP_TMP/our" && mkdir -p "$TAP_TMP/our"
	"$Q" --extract -C "$TAP_TMP/our" "$1" 2>"$TAP_TMP/err"
	tap_ran_clean "$b: --extract" $? "$TAP_TMP/err"
	"$Q" --cpio "$1" >"$TAP_TMP/our.cpio" 2>"$TAP_TMP/err"
	tap_ran_clean "$b: --cpio" $? "$TAP_TMP/err"
}

for f in $pkgs; do
	b=$(basename "$f")
	if [ $peer = 0 ]; then
		ours_only "$f"
		continue
	fi
	# --tar against rpm2archive -n (uncompressed), --cat against its members
	if ! command -v rpm2archive >/dev/null 2>&1; then
		tap_skip "$b: --tar, --cat" "rpm2archive is not installed (apt-get install rpm2archive)"
	elif rpm2archive -n - <"$f" >"$TAP_TMP/ra.tar" 2>/dev/null; then
		python3 "$HERE/tar_cat_check.py" "$Q" "$f" "$TAP_TMP/ra.tar" >"$TAP_TMP/tc.out" 2>&1
		relay "$TAP_TMP/tc.out"
	else
		"$Q" --tar "$f" >/dev/null 2>"$TAP_TMP/err"
		rc=$?
		if [ $rc = 1 ]; then
			tap_ok "$b: rpm2archive fails, rpmq --tar refuses (exit 1: $(head -c 100 "$TAP_TMP/err"))"
		else
			tap_fail "$b: rpm2archive fails, rpmq --tar refuses" "exit $rc: $(cat "$TAP_TMP/err")"
		fi
	fi
	rm -rf "$TAP_TMP/ref" "$TAP_TMP/our" "$TAP_TMP/ourcpio"
	mkdir -p "$TAP_TMP/ref" "$TAP_TMP/our" "$TAP_TMP/ourcpio"
	if rpm2cpio "$f" >"$TAP_TMP/ref.cpio" 2>"$TAP_TMP/ref.err"; then
		(cd "$TAP_TMP/ref" && cpio -idm --quiet <"$TAP_TMP/ref.cpio" 2>/dev/null)
		"$Q" --extract -C "$TAP_TMP/our" "$f" 2>"$TAP_TMP/err"
		rc=$?
		manifest "$TAP_TMP/ref" >"$TAP_TMP/m.ref"
		manifest "$TAP_TMP/our" >"$TAP_TMP/m.our"
		if [ $rc != 0 ] && [ -s "$TAP_TMP/ref.cpio" ]; then
			tap_fail "$b: --extract" "exit $rc: $(cat "$TAP_TMP/err")"
		else
			test_cmp "$b: --extract tree = rpm2cpio | cpio -idm ($(wc -l <"$TAP_TMP/m.ref") paths)" "$TAP_TMP/m.ref" "$TAP_TMP/m.our"
		fi
		"$Q" --cpio "$f" >"$TAP_TMP/our.cpio" 2>"$TAP_TMP/err"
		test_cmp "$b: --cpio = rpm2cpio, byte for byte" "$TAP_TMP/ref.cpio" "$TAP_TMP/our.cpio"
	else
		# rpm2cpio 4.18 refuses stripped (v6) payloads: check against the header.
		"$Q" --extract -C "$TAP_TMP/our" "$f" 2>"$TAP_TMP/err"
		rc=$?
		rpm -qp --nosignature --nodigest --qf '[%{FILENAMES}|%{FILEMODES:perms}|%{LONGFILESIZES}|%{FILEDIGESTS}|%{FILELINKTOS}|%{FILEFLAGS:fflags}\n]' "$f" >"$TAP_TMP/files" 2>/dev/null
		bad=""
		while IFS="|" read -r path perms size digest target fflags; do
			case "$fflags" in *g*) continue ;; esac
			p="$TAP_TMP/our$path"
			case "$perms" in
			-*)
				[ -f "$p" ] || { bad="$bad missing:$path"; continue; }
				[ "$(stat -c %s "$p")" = "$size" ] || bad="$bad size:$path"
				[ "$(stat -c %A "$p")" = "$perms" ] || bad="$bad mode:$path"
				[ "$(sha256sum <"$p" | cut -d' ' -f1)" = "$digest" ] || bad="$bad digest:$path"
				;;
			l*) [ "$(readlink "$p")" = "$target" ] || bad="$bad link:$path" ;;
			d*) [ -d "$p" ] && [ "$(stat -c %A "$p")" = "$perms" ] || bad="$bad dir:$path" ;;
			esac
		done <"$TAP_TMP/files"
		if [ $rc = 0 ] && [ -z "$bad" ]; then
			tap_ok "$b: --extract (v6) matches the header's digests, sizes, modes, targets ($(wc -l <"$TAP_TMP/files") files)"
		else
			tap_fail "$b: --extract (v6)" "exit $rc $(cat "$TAP_TMP/err") $bad"
		fi
		# rpm2archive (rpm 4.18 reads stripped payloads there) as the peer:
		# its tar unpacked by GNU tar must equal our tree.
		if command -v rpm2archive >/dev/null 2>&1 && command -v tar >/dev/null 2>&1; then
			rm -rf "$TAP_TMP/ra" && mkdir -p "$TAP_TMP/ra/x"
			cp "$f" "$TAP_TMP/ra/p.rpm"
			if (cd "$TAP_TMP/ra" && rpm2archive p.rpm >/dev/null 2>&1) &&
				tar -xzf "$TAP_TMP/ra/p.rpm.tgz" -C "$TAP_TMP/ra/x" 2>/dev/null; then
				manifest "$TAP_TMP/ra/x" >"$TAP_TMP/m.ra"
				manifest "$TAP_TMP/our" >"$TAP_TMP/m.our"
				test_cmp "$b: --extract tree (v6) = rpm2archive | tar -x" "$TAP_TMP/m.ra" "$TAP_TMP/m.our"
			else
				tap_fail "$b: rpm2archive" "rpm2archive or tar failed"
			fi
		else
			tap_skip "$b: rpm2archive comparison" "rpm2archive or tar is missing"
		fi
		# --cpio rebuilds newc headers; cpio must unpack the same tree.
		"$Q" --cpio "$f" >"$TAP_TMP/our.cpio" 2>"$TAP_TMP/err"
		(cd "$TAP_TMP/ourcpio" && cpio -idm --quiet <"$TAP_TMP/our.cpio" 2>/dev/null)
		manifest "$TAP_TMP/our" | grep -v hardlinks >"$TAP_TMP/m.our"
		manifest "$TAP_TMP/ourcpio" | grep -v hardlinks >"$TAP_TMP/m.cpio"
		test_cmp "$b: --cpio (v6, rebuilt newc) unpacks to the --extract tree" "$TAP_TMP/m.our" "$TAP_TMP/m.cpio"
	fi
done

# Standard input works for --extract too.
rm -rf "$TAP_TMP/our"
"$Q" --extract -C "$TAP_TMP/our" - <"$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" 2>"$TAP_TMP/err"
if [ -f "$TAP_TMP/our/usr/bin/hello" ]; then tap_ok "--extract from stdin"; else tap_fail "--extract from stdin" "$(cat "$TAP_TMP/err")"; fi

# --extract PATH of one hard link: its whole link set (the payload holds
# the data once), each with rpm2cpio | cpio -idm's content, nothing else
hl="$CORPUS/rpm--RPMS_hlinktest-1.0-1.noarch.rpm"
rm -rf "$TAP_TMP/our" "$TAP_TMP/ref" && mkdir -p "$TAP_TMP/ref"
rpm2cpio "$hl" | (cd "$TAP_TMP/ref" && cpio -idm --quiet 2>/dev/null)
"$Q" --extract -C "$TAP_TMP/our" "$hl" /foo/hello-bar 2>"$TAP_TMP/err"
rc=$?
got=$(cd "$TAP_TMP/our" && find . -type f -printf '%p %n\n' | LC_ALL=C sort | tr '\n' ' ')
if [ $rc = 0 ] && [ "$got" = "./foo/hello 4 ./foo/hello-bar 4 ./foo/hello-foo 4 ./foo/hello-world 4 " ] &&
	cmp -s "$TAP_TMP/ref/foo/hello" "$TAP_TMP/our/foo/hello-bar"; then
	tap_ok "--extract FILE /foo/hello-bar: its four hard links (link count 4), cpio's content, nothing else"
else
	tap_fail "--extract FILE /foo/hello-bar" "exit $rc: $got $(cat "$TAP_TMP/err")"
fi

# Hostile payloads, made from an uncompressed package by rewriting names of
# equal length in header and payload alike (the digests no longer match,
# which extraction does not check, exactly like rpm2cpio).
base="$CORPUS/rpm--RPMS_hlinktest-1.0-1.noarch.rpm"
no_end_blocks() { # FILE: empty, or its last 1024 bytes are not all zero
	[ ! -s "$1" ] || [ -n "$(tail -c 1024 "$1" | tr -d '\000' | head -c 1)" ]
}
hostile() { # NAME PERL_SUBST
	perl -pe "$2" <"$base" >"$TAP_TMP/evil.rpm"
	rm -rf "$TAP_TMP/t" "$TAP_TMP/outside"
	mkdir -p "$TAP_TMP/t" "$TAP_TMP/outside"
	"$Q" --extract -C "$TAP_TMP/t" "$TAP_TMP/evil.rpm" >/dev/null 2>"$TAP_TMP/err"
	rc=$?
	n=$(find "$TAP_TMP/outside" -mindepth 1 | wc -l)
	if [ $rc != 0 ] && [ $rc -lt 128 ] && [ "$n" = 0 ] && [ "$(wc -l <"$TAP_TMP/err")" = 1 ]; then
		tap_ok "$1: refused (exit $rc: $(sed "s|$TAP_TMP/||g" "$TAP_TMP/err"))"
	else
		tap_fail "$1" "exit $rc, $n files outside, stderr: $(cat "$TAP_TMP/err")"
	fi
	# --tar: refused as well (rpm2archive writes the names as they are),
	# no end-of-archive blocks written
	"$Q" --tar "$TAP_TMP/evil.rpm" >"$TAP_TMP/evil.tar" 2>"$TAP_TMP/err"
	rc=$?
	if [ $rc = 1 ] && [ "$(wc -l <"$TAP_TMP/err")" = 1 ] && no_end_blocks "$TAP_TMP/evil.tar"; then
		tap_ok "$1: --tar refused (exit 1: $(sed "s|$TAP_TMP/||g" "$TAP_TMP/err"))"
	else
		tap_fail "$1: --tar refused" "exit $rc, $(wc -c <"$TAP_TMP/evil.tar") bytes, stderr: $(cat "$TAP_TMP/err")"
	fi
}
# 1. a payload name that is not in the header (the header keeps basenames
#    apart, so only the payload's "./foo/copyllo" changes)
hostile "payload name not in the header" 's{\./foo/copyllo}{./foo/copyXlo}'

# 2. and 3. need their own packages: built here, uncompressed, then renamed.
if command -v rpmbuild >/dev/null 2>&1; then
	top="$TAP_TMP/rbh"
	mkdir -p "$top/SPECS"
	cat >"$top/SPECS/evil.spec" <<EOF
Name: evil
Version: 1
Release: 1
Summary: hostile names
License: MIT
BuildArch: noarch
%description
x
%install
mkdir -p %{buildroot}/opt/escX %{buildroot}/dd/dd/dd/dd/dd/dd
ln -s $TAP_TMP/outside %{buildroot}/opt/esc
echo evil > %{buildroot}/opt/escX/evil
echo evil > %{buildroot}/dd/dd/dd/dd/dd/dd/rpmq-evil-file
%files
/opt/esc
/opt/escX/evil
/dd/dd/dd/dd/dd/dd/rpmq-evil-file
EOF
	if rpmbuild --quiet --define "_topdir $top" --define "_binary_payload w.ufdio" \
		--define "__os_install_post %{nil}" -bb "$top/SPECS/evil.spec" >/dev/null 2>&1; then
		base=$(ls "$top"/RPMS/noarch/*.rpm)
		# symlink /opt/esc -> outside, then the file /opt/esc//evil beneath it
		hostile "file beneath a symlink planted by the archive" 's{escX}{esc/}g'
		# /../../../../../../rpmq-evil-file
		hostile "dot-dot components" 's{/dd}{/..}g; s{dd/}{../}g'
		if [ -e "$TAP_TMP/../../../../../rpmq-evil-file" ] || [ -e /rpmq-evil-file ]; then
			tap_fail "dot-dot: nothing written above the target"
		else
			tap_ok "dot-dot: nothing written above the target"
		fi
		# the unmodified package extracts fine (the refusals above are real)
		rm -rf "$TAP_TMP/t"
		if "$Q" --extract -C "$TAP_TMP/t" "$base" 2>"$TAP_TMP/err" && [ -L "$TAP_TMP/t/opt/esc" ] && [ -f "$TAP_TMP/t/opt/escX/evil" ]; then
			tap_ok "hostile package unmodified: extracts"
		else
			tap_fail "hostile package unmodified: extracts" "$(cat "$TAP_TMP/err")"
		fi
	else
		tap_skip "hostile packages" "rpmbuild failed"
	fi
else
	tap_skip "hostile packages" "rpmbuild is not installed"
fi

# Corrupt compressed payload: a clean error, exit 1 (as rpm).
cp "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" "$TAP_TMP/dmg.rpm"; chmod u+w "$TAP_TMP/dmg.rpm"
printf 'XXXXXXXXXXXXXXXX' | dd of="$TAP_TMP/dmg.rpm" bs=1 seek=7200 conv=notrunc 2>/dev/null
rm -rf "$TAP_TMP/t"
"$Q" --extract -C "$TAP_TMP/t" "$TAP_TMP/dmg.rpm" >/dev/null 2>"$TAP_TMP/err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$TAP_TMP/err")" = 1 ] && grep -q "dmg.rpm: offset" "$TAP_TMP/err"; then
	tap_ok "corrupt gzip payload: exit 1 ($(sed "s|$TAP_TMP/||g" "$TAP_TMP/err"))"
else
	tap_fail "corrupt gzip payload" "exit $rc: $(cat "$TAP_TMP/err")"
fi
"$Q" --extract -C "$TAP_TMP/t" "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64-corrupted.rpm" >/dev/null 2>"$TAP_TMP/err"
rc=$?
if [ $rc = 1 ] && grep -q "payload: missing" "$TAP_TMP/err"; then tap_ok "no payload: exit 1"; else tap_fail "no payload" "exit $rc: $(cat "$TAP_TMP/err")"; fi
tap_done
