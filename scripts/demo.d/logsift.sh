#!/bin/sh
# logsift demo: the classic filter trace on the spec's example message, in
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
