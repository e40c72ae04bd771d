#!/usr/bin/env python3
"""peer.py: helpers for the logsift interop tests (stdlib only).

  peer.py freeport [N]                  print N (1) free TCP+UDP ports on 127.0.0.1
  peer.py wait unix PATH | tcp PORT     wait (<= 10 s) until a socket accepts
  peer.py send KIND TARGET MSGFILE      send each line of MSGFILE (C escapes
                                        \\n \\r \\t \\xNN \\\\ decoded, and
                                        \\*NNNNNNN repeating the byte before) over
                                        unix-dgram PATH[,PATH...], unix-stream PATH,
                                        udp PORT or tcp PORT; tcp-raw and
                                        unix-stream-raw send the bytes alone
                                        (the corpus holds its own framing)
  peer.py waitsend WKIND WTARGET KIND TARGET MSGFILE
                                        wait, then 0.2 s later send, in one
                                        process
  peer.py write FILE MSGFILE            write the decoded lines to FILE
  peer.py tracecmp PEER_LOG OURS_LOG    compare syslog-ng 3.38's -t leaf trace
                                        with logsift's --trace=explain trace
  peer.py proxy PORTFILE TARGET LOG [PORT]   TCP proxy on a free loopback port
                                        (or PORT, again after a restart) written
                                        to PORTFILE, to port TARGET, appending
                                        every byte either way to LOG
"""
import os, re, socket, sys, time


def unescape(line):
    out = bytearray()
    i = 0
    b = line
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            n = b[i + 1]
            if n == ord('n'): out.append(10); i += 2; continue
            if n == ord('r'): out.append(13); i += 2; continue
            if n == ord('t'): out.append(9); i += 2; continue
            if n == 0x5C: out.append(0x5C); i += 2; continue
            if n == ord('x'):
                out.append(int(b[i + 2:i + 4], 16)); i += 4; continue
            if n == ord('*'):  # \*NNNNNNN: the previous byte NNNNNNN more times
                out += out[-1:] * int(b[i + 2:i + 9]); i += 9; continue
        out.append(c)
        i += 1
    return bytes(out)


def messages(path):
    with open(path, 'rb') as f:
        for line in f.read().split(b'\n'):
            if line:
                yield unescape(line)


def freeport(n=1):
    # the sockets stay bound until all n are found, so the n differ
    held = []
    for _ in range(100 * n):
        t = socket.socket(); t.bind(('127.0.0.1', 0)); port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(('127.0.0.1', port))
        except OSError:
            t.close(); continue
        held.append((port, t, u))
        if len(held) == n:
            break
    for port, t, u in held:
        t.close(); u.close()
        print(port)
    if len(held) < n:
        sys.exit(1)


def wait(kind, target):
    end = time.time() + 10
    while time.time() < end:
        try:
            if kind == 'unix':
                if os.path.exists(target):
                    return
            elif kind == 'udp':
                # bound: a line of /proc/net/udp with local port TARGET (hex)
                # (there is nothing to connect to, and a datagram sent before
                # the bind is lost)
                port = ':%04X' % int(target)
                for table in ('/proc/net/udp', '/proc/net/udp6'):
                    with open(table) as f:
                        next(f)  # the header line
                        if any(line.split()[1].endswith(port) for line in f):
                            return
            else:
                s = socket.create_connection(('127.0.0.1', int(target)), timeout=1)
                s.close()
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(1)


def send(kind, target, path):
    msgs = list(messages(path))
    if kind == 'unix-dgram':
        # PATH1,PATH2...: each message to every socket from this one process
        # (the same sender credentials for each daemon)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for m in msgs:
            for t in target.split(','):
                s.sendto(m, t)
            time.sleep(0.002)
    elif kind == 'udp':
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for m in msgs:
            s.sendto(m, ('127.0.0.1', int(target)))
            time.sleep(0.002)
    else:
        if kind.startswith('unix-stream'):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(target)
        else:
            s = socket.create_connection(('127.0.0.1', int(target)))
        for m in msgs:
            if kind == 'tcp-framed':
                s.sendall(b'%d ' % len(m) + m)
            elif kind.endswith('-raw'):
                try:
                    s.sendall(m)  # the line's bytes only: framing is in the corpus
                except OSError:
                    break  # the daemon closed the connection (a framing error)
            else:
                s.sendall(m + (b'' if m.endswith(b'\n') else b'\n'))
        s.close()


def waitsend(wkind, wtarget, kind, target, path):
    """wait, 0.2 s, send: what test_peer.sh's run_case did with two python
    processes a daemon (a python start is ~70 ms of CPU). A wait that times
    out does not stop the send, as a failed `peer.py wait` did not."""
    try:
        wait(wkind, wtarget)
    except SystemExit:
        pass
    time.sleep(0.2)
    send(kind, target, path)


TAG = re.compile(r"(\w[\w-]*)='((?:[^'\\]|\\.)*)'")


def tags(line):
    return dict(TAG.findall(line))


def peer_trace(path):
    """Per message: list of (rule, [leaves], result) from 3.38's -t output."""
    # 3.38 prints a rule's result line after the rest of the pipeline ran
    # (nested log paths included), so results close the latest open rule of
    # that name; leaves belong to the rule begun last.
    msgs, cur, rule = [], None, None
    for line in open(path, encoding='utf-8', errors='replace'):
        if 'Incoming log entry;' in line:
            cur = []
            msgs.append(cur)
        elif cur is None:
            continue
        elif '>>>>>> filter rule evaluation begin;' in line:
            rule = [tags(line)['rule'], [], None]
            cur.append(rule)
        elif '<<<<<< filter rule evaluation result;' in line:
            name = tags(line)['rule']
            for r in reversed(cur):
                if r[0] == name and r[2] is None:
                    r[2] = 'match' if tags(line)['result'].startswith('MATCH') else 'not-match'
                    break
        elif rule is not None and rule[2] is None:
            t = tags(line)
            if line.find('facility() evaluation started') >= 0:
                v = int(t['valid_fac'], 16); fac = int(t['fac'])
                raw = ((v & 0x7fffffff) == fac) if v & 0x80000000 else bool((v >> (fac & 31)) & 1)
                rule[1].append(('facility', raw))
            elif line.find('severity() evaluation started') >= 0:
                rule[1].append(('level', bool((int(t['valid_pri'], 16) >> int(t['pri'])) & 1)))
            elif line.find('cmp() evaluation result') >= 0:
                rule[1].append(('CMP', t['result'] == '1'))
            elif re.search(r'\] (match|netmask|netmask6|in-list|tags)\(\) evaluation', line):
                rule[1].append(('', None))
    return msgs


def our_trace(path):
    msgs, cur, rule = [], None, None
    for line in open(path, encoding='utf-8', errors='replace'):
        if line.startswith('Incoming log entry;'):
            cur = []
            msgs.append(cur)
        elif line.startswith('Filter rule evaluation begins;'):
            rule = [tags(line)['filter_rule'], [], None]
            cur.append(rule)
        elif line.startswith('Filter rule evaluation result;'):
            rule[2] = tags(line)['filter_result']
        elif line.startswith('Filter node evaluation result;'):
            t = tags(line)
            typ = t.get('filter_type', '')
            if typ in ('AND', 'OR') or typ.startswith('filter('):
                continue
            res = t['filter_result'] == 'match'
            raw = t['raw_result'] == 'match'
            neg = t['negated'] == 'yes'
            if res != (raw ^ neg):
                print('# inconsistent node line: ' + line.strip())
                sys.exit(1)
            rule[1].append((typ, raw if typ else None))
    return msgs


def tracecmp(peer, ours):
    p, o = peer_trace(peer), our_trace(ours)
    if len(p) != len(o) or not p:
        print('# message count: peer %d, ours %d' % (len(p), len(o)))
        sys.exit(1)
    leaves = 0
    for i, (pm, om) in enumerate(zip(p, o)):
        if [r[0] for r in pm] != [r[0] for r in om]:
            print('# message %d rules: peer %s ours %s' % (i + 1, [r[0] for r in pm], [r[0] for r in om]))
            sys.exit(1)
        for pr, orr in zip(pm, om):
            if pr[1] != orr[1] or pr[2] != orr[2]:
                print('# message %d rule %s: peer %s %s, ours %s %s' % (i + 1, pr[0], pr[1], pr[2], orr[1], orr[2]))
                sys.exit(1)
            leaves += len(pr[1])
    print('# %d messages, %d leaves agree' % (len(p), leaves))


def proxy(portfile, target, log, port=0):
    import select, threading
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', int(port)))
    ls.listen(16)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % ls.getsockname()[1])
    os.rename(portfile + '.tmp', portfile)
    out = open(log, 'ab', buffering=0)
    lock = threading.Lock()

    def pump(a):
        try:
            b = socket.create_connection(('127.0.0.1', int(target)))
        except OSError:
            a.close()
            return
        socks = [a, b]
        while True:
            r, _, _ = select.select(socks, [], [])
            for s in r:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b''
                if not data:
                    a.close(); b.close()
                    return
                with lock:
                    out.write(data)
                try:
                    (b if s is a else a).sendall(data)
                except OSError:
                    a.close(); b.close()
                    return

    while True:
        c, _ = ls.accept()
        threading.Thread(target=pump, args=(c,), daemon=True).start()


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'freeport': freeport(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    elif cmd == 'wait': wait(sys.argv[2], sys.argv[3])
    elif cmd == 'send': send(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == 'waitsend': waitsend(*sys.argv[2:7])
    elif cmd == 'write':
        with open(sys.argv[2], 'wb') as f:
            for m in messages(sys.argv[3]):
                f.write(m if m.endswith(b'\n') else m + b'\n')
    elif cmd == 'tracecmp': tracecmp(sys.argv[2], sys.argv[3])
    elif cmd == 'proxy': proxy(*sys.argv[2:6])
