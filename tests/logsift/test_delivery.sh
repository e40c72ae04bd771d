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

# failover(): a real 3.38 option (its --syntax-only takes it) that logsift
# does not implement: refused at start-up with file:line.
for opt in 'failover(servers("127.0.0.2"))'; do
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

# disk-buffer() options as 3.38 takes them: disk-buf-size() is required
# (3.38: an error at start-up), compaction() is refused, prealloc() (4.x) is
# 3.38's syntax error at the same place, truncate-size-ratio() above 1 too.
dbuf_conf() {
	printf '@version: 3.38\nsource s { unix-dgram("%s/r.sock"); };\ndestination d { network("127.0.0.1" port(9)\n    disk-buffer(%s));\n};\nlog { source(s); destination(d); };\n' "$T" "$1" >"$T/db.conf"
}
for case in 'reliable(yes)|The required .disk_buf_size(). parameter|4:5' \
	'compaction(yes) disk-buf-size(2000000)|compaction() is not supported by logsift|4:17' \
	'prealloc(yes) disk-buf-size(2000000)|syntax error, unexpected LL_IDENTIFIER|4:17-4:25' \
	'disk-buf-size(2000000) truncate-size-ratio(2)|It cannot be bigger, than 1|4:60'; do
	opt=${case%%|*} rest=${case#*|} want=${rest%%|*} at=${rest#*|}
	dbuf_conf "$opt"
	"$LS" --syntax-only -f "$T/db.conf" >"$T/db.out" 2>&1
	rc=$?
	peer=""
	if [ -n "$SNG" ] && echo "$opt" | grep -q "prealloc\|ratio"; then
		# 3.38 refuses these while parsing: the same line and column
		"$SNG" --syntax-only -f "$T/db.conf" >"$T/db.peer" 2>&1
		grep -q "db.conf:$at" "$T/db.peer" || peer="syslog-ng: $(head -n 1 "$T/db.peer")"
	fi
	if [ $rc = 1 ] && grep -q "$want" "$T/db.out" && grep -q "db.conf:$at" "$T/db.out" && [ -z "$peer" ]; then
		tap_ok "disk-buffer($opt) refused with rc 1 at db.conf:$at"
	else
		tap_fail "disk-buffer($opt) refused with rc 1 at db.conf:$at" "rc=$rc $(head -n 1 "$T/db.out") $peer"
	fi
done
dbuf_conf 'disk-buf-size(1000) reliable(yes) mem-buf-length(5)'
"$LS" --syntax-only -f "$T/db.conf" >"$T/db.out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q "smaller than the minimum allowed" "$T/db.out" && grep -q "mem-buf-length parameter was ignored" "$T/db.out"; then
	tap_ok "disk-buffer: 3.38's warnings (size raised to 1 MiB, mem-buf-length ignored when reliable)"
else
	tap_fail "disk-buffer: 3.38's warnings" "rc=$rc $(cat "$T/db.out")"
fi

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
		"counts "*) echo "# $line" ;;
		esac
	done <"$d/results"
}
export OPSKIT_BUILD
# the peer's runs do not depend on our build: once, in the unsanitized one
sanitized=$(grep -c '"name": "b_sanitize", "value": "none"' "$OPSKIT_BUILD/meson-info/intro-buildoptions.json" 2>/dev/null)
for sc in stalled-tcp fifo fifo-flow full-fs reconnect hup diskbuf-rel diskbuf-nrel; do
	run $sc ours
	if [ -z "$SNG" ]; then
		tap_skip "$sc against syslog-ng 3.38" "syslog-ng is not installed"
	elif [ "$sanitized" = 0 ]; then
		tap_skip "$sc against syslog-ng 3.38" "run in the build without sanitizers"
	else
		run $sc peer
	fi
done

# logsift-ctl stats: every counter line syslog-ng-ctl stats prints for the
# same config and messages (center, source, destination, dst.network
# dropped/processed/queued/written) is there with the same value.
if [ -n "$SNG" ] && [ "$sanitized" != 0 ]; then
	d=$(mktemp -d "$T/stats.XXXXXX")
	for who in ours peer; do
		"$PYTHON" "$OPSKIT_SOURCE/tests/logsift/delivery.py" stats $who "$d" >/dev/null 2>"$d/$who.stderr"
		sed 's/:[0-9]*;a;/:PORT;a;/' "$d/$who.stats" | sort >"$d/$who.norm"
	done
	missing=$(comm -23 "$d/peer.norm" "$d/ours.norm")
	if [ -s "$d/peer.norm" ] && [ -z "$missing" ]; then
		tap_ok "logsift-ctl stats: syslog-ng-ctl stats's lines and values ($(wc -l <"$d/peer.norm") lines)"
	else
		tap_fail "logsift-ctl stats: syslog-ng-ctl stats's lines and values" "missing or different: $missing $(cat "$d/ours.stderr")"
	fi
else
	tap_skip "logsift-ctl stats against syslog-ng-ctl stats" "peer runs only in the build without sanitizers"
fi

tap_done
