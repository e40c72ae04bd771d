#!/bin/sh
# test_amqp.sh: the amqp() destination against a real RabbitMQ (Debian's
# rabbitmq-server, a private node started here: broker.sh) and the real
# syslog-ng 3.38 amqp() (syslog-ng-mod-amqp). One broker for all cases
# (its start is the slow part).
#
#  publish-*   the same messages through the same two amqp() destinations
#              (3.38's defaults; routing-key, body, persistent(no) and a
#              value-pairs() without MESSAGE, with key()-named macros;
#              frame-size(4096) with a body of three frames) of logsift
#              and of syslog-ng, each into its own exchange and queue:
#              routing keys, content types,
#              delivery modes, headers (names, values, order) and bodies
#              taken off the queues by python3-pika are identical
#  stats       during publish-*: syslog-ng-ctl stats' dst.amqp counters
#              (dropped, processed, queued, written) of both daemons
#  restart     loggen-like numbered messages over TCP with flow control and
#              disk-buffer(reliable(yes)) while the broker is stopped for
#              10 s and started again (rabbitmqctl stop_app/start_app): none lost,
#              duplicates at most the unconfirmed window (1000)
#  cut         the same through a TCP proxy that is killed and restarted
#              (a network cut): none lost, duplicates bounded
#  stall       a listener that accepts and never answers: the bounded
#              open lets a file() destination of the same source get
#              every message, and the login timeout is said
#  refuse-*    what logsift does not do is refused at start-up with file:line
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/logsift/broker.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
PY=/usr/bin/python3
PEER="$PY $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
AMQP="$PY $OPSKIT_SOURCE/tests/interop/logsift/amqp.py"
SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
T="$TAP_TMP"
CASES="stall stats publish-defaults publish-options tls tls-verify restart cut"
RUNNING=
stop_all() {
	for p in $RUNNING; do kill "$p" 2>/dev/null; done
	for p in $RUNNING; do wait "$p" 2>/dev/null; done
	RUNNING=
}
# certificates for the broker's TLS listener: ca signs srv (127.0.0.1);
# rogue is a CA the broker's certificate does not come from
if command -v openssl >/dev/null; then
	for ca in ca rogue; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$T/$ca.key" -out "$T/$ca.crt" -subj "/CN=amqp test $ca" -days 2 2>/dev/null
	done
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/srv.key" \
		-out "$T/srv.csr" -subj "/CN=localhost" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/srv.ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
		-out "$T/srv.crt" -days 2 -extfile "$T/srv.ext" 2>/dev/null
	TLS_PORT=$($PEER freeport)
	BROKER_CONF="listeners.ssl.1 = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $T/ca.crt
ssl_options.certfile = $T/srv.crt
ssl_options.keyfile = $T/srv.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false"
fi
# the broker boots (slow) while the refusals run
broker_launch "$T/broker"
trap 'broker_stop; stop_all; rm -rf "$TAP_TMP"' EXIT

# ---- refusals need no broker
refuse() { # name expected-substring amqp-options
	printf '@version: 3.38\nsource s { tcp(ip("127.0.0.1") port(1)); };\ndestination d {\n  amqp(%s);\n};\nlog { source(s); destination(d); };\n' "$3" >"$T/r.conf"
	"$LS" --syntax-only -f "$T/r.conf" >"$T/r.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q "$2" "$T/r.out" && grep -q "r.conf:4" "$T/r.out"; then
		tap_ok "refuse $1"
	else
		tap_fail "refuse $1" "rc $rc: $(cat "$T/r.out")"
	fi
}
U='username("guest") password("guest")'
refuse retries "retries() is not supported by logsift" "$U retries(3)"
refuse throttle "throttle() is not supported by logsift" "$U throttle(10)"
: >"$T/x.crt" && : >"$T/x.key" # there (3.38's path_check), so the TLS rule speaks
refuse cleartext-tls "cleartext" "$U cert-file(\"$T/x.crt\") key-file(\"$T/x.key\")"
refuse missing-cert "File \"$T/none.crt\" not found" "$U ca-file(\"$T/x.crt\") cert-file(\"$T/none.crt\") key-file(\"$T/x.key\")"
refuse no-password "username and password MUST be set" 'username("guest")'
refuse auth-method "unknown auth-method() argument" "$U auth-method(\"kerberos\")"
refuse vp-rekey "not supported by logsift" "$U value-pairs(scope(rfc5424) rekey(shift(1)))"
refuse vp-macro "macro HOUR12 is not supported by logsift" "$U value-pairs(key(\"HOUR1*\"))"
refuse vp-comma "a glob with a comma" "$U value-pairs(key(\"a,b\"))"
refuse template "syntax error" "$U template(\"\$MSG\")"

if ! broker_wait; then
	for c in $CASES; do tap_skip "amqp $c" "no RabbitMQ here: $BROKER_WHY"; done
	tap_done
fi

# ---- publish: the same messages through logsift and syslog-ng 3.38
PT=$($PEER freeport)
PS=$($PEER freeport)
conf() { # who tcp-port syslog-port
	cat <<EOF
@version: 3.38
options { use-dns(no); stats-freq(0); time-reopen(1); };
source s_tcp { network(ip("127.0.0.1") port($2) transport("tcp")); };
source s_5424 { network(ip("127.0.0.1") port($3) transport("tcp") flags(syslog-protocol)); };
destination d_a { amqp(port($BROKER_PORT) exchange("ex_a_$1") username("guest") password("guest")); };
destination d_b { amqp(host("127.0.0.1") port($BROKER_PORT) vhost("/") exchange("ex_b_$1")
	username("guest") password("guest") persistent(no) frame-size(4096)
	routing-key("\$PROGRAM.\$LEVEL") body("\$ISODATE \$HOST \$MSGHDR\$MSG")
	value-pairs(scope(rfc5424 nv-pairs) key(".SDATA.*") exclude("HOST_FROM") exclude("LEGACY*") exclude("MESSAGE")
		key("PRI") key("LEVEL*")
		pair("relay" "\$HOST/\$PID") pair("PROGRAM" "p-\$PROGRAM"))); };
log { source(s_tcp); source(s_5424); destination(d_a); destination(d_b); };
EOF
}
$AMQP setup "$BROKER_PORT" ex_a_ls:q_a_ls ex_b_ls:q_b_ls ex_a_sng:q_a_sng ex_b_sng:q_b_sng
printf '%s\n' '<13>Dec  6 10:15:55 web1 app[1]: login user=alice' \
	'<85>Dec  6 10:15:56 web2 sshd[382]: Public key /root/.ssh/ used.' \
	'<14>Dec  6 10:15:57 web1 app[2]: utf-8 \xc3\xa9t\xc3\xa9 and a longer body ........................' \
	'<11>Dec  6 10:15:58 db1 kernel: no pid here' \
	'<165>Dec  6 10:15:59 db1 cron[77]: quote '"'"' and "double" and \\ backslash' >"$T/m3164"
# a body of three frames at frame-size(4096)
printf '<13>Dec  6 10:16:00 web1 app[3]: long %s\n' "$(head -c 9000 /dev/zero | tr '\0' x)" >>"$T/m3164"
printf '%s\n' '<165>1 2026-12-06T10:16:00.123+02:00 mymachine.example.com evntslog 99 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event' \
	'<34>1 2026-12-06T10:16:01Z host5 su - ID48 - su root failed on /dev/pts/8' \
	'<13>1 2026-12-06T10:16:02.5-05:00 h6 prog 1 - [a@1 x="y\\"z"][b@2 k="v"] \xef\xbb\xbfbom message' >"$T/m5424"
N3=6
N5=3
# ---- stall: a "broker" that accepts and never answers holds the event
# loop only for the bounded open (design note 5 of dest_amqp.c): a file()
# destination of the same source gets every message meanwhile
stall_case() {
	rm -f "$T/stall.port"
	$PY -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)
open('$T/stall.port', 'w').write(str(s.getsockname()[1]))
held = []
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
" &
	RUNNING="$RUNNING $!"
	i=0
	while [ ! -s "$T/stall.port" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	P=$($PEER freeport)
	cat >"$T/stall.conf" <<EOF
@version: 3.38
options { use-dns(no); stats-freq(0); time-reopen(1); };
source s { network(ip("127.0.0.1") port($P) transport("tcp")); };
destination d_mq { amqp(port($(cat "$T/stall.port")) username("guest") password("guest")); };
destination d_f { file("$T/stall.out"); };
log { source(s); destination(d_mq); };
log { source(s); destination(d_f); };
EOF
	"$LS" -f "$T/stall.conf" -e >"$T/stall.log" 2>&1 &
	RUNNING="$RUNNING $!"
	$PEER wait tcp "$P"
	$PEER send tcp "$P" "$T/m3164"
	i=0
	while [ "$(wc -l 2>/dev/null <"$T/stall.out" || echo 0)" -lt "$N3" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	while ! grep -q "Error during AMQP login" "$T/stall.log" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	stop_all
	n=$(wc -l 2>/dev/null <"$T/stall.out" || echo 0)
	if [ "$n" -ne "$N3" ]; then
		tap_fail "amqp stall" "file() got $n of $N3 while amqp() was stuck: $(cat "$T/stall.log")"
	elif ! grep -q "Error during AMQP login" "$T/stall.log"; then
		tap_fail "amqp stall" "no login timeout said: $(cat "$T/stall.log")"
	else
		tap_ok "amqp stall"
	fi
}

stall_case

start_side() { # who tcp-port syslog-port
	conf "$1" "$2" "$3" >"$T/$1.conf"
	if [ "$1" = ls ]; then
		"$LS" -f "$T/$1.conf" -e --control "$T/$1.ctl" >"$T/$1.out" 2>&1 &
	else
		"$SNG" -f "$T/$1.conf" --no-caps -F -e --persist-file="$T/$1.persist" \
			--pidfile="$T/$1.pid" --control="$T/$1.ctl" >"$T/$1.out" 2>&1 &
	fi
	RUNNING="$RUNNING $!"
}
if [ ! -x "$SNG" ] || [ ! -e /usr/lib/syslog-ng/3.38/libafamqp.so ]; then
	tap_skip "amqp publish-defaults" "syslog-ng 3.38's amqp() (syslog-ng-mod-amqp) is not installed"
	tap_skip "amqp publish-options" "syslog-ng 3.38's amqp() (syslog-ng-mod-amqp) is not installed"
	tap_skip "amqp stats" "syslog-ng 3.38's amqp() (syslog-ng-mod-amqp) is not installed"
else
	# both daemons at once, each on its own ports, exchanges and queues;
	# the RFC 5424 group only after the first is out (one order on both)
	PT2=$($PEER freeport)
	PS2=$($PEER freeport)
	start_side sng "$PT" "$PS"
	start_side ls "$PT2" "$PS2"
	for p in $PT $PS $PT2 $PS2; do $PEER wait tcp $p; done
	$PEER send tcp "$PT" "$T/m3164"
	$PEER send tcp "$PT2" "$T/m3164"
	$AMQP consume "$BROKER_PORT" 20 "q_a_sng:$T/sng.a:$N3" "q_b_sng:$T/sng.b:$N3" \
		"q_a_ls:$T/ls.a:$N3" "q_b_ls:$T/ls.b:$N3"
	$PEER send tcp "$PS" "$T/m5424"
	$PEER send tcp "$PS2" "$T/m5424"
	$AMQP consume "$BROKER_PORT" 20 "q_a_sng:$T/sng.a2:$N5" "q_b_sng:$T/sng.b2:$N5" \
		"q_a_ls:$T/ls.a2:$N5" "q_b_ls:$T/ls.b2:$N5"
	# the drivers' counters as syslog-ng-ctl stats prints them (exchange
	# names made one; our written counts confirms, which may trail the
	# consumer a little: asked again until they agree or 10 s pass)
	i=0
	while [ $i -lt 20 ]; do
		for w in sng ls; do
			syslog-ng-ctl stats -c "$T/$w.ctl" 2>&1 | grep '^dst\.amqp;' |
				sed 's/_\(ls\|sng\),/_X,/' | sort >"$T/$w.stats"
		done
		[ -s "$T/sng.stats" ] && cmp -s "$T/sng.stats" "$T/ls.stats" && break
		sleep 0.5
		i=$((i + 1))
	done
	if [ -s "$T/sng.stats" ] && cmp -s "$T/sng.stats" "$T/ls.stats"; then
		tap_ok "amqp stats ($(wc -l <"$T/ls.stats") dst.amqp counters)"
	else
		tap_fail "amqp stats" "$(diff "$T/sng.stats" "$T/ls.stats")"
	fi
	stop_all
	for k in a b; do
		cat "$T/sng.${k}2" >>"$T/sng.$k"
		cat "$T/ls.${k}2" >>"$T/ls.$k"
		name=defaults
		[ $k = b ] && name=options
		n=$(wc -l <"$T/sng.$k")
		if [ "$n" -ne $((N3 + N5)) ]; then
			tap_fail "amqp publish-$name" "syslog-ng 3.38 published $n of $((N3 + N5)): $(cat "$T/sng.out")"
		elif cmp -s "$T/sng.$k" "$T/ls.$k"; then
			tap_ok "amqp publish-$name"
		else
			tap_fail "amqp publish-$name" "$(diff -u "$T/sng.$k" "$T/ls.$k" | head -n 40; cat "$T/ls.out")"
		fi
	done
fi

# ---- TLS: ca-file() makes it TLS (3.38: TLS when ca-file is set); the
# broker's certificate from another CA is refused (nothing delivered)
tls_case() { # name ca-file expected-count
	P=$($PEER freeport)
	cat >"$T/$1.conf" <<EOF
@version: 3.38
options { use-dns(no); stats-freq(0); time-reopen(1); };
source s { network(ip("127.0.0.1") port($P) transport("tcp")); };
destination d { amqp(host("localhost") port($TLS_PORT) exchange("ex_$1") username("guest")
	password("guest") body("\$MSG") ca-file("$2") peer-verify(yes)); };
log { source(s); destination(d); };
EOF
	"$LS" -f "$T/$1.conf" -e >"$T/$1.out" 2>&1 &
	RUNNING="$RUNNING $!"
	$PEER wait tcp "$P"
	$PEER send tcp "$P" "$T/m3164"
	idle=20
	if [ "$3" = 0 ]; then
		idle=1
		# refused: wait for logsift to say so, then look at the queue
		i=0
		while ! grep -q "Error connecting" "$T/$1.out" && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	$AMQP consume "$BROKER_PORT" $idle "q_$1:$T/$1.got:$N3"
	stop_all
	n=$(wc -l <"$T/$1.got")
	if [ "$n" -ne "$3" ]; then
		tap_fail "amqp $1" "$n messages, expected $3: $(cat "$T/$1.out")"
	elif [ "$3" = 0 ] && ! grep -q "Error connecting to AMQP server" "$T/$1.out"; then
		tap_fail "amqp $1" "no connection error said: $(cat "$T/$1.out")"
	else
		tap_ok "amqp $1"
	fi
}
if [ -z "${TLS_PORT:-}" ]; then
	tap_skip "amqp tls" "openssl is not installed"
	tap_skip "amqp tls-verify" "openssl is not installed"
else
	$AMQP setup "$BROKER_PORT" ex_tls:q_tls ex_tls-verify:q_tls-verify
	tls_case tls "$T/ca.crt" "$N3"
	tls_case tls-verify "$T/rogue.crt" 0
fi

# ---- restart and cut: numbered messages, reliable disk buffer, flow control
N=${AMQP_FAULT_N:-2000}
fault() { # name target-port: logsift and a sender that stops halfway
	P=$($PEER freeport)
	$AMQP setup "$BROKER_PORT" "ex_$1:q_$1"
	mkdir -p "$T/dq_$1" "$T/go_$1"
	cat >"$T/$1.conf" <<EOF
@version: 3.38
options { use-dns(no); stats-freq(0); time-reopen(1); };
source s { network(ip("127.0.0.1") port($P) transport("tcp")); };
destination d { amqp(port($2) exchange("ex_$1") username("guest") password("guest")
	body("\$MSG") disk-buffer(reliable(yes) disk-buf-size(10485760) dir("$T/dq_$1"))); };
log { source(s); destination(d); flags(flow-control); };
EOF
	"$LS" -f "$T/$1.conf" -e >"$T/$1.out" 2>&1 &
	RUNNING="$RUNNING $!"
	$PEER wait tcp "$P" || return 1
	$AMQP send "$P" "$N" "$T/go_$1" &
	SENDER=$!
	i=0
	while [ ! -e "$T/go_$1/half" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
}
fault_check() { # name: all of them came, the fault was seen, duplicates bounded
	$AMQP consume-seq "$BROKER_PORT" "q_$1" "$T/$1.got" "$N" 30
	wait "$SENDER"
	stop_all
	r=$($AMQP seqcheck "$T/$1.got" "$N")
	dup=${r#*dup=}
	if ! grep -q "recovered" "$T/$1.out"; then
		tap_fail "amqp $1" "logsift never lost the broker: $(cat "$T/$1.out")"
	elif [ "${r%% *}" != lost=0 ] || [ "$dup" -gt 1000 ]; then
		tap_fail "amqp $1" "$r (window 1000); $(tail -n 5 "$T/$1.out")"
	else
		tap_ok "amqp $1 ($r of $N)"
	fi
}

# restart: the broker's application stops halfway, the rest of the
# messages arrive while it is down, then it starts again
fault restart "$BROKER_PORT"
broker_app stop
touch "$T/go_restart/go"
sleep 10 # the acceptance's outage: the second half waits in the disk buffer
broker_app start
fault_check restart

# cut: a proxy between logsift and the broker dies halfway, comes back
PP=$($PEER freeport)
$PEER proxy "$T/proxy.port" "$BROKER_PORT" /dev/null "$PP" &
PROXY=$!
$PEER wait tcp "$PP"
fault cut "$PP"
kill "$PROXY"
wait "$PROXY" 2>/dev/null
touch "$T/go_cut/go"
sleep 2
$PEER proxy "$T/proxy.port" "$BROKER_PORT" /dev/null "$PP" &
RUNNING="$RUNNING $!"
fault_check cut
tap_done
