#!/bin/sh
# logsift demo: the classic filter trace on a sample message, in
# --test mode (no sockets), then --syntax-only on a broken reference.
LS="$OPSKIT_BUILD/logsift/logsift"
T="${DEMO_TMP:-/tmp}/logsift-demo"
mkdir -p "$T"
cat >"$T/logsift.conf" <<'CONF'
@version: 3.38
source s_local { unix-dgram("/run/logsift-demo.sock"); };
filter f_auth { facility(auth, authpriv); };
filter f_web_hosts { level(notice) and (host("web1") or host("web2")); };
filter f_combo { filter(f_auth) and (level(notice) or not program("cron")) and not match("debugme" value("MESSAGE")); };
destination d_auth { file("/var/log/demo-auth.log"); };
log { source(s_local); filter(f_web_hosts); destination(d_auth); };
log { source(s_local); filter(f_combo); destination(d_auth); };
CONF
echo "== logsift --test -f logsift.conf (classic trace, nothing written)"
printf '<85>sshd2[382]: Public key /root/.ssh/ used.\n' | "$LS" --test -f "$T/logsift.conf"
echo "== the same with --trace=explain (raw results, values, locations)"
printf '<85>sshd2[382]: Public key /root/.ssh/ used.\n' | "$LS" --test --trace=explain -f "$T/logsift.conf" | grep "function='match'"
printf '@version: 3.38\nsource s { unix-dgram("x"); };\nlog { source(s); filter(f_nothere); };\n' >"$T/bad.conf"
echo "== logsift --syntax-only on a config with an undefined filter"
"$LS" --syntax-only -f "$T/bad.conf"
echo "exit status $?"

# ---- a small fleet, when Debian's rabbitmq-server is installed: two relays
# (logsift, amqp() with a reliable disk buffer) -> RabbitMQ -> one consumer
. "$OPSKIT_SOURCE/tests/interop/logsift/broker.sh"
echo "== fleet: 2 logsift relays -> RabbitMQ (private node) -> a consumer"
PEER="/usr/bin/python3 $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
AMQP="/usr/bin/python3 $OPSKIT_SOURCE/tests/interop/logsift/amqp.py"
if ! broker_start "$T/broker"; then
	echo "(skipped: $BROKER_WHY)"
	broker_stop
	exit 0
fi
pids=
$AMQP setup "$BROKER_PORT" logs:central
for r in relay1 relay2; do
	p=$($PEER freeport)
	mkdir -p "$T/$r.dq"
	cat >"$T/$r.conf" <<CONF
@version: 3.38
options { keep-hostname(yes); };
source s_net { network(ip("127.0.0.1") port($p) transport("tcp")); };
destination d_central { amqp(port($BROKER_PORT) exchange("logs") username("guest") password("guest")
	routing-key("$r.\$PROGRAM") body("\$ISODATE \$HOST \$PROGRAM: \$MSG")
	disk-buffer(reliable(yes) disk-buf-size(1048576) dir("$T/$r.dq"))); };
log { source(s_net); destination(d_central); flags(flow-control); };
CONF
	"$LS" -f "$T/$r.conf" -e 2>"$T/$r.err" &
	pids="$pids $!"
	$PEER wait tcp "$p"
	printf '<13>Dec  7 01:00:00 web-%s nginx[7]: GET / 200\n<86>Dec  7 01:00:01 web-%s sshd[9]: accepted key\n' \
		"$r" "$r" >"$T/$r.msgs"
	$PEER send tcp "$p" "$T/$r.msgs"
done
$AMQP consume "$BROKER_PORT" 10 "central:$T/got:4"
/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): m = json.loads(l); print("  %-14s %s" % (m["rk"], m["body"]))' "$T/got" | sort
kill $pids
wait $pids 2>/dev/null
broker_stop
