#!/bin/sh
# test_exit.sh: logsift and logsift-ctl exit as syslog-ng 3.38 and
# syslog-ng-ctl do (lib/err.h ok_exit_syslog_ng), because scripts test those
# codes: 1 for a missing configuration, a bad option, a configuration that
# does not parse, a daemon that cannot be reached; 2 when the daemon refuses
# to start (a reference to an undefined object). Each case runs the peer on
# the same input where it is installed and compares.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
CTL="$OPSKIT_BUILD/logsift/logsift-ctl"
T="$TAP_TMP"
SNG=$(command -v syslog-ng || true)
SNGCTL=$(command -v syslog-ng-ctl || true)
printf 'garbage {{{\n' > "$T/syntax.conf"
printf '@version: 3.38\nsource s { stdin(); };\nlog { source(s); destination(d_nope); };\n' > "$T/ref.conf"

# same NAME EXPECTED OURS PEER: OURS must exit EXPECTED, and so must PEER
same() {
	sh -c "$3" >/dev/null 2>&1 </dev/null
	rc=$?
	if [ "$rc" = "$2" ]; then tap_ok "$1: exits $2"; else tap_fail "$1: exits $2" "exit $rc"; fi
	if [ -z "$4" ]; then
		tap_skip "$1: as the peer" "syslog-ng is not installed"
		return
	fi
	timeout 20 sh -c "$4" >/dev/null 2>&1 </dev/null
	prc=$?
	if [ "$prc" = "$rc" ]; then tap_ok "$1: as the peer ($prc)"; else tap_fail "$1: as the peer" "peer $prc, ours $rc"; fi
}
peer() { [ -n "$SNG" ] && echo "$SNG $*"; }
peerctl() { [ -n "$SNGCTL" ] && echo "$SNGCTL $*"; }
same "a missing configuration" 1 "'$LS' --syntax-only -f '$T/nonexistent'" "$(peer --syntax-only -f "$T/nonexistent")"
same "a bad option" 1 "'$LS' --bogus" "$(peer --bogus)"
same "a configuration that does not parse" 1 "'$LS' --syntax-only -f '$T/syntax.conf'" \
	"$(peer --syntax-only -f "$T/syntax.conf")"
same "an undefined reference: refused at start-up" 2 "'$LS' -F -f '$T/ref.conf'" \
	"$(peer -F --no-caps -f "$T/ref.conf" -R "$T/persist" -c "$T/sng.ctl" -p "$T/sng.pid")"
same "logsift-ctl: no daemon at the socket" 1 "'$CTL' -c '$T/nonexistent' stats" \
	"$(peerctl stats -c "$T/nonexistent")"
same "logsift-ctl: a bad option" 1 "'$CTL' --bogus stats" "$(peerctl stats --bogus)"
same "logsift-ctl: an unknown command" 1 "'$CTL' -c '$T/nonexistent' bogus" "$(peerctl bogus -c "$T/nonexistent")"
tap_done
