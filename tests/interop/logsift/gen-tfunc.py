#!/usr/bin/env python3
"""gen-tfunc.py: the template-function table (issue 25: "every template
function against 3.38's output for the same inputs, including empty,
missing and non-ASCII values"). Writes cases/tfuncs.conf and
cases/tfuncs.msgs: python3 gen-tfunc.py CASES_DIR. test_peer.sh runs the
case as any other: syslog-ng 3.38 and logsift get the same config and the
same messages and their destination files must be byte-identical.

One row of TABLE is one template expression. The config has one file
destination whose template writes, per message, one line per row:
"NAME [expansion]", NAME the row's label (function name and a number), so
a difference shows the row. Every message's values go through every row:
the SD-params t@1.l (a list), .x (a string), .n (a number), .e (empty),
${NOPE} never set; the messages carry empty, quoted, broken, non-ASCII
lists and strings.
"""
import os, sys

L = '${.SDATA.t@1.l}'
X = '${.SDATA.t@1.x}'
N = '${.SDATA.t@1.n}'
E = '${.SDATA.t@1.e}'

TABLE = [
    # basicfuncs: strings
    ('echo', '$(echo $PROGRAM $MSG)'),
    ('echo', '$(echo)'),
    ('echo', '$(echo ${NOPE})'),
    ('echo', '$(echo a\\ b \'c d\' "e  f" (g h))'),
    ('length', '$(length $PROGRAM $MSG ${NOPE})'),
    ('length', '$(length %s)' % X),
    ('uppercase', '$(uppercase $MSG %s)' % X),
    ('lowercase', '$(lowercase $MSG %s)' % X),
    ('uppercase', '$(uppercase ${NOPE} x)'),
    ('strip', '$(strip "  $MSG  ")'),
    ('strip', '$(strip ${NOPE} \' a \' \'   \' b %s)' % E),
    ('substr', '$(substr $MSG 0 3)'),
    ('substr', '$(substr $MSG -3)'),
    ('substr', '$(substr $MSG 1 -1)'),
    ('substr', '$(substr %s %s)' % (X, N)),
    ('substr', '$(substr ${NOPE} 0 1)'),
    ('substr', '$(substr $MSG 2)'),
    ('substr', '$(substr $MSG -4 2)'),
    ('substr', '$(substr $MSG 100)'),
    ('substr', '$(substr $MSG x)'),
    ('substr', '$(substr $MSG 0 -100)'),
    ('substr', '$(substr $MSG -2 -1)'),
    ('sanitize', '$(sanitize $HOST $PROGRAM $MSG)'),
    ('sanitize', '$(sanitize --invalid-chars \' ae\' --replacement - %s)' % X),
    ('sanitize', '$(sanitize -C -i , %s)' % L),
    ('sanitize', '$(sanitize -C -i x $MSG)'),
    ('sanitize', '$(sanitize --no-ctrl-chars $MSG)'),
    ('sanitize', '$(sanitize -r . -i / $MSG)'),
    ('replace-delimiter', '$(replace-delimiter \' ,\' _ %s)' % L),
    ('replace-delimiter', '$(replace-delimiter \'\' _ $MSG)'),
    ('padding', '$(padding %s 8)' % N),
    ('padding', '$(padding %s 7 ab)' % X),
    ('padding', '$(padding ${NOPE} 2 \'\')'),
    ('padding', '$(padding $PID 8 0)'),
    ('padding', '$(padding $MSG 3)'),
    # 3.38's tf_ipv4_to_int prints an uninitialised in_addr when inet_aton
    # fails: only addresses go in
    ('ipv4-to-int', '$(if (match("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$" value(".SDATA.t@1.x")))'
     ' $(ipv4-to-int %s) "not an address")' % X),
    ('context-length', '$(context-length)'),
    ('env', '$(env OPSKIT_TFUNC_UNSET ${NOPE})'),
    ('env', '$(env HOME)'),
    ('echo', '$(echo "$(uppercase $PID)")'),
    ('echo', '$(echo (a b) "(c) d")'),
    ('or', '$(or ${NOPE} %s %s $PROGRAM)' % (E, X)),
    ('or', '$(or)'),
    ('or', '$(or ${NOPE} %s)' % E),
    # cryptofuncs
    ('md5', '$(md5 $MSG)'),
    ('sha1', '$(sha1 ${NOPE})'),
    ('sha256', '$(sha256 %s)' % X),
    ('sha512', '$(sha512 --length 10 $MSG)'),
    ('hash', '$(hash -l 7 $PROGRAM %s)' % L),
    ('hash', '$(hash $MSG)'),
    ('md5', '$(md5 --length=1000 $MSG)'),
    ('sha1', '$(sha1 $MSG)'),
    # conditionals: the filter language inside a template
    ('if', '$(if ("${PROGRAM}" eq "app") "yes" "no")'),
    ('if', '$(if ("$(list-count %s)" == "3") "three: %s" "not: $(list-count %s)")' % (L, L, L)),
    ('if', '$(if (match("o" value("MSG"))) "$MSG" "")'),
    ('if', '$(if ("${NOPE}" eq "") "missing" "present")'),
    ('if', '$(if (program("app") and not host("h2")) $(uppercase %s) ${NOPE})' % X),
    ('if', '$(if (facility(user) or level(err..emerg)) "u/e" "other")'),
    ('if', '$(if ("%s" < "5") %s "big")' % (N, N)),
    ('grep', '$(grep ("${PROGRAM}" eq "app") ${MSG} ${PID})'),
    ('grep', '$(grep ("${PROGRAM}" ne "app") %s)' % X),
    ('grep', '$(grep -m 1 ("1" == "1") ${NOPE} x %s)' % E),
    ('grep', '$(grep --max-count=2 (message("e")) ${HOST} %s)' % L),
    # lists (3.38's list-funcs.c over its list scanner and str-repr)
    ('list-concat', '$(list-concat %s)' % L),
    ('list-concat', '$(list-concat %s %s ${NOPE} "a,b")' % (L, X)),
    ('list-concat', '$(list-concat)'),
    ('list-concat', '$(list-concat $MSG)'),
    ('list-append', '$(list-append %s %s ${NOPE} "q\'x" \'d"q\')' % (L, X)),
    ('list-append', '$(list-append "" a %s)' % E),
    ('list-append', '$(list-append)'),
    ('list-head', '$(list-head %s)' % L),
    ('list-head', '$(list-head ${NOPE} %s %s)' % (E, L)),
    ('list-tail', '$(list-tail %s)' % L),
    ('list-tail', '$(list-tail %s z)' % L),
    ('list-nth', '$(list-nth 0 %s)' % L),
    ('list-nth', '$(list-nth 2 %s)' % L),
    ('list-nth', '$(list-nth -1 %s)' % L),
    ('list-nth', '$(list-nth -5 %s)' % L),
    ('list-nth', '$(list-nth 10 %s)' % L),
    ('list-nth', '$(list-nth x %s)' % L),
    ('list-nth', '$(list-nth %s %s)' % (N, L)),
    ('list-count', '$(list-count %s)' % L),
    ('list-count', '$(list-count)'),
    ('list-count', '$(list-count ${NOPE})'),
    ('list-count', '$(list-count %s %s $MSG)' % (L, L)),
    ('list-slice', '$(list-slice 1: %s)' % L),
    ('list-slice', '$(list-slice :2 %s)' % L),
    ('list-slice', '$(list-slice 1:-1 %s)' % L),
    ('list-slice', '$(list-slice -2: %s)' % L),
    ('list-slice', '$(list-slice : %s)' % L),
    ('list-slice', '$(list-slice -100: %s)' % L),
    ('list-slice', '$(list-slice :-100 %s)' % L),
    ('list-slice', '$(list-slice x:1 %s)' % L),
    ('list-slice', '$(list-slice 1 %s x)' % L),
    ('list-slice', '$(list-slice %s: %s)' % (N, L)),
    ('implode', '$(implode \' \' %s)' % L),
    ('implode', '$(implode \'\' %s)' % L),
    ('implode', '$(implode \', \' %s x)' % L),
    ('explode', '$(explode \' \' $MSG)'),
    ('explode', '$(explode , %s)' % L),
    ('explode', '$(explode é %s)' % X),
    # list-search (3.38's list-funcs.c: the pattern is raw text, no macros)
    ('list-search', '$(list-search b ' + L + ')'),
    ('list-search', '$(list-search --mode prefix c ' + L + ')'),
    ('list-search', '$(list-search --mode substring , ' + L + ' a,b)'),
    ('list-search', "$(list-search --mode glob '*a*' " + L + ')'),
    ('list-search', "$(list-search --mode pcre '[b-y]' " + L + ')'),
    ('list-search', '$(list-search --start-index 1 b ' + L + ' b,x,b)'),
    ('list-search', '$(list-search --start-index=-1 a ' + L + ')'),
    ('list-search', "$(list-search '' " + L + ')'),
    ('list-search', '$(list-search $MSG $MSG ' + L + ')'),
    ('list-search', '$(list-search \u00f1 ' + L + ' ${NOPE})'),
    ('list-search', '$(list-search --mode pcre a ' + X + ')'),
    # url-encode, url-decode (GLib's g_uri_escape_string, g_uri_unescape_string)
    ('url-encode', '$(url-encode $MSG)'),
    ('url-encode', '$(url-encode ' + X + ' ' + L + ')'),
    ('url-encode', '$(url-encode ${NOPE} ' + E + ')'),
    ('url-encode', '$(url-encode)'),
    ('url-encode', "$(url-encode 'a-b_c.d~e f+g/h?i=j&k')"),
    ('url-decode', '$(url-decode $(url-encode $MSG ' + X + '))'),
    ('url-decode', "$(url-decode a%20b %41%4a%4A '%' '%zz' x%00y %C3%A9 + %2 ok)"),
    ('url-decode', '$(url-decode ' + X + ' ' + L + ' ${NOPE})'),
    ('url-decode', '$(url-decode %25%2541)'),
    # numeric-funcs.c over GenericNumber: int64, else "%.20f" doubles, NaN
    ('+', '$(+ ' + N + ' 1)'),
    ('-', '$(- ' + N + ' 10)'),
    ('*', '$(* ' + N + ' ' + N + ')'),
    ('/', '$(/ 100 ' + N + ')'),
    ('%', '$(% 17 ' + N + ')'),
    ('+', '$(+ 1.5 ' + N + ')'),
    ('/', '$(/ 7 2.0)'),
    ('/', '$(/ -7 2)'),
    ('%', '$(% -7 2)'),
    ('%', '$(% 7.5 2)'),
    ('*', '$(* 1e3 3)'),
    ('/', '$(/ 1 1e-20)'),
    ('-', '$(- 0x10 1)'),
    ('+', '$(+ 9223372036854775807 1)'),
    ('+', '$(+ 99999999999999999999 1)'),
    ('+', '$(+ 1)'),
    ('+', '$(+ 1 2 3)'),
    ('+', "$(+ ' 5' 1)"),
    ('-', '$(- $PID ${NOPE})'),
    ('*', '$(* $PID 1000)'),
    ('+', '$(+ $(- 10 3) $(* 2 3))'),
    # modules/json: format-json and format-flat-json
    ('format-json', '$(format-json --scope sdata)'),
    ('format-json', '$(format-json a.b=%s a.c=x --pair n=int(%s))' % (X, N)),
    ('format-flat-json', '$(format-flat-json --scope sdata)'),
    ('format-flat-json', '$(format-flat-json --scope rfc5424 --exclude DATE --exclude *.x)'),
    ('format-flat-json', '$(format-flat-json a.b=%s a.c.d=x --pair n=int(%s) --pair l=list(%s))'
     % (X, N, L)),
    ('format-flat-json', '$(format-flat-json --key .SDATA.t@1.* --rekey .* --shift 1 e=%s)' % E),
    ('format-flat-json', '$(format-flat-json --key PROGRAM --leave-initial-dot --key .SDATA.t@1.l)'),
]

# (program, pid, msgid, SD params t@1 l/x/n/e as they are on the wire, msg)
MSGS = [
    ('app', '12', 'a,b,c', 'Hello World', '1', '', 'Hello World'),
    ('app', '7', '\'a b\',\\"c,d\\",e', 'x\\"y', '-1', '', 'quoted lists'),
    ('app', '-', ',,x,,y,', '10.0.0.1', '3', '', ''),
    ('srv', '1', '', '', '', '', 'empty values'),
    ('caf\\xc3\\xa9', '99', 'caf\\xc3\\xa9,\\xc3\\xb1,\\xe6\\x97\\xa5\\xe6\\x9c\\xac',
     '\\xc3\\x89t\\xc3\\xa9 stra\\xc3\\x9fe', '2', '', '\\xc3\\x89t\\xc3\\xa9 \\xc4\\xb0stanbul'),
    ('app', '5', '\\"unterminated,a', 'a\\\\\\\\b', 'abc', '', 'broken quote'),
    ('app', '6', '\'a\'junk,b,c', '255.255.255.255', '-3', '', 'junk after quote'),
    ('app', '8', 'a b, c ,d\\\\\\\\e', '  spaced  ', '100', '', '  spaced out  '),
    ('srv', '9', 'one', 'one', '0', '', 'e e e'),
    ('app', '10', 'x,\\"\\",y', 'x', '4', '', 'quoted empty'),
    ('app', '12345', 'a', '0.0.0.0', '5', '', 'a,b c/d\\te'),
]


def cstr(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def main(out):
    tmpl = ''.join('%s/%d [%s]\\n' % (name, i, expr.replace('\\', '\\\\').replace('"', '\\"'))
                   for i, (name, expr) in enumerate(TABLE))
    with open(os.path.join(out, 'tfuncs.conf'), 'w') as f:
        f.write('# kind: unix-dgram\n# trace: no\n')
        f.write('# Made by gen-tfunc.py from its table (do not edit): every template\n')
        f.write('# function logsift implements, one line per row per message.\n')
        f.write('@version: 3.38\n')
        f.write('options { stats-freq(0); };\n')
        f.write('source s { unix-dgram("@DIR@/in.sock" flags(syslog-protocol)); };\n')
        f.write('destination d { file("@DIR@/out.log" template("%s\\n")); };\n' % tmpl)
        f.write('log { source(s); destination(d); };\n')
    with open(os.path.join(out, 'tfuncs.msgs'), 'w') as f:
        for prog, pid, l, x, n, e, msg in MSGS:
            pri = 11 if prog == 'srv' else 13
            f.write('<%d>1 2026-11-24T05:15:55Z h1 %s %s ID1 [t@1 l="%s" x="%s" n="%s" e="%s"] %s\n'
                    % (pri, prog, pid, l, x, n, e, msg))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'cases'))
