#!/bin/sh
# test_daemon.sh: the daemon's reliability promises, no peer needed:
# a destination that cannot be opened is reported and retried without losing
# messages; SIGUSR1 prints counters; SIGHUP reloads (and keeps the old config
# when the new one is bad); UDP overflow drops are counted, never silent;
# TCP from loggen loses nothing (count and sequence numbers).
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
# the system python (a pyenv shim costs most of a second a call)
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
PY="$PYTHON $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
T="$TAP_TMP"

start() { # conf, extra args
	"$LS" -f "$1" $2 >"$T/daemon.out" 2>"$T/daemon.err" &
	PID=$!
}
stop() {
	kill -TERM $PID
	wait $PID
}
sendmsgs() { # kind target n prefix
	i=1
	: >"$T/msgs"
	while [ $i -le "$3" ]; do
		echo "<13>Nov 24 05:15:55 p[$i]: $4 $i" >>"$T/msgs"
		i=$((i + 1))
	done
	$PY send "$1" "$2" "$T/msgs"
}

cat >"$T/a.conf" <<CONF
@version: 3.38
options { stats-freq(0); time-reopen(1); };
source s { unix-dgram("$T/in.sock"); };
destination d { file("$T/missing/out.log" template("\$MSG\n")); };
log { source(s); destination(d); };
CONF
start "$T/a.conf" --stats
$PY wait unix "$T/in.sock"
sendmsgs unix-dgram "$T/in.sock" 3 early
sleep 0.3
if grep -q "Error opening file for writing; filename='$T/missing/out.log'" "$T/daemon.err"; then
	tap_ok "a failing destination is reported"
else
	tap_fail "a failing destination is reported" "$(cat "$T/daemon.err")"
fi
mkdir "$T/missing"
sleep 1.2
sendmsgs unix-dgram "$T/in.sock" 2 late
sleep 0.3
kill -USR1 $PID
sleep 0.3
if grep -q "^source;s;received=5;dropped=0;delivered=5" "$T/daemon.err" && grep -q "^destination;d;written=5" "$T/daemon.err"; then
	tap_ok "SIGUSR1 prints received, delivered and written counts"
else
	tap_fail "SIGUSR1 prints received, delivered and written counts" "$(cat "$T/daemon.err")"
fi
stop
testcmd "messages buffered while the destination failed are written after it recovers" \
	"cat $T/missing/out.log" "early 1
early 2
early 3
late 1
late 2
" ""

# SIGHUP: a good new config replaces the old; a bad one is reported and kept out.
cat >"$T/h.conf" <<CONF
@version: 3.38
source s { unix-dgram("$T/h.sock"); };
destination d { file("$T/h1.log" template("\$MSG\n")); };
log { source(s); destination(d); };
CONF
start "$T/h.conf"
$PY wait unix "$T/h.sock"
sendmsgs unix-dgram "$T/h.sock" 1 first
sleep 0.2
sed -i "s|h1.log|h2.log|" "$T/h.conf"
kill -HUP $PID
sleep 0.5
sendmsgs unix-dgram "$T/h.sock" 1 second
sleep 0.2
printf '@version: 3.38\nlog { source(nothere); };\n' >"$T/h.conf"
kill -HUP $PID
sleep 0.5
sendmsgs unix-dgram "$T/h.sock" 1 third
sleep 0.2
stop
testcmd "SIGHUP reloads the configuration" "cat $T/h1.log $T/h2.log" "first 1
second 1
third 1
" ""
if grep -q "Error reloading configuration, keeping the old one" "$T/daemon.err"; then
	tap_ok "SIGHUP with a bad configuration keeps the old one and says so"
else
	tap_fail "SIGHUP with a bad configuration keeps the old one and says so" "$(cat "$T/daemon.err")"
fi

# UDP overflow: stop the daemon, flood its socket, resume: every datagram is
# either received or counted as dropped.
P=$($PY freeport)
cat >"$T/u.conf" <<CONF
@version: 3.38
options { use-dns(no); };
source s { udp(ip("127.0.0.1") port($P)); tcp(ip("127.0.0.1") port($P)); };
destination d { file("$T/u.log" template("\$MSG\n")); };
log { source(s); destination(d); };
CONF
start "$T/u.conf" --stats
$PY wait tcp "$P"
kill -STOP $PID
"$PYTHON" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20000):
    s.sendto(b'<13>Nov 24 05:15:55 h p: flood %d' % i + b' ' * 200, ('127.0.0.1', $P))
"
kill -CONT $PID
sleep 1
stop
line=$(grep "^source;s;" "$T/daemon.err")
rcv=$(echo "$line" | sed 's/.*received=\([0-9]*\).*/\1/')
drp=$(echo "$line" | sed 's/.*dropped=\([0-9]*\).*/\1/')
if [ -n "$rcv" ] && [ $((rcv + drp)) = 20000 ] && [ "$drp" -gt 0 ] && [ "$(wc -l <"$T/u.log")" = "$rcv" ]; then
	tap_ok "UDP overflow: received $rcv + dropped $drp = 20000 sent"
else
	tap_fail "UDP overflow: received + dropped = sent" "$line; file has $(wc -l <"$T/u.log") lines"
fi

# internal(): our own start-up and shutdown messages, as syslog-ng logs its own
cat >"$T/i.conf" <<CONF
@version: 3.38
source s { internal(); unix-dgram("$T/i.sock"); };
destination d { file("$T/i.log" template("\$FACILITY.\$LEVEL \$PROGRAM \$MSG\n")); };
log { source(s); destination(d); };
CONF
start "$T/i.conf"
$PY wait unix "$T/i.sock"
stop
testcmd "internal() carries start-up and shutdown messages" "cat $T/i.log" \
"syslog.notice logsift logsift starting up; version='0.1.0'
syslog.notice logsift logsift shutting down; version='0.1.0'
" ""

LOGGEN=$(command -v loggen)
if [ -n "$LOGGEN" ]; then
	P=$($PY freeport)
	sed -e "s|port([0-9]*)|port($P)|g" -e "s|u.log|t.log|" "$T/u.conf" >"$T/t.conf"
	start "$T/t.conf"
	$PY wait tcp "$P"
	"$LOGGEN" -S -r 1000000 -I 100 -n 100000 -s 256 127.0.0.1 "$P" >/dev/null 2>&1
	sleep 0.5
	stop
	# loggen numbers its messages "seq: 0000000000" upwards: all, in order
	res=$(awk '{ if (match($0, /seq: [0-9]+/)) { s = substr($0, RSTART + 5, RLENGTH - 5) + 0; if (s != n) bad++; n++ } } END { print n + 0, bad + 0 }' "$T/t.log")
	if [ "$res" = "100000 0" ]; then
		tap_ok "TCP from loggen: 100000 messages written, in order, none lost"
	else
		tap_fail "TCP from loggen: 100000 messages written, in order" "count, out of order: $res"
	fi
else
	tap_skip "TCP from loggen: no loss" "loggen (syslog-ng-core) is not installed"
fi
tap_done
