/*
 * dest.c: the output pipeline: per-destination queues, non-blocking writers
 * and the transports under them, as syslog-ng's LogQueueFifo + LogWriter +
 * afsocket/affile destinations.
 *
 * Divisions: windows (flow control), transports (plain fd), writers (open,
 * connect, queue, write, fail), the event-loop side (service, poll, events,
 * close), reload (adopt).
 *
 * Design notes:
 *   (1) Routing formats a message straight into its writer's byte FIFO
 *       (w->buf from w->tail) and ls_writer_commit() queues it; the queue
 *       holds at most log-fifo-size() messages that are not flow-controlled
 *       (more are dropped and counted in the destination's "dropped"), as
 *       3.38's log_queue_fifo_push_tail() does. Flow-controlled messages are
 *       always queued: their source's window bounds them.
 *   (2) No write ever blocks: sockets and pipes are O_NONBLOCK; regular
 *       files cannot block on space (ENOSPC is an error). -EAGAIN leaves
 *       w->blocked set and the loop polls the fd for POLLOUT.
 *   (3) A write that took N bytes moves w->head by N (advance()): a partial
 *       write resumes at byte N, so no byte is written twice and a line is
 *       torn only where a connection died under it. A file keeps its bytes on
 *       error (ENOSPC: the same fd resumes after time-reopen()); a socket or
 *       pipe that is reopened starts the message it was in over, because the
 *       new reader never saw its first part.
 *   (4) A failing writer is retried time-reopen() seconds later (3.38: 60);
 *       its queue stays and is written in order when it comes back.
 *
 * State of a writer:
 *
 *      closed (fd < 0) --open/connect--> connecting --SO_ERROR 0--> open
 *         ^    | retry_ms due               | error                  | EAGAIN: blocked,
 *         |    +----------------------------+                        | POLLOUT clears it
 *         +---- error on a socket/pipe (q[0] restarts) <-------------+
 *               error on a file: fd kept, suspended until retry_ms
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ls_int.h"

/* Bytes queued before a writer writes without waiting for the loop to idle. */
#define BATCH_BYTES 65536

static FILE *notices;

void ls_dest_notices(FILE *f)
{
	notices = f;
}

int64_t ls_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ----------------------------------------------------------------- windows */

void ls_window_release(struct ls_window *w)
{
	w->avail++;
	if (--w->refs == 0 && w->gone)
		free(w);
}

/* -------------------------------------------------------------- transports */

static ssize_t fd_write(struct ls_writer *w, const void *p, size_t n)
{
	ssize_t r = w->dgram ? send(w->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) : write(w->fd, p, n);
	return r < 0 ? -errno : r;
}

static void fd_close(struct ls_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

static const struct ls_wops fd_ops = {fd_write, fd_close};

/*
 * TLS (tls.c) over the same non-blocking socket: a write runs the handshake
 * first; -EAGAIN says in w->events which readiness the session waits for
 * (a handshake or renegotiation may need POLLIN). A failure prints tls.c's
 * one line (certificate, peer, reason) once, as report_error does.
 */
static ssize_t tls_write(struct ls_writer *w, const void *p, size_t n)
{
	ssize_t r = ls_tls_write(w->tctx, p, n);
	if (r == -EAGAIN)
		w->events = (short)ls_tls_want(w->tctx);
	else if (r < 0 && notices && !w->failing)
		fprintf(notices, "%s; destination='%s'\n", ls_tls_error(w->tctx), w->dst->name);
	return r;
}

static void tls_close(struct ls_writer *w)
{
	ls_tls_conn_free(w->tctx);
	w->tctx = NULL;
	w->events = 0;
	w->ops = &fd_ops;
	fd_close(w);
}

static const struct ls_wops tls_ops = {tls_write, tls_close};

/* ------------------------------------------------------------------ writers */

static int reopen_s(struct ls_cfg *c, const struct ls_ddrv *d)
{
	return d->time_reopen >= 0 ? d->time_reopen : c->o.time_reopen;
}

static size_t fifo_size(struct ls_cfg *c, const struct ls_ddrv *d)
{
	return (size_t)(d->fifo_size > 0 ? d->fifo_size : c->o.log_fifo_size);
}

static bool is_net(const struct ls_ddrv *d)
{
	return d->kind == DST_TCP || d->kind == DST_UDP;
}

/* Start a non-blocking connect to the driver's address: 0 or -errno. */
static int net_connect(struct ls_writer *w)
{
	struct ls_ddrv *d = w->drv;
	struct addrinfo hints = {0}, *ai;
	hints.ai_socktype = d->kind == DST_UDP ? SOCK_DGRAM : SOCK_STREAM;
	char port[16];
	snprintf(port, sizeof port, "%d", d->port);
	if (getaddrinfo(d->ip, port, &hints, &ai) != 0)
		return -EADDRNOTAVAIL;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return -errno;
	}
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	w->fd = fd;
	w->connecting = r < 0;
	if (d->tls) {
		/* the session starts on the connecting socket; the handshake runs
		 * at the first write once the connect has finished */
		w->tctx = ls_tls_conn_new(d->tls, fd, w->path, d->ip);
		w->ops = &tls_ops;
	}
	return 0;
}

static void report_error(struct ls_writer *w, const char *what, int err)
{
	w->dst->failed++;
	if (w->failing || !notices)
		return;
	if (is_net(w->drv))
		fprintf(notices,
			"%s; server='%s', error='%s (%d)', destination='%s', time_reopen='%d'\n",
			what, w->path, strerror(err), err, w->dst->name, w->drv->time_reopen);
	else
		fprintf(notices, "%s; filename='%s', error='%s (%d)', destination='%s'\n", what,
			w->path, strerror(err), err, w->dst->name);
}

static void report_recovered(struct ls_writer *w)
{
	if (!w->failing)
		return;
	w->failing = false;
	if (notices)
		fprintf(
		    notices,
		    "Destination recovered, writing queued messages; %s='%s', destination='%s', "
		    "queued='%zu'\n",
		    is_net(w->drv) ? "server" : "filename", w->path, w->dst->name, w->qn);
}

/* Open (file, pipe) or start connecting (socket); on failure retry later. */
static void writer_open(struct ls_cfg *c, struct ls_writer *w)
{
	int r;
	if (is_net(w->drv)) {
		r = net_connect(w);
	} else {
		r = ls_file_open(c, w->drv, w->path);
		if (r >= 0) {
			w->fd = r;
			r = 0;
		}
	}
	if (r < 0) {
		report_error(
		    w, is_net(w->drv) ? "Connection failed" : "Error opening file for writing", -r);
		w->failing = true;
		w->retry_ms = ls_now_ms() + 1000LL * reopen_s(c, w->drv);
		return;
	}
	w->retry_ms = 0;
	w->blocked = false;
	if (!w->connecting)
		report_recovered(w);
}

/*
 * A write or connect error. Files keep their fd and bytes (resume at the
 * same byte); sockets and pipes are closed and start their current message
 * over on the next connection. Either way nothing is tried before
 * time-reopen() has passed.
 */
static void writer_fail(struct ls_cfg *c, struct ls_writer *w, int err)
{
	report_error(w, is_net(w->drv) ? "Connection broken" : "Error writing file", err);
	w->failing = true;
	w->blocked = false;
	w->connecting = false;
	if (w->is_stream_sock || w->dgram || (err != ENOSPC && err != EDQUOT && err != EFBIG)) {
		w->ops->close(w);
		if (w->is_stream_sock) {
			w->head -= w->done;
			w->done = 0;
		}
	}
	w->retry_ms = ls_now_ms() + 1000LL * reopen_s(c, w->drv);
}

static void queue_pop(struct ls_writer *w, bool written)
{
	struct ls_qent *e = &w->q[w->qh];
	if (e->win)
		ls_window_release(e->win);
	if (written)
		w->dst->written++;
	else
		w->dst->dropped++;
	w->qh = (w->qh + 1) & (w->qcap - 1);
	w->qn--;
}

/* N bytes were written: move head, retire whole messages (design note 3). */
static void advance(struct ls_writer *w, size_t n)
{
	w->head += n;
	size_t rem = w->done + n;
	while (w->qn && rem >= w->q[w->qh].len) {
		rem -= w->q[w->qh].len;
		queue_pop(w, true);
	}
	w->done = rem;
}

/* Keep the FIFO compact: reset when empty, slide when mostly written. */
static void compact(struct ls_writer *w)
{
	if (w->head == w->tail) {
		size_t extra = w->buf.len - w->tail;
		memmove(w->buf.p, w->buf.p + w->tail, extra);
		w->buf.len = extra;
		w->head = w->tail = 0;
		if (w->buf.cap > (4u << 20) && !extra) {
			/* a drained burst gives its memory back */
			ls_buf_free(&w->buf);
		}
	} else if (w->head > BATCH_BYTES && w->head * 2 > w->buf.len) {
		memmove(w->buf.p, w->buf.p + w->head, w->buf.len - w->head);
		w->buf.len -= w->head;
		w->tail -= w->head;
		w->head = 0;
	}
}

/* Write what is queued until done, would-block or error. */
static void writer_flush(struct ls_cfg *c, struct ls_writer *w)
{
	if (w->fd < 0 || w->connecting || w->blocked || !w->qn)
		return;
	if (w->retry_ms) {
		if (ls_now_ms() < w->retry_ms)
			return;
		w->retry_ms = 0;
	}
	while (w->qn) {
		size_t n = w->dgram ? w->q[w->qh].len : w->tail - w->head;
		ssize_t r = w->ops->write(w, w->buf.p + w->head, n);
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN || r == -EWOULDBLOCK) {
			w->blocked = true;
			break;
		}
		if (r < 0 && w->dgram && r != -ENOBUFS) {
			/* a datagram the network refused (port unreachable, too
			 * big) is lost as 3.38 loses it: counted, next one */
			w->dst->failed++;
			w->head += w->q[w->qh].len;
			queue_pop(w, false);
			continue;
		}
		if (r <= 0) {
			writer_fail(c, w, r < 0 ? (int)-r : ENOSPC);
			break;
		}
		report_recovered(w);
		advance(w, (size_t)r);
	}
	compact(w);
}

struct ls_writer *ls_writer_get(struct ls_cfg *c, struct ls_dest *dst, struct ls_ddrv *d,
				const char *path)
{
	for (struct ls_writer *w = d->files; w; w = w->next)
		if (!path || !strcmp(w->path, path))
			return w;
	struct ls_writer *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	char addr[128];
	if (!path) {
		snprintf(addr, sizeof addr, "%s:%d", d->ip, d->port);
		path = addr;
	}
	w->path = strdup(path);
	if (!w->path)
		abort();
	w->fd = -1;
	w->ops = &fd_ops;
	w->dst = dst;
	w->drv = d;
	w->is_stream_sock = d->kind == DST_TCP || d->kind == DST_PIPE;
	w->dgram = d->kind == DST_UDP;
	w->next = d->files;
	d->files = w;
	writer_open(c, w);
	return w;
}

int ls_writer_commit(struct ls_cfg *c, struct ls_writer *w, struct ls_window *win)
{
	size_t len = w->buf.len - w->tail;
	size_t bound = fifo_size(c, w->drv);
	if (w->qn >= bound) {
		writer_flush(c, w);
		if (w->qn >= bound && !win) {
			w->buf.len = w->tail;
			w->dst->dropped++;
			return 0;
		}
	}
	if (w->qn == w->qcap) {
		/* grow the ring, unrolled so that it starts at 0 */
		size_t cap = w->qcap ? w->qcap * 2 : 64;
		struct ls_qent *q = malloc(cap * sizeof *q);
		if (!q)
			abort();
		for (size_t i = 0; i < w->qn; i++)
			q[i] = w->q[(w->qh + i) & (w->qcap - 1)];
		free(w->q);
		w->q = q;
		w->qh = 0;
		w->qcap = cap;
	}
	w->q[(w->qh + w->qn) & (w->qcap - 1)] = (struct ls_qent){(uint32_t)len, win};
	w->qn++;
	w->tail = w->buf.len;
	if (win) {
		win->avail--;
		win->refs++;
	}
	if (w->tail - w->head >= BATCH_BYTES || w->qn >= bound ||
	    (c->o.flush_lines > 0 && w->qn >= (size_t)c->o.flush_lines))
		writer_flush(c, w);
	return 1;
}

static void writer_free(struct ls_writer *w)
{
	while (w->qn)
		queue_pop(w, false);
	if (w->fd >= 0)
		w->ops->close(w);
	free(w->q);
	ls_buf_free(&w->buf);
	free(w->path);
	free(w);
}

void ls_writers_free(struct ls_ddrv *d)
{
	for (struct ls_writer *w = d->files, *n; w; w = n) {
		n = w->next;
		writer_free(w);
	}
	d->files = NULL;
}

/* ---------------------------------------------------------- the event loop */

#define FOR_WRITERS(c, w)                                                                          \
	for (size_t i_ = 0; i_ < (c)->n_dst; i_++)                                                 \
		for (size_t k_ = 0; k_ < (c)->dst[i_]->n_drv; k_++)                                \
			for (struct ls_writer *w = (c)->dst[i_]->drv[k_].files; w; w = w->next)

int ls_dest_service(struct ls_cfg *c, bool flush_all)
{
	int64_t now = ls_now_ms(), next = -1;
	FOR_WRITERS(c, w)
	{
		if (w->fd < 0 && now >= w->retry_ms)
			writer_open(c, w);
		if (w->fd >= 0 && (flush_all || w->tail - w->head >= BATCH_BYTES))
			writer_flush(c, w);
		if (w->retry_ms) {
			int64_t left = w->retry_ms > now ? w->retry_ms - now : 0;
			if (next < 0 || left < next)
				next = left;
		}
	}
	return next > INT32_MAX ? INT32_MAX : (int)next;
}

size_t ls_dest_pollfds(struct ls_cfg *c, struct pollfd *pf, struct ls_writer **ws, size_t max)
{
	size_t n = 0;
	FOR_WRITERS(c, w)
	{
		if (w->fd < 0 || n == max)
			continue;
		short ev = 0;
		if (w->connecting || w->blocked)
			ev |= w->events ? w->events : POLLOUT;
		/* a connected TCP socket: POLLIN tells that the server went away */
		if (w->drv->kind == DST_TCP && !w->connecting)
			ev |= POLLIN;
		if (!ev)
			continue;
		pf[n] = (struct pollfd){.fd = w->fd, .events = ev};
		ws[n++] = w;
	}
	return n;
}

void ls_dest_events(struct ls_cfg *c, const struct pollfd *pf, struct ls_writer **ws, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ls_writer *w = ws[i];
		short re = pf[i].revents;
		if (!re || w->fd != pf[i].fd)
			continue;
		if (w->connecting) {
			int err = 0;
			socklen_t len = sizeof err;
			if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (err) {
				writer_fail(c, w, err);
				continue;
			}
			w->connecting = false;
			report_recovered(w);
			writer_flush(c, w);
			continue;
		}
		if (w->tctx) {
			/* TLS: the server's bytes belong to the session (alerts,
			 * close_notify, handshake records): read through it */
			if (re & (POLLIN | POLLHUP | POLLERR)) {
				char junk[4096];
				ssize_t r = ls_tls_read(w->tctx, junk, sizeof junk);
				if (r == 0 || (r < 0 && r != -EAGAIN && r != -EINTR)) {
					if (r < 0 && notices && !w->failing)
						fprintf(notices, "%s; destination='%s'\n",
							ls_tls_error(w->tctx), w->dst->name);
					writer_fail(c, w, r == 0 ? ECONNRESET : (int)-r);
					continue;
				}
			}
			w->blocked = false;
			w->events = 0;
			writer_flush(c, w);
			continue;
		}
		if (re & (POLLIN | POLLHUP | POLLERR) && w->drv->kind == DST_TCP) {
			char junk[4096];
			ssize_t r = recv(w->fd, junk, sizeof junk, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
				writer_fail(c, w, r == 0 ? ECONNRESET : errno);
				continue;
			}
		}
		if (re & (POLLOUT | POLLERR | POLLHUP)) {
			w->blocked = false;
			writer_flush(c, w);
		}
	}
}

uint64_t ls_dest_queued(const struct ls_cfg *c)
{
	uint64_t n = 0;
	FOR_WRITERS(c, w)
	n += w->qn;
	return n;
}

void ls_dest_close_all(struct ls_cfg *c)
{
	for (size_t i = 0; i < c->n_dst; i++)
		for (size_t k = 0; k < c->dst[i]->n_drv; k++)
			ls_writers_free(&c->dst[i]->drv[k]);
}

/* ------------------------------------------------------------------ reload */

/* Same persist identity: kind and target (syslog-ng's persist name). */
static bool same_target(const struct ls_ddrv *a, const struct ls_ddrv *b)
{
	if (a->kind != b->kind)
		return false;
	if (is_net(a))
		return !strcmp(a->ip, b->ip) && a->port == b->port &&
		       a->syslog_proto == b->syslog_proto && !a->tls == !b->tls;
	/* files: a fixed name must be the same file; templated names match by
	 * the files already open (each writer is keyed by its expanded name) */
	if (ls_tmpl_is_literal(a->path) != ls_tmpl_is_literal(b->path))
		return false;
	if (!ls_tmpl_is_literal(a->path))
		return true;
	struct ls_msg m;
	struct ls_buf pa = {0}, pb = {0};
	ls_msg_init(&m);
	ls_tmpl_format(a->path, &m, &pa);
	ls_tmpl_format(b->path, &m, &pb);
	bool same = pa.p && pb.p && !strcmp(pa.p, pb.p);
	ls_buf_free(&pa);
	ls_buf_free(&pb);
	ls_msg_free(&m);
	return same;
}

void ls_dest_adopt(struct ls_cfg *nc, struct ls_cfg *c)
{
	for (size_t i = 0; i < nc->n_dst; i++) {
		struct ls_dest *nd = nc->dst[i];
		for (size_t j = 0; j < c->n_dst; j++) {
			struct ls_dest *od = c->dst[j];
			if (strcmp(od->name, nd->name))
				continue;
			/* counters go on, as 3.38's stats survive a reload */
			nd->processed = od->processed;
			nd->written = od->written;
			nd->dropped = od->dropped;
			nd->failed = od->failed;
			for (size_t k = 0; k < nd->n_drv && k < od->n_drv; k++) {
				struct ls_ddrv *a = &nd->drv[k], *b = &od->drv[k];
				if (a->files || !same_target(a, b))
					continue;
				a->files = b->files;
				b->files = NULL;
				for (struct ls_writer *w = a->files; w; w = w->next) {
					w->drv = a;
					w->dst = nd;
					if (w->tctx) {
						/* the session points into the old tls()
						 * context, freed with the old config:
						 * reconnect with the new one, the message
						 * in progress starts over */
						w->ops->close(w);
						w->head -= w->done;
						w->done = 0;
						w->blocked = w->connecting = false;
						w->retry_ms = 0;
					}
				}
			}
		}
	}
}
