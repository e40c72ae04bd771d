#!/bin/sh
# test_tls.sh: TLS against the real syslog-ng 3.38, both directions, with
# certificates made here by openssl req: logsift's network()/syslog()
# (RFC 5425 octet framing) TLS destinations into syslog-ng's TLS sources,
# and syslog-ng's TLS destinations into logsift's TLS sources. The messages
# each side received must equal what the sender wrote to a local file with
# the same template. Peer verification failures are refused on both sides
# (logsift's error names the certificate, the peer and the reason), a
# byte-logging proxy between logsift and syslog-ng sees no plaintext, and a
# config asking for TLS that logsift cannot honour stops at start-up with
# file:line.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
PY="$PYTHON $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
T="$TAP_TMP"
if [ ! -x "$SNG" ] || ! command -v openssl >/dev/null; then
	for c in to-peer from-peer verify capture startup; do
		tap_skip "tls $c" "syslog-ng (syslog-ng-core) or openssl is not installed"
	done
	tap_done
fi

# ---- certificates: ca signs srv (127.0.0.1) and cli; rogue signs evil
cert() { # name subject-cn signer
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/$1.key" \
		-out "$T/$1.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial \
		-out "$T/$1.crt" -days 2 -extfile "$T/$1.ext" 2>/dev/null
}
for ca in ca rogue; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/$ca.key" \
		-out "$T/$ca.crt" -subj "/CN=logsift test $ca" -days 2 2>/dev/null
done
cert srv localhost ca
cert cli client ca
cert evil evil rogue

tls() { # key cert ca [peer-verify]
	echo "tls(key-file(\"$T/$1.key\") cert-file(\"$T/$2.crt\") ca-file(\"$T/$3.crt\") peer-verify(${4:-required-trusted}))"
}
TMPL='template("$FACILITY.$LEVEL $HOST $PROGRAM[$PID]: $MSG\n")'
printf '%s\n' '<13>Nov 24 05:15:55 app[1]: login user=alice password=hunter2-secret' \
	'<85>sshd[382]: Public key /root/.ssh/ used.' \
	'<14>Nov 24 05:15:56 app[2]: utf-8 \xc3\xa9t\xc3\xa9 and a longer body ..................................................' \
	'<11>app[3]: third' >"$T/msgs"

start_peer() { # conf dir
	"$SNG" -f "$1" --no-caps -F -e --persist-file="$2.persist" --pidfile="$2.pid" \
		--control="$2.ctl" >"$2.err" 2>&1 &
	echo $! >"$2.run"
}
start_ours() { # conf dir
	"$LS" -f "$1" -e >"$2.out" 2>"$2.err" &
	echo $! >"$2.run"
}
stop() { # dir...
	for d in "$@"; do
		kill -TERM "$(cat "$d.run")" 2>/dev/null
		wait "$(cat "$d.run")" 2>/dev/null
	done
}
same() { # name file-a file-b
	if [ -s "$2" ] && cmp -s "$2" "$3"; then
		tap_ok "$1 ($(wc -l <"$2") messages identical)"
	else
		tap_fail "$1" "$(diff "$2" "$3" 2>&1 | head -n 10)"
	fi
}

# ---- logsift -> syslog-ng: network() through a byte-logging proxy, syslog()
P1=$($PY freeport)
P2=$($PY freeport)
cat >"$T/a.peer.conf" <<CONF
@version: 3.38
options { use-dns(no); keep-hostname(yes); stats-freq(0); };
source s_net { network(ip("127.0.0.1") port($P1) transport("tls") $(tls srv srv ca)); };
source s_5425 { syslog(ip("127.0.0.1") port($P2) transport("tls") $(tls srv srv ca)); };
destination d_net { file("$T/a.net.log" $TMPL); };
destination d_5425 { file("$T/a.5425.log" $TMPL); };
log { source(s_net); destination(d_net); };
log { source(s_5425); destination(d_5425); };
CONF
start_peer "$T/a.peer.conf" "$T/a.peer"
$PY wait tcp "$P1"
$PY proxy "$T/proxy.port" "$P1" "$T/capture" &
PROXY=$!
trap 'kill $PROXY 2>/dev/null; rm -rf "$TAP_TMP"' EXIT
$PY wait unix "$T/proxy.port"
cat >"$T/a.ours.conf" <<CONF
@version: 3.38
source s { unix-dgram("$T/a.sock"); };
destination d_net { network("127.0.0.1" port($(cat "$T/proxy.port")) transport("tls") $(tls cli cli ca)); };
destination d_5425 { syslog("127.0.0.1" port($P2) transport("tls") $(tls cli cli ca)); };
destination d_local { file("$T/a.sent.log" $TMPL); };
log { source(s); destination(d_net); destination(d_5425); destination(d_local); };
CONF
start_ours "$T/a.ours.conf" "$T/a.ours"
$PY wait unix "$T/a.sock"
$PY send unix-dgram "$T/a.sock" "$T/msgs"
sleep 1
stop "$T/a.ours" "$T/a.peer"
same "tls to-peer: logsift network() TLS -> syslog-ng 3.38" "$T/a.sent.log" "$T/a.net.log"
same "tls to-peer: logsift syslog() RFC 5425 TLS -> syslog-ng 3.38" "$T/a.sent.log" "$T/a.5425.log"
if [ -s "$T/capture" ] && ! grep -q "hunter2\|Public key\|sshd" "$T/capture" &&
	[ "$(od -An -tx1 -N1 "$T/capture" | tr -d ' ')" = 16 ]; then
	tap_ok "tls capture: $(wc -c <"$T/capture") bytes on the wire, a TLS handshake first, no plaintext"
else
	tap_fail "tls capture: no plaintext on the wire" "$(od -c "$T/capture" | head -n 5)"
fi

# ---- syslog-ng -> logsift
cat >"$T/b.ours.conf" <<CONF
@version: 3.38
options { use-dns(no); keep-hostname(yes); };
source s_net { network(ip("127.0.0.1") port($P1) transport("tls") $(tls srv srv ca)); };
source s_5425 { syslog(ip("127.0.0.1") port($P2) transport("tls") $(tls srv srv ca)); };
destination d_net { file("$T/b.net.log" $TMPL); };
destination d_5425 { file("$T/b.5425.log" $TMPL); };
log { source(s_net); destination(d_net); };
log { source(s_5425); destination(d_5425); };
CONF
start_ours "$T/b.ours.conf" "$T/b.ours"
$PY wait tcp "$P1"
cat >"$T/b.peer.conf" <<CONF
@version: 3.38
options { stats-freq(0); };
source s { unix-dgram("$T/b.sock"); };
destination d_net { network("127.0.0.1" port($P1) transport("tls") $(tls cli cli ca)); };
destination d_5425 { syslog("127.0.0.1" port($P2) transport("tls") $(tls cli cli ca)); };
destination d_local { file("$T/b.sent.log" $TMPL); };
log { source(s); destination(d_net); destination(d_5425); destination(d_local); };
CONF
start_peer "$T/b.peer.conf" "$T/b.peer"
$PY wait unix "$T/b.sock"
sleep 0.3
$PY send unix-dgram "$T/b.sock" "$T/msgs"
sleep 1
stop "$T/b.peer" "$T/b.ours"
same "tls from-peer: syslog-ng 3.38 network() TLS -> logsift" "$T/b.sent.log" "$T/b.net.log"
same "tls from-peer: syslog-ng 3.38 syslog() RFC 5425 TLS -> logsift" "$T/b.sent.log" "$T/b.5425.log"

# ---- peer verification refused on both sides
# c: logsift client trusts only the rogue CA (syslog-ng's certificate fails
#    on our side); syslog-ng server gets logsift's rogue-signed certificate
#    (fails on its side). d: the same roles reversed.
#
# refuse TAG SERVER CLIENT PORT: SERVER (peer or ours) listens with TLS on
# PORT (certificate srv, trusting ca) and writes $T/TAG.SERVER.log; then
# CLIENT (the other daemon) sends through it twice: "untrusting" trusts only
# the rogue CA, "evil" presents a certificate the rogue CA signed. Errors land
# in $T/TAG.{SERVER,untrusting,evil}.err.
refuse() {
	tag=$1 server=$2 client=$3 port=$4
	cat >"$T/$tag.$server.conf" <<CONF
@version: 3.38
options { stats-freq(0); };
source s { network(ip("127.0.0.1") port($port) transport("tls") $(tls srv srv ca)); };
destination d { file("$T/$tag.$server.log" $TMPL); };
log { source(s); destination(d); };
CONF
	start_$server "$T/$tag.$server.conf" "$T/$tag.$server"
	$PY wait tcp "$port"
	for who in untrusting evil; do
		case $who in
		untrusting) t=$(tls cli cli rogue) ;;
		evil) t=$(tls evil evil ca) ;;
		esac
		cat >"$T/$tag.$who.conf" <<CONF
@version: 3.38
options { stats-freq(0); };
source s { unix-dgram("$T/$tag.$who.sock"); };
destination d { network("127.0.0.1" port($port) transport("tls") $t); };
log { source(s); destination(d); };
CONF
		start_$client "$T/$tag.$who.conf" "$T/$tag.$who"
		$PY wait unix "$T/$tag.$who.sock"
		$PY send unix-dgram "$T/$tag.$who.sock" "$T/msgs"
		sleep 0.5
		stop "$T/$tag.$who"
	done
	stop "$T/$tag.$server"
}
refuse c peer ours "$P1"
if grep -q "^Certificate validation failed; subject='CN=logsift test ca', issuer='CN=logsift test ca', error='self-signed certificate in certificate chain', depth='1', peer='127.0.0.1:$P1'; destination='d'" "$T/c.untrusting.err" &&
	grep -q "Certificate validation failed; subject='CN=evil'" "$T/c.peer.err" &&
	[ ! -s "$T/c.peer.log" ]; then
	tap_ok "tls verify: logsift refuses an untrusted server, syslog-ng refuses logsift's untrusted client certificate; nothing delivered"
else
	tap_fail "tls verify: refused on both sides (logsift client, syslog-ng server)" "ours: $(head -c 400 "$T/c.untrusting.err")
peer: $(grep -i certif "$T/c.peer.err" | head -n 3)
delivered: $(head -c 200 "$T/c.peer.log" 2>/dev/null)"
fi

refuse d ours peer "$P2"
if grep -q "Certificate validation failed; subject='CN=.*error='self-signed certificate in certificate chain'" "$T/d.untrusting.err" &&
	grep -q "^Certificate validation failed; subject='CN=evil', issuer='CN=logsift test rogue', error='unable to get local issuer certificate', depth='0', peer='127.0.0.1:[0-9]*'" "$T/d.ours.err" &&
	[ ! -s "$T/d.ours.log" ]; then
	tap_ok "tls verify: syslog-ng refuses logsift's untrusted server, logsift refuses syslog-ng's untrusted client certificate; nothing delivered"
else
	tap_fail "tls verify: refused on both sides (syslog-ng client, logsift server)" "ours: $(head -c 400 "$T/d.ours.err")
peer: $(grep -i certif "$T/d.untrusting.err" | head -n 3)
delivered: $(head -c 200 "$T/d.ours.log" 2>/dev/null)"
fi

# ---- a config that asks for TLS gets it or does not start (file:line)
startup() { # name expected-text tls-part
	printf '@version: 3.38\nsource s { network(ip("127.0.0.1") port(%s)\n  %s); };\nlog { source(s); };\n' \
		"$P1" "$3" >"$T/e.$1.conf"
	timeout 5 "$LS" -f "$T/e.$1.conf" >"$T/e.$1.out" 2>&1 </dev/null
	rc=$?
	if [ $rc = 1 ] && grep -qF "$2" "$T/e.$1.out" && grep -q " in $T/e.$1.conf:[23]:" "$T/e.$1.out"; then
		tap_ok "tls startup: $1 refused with rc 1 and file:line"
	else
		tap_fail "tls startup: $1 refused with rc 1 and file:line" "rc=$rc $(cat "$T/e.$1.out")"
	fi
}
startup no-tls-block "transport(tls) was specified, but tls() options missing" 'transport("tls")'
startup unsupported-sub-option "tls(sni()) is not supported by logsift" "transport(\"tls\") tls(key-file(\"$T/srv.key\") cert-file(\"$T/srv.crt\") sni(\"x\"))"
startup missing-key "Error parsing within source, File \"$T/none.key\" not found: No such file or directory" "transport(\"tls\") tls(key-file(\"$T/none.key\") cert-file(\"$T/srv.crt\"))"
startup bad-peer-verify "unknown peer-verify() argument" "transport(\"tls\") tls(key-file(\"$T/srv.key\") cert-file(\"$T/srv.crt\") peer-verify(sometimes))"
startup tls-on-udp "tls() options specified for a transport that doesn't allow TLS encryption" "transport(\"udp\") tls(key-file(\"$T/srv.key\"))"
tap_done
