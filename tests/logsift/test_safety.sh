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
if grep -q "^destination;d;written=3;dropped=0;failed=0;refused=1" "$T/daemon.err" &&
	grep -q "^destination;d_rel;written=3;dropped=0;failed=0;refused=1" "$T/daemon.err"; then
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
tap_done
