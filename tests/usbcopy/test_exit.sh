#!/bin/sh
# test_exit.sh: usbcopy's exit codes, one case per class (lib/err.h, README):
# a missing image exits 4 (I/O), a bad option 2 (usage), a truncated gzip
# image 3 (bad data), a target that is the image itself 5 (refused), a
# --sha256 that does not match 1 (negative answer). Targets are regular
# files: no device is touched.
. "$OPSKIT_SOURCE/tests/tap.sh"
U="$OPSKIT_BUILD/usbcopy/usbcopy"
T="$TAP_TMP"
awk 'BEGIN { for (i = 0; i < 8192; i++) printf "usbcopy exit test line %040d\n", i }' > "$T/img"
gzip -c "$T/img" | head -c 20000 > "$T/trunc.gz"

testcmd_rc "a missing image exits 4 (I/O)" 4 "'$U' --yes -q --device='$T/out1' '$T/nonexistent'"
testcmd_rc "a bad option exits 2 (usage)" 2 "'$U' --bogus --yes --device='$T/out2' '$T/img'"
testcmd_rc "a truncated gzip image exits 3 (bad data)" 3 "'$U' --yes -q --device='$T/out3' '$T/trunc.gz'"
before=$(md5sum "$T/img")
testcmd_rc "the image as its own target exits 5 (refused)" 5 "'$U' --yes -q --device='$T/img' '$T/img'"
if [ "$before" = "$(md5sum "$T/img")" ]; then tap_ok "refused: the image is unchanged"; else tap_fail "refused: the image is unchanged"; fi
testcmd_rc "a --sha256 that does not match exits 1 (negative answer)" 1 \
	"'$U' --yes -q --device='$T/out4' --sha256=$(printf '%064d' 0) '$T/img'"
tap_done
