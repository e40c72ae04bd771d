#!/bin/sh
# test_peer.sh: logsift against the real syslog-ng 3.38 (Debian's
# syslog-ng-core). Each case writes one config with @DIR@/@PORT@ holes, runs
# syslog-ng and logsift on it (each in its own temp dir, sockets and ports on
# loopback, syslog-ng with --no-caps -F and private persist/pid/control
# files), sends the same messages to both, stops them with SIGTERM and
# requires byte-identical, non-empty destination files. Where the case says
# so, the filter traces are compared too: syslog-ng -t leaf lines (rule
# order, leaf order = short-circuit, raw facility/level/cmp results) against
# logsift --trace=explain (peer.py tracecmp). The classic trace format itself
# has no live peer (3.38 no longer prints it); see tests/logsift/test_trace.sh.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
# the system python (a pyenv shim costs most of a second a call)
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
PY="$PYTHON $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
HERE="$OPSKIT_SOURCE/tests/interop/logsift"
SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
[ -x "$SNG" ] || SNG=""
# The sanitizer build (make check's second pass) runs logsift alone on every
# case and checks that it ran clean (exit 0 after SIGTERM, no ASan/UBSan
# report): the comparison with syslog-ng is the release build's, the same
# configs and messages, and 3.38's side of it does not change with our build.
sanitized=0
grep -q '"name": "b_sanitize", "value": "none"' "$OPSKIT_BUILD/meson-info/intro-buildoptions.json" 2>/dev/null ||
	sanitized=1
whos="peer ours"
[ $sanitized = 1 ] && whos=ours

# start WHO CONF DIR: start a daemon in the background, its pid in DIR/pid.run;
# a case's "# tz: ZONE" line runs both with TZ=ZONE
start() {
	tz=$(sed -n 's/^# tz: //p' "$2")
	if [ "$1" = peer ]; then
		env ${tz:+TZ="$tz"} "$SNG" -f "$2" --no-caps -F -e -d -t --persist-file="$3/persist" \
			--pidfile="$3/pid" --control="$3/ctl" >"$3/trace" 2>&1 &
	else
		env ${tz:+TZ="$tz"} "$LS" -f "$2" -e --trace=explain >"$3/trace" 2>&1 &
	fi
	echo $! >"$3/pid.run"
}

# run_case NAME CONF KIND MSGS: run both daemons side by side (own dirs and
# ports), same input to each; leaves $TAP_TMP/NAME.{peer,ours}
# (python starts are most of a case's CPU: one freeport a case, one waitsend
# a daemon; each daemon is sent to 0.2 s after it listens and the other's
# send, so it has at least the settle time it had with a wait and a send
# process of each)
run_case() {
	name=$1 conf=$2 kind=$3 msgs=$4
	# shellcheck disable=SC2046
	set -- $($PY freeport $(echo $whos | wc -w))
	for who in $whos; do
		d="$TAP_TMP/$name.$who"
		mkdir -p "$d"
		port=$1
		shift
		echo "$port" >"$d/port"
		sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$port|g" -e "s|@HERE@|$HERE|g" "$conf" >"$d/conf"
		[ "$kind" = file ] && $PY write "$d/in.log" "$msgs"
		start $who "$d/conf" "$d"
	done
	for who in $whos; do
		d="$TAP_TMP/$name.$who"
		port=$(cat "$d/port")
		case $kind in
		unix-*) $PY waitsend unix "$d/in.sock" "$kind" "$d/in.sock" "$msgs" ;;
		file) sleep 1 ;;
		udp) $PY waitsend udp "$port" "$kind" "$port" "$msgs" ;;
		*) $PY waitsend tcp "$port" "$kind" "$port" "$msgs" ;;
		esac
	done
	[ "$kind" = file ] && sleep 0.2
	# "# wait-lines: FILE N": a case too big for a fixed settle (3.38 under
	# -d -t is slow) waits until each daemon's FILE has N lines (at most
	# 120 s; a shortfall shows as a difference)
	wl=$(sed -n 's/^# wait-lines: //p' "$conf")
	if [ -n "$wl" ]; then
		for who in $whos; do
			f="$TAP_TMP/$name.$who/${wl% *}" i=0
			while [ "$(cat "$f" 2>/dev/null | wc -l)" -lt "${wl#* }" ] && [ $i -lt 1200 ]; do
				sleep 0.1
				i=$((i + 1))
			done
		done
	fi
	sleep "${settle:-0.5}"
	for who in $whos; do
		d="$TAP_TMP/$name.$who"
		kill -TERM "$(cat "$d/pid.run")"
		wait "$(cat "$d/pid.run")" 2>/dev/null
		echo $? >"$d/rc"
	done
}

# ran_clean NAME: (sanitizer build) logsift exited 0 after SIGTERM and its
# stderr holds no sanitizer report
ran_clean() {
	o="$TAP_TMP/$1.ours"
	rep=$(grep -m 3 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$o/trace")
	if [ "$(cat "$o/rc" 2>/dev/null)" = 0 ] && [ -z "$rep" ]; then
		tap_ok "$1: logsift under ASan+UBSan: exit 0 after SIGTERM, no sanitizer report (syslog-ng's comparison: release build)"
	else
		tap_fail "$1: logsift under ASan+UBSan ran clean" "exit $(cat "$o/rc" 2>/dev/null)
$rep
$(grep -v '^\[' "$o/trace" | tail -n 5)"
	fi
}

# cmp_outputs NAME: every out*.log of the peer equals ours, and one is non-empty
cmp_outputs() {
	p="$TAP_TMP/$1.peer" o="$TAP_TMP/$1.ours"
	files=$(cd "$p" && find out* -type f 2>/dev/null | sort)
	if [ -z "$files" ]; then
		tap_fail "$1: destination files identical" "syslog-ng wrote nothing: $(head -c 600 "$p/trace")"
		return
	fi
	bad=""
	nonempty=0
	for f in $files; do
		[ -d "$p/$f" ] && continue
		[ -s "$p/$f" ] && nonempty=1
		cmp -s "$p/$f" "$o/$f" || bad="$bad $f"
	done
	extra=$(cd "$o" && find out* -type f 2>/dev/null | sort)
	[ "$extra" = "$files" ] || bad="$bad (file sets: peer [$files] ours [$extra])"
	if [ -z "$bad" ] && [ $nonempty = 1 ]; then
		tap_ok "$1: destination files identical ($(echo $files | wc -w) files, $(cat "$p"/out* 2>/dev/null | wc -l) lines)"
	else
		detail=""
		for f in $bad; do [ -f "$p/$f" ] && detail="$detail$(diff -a "$p/$f" "$o/$f" | cat -v | head -n 10)
"; done
		tap_fail "$1: destination files identical" "differ:$bad
$detail$(grep -v '^\[' "$o/trace" | grep -iv 'filter\|Incoming\|Log path\|Deliver\|reached' | head -n 5)"
	fi
}

# cmp_stderr NAME WORDS: the daemons' stderr lines holding WORDS (3.38's
# without its timestamp) are the same, in the same order, and there are some
cmp_stderr() {
	grep -F "$2" "$TAP_TMP/$1.peer/trace" | sed 's/^\[[^]]*\] //' >"$TAP_TMP/$1.peer/stderr-cmp"
	grep -F "$2" "$TAP_TMP/$1.ours/trace" >"$TAP_TMP/$1.ours/stderr-cmp"
	if [ -s "$TAP_TMP/$1.peer/stderr-cmp" ] && cmp -s "$TAP_TMP/$1.peer/stderr-cmp" "$TAP_TMP/$1.ours/stderr-cmp"; then
		tap_ok "$1: the same '$2' lines on stderr as syslog-ng -e ($(wc -l <"$TAP_TMP/$1.peer/stderr-cmp") lines)"
	else
		tap_fail "$1: the same '$2' lines on stderr as syslog-ng -e" "$(diff "$TAP_TMP/$1.peer/stderr-cmp" "$TAP_TMP/$1.ours/stderr-cmp" | head -n 10)"
	fi
}

cmp_trace() {
	out=$($PY tracecmp "$TAP_TMP/$1.peer/trace" "$TAP_TMP/$1.ours/trace")
	if [ $? = 0 ]; then
		tap_ok "$1: same rules, leaves and leaf results as syslog-ng -t $(echo "$out" | tr -d '#')"
	else
		tap_fail "$1: same rules, leaves and leaf results as syslog-ng -t" "$out"
	fi
}

if [ -z "$SNG" ]; then
	for c in basic macros-udp tcp-syslog routing filters stock errors; do
		tap_skip "$c" "syslog-ng (syslog-ng-core) is not installed"
	done
	tap_done
fi

# Debian's stock syslog-ng.conf, with only its outputs and /dev/log moved into
# the test directory (system() -> unix-dgram, internal() dropped because the
# two daemons' own start-up messages differ, consoles -> files).
STOCK=/etc/syslog-ng/syslog-ng.conf
if [ -f "$STOCK" ]; then
	{
		echo "# kind: unix-dgram"
		echo "# trace: yes"
		sed -e 's|system();|unix-dgram("@DIR@/in.sock");|' -e 's|internal();||' \
			-e 's|"/var/log/|"@DIR@/out-|' -e 's|pipe("/dev/xconsole")|file("@DIR@/out-xconsole")|' \
			-e 's|getvirtconsole()|file("@DIR@/out-console")|' -e 's|usertty("root")|file("@DIR@/out-usertty")|' "$STOCK"
	} >"$TAP_TMP/stock.conf"
	run_case stock "$TAP_TMP/stock.conf" unix-dgram "$HERE/stock.msgs" &
else
	tap_skip "stock: Debian's syslog-ng.conf routes as syslog-ng" "no $STOCK"
fi

# LOGSIFT_CASES=NAME runs one case (a glob) while working on it. A case is
# mostly waiting (start-up, settle, shutdown), so LOGSIFT_PEER_JOBS (default
# 3) cases run at a time, each pair in its own directories and ports; the
# outputs are compared once all have stopped. The sanitizer build starts one
# daemon a case, not a pair, so it runs 6 at a time: as many daemons.
jobs=${LOGSIFT_PEER_JOBS:-3}
[ $sanitized = 1 ] && jobs=${LOGSIFT_PEER_JOBS:-6}
n=1
for c in "$HERE"/cases/${LOGSIFT_CASES:-*}.conf; do
	name=$(basename "$c" .conf)
	kind=$(sed -n 's/^# kind: //p' "$c")
	settle=$(sed -n 's/^# settle: //p' "$c")
	run_case "$name" "$c" "$kind" "$HERE/cases/$name.msgs" &
	n=$((n + 1))
	[ $((n % jobs)) = 0 ] && wait
done
wait
if [ $sanitized = 1 ]; then
	[ -f "$STOCK" ] && ran_clean stock
	for c in "$HERE"/cases/${LOGSIFT_CASES:-*}.conf; do
		ran_clean "$(basename "$c" .conf)"
	done
else
	if [ -f "$STOCK" ]; then
		cmp_outputs stock
		cmp_trace stock
	fi
	for c in "$HERE"/cases/${LOGSIFT_CASES:-*}.conf; do
		name=$(basename "$c" .conf)
		cmp_outputs "$name"
		[ "$(sed -n 's/^# trace: //p' "$c")" = yes ] && cmp_trace "$name"
		words=$(sed -n 's/^# stderr: //p' "$c")
		[ -n "$words" ] && cmp_stderr "$name" "$words"
	done
fi

# Hostile senders (cases/hostile): nothing outside out-h/base for either
# daemon, and every name 3.38 refused ("Spurious path") is refused by us too.
if [ -d "$TAP_TMP/hostile.ours" ] && [ $sanitized = 1 ]; then
	d="$TAP_TMP/hostile.ours"
	esc="$(cd "$d" && ls -A | grep -vxE 'conf|trace|pid|pid.run|persist|ctl|port|rc|out-h')"
	esc="$esc$(ls -A "$d/out-h" | grep -vx base)"
	esc="$esc$(cd "$TAP_TMP" && ls -A | grep -vE '\.(peer|ours)$|^err\.|\.conf$')"
	if [ -z "$esc" ]; then
		tap_ok "hostile: logsift under ASan+UBSan writes nothing outside the base directory"
	else
		tap_fail "hostile: logsift under ASan+UBSan writes nothing outside the base directory" "outside: $esc"
	fi
elif [ -d "$TAP_TMP/hostile.ours" ]; then
	esc=""
	for who in peer ours; do
		d="$TAP_TMP/hostile.$who"
		esc="$esc$(cd "$d" && ls -A | grep -vxE 'conf|trace|pid|pid.run|persist|ctl|port|rc|out-h')"
		esc="$esc$(ls -A "$d/out-h" | grep -vx base)"
	done
	esc="$esc$(cd "$TAP_TMP" && ls -A | grep -vE '\.(peer|ours)$|^err\.|\.conf$')"
	sed -n "s|.*Spurious path, logfile not created; path='$TAP_TMP/hostile.peer/\([^']*\)'.*|\1|p" \
		"$TAP_TMP/hostile.peer/trace" | sort >"$TAP_TMP/hostile.refused.peer"
	sed -n "s|^Spurious path, logfile not created; path='$TAP_TMP/hostile.ours/\([^']*\)'.*|\1|p" \
		"$TAP_TMP/hostile.ours/trace" | sort >"$TAP_TMP/hostile.refused.ours"
	missed=$(comm -23 "$TAP_TMP/hostile.refused.peer" "$TAP_TMP/hostile.refused.ours")
	np=$(wc -l <"$TAP_TMP/hostile.refused.peer")
	no=$(wc -l <"$TAP_TMP/hostile.refused.ours")
	if [ -z "$esc" ] && [ -z "$missed" ] && [ "$np" -gt 0 ]; then
		tap_ok "hostile: nothing written outside the base directory; the $np names 3.38 refused are refused ($no refusals in all)"
	else
		tap_fail "hostile: nothing outside the base directory, 3.38's refusals refused" "outside: $esc
refused by 3.38, not by us: $missed"
	fi
fi

# Start-up errors: the same exit code and the same error line.
for c in "$HERE"/errors/*.conf; do
	name=$(basename "$c" .conf)
	d="$TAP_TMP/err.$name"
	mkdir -p "$d"
	cp "$c" "$d/$name.conf"
	(cd "$d" && timeout 5 "$SNG" -f "$name.conf" --no-caps -F -e --persist-file="$d/persist" \
		--pidfile="$d/pid" --control="$d/ctl" >peer.out 2>&1 </dev/null; echo $? >peer.rc)
	(cd "$d" && timeout 5 "$LS" -f "$name.conf" >ours.out 2>&1 </dev/null; echo $? >ours.rc)
	want=$(sed 's/^\[[^]]*\] //' "$d/peer.out" | grep -m1 -E "^(Error|ERROR|Referenced|Loop)")
	got=$(grep -m1 -E "^(Error|ERROR|Referenced|Loop)" "$d/ours.out")
	# the config excerpt under syntax errors ("N       text", "N-----> text", carets)
	wantx=$(grep -E '^[0-9]+(-+>|  +)' "$d/peer.out")
	gotx=$(grep -E '^[0-9]+(-+>|  +)' "$d/ours.out")
	if [ "$(cat "$d/peer.rc")" = "$(cat "$d/ours.rc")" ] && [ -n "$want" ] && [ "$want" = "$got" ] &&
		[ "$wantx" = "$gotx" ]; then
		tap_ok "error $name: exit $(cat "$d/ours.rc"), same message${gotx:+ and config excerpt}"
	else
		tap_fail "error $name: same exit code and message" "peer rc=$(cat "$d/peer.rc"): $want
$wantx
ours rc=$(cat "$d/ours.rc"): $got
$gotx"
	fi
done
tap_done
