#!/bin/sh
# test_safety.sh: what a hostile sender cannot make logsift do, no peer needed
# (tests/interop/logsift/cases/hostile compares the same inputs with 3.38):
# a refused file name is reported as an internal() message naming the path
# and the sender, counted as refused= in the stats, and no file is created;
# a relative name template cannot be made absolute by a macro value.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
PY="$PYTHON $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
T="$TAP_TMP"

start() { # conf, extra args
	(cd "$T/run" && exec "$LS" -f "$1" $2 >"$T/daemon.out" 2>"$T/daemon.err") &
	PID=$!
}
stop() {
	kill -TERM $PID
	wait $PID
}

mkdir -p "$T/run"
P=$($PY freeport)
cat >"$T/p.conf" <<CONF
@version: 3.38
options { keep-hostname(yes); use-dns(no); create-dirs(yes); };
source s { udp(ip("127.0.0.1") port($P)); };
source s_int { internal(); };
destination d { file("$T/base/\$HOST/\$PROGRAM.log" template("\$MSG\n")); };
destination d_rel { file("\$PROGRAM.rel" template("\$MSG\n")); };
destination d_int { file("$T/internal.log" template("\$LEVEL \$PROGRAM \$MSG\n")); };
log { source(s); destination(d); destination(d_rel); };
log { source(s_int); destination(d_int); };
CONF
printf '%s\n' '<13>Nov 24 05:15:55 ../../up prog: climb' '<13>Nov 24 05:15:55 good /abs/x: absolute' \
	'<13>Nov 24 05:15:55 good ok: fine' >"$T/msgs"
start "$T/p.conf" --stats
$PY wait tcp "$P"
$PY send udp "$P" "$T/msgs"
sleep 0.5
stop
if grep -q "^err logsift Spurious path, logfile not created; path='$T/base/../../up/prog.log', sender='127.0.0.1', destination='d', reason='a .. component'" "$T/internal.log" &&
	grep -q "^err logsift Spurious path, logfile not created; path='/abs/x.rel', sender='127.0.0.1', destination='d_rel', reason='a macro value made a relative template absolute'" "$T/internal.log"; then
	tap_ok "refusals reach internal() with path, sender and reason"
else
	tap_fail "refusals reach internal() with path, sender and reason" "$(cat "$T/internal.log" "$T/daemon.err")"
fi
if grep -q "^destination;d;written=2;dropped=0;failed=0;processed=3;queued=0;refused=1" "$T/daemon.err" &&
	grep -q "^destination;d_rel;written=2;dropped=0;failed=0;processed=3;queued=0;refused=1" "$T/daemon.err"; then
	tap_ok "refusals are counted per destination (refused=1 each)"
else
	tap_fail "refusals are counted per destination" "$(grep '^destination' "$T/daemon.err")"
fi
testcmd "only the harmless names were created" \
	"cd $T && find base run up abs /abs -type f 2>/dev/null | sort" "base/good/abs/x.log
base/good/ok.log
run/ok.rel
run/prog.rel
" ""

# Options: every name the man page lists as refused stops the start-up with
# rc 1, file:line and "not supported by logsift"; a misspelt name is a syntax
# error with rc 1, as in 3.38 (checked against syslog-ng -s when installed).
MAN="$OPSKIT_SOURCE/docs/logsift.1"
refused() { # section title: the names of its "Refused:" line
	sed -n "/^\.Ss $1\$/,/^\.S[sh]/p" "$MAN" | sed -n 's/^Refused: //p' | tr -d '.,'
}
conf() { # where name: a config using option name there, on line 2
	case $1 in
	global) printf '@version: 3.38\noptions { %s(1); };\n' "$2" ;;
	source) printf '@version: 3.38\nsource s { udp(ip("127.0.0.1") %s(1)); };\nlog { source(s); };\n' "$2" ;;
	dest) printf '@version: 3.38\ndestination d { file("%s/x" %s(1)); };\nlog { destination(d); };\n' "$T" "$2" ;;
	esac
}
for where in global source dest; do
	case $where in
	global) sect='options{}' ;;
	source) sect='Source drivers' ;;
	dest) sect='Destination drivers' ;;
	esac
	n=0 bad=""
	for name in $(refused "$sect"); do
		n=$((n + 1))
		conf $where "$name" >"$T/o.conf"
		"$LS" --syntax-only -f "$T/o.conf" >"$T/o.out" 2>&1
		rc=$?
		if [ $rc != 1 ] || ! grep -q "$name() is not supported by logsift in $T/o.conf:2:" "$T/o.out"; then
			bad="$bad $name(rc=$rc)"
		fi
	done
	if [ $n -gt 5 ] && [ -z "$bad" ]; then
		tap_ok "options: the $n refused $where options stop the start-up with rc 1, file:line, 'not supported by logsift'"
	else
		tap_fail "options: refused $where options stop the start-up" "${bad:-only $n names in the man page}"
	fi
	conf $where frobnicate >"$T/f.conf"
	"$LS" --syntax-only -f "$T/f.conf" >"$T/f.out" 2>&1
	rc=$?
	want=1
	SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
	if [ -x "$SNG" ]; then
		"$SNG" -s -f "$T/f.conf" >/dev/null 2>&1
		want=$?
	fi
	if [ $rc = 1 ] && [ $want = 1 ] && grep -q "unexpected LL_IDENTIFIER in $T/f.conf:2:" "$T/f.out"; then
		tap_ok "options: frobnicate(1) in $where is a syntax error, rc 1 as syslog-ng 3.38"
	else
		tap_fail "options: frobnicate(1) in $where is a syntax error, rc 1" "rc=$rc syslog-ng rc=$want $(cat "$T/f.out")"
	fi
done
# The destination options common to the drivers and each driver's own:
# program() takes the common ones and keep-alive()/inherit-environment(),
# file() the common ones and perm(), and each refuses the other's own with
# rc 1 and file:line. syslog-ng 3.38 -s gives the expected verdict (accept
# or reject) where installed; without it, rc 0 for the first two, 1 for the
# others.
common='template("$MSG\n") ts-format(iso) frac-digits(3) time-zone("UTC") send-time-zone("UTC") log-fifo-size(100) time-reopen(5)'
for c in "program_own:0:program(\"cat >/dev/null\" $common persist-name(\"p1\") keep-alive(yes) inherit-environment(no))" \
	"file_own:0:file(\"$T/y\" $common persist-name(\"f1\") perm(0600))" \
	"program_perm:1:program(\"cat >/dev/null\" perm(0600))" \
	"file_keepalive:1:file(\"$T/y\" keep-alive(yes))"; do
	name=${c%%:*} rest=${c#*:}
	want=${rest%%:*} drv=${rest#*:}
	printf '@version: 3.38\ndestination d { %s; };\nlog { destination(d); };\n' "$drv" >"$T/$name.conf"
	"$LS" --syntax-only -f "$T/$name.conf" >"$T/$name.out" 2>&1
	rc=$?
	peer="syslog-ng not installed"
	if [ -x "$SNG" ]; then
		"$SNG" -s -f "$T/$name.conf" >/dev/null 2>&1
		want=$?
		peer="syslog-ng 3.38 rc $want"
	fi
	if [ $rc = "$want" ] && { [ $rc = 0 ] || grep -q "in $T/$name.conf:2:" "$T/$name.out"; }; then
		tap_ok "options: $name: rc $rc ($peer)"
	else
		tap_fail "options: $name" "rc=$rc want=$want ($peer): $(cat "$T/$name.out")"
	fi
done
# A missing ca-file()/cert-file()/key-file() is refused when the
# configuration is read, as 3.38's path_check does in amqp(), http() and a
# network tls() alike, the error pointing at the value: the same lines and
# rc as syslog-ng 3.38 -s where installed; without it rc 1 and the message.
for c in "amqp_ca:amqp(host(\"127.0.0.1\") username(\"u\") password(\"p\") ca-file(\"$T/no-ca.pem\"))" \
	"amqp_key:amqp(host(\"127.0.0.1\") username(\"u\") password(\"p\") ca-file(\"$T/x.conf\") key-file(\"$T/no-key.pem\") cert-file(\"$T/x.conf\"))" \
	"http_ca:http(url(\"https://127.0.0.1/\") ca-file(\"$T/no-ca.pem\"))" \
	"tls_ca:network(\"127.0.0.1\" port(6514) transport(\"tls\") tls(ca-file(\"$T/no-ca.pem\") peer-verify(no)))"; do
	name=${c%%:*} drv=${c#*:}
	: >"$T/x.conf"
	printf '@version: 3.38\ndestination d { %s; };\nlog { destination(d); };\n' "$drv" >"$T/$name.conf"
	"$LS" --syntax-only -f "$T/$name.conf" >"$T/$name.out" 2>&1
	rc=$?
	if [ -x "$SNG" ]; then
		"$SNG" -s -f "$T/$name.conf" >"$T/$name.peer" 2>&1
		prc=$?
		if [ $rc = $prc ] && [ $rc = 1 ] && cmp -s "$T/$name.out" "$T/$name.peer"; then
			tap_ok "tls files: $name: missing file refused, the same lines and rc 1 as syslog-ng 3.38"
		else
			tap_fail "tls files: $name" "rc=$rc peer rc=$prc: $(diff "$T/$name.peer" "$T/$name.out")"
		fi
	elif [ $rc = 1 ] && grep -q "^Error parsing within destination, File \"$T/no-[a-z]*.pem\" not found: No such file or directory in $T/$name.conf:2:" "$T/$name.out"; then
		tap_ok "tls files: $name: missing file refused, rc 1 (syslog-ng not installed)"
	else
		tap_fail "tls files: $name" "rc=$rc: $(cat "$T/$name.out")"
	fi
done
printf '@version: 3.38\ndestination d { file("%s/x" template-escape(yes) template("$MSG")); };\n' "$T" >"$T/e.conf"
"$LS" --syntax-only -f "$T/e.conf" >"$T/e.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "Macro escaping can only be specified for inline templates.* in $T/e.conf:2:" "$T/e.out"; then
	tap_ok "options: template-escape() before template() is refused (3.38 ignores it with an error)"
else
	tap_fail "options: template-escape() before template() is refused" "rc=$rc $(cat "$T/e.out")"
fi
tap_done
