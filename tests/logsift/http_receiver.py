#!/usr/bin/env python3
"""http_receiver.py: the HTTP bulk endpoint stand-in for logsift's and
syslog-ng 3.38's http() destinations (fault injection only; the peer that
decides is syslog-ng itself, sending to the same receiver).

    http_receiver.py DIR [--port N] [--cert PEM --key PEM [--client-ca PEM]]

Listens on 127.0.0.1 (port 0 unless --port: a restart takes the old one),
writes its port to DIR/port, and appends every request, in arrival order,
to DIR/requests.jsonl as {"method", "path", "headers": [[name, value]...],
"body": base64, "status": the answer given or "timeout"}.

Commands (GET, not recorded):
    /_ctl/push?codes=500,500,timeout   answer the next requests with these
    /_ctl/default?code=200             the answer once the pushed ones are used
    /_ctl/count                        requests recorded so far
A "timeout" answer reads the request, records it, waits --hold seconds
(3) without answering, then answers 200 (the client has given up by then,
as a real server that committed the batch but answered too late).
"""
import argparse, base64, json, os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {'push': [], 'default': '200', 'count': 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def _answer(self, code, body=b''):
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self.path.startswith('/_ctl/'):
            return self._answer(404)
        q = dict(p.split('=', 1) for p in self.path.split('?', 1)[1].split('&')) if '?' in self.path else {}
        with lock:
            if self.path.startswith('/_ctl/push'):
                state['push'].extend(q['codes'].split(','))
            elif self.path.startswith('/_ctl/default'):
                state['default'] = q['code']
            n = state['count']
        self._answer(200, str(n).encode())

    def _record(self):
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n) if n else b''
        with lock:
            status = state['push'].pop(0) if state['push'] else state['default']
            rec = {'method': self.command, 'path': self.path,
                   'headers': [[k, v] for k, v in self.headers.items()],
                   'body': base64.b64encode(body).decode(), 'status': status}
            with open(os.path.join(ARGS.dir, 'requests.jsonl'), 'a') as f:
                f.write(json.dumps(rec) + '\n')
            state['count'] += 1
        if status == 'timeout':
            time.sleep(ARGS.hold)
            status = '200'
        try:
            self._answer(int(status))
        except OSError:
            pass

    do_POST = _record
    do_PUT = _record


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--cert')
    ap.add_argument('--key')
    ap.add_argument('--client-ca')
    ap.add_argument('--hold', type=float, default=3)
    ARGS = ap.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(('127.0.0.1', ARGS.port), Handler)
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        if ARGS.client_ca:
            ctx.load_verify_locations(ARGS.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = os.path.join(ARGS.dir, 'port.tmp')
    with open(tmp, 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, os.path.join(ARGS.dir, 'port'))
    srv.serve_forever()


if __name__ == '__main__':
    main()
