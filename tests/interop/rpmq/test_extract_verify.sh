#!/bin/sh
# test_extract_verify.sh: --extract checks what it writes (issue 21 item 7).
# A package is built here with rpmbuild 4.18 (uncompressed payload, so one
# byte can be changed where intended) holding regular files, a symlink,
# setuid and setgid programs, a FIFO and two device nodes. Each tampered
# copy is first judged by the peer, `rpm -K` (it must say NOT OK), then:
#   - one content byte changed: exit 1, one line naming the file, file gone;
#   - only a cpio header field changed (every file still matches its
#     FILEDIGESTS): exit 1, the payload digest named;
#   - a cpio entry holding 50 bytes where FILESIZES says 5 (rpm2cpio | cpio
#     writes the 50): exit 1 naming the file, nothing written for it;
#   - one byte appended after the payload, on every corpus package (so the
#     PAYLOADDIGEST and the pre-4.14 signature MD5 are both covered; xz and
#     zstd decoders refuse trailing bytes before the digest is reached).
# Modes (devices and FIFOs too, under umask 077), rdevs and mtimes are
# compared with the header as rpm 4.18 prints it (rpm sets both on install);
# --safe: no device nodes, set-id bits cleared, the rest unchanged.
# A delta rpm made by makedeltarpm: rpm2cpio 4.18 exits 1 (after copying out
# the DLT stream); rpmq --cpio and --extract exit 1 and write nothing.
# --cat and --tar on the tampered copies: nothing of a file failing its
# check is written, the tar has no end blocks; --extract PATH... against
# rpm2cpio | cpio -idm PATTERNS.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"

for t in rpm rpmbuild rpm2cpio cpio python3; do
	if ! command -v $t >/dev/null 2>&1; then
		tap_skip "extraction checks" "$t is not installed (apt-get install rpm rpm2cpio cpio python3)"
		tap_done
	fi
done

top="$TAP_TMP/rb"
mkdir -p "$top/SPECS"
cat >"$top/SPECS/v.spec" <<'SPEC'
Name: rpmqverify
Version: 1
Release: %{rel}
Summary: extraction checks
License: MIT
BuildArch: noarch
%description
x
%install
mkdir -p %{buildroot}/data %{buildroot}/usr/bin %{buildroot}/var
echo "hello world" > %{buildroot}/data/hello
printf 'abcd\n' > %{buildroot}/data/five
seq 1 2000 > %{buildroot}/data/numbers
printf '#!/bin/sh\n' > %{buildroot}/usr/bin/suid
printf '#!/bin/sh\n' > %{buildroot}/usr/bin/sgid
mkfifo %{buildroot}/var/fifo
ln -s ../data/hello %{buildroot}/data/link
%files
/data
%attr(4755,root,root) /usr/bin/suid
%attr(2711,root,root) /usr/bin/sgid
%attr(0620,root,root) /var/fifo
%dev(c,1,3) %attr(0666,root,root) /dev/rpmq-null
%dev(b,7,200) %attr(0640,root,disk) /dev/rpmq-loop
SPEC
for r in 1 2; do
	rpmbuild --quiet --define "_topdir $top" --define "rel $r" --define "_binary_payload w.ufdio" \
		--define "__os_install_post %{nil}" --define "_build_id_links none" \
		-bb "$top/SPECS/v.spec" >"$TAP_TMP/log" 2>&1 || {
		tap_fail "rpmbuild" "$(cat "$TAP_TMP/log")"
		tap_done
	}
done
P="$top/RPMS/noarch/rpmqverify-1-1.noarch.rpm"

# attrs DIR: path, mode (octal, type included), rdev, mtime per file, as
# rpm -qp --qf prints FILENAMES, FILEMODES:octal, FILERDEVS, FILEMTIMES.
attrs() {
	rpm -qp --nosignature --nodigest --qf '[%{FILENAMES}\n]' "$P" | while IFS= read -r f; do
		if [ -e "$1$f" ] || [ -L "$1$f" ]; then
			set -- "$1" $(stat -c '%f %t %T %Y' "$1$f")
			printf '%s %o %d %s\n' "$f" "0x$2" $((0x$3 * 256 + 0x$4)) "$5"
		else
			echo "$f missing"
		fi
	done
}
# expected attributes from the header, with set-id bits cleared when $1 = safe
want_attrs() {
	rpm -qp --nosignature --nodigest --qf '[%{FILENAMES} %{FILEMODES:octal} %{FILERDEVS} %{FILEMTIMES}\n]' "$P" |
		while read -r f m r t; do
			case "$1:$m" in
			safe:2????) echo "$f missing" ;;
			safe:6????) echo "$f missing" ;;
			safe:*) printf '%s %o %s %s\n' "$f" $((0$m & ~06000)) "$r" "$t" ;;
			*) echo "$f $m $r $t" ;;
			esac
		done
}
# one_line_naming RC ERRFILE WORD: exit status 1, one stderr line containing WORD
one_line_naming() {
	[ "$1" = 1 ] && [ "$(wc -l <"$2")" = 1 ] && grep -qF "$3" "$2"
}

# 1. the untouched package: every mode, rdev and mtime as the header says
rm -rf "$TAP_TMP/o"
(umask 077 && "$Q" --extract -C "$TAP_TMP/o" "$P") 2>"$TAP_TMP/err"
rc=$?
attrs "$TAP_TMP/o" >"$TAP_TMP/got"
want_attrs all >"$TAP_TMP/want"
if [ "$(id -u)" != 0 ]; then
	tap_skip "modes, rdevs, mtimes of files, devices, FIFO" "not root: device nodes cannot be created"
elif [ $rc = 0 ]; then
	test_cmp "untouched, umask 077: modes (devices, FIFO, set-id), rdevs, mtimes = rpm -qp's FILEMODES/FILERDEVS/FILEMTIMES ($(wc -l <"$TAP_TMP/want") files)" "$TAP_TMP/want" "$TAP_TMP/got"
else
	tap_fail "untouched package extracts" "exit $rc: $(cat "$TAP_TMP/err")"
fi
rpm -qp --nosignature --nodigest --qf '[%{FILENAMES} %{FILEDIGESTS}\n]' "$P" | while read -r f d; do
	[ -n "$d" ] && echo "$f $(sha256sum <"$TAP_TMP/o$f" | cut -d' ' -f1)" || echo "$f"
done >"$TAP_TMP/got"
rpm -qp --nosignature --nodigest --qf '[%{FILENAMES} %{FILEDIGESTS}\n]' "$P" | sed 's/ $//' >"$TAP_TMP/want"
test_cmp "untouched: contents = rpm -qp's FILEDIGESTS" "$TAP_TMP/want" "$TAP_TMP/got"

# 2. --safe
rm -rf "$TAP_TMP/o"
(umask 077 && "$Q" --extract --safe -C "$TAP_TMP/o" "$P") 2>"$TAP_TMP/err"
rc=$?
attrs "$TAP_TMP/o" >"$TAP_TMP/got"
want_attrs safe >"$TAP_TMP/want"
if [ $rc = 0 ] && [ "$(grep -c 'not creating the .* device /dev/rpmq-' "$TAP_TMP/err")" = 2 ]; then
	test_cmp "--safe: no device nodes (both named on stderr), set-id bits cleared, the rest as the header" "$TAP_TMP/want" "$TAP_TMP/got"
else
	tap_fail "--safe" "exit $rc: $(cat "$TAP_TMP/err")"
fi
testcmd_rc "--safe without --extract: usage error 1 (as rpm)" 1 "'$Q' -qp --safe '$P'"

# tampered copies: the peer's verdict first, then ours
peer_bad() { # NAME FILE
	if rpm -K "$2" 2>/dev/null | grep -q 'NOT OK'; then
		tap_ok "$1: rpm -K says NOT OK"
	else
		tap_fail "$1: rpm -K says NOT OK" "$(rpm -K "$2" 2>&1)"
	fi
}
extract() { # FILE: into $TAP_TMP/t, rc in $rc, stderr in $TAP_TMP/err
	rm -rf "$TAP_TMP/t"
	"$Q" --extract -C "$TAP_TMP/t" "$1" >/dev/null 2>"$TAP_TMP/err"
	rc=$?
}

# 3. one content byte
perl -pe 's/hello world/hellO world/' <"$P" >"$TAP_TMP/t1.rpm"
peer_bad "content byte changed" "$TAP_TMP/t1.rpm"
extract "$TAP_TMP/t1.rpm"
if one_line_naming $rc "$TAP_TMP/err" "/data/hello: content does not match the header's FILEDIGESTS" &&
	[ ! -e "$TAP_TMP/t/data/hello" ] && [ -f "$TAP_TMP/t/data/five" ]; then
	tap_ok "content byte changed: exit 1, the file named and removed ($(sed "s|$TAP_TMP/||" "$TAP_TMP/err" | cut -c1-120)...)"
else
	tap_fail "content byte changed" "exit $rc: $(cat "$TAP_TMP/err"); $(ls "$TAP_TMP/t/data" 2>&1)"
fi

# --cat and --tar of the same copy: the changed file's content never
# reaches standard output; the tar stops before it, without end blocks
"$Q" --cat /data/hello "$TAP_TMP/t1.rpm" >"$TAP_TMP/cat.out" 2>"$TAP_TMP/err"
rc=$?
if one_line_naming $rc "$TAP_TMP/err" "/data/hello: content does not match the header's FILEDIGESTS" &&
	[ ! -s "$TAP_TMP/cat.out" ]; then
	tap_ok "content byte changed: --cat exits 1 naming the file, nothing of it written"
else
	tap_fail "content byte changed: --cat" "exit $rc, $(wc -c <"$TAP_TMP/cat.out") bytes: $(cat "$TAP_TMP/err")"
fi
"$Q" --tar "$TAP_TMP/t1.rpm" >"$TAP_TMP/t1.tar" 2>"$TAP_TMP/err"
rc=$?
if one_line_naming $rc "$TAP_TMP/err" "/data/hello: content does not match the header's FILEDIGESTS" &&
	{ [ ! -s "$TAP_TMP/t1.tar" ] || [ -n "$(tail -c 1024 "$TAP_TMP/t1.tar" | tr -d '\000' | head -c 1)" ]; }; then
	tap_ok "content byte changed: --tar exits 1 naming the file, no end-of-archive blocks ($(wc -c <"$TAP_TMP/t1.tar") bytes)"
else
	tap_fail "content byte changed: --tar" "exit $rc: $(cat "$TAP_TMP/err")"
fi
# an untouched file of the changed copy: its content is right, the payload
# digest is not (checked once the archive has ended)
"$Q" --cat /data/five "$TAP_TMP/t1.rpm" >"$TAP_TMP/cat.out" 2>"$TAP_TMP/err"
rc=$?
if one_line_naming $rc "$TAP_TMP/err" "payload: digest BAD"; then
	tap_ok "content byte changed: --cat of another file exits 1, the payload digest named"
else
	tap_fail "content byte changed: --cat of another file" "exit $rc: $(cat "$TAP_TMP/err")"
fi

# --extract PATH...: a file and a directory of the untouched package; the
# tree is the full extraction's for those paths (and the directories on the
# way), compared with rpm2cpio | cpio -idm's tree
rm -rf "$TAP_TMP/ref" && mkdir -p "$TAP_TMP/ref"
rpm2cpio "$P" | (cd "$TAP_TMP/ref" && cpio -idm --quiet './data/*' ./usr/bin/suid 2>/dev/null)
rm -rf "$TAP_TMP/sel"
"$Q" --extract -C "$TAP_TMP/sel" "$P" /data usr/bin/suid 2>"$TAP_TMP/err"
rc=$?
tree() { (cd "$1" && find . -type f -o -type l | LC_ALL=C sort | while IFS= read -r f; do
	if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(stat -c %a "$f") $(sha256sum <"$f" | cut -c1-64)"; fi
done); }
tree "$TAP_TMP/ref" >"$TAP_TMP/want"
tree "$TAP_TMP/sel" >"$TAP_TMP/got"
if [ $rc = 0 ] && [ ! -e "$TAP_TMP/sel/var" ] && [ ! -e "$TAP_TMP/sel/usr/bin/sgid" ]; then
	test_cmp "--extract FILE /data usr/bin/suid: those files only, as rpm2cpio | cpio -idm PATTERNS" "$TAP_TMP/want" "$TAP_TMP/got"
else
	tap_fail "--extract FILE /data usr/bin/suid" "exit $rc: $(cat "$TAP_TMP/err"); $(ls -R "$TAP_TMP/sel")"
fi
rm -rf "$TAP_TMP/sel"
"$Q" --extract -C "$TAP_TMP/sel" "$P" /data/hello /no/such 2>"$TAP_TMP/err"
rc=$?
if one_line_naming $rc "$TAP_TMP/err" "/no/such: no such file in the package" && [ ! -e "$TAP_TMP/sel/data" ]; then
	tap_ok "--extract of a path not in the package: exit 1 naming it, nothing extracted"
else
	tap_fail "--extract of a path not in the package" "exit $rc: $(cat "$TAP_TMP/err")"
fi
"$Q" --cat /data "$P" >"$TAP_TMP/cat.out" 2>"$TAP_TMP/err"
rc=$?
if one_line_naming $rc "$TAP_TMP/err" "/data: not a regular file" && [ ! -s "$TAP_TMP/cat.out" ]; then
	tap_ok "--cat of a directory: exit 1 naming it"
else
	tap_fail "--cat of a directory" "exit $rc: $(cat "$TAP_TMP/err")"
fi

# 4. cpio metadata only: every file is right, the payload digest is not
python3 "$HERE/cpio_tamper.py" "$P" "$TAP_TMP/t2.rpm" mtime /data/hello
peer_bad "cpio mtime changed" "$TAP_TMP/t2.rpm"
extract "$TAP_TMP/t2.rpm"
if one_line_naming $rc "$TAP_TMP/err" "payload: digest BAD: PAYLOADDIGEST is"; then
	tap_ok "cpio mtime changed: exit 1, the payload digest named"
else
	tap_fail "cpio mtime changed" "exit $rc: $(cat "$TAP_TMP/err")"
fi

# 5. lying size
python3 "$HERE/cpio_tamper.py" "$P" "$TAP_TMP/t3.rpm" size /data/five
peer_bad "cpio entry of 50 bytes, FILESIZES 5" "$TAP_TMP/t3.rpm"
rm -rf "$TAP_TMP/c" && mkdir -p "$TAP_TMP/c"
rpm2cpio "$TAP_TMP/t3.rpm" 2>/dev/null | (cd "$TAP_TMP/c" && cpio -idm --quiet 2>/dev/null)
extract "$TAP_TMP/t3.rpm"
if one_line_naming $rc "$TAP_TMP/err" "/data/five: the cpio entry holds 50 bytes, the header says 5 (FILESIZES)" &&
	[ ! -e "$TAP_TMP/t/data/five" ]; then
	tap_ok "cpio entry of 50 bytes, FILESIZES 5: exit 1, nothing written for it (rpm2cpio | cpio writes $(stat -c %s "$TAP_TMP/c/data/five" 2>/dev/null) bytes)"
else
	tap_fail "cpio entry of 50 bytes, FILESIZES 5" "exit $rc: $(cat "$TAP_TMP/err")"
fi
for v in cat tar; do
	if [ $v = cat ]; then set -- --cat /data/five; else set -- --tar; fi
	"$Q" "$@" "$TAP_TMP/t3.rpm" >"$TAP_TMP/v.out" 2>"$TAP_TMP/err"
	rc=$?
	if one_line_naming $rc "$TAP_TMP/err" "/data/five: the cpio entry holds 50 bytes, the header says 5 (FILESIZES)" &&
		! grep -q XXXX "$TAP_TMP/v.out"; then
		tap_ok "cpio entry of 50 bytes, FILESIZES 5: --$v exits 1, none of its bytes written"
	else
		tap_fail "cpio entry of 50 bytes, FILESIZES 5: --$v" "exit $rc: $(cat "$TAP_TMP/err")"
	fi
done

# 6. a byte appended after the payload, every corpus package whose
#    untouched copy rpm -K and rpmq --extract both accept
n=0 bad=""
for f in "$CORPUS"/*.rpm "$P"; do
	rpm -K --nosignature "$f" >/dev/null 2>&1 || continue
	extract "$f"
	[ $rc = 0 ] || { bad="$bad $(basename "$f"):untouched-exit-$rc"; continue; }
	cat "$f" >"$TAP_TMP/app.rpm" && printf 'X' >>"$TAP_TMP/app.rpm"
	rpm -K --nosignature "$TAP_TMP/app.rpm" 2>/dev/null | grep -q 'NOT OK' || continue
	n=$((n + 1))
	extract "$TAP_TMP/app.rpm"
	# xz and zstd reject trailing bytes themselves, gzip and none do not
	grep -qE 'payload: (digest BAD|cannot open|cannot decompress)' "$TAP_TMP/err" &&
		one_line_naming $rc "$TAP_TMP/err" "payload: " || bad="$bad $(basename "$f"):exit-$rc:$(cat "$TAP_TMP/err")"
done
if [ -z "$bad" ] && [ $n -gt 10 ]; then
	tap_ok "a byte appended after the payload ($n packages rpm -K calls NOT OK): exit 1, the payload digest (or the xz/zstd decoder) named"
else
	tap_fail "a byte appended after the payload ($n packages)" "$bad"
fi

# 7. delta rpm
if command -v makedeltarpm >/dev/null 2>&1; then
	makedeltarpm "$P" "$top/RPMS/noarch/rpmqverify-1-2.noarch.rpm" "$TAP_TMP/d.drpm" 2>"$TAP_TMP/err"
	rpm2cpio "$TAP_TMP/d.drpm" >/dev/null 2>&1
	prc=$?
	"$Q" --cpio "$TAP_TMP/d.drpm" >"$TAP_TMP/d.cpio" 2>"$TAP_TMP/err"
	rc=$?
	if [ $prc = 1 ] && one_line_naming $rc "$TAP_TMP/err" "a Delta RPM" && [ ! -s "$TAP_TMP/d.cpio" ]; then
		tap_ok "delta rpm: --cpio exits 1 as rpm2cpio 4.18 does, writing nothing"
	else
		tap_fail "delta rpm: --cpio" "rpm2cpio exit $prc, rpmq exit $rc: $(cat "$TAP_TMP/err")"
	fi
	extract "$TAP_TMP/d.drpm"
	if one_line_naming $rc "$TAP_TMP/err" "a Delta RPM" && [ -z "$(ls -A "$TAP_TMP/t" 2>/dev/null)" ]; then
		tap_ok "delta rpm: --extract exits 1, writing nothing"
	else
		tap_fail "delta rpm: --extract" "exit $rc: $(cat "$TAP_TMP/err")"
	fi
else
	tap_skip "delta rpm" "makedeltarpm is not installed (apt-get install deltarpm)"
fi
tap_done
