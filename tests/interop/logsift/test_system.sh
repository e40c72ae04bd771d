#!/bin/sh
# test_system.sh: the system() source against the real syslog-ng 3.38, each
# daemon reading the literal `source { system(); };` in its own mount
# namespace whose /dev is a private tmpfs (null, zero, random, urandom and
# the real /dev/kmsg device made there), so neither daemon binds the
# machine's /dev/log. The test sends to each daemon's /dev/log through
# /proc/PID/root/dev/log and writes tagged lines to the machine's /dev/kmsg,
# which both daemons read as records from the kernel (from its end on, as
# 3.38 opens it). Destination files must be byte-identical: /dev/log parsed
# with flags(syslog-protocol) and PID replaced by the sender's ${.unix.pid}
# (3.38's system() rewrite), credentials as .unix.*; kernel records with
# format(linux-kmsg), PROGRAM kernel, the sequence number as MSGID. The
# machine's own /dev/log must be as before. Needs root (unshare -m, mknod).
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
PY="$PYTHON $OPSKIT_SOURCE/tests/interop/logsift/peer.py"
SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
T="$TAP_TMP"
names="system-devlog system-kmsg system-hostdevlog"
skip_all() {
	for n in $names; do tap_skip "$n" "$1"; done
	tap_done
}
[ -x "$SNG" ] || skip_all "syslog-ng (syslog-ng-core) is not installed"
[ -c /dev/kmsg ] && [ -w /dev/kmsg ] || skip_all "no writable /dev/kmsg"
[ -d /run/systemd/system ] && skip_all "systemd is running: 3.38's system() is systemd-journal() here (refused by logsift)"
unshare -m sh -c 'mount -t tmpfs none /dev' 2>/dev/null || skip_all "unshare -m with a tmpfs mount is not permitted here"

before=$(stat -c '%i %F' /dev/log 2>/dev/null || echo none)
tag="logsift-sys-$$"

# start WHO: the daemon in a private mount namespace; its pid in $T/WHO/pid.run
start() {
	d="$T/$1"
	mkdir -p "$d"
	cat >"$d/conf" <<EOF
@version: 3.38
options { stats-freq(0); };
source s_sys { system(); };
destination d_log { file("$d/out-log.log"
	template("\$PRI|\$HOST|\$PROGRAM|\$PID|\$MSGID|\$SDATA|\${.unix.uid}|\${.unix.gid}|\${.unix.cmdline}|\${.unix.exe}|\$MSG\n")); };
destination d_log_default { file("$d/out-log-default.log"); };
destination d_kmsg { file("$d/out-kmsg.log"
	template("\$PRI \$FACILITY.\$LEVEL|\$HOST|\$PROGRAM|\$PID|\$MSGID|\${.linux.timestamp}|\$MSG\n")); };
log { source(s_sys); filter { program("kernel") and message("$tag"); }; destination(d_kmsg); flags(final); };
log { source(s_sys); filter { not program("kernel"); }; destination(d_log); destination(d_log_default); };
EOF
	if [ "$1" = peer ]; then
		run="exec $SNG -f $d/conf --no-caps -F -e --persist-file=$d/persist --pidfile=$d/pid --control=$d/ctl"
	else
		run="exec $LS -f $d/conf -e"
	fi
	unshare -m sh -c "mount -t tmpfs -o mode=755 none /dev && cd /dev &&
		mknod -m 666 null c 1 3 && mknod -m 666 zero c 1 5 && mknod -m 666 random c 1 8 &&
		mknod -m 666 urandom c 1 9 && mknod -m 644 kmsg c 1 11 && ln -s /proc/self/fd fd && $run" \
		>"$d/trace" 2>&1 &
	echo $! >"$d/pid.run"
}

stop_all() {
	for who in peer ours; do
		[ -f "$T/$who/pid.run" ] && kill -TERM "$(cat "$T/$who/pid.run")" 2>/dev/null
	done
	wait 2>/dev/null
}
trap 'stop_all; rm -rf "$TAP_TMP"' EXIT

for who in peer ours; do start $who; done
for who in peer ours; do
	$PY wait unix "/proc/$(cat "$T/$who/pid.run")/root/dev/log" || true
done
sleep 0.5

# /dev/log: what glibc's syslog(3) sends, RFC 5424 (system() sets
# syslog-protocol), no PID, a bad PRI, UTF-8
cat >"$T/devlog.msgs" <<EOF
<13>Dec  6 10:00:00 app[999]: glibc style, PID 999 in the text
<86>Dec  6 10:00:01 sshd[1234]: Accepted publickey for root
<38>Dec  6 10:00:02 cron: no pid here
<14>1 2026-12-06T10:00:03.123456+01:00 host5424 app5424 77 ID9 [ex@32473 a="b"] five four two four
<14>1 2026-12-06T10:00:04Z - - - - -
<999>Dec  6 10:00:05 bad[1]: pri out of range
<30>Dec  6 10:00:06 unit[5]: caf\xc3\xa9 utf-8
<13>Dec  6 10:00:07 tag-$tag: plain
EOF
$PY send unix-dgram "/proc/$(cat "$T/peer/pid.run")/root/dev/log,/proc/$(cat "$T/ours/pid.run")/root/dev/log" \
	"$T/devlog.msgs"

# /dev/kmsg: the same records reach both daemons (the kernel gives each
# reader every record); one open per line (the kernel rate-limits per open)
n=0
for line in "<14>$tag: first" "<4>$tag: kernel warning level" "<187>$tag: local7.err" "<6>$tag: caf\303\251"; do
	printf '%s\n' "$line" >/dev/kmsg
	n=$((n + 1))
done
sleep 1
stop_all

cmp_files() { # NAME FILE MINLINES
	p="$T/peer/$2" o="$T/ours/$2"
	if [ -s "$p" ] && cmp -s "$p" "$o" && [ "$(wc -l <"$p")" -ge "$3" ]; then
		tap_ok "$1: $2 identical to syslog-ng 3.38's ($(wc -l <"$p") lines)"
	else
		tap_fail "$1: $2 identical to syslog-ng 3.38's" "$(diff -a "$p" "$o" 2>&1 | cat -v | head -n 20)
peer: $(head -c 400 "$T/peer/trace")
ours: $(head -c 400 "$T/ours/trace")"
	fi
}
cmp_files system-devlog out-log.log 8
cmp_files system-devlog out-log-default.log 8
cmp_files system-kmsg out-kmsg.log $n
after=$(stat -c '%i %F' /dev/log 2>/dev/null || echo none)
if [ "$before" = "$after" ]; then
	tap_ok "system-hostdevlog: the machine's /dev/log is untouched ($after)"
else
	tap_fail "system-hostdevlog: the machine's /dev/log is untouched" "before: $before, after: $after"
fi
tap_done
