#!/usr/bin/env python3
"""gen-lang.py: writes the messages of the lang-* cases (realistic configs
for rewrite, parsers and if/else; see cases/lang-*.conf). Fixed seed, so the
committed .msgs files are reproducible: python3 gen-lang.py CASES_DIR.

The realistic configs (issue 25; test_peer.sh compares each file with
syslog-ng 3.38's), each cases/NAME.conf says what it does in its header:

  case               messages  input            language
  lang-firewall      240       kv= firewall     kv-parser, rewrite, if/elif/else
  lang-apache        240       Apache combined  csv-parser x2, drop-invalid, fallback
  lang-nginx         240       nginx '|' log    csv-parser null(), subst, set-tag
  lang-rename        240       mixed syslog     host/program renaming rewrites
  lang-ifelse        240       mixed syslog     nested if/elif/else with rewrites
  lang-jsonapp       220       JSON app logs    json-parser, routing on a field
  lang-central-json  220       mixed syslog     format-json rfc5424 per host
  lang-kv-json       220       kv= firewall     kv-parser + format-json, int()
  lang-cee           220       @cee: JSON       json-parser(marker()), if/elif
  lang-envelope      220       cloud envelope   json-parser(extract-prefix())
  lang-sdata-json    220       RFC 5424 + SD    format-json sdata, $SEQNUM
  lang-apache-json   220       Apache combined  csv-parser + typed format-json
  lang-json-rewrite  220       JSON app logs    json-parser + set/subst/unset
  lang-regexp        230       sshd/postfix     regexp-parser x3: prefix, template,
                                                flags, several patterns, $0..$N
  lang-tags          240       mixed syslog     set-tag()/clear-tag() templates, tags()
                                                routing, $TAGS order and quoting

Not a realistic config, made here too: tags-limit (1400 messages, up to 25 new
tag names each: 3.38's registry and per-message bounds).
"""
import os, random, re, sys

R = random.Random(25)
HOSTS = ['web1', 'web2', 'db1', 'fw-edge', 'gw.example.org', 'caf\\xc3\\xa9-srv']
IPS = ['10.0.0.%d' % i for i in range(1, 20)] + ['192.168.1.7', '2001:db8::1', '-']
USERS = ['-', 'alice', 'bob', 'j\\xc3\\xb6rg', '']
PATHS = ['/', '/index.html', '/api/v1/items?id=7&x=%20y', '/login', '/static/app.js',
         '/\\xc3\\xa9t\\xc3\\xa9', '/a path/with spaces', '/q?"quoted"']
AGENTS = ['Mozilla/5.0 (X11; Linux x86_64)', 'curl/7.88.1', '-', 'Bot "evil" \\\\ agent', '']
STAMP = 'Nov 24 05:%02d:%02d'


def pri(fac, sev):
    return '<%d>' % (fac * 8 + sev)


def bsd(fac, sev, host, prog, msg, i):
    return '%s%s %s %s: %s' % (pri(fac, sev), STAMP % (i // 60 % 60, i % 60), host, prog, msg)


def firewall(n):
    out = []
    for i in range(n):
        act = R.choice(['ACCEPT', 'DROP', 'REJECT', 'accept'])
        kv = ['action=%s' % act, 'src=%s' % R.choice(IPS), 'dst=%s' % R.choice(IPS),
              'proto=%s' % R.choice(['TCP', 'UDP', 'ICMP', '']),
              'spt=%d' % R.randrange(1, 65536), 'dpt=%d' % R.choice([22, 80, 443, 53, 0])]
        if R.random() < 0.3:
            kv.append('rule="%s"' % R.choice(['allow web', 'deny all', 'x "y" z', '']))
        if R.random() < 0.2:
            kv.append('iface=%s' % R.choice(['eth0', 'wg0', "'lo'", '"broken']))
        if R.random() < 0.1:
            kv.insert(R.randrange(len(kv)), 'stray words here')
        sep = R.choice([' ', ', ', ' ', ' '])
        out.append(bsd(4, R.choice([4, 5, 6]), R.choice(HOSTS[:4]), 'kernel',
                       'FW: ' + sep.join(kv), i))
    return out


def apache(n):
    out = []
    for i in range(n):
        req = '%s %s HTTP/1.1' % (R.choice(['GET', 'POST', 'HEAD']), R.choice(PATHS))
        if R.random() < 0.05:
            req = R.choice(['-', '', 'GARBAGE'])
        status = R.choice([200, 200, 200, 301, 304, 404, 500, 503])
        size = R.choice(['-', str(R.randrange(0, 90000))])
        line = '%s %s %s [24/Nov/2026:05:%02d:%02d +0000] "%s" %d %s "%s" "%s"' % (
            R.choice(IPS), '-', R.choice(USERS) or '-', i // 60 % 60, i % 60, req, status,
            size, R.choice(['-', 'https://example.org/']), R.choice(AGENTS))
        if R.random() < 0.03:
            line = line[:R.randrange(5, len(line))]  # truncated line
            line = re.sub(r'\\(x[0-9a-f]?)?$', '', line)  # not inside an escape
        out.append(bsd(16 + R.randrange(0, 3), 6, R.choice(HOSTS[:2]), 'apache', line, i))
    return out


def nginx(n):
    out = []
    for i in range(n):
        f = [R.choice(IPS), '2026-11-24T05:%02d:%02d+00:00' % (i // 60 % 60, i % 60),
             R.choice(['GET', 'POST', 'PUT']), R.choice(PATHS), str(R.choice([200, 404, 502])),
             '%.3f' % R.random(), R.choice(['-', 'upstream1', 'up stream'])]
        if R.random() < 0.05:
            f.append('extra')
        if R.random() < 0.05:
            f = f[:R.randrange(1, len(f))]
        out.append(bsd(23, 6, 'proxy1', 'nginx', '|'.join(f), i))
    return out


def mixed(n):
    out = []
    progs = ['sshd', 'CRON', 'postfix/smtpd', 'kernel', 'app-old', 'legacy_app', 'caf\\xc3\\xa9']
    msgs = ['Accepted publickey for alice from 10.0.0.5 port 5022 ssh2',
            'Failed password for invalid user admin from 10.0.0.9 port 22 ssh2',
            '(root) CMD (run-parts /etc/cron.hourly)', 'connect from unknown[10.0.0.3]',
            'user=bob action=login result=ok', 'disk /dev/sda1 is 91% full',
            'ERROR something broke: code=17', '', '\\xc3\\x89t\\xc3\\xa9 warning']
    for i in range(n):
        host = R.choice(HOSTS + ['OLD-NAME', 'old-name.lan'])
        prog = R.choice(progs)
        pid = '' if R.random() < 0.3 else '[%d]' % R.randrange(1, 40000)
        m = R.choice(msgs)
        line = '%s%s %s %s%s: %s' % (pri(R.randrange(0, 24), R.randrange(0, 8)),
                                     STAMP % (i // 60 % 60, i % 60), host, prog, pid, m)
        out.append(line)
    return out


SERVICES = ['api', 'auth', 'billing', 'worker', 'caf\\xc3\\xa9']
LEVELS = ['debug', 'info', 'info', 'warn', 'error', 'fatal', 'INFO', '']


def jstr(s):
    """a JSON string literal of s (already \\x-escaped for peer.py)"""
    return '"' + s.replace('\\"', '"').replace('"', '\\\\"') + '"'


def app_json(i):
    fields = ['"ts":"2026-11-24T05:%02d:%02d.%03dZ"' % (i // 60 % 60, i % 60, R.randrange(1000)),
              '"level":%s' % jstr(R.choice(LEVELS)),
              '"service":%s' % jstr(R.choice(SERVICES)),
              '"msg":%s' % jstr(R.choice(['request done', 'user "bob" logged in', 'timeout after 30s',
                                          'caf\\xc3\\xa9 ready', 'tab\\there', '']))]
    if R.random() < 0.6:
        fields.append('"http":{"method":%s,"status":%d,"path":%s,"ms":%s}' % (
            jstr(R.choice(['GET', 'POST'])), R.choice([200, 201, 404, 500, 503]),
            jstr(R.choice(PATHS)), R.choice(['12', '0.5', '1e3', '-1', 'null'])))
    if R.random() < 0.3:
        fields.append('"tags":[%s]' % ','.join(jstr(t) for t in R.sample(['a', 'b c', 'd,e', "f'g", ''], R.randrange(0, 4))))
    if R.random() < 0.1:
        fields.append('"ctx":{"user":{"id":%d,"roles":["admin",{"x":1}]},"ok":%s}' % (
            R.randrange(1000), R.choice(['true', 'false', 'null'])))
    if R.random() < 0.1:
        fields.append('"trace_id":%s' % jstr('%032x' % R.getrandbits(128)))
    R.shuffle(fields)
    body = '{' + ','.join(fields) + '}'
    if R.random() < 0.05:
        body = body[:R.randrange(1, len(body))]  # truncated JSON
    if R.random() < 0.03:
        body = 'plain text line %d' % i
    return body


def jsonapp(n):
    out = []
    for i in range(n):
        host = R.choice(['app1', 'app2', 'k8s-node-3'])
        out.append(bsd(1, R.choice([3, 4, 6]), host, R.choice(['app', 'svc']) + '[%d]' % R.randrange(1, 9999), app_json(i), i))
    return out


def cee(n):
    out = []
    for i in range(n):
        body = app_json(i)
        if R.random() < 0.8:
            body = R.choice(['@cee:', '@cee: ', '@cee:  ']) + body
        out.append(bsd(3, R.choice([3, 6]), R.choice(HOSTS[:3]), 'cee-app', body, i))
    return out


def envelope(n):
    out = []
    for i in range(n):
        recs = ','.join(app_json(i * 3 + k) for k in range(R.randrange(0, 3)))
        body = '{"source":"cloud","records":[%s],"meta":{"region":%s,"seq":%d}}' % (
            recs, jstr(R.choice(['eu-west', 'us-east', ''])), i)
        if R.random() < 0.1:
            body = '{"source":"cloud","records":{"not":"a list"}}'
        out.append(bsd(16, 6, 'collector', 'cloudlogs', body, i))
    return out


def sd5424(n):
    out = []
    for i in range(n):
        sd = ''
        if R.random() < 0.7:
            sd += '[origin@32473 ip="%s" software="%s"]' % (R.choice(IPS), R.choice(['app', 'x y', 'caf\\xc3\\xa9']))
        if R.random() < 0.5:
            sd += '[meta sequenceId="%d" sysUpTime="%d"]' % (i, R.randrange(100000))
        if R.random() < 0.4:
            sd += '[exampleSDID@32473.1.2 iut="3" eventSource="Application" eventID="%d"]' % R.randrange(2000)
        if R.random() < 0.2:
            sd += '[custom k.with.dots="v" esc="a\\\\"b\\\\]c"]'
        out.append('<%d>1 2026-11-24T05:%02d:%02d.%06dZ %s %s %s %s %s %s' % (
            R.randrange(0, 192), i // 60 % 60, i % 60, R.randrange(1000000), R.choice(HOSTS[:4] + ['-']),
            R.choice(['app', 'cron', '-', 'su']), R.choice(['-', str(R.randrange(1, 99999))]),
            R.choice(['-', 'ID47', 'LOGIN']), sd or '-',
            R.choice(['', 'An application event log entry...', 'caf\\xc3\\xa9 \\xff bad', 'user=x ok'])))
    return out


def auth(n):
    """sshd, postfix/smtpd and other lines for lang-regexp's patterns"""
    out = []
    users = ['alice', 'root', 'j\\xc3\\xb6rg', '', 'admin', 'x y']
    ssh = ['Accepted publickey for {u} from {ip} port {p} ssh2',
           'Accepted password for {u} from {ip} port {p} ssh2',
           'Failed password for {u} from {ip} port {p} ssh2',
           'Failed password for invalid user {u} from {ip} port {p} ssh2',
           'Invalid user {u} from {ip}', 'Connection closed by {ip} port {p} [preauth]',
           'ACCEPTED publickey for {u} from {ip} port {p}']
    pf = ['{q}: client=unknown[{ip}]', '{q}: to=<{u}@example.org>, relay=local',
          '{q}: FROM=<{u}@caf\\xc3\\xa9.example>', 'connect from unknown[{ip}]',
          '{q}: reject: RCPT from unknown[{ip}]: 554 5.7.1']
    hosts = ['web1', 'web22', 'db3', 'fw-edge', 'gw.example.org', 'caf\\xc3\\xa9-srv', 'x']
    for i in range(n):
        kind = R.randrange(4)
        u = R.choice(users)
        ip = R.choice(IPS)
        q = '%X' % R.randrange(0x10000, 0xFFFFFFF)
        if kind <= 1:
            prog, m = 'sshd', R.choice(ssh)
        elif kind == 2:
            prog, m = 'postfix/smtpd', R.choice(pf)
        else:
            prog, m = R.choice(['CRON', 'kernel', 'app']), R.choice(['tick', '', 'Accepted nothing'])
        m = m.format(u=u, ip=ip, p=R.randrange(1, 65536), q=q)
        out.append('%s%s %s %s[%d]: %s' % (pri(R.choice([4, 10, 2, 3]), R.randrange(0, 8)),
                                           STAMP % (i // 60 % 60, i % 60), R.choice(hosts), prog,
                                           R.randrange(1, 40000), m))
    return out


def tags_limit(n):
    # mostly distinct words, some empty and non-ASCII messages, a few repeats
    out = []
    for i in range(n):
        m = ['w%d' % i, '', '\\xc3\\xa9t\\xc3\\xa9 %d' % i, 'w%d' % (i // 2)][i % 7 % 4]
        out.append('<13>%s h p: %s' % (STAMP % (i // 60 % 60, i % 60), m))
    return out


def main():
    d = sys.argv[1]
    for name, gen in (('lang-firewall', firewall), ('lang-apache', apache),
                      ('lang-nginx', nginx), ('lang-rename', mixed), ('lang-ifelse', mixed)):
        with open(os.path.join(d, name + '.msgs'), 'w') as f:
            f.write('\n'.join(gen(240)) + '\n')
    # second set (format-json, json-parser): its own seed, the first set unchanged
    global R
    R = random.Random(2538)
    for name, gen in (('lang-jsonapp', jsonapp), ('lang-central-json', mixed), ('lang-kv-json', firewall),
                      ('lang-cee', cee), ('lang-envelope', envelope), ('lang-sdata-json', sd5424),
                      ('lang-apache-json', apache), ('lang-json-rewrite', jsonapp)):
        with open(os.path.join(d, name + '.msgs'), 'w') as f:
            f.write('\n'.join(gen(220)) + '\n')
    # third set (regexp-parser): its own seed
    R = random.Random(2539)
    with open(os.path.join(d, 'lang-regexp.msgs'), 'w') as f:
        f.write('\n'.join(auth(230)) + '\n')
    # fourth set (templated tags): its own seed
    R = random.Random(2540)
    with open(os.path.join(d, 'lang-tags.msgs'), 'w') as f:
        f.write('\n'.join(mixed(240)) + '\n')
    with open(os.path.join(d, 'tags-limit.msgs'), 'w') as f:
        f.write('\n'.join(tags_limit(1400)) + '\n')


main()
