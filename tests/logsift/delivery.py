#!/usr/bin/env python3
"""delivery.py: scenarios for logsift's output pipeline, run against either
daemon (logsift or the real syslog-ng 3.38) with the same config.

    delivery.py SCENARIO WHO DIR      WHO = ours | peer

Each scenario prints result lines "ok NAME" or "not ok NAME # detail" that
test_delivery.sh turns into TAP. Every socket path lives in DIR, every port
is 0 or picked free; every process started here is stopped here.

Message bodies are "seq NNNNNNNN " + padding, so a reader can tell lost,
duplicated and torn lines (a line that is not exactly one whole body).
"""
import os, re, signal, socket, subprocess, sys, threading, time

LS = os.path.join(os.environ.get('OPSKIT_BUILD', 'build'), 'logsift', 'logsift')
SNG = '/usr/sbin/syslog-ng'
PAD = 'x' * 100
LINE = re.compile(rb'^(?:<\d+>)?seq (\d{8}) ' + PAD.encode() + rb'$')
results = []


def report(ok, name, detail=''):
    print(('ok ' if ok else 'not ok ') + name + (' # ' + detail if detail and not ok else ''))
    sys.stdout.flush()


def body(i):
    return 'seq %08d %s' % (i, PAD)


class Daemon:
    """One daemon on conf; stats() gives per-destination counters."""

    def __init__(self, who, d, conf):
        self.who, self.d = who, d
        path = os.path.join(d, who + '.conf')
        with open(path, 'w') as f:
            f.write(conf)
        self.err = open(os.path.join(d, who + '.err'), 'w+')
        if who == 'ours':
            cmd = [LS, '-f', path, '--stats', '--control=' + d + '/ctl']
        else:
            cmd = [SNG, '-f', path, '--no-caps', '-F', '-e',
                   '--persist-file=' + d + '/persist', '--pidfile=' + d + '/pid',
                   '--control=' + d + '/ctl']
        self.p = subprocess.Popen(cmd, stdout=self.err, stderr=self.err)

    def rss_kb(self):
        with open('/proc/%d/status' % self.p.pid) as f:
            for l in f:
                if l.startswith('VmHWM:'):
                    return int(l.split()[1])
        return 0

    def stats(self, dest):
        """{written, dropped, queued, processed} of destination dest."""
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
            with open(self.err.name) as f:
                return [l for l in f if l.startswith('destination;%s;' % dest)]
        before = len(dumps())
        self.p.send_signal(signal.SIGUSR1)  # prints the counters on stderr
        # until its line is there (one write), not a fixed wait
        end = time.time() + 10
        lines = dumps()
        while len(lines) <= before and time.time() < end and self.p.poll() is None:
            time.sleep(0.02)
            lines = dumps()
        for l in lines:
            for kv in l.strip().split(';')[2:]:
                k, v = kv.split('=')
                out[k] = int(v)
        return out

    def stop(self, watchdog=10):
        """SIGTERM; seconds until it exited (None: killed by the watchdog)."""
        t0 = time.monotonic()
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(watchdog)
            return time.monotonic() - t0
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None


def wait_path(p, secs=10):
    end = time.time() + secs
    while time.time() < end and not os.path.exists(p):
        time.sleep(0.02)


def wait_tcp(port, secs=10):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def check_lines(path, n, exact):
    """(lost, duplicated, torn) of seq 0..n-1 in path; exact: all must be there."""
    seen = {}
    torn = 0
    with open(path, 'rb') as f:
        data = f.read()
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    elif lines:
        torn += 1  # no final newline: the last line is cut
        lines.pop()
    for l in lines:
        m = LINE.match(l)
        if not m:
            torn += 1
            continue
        k = int(m.group(1))
        seen[k] = seen.get(k, 0) + 1
    dup = sum(v - 1 for v in seen.values())
    lost = n - len(seen)
    return lost, dup, torn, len(seen)


send_max_ms = 0.0


def send_dgrams(path, n, start=0):
    """Blocking datagrams with a 1 s send timeout: the seqs that timed out.
    The longest send is kept in send_max_ms (reported, not asserted)."""
    global send_max_ms
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, b'\x01\0\0\0\0\0\0\0' + b'\0' * 8)
    blocked = []
    for i in range(start, start + n):
        t0 = time.monotonic()
        try:
            s.sendto(('<13>p: ' + body(i)).encode(), path)
        except OSError:
            blocked.append(i)
        send_max_ms = max(send_max_ms, (time.monotonic() - t0) * 1000)
    return blocked


def send_stream(port, n, start=0):
    s = socket.create_connection(('127.0.0.1', port))
    buf = b''.join(('<13>p: %s\n' % body(i)).encode() for i in range(start, start + n))
    s.sendall(buf)
    s.close()


# ------------------------------------------------------------- scenarios

def stalled_tcp(who, d):
    """A TCP forward whose server accepts and never reads, next to a file."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(srv.accept()) for _ in range(16)],
                     daemon=True).start()
    port = free_port()
    conf = f'''@version: 3.38
options {{ log-fifo-size(1000); time-reopen(1); stats-freq(0); keep-hostname(yes); }};
source s_dev {{ unix-dgram("{d}/{who}.log.sock"); }};
source s_net {{ tcp(ip("127.0.0.1") port({port})); }};
destination d_fwd {{ network("127.0.0.1" port({srv.getsockname()[1]})); }};
destination d_file {{ file("{d}/{who}.local" template("$MSG\\n")); }};
log {{ source(s_dev); source(s_net); destination(d_fwd); }};
log {{ source(s_dev); source(s_net); destination(d_file); }};
'''
    dm = Daemon(who, d, conf)
    wait_tcp(port)
    wait_path(f'{d}/{who}.log.sock')
    rss0 = dm.rss_kb()
    n_tcp, n_dg = 30000, 10000
    t = threading.Thread(target=send_stream, args=(port, n_tcp))
    t.start()
    blocked = send_dgrams(f'{d}/{who}.log.sock', n_dg, n_tcp)
    t.join()
    # all that was sent reaches the file (the daemon is not blocked by d_fwd)
    end = time.time() + 20
    while time.time() < end:
        lost, dup, torn, got = check_lines(f'{d}/{who}.local', n_tcp + n_dg, True)
        lost -= len(blocked)
        if lost <= 0:
            break
        time.sleep(0.2)
    rss = dm.rss_kb()
    st = dm.stats('d_fwd')
    secs = dm.stop()
    report(lost == 0 and dup == 0 and torn == 0,
           f'{who}: stalled TCP forward: the local file gets all {n_tcp + n_dg} messages sent',
           f'lost {lost} dup {dup} torn {torn}')
    report(not blocked, f'{who}: stalled TCP forward: unix-dgram senders never block '
           f'(longest send {send_max_ms:.1f} ms)', f'{len(blocked)} sends timed out after 1 s')
    report(secs is not None, f'{who}: SIGTERM with a stalled destination: exited in '
           f'{secs if secs is None else round(secs, 2)} s', 'killed after 10 s')
    if who == 'ours':
        # growth over the idle daemon's RSS (a sanitizer build starts
        # bigger): 1000 queued 100-byte lines and their records, below the
        # 4 MB that the text alone of the 40000 messages an unbounded queue
        # would hold takes
        report(rss - rss0 < 3000, f'{who}: stalled TCP forward: peak RSS {rss} kB, '
               f'{rss - rss0} kB over the idle daemon, bounded by log-fifo-size(1000)',
               f'{rss} kB, idle {rss0} kB')
        ok = st.get('dropped', 0) > 0 and st.get('queued', 0) <= 1000 and \
            st.get('written', 0) + st.get('dropped', 0) + st.get('queued', 0) == \
            st.get('processed', -1)
        report(ok, f'{who}: stalled TCP forward: written + dropped + queued = processed',
               str(st))
    for c, _ in held:
        c.close()
    srv.close()


def slow_fifo(who, d, flow, stall=False):
    """A FIFO destination whose reader is slow, fed by a TCP source; stall:
    the reader stops after a third of the lines until the daemon is held up
    by it (queued > 0 and nothing written between two stats reads), then
    reads on."""
    fifo = f'{d}/{who}.fifo'
    os.mkfifo(fifo)
    out = f'{d}/{who}.fifo.out'
    stop = threading.Event()
    holder = {}

    def held_up():
        last = None
        end = time.time() + 30
        while time.time() < end and not stop.is_set():
            if 'dm' in holder:
                st = holder['dm'].stats('d_pipe')
                if st.get('queued', 0) > 0 and last is not None and \
                        st.get('written', 0) == last:
                    return
                last = st.get('written', 0)
            time.sleep(0.05)

    def reader():
        fd = os.open(fifo, os.O_RDONLY)
        lines = 0
        stalled = not stall
        with open(out, 'wb') as o:
            while lines < n:
                b = os.read(fd, 1000)
                if not b:
                    if stop.is_set():
                        break
                    time.sleep(0.01)
                    continue
                o.write(b)
                o.flush()  # the main thread polls the file
                lines += b.count(b'\n')
                if not stalled and lines >= n // 3:
                    stalled = True
                    held_up()
                time.sleep(0.0005)  # about 2 MB/s: slower than the sender
        os.close(fd)

    n = 10000
    rt = threading.Thread(target=reader)
    rt.start()
    port = free_port()
    fl = 'flags(flow-control);' if flow else ''
    conf = f'''@version: 3.38
options {{ log-fifo-size(1000); time-reopen(1); stats-freq(0); }};
source s_net {{ tcp(ip("127.0.0.1") port({port})); }};
destination d_pipe {{ pipe("{fifo}" template("$MSG\\n")); }};
log {{ source(s_net); destination(d_pipe); {fl} }};
'''
    dm = Daemon(who, d, conf)
    holder['dm'] = dm
    wait_tcp(port)
    send_stream(port, n)
    # until the reader has everything that was not dropped
    # 3.38's queued counter does not settle here: it gets a fixed 5 s
    end = time.time() + (5 if who == 'peer' and not flow else 60)
    last = -1
    while time.time() < end:
        st = dm.stats('d_pipe')
        done = st.get('written', 0) + st.get('dropped', 0)
        if (done >= n or (who == 'peer' and not flow and done and done == last)) and \
                not st.get('queued', 0):
            break
        # with flow control every line must come: all there is done (3.38
        # has no pipe() counters at stats-level(0), so the peer was waited
        # for the whole 60 s)
        if flow and os.path.exists(out) and check_lines(out, n, True)[0] == 0:
            break
        last = done
        cur = os.path.getsize(out) if os.path.exists(out) else 0
        # the peer without flow control is judged settled by two equal polls
        time.sleep(0.5 if who == 'peer' and not flow else 0.1)
    time.sleep(0.5)
    st = dm.stats('d_pipe')
    dm.stop()
    stop.set()
    rt.join()
    lost, dup, torn, got = check_lines(out, n, flow)
    name = ('with' if flow else 'without') + (', stalled a while,' if stall else '')
    if flow:
        report(lost == 0 and dup == 0 and torn == 0,
               f'{who}: slow FIFO reader {name} flow control: {n} sent, 0 lost, 0 duplicated, 0 torn',
               f'lost {lost} dup {dup} torn {torn}')
    else:
        report(dup == 0 and torn == 0,
               f'{who}: slow FIFO reader {name} flow control: every line whole, none twice',
               f'dup {dup} torn {torn}')
        if who == 'ours':
            report(st.get('dropped', -1) == n - got and st.get('written', -1) == got,
                   f'{who}: slow FIFO reader {name} flow control: {got} written + '
                   f'{n - got} dropped as the stats count', str(st))
    del last, cur


def full_fs(who, d):
    """A file destination on a full tmpfs that is freed later (flow control)."""
    mnt = f'{d}/{who}.mnt'
    os.mkdir(mnt)
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]).returncode:
        print(f'skip {who}: full filesystem: cannot mount a tmpfs here')
        return
    try:
        with open(f'{mnt}/filler', 'wb') as f:
            try:
                f.write(b'\0' * (4 << 20))
            except OSError:
                pass
        # leave a little room, so that the first write is a partial one
        os.truncate(f'{mnt}/filler', os.path.getsize(f'{mnt}/filler') - 12345)
        port = free_port()
        conf = f'''@version: 3.38
options {{ time-reopen(1); stats-freq(0); }};
source s_net {{ tcp(ip("127.0.0.1") port({port})); }};
destination d_file {{ file("{mnt}/out" template("$MSG\\n")); }};
log {{ source(s_net); destination(d_file); flags(flow-control); }};
'''
        dm = Daemon(who, d, conf)
        wait_tcp(port)
        n = 10000
        t = threading.Thread(target=send_stream, args=(port, n))
        t.start()
        time.sleep(1)
        full = os.path.getsize(f'{mnt}/out') if os.path.exists(f'{mnt}/out') else 0
        os.unlink(f'{mnt}/filler')
        t.join()
        end = time.time() + 30
        while time.time() < end:
            lost, dup, torn, got = check_lines(f'{mnt}/out', n, True)
            if lost == 0:
                break
            time.sleep(0.3)
        dm.stop()
        lost, dup, torn, got = check_lines(f'{mnt}/out', n, True)
        if who == 'peer':
            # 3.38 writes its whole batch again after ENOSPC: duplicates, no loss
            report(lost == 0 and torn == 0, f'{who}: file on a full filesystem, then freed: '
                   f'0 lost, 0 torn ({dup} duplicated)', f'lost {lost} torn {torn}')
            return
        report(lost == 0 and dup == 0 and torn == 0 and full < n * 112,
               f'{who}: file on a full filesystem, then freed: {n} sent, 0 lost, 0 duplicated, 0 torn',
               f'lost {lost} dup {dup} torn {torn}, {full} bytes before freeing')
    finally:
        subprocess.run(['umount', '-l', mnt])


def hup_load(who, d):
    """5 SIGHUPs while loggen sends over one TCP connection."""
    port = free_port()
    conf = f'''@version: 3.38
options {{ stats-freq(0); }};
source s_net {{ tcp(ip("127.0.0.1") port({port})); }};
destination d_file {{ file("{d}/{who}.hup" template("$MSG\\n")); }};
log {{ source(s_net); destination(d_file); }};
'''
    dm = Daemon(who, d, conf)
    wait_tcp(port)
    lg = subprocess.Popen(['loggen', '-S', '-r', '20000', '-I', '2', '-s', '200', '127.0.0.1',
                           str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(5):
        time.sleep(0.3)
        dm.p.send_signal(signal.SIGHUP)
    err = lg.communicate()[1]
    sent = re.findall(r'average rate.*count=(\d+)', err)
    sent = int(sent[-1]) if sent else -1
    # until every line loggen sent is there, else until the file stops
    # growing (a loaded machine: the daemon may lag); the stop below
    # flushes whatever else the daemon still had
    last, still = -1, 0
    while still < 10:
        size = os.path.getsize(f'{d}/{who}.hup') if os.path.exists(f'{d}/{who}.hup') else 0
        if size != last and sent > 0:
            with open(f'{d}/{who}.hup', 'rb') as f:
                if f.read().count(b'\n') >= sent:
                    break
        still = still + 1 if size == last else 0
        last = size
        time.sleep(0.2)
    dm.stop()
    seqs = []
    with open(f'{d}/{who}.hup', 'rb') as f:
        for l in f:
            m = re.search(rb'seq: (\d+)', l)
            if m:
                seqs.append(int(m.group(1)))
    ok = seqs == list(range(len(seqs))) and len(seqs) == sent and lg.returncode == 0
    report(ok, f'{who}: 5 SIGHUPs under loggen TCP load: {len(seqs)} of {sent} sent, in order, '
           'connection kept', f'loggen rc {lg.returncode}, got {len(seqs)}, {err.strip()[-200:]}')


def reconnect(who, d):
    """A TCP forward whose server is down, then up: the queue in order."""
    port, dport = free_port(), free_port()
    conf = f'''@version: 3.38
options {{ time-reopen(1); stats-freq(0); keep-hostname(yes); }};
source s_net {{ tcp(ip("127.0.0.1") port({port})); }};
destination d_fwd {{ network("127.0.0.1" port({dport}) template("$MSG\\n")); }};
log {{ source(s_net); destination(d_fwd); }};
'''
    dm = Daemon(who, d, conf)
    wait_tcp(port)
    n = 5000
    send_stream(port, n)
    time.sleep(1.5)  # the daemon has failed to connect at least once
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', dport))
    srv.listen(4)
    srv.settimeout(10)
    out = f'{d}/{who}.fwd'
    try:
        c, _ = srv.accept()
        c.settimeout(3)
        lines = 0
        with open(out, 'wb') as o:
            while lines < n:
                try:
                    b = c.recv(1 << 16)
                except socket.timeout:
                    break
                if not b:
                    break
                o.write(b)
                lines += b.count(b'\n')
        c.close()
    except socket.timeout:
        open(out, 'wb').close()
    dm.stop()
    srv.close()
    lost, dup, torn, got = check_lines(out, n, True)
    with open(out, 'rb') as f:
        seqs = [int(m.group(1)) for m in re.finditer(rb'^(?:<\d+>)?seq (\d{8}) ', f.read(), re.M)]
    report(lost == 0 and dup == 0 and torn == 0 and seqs == list(range(n)),
           f'{who}: TCP forward down, then up after time-reopen(): {n} queued messages '
           'delivered in order, 0 lost, 0 duplicated, 0 torn', f'lost {lost} dup {dup} torn {torn}')


def ctl_stats(who, d):
    """Counters through the control socket: syslog-ng-ctl stats's lines."""
    ctl = ['syslog-ng-ctl'] if who == 'peer' else [LS + '-ctl']
    out = subprocess.run(ctl + ['stats', '-c', d + '/ctl'], capture_output=True,
                         text=True).stdout
    keep = {}
    for l in out.splitlines()[1:]:
        f = l.split(';')
        if len(f) == 6 and f[4] in ('processed', 'dropped', 'queued', 'written') and \
                (f[0] in ('center', 'source', 'destination') or f[0].startswith('dst.')):
            keep[';'.join(f[:5])] = int(f[5])
    return out, keep


def stats_conf(who, d, port):
    """/dev/log-like datagrams to a file and, the odd ones, to TCP port."""
    return f'''@version: 3.38
options {{ stats-freq(0); }};
source s_dev {{ unix-dgram("{d}/{who}.sock"); }};
destination d_file {{ file("{d}/{who}.out" template("$MSG\\n")); }};
destination d_fwd {{ network("127.0.0.1" port({port})); }};
filter f_odd {{ message("[13579] x"); }};
log {{ source(s_dev); destination(d_file); }};
log {{ source(s_dev); filter(f_odd); destination(d_fwd); }};
'''


def stats(who, d):
    """Counters after a known run, in syslog-ng-ctl stats's shape."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(4)
    got = []

    def reader():
        c, _ = srv.accept()
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            got.append(b)
    threading.Thread(target=reader, daemon=True).start()
    conf = stats_conf(who, d, srv.getsockname()[1])
    dm = Daemon(who, d, conf)
    wait_path(f'{d}/{who}.sock')
    time.sleep(0.3)
    n = 100
    send_dgrams(f'{d}/{who}.sock', n)
    end = time.time() + 10
    while time.time() < end and sum(b.count(b'\n') for b in got) < n // 2:
        time.sleep(0.05)
    time.sleep(0.3)
    out, kv = ctl_stats(who, d)
    dm.stop()
    with open(f'{d}/{who}.stats', 'w') as f:
        for k in sorted(kv):
            f.write('%s;%d\n' % (k, kv[k]))
    print('stats ' + f'{d}/{who}.stats')


def src_processed(who, d):
    """The tcp source's processed counter through the control socket."""
    out, kv = ctl_stats(who, d)
    return sum(v for k, v in kv.items() if k.startswith('source;') and k.endswith(';processed'))


def start_daemon(who, d, conf_path, extra=()):
    """The daemon on an existing config file (a restart keeps its files)."""
    err = open(os.path.join(d, who + '.err'), 'a')
    if who == 'ours':
        cmd = [LS, '-f', conf_path, '--control=' + d + '/ctl']
    else:
        cmd = [SNG, '-f', conf_path, '--no-caps', '-F', '-e', '--persist-file=' + d + '/persist',
               '--pidfile=' + d + '/pid', '--control=' + d + '/ctl']
    return subprocess.Popen(cmd + list(extra), stdout=err, stderr=err)


def drain(c, secs, want=None):
    """Everything c sends until it closes or is quiet for secs; with want
    (a set of seq numbers) quiet for 0.5 s once all of them have come (a
    late duplicate still counts, the wait for nothing else is shorter)."""
    c.settimeout(secs)
    data = []
    seen, tail = set(), b''
    while True:
        try:
            b = c.recv(1 << 16)
        except (socket.timeout, ConnectionError):
            break
        if not b:
            break
        data.append(b)
        if want:
            lines = (tail + b).split(b'\n')
            tail = lines.pop()
            seen.update(int(m.group(1)) for l in lines for m in [re.search(rb'seq: (\d+),', l)] if m)
            if want <= seen:
                want = None
                c.settimeout(min(secs, 0.5))
    return b''.join(data)


def diskbuf_kill(who, d, reliable):
    """disk-buffer() towards a TCP server that stalls (accepts, never reads):
    loggen's messages all taken by the daemon, the daemon SIGKILLed, the
    server drains what reached it and dies; then a new server and the
    daemon restarted: counts of delivered, duplicated and lost."""
    port, dport = free_port(), free_port()
    rel = 'yes' if reliable else 'no'
    conf = f'''@version: 3.38
options {{ time-reopen(1); stats-freq(0); log-fifo-size(10000); }};
source s_net {{ tcp(ip("127.0.0.1") port({port}) log-iw-size(1000)); }};
destination d_fwd {{ network("127.0.0.1" port({dport}) template("$MSG\\n")
    disk-buffer(reliable({rel}) disk-buf-size(20000000) dir("{d}/q"))); }};
log {{ source(s_net); destination(d_fwd); }};
'''
    conf_path = os.path.join(d, who + '.conf')
    with open(conf_path, 'w') as f:
        f.write(conf)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(('127.0.0.1', dport))
    srv.listen(4)
    srv.settimeout(15)
    p = start_daemon(who, d, conf_path)
    got = []
    sent = -1
    try:
        wait_tcp(port)
        c, _ = srv.accept()  # accepted, not read: the server stalls
        n = 60000
        lg = subprocess.run(['loggen', '-S', '-r', '60000', '-n', str(n), '-s', '160',
                             '127.0.0.1', str(port)], capture_output=True, text=True, timeout=60)
        sent = re.findall(r'average rate.*count=(\d+)', lg.stderr)
        sent = int(sent[-1]) if sent else -1
        end = time.time() + 30
        while time.time() < end and src_processed(who, d) < sent:
            time.sleep(0.2)
        time.sleep(0.5)
        p.kill()  # SIGKILL
        p.wait()
        got.append(drain(c, 1))  # what reached the server before it died
        c.close()
        srv.close()
        # a new server on the same port, the daemon started again
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(('127.0.0.1', dport))
        srv.listen(4)
        srv.settimeout(15)
        p = start_daemon(who, d, conf_path)
        c, _ = srv.accept()
        # every seq sent, counting what reached the first server: done
        # (else, something lost, until 3 s of quiet as before)
        first = set(int(m) for m in re.findall(rb'seq: (\d+),', got[0]))
        got.append(drain(c, 3, set(range(sent)) - first if sent > 0 else None))
        c.close()
    except (socket.timeout, subprocess.TimeoutExpired) as ex:
        report(False, f'{who}: disk-buffer(reliable({rel})) ran', repr(ex))
        p.kill()
        p.wait()
        return
    finally:
        srv.close()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    seen, torn = {}, 0
    for part in got:
        lines = part.split(b'\n')
        if lines and lines[-1] == b'':
            lines.pop()
        for l in lines:
            m = re.search(rb'seq: (\d+),', l)
            if not m or len(l) < 100:
                torn += 1
                continue
            k = int(m.group(1))
            seen[k] = seen.get(k, 0) + 1
    dup = sum(v - 1 for v in seen.values())
    lost = sum(1 for i in range(sent) if i not in seen)
    before = got[0].count(b'\n')
    print(f'counts {who} reliable({rel}): sent {sent} delivered {len(seen)} duplicated {dup} '
          f'lost {lost} torn {torn} (reached the stalled server: {before} lines)')
    if who == 'peer':
        report(sent > 0, f'peer: disk-buffer(reliable({rel})) SIGKILL and restart: {len(seen)} '
               f'of {sent} delivered, {dup} duplicated, {lost} lost, {torn} torn',
               'loggen sent nothing')
    elif reliable:
        # 3.38 documents: reliable loses nothing; duplicates only from the
        # window read from disk and not yet acknowledged (qout-size 1000)
        report(sent > 0 and lost == 0 and dup <= 1000,
               f'ours: disk-buffer(reliable(yes)) SIGKILL and restart: 0 lost of {sent}, '
               f'{dup} duplicated (at most qout-size 1000), {torn} torn',
               f'lost {lost} dup {dup} torn {torn} sent {sent}')
    else:
        # reliable(no) loses at most the memory part: qout-size (1000) in
        # memory plus the overflow (mem-buf-length, unused: the disk had room)
        report(sent > 0 and lost <= 1000 and dup <= 1000,
               f'ours: disk-buffer(reliable(no)) SIGKILL and restart: {lost} lost of {sent} '
               f'(at most the memory part, qout-size 1000), {dup} duplicated, {torn} torn',
               f'lost {lost} dup {dup} torn {torn} sent {sent}')


class Collector:
    """A TCP server on addr: every connection's lines, in arrival order."""

    def __init__(self, ip, port):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((ip, port))
        self.s.listen(16)
        self.data, self.conns, self.open, self.alive = [], 0, 0, True
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while self.alive:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self.read, args=(c,), daemon=True).start()

    def read(self, c):
        buf = bytearray()
        self.data.append(buf)
        self.open += 1
        while True:
            try:
                b = c.recv(1 << 16)
            except OSError:
                break
            if not b:
                break
            buf += b
        self.open -= 1

    def lines(self):
        return [m for b in list(self.data) for m in re.findall(rb'seq (\d{8}) ', bytes(b))]

    def close(self):
        self.alive = False
        self.s.close()


def failover(who, d):
    """network() with failover(servers(...) failback(...)): the primary
    (127.0.0.2) down, the messages go to the failover server (127.0.0.3);
    the primary comes up: after the probes the daemon returns to it."""
    port, sport = free_port(), free_port()
    conf = f'''@version: 3.38
options {{ stats-freq(0); }};
source s_net {{ tcp(ip("127.0.0.1") port({sport})); }};
destination d_fwd {{ network("127.0.0.2" port({port}) template("$MSG\\n") time-reopen(1)
    failover(servers("127.0.0.3") failback(tcp-probe-interval(1) successful-probes-required(2)))); }};
log {{ source(s_net); destination(d_fwd); }};
'''
    fo = Collector('127.0.0.3', port)
    dm = Daemon(who, d, conf)
    prim = None
    try:
        wait_tcp(sport)
        n = 200
        send_stream(sport, n)
        end = time.time() + 20
        while time.time() < end and len(set(fo.lines())) < n:
            time.sleep(0.1)
        at_fo_a = len(set(fo.lines()))
        prim = Collector('127.0.0.2', port)
        end = time.time() + 20
        # the probes connect and close; the hand-over keeps its connection.
        # successful-probes-required(2): the first probe's brief connection
        # is not the hand-over (seen open under load, batch 2 was sent
        # before the second probe and went to the failover server), so wait
        # for an open connection that is at least the second
        while time.time() < end and not (prim.open and prim.conns >= 2):
            time.sleep(0.1)
        time.sleep(0.5)
        send_stream(sport, n, n)
        end = time.time() + 20
        while time.time() < end and len(set(prim.lines())) + len(set(fo.lines())) < 2 * n:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        dm.stop()
        fo.close()
        if prim:
            prim.close()
    time.sleep(0.3)
    a = [int(x) for x in fo.lines()]
    b = [int(x) for x in prim.lines()] if prim else []
    allv = a + b
    lost = sum(1 for i in range(2 * n) if i not in set(allv))
    dup = len(allv) - len(set(allv))
    first_at_fo = sum(1 for x in a if x < n)
    second_at_prim = sum(1 for x in b if x >= n)
    print(f'counts {who} failover: batch 1 at the failover server {first_at_fo}/{n}, batch 2 at '
          f'the primary {second_at_prim}/{n}, lost {lost}, duplicated {dup}, '
          f'probe connections to the primary {prim.conns if prim else 0}')
    report(at_fo_a == n and first_at_fo == n and second_at_prim == n and lost == 0 and dup == 0,
           f'{who}: failover(servers() failback()): primary down: {first_at_fo}/{n} at the '
           f'failover server; primary back: {second_at_prim}/{n} at the primary after the '
           f'probes; {lost} lost, {dup} duplicated',
           f'fo {first_at_fo} prim {second_at_prim} lost {lost} dup {dup}')


def diskbuf_damage(who, d):
    """A disk-buffer file damaged between two runs: one byte flipped inside
    record 21, then the headers zeroed. The first load reports the file and
    the record's offset and sends the 20 records before it; the second
    keeps the file aside as .corrupted and starts a new one. Messages go
    through a clean stop (SIGTERM) with the server down, so the reliable
    file holds all of them."""
    port, dport = free_port(), free_port()
    conf = f'''@version: 3.38
options {{ time-reopen(1); stats-freq(0); }};
source s_net {{ tcp(ip("127.0.0.1") port({port})); }};
destination d_fwd {{ network("127.0.0.1" port({dport}) template("$MSG\\n")
    disk-buffer(reliable(yes) disk-buf-size(1048576) dir("{d}/q"))); }};
log {{ source(s_net); destination(d_fwd); }};
'''
    conf_path = os.path.join(d, who + '.conf')
    with open(conf_path, 'w') as f:
        f.write(conf)
    p = start_daemon(who, d, conf_path)
    wait_tcp(port)
    n = 50
    send_stream(port, n)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    files = [f for f in os.listdir(f'{d}/q') if f.endswith('.rqf')]
    if len(files) != 1:
        report(False, 'ours: damaged disk-buffer file reported', f'files {files}')
        return
    qf = f'{d}/q/{files[0]}'
    with open(qf, 'r+b') as f:
        data = bytearray(f.read())
        # walk 20 records (16-byte head, u32 little-endian length first)
        off = 4096
        for _ in range(20):
            off += 16 + int.from_bytes(data[off:off + 4], 'little')
        bad = off
        data[bad + 20] ^= 0xff  # inside record 21's payload
        f.seek(0)
        f.write(data)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', dport))
    srv.listen(4)
    srv.settimeout(15)
    errpos = os.path.getsize(os.path.join(d, who + '.err'))
    p = start_daemon(who, d, conf_path)
    got = b''
    try:
        c, _ = srv.accept()
        got = drain(c, 2)
        c.close()
    except socket.timeout:
        pass
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    with open(os.path.join(d, who + '.err')) as f:
        f.seek(errpos)
        err = f.read()
    seqs = [int(m) for m in re.findall(rb'seq (\d{8}) ', got)]
    said = f"filename='{qf}', offset='{bad}', recovered='20'" in err
    report(said and seqs == list(range(20)),
           f'ours: disk-buffer file with a damaged record: reported with its name and offset '
           f'({bad}), the 20 records before it sent',
           f'seqs {seqs[:3]}..{len(seqs)} err {err.strip()[-300:]}')
    # now no valid header at all: kept aside, a new file, the daemon runs
    with open(qf, 'r+b') as f:
        f.write(b'\0' * 128)
    errpos = os.path.getsize(os.path.join(d, who + '.err'))
    p = start_daemon(who, d, conf_path)
    time.sleep(1)
    alive = p.poll() is None
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    srv.close()
    with open(os.path.join(d, who + '.err')) as f:
        f.seek(errpos)
        err = f.read()
    report(alive and os.path.exists(qf + '.corrupted') and 'no valid header' in err
           and os.path.exists(qf),
           'ours: disk-buffer file without a valid header: reported, kept as .corrupted, '
           'a new one started', err.strip()[-300:])


def reload_stats(who, d):
    """Counters after 10 datagrams and a reload (logsift-ctl/syslog-ng-ctl
    reload): 3.38 keeps source, center and destination counters."""
    conf = f'''@version: 3.38
options {{ stats-freq(0); }};
source s_dev {{ unix-dgram("{d}/{who}.sock"); }};
destination d_file {{ file("{d}/{who}.out" template("$MSG\\n")); }};
log {{ source(s_dev); destination(d_file); }};
'''
    dm = Daemon(who, d, conf)
    wait_path(f'{d}/{who}.sock')
    time.sleep(0.3)
    send_dgrams(f'{d}/{who}.sock', 10)
    time.sleep(0.5)
    ctl = ['syslog-ng-ctl'] if who == 'peer' else [LS + '-ctl']
    subprocess.run(ctl + ['reload', '-c', d + '/ctl'], capture_output=True)
    time.sleep(1)
    out, kv = ctl_stats(who, d)
    dm.stop()
    with open(f'{d}/{who}.stats', 'w') as f:
        for k in sorted(kv):
            f.write('%s;%d\n' % (k, kv[k]))
    print('stats ' + f'{d}/{who}.stats')


CTL_CMDS = [
    'query list', "query list 'center*'", "query get 'center*'",
    'query get source.s_dev.processed', "query get 'destination.*'",
    "query get 'dst.network.*'", "query get 'c?nter.received.processed'",
    "query get --sum 'destination*'", "query get --sum 'nomatch*'", 'query get nomatch',
    "query list 'center.*' 'source*'", 'query get', 'query list --sum', 'query foo',
    "query get --reset 'center*'", "query get 'center*'",
    "query get --sum --reset 'destination*'", "query get 'destination*'",
    "query list --reset 'source*'", "query get 'source*'",
    'stats --reset', "query get 'dst.network.*'", 'stats --remove-orphans', 'reload',
    "query get '*.processed'"]


# counters 3.38 has and logsift does not (its internals, rates, sizes)
SNG_ONLY = re.compile(r'^(global\.|.*\.(eps_since_start|eps_last_1h|eps_last_24h|msg_size_max|'
                      r'msg_size_avg|truncated_count|truncated_bytes|memory_usage)(=|$))')


def ctl_norm(path, peer):
    """ctl()'s answers made comparable: the port as PORT, each answer's
    lines sorted (3.38 answers in hash-table order); for the peer the
    SNG_ONLY counters left out and one trailing empty line taken off when
    there are two (3.38 sends the "." line in a second batch when its
    writer thread was quicker: a race)."""
    out = []
    with open(path) as f:
        text = re.sub(r':[0-9]+\.', ':PORT.', f.read())
    for m in re.finditer(r'^== ([^\n]*)\n(.*?)^== rc (\d+)\n', text, re.M | re.S):
        body = m.group(2)
        if peer and body.endswith('\n\n'):
            body = body[:-1]
        lines = body.split('\n')[:-1]
        if peer:
            lines = [l for l in lines if not SNG_ONLY.match(l)]
        out.append('== %s\n%s== rc %s\n' % (m.group(1), ''.join(l + '\n' for l in sorted(lines)),
                                            m.group(3)))
    return ''.join(out)


def ctl(who, d):
    """CTL_CMDS's answers (stdout, then the exit code) after 10 datagrams
    routed to a file and a TCP receiver that reads; with who 'ours' also
    syslog-ng-ctl's answers from logsift (cross.ctl)."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(4)

    def reader():
        c, _ = srv.accept()
        while c.recv(1 << 16):
            pass
    threading.Thread(target=reader, daemon=True).start()
    conf = stats_conf(who, d, srv.getsockname()[1])
    dm = Daemon(who, d, conf)
    wait_path(f'{d}/{who}.sock')
    time.sleep(0.3)
    send_dgrams(f'{d}/{who}.sock', 10)
    end = time.time() + 10
    while time.time() < end:
        time.sleep(0.1)
        if os.path.exists(f'{d}/{who}.out') and \
                open(f'{d}/{who}.out').read().count('\n') >= 10:
            break
    time.sleep(0.5)
    clients = [('syslog-ng-ctl' if who == 'peer' else LS + '-ctl', who)]
    if who == 'ours':
        clients.insert(0, ('syslog-ng-ctl', 'cross'))
    for exe, tag in clients:
        with open(f'{d}/{tag}.ctl', 'w') as f:
            for c in CTL_CMDS:
                if tag == 'cross' and 'reset' in c:
                    break  # up to the first reset: the same counters as ours
                t = subprocess.run(exe + ' ' + c + ' -c ' + d + '/ctl', shell=True,
                                   capture_output=True, text=True)
                f.write(f'== {c}\n{t.stdout}== rc {t.returncode}\n')
        if tag == who:
            # a reload of a config that does not parse: the old one stays
            with open(f'{d}/{who}.conf', 'a') as cf:
                cf.write('frobnicate;\n')
            t = subprocess.run([exe, 'reload', '-c', d + '/ctl'], capture_output=True, text=True)
            f = open(f'{d}/{tag}.ctl', 'a')
            f.write(f'== reload (bad config)\n{t.stdout}== rc {t.returncode}\n')
            f.close()
    dm.stop()
    print('ctl ' + f'{d}/{who}.ctl')


def persist_kill(who, d):
    """A followed file() source to a FIFO that the test reads slowly (flow
    control), kill -9 after a third, restart on the same persist file,
    read the rest: every line of the file delivered (lost 0), and how many
    twice. A FIFO, not TCP: what the killed daemon had written stays in the
    pipe for the reader, where TCP would lose its socket buffers."""
    n = 10000
    with open(f'{d}/in.log', 'w') as f:
        for i in range(n):
            f.write('<13>Nov 24 05:15:55 p[1]: ' + body(i) + '\n')
    fifo = f'{d}/out.fifo'
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDWR)  # never EOF: the daemon comes and goes
    conf_path = f'{d}/{who}.conf'
    with open(conf_path, 'w') as f:
        f.write(f"""@version: 3.38
options {{ stats-freq(0); }};
source s {{ file("{d}/in.log" follow-freq(1)); }};
destination out {{ pipe("{fifo}" template("$MSG\\n")); }};
log {{ source(s); destination(out); flags(flow-control); }};
""")
    extra = ['-R', d + '/persist'] if who == 'ours' else []
    p = start_daemon(who, d, conf_path, extra)
    got = b''
    end = time.time() + 20
    while got.count(b'\n') < n // 3 and time.time() < end:
        got += os.read(rfd, 4096)
        time.sleep(0.001)
    p.kill()
    p.wait()
    first = got.count(b'\n')
    p = start_daemon(who, d, conf_path, extra)
    os.set_blocking(rfd, False)
    quiet, quiet_secs = time.time(), 3
    while time.time() - quiet < quiet_secs:
        try:
            b = os.read(rfd, 1 << 16)
        except BlockingIOError:
            # every line there (the last one whole): 0.5 s of quiet for a
            # late duplicate or torn line, not 3
            if quiet_secs == 3 and got.endswith(b'\n') and \
                    len(set(re.findall(rb'seq (\d{8}) ', got))) >= n:
                quiet_secs = 0.5
            time.sleep(0.05)
            continue
        got += b
        quiet = time.time()
    p.terminate()
    p.wait()
    os.close(rfd)
    with open(f'{d}/{who}.out', 'wb') as f:
        f.write(got)
    lost, dup, torn, _ = check_lines(f'{d}/{who}.out', n, True)
    print(f'counts {who} persist: killed after {first} lines read; lost {lost} dup {dup} torn {torn}')
    if who == 'peer':
        # 3.38's file source position is an mmap'ed persist entry moved as
        # each message is acknowledged (written): it repeats only what one
        # interrupted write held (0 in every run seen here)
        report(lost == 0, f'peer: file() source, kill -9 after a third, restart: 0 lost '
               f'({dup} delivered twice, {torn} torn)', f'lost {lost} dup {dup} torn {torn}')
        return
    # ours: PATH.now follows every write that finished messages, and pipe
    # writes are whole messages within PIPE_BUF (atomic): a kill repeats at
    # most one write's messages (PIPE_BUF / 114-byte lines = 35), none torn
    report(lost == 0 and torn == 0 and dup <= 4096 // 114,
           f'{who}: file() source, kill -9 after a third, restart on the persist file: '
           f'0 lost, 0 torn, {dup} delivered twice (at most one pipe write, 35)',
           f'lost {lost} dup {dup} torn {torn}')


def diskbuf_sync(who, d, sng_receiver=False):
    """reliable(yes) group commit killed while syncs are in flight: a
    followed file() source (its -R / persist-file position is what the
    daemon acknowledged) through flags(flow-control) into network(...
    disk-buffer(reliable(yes))) towards a receiver that is down, so every
    line goes to the disk buffer; SIGKILL once a third of the lines are in
    the buffer file, then the receiver up and the daemon restarted on the
    same files: 0 lost (sequence-checked), duplicates at most one window
    (log-iw-size(100): lines written to the buffer whose sync had not
    finished keep their slots, so the restart reads them from the file again;
    3.38 acknowledges at the pwrite and repeats none, with no power-loss
    promise). mem-buf-size() below the free space, or both daemons hold every
    slot until the receiver takes the line (3.38's reserved-buffer rule)."""
    n = 3000
    with open(f'{d}/in.log', 'w') as f:
        for i in range(n):
            f.write('<13>Nov 24 05:15:55 p[1]: ' + body(i) + '\n')
    dport = free_port()
    os.mkdir(f'{d}/q')
    conf_path = f'{d}/{who}.conf'
    with open(conf_path, 'w') as f:
        f.write(f"""@version: 3.38
options {{ stats-freq(0); time-reopen(1); }};
source s {{ file("{d}/in.log" follow-freq(1)); }};
destination fwd {{ network("127.0.0.1" port({dport})
    template("<13>Nov 24 05:15:55 p[1]: $MSG\\n")
    disk-buffer(reliable(yes) disk-buf-size(10000000) mem-buf-size(100000) dir("{d}/q"))); }};
log {{ source(s); destination(fwd); flags(flow-control); }};
""")
    extra = ['-R', d + '/persist'] if who == 'ours' else []

    def queued_bytes():
        return sum(os.path.getsize(os.path.join(f'{d}/q', x)) for x in os.listdir(f'{d}/q'))
    p = start_daemon(who, d, conf_path, extra)
    end = time.time() + 30
    while queued_bytes() < n // 3 * 130 and time.time() < end and p.poll() is None:
        time.sleep(0.005)
    p.kill()  # SIGKILL, group-commit syncs in flight
    p.wait()
    if sng_receiver:
        # the receiver is syslog-ng 3.38 itself: tcp() into a file
        rconf = f'{d}/recv.conf'
        with open(rconf, 'w') as f:
            f.write(f"""@version: 3.38
options {{ stats-freq(0); }};
source s {{ tcp(ip("127.0.0.1") port({dport})); }};
destination out {{ file("{d}/recv.out" template("$MSG\\n")); }};
log {{ source(s); destination(out); }};
""")
        rerr = open(f'{d}/recv.err', 'w')
        recv = subprocess.Popen([SNG, '-f', rconf, '--no-caps', '-F', '-e',
                                 '--persist-file=' + d + '/recv.persist',
                                 '--pidfile=' + d + '/recv.pid', '--control=' + d + '/recv.ctl'],
                                stdout=rerr, stderr=rerr)
        wait_tcp(dport)

        def lines():
            try:
                with open(f'{d}/recv.out', 'rb') as f:
                    return re.findall(rb'seq (\d{8}) ', f.read())
            except OSError:
                return []
    else:
        col = Collector('127.0.0.1', dport)
        lines = col.lines
    p = start_daemon(who, d, conf_path, extra)
    last, quiet = -1, time.time()
    end = time.time() + 60
    while time.time() - quiet < 3 and time.time() < end:
        cur = lines()
        if len(cur) != last:
            last, quiet = len(cur), time.time()
        if len(set(cur)) >= n:
            break
        time.sleep(0.05)
    p.terminate()
    p.wait()
    if sng_receiver:
        recv.terminate()
        recv.wait()
    else:
        col.close()
    got = [int(x) for x in lines()]
    seen = set(got)
    lost = sum(1 for i in range(n) if i not in seen)
    dup = len(got) - len(seen)
    to = ' to syslog-ng 3.38' if sng_receiver else ''
    print(f'counts {who} diskbuf-sync{to}: lost {lost} dup {dup} of {n}')
    if who == 'peer':
        report(lost == 0, f'peer: disk-buffer(reliable(yes)) from a file() source, SIGKILL '
               f'mid-load, restart: 0 lost of {n} ({dup} duplicated)', f'lost {lost} dup {dup}')
        return
    report(lost == 0 and dup <= 100,
           f'ours: disk-buffer(reliable(yes)) group commit, SIGKILL with syncs in flight, '
           f'restart{to}: 0 lost of {n}, {dup} duplicated (at most one window, 100)',
           f'lost {lost} dup {dup}')


# ------------------------------------------------------------- program()

def lines_of(path):
    try:
        with open(path, 'rb') as f:
            return f.read().split(b'\n')[:-1]
    except OSError:
        return []


def wait_lines(path, n, secs=20):
    """Until path has at least n lines (a loaded machine: generous)."""
    end = time.time() + secs
    while time.time() < end and len(lines_of(path)) < n:
        time.sleep(0.05)
    return len(lines_of(path))


def gone(pid, secs=10):
    """Until pid no longer runs (exited, or a zombie nobody reaped yet)."""
    end = time.time() + secs
    while True:
        try:
            with open('/proc/%d/stat' % pid) as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    return True
        except OSError:
            return True
        if time.time() >= end:
            return False
        time.sleep(0.05)


def program_life(who, d):
    """program(): 3.38's child life cycle with the same config on either
    daemon: one start at start-up (not per message), a restart when the child
    exits (its background job left alone: 3.38 kills the group only on
    reload and stop), exit 127 stops the destination, a reload replaces the
    child and kills its group, keep-alive(yes) keeps it, stop kills the
    groups. Each child writes its shell's pid and a background sleep's pid."""
    conf = f"""@version: 3.38
options {{ time-reopen(1); stats-freq(0); }};
source s {{ unix-dgram("{d}/{who}.sock"); }};
destination d_run {{ program('echo $$ >> {d}/{who}.run.pids; sleep 300 & echo $! >> {d}/{who}.run.bg; exec cat >> {d}/{who}.run.out' template("$MSG\\n")); }};
destination d_keep {{ program('echo $$ >> {d}/{who}.keep.pids; exec cat >> {d}/{who}.keep.out' keep-alive(yes) template("$MSG\\n")); }};
destination d_nf {{ program('echo $$ >> {d}/{who}.nf.pids; exit 127'); }};
log {{ source(s); destination(d_run); destination(d_keep); destination(d_nf); }};
"""
    dm = Daemon(who, d, conf)
    f = lambda n: f'{d}/{who}.{n}'
    wait_path(f('sock'))
    wait_lines(f('run.bg'), 1)
    wait_lines(f('keep.pids'), 1)
    send_dgrams(f('sock'), 50)
    wait_lines(f('run.out'), 50)
    wait_lines(f('keep.out'), 50)
    report(len(lines_of(f('run.pids'))) == 1 and len(lines_of(f('keep.pids'))) == 1,
           f'{who}: program(): each command started once for 50 messages',
           f"starts {len(lines_of(f('run.pids')))}, {len(lines_of(f('keep.pids')))}")
    # exit 127 ("command not found"): never started again
    end = time.time() + 20
    while time.time() < end:
        dm.err.seek(0)
        if 'Child program exited with command not found, stopping the destination.' \
                in dm.err.read():
            break
        time.sleep(0.05)
    else:
        report(False, f'{who}: program(): exit 127 stops the destination', 'no such line')
    # the child exits (killed): restarted, the messages after it delivered
    pid1 = int(lines_of(f('run.pids'))[0])
    bg1 = int(lines_of(f('run.bg'))[0])
    os.kill(pid1, signal.SIGKILL)
    wait_lines(f('run.bg'), 2)
    send_dgrams(f('sock'), 50, 50)
    wait_lines(f('run.out'), 100)
    lost, dup, torn, got = check_lines(f('run.out'), 100, True)
    alive = not gone(bg1, 0)
    report(len(lines_of(f('run.pids'))) == 2 and lost == 0 and dup == 0 and torn == 0 and alive,
           f'{who}: program(): a child that exits is restarted, the messages after it '
           'reach the new one, its background job left running',
           f"starts {len(lines_of(f('run.pids')))} lost {lost} dup {dup} torn {torn} "
           f'bg alive {alive}')
    if alive:
        os.kill(bg1, signal.SIGTERM)
    report(len(lines_of(f('nf.pids'))) == 1,
           f'{who}: program(): exit 127 stops the destination (started once)',
           f"starts {len(lines_of(f('nf.pids')))}")
    # reload: d_run's group killed and a new child; d_keep's child goes on
    pid2, bg2 = int(lines_of(f('run.pids'))[1]), int(lines_of(f('run.bg'))[1])
    dm.p.send_signal(signal.SIGHUP)
    wait_lines(f('run.bg'), 3)
    send_dgrams(f('sock'), 50, 100)
    wait_lines(f('run.out'), 150)
    wait_lines(f('keep.out'), 150)
    run_lost = check_lines(f('run.out'), 150, True)[0]
    keep_lost = check_lines(f('keep.out'), 150, True)[0]
    report(len(lines_of(f('run.pids'))) == 3 and gone(pid2) and gone(bg2) and run_lost == 0,
           f'{who}: program(): a reload kills the child\'s process group and starts a new one',
           f"starts {len(lines_of(f('run.pids')))} lost {run_lost}")
    report(len(lines_of(f('keep.pids'))) == 1 and keep_lost == 0,
           f'{who}: program(): keep-alive(yes): the same child after a reload',
           f"starts {len(lines_of(f('keep.pids')))} lost {keep_lost}")
    pid3, bg3 = int(lines_of(f('run.pids'))[2]), int(lines_of(f('run.bg'))[2])
    kpid = int(lines_of(f('keep.pids'))[0])
    dm.stop()
    report(gone(pid3) and gone(bg3) and gone(kpid),
           f'{who}: program(): stop kills the process groups (keep-alive(yes) too)',
           f'left: {[p for p in (pid3, bg3, kpid) if not gone(p, 0)]}')
    for p in (pid3, bg3, kpid):
        if not gone(p, 0):
            os.kill(p, signal.SIGKILL)


def program_stall(who, d):
    """A program() child that never reads its stdin next to a file: the file
    gets every message, senders never block, SIGTERM exits in time and the
    child is gone; ours: its queue bounded by log-fifo-size()."""
    conf = f"""@version: 3.38
options {{ log-fifo-size(1000); time-reopen(1); stats-freq(0); }};
source s_dev {{ unix-dgram("{d}/{who}.log.sock"); }};
destination d_prog {{ program('echo $$ > {d}/{who}.pid; exec sleep 300'); }};
destination d_file {{ file("{d}/{who}.local" template("$MSG\\n")); }};
log {{ source(s_dev); destination(d_prog); destination(d_file); }};
"""
    dm = Daemon(who, d, conf)
    wait_path(f'{d}/{who}.log.sock')
    wait_lines(f'{d}/{who}.pid', 1)
    rss0 = dm.rss_kb()
    n = 20000
    blocked = send_dgrams(f'{d}/{who}.log.sock', n)
    end = time.time() + 20
    while time.time() < end:
        lost, dup, torn, got = check_lines(f'{d}/{who}.local', n, True)
        lost -= len(blocked)
        if lost <= 0:
            break
        time.sleep(0.2)
    rss = dm.rss_kb()
    pid = int(lines_of(f'{d}/{who}.pid')[0])
    secs = dm.stop()
    report(lost == 0 and dup == 0 and torn == 0,
           f'{who}: stalled program() child: the local file gets all {n} messages',
           f'lost {lost} dup {dup} torn {torn}')
    report(not blocked, f'{who}: stalled program() child: unix-dgram senders never block',
           f'{len(blocked)} sends timed out after 1 s')
    report(secs is not None and gone(pid),
           f'{who}: SIGTERM with a stalled program() child: exited, the child killed',
           f'secs {secs}, child gone {gone(pid, 0)}')
    if not gone(pid, 0):
        os.kill(pid, signal.SIGKILL)
    if who == 'ours':
        # 1000 queued lines (and what the pipe took), not 20000
        report(rss - rss0 < 3000, f'{who}: stalled program() child: peak RSS {rss} kB, '
               f'{rss - rss0} kB over the idle daemon, bounded by log-fifo-size(1000)',
               f'{rss} kB, idle {rss0} kB')


def main():
    sc, who, d = sys.argv[1], sys.argv[2], sys.argv[3]
    if sc == 'stalled-tcp':
        stalled_tcp(who, d)
    elif sc == 'fifo':
        slow_fifo(who, d, False)
    elif sc == 'reconnect':
        reconnect(who, d)
    elif sc == 'stats':
        stats(who, d)
    elif sc == 'hup':
        hup_load(who, d)
    elif sc == 'full-fs':
        full_fs(who, d)
    elif sc == 'reload-stats':
        reload_stats(who, d)
    elif sc == 'diskbuf-damage':
        diskbuf_damage(who, d)
    elif sc == 'failover':
        failover(who, d)
    elif sc == 'diskbuf-rel':
        diskbuf_kill(who, d, True)
    elif sc == 'diskbuf-nrel':
        diskbuf_kill(who, d, False)
    elif sc == 'diskbuf-sync':
        diskbuf_sync(who, d)
    elif sc == 'diskbuf-sync-sng':
        diskbuf_sync(who, d, True)
    elif sc == 'persist':
        persist_kill(who, d)
    elif sc == 'ctl':
        ctl(who, d)
    elif sc == 'ctl-norm':
        sys.stdout.write(ctl_norm(d, who == 'peer'))
    elif sc == 'fifo-flow':
        slow_fifo(who, d, True)
    elif sc == 'program':
        program_life(who, d)
    elif sc == 'program-stall':
        program_stall(who, d)
    elif sc == 'fifo-stall':
        slow_fifo(who, d, True, True)
    else:
        sys.exit('unknown scenario ' + sc)


if __name__ == '__main__':
    main()
