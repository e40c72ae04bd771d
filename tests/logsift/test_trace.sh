#!/bin/sh
# test_trace.sh: the classic (syslog-ng 3.2/3.3) filter trace and the
# command line. The classic format has no live peer: syslog-ng 3.15+ (Debian
# 12 has 3.38) no longer prints per-node lines, so the expected lines are the
# real 3.2-era capture (f_web_hosts) and a derivation from the v3.3 source
# for f_combo, with the '(null)' type dropped for typeless nodes as in that
# capture. What
# 3.38 CAN check (rules, leaf order, raw leaf results) is checked against the
# live peer in tests/interop/logsift/test_peer.sh.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
C="$TAP_TMP/t.conf"
cat >"$C" <<'CONF'
@version: 3.38
source s_local { unix-dgram("/nonexistent/l.sock"); };
filter f_auth { facility(auth, authpriv); };
filter f_web_hosts { level(notice) and (host("web1") or host("web2")); };
filter f_combo { filter(f_auth) and (level(notice) or not program("cron")) and not match("debugme" value("MESSAGE")); };
filter f_neg { not level(debug) and not (facility(kern) or level(err)); };
filter f_cmp { "${PID}" > 100 and netmask("127.0.0.0/8"); };
destination d_f { file("/nonexistent/out.log"); };
log { source(s_local); filter(f_web_hosts); destination(d_f); };
log { source(s_local); filter(f_combo); filter(f_neg); filter(f_cmp); destination(d_f); };
CONF
MSG='<85>sshd2[382]: Public key /root/.ssh/ used.
'

testcmd "classic trace: 3.2-era capture (f_web_hosts) and f_combo derivation" \
	"$LS --test -f $C | sed -n '2,18p'" \
"Incoming log entry; line='<85>sshd2[382]: Public key /root/.ssh/ used.\\x0a'
Filter rule evaluation begins; filter_rule='f_web_hosts'
Filter node evaluation result; filter_result='match', filter_type='level'
Filter node evaluation result; filter_result='not-match'
Filter node evaluation result; filter_result='not-match'
Filter node evaluation result; filter_result='not-match', filter_type='OR'
Filter node evaluation result; filter_result='not-match', filter_type='AND'
Filter rule evaluation result; filter_result='not-match', filter_rule='f_web_hosts'
Filter rule evaluation begins; filter_rule='f_combo'
Filter node evaluation result; filter_result='match', filter_type='facility'
Filter node evaluation result; filter_result='match', filter_type='filter(f_auth)'
Filter node evaluation result; filter_result='match', filter_type='level'
Filter node evaluation result; filter_result='match', filter_type='OR'
Filter node evaluation result; filter_result='match', filter_type='AND'
Filter node evaluation result; filter_result='match'
Filter node evaluation result; filter_result='match', filter_type='AND'
Filter rule evaluation result; filter_result='match', filter_rule='f_combo'
" "$MSG"

# not folded into its node: negated leaf shows the negated result under its
# own type; a negated OR prints its children un-negated, then itself negated.
testcmd "classic trace: not on a leaf and on an OR" \
	"$LS --test -f $C | sed -n '19,25p'" \
"Filter rule evaluation begins; filter_rule='f_neg'
Filter node evaluation result; filter_result='match', filter_type='level'
Filter node evaluation result; filter_result='not-match', filter_type='facility'
Filter node evaluation result; filter_result='not-match', filter_type='level'
Filter node evaluation result; filter_result='match', filter_type='OR'
Filter node evaluation result; filter_result='match', filter_type='AND'
Filter rule evaluation result; filter_result='match', filter_rule='f_neg'
" "$MSG"

testcmd "classic trace: CMP type, typeless netmask, rule result" \
	"$LS --test -f $C | sed -n '26,31p'" \
"Filter rule evaluation begins; filter_rule='f_cmp'
Filter node evaluation result; filter_result='match', filter_type='CMP'
Filter node evaluation result; filter_result='match'
Filter node evaluation result; filter_result='match', filter_type='AND'
Filter rule evaluation result; filter_result='match', filter_rule='f_cmp'
-> destination 'd_f'
" "$MSG"

testcmd "short-circuit: a failed AND skips its right side" \
	"$LS --test -f $C | sed -n '2,5p'" \
"Incoming log entry; line='<87>x: debug\\x0a'
Filter rule evaluation begins; filter_rule='f_web_hosts'
Filter node evaluation result; filter_result='not-match', filter_type='level'
Filter node evaluation result; filter_result='not-match', filter_type='AND'
" "<87>x: debug
"

printf '<13>it'"'"'s\001\ttab\000rest\n' >"$TAP_TMP/nul.msg"
testcmd "line= escapes control bytes and quotes, stops at NUL" \
	"$LS --test -f $C <$TAP_TMP/nul.msg | sed -n '2p'" \
"Incoming log entry; line='<13>it\\'s\\x01	tab'
" ""

testcmd "explain: raw result, negation, value and location" \
	"$LS --test --trace=explain -f $C | grep -m1 'function=.match'" \
"Filter node evaluation result; filter_result='match', function='match', raw_result='not-match', negated='yes', value='Public key /root/.ssh/ used.', pattern='debugme', location='$C:5:84'
" "$MSG"

testcmd "--trace-match traces only selected messages" \
	"$LS --test --trace-match='program(\"^ssh\")' -f $C | grep -c 'Incoming log entry'" \
"1
" "<13>cron: a
$MSG<13>x: b
"

testcmd "--test summary names rules that never matched" \
	"$LS --test -f $C | grep 'never matched: filter'" \
"never matched: filter 'f_web_hosts' ($C:4:22, evaluated 1 times)
" "$MSG"

testcmd_rc "--syntax-only ok on a good config" 0 "$LS --syntax-only -f $C"
printf '@version: 3.38\nsource s { unix-dgram("x"); };\nlog { source(s); filter(f_nothere); };\n' >"$TAP_TMP/ref.conf"
testcmd "--syntax-only catches undefined references (syslog-ng misses them)" \
	"$LS --syntax-only -f $TAP_TMP/ref.conf 2>&1; echo rc=\$?" \
"Error resolving reference; content='filter', name='f_nothere', location='$TAP_TMP/ref.conf:3:18'
rc=2
" ""
printf '@version: 3.38\nfilter f1 { filter(f2); };\nfilter f2 { not filter(f1); };\n' >"$TAP_TMP/loop.conf"
testcmd "--syntax-only catches filter loops" \
	"$LS --syntax-only -f $TAP_TMP/loop.conf 2>&1; echo rc=\$?" \
"Loop detected in filter rule; rule='f2'
rc=2
" ""
printf '@version: 3.38\ndestination d { stdout(); };\n' >"$TAP_TMP/stdout.conf"
testcmd_rc "stdout() is a syntax error before @version 4.4" 1 "$LS --syntax-only -f $TAP_TMP/stdout.conf"
printf '@version: 4.4\ndestination d { stdout(); };\n' >"$TAP_TMP/stdout44.conf"
testcmd_rc "stdout() is accepted from @version 4.4" 0 "$LS --syntax-only -f $TAP_TMP/stdout44.conf"
printf '@version: 3.38\n@define dir "/tmp"\nsource s { file("`dir`/x.log"); };\nlog { source(s); flags(bogus); };\n' >"$TAP_TMP/def.conf"
testcmd "@define substitution and unknown log flag warning" \
	"$LS --syntax-only -f $TAP_TMP/def.conf 2>&1; echo rc=\$?" \
"Unknown log statement flag; flag='bogus'
rc=0
" ""
if [ -f /etc/syslog-ng/syslog-ng.conf ]; then
	testcmd_rc "Debian's stock syslog-ng.conf parses (scl.conf included)" 0 \
		"$LS --syntax-only -f /etc/syslog-ng/syslog-ng.conf"
else
	tap_skip "Debian's stock syslog-ng.conf parses" "syslog-ng-core is not installed"
fi
testcmd_rc "unknown option exits 1 (as syslog-ng)" 1 "$LS --bogus"
testcmd_rc "missing config exits 1" 1 "$LS -f /nonexistent.conf --syntax-only"
tap_done
