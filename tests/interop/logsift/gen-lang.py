#!/usr/bin/env python3
"""gen-lang.py: writes the messages of the lang-* cases (realistic configs
for rewrite, parsers and if/else; see cases/lang-*.conf). Fixed seed, so the
committed .msgs files are reproducible: python3 gen-lang.py CASES_DIR."""
import os, random, sys

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


def main():
    d = sys.argv[1]
    for name, gen in (('lang-firewall', firewall), ('lang-apache', apache),
                      ('lang-nginx', nginx), ('lang-rename', mixed), ('lang-ifelse', mixed)):
        with open(os.path.join(d, name + '.msgs'), 'w') as f:
            f.write('\n'.join(gen(240)) + '\n')


main()
