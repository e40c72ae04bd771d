#!/usr/bin/env python3
"""test_http.py: logsift's http() destination next to syslog-ng 3.38's, both
sending to tests/logsift/http_receiver.py on loopback (TAP on stdout).

The receiver only injects faults (200/500/429/410/504/timeout on command)
and records every request; what is right comes from syslog-ng 3.38 given
the same config and messages: request bodies and headers byte for byte
(batched, single, batch-bytes), and the same request sequence under faults
(which batch is retried, which is dropped). logsift alone: no loss when the
receiver answers late or is down while logsift is SIGKILLed with a
reliable disk-buffer, TLS with an openssl-made CA (verified, client
certificate, refused on a certificate from another CA), start-up refusals.

Without syslog-ng or its http module the comparisons are skipped with a
message; every process started here is stopped here.
"""
import base64, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time

BUILD = os.environ.get('OPSKIT_BUILD', 'build')
LS = os.path.join(BUILD, 'logsift', 'logsift')
HERE = os.path.dirname(os.path.abspath(__file__))
RECV = os.path.join(HERE, 'http_receiver.py')
SNG = shutil.which('syslog-ng') or '/usr/sbin/syslog-ng'
N = 0
FAILED = 0
PROCS = []
LOGS = []  # logsift's stderr files: a sanitizer build reports there


TAP_LOCK = threading.Lock()


def tap(ok, name, detail=''):
    with TAP_LOCK:
        tap_locked(ok, name, detail)


def tap_locked(ok, name, detail):
    global N, FAILED
    N += 1
    if not ok:
        FAILED += 1
    print(('ok %d - %s' if ok else 'not ok %d - %s') % (N, name))
    if not ok and detail:
        for l in str(detail).splitlines()[:30]:
            print('# ' + l)
    sys.stdout.flush()


def skip(name, why):
    global N
    with TAP_LOCK:
        N += 1
        print('ok %d - %s # SKIP %s' % (N, name, why))


def have_peer():
    if not os.path.exists(SNG):
        return False
    r = subprocess.run([SNG, '--module-registry'], capture_output=True, text=True)
    return re.search(r'^Module: http\nStatus: ok', r.stdout, re.M) is not None


def wait(pred, secs=30):
    """pred() true, polled; False only after a generous deadline (no timing asserted)."""
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


class Receiver:
    def __init__(self, d, port=0, extra=()):
        self.d = d
        os.makedirs(d, exist_ok=True)
        try:
            os.unlink(os.path.join(d, 'port'))
        except FileNotFoundError:
            pass
        self.err = open(os.path.join(d, 'recv.err'), 'a')
        self.p = subprocess.Popen([sys.executable, RECV, d, '--port', str(port)] + list(extra),
                                  stderr=self.err)
        PROCS.append(self.p)
        pf = os.path.join(d, 'port')
        if not wait(lambda: os.path.exists(pf) or self.p.poll() is not None):
            raise RuntimeError('receiver did not start')
        if self.p.poll() is not None:
            raise RuntimeError('receiver exited')
        self.port = int(open(pf).read())

    def ctl(self, path, tls=False):
        s = socket.create_connection(('127.0.0.1', self.port))
        s.sendall(('GET /_ctl/%s HTTP/1.0\r\n\r\n' % path).encode())
        s.recv(4096)
        s.close()

    def requests(self):
        try:
            with open(os.path.join(self.d, 'requests.jsonl')) as f:
                out = []
                for l in f:
                    r = json.loads(l)
                    r['body'] = base64.b64decode(r['body'])
                    out.append(r)
                return out
        except FileNotFoundError:
            return []

    def stop(self):
        self.p.terminate()
        self.p.wait()


class Daemon:
    def __init__(self, who, d, conf, fresh=True):
        self.who, self.d = who, d
        path = os.path.join(d, who + '.conf')
        if fresh:
            with open(path, 'w') as f:
                f.write(conf)
        self.errname = os.path.join(d, who + '.err')
        if who == 'ours':
            LOGS.append(self.errname)
        self.err = open(self.errname, 'a')
        if who == 'ours':
            cmd = [LS, '-f', path, '--stats']
        else:
            cmd = [SNG, '-f', path, '--no-caps', '-F', '-e', '--persist-file=' + d + '/persist',
                   '--pidfile=' + d + '/pid', '--control=' + d + '/ctl']
        self.p = subprocess.Popen(cmd, stdout=self.err, stderr=self.err)
        PROCS.append(self.p)
        sock = os.path.join(d, 'in.sock')
        wait(lambda: os.path.exists(sock) or self.p.poll() is not None)

    def stats(self, dest='d'):
        """written/dropped/queued of destination dest."""
        out = {}
        if self.who == 'peer':
            t = subprocess.run(['syslog-ng-ctl', 'stats', '-c', self.d + '/ctl'],
                               capture_output=True, text=True).stdout
            for l in t.splitlines():
                f = l.split(';')
                if len(f) == 6 and f[1].startswith(dest + '#'):
                    out[f[4]] = out.get(f[4], 0) + int(f[5])
            return out
        def dumps():
            with open(self.errname) as f:
                return [l for l in f if l.startswith('destination;%s;' % dest)]
        before = len(dumps())
        self.p.send_signal(signal.SIGUSR1)
        wait(lambda: len(dumps()) > before or self.p.poll() is not None, 10)
        for kv in (dumps() or [''])[-1].strip().split(';')[2:]:
            k, v = kv.split('=')
            out[k] = int(v)
        return out

    def log(self):
        with open(self.errname, errors='replace') as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def send(d, msgs):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for m in msgs:
        s.sendto(m.encode(), os.path.join(d, 'in.sock'))
    s.close()


def msg(i, fac=1, sev=5, host='web1', prog='app'):
    return '<%d>Jan  2 03:04:05 %s %s[%d]: seq %04d payload "q" \\ x' % (fac * 8 + sev, host, prog, 100 + i, i)


def conf(d, dest_opts):
    return ('@version: 3.38\n'
            'source s { unix-dgram("%s/in.sock"); };\n'
            'destination d { http(%s); };\n'
            'log { source(s); destination(d); };\n') % (d, dest_opts)


def seqs(body):
    return [int(x) for x in re.findall(rb'seq (\d{4})', body)]


def run_both(name, dest_opts, msgs, want_requests, fault=None, peer=True):
    """The same config and messages through each daemon into its own
    receiver, both at once: {who: (requests, daemon stats, daemon log)}."""
    out = {}

    def one(who):
        d = tempfile.mkdtemp(prefix=name + '.' + who + '.', dir=TMP)
        r = Receiver(d)
        if fault:
            r.ctl('push?codes=' + fault)
        dm = Daemon(who, d, conf(d, dest_opts.replace('PORT', str(r.port))))
        send(d, msgs)
        t0 = time.time()
        if callable(want_requests):
            wait(lambda: want_requests(r.requests()), 60)
        else:
            wait(lambda: len(r.requests()) >= want_requests, 60)
        if os.environ.get('HTTP_TIMES'):
            print('# %s %s: %.1f s' % (name, who, time.time() - t0))
        # a request more than wanted would show up here too
        time.sleep(0.3)
        st = dm.stats()
        out[who] = (r.requests(), st, dm.log())
        dm.stop()
        r.stop()

    ts = [threading.Thread(target=one, args=(w,)) for w in (['ours', 'peer'] if peer else ['ours'])]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def strip_ua(hs):
    # the product name differs, the port is each run's own receiver's
    return [h for h in hs if h[0].lower() not in ('user-agent', 'host')]


def compare(name, res, headers=True):
    ours, peer = res['ours'][0], res['peer'][0]
    a = [(q['method'], q['path'], q['body']) for q in ours]
    b = [(q['method'], q['path'], q['body']) for q in peer]
    ok = a == b and len(a) > 0
    detail = 'ours %r\npeer %r' % (a[:4], b[:4])
    if ok and headers:
        ha = [strip_ua(q['headers']) for q in ours]
        hb = [strip_ua(q['headers']) for q in peer]
        ok = ha == hb
        detail = 'ours %r\npeer %r' % (ha[:2], hb[:2])
    tap(ok, name, detail + '\n' + res['ours'][2][-1500:])


BODY = r'body("{\"m\":\"$MSG\",\"h\":\"$HOST\",\"p\":\"$PROGRAM\",\"s\":\"$LEVEL\"}")'


def t_compare(peer):
    if not peer:
        for n in ('batched', 'single', 'batch-bytes', 'faults'):
            skip('http() next to syslog-ng 3.38: ' + n, 'syslog-ng 3.38 with its http module (syslog-ng-mod-http) is not installed')
        return
    res = run_both('batch', 'url("http://127.0.0.1:PORT/_bulk?x=1") batch-lines(5) batch-timeout(20000) '
                   'body-prefix("[") body-suffix("]\\n") delimiter(",\\n") headers("X-Test: 1", "Content-Type: application/json") ' + BODY,
                   [msg(i) for i in range(20)], 4)
    compare('batched: batch-lines(5) body-prefix/suffix/delimiter/body()/headers(): 4 requests, bodies and headers byte-identical to syslog-ng 3.38', res)
    res = run_both('single', 'url("http://127.0.0.1:PORT/one") method("PUT") user("u") password("p w")',
                   [msg(0, 4, 2, 'db1', 'sshd'), msg(1, 16, 7, 'h2', 'cron'), msg(2, 23, 0, 'h3', 'x-y')], 3)
    compare('no batching: one PUT per message, X-Syslog-* headers, basic auth, $MESSAGE body: byte-identical to syslog-ng 3.38', res)
    long = '<13>Jan  2 03:04:05 web1 app[1]: seq 9999 ' + 'L' * 300
    res = run_both('bytes', 'url("http://127.0.0.1:PORT/") batch-lines(100) batch-bytes(200) batch-timeout(20000) body-suffix("END")',
                   [msg(i) for i in range(12)] + [long],
                   lambda rq: 9999 in [s for q in rq for s in seqs(q['body'])])
    compare('batch-bytes(200): batches cut where 3.38 cuts them (the message crossing the limit goes with its batch)', res)
    # README's fleet example (an Elasticsearch _bulk body), plain http here
    res = run_both('bulk', 'url("http://127.0.0.1:PORT/_bulk") method("POST") user("relay") password("secret") '
                   'headers("Content-Type: application/x-ndjson") body-suffix("\\n") delimiter("\\n") '
                   r'body("{\"index\":{}}\n{\"host\":\"$HOST\",\"program\":\"$PROGRAM\",\"message\":\"$MSG\"}") '
                   'batch-lines(4) batch-bytes(4194304) batch-timeout(20000)',
                   [msg(i) for i in range(8)], 2)
    compare("README's relay -> Elasticsearch _bulk example: the same requests as syslog-ng 3.38", res)
    # faults: 500 and 429 retried (3.38's NOT_CONNECTED), 410 dropped,
    # 504 three times = retries(3) ERRORs then dropped; the rest delivered
    fault = '500,429,410,504,504,504'
    res = run_both('faults', 'url("http://127.0.0.1:PORT/") batch-lines(2) batch-timeout(20000) time-reopen(1) retries(3)',
                   [msg(i) for i in range(10)], 9, fault)
    seq = {w: [(q['status'], seqs(q['body'])) for q in res[w][0]] for w in res}
    want = [('500', [0, 1]), ('429', [0, 1]), ('410', [0, 1]), ('504', [2, 3]), ('504', [2, 3]),
            ('504', [2, 3]), ('200', [4, 5]), ('200', [6, 7]), ('200', [8, 9])]
    tap(seq['ours'] == seq['peer'] == want,
        'faults 500, 429, 410, 504x3: the same request sequence as syslog-ng 3.38 (500/429 retried, 410 dropped, 504 dropped after retries(3))',
        'ours %r\npeer %r' % (seq['ours'], seq['peer']))
    so, sp = res['ours'][1], res['peer'][1]
    tap(so.get('dropped') == 4 and so.get('written') == 6 and sp.get('dropped') == 4,
        'faults: 4 dropped and counted, 6 written (syslog-ng 3.38: dropped=%s)' % sp.get('dropped'),
        'ours %r peer %r' % (so, sp))
    log = res['ours'][2]
    tap("status_code='410'" in log and "status_code='504'" in log and 'Multiple failures' in log,
        'faults: each drop says why (status code, retries) on stderr', log[-2000:])


def t_timeout():
    """A server that commits a batch but answers after timeout(): sent again,
    nothing lost, at most that batch twice."""
    d = tempfile.mkdtemp(prefix='timeout.', dir=TMP)
    r = Receiver(d, extra=['--hold', '3'])
    r.ctl('push?codes=timeout')
    dm = Daemon('ours', d, conf(d, 'url("http://127.0.0.1:%d/") batch-lines(4) batch-timeout(20000) timeout(1) time-reopen(1)' % r.port))
    send(d, [msg(i) for i in range(12)])
    got = lambda: [s for q in r.requests() for s in seqs(q['body'])]
    wait(lambda: set(range(12)) <= set(got()), 60)
    time.sleep(0.3)
    g = got()
    dup = len(g) - len(set(g))
    tap(set(g) == set(range(12)) and dup <= 4,
        'timeout(1) against a server answering after 3 s: 0 lost, %d duplicated (at most the batch in flight, 4)' % dup,
        '%r\n%s' % (g, dm.log()[-1500:]))
    dm.stop()
    r.stop()


def t_down_kill():
    """Receiver down, reliable disk-buffer, logsift SIGKILLed and restarted,
    receiver back on its port: every message delivered once."""
    d = tempfile.mkdtemp(prefix='down.', dir=TMP)
    r = Receiver(d)
    port = r.port
    r.stop()
    c = conf(d, 'url("http://127.0.0.1:%d/") batch-lines(5) batch-timeout(20000) time-reopen(1) '
                'disk-buffer(reliable(yes) disk-buf-size(1048576) dir("%s/q"))' % (port, d))
    dm = Daemon('ours', d, c)
    send(d, [msg(i) for i in range(20)])
    q = wait(lambda: dm.stats().get('queued') == 20, 30)
    dm.stop(signal.SIGKILL)
    dm = Daemon('ours', d, c, fresh=False)
    try:
        r = Receiver(d, port)
    except RuntimeError:
        tap(False, 'receiver down: could not take port %d again' % port)
        dm.stop()
        return
    got = lambda: [s for q in r.requests() if q['status'] == '200' for s in seqs(q['body'])]
    wait(lambda: set(range(20)) <= set(got()), 60)
    time.sleep(0.3)
    g = got()
    tap(q and sorted(g) == list(range(20)),
        'receiver down, 20 queued in disk-buffer(reliable(yes)), logsift SIGKILLed and restarted, receiver back: 0 lost, 0 duplicated',
        'queued seen %r, got %r\n%s' % (q, g, dm.log()[-1500:]))
    dm.stop()
    r.stop()


def t_reload():
    """SIGHUP while the endpoint refuses (500): the queue survives the new
    configuration's workers; once it answers 200, every message once."""
    d = tempfile.mkdtemp(prefix='reload.', dir=TMP)
    r = Receiver(d)
    r.ctl('default?code=500')
    dm = Daemon('ours', d, conf(d, 'url("http://127.0.0.1:%d/") batch-lines(3) batch-timeout(20000) time-reopen(1)' % r.port))
    send(d, [msg(i) for i in range(9)])
    wait(lambda: len(r.requests()) >= 2, 30)
    dm.p.send_signal(signal.SIGHUP)
    send(d, [msg(i) for i in range(9, 12)])
    wait(lambda: 'reload' in dm.log().lower() or len(r.requests()) >= 4, 10)
    r.ctl('default?code=200')
    got = lambda: [s for q in r.requests() if q['status'] == '200' for s in seqs(q['body'])]
    wait(lambda: set(range(12)) <= set(got()), 40)
    time.sleep(0.3)
    tap(sorted(got()) == list(range(12)) and dm.p.poll() is None,
        'SIGHUP while the endpoint answers 500: queue kept across the reload, then 12 of 12 delivered once',
        '%r\n%s' % (got(), dm.log()[-1500:]))
    dm.stop()
    r.stop()


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True)


def make_pki(d):
    """ca, a server cert for 127.0.0.1/localhost and a client cert from it;
    an evil CA and a server cert from that one."""
    for ca in ('ca', 'evil'):
        openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', d + '/%s.key' % ca,
                '-out', d + '/%s.pem' % ca, '-days', '2', '-subj', '/CN=%s test CA' % ca)
    ext = d + '/san.ext'
    with open(ext, 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    for name, ca in (('srv', 'ca'), ('client', 'ca'), ('bad', 'evil')):
        openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', d + '/%s.key' % name,
                '-out', d + '/%s.csr' % name, '-subj', '/CN=localhost')
        openssl('x509', '-req', '-in', d + '/%s.csr' % name, '-CA', d + '/%s.pem' % ca,
                '-CAkey', d + '/%s.key' % ca, '-CAcreateserial', '-out', d + '/%s.pem' % name,
                '-days', '2', '-extfile', ext)


def t_tls():
    d = tempfile.mkdtemp(prefix='tls.', dir=TMP)
    make_pki(d)
    # verified, with a client certificate the server requires
    r = Receiver(d + '/good', extra=['--cert', d + '/srv.pem', '--key', d + '/srv.key', '--client-ca', d + '/ca.pem'])
    dm = Daemon('ours', d + '/good', conf(d + '/good', 'url("https://127.0.0.1:%d/") batch-lines(3) batch-timeout(20000) '
                                          'tls(ca-file("%s/ca.pem") cert-file("%s/client.pem") key-file("%s/client.key") peer-verify(yes))' % (r.port, d, d, d)))
    send(d + '/good', [msg(i) for i in range(6)])
    wait(lambda: len(r.requests()) >= 2, 30)
    g = [s for q in r.requests() for s in seqs(q['body'])]
    tap(sorted(g) == list(range(6)), 'https: server verified against an openssl-made CA, client certificate sent: 6 of 6 delivered',
        '%r\n%s' % (g, dm.log()[-1500:]))
    dm.stop()
    r.stop()
    # a server certificate from another CA: refused, nothing sent
    r = Receiver(d + '/bad', extra=['--cert', d + '/bad.pem', '--key', d + '/bad.key'])
    dm = Daemon('ours', d + '/bad', conf(d + '/bad', 'url("https://127.0.0.1:%d/") time-reopen(1) ca-file("%s/ca.pem")' % (r.port, d)))
    send(d + '/bad', [msg(0)])
    ok = wait(lambda: 'certificate' in dm.log(), 30)
    st = dm.stats()
    tap(ok and not r.requests() and st.get('written') == 0 and st.get('queued') == 1,
        'https: a server certificate from another CA is refused (nothing sent, the message stays queued, the reason on stderr)',
        '%r %r\n%s' % (r.requests(), st, dm.log()[-1500:]))
    dm.stop()
    r.stop()


def t_refusals(peer):
    d = tempfile.mkdtemp(prefix='cfg.', dir=TMP)
    cases = [
        ('url("http://127.0.0.1/")\n ca-file("/etc/ssl/certs/ca-certificates.crt")', 'is not https://', 3, False),
        ('url("http://127.0.0.1/")\n tls(peer-verify(no))', 'is not https://', 3, False),
        ('url("ftp://127.0.0.1/")', 'only http:// and https://', 3, False),
        ('url("http://127.0.0.1/")\n ssl-version("tlsv9")', 'unsupported SSL version', 4, True),
        ('url("http://127.0.0.1/")\n frobnicate(1)', 'syntax error', 4, True),
        ('url("http://127.0.0.1/")\n throttle(10)', 'throttle() is not supported by logsift', 4, False),
        ('url("http://127.0.0.1/")\n response-action(404 => explode)', 'response-action', 4, True),
        ('url("http://127.0.0.1/")\n batch-timeout(0)', 'batch-timeout', 4, True),
        ('url("https://127.0.0.1/")\n tls(ca-file("/nonexistent/ca.pem"))', 'File "/nonexistent/ca.pem" not found', 4, True),
    ]
    for opts, want, line, sng_refuses in cases:
        path = os.path.join(d, 'r.conf')
        with open(path, 'w') as f:
            f.write(conf(d, opts))
        r = subprocess.run([LS, '--syntax-only', '-f', path], capture_output=True, text=True)
        out = r.stdout + r.stderr
        ok = r.returncode == 1 and want in out and ('r.conf:%d' % line) in out
        pd = ''
        if peer and sng_refuses:
            p = subprocess.run([SNG, '--syntax-only', '-f', path], capture_output=True, text=True)
            if p.returncode == 0:
                ok, pd = False, 'syslog-ng 3.38 accepts it'
        tap(ok, 'refused at start-up with r.conf:%d: %s' % (line, opts.replace('\n', '')),
            'rc %d %s %s' % (r.returncode, out, pd))
    # the generic driver options the man page lists as refused, minus what
    # http() takes: each refused with file:line
    man = open(os.path.join(HERE, '..', '..', 'docs', 'logsift.1')).read()
    sect = man.split('.Ss Destination drivers\n', 1)[1]
    names = re.search(r'^Refused: (.*)\.$', sect, re.M).group(1).split(', ')
    taken = {'batch-lines', 'batch-timeout', 'retries', 'workers'}
    bad = []
    # every name with HTTP_EXHAUSTIVE=1, else a fixed sample of 12
    pick = [n for n in names if n not in taken]
    if not os.environ.get('HTTP_EXHAUSTIVE'):
        pick = pick[::max(1, len(pick) // 12)][:12]
    for name in pick:
        with open(os.path.join(d, 'g.conf'), 'w') as f:
            f.write(conf(d, 'url("http://127.0.0.1/")\n %s(1)' % name))
        r = subprocess.run([LS, '--syntax-only', '-f', os.path.join(d, 'g.conf')], capture_output=True, text=True)
        if r.returncode != 1 or 'g.conf:4:' not in r.stderr + r.stdout:
            bad.append('%s rc=%d' % (name, r.returncode))
    tap(not bad and len(names) > 50, '%d of the %d destination options the man page lists as refused (http() takes 4 of them) stop the start-up with file:line (all: HTTP_EXHAUSTIVE=1)' % (len(pick), len(names)),
        ' '.join(bad))
    # every http() option at once (the fuzz seed): both take it
    seed = os.path.join(HERE, '..', '..', 'fuzz', 'corpus', 'logsift_cfg', 'http.conf')
    r = subprocess.run([LS, '--syntax-only', '-f', seed], capture_output=True, text=True)
    p = subprocess.run([SNG, '--syntax-only', '-f', seed], capture_output=True, text=True) if peer else None
    tap(r.returncode == 0 and (not p or p.returncode == 0),
        'every http() option (fuzz/corpus/logsift_cfg/http.conf) accepted%s' % (', as by syslog-ng 3.38' if p else ''),
        r.stderr + (p.stderr if p else ''))
    # an option 3.38 accepts and logsift implements: response-action's arrow
    with open(os.path.join(d, 'a.conf'), 'w') as f:
        f.write(conf(d, 'url("http://a/ http://b/") response-action(404 => drop, 503 => success) workers(2) method("PUT")'))
    r = subprocess.run([LS, '--syntax-only', '-f', os.path.join(d, 'a.conf')], capture_output=True, text=True)
    tap(r.returncode == 0, 'accepted: two urls, response-action(404 => drop, 503 => success), workers(2)', r.stderr)


def t_balance():
    """Two urls, two workers: both receivers get requests (3.38 gives each
    worker its own target); one receiver gone: the other takes everything."""
    d = tempfile.mkdtemp(prefix='lb.', dir=TMP)
    a, b = Receiver(d + '/a'), Receiver(d + '/b')
    dm = Daemon('ours', d, conf(d, 'url("http://127.0.0.1:%d/" "http://127.0.0.1:%d/") workers(2) batch-lines(2) batch-timeout(20000) time-reopen(1)' % (a.port, b.port)))
    send(d, [msg(i) for i in range(8)])
    got = lambda: sorted(s for r in (a, b) for q in r.requests() if q['status'] == '200' for s in seqs(q['body']))
    wait(lambda: len(got()) >= 8, 30)
    tap(got() == list(range(8)) and a.requests() and b.requests(),
        'url(two) workers(2): both servers get batches, 8 of 8 delivered once',
        '%r a=%d b=%d' % (got(), len(a.requests()), len(b.requests())))
    b.stop()
    send(d, [msg(i) for i in range(8, 16)])
    wait(lambda: len(got()) >= 16, 40)
    tap(got() == list(range(16)), 'one of two servers down: its worker moves to the other, 16 of 16 delivered once',
        '%r\n%s' % (got(), dm.log()[-1500:]))
    dm.stop()
    a.stop()


def main():
    global TMP
    TMP = tempfile.mkdtemp(prefix='logsift-http.')
    try:
        peer = have_peer()
        # independent groups at once (own directories, receivers and
        # daemons): the comparisons with syslog-ng, logsift's own faults, TLS
        # and load balancing
        def group(fs):
            for f in fs:
                t0 = time.time()
                f()
                if os.environ.get('HTTP_TIMES'):
                    print('# %s %.1f s' % (f.__name__, time.time() - t0))
        ts = [threading.Thread(target=group, args=(g,)) for g in
              ([lambda: t_refusals(peer), lambda: t_compare(peer)], [t_timeout, t_down_kill, t_reload],
               [t_tls, t_balance])]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        bad = [l for l in LOGS if re.search(r'Sanitizer|runtime error:', open(l, errors='replace').read())]
        tap(not bad, 'no sanitizer report from any of the %d logsift runs' % len(LOGS),
            '\n'.join(open(l, errors='replace').read()[-3000:] for l in bad[:1]))
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(TMP, ignore_errors=True)
    print('1..%d' % N)


if __name__ == '__main__':
    main()
