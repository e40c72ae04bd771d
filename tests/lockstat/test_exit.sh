#!/bin/sh
# test_exit.sh: lockstat exits as Solaris lockstat(1M) does (lib/err.h
# ok_exit_lockstat): 1 for a usage error, 2 for any other error. Solaris
# lockstat does not run here; the codes are those of its manual page and of
# its source (usage() exits 1, fail() exits 2). Cases: a missing --replay
# file, a bad option, a corrupt record file, a refusal (system-wide events
# for an unprivileged user, where kernel.perf_event_paranoid forbids them).
. "$OPSKIT_SOURCE/tests/tap.sh"
L="$OPSKIT_BUILD/lockstat/lockstat"
T="$TAP_TMP"
testcmd_rc "a missing --replay file exits 2" 2 "'$L' --replay='$T/nonexistent'"
testcmd_rc "a bad option exits 1 (usage)" 1 "'$L' --bogus true"
testcmd_rc "no command exits 1 (usage)" 1 "'$L'"
testcmd_rc "a bad option value exits 2 (as Solaris)" 2 "'$L' -e 99 true"
testcmd_rc "--lock-owner with --backend=ring is refused (exit 2)" 2 "'$L' -C --lock-owner --backend=ring true"
testcmd_rc "--lock-owner with --replay is refused (exit 2)" 2 "'$L' --lock-owner --replay='$T/nonexistent'"
awk 'BEGIN { for (i = 0; i < 100; i++) printf "not a lockstat record %d\n", i }' > "$T/junk.rec"
testcmd_rc "a corrupt record file exits 2" 2 "'$L' --replay='$T/junk.rec'"
par=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 2)
if [ "$(id -u)" = 0 ] && [ "$par" -gt -1 ] && command -v setpriv >/dev/null 2>&1; then
	chmod 755 "$T"
	testcmd_rc "refused: system-wide events for an unprivileged user exit 2" 2 \
		"setpriv --reuid=65534 --regid=65534 --clear-groups '$L' true"
else
	tap_skip "refused: system-wide events for an unprivileged user" \
		"needs root, setpriv and kernel.perf_event_paranoid above -1 (is $par)"
fi
tap_done
