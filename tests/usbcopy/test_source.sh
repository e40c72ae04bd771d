#!/bin/sh
# test_source.sh: which bytes usbcopy takes as the image (issue 18 items 4
# and 8), written to a regular file prefilled with a random pattern.
#   zip/tar entry choice: the image is judged by the real unpackers
#   (`unzip -p`, `tar -xOf`): the target must hold exactly the entry they
#   print for the name usbcopy should choose (etcher-sdk's rule: an image
#   extension, the largest in a zip, the first in a tar or on a pipe, a lone
#   file whatever its name; --entry NAME); an ambiguous archive is refused
#   (exit 3) with every entry listed and nothing written.
#   --sha256 as users get it: hashes made by sha256sum (GNU and --tag lines)
#   of the compressed file and of the image; a mismatch leaves the target
#   byte for byte as it was (nothing written at all) when the source is a
#   file, and chunk 0 unwritten when it is a pipe. --keyring: a clearsigned
#   SHA256SUMS checked by gpgv against a key gpg made here: good, a changed
#   line, another key, no signature (exit 3, nothing written), a line
#   outside the signed text ignored.
#   The meter (item 9) on a pseudo-terminal 80 and 40 columns wide: no line
#   wider than the terminal less one column, percent and ETA shown for a
#   gzip image (size estimated from the compressed position) and the exact
#   total for a zip entry (its size from `unzip -Z`) (pty-run.py with
#   PTY_COLS); 0.3 s per chunk
#   (USBCOPY_TEST_FAULTS=slow@N) so the meter is redrawn whatever the host.
. "$OPSKIT_SOURCE/tests/tap.sh"
U="$OPSKIT_BUILD/usbcopy/usbcopy"
T=$TAP_TMP
MB=1048576
head -c $((4 * MB)) /dev/urandom > "$T/pattern"
fresh() { cp "$T/pattern" "$T/dev"; }
# the target holds FILE's bytes, the rest of it untouched
holds() {
	n=$(stat -c %s "$1")
	cmp -s -n "$n" "$1" "$T/dev" && cmp -s -i "$n" "$T/pattern" "$T/dev"
}
untouched() { cmp -s "$T/pattern" "$T/dev"; }
W="$U -q -c 1M -y -d $T/dev"
PTY="python3 $OPSKIT_SOURCE/tests/usbcopy/pty-run.py"
mkdir -p "$T/p"
head -c $((2 * MB + 333)) /dev/urandom > "$T/p/disk.img"
head -c $((1 * MB + 5)) /dev/urandom > "$T/p/boot.img"
head -c 700000 /dev/urandom > "$T/p/disk"
printf 'read me\n' > "$T/p/README.txt"
printf 'notes\n' > "$T/p/notes.txt"
cp "$T/p/boot.img" "$T/p/same.img"

# One case: NAME ARCHIVE EXPECTED_ENTRY [usbcopy options] - the target must
# hold what the unpacker prints for EXPECTED_ENTRY.
pick() {
	name=$1 arc=$2 ent=$3
	shift 3
	case $arc in
	*.zip) unzip -p "$T/$arc" "$ent" > "$T/want" ;;
	*) tar -xOf "$T/$arc" "$ent" > "$T/want" ;;
	esac
	fresh
	if $W "$@" "$T/$arc" >/dev/null 2>"$T/err" && holds "$T/want"; then
		tap_ok "$name"
	else
		tap_fail "$name" "$(cat "$T/err")"
	fi
}
# One refusal: NAME ARCHIVE EXPECTED_STDERR_PART [usbcopy options]
refuse() {
	name=$1 arc=$2 msg=$3
	shift 3
	fresh
	$W "$@" "$T/$arc" >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc = 3 ] && grep -qF -- "$msg" "$T/err" && untouched; then
		tap_ok "$name"
	else
		tap_fail "$name" "rc=$rc $(cat "$T/err")"
	fi
}

if command -v zip >/dev/null && command -v unzip >/dev/null; then
	(cd "$T/p" && zip -q ../readme-first.zip README.txt disk.img &&
		zip -q ../three.zip README.txt boot.img disk.img notes.txt &&
		zip -q ../texts.zip README.txt notes.txt &&
		zip -q ../tie.zip boot.img same.img && zip -q ../lone.zip disk)
	pick "zip, README.txt first: the .img entry is written, not the README" readme-first.zip disk.img
	pick "zip, two .img entries: the largest" three.zip disk.img
	pick "zip: --entry boot.img" three.zip boot.img --entry boot.img
	pick "zip: --entry names a non-image entry" texts.zip notes.txt --entry notes.txt
	pick "zip holding one file without an image extension: that file" lone.zip disk
	refuse "zip without an image entry: refused, entries listed with sizes" texts.zip \
		"cannot tell which entry is the image; it holds: README.txt (8 bytes), notes.txt (6 bytes); choose one with --entry NAME"
	refuse "zip with two equally large .img entries: refused" tie.zip \
		"boot.img (1048581 bytes), same.img (1048581 bytes)"
	refuse "--entry that is not in the zip: refused, entries listed" three.zip \
		"no entry named \"nope.img\" in the archive; it holds: README.txt (8 bytes), boot.img" --entry nope.img
	# a pipe cannot be listed first: the first image, as etcher-sdk's stream reader
	unzip -p "$T/three.zip" boot.img > "$T/want"
	fresh
	if cat "$T/three.zip" | $W /dev/stdin >/dev/null 2>"$T/err" && holds "$T/want"; then
		tap_ok "zip on a pipe: the first .img entry"
	else
		tap_fail "zip on a pipe" "$(cat "$T/err")"
	fi
else
	tap_skip "zip entry choice" "zip or unzip not installed"
fi
(cd "$T/p" && tar -cf ../readme-first.tar README.txt disk.img && tar -czf ../lone.tgz disk &&
	tar -cf ../texts.tar README.txt notes.txt)
pick "tar, README.txt first: the .img entry" readme-first.tar disk.img
pick "tar: --entry README.txt" readme-first.tar README.txt --entry README.txt
pick "gzip'd tar holding one file without an extension: that file" lone.tgz disk
refuse "tar without an image entry: refused, entries listed" texts.tar \
	"it holds: README.txt (8 bytes), notes.txt (6 bytes)"
head -c $MB /dev/urandom > "$T/raw.img"
refuse "--entry on an image that is no archive: refused" raw.img \
	"--entry disk.img: the image is not a zip or tar archive" --entry disk.img

# --sha256 as users get it
xz -c "$T/p/disk.img" > "$T/disk.img.xz"
cp "$T/p/disk.img" "$T/disk.img"
(cd "$T" && sha256sum raw.img disk.img.xz readme-first.tar > SHA256SUMS &&
	sha256sum --tag raw.img disk.img.xz > SHA256SUMS.bsd &&
	sha256sum disk.img > IMG.sha256)
XZSUM0=$(sha256sum "$T/disk.img.xz" | cut -c1-64)
ok() { # NAME FILE [options]: exit 0 and the target holds FILE's image
	name=$1 want=$2
	shift 2
	fresh
	if $W "$@" >/dev/null 2>"$T/err" && holds "$want"; then tap_ok "$name"; else tap_fail "$name" "$(cat "$T/err")"; fi
}
ok "SHA256SUMS (sha256sum lines): the line for disk.img.xz, the compressed file's hash" \
	"$T/disk.img" --sha256 "$T/SHA256SUMS" "$T/disk.img.xz"
ok "SHA256SUMS --tag (BSD lines)" "$T/disk.img" --sha256 "$T/SHA256SUMS.bsd" "$T/disk.img.xz"
ok "a compressed file checked against its unpacked image's hash" \
	"$T/disk.img" --sha256 "$(cut -c1-64 "$T/IMG.sha256")" "$T/disk.img.xz"
ok "SHA256SUMS for a tar: the line names the tar" "$T/p/disk.img" \
	--sha256 "$T/SHA256SUMS" "$T/readme-first.tar"
# a clearsigned checksum file (Fedora's CHECKSUM): the armor is skipped
{
	echo "-----BEGIN PGP SIGNED MESSAGE-----"
	echo "Hash: SHA256"
	echo
	echo "# disk.img.xz: $(stat -c %s "$T/disk.img.xz") bytes"
	sha256sum --tag "$T/disk.img.xz"
	echo "-----BEGIN PGP SIGNATURE-----"
	echo
	echo "iQIzBAEBCAAdFiEE0000000000000000000000000000000000000000000000000000"
	echo "-----END PGP SIGNATURE-----"
} > "$T/CHECKSUM"
ok "clearsigned CHECKSUM with a comment: the SHA256 line (signature not checked)" \
	"$T/disk.img" --sha256 "$T/CHECKSUM" "$T/disk.img.xz"
# --keyring: the clearsignature checked by gpgv (Debian's, the verifier apt
# uses) against a key made here by gpg in a throw-away GNUPGHOME; gpgv's own
# verdict on each file (gpgv --keyring) is the judge the test checks first
if command -v gpg >/dev/null && command -v gpgv >/dev/null; then
	mkdir -m 700 "$T/gh" "$T/gh2"
	GNUPGHOME="$T/gh" gpg --batch --quiet --passphrase '' --quick-gen-key 'usbcopy test <t@example.invalid>' ed25519 sign never 2>/dev/null
	GNUPGHOME="$T/gh2" gpg --batch --quiet --passphrase '' --quick-gen-key 'other <o@example.invalid>' ed25519 sign never 2>/dev/null
	GNUPGHOME="$T/gh" gpg --batch --export > "$T/key.gpg"
	GNUPGHOME="$T/gh2" gpg --batch --export > "$T/other.gpg"
	GNUPGHOME="$T/gh" gpg --batch --quiet --clearsign -o "$T/SUMS.asc" "$T/SHA256SUMS"
	awk '/^[0-9a-f]+  raw.img$/ { c = substr($0, 1, 1); $0 = (c == "0" ? "1" : "0") substr($0, 2) } { print }' "$T/SUMS.asc" > "$T/BAD.asc"
	# a line outside the signed block, for a file the signature does not cover
	{ cat "$T/SUMS.asc"; echo "$(cut -c1-64 "$T/IMG.sha256")  disk.img"; } > "$T/TAIL.asc"
	verdict() { gpgv --quiet --keyring "$1" "$2" >/dev/null 2>&1 && echo good || echo bad; }
	if [ "$(verdict "$T/key.gpg" "$T/SUMS.asc") $(verdict "$T/key.gpg" "$T/BAD.asc") $(verdict "$T/other.gpg" "$T/SUMS.asc")" != "good bad bad" ]; then
		tap_fail "--keyring: gpgv's verdicts on the test files are not good/bad/bad (test broken)"
	fi
	ok "--keyring: a good clearsignature, the line for disk.img.xz" \
		"$T/disk.img" --sha256 "$T/SUMS.asc" --keyring "$T/key.gpg" "$T/disk.img.xz"
	for c in "BAD.asc key.gpg a changed hash line" "SUMS.asc other.gpg another key" "SHA256SUMS key.gpg no signature"; do
		set -- $c
		fresh
		$W --sha256 "$T/$1" --keyring "$T/$2" "$T/raw.img" >/dev/null 2>"$T/err"
		rc=$?
		if [ $rc = 3 ] && grep -q "OpenPGP signature not good for keyring $T/$2" "$T/err" && untouched; then
			tap_ok "--keyring, $3 $4 $5: exit 3, nothing written"
		else
			tap_fail "--keyring, $3 $4 $5" "rc=$rc $(cat "$T/err")"
		fi
	done
	testcmd "--keyring: a line outside the signed text is not seen" \
		"$W --sha256 $T/TAIL.asc --keyring $T/key.gpg $T/disk.img 2>&1 >/dev/null; echo rc=\$?" \
		"usbcopy: $T/TAIL.asc: no SHA-256 for disk.img (3 SHA-256 lines, none names it)
rc=2
" ""
	testcmd "--keyring without --sha256 FILE: usage error" \
		"$W --keyring $T/key.gpg $T/raw.img >/dev/null 2>&1; echo rc=\$?; $W --sha256 $XZSUM0 --keyring $T/key.gpg $T/raw.img >/dev/null 2>&1; echo rc=\$?" \
		"rc=2
rc=2
" ""
else
	for n in 1 2 3 4 5 6; do tap_skip "--keyring $n" "gpg or gpgv (Debian's gnupg, gpgv) not installed"; done
fi
# mismatches: sha256sum -c is the judge that the line does not fit
awk '{ c = substr($1, 1, 1); print (c == "0" ? "1" : "0") substr($1, 2) "  " $2 }' "$T/SHA256SUMS" > "$T/BADSUMS"
(cd "$T" && ! sha256sum -c --status BADSUMS 2>/dev/null) || tap_fail "BADSUMS still matches (test broken)"
fresh
$W --sha256 "$T/BADSUMS" "$T/disk.img.xz" >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && grep -q "SHA-256 mismatch: the file is .*, unpacked (xz) .*, expected [01]" "$T/err" && untouched; then
	tap_ok "compressed file, wrong hash: exit 1, both digests named, nothing written"
else
	tap_fail "compressed file, wrong hash" "rc=$rc $(cat "$T/err")"
fi
fresh
$W --sha256 "$T/BADSUMS" "$T/raw.img" >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && untouched; then tap_ok "raw file, wrong hash: exit 1, nothing written"; else tap_fail "raw file, wrong hash" "rc=$rc $(cat "$T/err")"; fi
testcmd "SHA256SUMS without a line for the image: exit 2, named" \
	"$W --sha256 $T/SHA256SUMS $T/disk.img 2>&1 >/dev/null; echo rc=\$?" \
	"usbcopy: $T/SHA256SUMS: no SHA-256 for disk.img (3 SHA-256 lines, none names it)
rc=2
" ""
printf '%s  raw.img\nnot a checksum line\n' "$(cut -c1-64 "$T/IMG.sha256")" > "$T/MALFORMED"
testcmd "malformed checksum file: exit 2, line named" \
	"$W --sha256 $T/MALFORMED $T/raw.img 2>&1 >/dev/null; echo rc=\$?" \
	"usbcopy: $T/MALFORMED:2: expected \"HEX  NAME\" (sha256sum) or \"SHA256 (NAME) = HEX\" (sha256sum --tag)
rc=2
" ""
# a pipe: checked at the end, said so, chunk 0 held back on a mismatch
XZSUM=$(sha256sum "$T/disk.img.xz" | cut -c1-64)
fresh
if cat "$T/disk.img.xz" | $W --sha256 "$XZSUM" /dev/stdin >/dev/null 2>"$T/err" && holds "$T/disk.img" &&
	grep -q "its SHA-256 is checked at the end" "$T/err"; then
	tap_ok "pipe: the compressed stream's hash checked at the end, said so"
else
	tap_fail "pipe: compressed stream's hash" "$(cat "$T/err")"
fi
fresh
case $XZSUM in 0*) BADXZ=1${XZSUM#?} ;; *) BADXZ=0${XZSUM#?} ;; esac
cat "$T/disk.img.xz" | $W --sha256 "$BADXZ" /dev/stdin >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 1 ] && cmp -s -n $MB "$T/pattern" "$T/dev"; then
	tap_ok "pipe, wrong hash: exit 1, chunk 0 not written"
else
	tap_fail "pipe, wrong hash" "rc=$rc $(cat "$T/err")"
fi
# the meter
head -c $((6 * MB)) /dev/urandom > "$T/m.img"
gzip -1 -c "$T/m.img" > "$T/m.img.gz"
SLOW=slow@1,slow@2,slow@3,slow@4,slow@5
for cols in 80 40; do
	fresh
	USBCOPY_TEST_FAULTS=$SLOW PTY_COLS=$cols $PTY "" -- $U -c 1M -y -d "$T/dev" "$T/m.img.gz" > "$T/tty.raw" 2>&1
	rc=$?
	tr '\r' '\n' < "$T/tty.raw" | sed 's/ *$//' | grep . > "$T/tty" # each redraw on its own line
	wide=$(awk -v m=$((cols - 1)) '/B\/s|%/ && length($0) > m' "$T/tty") # meter lines only
	if [ $rc = 0 ] && holds "$T/m.img" && [ -z "$wide" ] &&
		grep -Eq '^((verified|written): )? *[0-9]+\.[0-9]%.*ETA [0-9]+:[0-9][0-9]$' "$T/tty"; then
		tap_ok "meter at $cols columns, gzip image: one line within the width, percent and ETA"
	else
		tap_fail "meter at $cols columns" "rc=$rc wide: $wide $(cat "$T/tty")"
	fi
done
if command -v zip >/dev/null && command -v unzip >/dev/null; then
	(cd "$T" && zip -q m.zip m.img)
	esz=$(unzip -Z -l "$T/m.zip" m.img | awk '{print $4}')
	fresh
	USBCOPY_TEST_FAULTS=$SLOW PTY_COLS=80 $PTY "" -- $U -c 1M -y -d "$T/dev" "$T/m.zip" 2>&1 | tr '\r' '\n' > "$T/tty"
	if [ "$esz" = $((6 * MB)) ] && grep -q "% .* of 6.0 MiB, .*ETA" "$T/tty"; then
		tap_ok "meter, zip entry: the total is the size the zip records ($esz bytes)"
	else
		tap_fail "meter, zip entry" "unzip -Z says $esz; $(cat "$T/tty")"
	fi
else
	tap_skip "meter, zip entry" "zip or unzip not installed"
fi
tap_done
