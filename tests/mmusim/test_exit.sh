#!/bin/sh
# test_exit.sh: mmusim's exit codes, one case per class (lib/err.h, README):
# a missing trace exits 4 (I/O), a bad option 2 (usage), a malformed lackey
# line 3 (bad data), --write-trace onto the input trace 5 (refused, the
# trace unchanged). mmusim has no negative answer (1 is not used).
. "$OPSKIT_SOURCE/tests/tap.sh"
M="$OPSKIT_BUILD/mmusim/mmusim"
T="$TAP_TMP"
printf ' L 555500000000,8\n S 555500001000,8\n' > "$T/ok.lk"
printf ' L 555500000000,8\n X 1,2\n' > "$T/bad.lk"

testcmd_rc "a missing trace exits 4 (I/O)" 4 "'$M' '$T/nonexistent.lk'"
testcmd_rc "a bad option exits 2 (usage)" 2 "'$M' --bogus '$T/ok.lk'"
testcmd_rc "a malformed trace line exits 3 (bad data)" 3 "'$M' '$T/bad.lk'"
before=$(md5sum < "$T/ok.lk")
testcmd_rc "--write-trace onto the input trace exits 5 (refused)" 5 "'$M' --write-trace='$T/ok.lk' '$T/ok.lk'"
ln -s ok.lk "$T/link.lk"
testcmd_rc "--write-trace onto the input through a link exits 5" 5 "'$M' --write-trace='$T/link.lk' '$T/ok.lk'"
testcmd_rc "--write-trace onto the input as standard input exits 5" 5 "'$M' --write-trace='$T/ok.lk' - < '$T/ok.lk'"
if [ "$before" = "$(md5sum < "$T/ok.lk")" ]; then tap_ok "refused: the trace is unchanged"; else tap_fail "refused: the trace is unchanged"; fi
testcmd_rc "--write-trace to another file exits 0" 0 "'$M' --write-trace='$T/ok.bin' '$T/ok.lk'"
tap_done
