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

# conf_with WHAT OPTIONS: a network() destination with OPTIONS on line 4 in $T/o.conf
conf_with() {
	printf '@version: 3.38\nsource s { unix-dgram("%s/r.sock"); };\ndestination d { network("127.0.0.1" port(9)\n    %s);\n};\nlog { source(s); destination(d); };\n' "$T" "$1" >"$T/o.conf"
}
# refused_at OPTIONS WANT AT PEER: rc 1, WANT and o.conf:AT in our error;
# PEER=1: syslog-ng 3.38 refuses it at the same place while parsing.
refused_at() {
	conf_with "$1"
	"$LS" --syntax-only -f "$T/o.conf" >"$T/o.out" 2>&1
	rc=$?
	peer=""
	if [ -n "$SNG" ] && [ "$4" = 1 ]; then
		"$SNG" --syntax-only -f "$T/o.conf" >"$T/o.peer" 2>&1
		grep -q "o.conf:$3" "$T/o.peer" || peer="syslog-ng: $(head -n 1 "$T/o.peer")"
	fi
	if [ $rc = 1 ] && grep -q "$2" "$T/o.out" && grep -q "o.conf:$3" "$T/o.out" && [ -z "$peer" ]; then
		tap_ok "$1 refused with rc 1 at o.conf:$3"
	else
		tap_fail "$1 refused with rc 1 at o.conf:$3" "rc=$rc $(head -n 1 "$T/o.out") $peer"
	fi
}
# failover() as 3.38's grammar takes it: the same error at the same place
# for a misspelt name and a non-positive number; UDP (which cannot see a
# server go away) is refused by logsift.
refused_at 'failover(frob(1))' 'expecting KW_SERVERS' 4:14-4:18 1
refused_at 'failover(servers("127.0.0.3") failback(frob(2)))' KW_SUCCESSFUL_PROBES_REQUIRED 4:44-4:48 1
refused_at 'failover(servers("127.0.0.3") failback(tcp-probe-interval(0)))' 'Must be positive' 4:63-4:64 1
refused_at 'transport(udp) failover(servers("127.0.0.3"))' 'failover() with a UDP transport is not supported by logsift' 4:20 0
# disk-buffer() options as 3.38 takes them: disk-buf-size() is required
# (3.38: an error at start-up), compaction() is refused, prealloc() (4.x) is
# 3.38's syntax error at the same place, truncate-size-ratio() above 1 too.
refused_at 'disk-buffer(reliable(yes))' 'The required .disk_buf_size(). parameter' 4:5 0
refused_at 'disk-buffer(compaction(yes) disk-buf-size(2000000))' 'compaction() is not supported by logsift' 4:17 0
refused_at 'disk-buffer(prealloc(yes) disk-buf-size(2000000))' 'syntax error, unexpected LL_IDENTIFIER' 4:17-4:25 1
refused_at 'disk-buffer(disk-buf-size(2000000) truncate-size-ratio(2))' 'It cannot be bigger, than 1' 4:60 1
conf_with 'disk-buffer(disk-buf-size(1000) reliable(yes) mem-buf-length(5))'
"$LS" --syntax-only -f "$T/o.conf" >"$T/o.out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q "smaller than the minimum allowed" "$T/o.out" && grep -q "mem-buf-length parameter was ignored" "$T/o.out"; then
	tap_ok "disk-buffer: 3.38's warnings (size raised to 1 MiB, mem-buf-length ignored when reliable)"
else
	tap_fail "disk-buffer: 3.38's warnings" "rc=$rc $(cat "$T/o.out")"
fi
# A disk-buffer file that cannot be created: 3.38 does not start (exit 2,
# "Error initializing log queue"), so a reliable() buffer is never silently
# missing; logsift neither (the peer's exit code and message checked here
# when it is installed, the same rc and line from logsift always).
conf_with 'disk-buffer(reliable(yes) disk-buf-size(1048576) dir("/proc/no-such-dir"))'
timeout 10 "$LS" -f "$T/o.conf" >"$T/o.out" 2>&1 </dev/null
rc=$?
peer=""
if [ -n "$SNG" ]; then
	timeout 10 "$SNG" -f "$T/o.conf" --no-caps -F -e --persist-file="$T/o.persist" \
		--pidfile="$T/o.pid" --control="$T/o.ctl" >"$T/o.peer" 2>&1 </dev/null
	prc=$?
	[ $prc = 2 ] && grep -q "Error initializing log queue" "$T/o.peer" ||
		peer="syslog-ng rc=$prc: $(tail -n 2 "$T/o.peer")"
fi
if [ $rc = 2 ] && grep -q "^Error initializing log queue; destination='d'" "$T/o.out" &&
	grep -q "no-such-dir.*Error opening disk-queue file" "$T/o.out" && [ -z "$peer" ]; then
	tap_ok "disk-buffer file that cannot be created: no start-up (rc 2, the file and the reason named), as 3.38"
else
	tap_fail "disk-buffer file that cannot be created: no start-up (rc 2), as 3.38" "rc=$rc $(cat "$T/o.out") $peer"
fi
rm -f "$T/r.sock"

# run SCENARIO WHO: start delivery.py in the background, its own dir per
# run. The scenarios mostly wait (sockets, timers, a slow reader: 18.6 s of
# CPU in 74 s), so up to LOGSIFT_DELIVERY_JOBS (default 3) run at once;
# collect then turns each run's result lines into TAP, in the order started.
jobs_max=${LOGSIFT_DELIVERY_JOBS:-3}
runs=""
running=""
run() {
	d=$(mktemp -d "$T/$1.$2.XXXXXX")
	echo "$1 ($2)" >"$d/what"
	"$PYTHON" "$OPSKIT_SOURCE/tests/logsift/delivery.py" "$1" "$2" "$d" >"$d/results" 2>"$d/stderr" &
	runs="$runs $d"
	running="$running $!"
	# at most jobs_max at once: wait for the oldest
	# shellcheck disable=SC2086
	set -- $running
	if [ $# -ge "$jobs_max" ]; then
		wait "$1"
		shift
		running="$*"
	fi
}
collect() {
	wait
	for d in $runs; do
		[ -s "$d/results" ] || tap_fail "$(cat "$d/what") ran" "$(tail -n 5 "$d/stderr")"
		while IFS= read -r line; do
			case $line in
			"ok "*) tap_ok "${line#ok }" ;;
			"not ok "*) r=${line#not ok }; tap_fail "${r%% \# *}" "${r#* \# }" ;;
			"skip "*) r=${line#skip }; tap_skip "${r%%:*}" "${r#*: }" ;;
			"counts "*) echo "# $line" ;;
			esac
		done <"$d/results"
	done
	runs=""
	running=""
}
export OPSKIT_BUILD
# the peer's runs do not depend on our build: once, in the unsanitized one
sanitized=$(grep -c '"name": "b_sanitize", "value": "none"' "$OPSKIT_BUILD/meson-info/intro-buildoptions.json" 2>/dev/null)
# A reload whose new config has a disk-buffer that cannot be opened: 3.38
# does not run it ("Error initializing new configuration, reverting to old
# config", ctl: "Config reload failed, reverted to previous config", exit
# 1) and 3.38.1 then dies (iv_fd_epoll_flush_one: Bad file descriptor)
# before it answers, so its stderr and ctl exit code are checked, not its
# survival. logsift: the same words, and
# the old config still delivers. A changed dir() of a kept destination:
# 3.38's warning, the file kept.
# reload_case WHO MODE: MODE new (a new destination) or dir (dir() changed)
reload_case() {
	rd=$(mktemp -d "$T/rl.$1.$2.XXXXXX")
	mkdir "$rd/q"
	printf '@version: 3.38\noptions { stats-freq(0); };\nsource s { unix-dgram("%s/r.sock"); };\ndestination d { network("127.0.0.1" port(9)\n    disk-buffer(reliable(yes) disk-buf-size(1048576) dir("%s/q")));\n};\ndestination f { file("%s/out.log" template("$MSG\\n")); };\nlog { source(s); destination(d); };\nlog { source(s); destination(f); };\n' "$rd" "$rd" "$rd" >"$rd/c.conf"
	if [ "$1" = peer ]; then
		"$SNG" -f "$rd/c.conf" --no-caps -F -e --persist-file="$rd/persist" --pidfile="$rd/pid" \
			--control="$rd/ctl" >"$rd/err" 2>&1 &
		ctl=syslog-ng-ctl
	else
		"$LS" -f "$rd/c.conf" --control="$rd/ctl" >"$rd/err" 2>&1 &
		ctl="$LS-ctl"
	fi
	rpid=$!
	"$PYTHON" "$OPSKIT_SOURCE/tests/interop/logsift/peer.py" wait unix "$rd/r.sock"
	if [ "$2" = new ]; then
		printf 'destination d2 { network("127.0.0.2" port(9)\n    disk-buffer(reliable(yes) disk-buf-size(1048576) dir("/proc/no-such-dir")));\n};\nlog { source(s); destination(d2); };\n' >>"$rd/c.conf"
	else
		sed -i "s|dir(\"$rd/q\")|dir(\"/proc/no-such-dir\")|" "$rd/c.conf"
	fi
	timeout 10 $ctl reload -c "$rd/ctl" >"$rd/reload.out" 2>&1
	echo "rc=$?" >>"$rd/reload.out"
	echo "<13>Nov 24 05:15:55 p[1]: after" >"$rd/m"
	"$PYTHON" "$OPSKIT_SOURCE/tests/interop/logsift/peer.py" send unix-dgram "$rd/r.sock" "$rd/m" 2>/dev/null
	sleep 0.5
	kill -TERM $rpid 2>/dev/null
	wait $rpid 2>/dev/null
}
for who in ours peer; do
	[ $who = peer ] && { [ -z "$SNG" ] || [ "$sanitized" = 0 ]; } && {
		tap_skip "reload with a disk-buffer that cannot be opened ($who)" "peer runs only in the build without sanitizers, when installed"
		continue
	}
	reload_case $who new
	# the peer dies before its answer (the words are its mainloop-control.c's)
	if grep -q "^rc=1" "$rd/reload.out" &&
		grep -q "Error initializing new configuration, reverting to old config" "$rd/err" &&
		{ [ $who = peer ] || { grep -q "^Config reload failed, reverted to previous config" "$rd/reload.out" &&
			grep -q "^after$" "$rd/out.log"; }; }; then
		tap_ok "$who: reload with a new disk-buffer that cannot be opened: reverted to the old config (ctl exit 1, 3.38's words)"
	else
		tap_fail "$who: reload with a new disk-buffer that cannot be opened: reverted" "$(cat "$rd/reload.out" "$rd/err")"
	fi
	reload_case $who dir
	if grep -q "^Config reload successful" "$rd/reload.out" && grep -q "^after$" "$rd/out.log" &&
		grep -q "The disk buffer directory has changed in the configuration, but the disk queue file cannot be moved; qfile='$rd/q/" "$rd/err"; then
		tap_ok "$who: reload with dir() changed to one that cannot be used: the file kept, 3.38's warning"
	else
		tap_fail "$who: reload with dir() changed: the file kept, 3.38's warning" "$(cat "$rd/reload.out" "$rd/err")"
	fi
done

for sc in stalled-tcp fifo fifo-flow full-fs reconnect hup diskbuf-rel diskbuf-nrel diskbuf-sync failover persist program program-stall; do
	run $sc ours
	if [ -z "$SNG" ]; then
		tap_skip "$sc against syslog-ng 3.38" "syslog-ng is not installed"
	elif [ "$sanitized" = 0 ]; then
		tap_skip "$sc against syslog-ng 3.38" "run in the build without sanitizers"
	else
		run $sc peer
	fi
done

# a FIFO reader that stops until the daemon is held up by it, then reads
# on (flow control: every line once). Ours only: the stop waits for the
# destination's queued counter, which 3.38's syslog-ng-ctl does not settle
# for a pipe (the scenario then takes its 30 s fallback: 69 s a run)
run fifo-stall ours

# the same SIGKILL with syncs in flight, syslog-ng 3.38 as the receiver
if [ -n "$SNG" ] && [ "$sanitized" != 0 ]; then
	run diskbuf-sync-sng ours
else
	tap_skip "diskbuf-sync to a syslog-ng 3.38 receiver" "peer runs only in the build without sanitizers"
fi

# a damaged disk-buffer file (logsift's own format: no peer to compare)
run diskbuf-damage ours
collect

# logsift-ctl stats: every counter line syslog-ng-ctl stats prints for the
# same config and messages (center, source, destination, dst.network
# dropped/processed/queued/written) is there with the same value; the
# same after a reload (3.38 keeps source, center and destination counters).
for sc in stats reload-stats; do
	what="logsift-ctl stats"
	[ $sc = stats ] || what="logsift-ctl stats after a reload"
	if [ -n "$SNG" ] && [ "$sanitized" != 0 ]; then
		d=$(mktemp -d "$T/$sc.XXXXXX")
		for who in ours peer; do
			"$PYTHON" "$OPSKIT_SOURCE/tests/logsift/delivery.py" $sc $who "$d" >/dev/null 2>"$d/$who.stderr"
			sed 's/:[0-9]*;a;/:PORT;a;/' "$d/$who.stats" | sort >"$d/$who.norm"
		done
		missing=$(comm -23 "$d/peer.norm" "$d/ours.norm")
		if [ -s "$d/peer.norm" ] && [ -z "$missing" ]; then
			tap_ok "$what: syslog-ng-ctl stats's lines and values ($(wc -l <"$d/peer.norm") lines)"
		else
			tap_fail "$what: syslog-ng-ctl stats's lines and values" "missing or different: $missing $(cat "$d/ours.stderr")"
		fi
	else
		tap_skip "$what against syslog-ng-ctl stats" "peer runs only in the build without sanitizers"
	fi
done

tap_done
