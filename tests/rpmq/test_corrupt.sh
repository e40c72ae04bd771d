#!/bin/sh
# test_corrupt.sh: bad input. Each case damages a copy of a corpus package
# (rpm--RPMS_hello-2.0-1.x86_64.rpm, layout: lead 0, signature header 96,
# main header 4504 with its index at 4520 and data at 5432, payload 7160)
# and checks that rpmq prints nothing on stdout, one line
# "rpmq: FILE: offset N: ..." naming the fault on stderr, exits 1 (as rpm), and does
# not crash. Where rpm is installed, rpm must refuse the same file too.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
SRC="$OPSKIT_SHARED/corpus/rpm/rpm--RPMS_hello-2.0-1.x86_64.rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
have_rpm=0
command -v rpm >/dev/null 2>&1 && have_rpm=1

# patch FILE OFFSET HEXBYTES...: overwrite bytes in place.
patch() {
	f=$1 off=$2
	shift 2
	esc=""
	for b in "$@"; do esc="$esc$(printf '\\%03o' "0x$b")"; done
	# shellcheck disable=SC2059
	printf "$esc" | dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
}

# bad NAME EXPECTED_SUBSTRING: run rpmq -qp --scripts -i -l on $TAP_TMP/bad.rpm
bad() {
	name=$1 want=$2
	"$Q" -qp --scripts -i -lv --dump "$TAP_TMP/bad.rpm" >"$TAP_TMP/out" 2>"$TAP_TMP/err"
	rc=$?
	lines=$(wc -l <"$TAP_TMP/err")
	if [ "$rc" != 1 ]; then
		tap_fail "$name: exit 1" "exit $rc; stderr: $(cat "$TAP_TMP/err")"
	elif [ -s "$TAP_TMP/out" ]; then
		tap_fail "$name: no output" "$(head -c 300 "$TAP_TMP/out")"
	elif [ "$lines" != 1 ] || ! grep -q "^rpmq: $TAP_TMP/bad.rpm: .*$want" "$TAP_TMP/err"; then
		tap_fail "$name: message" "want '$want', got: $(cat "$TAP_TMP/err")"
	else
		tap_ok "$name: $(sed "s|$TAP_TMP/||" "$TAP_TMP/err")"
	fi
	if [ $have_rpm = 1 ]; then
		if rpm -qp --scripts "$TAP_TMP/bad.rpm" >/dev/null 2>&1; then
			tap_fail "$name: rpm refuses it too" "rpm accepted the file"
		else
			tap_ok "$name: rpm refuses it too"
		fi
	fi
}

fresh() { cp "$SRC" "$TAP_TMP/bad.rpm"; chmod u+w "$TAP_TMP/bad.rpm"; }

: >"$TAP_TMP/bad.rpm"; bad "empty file" "offset 0: not an rpm package"
fresh; patch "$TAP_TMP/bad.rpm" 0 00 00 00 00; bad "bad lead magic" "offset 0: not an rpm package: lead magic BAD"
head -c 50 "$SRC" >"$TAP_TMP/bad.rpm"; bad "truncated lead" "offset 50: lead: truncated, read 50 of 96"
fresh; patch "$TAP_TMP/bad.rpm" 78 00 01; bad "signature type 1" "offset 78: illegal signature type 1"
fresh; patch "$TAP_TMP/bad.rpm" 4 09; bad "lead major 9" "offset 4: unsupported RPM package version 9"
fresh; patch "$TAP_TMP/bad.rpm" 96 8e ad e8 02; bad "bad signature magic" "offset 96: signature header magic: BAD"
fresh; patch "$TAP_TMP/bad.rpm" 104 00 00 03 e8; bad "signature il 1000" "offset 104: signature header tags: BAD, no. of tags(1000) out of range"
fresh; patch "$TAP_TMP/bad.rpm" 108 7f ff ff ff; bad "signature dl 2 GiB" "offset 108: signature header data: BAD"
head -c 1000 "$SRC" >"$TAP_TMP/bad.rpm"; bad "truncated signature" "offset 112: signature header: truncated, read 888 of 4388"
head -c 4500 "$SRC" >"$TAP_TMP/bad.rpm"; bad "truncated signature padding" "offset 4500: signature padding: truncated"
fresh; patch "$TAP_TMP/bad.rpm" 4504 00 00 00 00; bad "bad header magic" "offset 4504: header magic: BAD"
fresh; patch "$TAP_TMP/bad.rpm" 4512 00 01 00 00; bad "header il 65536" "offset 4512: header tags: BAD, no. of tags(65536) out of range"
fresh; patch "$TAP_TMP/bad.rpm" 4516 10 00 00 00; bad "header dl 256 MiB" "offset 4516: header data: BAD, no. of bytes(268435456) out of range"
head -c 4600 "$SRC" >"$TAP_TMP/bad.rpm"; bad "truncated header index" "offset 4520: header: truncated, read 80 of 2640"
head -c 6000 "$SRC" >"$TAP_TMP/bad.rpm"; bad "truncated header data" "offset 4520: header: truncated, read 1480 of 2640"
fresh; patch "$TAP_TMP/bad.rpm" 4524 00 00 00 04; bad "region tag type" "offset 4520: header region tag: BAD, tag 63 type 4"
fresh; patch "$TAP_TMP/bad.rpm" 4528 00 00 7f 00; bad "region offset" "offset 4520: header region offset: BAD"
fresh; patch "$TAP_TMP/bad.rpm" 7144 00 00 00 3e; bad "region trailer tag" "offset 7144: header region trailer: BAD, tag 62"
fresh; patch "$TAP_TMP/bad.rpm" 7152 ff ff fc 80; bad "region size" "offset 7144: header region 63: tag number mismatch il 57 ril 56"
fresh; patch "$TAP_TMP/bad.rpm" 7152 ff ff fc 71; bad "region trailer offset not /16" "offset 7144: header region 63 size: BAD"
fresh; patch "$TAP_TMP/bad.rpm" 4552 00 00 00 32; bad "tag below 100" "offset 4552: header tag\[2\]: BAD, tag 50 .*tag number below 100"
fresh; patch "$TAP_TMP/bad.rpm" 4556 00 00 00 0a; bad "type 10" "offset 4552: header tag\[2\]: BAD, tag 1000 type 10 .*type outside 1..9"
fresh; patch "$TAP_TMP/bad.rpm" 4548 00 00 10 00; bad "count beyond dl" "offset 4536: header tag\[1\]: BAD, .*count outside 1..dl"
fresh; patch "$TAP_TMP/bad.rpm" 4548 00 00 06 a4; bad "strings beyond data" "offset 4536: header tag\[1\]: BAD, .*string not terminated"
fresh; patch "$TAP_TMP/bad.rpm" 4576 00 00 00 00; bad "overlapping data" "offset 4568: header tag\[3\]: BAD, .*overlaps the previous entry"
fresh; patch "$TAP_TMP/bad.rpm" 4640 00 00 00 45; bad "unaligned int32" "offset 4632: header tag\[7\]: BAD, .*not aligned"
fresh; patch "$TAP_TMP/bad.rpm" 4636 00 00 00 06; bad "type mismatch" "offset 4632: header tag\[7\]: BAD, tag 1006 type 6 .*does not match"
fresh; patch "$TAP_TMP/bad.rpm" 4544 ff ff ff f0; bad "negative offset" "offset 4536: header tag\[1\]: BAD"

# Truncation anywhere in the headers: always a clean error, never a crash.
size=7160
off=0
fails=""
while [ $off -lt $size ]; do
	head -c $off "$SRC" >"$TAP_TMP/bad.rpm"
	"$Q" -qp --scripts -i "$TAP_TMP/bad.rpm" >"$TAP_TMP/out" 2>"$TAP_TMP/err"
	rc=$?
	if [ $rc != 1 ] || [ -s "$TAP_TMP/out" ] || [ "$(wc -l <"$TAP_TMP/err")" != 1 ]; then
		fails="$fails $off:$rc"
	fi
	off=$((off + 97))
done
if [ -z "$fails" ]; then tap_ok "every truncation point (step 97) in the headers: exit 1, one line"; else tap_fail "truncations" "$fails"; fi

# The exit status is rpm's: the same for rpm -qp on the same broken files.
if command -v rpm >/dev/null 2>&1; then
	diffs=""
	for off in 50 500 3000 6000; do
		head -c $off "$SRC" >"$TAP_TMP/bad.rpm"
		"$Q" -qp "$TAP_TMP/bad.rpm" >/dev/null 2>&1
		ours=$?
		rpm -qp "$TAP_TMP/bad.rpm" >/dev/null 2>&1
		theirs=$?
		[ "$ours" = "$theirs" ] || diffs="$diffs $off:$ours/$theirs"
	done
	rpm -qp "$TAP_TMP/nonexistent.rpm" >/dev/null 2>&1
	theirs=$?
	"$Q" -qp "$TAP_TMP/nonexistent.rpm" >/dev/null 2>&1
	ours=$?
	[ "$ours" = "$theirs" ] || diffs="$diffs missing:$ours/$theirs"
	if [ -z "$diffs" ]; then tap_ok "exit status equals rpm -qp's on truncated and missing files"; else tap_fail "exit status vs rpm -qp (offset:ours/rpm)" "$diffs"; fi
else
	tap_skip "exit status vs rpm -qp" "rpm not installed"
fi

# Header-only queries do not need the payload: a file cut right after the
# main header still answers (as rpm does for hello-2.0-1.x86_64-corrupted.rpm).
head -c 7160 "$SRC" >"$TAP_TMP/cut.rpm"
testcmd "payload cut off: --scripts/-q still answer" "'$Q' -qp '$TAP_TMP/cut.rpm'" "hello-2.0-1.x86_64
" ""

# A missing file, and a directory.
"$Q" -qp "$TAP_TMP/nonexistent.rpm" 2>"$TAP_TMP/err" >/dev/null
rc=$?
if [ $rc = 1 ] && grep -q "nonexistent.rpm: open: No such file" "$TAP_TMP/err"; then tap_ok "missing file: exit 1 (as rpm -qp)"; else tap_fail "missing file" "rc $rc $(cat "$TAP_TMP/err")"; fi
testcmd_rc "no operands: usage error 1 (as rpm -qp)" 1 "'$Q' -qp"
testcmd_rc "unknown option: usage error 1 (as rpm)" 1 "'$Q' --bogus x"
tap_done
