#!/bin/sh
# test_ctl.sh: logsift-ctl against syslog-ng-ctl 3.38: the same commands
# (query list/get/--sum/--reset, stats --reset/--remove-orphans, reload)
# on the same config and datagrams, answers compared after
# delivery.py ctl-norm (ports, 3.38's hash-table order, its counters that
# logsift does not keep, its racy trailing empty line). Also syslog-ng-ctl
# talking to logsift: the same answers as logsift-ctl.
. "$OPSKIT_SOURCE/tests/tap.sh"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
DPY="$OPSKIT_SOURCE/tests/logsift/delivery.py"
T="$TAP_TMP"
export OPSKIT_BUILD
sanitized=$(grep -c '"name": "b_sanitize", "value": "none"' "$OPSKIT_BUILD/meson-info/intro-buildoptions.json" 2>/dev/null)
if ! command -v syslog-ng-ctl >/dev/null; then
	tap_skip "logsift-ctl against syslog-ng-ctl" "syslog-ng 3.38 is not installed"
	tap_done
	exit 0
fi
whos="ours"
[ "$sanitized" != 0 ] && whos="ours peer"
for who in $whos; do
	"$PYTHON" "$DPY" ctl $who "$T" >/dev/null 2>"$T/$who.stderr"
	"$PYTHON" "$DPY" ctl-norm $who "$T/$who.ctl" >"$T/$who.norm"
done
"$PYTHON" "$DPY" ctl-norm ours "$T/cross.ctl" >"$T/cross.norm"
n=$(grep -c '^== rc' "$T/ours.norm")
if [ "$n" -ge 26 ] && head -n "$(wc -l <"$T/cross.norm")" "$T/ours.norm" | cmp -s - "$T/cross.norm"; then
	tap_ok "syslog-ng-ctl talking to logsift: logsift-ctl's answers ($(grep -c '^== rc' "$T/cross.norm") commands)"
else
	tap_fail "syslog-ng-ctl talking to logsift: logsift-ctl's answers" "$(diff "$T/cross.norm" "$T/ours.norm" | head -n 20) $(cat "$T/ours.stderr")"
fi
if [ "$sanitized" = 0 ]; then
	tap_skip "logsift-ctl against syslog-ng-ctl 3.38" "peer runs only in the build without sanitizers"
elif [ "$n" -ge 26 ] && cmp -s "$T/ours.norm" "$T/peer.norm"; then
	tap_ok "logsift-ctl query/stats/reload: syslog-ng-ctl 3.38's answers and exit codes ($n commands)"
else
	tap_fail "logsift-ctl query/stats/reload: syslog-ng-ctl 3.38's answers" "$(diff "$T/ours.norm" "$T/peer.norm" | head -n 30) $(cat "$T/peer.stderr")"
fi
tap_done
