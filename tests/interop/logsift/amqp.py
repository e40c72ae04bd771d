#!/usr/bin/python3
"""amqp.py: the RabbitMQ side of the amqp() tests (python3-pika).

  amqp.py setup PORT EXCHANGE:QUEUE...  declare each durable fanout EXCHANGE and
                                         durable QUEUE bound to it (guest/guest), empty
  amqp.py consume PORT IDLE QUEUE:OUT:N...   take messages off each QUEUE until N
                                         came or none came for IDLE seconds; one
                                         JSON line each to OUT: routing key,
                                         content type, delivery mode, headers
                                         (in wire order), body
  amqp.py consume-seq PORT QUEUE OUT N IDLE   as consume, up to the body with
                                         "seq=N" (the last; a repeat of an older
                                         one comes before it) and 1 s more
  amqp.py seqcheck OUT N                 the bodies' "seq=NNNNNN": print
                                         "lost=L dup=D" against 1..N
  amqp.py count PORT QUEUE N IDLE        wait until QUEUE holds N messages or its
                                         count did not grow for IDLE seconds;
                                         print the count (the bench's finish line)
  amqp.py send PORT N DIR                numbered messages 1..N ("seq=NNNNNN") over
                                         TCP: the first half, then DIR/half is
                                         made and the rest waits for DIR/go
"""
import json, socket, sys, time

import pika


def conn(port):
    p = pika.ConnectionParameters('127.0.0.1', int(port),
                                  credentials=pika.PlainCredentials('guest', 'guest'),
                                  connection_attempts=30, retry_delay=0.5)
    return pika.BlockingConnection(p)


def setup(port, *pairs):
    c = conn(port)
    ch = c.channel()
    for p in pairs:
        exchange, queue = p.split(':')
        ch.exchange_declare(exchange, 'fanout', durable=True)
        ch.queue_declare(queue, durable=True)
        ch.queue_bind(queue, exchange)
        ch.queue_purge(queue)
    c.close()


def text(v):
    return v.decode('utf-8', 'backslashreplace') if isinstance(v, bytes) else v


def consume(port, queue, out, n, idle, final=None):
    n, idle = int(n), float(idle)
    got = 0
    last = time.monotonic()
    with open(out, 'w') as f:
        while got < n and time.monotonic() - last < idle:
            try:
                c = conn(port)
                ch = c.channel()
                ch.basic_qos(prefetch_count=500)
                for m, props, body in ch.consume(queue, auto_ack=True, inactivity_timeout=0.2):
                    if m is None:
                        if time.monotonic() - last >= idle:
                            break
                        continue
                    last = time.monotonic()
                    got += 1
                    hdrs = {k: text(v) for k, v in (props.headers or {}).items()}
                    f.write(json.dumps({'rk': m.routing_key, 'ct': props.content_type,
                                        'dm': props.delivery_mode, 'headers': hdrs,
                                        'body': text(body)}) + '\n')
                    if final and final in text(body):
                        idle = 1.0
                    if got >= n:
                        break
                f.flush()
                c.close()
            except pika.exceptions.AMQPError:
                time.sleep(0.5)  # the broker restarts: come back


def seqcheck(out, n):
    seen = {}
    for line in open(out):
        body = json.loads(line)['body']
        i = body.find('seq=')
        if i >= 0:
            k = int(body[i + 4:i + 10])
            seen[k] = seen.get(k, 0) + 1
    lost = sum(1 for k in range(1, int(n) + 1) if k not in seen)
    dup = sum(v - 1 for v in seen.values())
    print('lost=%d dup=%d' % (lost, dup))


def count(port, queue, n, idle):
    # passive declares: the broker's own count, no consumer in the way
    c = conn(port)
    ch = c.channel()
    n, idle = int(n), float(idle)
    got, last = -1, time.monotonic()
    while True:
        k = ch.queue_declare(queue, passive=True).method.message_count
        if k != got:
            got, last = k, time.monotonic()
        if got >= n or time.monotonic() - last >= idle:
            break
        time.sleep(0.05)
    c.close()
    print(got)


def send(port, n, d):
    import os
    n = int(n)
    s = socket.create_connection(('127.0.0.1', int(port)))
    line = '<13>Dec  6 10:00:00 h app[1]: seq=%06d payload ..................................\n'
    for i in range(1, n + 1):
        if i == n // 2 + 1:
            open(os.path.join(d, 'half'), 'w').close()
            t = time.monotonic()
            while not os.path.exists(os.path.join(d, 'go')) and time.monotonic() - t < 300:
                time.sleep(0.05)
        s.sendall((line % i).encode())
    s.close()


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'setup': setup(sys.argv[2], *sys.argv[3:])
    elif cmd == 'consume':
        for spec in sys.argv[4:]:
            q, out, n = spec.split(':')
            consume(sys.argv[2], q, out, n, sys.argv[3])
    elif cmd == 'seqcheck': seqcheck(*sys.argv[2:4])
    elif cmd == 'consume-seq':
        consume(*sys.argv[2:5], 10 ** 9, sys.argv[6], 'seq=%06d ' % int(sys.argv[5]))
    elif cmd == 'count': count(*sys.argv[2:6])
    elif cmd == 'send': send(*sys.argv[2:5])
    else: sys.exit('amqp.py: unknown command ' + cmd)
