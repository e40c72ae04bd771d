#!/bin/sh
# test_lang.sh: rewrite/parser/if language features that have no byte
# output to compare (the outputs are compared with syslog-ng 3.38 in
# tests/interop/logsift/cases/{rewrite,parsers,lang-*}):
# - 3.38 features logsift does not run are refused at start-up (exit 1,
#   file:line, "is not supported by logsift"), and syslog-ng 3.38 accepts the
#   same config, so each refusal is of a real feature, not a typo: one or
#   more of each family (parsers and their options, rewrites, template
#   functions and format-json options, source and destination drivers,
#   driver options, global options, log-path constructs);
# - the trace shows parser and rewrite steps as nodes, with 3.38's -t
#   wording for the rule lines (lib/parser/parser-expr.c,
#   lib/rewrite/rewrite-expr.c, rewrite-subst.c) and the values set.
. "$OPSKIT_SOURCE/tests/tap.sh"
LS="$OPSKIT_BUILD/logsift/logsift"
SNG=$(command -v syslog-ng || echo /usr/sbin/syslog-ng)
[ -x "$SNG" ] || SNG=""

# refused NAME STATEMENT WHAT: STATEMENT (line 2 of a config) is refused
refused() {
	c="$TAP_TMP/$1.conf"
	printf '@version: 3.38\n%s\n' "$2" >"$c"
	out=$("$LS" --syntax-only -f "$c" 2>&1)
	rc=$?
	peer="syslog-ng not installed"
	if [ -n "$SNG" ]; then
		"$SNG" --syntax-only -f "$c" >/dev/null 2>&1 && peer=accepts || peer="rejects it"
	fi
	case "$out" in
	*"$3 is not supported by logsift in $c:2:"* | *"$3 is not supported by logsift, error_pos="*" in $c:2:"*)
		if [ $rc = 1 ] && [ "$peer" != "rejects it" ]; then
			tap_ok "refused at start-up: $3 (exit 1, file:line; syslog-ng 3.38 $peer)"
			return
		fi ;;
	esac
	tap_fail "refused at start-up: $3" "rc=$rc peer=$peer: $out"
}
refused date "parser p { date-parser(format(\"%c\")); };" "date-parser(format()) conversion %c"
refused dateweek "parser p { date-parser(format(\"%Y %U\")); };" "date-parser(format()) conversion %U"
refused guesstz "parser p { date-parser(flags(guess-timezone)); };" "date-parser(flags(guess-timezone))"
# 3.38 takes regexp-parser(type(glob)) and type(string) and then writes a
# PCRE name prefix into the string/glob matcher: heap corruption, so its
# --syntax-only aborts (free(): invalid pointer) or not, by heap layout.
# logsift refuses them; only its side is checked here.
c="$TAP_TMP/regexp.conf"
printf '@version: 3.38\nparser p { regexp-parser(patterns("(?<x>a)") type(glob)); };\n' >"$c"
out=$("$LS" --syntax-only -f "$c" 2>&1)
rc=$?
case "$rc $out" in
"1 "*"regexp-parser(type()) other than pcre is not supported by logsift in $c:2:"*)
	tap_ok "refused at start-up: regexp-parser(type(glob)) (exit 1, file:line; 3.38 corrupts its heap)" ;;
*) tap_fail "refused at start-up: regexp-parser(type(glob))" "rc=$rc: $out" ;;
esac
refused setpri "rewrite r { set-pri(\"5\"); };" "rewrite set-pri()"
refused setsev "rewrite r { set-severity(\"err\"); };" "rewrite set-severity()"
refused syslogpraw "parser p { syslog-parser(flags(store-raw-message)); };" \
	"syslog-parser(flags(store-raw-message))"
refused syslogpgtz "parser p { syslog-parser(flags(guess-timezone)); };" \
	"syslog-parser(flags(guess-timezone))"
refused dbp "parser p { db-parser(file(\"/dev/null\")); };" "db-parser()"
refused progthrottle "destination d { program(\"cat\" throttle(5)); };" "throttle()"
refused unixdst "destination d { unix-stream(\"/nonexistent/s\"); };" "unix-stream() destination driver"
refused journal "source s { systemd-journal(); };" "systemd-journal() source driver"
refused throttle "destination d { file(\"/dev/null\" throttle(5)); };" "throttle()"
refused multiline "source s { file(\"/dev/null\" multi-line-mode(indented)); };" "multi-line-mode()"
refused uniqid "options { use-uniqid(yes); };" "use-uniqid()"
refused rename "rewrite r { rename(\"a\" \"b\"); };" "rewrite rename()"
refused stray "parser p { kv-parser(extract-stray-words-into(\"w\")); };" \
	"kv-parser(extract-stray-words-into())"
refused ifblock "log { if { filter { level(err); }; }; };" "if { ... } without a condition"
refused nocast "destination d { file(\"/dev/null\" template(\"\$(format-json --no-cast)\")); };" \
	"\$(format-json) --no-cast"
refused pmacro "destination d { file(\"/dev/null\" template(\"\$(format-json --key P_*)\")); };" \
	"\$(format-json): macro P_DATE"
refused tfround "destination d { file(\"/dev/null\" template(\"\$(round \$MSG)\")); };" \
	"template function \$(round)"
refused tfb64 "destination d { file(\"/dev/null\" template(\"\$(base64-encode \$HOST)\")); };" \
	"template function \$(base64-encode)"

C="$TAP_TMP/t.conf"
cat >"$C" <<'CONF'
@version: 3.38
source s { unix-dgram("/nonexistent/l.sock"); };
parser p_kv { kv-parser(prefix("kv.")); };
rewrite r_host { set("${kv.host}" value("HOST") condition(match("." value("kv.host")))); subst("a" "A" flags(global)); };
destination d { file("/nonexistent/out.log"); };
log { source(s); parser(p_kv); rewrite(r_host); destination(d); };
CONF
testcmd "trace: parser and rewrite steps as nodes, with the values they set" \
	"$LS --test -f $C | sed -n '3,15p'" \
">>>>>> parser rule evaluation begin; rule='p_kv', location='$C:3:15'
Parser value; name='kv.host', value='web9'
Parser value; name='kv.a', value='x	y'
<<<<<< parser rule evaluation result; result='Forwarding message to the next LogPipe', rule='p_kv', location='$C:3:15'
>>>>>> rewrite rule evaluation begin; rule='r_host', location='$C:4:18'
Filter rule evaluation begins; filter_rule='#anon-filter0'
Filter node evaluation result; filter_result='match'
Filter rule evaluation result; filter_result='match', filter_rule='#anon-filter0'
Rewrite set; value='HOST', new_value='web9', location='$C:4:18'
<<<<<< rewrite rule evaluation finished; rule='r_host', location='$C:4:18'
>>>>>> rewrite rule evaluation begin; rule='r_host', location='$C:4:90'
Performing subst() rewrite; rule='r_host', value='MESSAGE', input='host=web9 a=\"x	y\"', type='pcre', pattern='a', new_value='host=web9 A=\"x	y\"', location='$C:4:90'
<<<<<< rewrite rule evaluation finished; rule='r_host', location='$C:4:90'
" '<13>Nov 24 05:15:55 app: host=web9 a="x	y"
'
testcmd "trace: an unmatched condition() skips the rewrite and says so" \
	"$LS --test -f $C | grep -c 'Rewrite condition unmatched, skipping rewrite; value=.HOST., rule=.r_host.'" \
	"1
" '<13>Nov 24 05:15:55 app: nothing here
'
tap_done
