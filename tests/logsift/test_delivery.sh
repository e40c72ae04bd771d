#!/bin/sh
# test_delivery.sh: the output pipeline (queues, partial writes, flow
# control, reconnect, reload) against the real syslog-ng 3.38 and loggen
# where a peer decides, with tests/logsift/delivery.py as the harness.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
[ -x "$SNG" ] || SNG=""
T="$TAP_TMP"

# disk-buffer() and failover(): real 3.38 options (its --syntax-only takes
# them) that logsift does not implement: refused at start-up with file:line.
for opt in 'disk-buffer(reliable(yes) disk-buf-size(1048576))' 'failover(servers("127.0.0.2"))'; do
	name=${opt%%(*}
	cat >"$T/r.conf" <<CONF
@version: 3.38
source s { unix-dgram("$T/r.sock"); };
destination d { network("127.0.0.1" port(9)
    $opt);
};
log { source(s); destination(d); };
CONF
	if [ -n "$SNG" ] && ! "$SNG" --syntax-only -f "$T/r.conf" >/dev/null 2>&1; then
		tap_fail "$name() is a syslog-ng 3.38 option" "$("$SNG" --syntax-only -f "$T/r.conf" 2>&1)"
	fi
	"$LS" -f "$T/r.conf" -F >"$T/r.out" 2>&1 </dev/null
	rc=$?
	if [ $rc = 1 ] && head -n 1 "$T/r.out" | grep -q "$name() is not supported by logsift in $T/r.conf:4:5"; then
		tap_ok "$name() is refused at start-up with file:line"
	else
		tap_fail "$name() is refused at start-up with file:line" "rc=$rc $(head -n 3 "$T/r.out")"
	fi
done

# run SCENARIO WHO: delivery.py's result lines as TAP (own dir per run)
run() {
	d=$(mktemp -d "$T/$1.$2.XXXXXX")
	"$PYTHON" "$OPSKIT_SOURCE/tests/logsift/delivery.py" "$1" "$2" "$d" >"$d/results" 2>"$d/stderr"
	[ -s "$d/results" ] || tap_fail "$1 ($2) ran" "$(tail -n 5 "$d/stderr")"
	while IFS= read -r line; do
		case $line in
		"ok "*) tap_ok "${line#ok }" ;;
		"not ok "*) r=${line#not ok }; tap_fail "${r%% \# *}" "${r#* \# }" ;;
		"skip "*) r=${line#skip }; tap_skip "${r%%:*}" "${r#*: }" ;;
		esac
	done <"$d/results"
}
export OPSKIT_BUILD
for sc in stalled-tcp fifo fifo-flow full-fs hup; do
	run $sc ours
	if [ -n "$SNG" ]; then
		run $sc peer
	else
		tap_skip "$sc against syslog-ng 3.38" "syslog-ng is not installed"
	fi
done

tap_done
