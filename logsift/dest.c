/*
 * dest.c: the output pipeline: per-destination queues, non-blocking writers
 * and the transports under them, as syslog-ng's LogQueueFifo + LogWriter +
 * afsocket/affile destinations.
 *
 * Divisions: windows (flow control), transports (plain fd), programs
 * (program(): the child under a pipe writer), writers (open, connect, queue,
 * write, fail), the event-loop side (service, poll, events, close), reload
 * (adopt).
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
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diskq.h"
#include "ls_int.h"

/* Bytes queued before a writer writes without waiting for the loop to idle. */
#define BATCH_BYTES 65536

/* Where w's destination errors and recoveries go: its runtime's notices
 * stream (NULL: nowhere). */
static FILE *notices_of(const struct ls_writer *w)
{
	return w->rt ? w->rt->notices : NULL;
}

/* The runtime's hook after a write that finished messages, if any. */
static void after_write(const struct ls_writer *w)
{
	if (w->rt && w->rt->on_written)
		w->rt->on_written(w->rt->on_written_arg);
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
	struct ls_window *parent = w->parent;
	w->avail++;
	if (--w->refs == 0 && w->gone)
		free(w);
	if (parent)
		ls_window_release(parent);
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
	FILE *notices = notices_of(w);
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

/* -------------------------------------------------------------------- files */

/* Make every missing directory above path (create-dirs()). */
static int mkdirs(const char *path, int mode)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int ls_file_open(struct ls_cfg *c, struct ls_ddrv *d, const char *path)
{
	int create_dirs = d->create_dirs >= 0 ? d->create_dirs : c->o.create_dirs;
	int perm = d->perm >= 0 ? d->perm : c->o.perm;
	/* O_NONBLOCK: a pipe whose reader is slow must not stall the daemon */
	int flags = d->kind == DST_PIPE
			? O_WRONLY | O_NONBLOCK | O_CLOEXEC
			: O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	bool existed = stat(path, &st) == 0;
	int fd = open(path, flags, perm);
	if (fd < 0 && errno == ENOENT && create_dirs && d->kind == DST_FILE) {
		mkdirs(path, d->dir_perm >= 0 ? d->dir_perm : c->o.dir_perm);
		fd = open(path, flags, perm);
	}
	if (fd < 0)
		return -errno;
	if (!existed && d->kind == DST_FILE) {
		/* a new file gets perm() exactly (not umask-ed) and owner()/group() */
		fchmod(fd, (mode_t)perm);
		uid_t uid = (uid_t)-1;
		gid_t gid = (gid_t)-1;
		struct passwd *pw = c->o.owner ? getpwnam(c->o.owner) : NULL;
		struct group *gr = c->o.group ? getgrnam(c->o.group) : NULL;
		if (pw)
			uid = pw->pw_uid;
		if (gr)
			gid = gr->gr_gid;
		if (pw || gr)
			(void)!fchown(fd, uid, gid);
	}
	return fd;
}

/* ----------------------------------------------------------------- programs */

/*
 * program("CMD") as 3.38's afprogram destination (modules/afprog/afprog.c):
 * CMD runs once through /bin/sh -c, in its own process group, stdin the read
 * end of a pipe, stdout and stderr /dev/null, no other descriptor of ours,
 * the environment ours or (inherit-environment(no)) empty. The pipe is an
 * ordinary writer of this file (queue, log-fifo-size(), flow control,
 * would-block polling, time-reopen() after a write error), so a child that
 * stops reading holds up nothing but its own queue.
 *
 * 3.38's life cycle, kept here:
 *   - the child exits: restarted at once ("Child program exited,
 *     restarting"); exit status 127 (the shell's "not found") stops the
 *     destination instead ("...command not found, stopping the
 *     destination."), its messages queue until log-fifo-size() and drop.
 *   - a write fails (EPIPE: the child closed stdin): the writer is
 *     suspended for time-reopen() (the message in progress starts over); an
 *     exit in the meantime restarts the child, the writes wait on.
 *     3.38 keeps writing to the same broken pipe after the suspension while
 *     a child that closed stdin lives on; logsift sends its group SIGTERM and
 *     starts a new one then, so the destination comes back.
 *   - reload: the group gets SIGTERM and a new child starts, the queue kept;
 *     with keep-alive(yes) (of the old config) the child and its pipe go on.
 *   - stop: the group gets SIGTERM (after the 1 s drain), keep-alive or not.
 * A child is noticed gone by waitpid() in ls_dest_service(); SIGCHLD
 * interrupts the daemon's poll() to get there soon.
 */

/* pid was sent SIGTERM: reap it later without blocking (its runtime's list). */
static void prog_reap_later(struct ls_writer *w, int pid)
{
	struct ls_runtime *rt = w->rt;
	if (waitpid(pid, NULL, WNOHANG) == pid || !rt)
		return;
	if (rt->n_reap == rt->cap_reap) {
		rt->cap_reap = rt->cap_reap ? rt->cap_reap * 2 : 8;
		rt->reap = realloc(rt->reap, rt->cap_reap * sizeof *rt->reap);
		if (!rt->reap)
			abort();
	}
	rt->reap[rt->n_reap++] = pid;
}

/* The children killed earlier that have exited since: reaped. */
static void prog_reap_list(struct ls_runtime *rt)
{
	for (size_t i = 0; rt && i < rt->n_reap;) {
		pid_t r = waitpid(rt->reap[i], NULL, WNOHANG);
		if (r == rt->reap[i] || (r < 0 && errno == ECHILD))
			rt->reap[i] = rt->reap[--rt->n_reap];
		else
			i++;
	}
}

/* SIGTERM to the child's process group, as 3.38's
 * _terminate_process_group_by_pid (never our own group). */
static void prog_kill(struct ls_writer *w)
{
	if (w->pid <= 0)
		return;
	pid_t pgid = getpgid(w->pid);
	if (pgid > 0 && pgid != getpgrp())
		killpg(pgid, SIGTERM);
	prog_reap_later(w, w->pid);
	w->pid = -1;
}

/* Close every descriptor from 3 up (the child's side of afprog's
 * _close_all_fd): close_range() where the kernel has it. */
static void close_from_3(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = 3; fd < (max > 0 ? max : 65536); fd++)
		close((int)fd);
}

/* Start w's command: the pipe's write end (non-blocking), or -errno. */
static int prog_spawn(struct ls_writer *w)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		/* the child: only async-signal-safe calls up to exec */
		setpgid(0, 0);
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(p[0], 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		close_from_3();
		if (w->drv->inherit_env) {
			execl("/bin/sh", "/bin/sh", "-c", w->drv->cmd, (char *)NULL);
		} else {
			char *const empty[] = {NULL};
			execle("/bin/sh", "/bin/sh", "-c", w->drv->cmd, (char *)NULL, empty);
		}
		_exit(127);
	}
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	w->pid = (int)pid;
	return p[1];
}

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
/* The server w talks to: failover()'s current one, else the driver's. */
static const char *server_host(const struct ls_writer *w)
{
	return w->drv->n_servers ? w->drv->servers[w->server] : w->drv->ip;
}

/* A non-blocking socket connecting to host at the driver's port: fd, or -errno. */
static int sock_connect(const struct ls_ddrv *d, const char *host, bool *in_progress)
{
	struct addrinfo hints = {0}, *ai;
	hints.ai_socktype = d->kind == DST_UDP ? SOCK_DGRAM : SOCK_STREAM;
	char port[16];
	snprintf(port, sizeof port, "%d", d->port);
	if (getaddrinfo(host, port, &hints, &ai) != 0)
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
	*in_progress = r < 0;
	return fd;
}

/* failover(): the writer's name follows its server, for the messages. */
static void name_after_server(struct ls_writer *w)
{
	char addr[300];
	snprintf(addr, sizeof addr, "%s:%d", server_host(w), w->drv->port);
	free(w->path);
	w->path = strdup(addr);
	if (!w->path)
		abort();
}

static int net_connect(struct ls_writer *w)
{
	struct ls_ddrv *d = w->drv;
	if (d->n_servers)
		name_after_server(w);
	bool in_progress;
	int fd = sock_connect(d, server_host(w), &in_progress);
	if (fd < 0)
		return fd;
	w->fd = fd;
	w->connecting = in_progress;
	if (d->tls) {
		/* the session starts on the connecting socket; the handshake runs
		 * at the first write once the connect has finished */
		w->tctx = ls_tls_conn_new(d->tls, fd, w->path, server_host(w));
		w->ops = &tls_ops;
	}
	return 0;
}

static void report_error(struct ls_cfg *c, struct ls_writer *w, const char *what, int err)
{
	FILE *notices = notices_of(w);
	w->dst->failed++;
	if (w->failing || !notices)
		return;
	if (is_net(w->drv) || w->drv->kind == DST_PROGRAM)
		fprintf(notices,
			"%s; %s='%s', error='%s (%d)', destination='%s', time_reopen='%d'\n", what,
			is_net(w->drv) ? "server" : "cmdline", w->path, strerror(err), err,
			w->dst->name, reopen_s(c, w->drv));
	else
		fprintf(notices, "%s; filename='%s', error='%s (%d)', destination='%s'\n", what,
			w->path, strerror(err), err, w->dst->name);
}

static void report_recovered(struct ls_writer *w)
{
	FILE *notices = notices_of(w);
	if (!w->failing)
		return;
	w->failing = false;
	if (notices)
		fprintf(
		    notices,
		    "Destination recovered, writing queued messages; %s='%s', destination='%s', "
		    "queued='%zu'\n",
		    is_net(w->drv)		  ? "server"
		    : w->drv->kind == DST_PROGRAM ? "cmdline"
						  : "filename",
		    w->path, w->dst->name, ls_writer_queued(w));
}

/* Open (file, pipe) or start connecting (socket); on failure retry later. */
static void failover_step(struct ls_writer *w);

static void writer_open(struct ls_cfg *c, struct ls_writer *w)
{
	int r;
	if (w->drv->kind == DST_AMQP) {
		w->drv->wd->open(c, w); /* it reports and schedules itself */
		return;
	}

	if (w->drv->kind == DST_HTTP) {
		/* http(): a worker thread; its eventfd is the writer's fd */
		r = w->drv->wd->open(c, w);
	} else if (is_net(w->drv)) {
		/* 3.38 moves to the next server at every reconnect */
		if (w->drv->n_servers && w->opens >= 2)
			failover_step(w);
		w->opens++;
		r = net_connect(w);
	} else if (w->drv->kind == DST_PROGRAM) {
		if (w->stopped)
			return; /* exited 127: 3.38 does not try again */
		prog_kill(w);	/* one that closed its stdin but lives on */
		r = prog_spawn(w);
		if (r >= 0) {
			w->fd = r;
			r = 0;
		}
	} else {
		r = ls_file_open(c, w->drv, w->path);
		if (r >= 0) {
			w->fd = r;
			r = 0;
		}
	}
	if (r < 0) {
		report_error(c, w,
			     is_net(w->drv)		   ? "Connection failed"
			     : w->drv->kind == DST_PROGRAM ? "Error starting destination program"
							   : "Error opening file for writing",
			     -r);
		w->failing = true;
		w->retry_ms = ls_now_ms() + 1000LL * reopen_s(c, w->drv);
		return;
	}
	w->retry_ms = 0;
	w->blocked = false;
	if (!w->connecting && w->drv->kind != DST_HTTP) /* http(): its first 2xx says so */
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
	report_error(c, w,
		     is_net(w->drv)		   ? "Connection broken"
		     : w->drv->kind == DST_PROGRAM ? "I/O error occurred while writing"
						   : "Error writing file",
		     err);
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

static void dq_acked(struct ls_writer *w);

/* Retire q[0]: written (counted; its disk record acknowledged) or not
 * (counted as dropped unless kept, i.e. saved in the disk-buffer). */
static void queue_pop_kept(struct ls_writer *w, bool written, bool kept)
{
	struct ls_qent *e = &w->q[w->qh];
	if (e->win)
		ls_window_release(e->win);
	if (written && e->disk)
		dq_acked(w);
	if (kept) {
	} else if (written) {
		w->dst->written++;
		w->drv->written++;
	} else {
		w->dst->dropped++;
		w->drv->dropped++;
	}
	w->qh = (w->qh + 1) & (w->qcap - 1);
	w->qn--;
}

static void queue_pop(struct ls_writer *w, bool written)
{
	queue_pop_kept(w, written, false);
}

/* N bytes were written: move head, retire whole messages (design note 3). */
static void advance(struct ls_writer *w, size_t n)
{
	w->head += n;
	size_t rem = w->done + n;
	bool popped = false;
	while (w->qn && rem >= w->q[w->qh].len) {
		rem -= w->q[w->qh].len;
		queue_pop(w, true);
		popped = true;
	}
	w->done = rem;
	if (popped)
		after_write(w); /* -R positions follow at once */
}

void ls_writer_retire(struct ls_writer *w, size_t n, bool written)
{
	for (; n && w->qn; n--) {
		w->head += w->q[w->qh].len - w->done;
		w->done = 0;
		if (!written && w->q[w->qh].disk)
			dq_acked(w); /* a dropped message is not sent again either */
		queue_pop(w, written);
	}
	after_write(w);
}

void ls_writer_advance(struct ls_writer *w, size_t bytes)
{
	advance(w, bytes);
}

void ls_writer_drop_head(struct ls_writer *w)
{
	struct ls_qent *e = &w->q[w->qh];
	if (e->disk)
		dq_acked(w);
	w->head += e->len;
	queue_pop(w, false);
}

/* Keep the FIFO compact: reset when empty, slide when mostly written. */
static void compact(struct ls_writer *w)
{
	if (w->head == w->tail) {
		size_t extra = w->buf.len - w->tail;
		if (extra)
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
static void dq_refill(struct ls_cfg *c, struct ls_writer *w);

/*
 * A pipe's next write: the rest of the first message and the whole ones
 * after it that fit in PIPE_BUF. POSIX makes a pipe take such a write
 * whole or not at all, so a reader never gets a torn line, not even when
 * the daemon dies between two writes (the restarted one starts at the next
 * whole message: -R positions follow written messages). 3.38 writes one
 * message a time; a message longer than PIPE_BUF goes alone.
 */
static size_t pipe_chunk(const struct ls_writer *w)
{
	size_t n = w->q[w->qh].len - w->done;
	for (size_t i = 1; i < w->qn; i++) {
		size_t len = w->q[(w->qh + i) & (w->qcap - 1)].len;
		if (n + len > PIPE_BUF)
			break;
		n += len;
	}
	return n;
}

/*
 * http(): the next batch goes to the worker thread when one is due (idle:
 * the loop has nothing else to do). Returns ms until a waiting partial
 * batch is due, or -1.
 */
static int writer_flush_http(struct ls_cfg *c, struct ls_writer *w, bool idle)
{
	if (w->fd < 0 || w->blocked)
		return -1;
	if (w->retry_ms) {
		if (ls_now_ms() < w->retry_ms)
			return -1;
		w->retry_ms = 0;
	}
	if (w->dq)
		dq_refill(c, w);
	int due = w->drv->wd->flush(c, w, idle);
	compact(w); /* a batch in flight is the worker's copy */
	return due;
}

static void writer_flush(struct ls_cfg *c, struct ls_writer *w)
{
	if (w->drv->kind == DST_HTTP) {
		writer_flush_http(c, w, false);
		return;
	}
	if (w->fd < 0 || w->connecting || w->blocked || (!w->qn && !w->dq))
		return;
	if (w->retry_ms) {
		if (ls_now_ms() < w->retry_ms)
			return;
		w->retry_ms = 0;
	}
	if (w->drv->wd) {
		/* amqp(): publish, messages leave at the broker's confirms */
		if (w->dq)
			dq_refill(c, w);
		w->drv->wd->flush(c, w, false);
		compact(w);
		return;
	}
	for (;;) {
		if (w->dq)
			dq_refill(c, w);
		if (!w->qn)
			break;
		size_t n = w->dgram ? w->q[w->qh].len
			   : w->drv->kind == DST_PIPE || w->drv->kind == DST_PROGRAM
			       ? pipe_chunk(w)
			       : w->tail - w->head;
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

static void dq_open(struct ls_cfg *c, struct ls_writer *w);

struct ls_writer *ls_writer_get(struct ls_cfg *c, struct ls_dest *dst, struct ls_ddrv *d,
				const char *path)
{
	for (struct ls_writer *w = d->files; w; w = w->next)
		if (!path || !strcmp(w->path, path))
			return w;
	struct ls_writer *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->rt = c->rt;
	char addr[128];
	if (!path) {
		snprintf(addr, sizeof addr, "%s:%d", d->ip, d->port);
		path = addr;
	}
	w->path = strdup(path);
	if (!w->path)
		abort();
	w->fd = -1;
	w->probe_fd = -1;
	w->ops = &fd_ops;
	w->dst = dst;
	w->drv = d;
	w->pid = -1;
	w->is_stream_sock = d->kind == DST_TCP || d->kind == DST_PIPE || d->kind == DST_PROGRAM;
	w->dgram = d->kind == DST_UDP;
	w->next = d->files;
	d->files = w;
	if (d->dq)
		dq_open(c, w);
	writer_open(c, w);
	return w;
}

/* Queue the len bytes at w->tail as one entry (the caller took win's slot). */
static void enqueue(struct ls_writer *w, size_t len, struct ls_window *win, bool disk)
{
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
	w->q[(w->qh + w->qn) & (w->qcap - 1)] = (struct ls_qent){(uint32_t)len, disk, win};
	w->qn++;
	w->tail += len;
}

static void take_slot(struct ls_window *win)
{
	for (; win; win = win->parent) {
		win->avail--;
		win->refs++;
	}
}

static void count_drop(struct ls_writer *w)
{
	w->buf.len = w->tail;
	w->dst->dropped++;
	w->drv->dropped++;
}

static int dq_commit(struct ls_cfg *c, struct ls_writer *w, struct ls_window *win);

int ls_writer_commit(struct ls_cfg *c, struct ls_writer *w, struct ls_window *win)
{
	size_t len = w->buf.len - w->tail;
	size_t bound = fifo_size(c, w->drv);
	if (!len) {
		/* an empty line (template("")): nothing to write, and write(2)
		 * of 0 bytes would look like a full disk */
		w->dst->written++;
		w->drv->written++;
		return 1;
	}
	if (w->dq) {
		if (!dq_commit(c, w, win))
			return 0;
	} else {
		if (w->qn >= bound) {
			writer_flush(c, w);
			if (w->qn >= bound && !win) {
				count_drop(w);
				return 0;
			}
		}
		enqueue(w, len, win, false);
		take_slot(win);
	}
	if (w->tail - w->head >= BATCH_BYTES || w->qn >= bound ||
	    (c->o.flush_lines > 0 && w->qn >= (size_t)c->o.flush_lines))
		writer_flush(c, w);
	return 1;
}

static void dq_close(struct ls_writer *w);

static void writer_free(struct ls_writer *w)
{
	if (w->dq)
		dq_close(w); /* saves or keeps what is queued */
	while (w->qn)
		queue_pop(w, false);
	if (w->fd >= 0)
		w->ops->close(w);
	prog_kill(w); /* program(): after its EOF, as 3.38's deinit */
	if (w->drv->wd && w->drv->wd->free)
		w->drv->wd->free(w);
	if (w->probe_fd >= 0)
		close(w->probe_fd);
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

/* ------------------------------------------------------------ disk-buffer */

/*
 * disk-buffer() as 3.38's LogQueueDiskReliable / LogQueueDiskNonReliable,
 * over diskq.c's ring file. The writer's byte FIFO plays qout (qout-size()
 * messages read ahead into memory; 3.38 keeps them there too).
 *
 * reliable(yes): every message is written to the file first; one that does
 * not fit is dropped and counted ("Destination reliable queue full"), with or
 * without flow control, as 3.38 drops it. A flow-controlled message gives its
 * source's window slot back once its record is fdatasync'ed, unless the
 * file's free space is below mem-buf-size(): then the slot is held until the
 * message is written to the destination, which is how 3.38's flow control
 * sees a full reliable buffer. A record is acknowledged (its space freed)
 * only after the destination took all of it, so a crash re-sends at most
 * the messages in the FIFO (read, not yet written: at most qout-size()).
 *
 * reliable(no): a message goes to memory while the file is empty and the
 * FIFO has room (qout), else to the file, else to the overflow queue of
 * mem-buf-length() messages (window slot held), else it is dropped and
 * counted. Records read back into memory leave the file at once. A crash
 * loses the memory parts (FIFO and overflow); a clean stop saves them into
 * the file in order.
 */
struct held {
	uint64_t seq; /* record whose write (held) or fdatasync (unsynced) gives the slot back */
	struct ls_window *win; /* slot held (reliable, free space < mem-buf-size) */
};
struct ovf {
	uint32_t len; /* bytes in ob */
	struct ls_window *win;
};
struct ls_dqw {
	struct ls_qf qf;
	bool reliable;
	long long mem_buf_size;
	size_t mem_buf_length, qout;
	struct held *held; /* reliable: held slots, oldest first from hh */
	size_t hh, hn, hcap;
	struct held *unsynced; /* reliable: slots to give back once their record is durable */
	size_t un, ucap;
	struct ls_buf ob; /* non-reliable overflow bytes, from oh on */
	size_t oh;
	struct ovf *ov; /* its entries, from ovh */
	size_t ovh, ovn, ovcap;
	bool full_said; /* "queue full" printed for the current run of drops */
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	p = realloc(p, n * size);
	if (!p)
		abort();
	*cap = n;
	return p;
}

/* FNV-1a: the file name from the driver's persist identity. */
static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/*
 * The queue file of w: DIR/logsift-HASH.rqf (reliable) or .qf, HASH from
 * persist-name() or the driver's kind and target, as 3.38 keys its queue by
 * the driver's persist name (the name itself lives in its persist file).
 */
static void dq_open(struct ls_cfg *c, struct ls_writer *w)
{
	FILE *notices = notices_of(w);
	const struct ls_dq_opts *o = w->drv->dq;
	(void)c;
	struct ls_dqw *q = calloc(1, sizeof *q);
	if (!q)
		abort();
	q->reliable = o->reliable;
	q->mem_buf_size = o->mem_buf_size >= 0 ? o->mem_buf_size : 163840000LL;
	q->mem_buf_length =
	    o->mem_buf_length >= 0 ? (size_t)o->mem_buf_length : fifo_size(c, w->drv);
	q->qout = (size_t)(o->qout_size >= 0 ? o->qout_size : 1000);
	if (!q->qout)
		q->qout = 1; /* the writer needs one message in memory to write */
	char id[600], path[4000];
	const char *worker = w->drv->kind == DST_HTTP ? strstr(w->path, " worker ") : NULL;
	if (o->persist)
		snprintf(id, sizeof id, "persist:%s%s", o->persist, worker ? worker : "");
	else
		snprintf(id, sizeof id, "%d:%s:%d", (int)w->drv->kind, w->path,
			 w->drv->syslog_proto);
	snprintf(path, sizeof path, "%s/logsift-%016llx.%s", o->dir, (unsigned long long)fnv(id),
		 o->reliable ? "rqf" : "qf");
	struct ok_err e;
	mkdirs(path, 0700); /* 3.38 creates the directory too */
	int r = ls_qf_open(&q->qf, path, o->disk_buf_size, o->reliable,
			   o->truncate_ratio >= 0 ? o->truncate_ratio : 0.1, &e);
	if (r < 0 && r != -ENOMEM && r != -EACCES && r != -ENOENT && r != -ELOOP) {
		/* unreadable: kept aside for inspection, a new one started (3.38:
		 * "Error opening disk-queue file, a new one started") */
		char aside[4100];
		snprintf(aside, sizeof aside, "%s.corrupted", path);
		if (notices)
			fprintf(notices,
				"%s; filename='%s', offset='%lld'; a new one started, old kept as "
				"'%s'\n",
				e.msg, path, e.offset, aside);
		rename(path, aside);
		r = ls_qf_open(&q->qf, path, o->disk_buf_size, o->reliable,
			       o->truncate_ratio >= 0 ? o->truncate_ratio : 0.1, &e);
	}
	if (r < 0) {
		if (notices)
			fprintf(notices, "%s: %s (%s); destination='%s'\n", path, e.msg,
				strerror(-r), w->dst->name);
		free(q);
		return;
	}
	if (q->qf.bad_off >= 0 && notices)
		fprintf(notices,
			"Disk-queue file damaged, the records from here on are skipped; "
			"filename='%s', offset='%lld', recovered='%llu'\n",
			path, (long long)q->qf.bad_off, (unsigned long long)ls_qf_length(&q->qf));
	else if (ls_qf_length(&q->qf) && notices)
		fprintf(notices,
			"Disk-queue file loaded; filename='%s', queued='%llu', destination='%s'\n",
			path, (unsigned long long)ls_qf_length(&q->qf), w->dst->name);
	w->dq = q;
}

/* A written message's record: acknowledged (reliable), its held slot back. */
static void dq_acked(struct ls_writer *w)
{
	ls_qf_ack(&w->dq->qf, 1);
}

/* Give back the slots of records now durable (all of them: all). */
static void dq_release_unsynced(struct ls_dqw *q, bool all)
{
	size_t i = 0;
	for (; i < q->un && (all || q->unsynced[i].seq < q->qf.synced_seq); i++)
		ls_window_release(q->unsynced[i].win);
	if (i) {
		q->un -= i;
		memmove(q->unsynced, q->unsynced + i, q->un * sizeof *q->unsynced);
	}
}

static void say_full(struct ls_writer *w, const char *what)
{
	FILE *notices = notices_of(w);
	if (w->dq->full_said || !notices)
		return;
	w->dq->full_said = true;
	fprintf(notices,
		"%s; filename='%s', queue_len='%llu', disk_buf_size='%lld', destination='%s'\n",
		what, w->dq->qf.path, (unsigned long long)ls_writer_queued(w),
		(long long)w->dq->qf.max, w->dst->name);
}

/* Push bytes to the file; a full ring first persists acknowledgements (frees space). */
static int dq_push(struct ls_dqw *q, const void *p, size_t len)
{
	int r = ls_qf_push(&q->qf, p, (uint32_t)len);
	if (r == -ENOSPC && (q->qf.dirty || ls_qf_sync_busy(&q->qf)) && ls_qf_sync(&q->qf) == 0)
		r = ls_qf_push(&q->qf, p, (uint32_t)len);
	return r;
}

/* The message formatted at w->tail into the disk-buffer: 1 queued, 0 dropped. */
static int dq_commit(struct ls_cfg *c, struct ls_writer *w, struct ls_window *win)
{
	struct ls_dqw *q = w->dq;
	size_t len = w->buf.len - w->tail;
	const char *p = w->buf.p + w->tail;
	(void)c;
	if (q->reliable) {
		if (dq_push(q, p, len) < 0) {
			say_full(w, "Destination reliable queue full, dropping message");
			count_drop(w);
			return 0;
		}
		q->full_said = false;
		bool hold = win && ls_qf_empty_space(&q->qf) < q->mem_buf_size;
		take_slot(win);
		if (ls_qf_unread(&q->qf) == 1 && w->qn < q->qout) {
			/* fast path: the message stays in memory, read head past it */
			ls_qf_read_skip(&q->qf);
			enqueue(w, len, hold ? win : NULL, true);
		} else {
			w->buf.len = w->tail;
			if (hold) {
				q->held =
				    grow(q->held, &q->hcap, q->hh + q->hn + 1, sizeof *q->held);
				q->held[q->hh + q->hn++] = (struct held){q->qf.write_seq - 1, win};
			}
		}
		if (win && !hold) {
			q->unsynced = grow(q->unsynced, &q->ucap, q->un + 1, sizeof *q->unsynced);
			q->unsynced[q->un++] = (struct held){q->qf.write_seq - 1, win};
		}
		return 1;
	}
	if (!ls_qf_unread(&q->qf) && !q->ovn && w->qn < q->qout) {
		enqueue(w, len, NULL, false); /* qout: acknowledged at once, as 3.38 */
		return 1;
	}
	if (!q->ovn && dq_push(q, p, len) == 0) {
		w->buf.len = w->tail;
		q->full_said = false;
		return 1;
	}
	if (q->ovn < q->mem_buf_length) {
		if (q->oh && q->oh == q->ob.len) {
			q->ob.len = q->oh = 0;
		}
		ls_buf_add(&q->ob, p, len);
		q->ov = grow(q->ov, &q->ovcap, q->ovh + q->ovn + 1, sizeof *q->ov);
		q->ov[q->ovh + q->ovn++] = (struct ovf){(uint32_t)len, win};
		take_slot(win);
		w->buf.len = w->tail;
		return 1;
	}
	say_full(w, "Destination queue full, dropping message");
	count_drop(w);
	return 0;
}

/* Drop the oldest overflow entry from the books (its bytes were used). */
static void ovf_pop(struct ls_dqw *q)
{
	q->oh += q->ov[q->ovh].len;
	q->ovh++;
	if (!--q->ovn) {
		q->ovh = 0;
		q->ob.len = q->oh = 0;
	}
}

/* Read records back into the FIFO up to qout-size(); move overflow on. */
static void dq_refill(struct ls_cfg *c, struct ls_writer *w)
{
	FILE *notices = notices_of(w);
	struct ls_dqw *q = w->dq;
	(void)c;
	while (w->qn < q->qout && ls_qf_unread(&q->qf)) {
		uint64_t seq = q->qf.read_seq;
		ssize_t n = ls_qf_read(&q->qf);
		if (n <= 0) {
			/* our own file changed under us: what is left is lost */
			uint64_t lost = ls_qf_unread(&q->qf);
			if (notices)
				fprintf(notices,
					"Error reading disk-queue file, %llu messages lost; "
					"filename='%s', offset='%lld'\n",
					(unsigned long long)lost, q->qf.path,
					(long long)q->qf.read_off);
			q->qf.write_seq = q->qf.read_seq;
			q->qf.write_off = q->qf.read_off;
			w->dst->dropped += lost;
			w->drv->dropped += lost;
			break;
		}
		struct ls_window *win = NULL;
		if (q->reliable && q->hn && q->held[q->hh].seq == seq) {
			win = q->held[q->hh++].win;
			if (!--q->hn)
				q->hh = 0;
		}
		if (!q->reliable)
			ls_qf_ack(&q->qf, 1); /* non-reliable: out of the file once in memory */
		w->buf.len = w->tail;
		ls_buf_add(&w->buf, q->qf.rec, (size_t)n);
		enqueue(w, (size_t)n, win, q->reliable);
	}
	while (q->ovn) {
		struct ovf *e = &q->ov[q->ovh];
		const char *p = q->ob.p + q->oh;
		if (!ls_qf_unread(&q->qf) && w->qn < q->qout) {
			w->buf.len = w->tail;
			ls_buf_add(&w->buf, p, e->len);
			enqueue(w, e->len, NULL, false);
		} else if (ls_qf_push(&q->qf, p, e->len) < 0) {
			break;
		}
		if (e->win)
			ls_window_release(e->win);
		ovf_pop(q);
	}
}

/*
 * Group commit: a finished sync job gives back the slots of the records it
 * made durable, and the next job starts with everything pushed since, so
 * sources read on into their windows while the disk syncs (diskq.h).
 */
static void dq_sync(struct ls_writer *w, bool idle)
{
	struct ls_dqw *q = w->dq;
	ls_qf_sync_done(&q->qf);
	ls_qf_sync_start(&q->qf, idle);
	size_t before = q->un;
	dq_release_unsynced(q, false);
	if (q->un < before)
		after_write(w); /* -R positions: these lines are durable */
}

/*
 * Close: reliable: every queued message is in the file (the FIFO only
 * caches it); sync and keep. Non-reliable: the memory parts (FIFO from the
 * start of its first message, then the file's records, then the overflow)
 * go into a new file that replaces the old one, as 3.38 saves qout and
 * qoverflow at a clean stop.
 */
static void dq_close(struct ls_writer *w)
{
	struct ls_dqw *q = w->dq;
	if (!q->reliable && (w->qn || q->ovn)) {
		char tmp[4100];
		snprintf(tmp, sizeof tmp, "%s.new", q->qf.path);
		unlink(tmp);
		struct ls_qf nq;
		struct ok_err e;
		uint64_t lost = 0;
		if (ls_qf_open(&nq, tmp, q->qf.max, false, 0, &e) == 0) {
			size_t off = w->head - w->done;
			for (size_t i = 0; i < w->qn; i++) {
				struct ls_qent *qe = &w->q[(w->qh + i) & (w->qcap - 1)];
				lost += ls_qf_push(&nq, w->buf.p + off, qe->len) < 0;
				off += qe->len;
			}
			ssize_t n;
			while ((n = ls_qf_read(&q->qf)) > 0)
				lost += ls_qf_push(&nq, q->qf.rec, (uint32_t)n) < 0;
			for (size_t i = 0, o = q->oh; i < q->ovn; i++) {
				lost += ls_qf_push(&nq, q->ob.p + o, q->ov[q->ovh + i].len) < 0;
				o += q->ov[q->ovh + i].len;
			}
			if (ls_qf_sync(&nq) == 0 && fdatasync(nq.fd) == 0 &&
			    rename(tmp, q->qf.path) == 0) {
				w->dst->dropped += lost;
				w->drv->dropped += lost;
				while (w->qn)
					queue_pop_kept(w, false, true);
			} else {
				unlink(tmp);
			}
			ls_qf_close(&nq);
		}
	} else {
		/* reliable: FIFO entries are records; they stay unacknowledged */
		while (w->qn && q->reliable)
			queue_pop_kept(w, false, true);
	}
	for (size_t i = 0; i < q->ovn; i++)
		if (q->ov[q->ovh + i].win)
			ls_window_release(q->ov[q->ovh + i].win);
	for (size_t i = 0; i < q->hn; i++)
		ls_window_release(q->held[q->hh + i].win);
	dq_release_unsynced(q, true);
	ls_qf_close(&q->qf);
	free(q->held);
	free(q->unsynced);
	free(q->ov);
	ls_buf_free(&q->ob);
	free(q);
	w->dq = NULL;
}

size_t ls_writer_queued(const struct ls_writer *w)
{
	size_t n = w->qn;
	if (w->dq)
		n += (size_t)ls_qf_unread(&w->dq->qf) + w->dq->ovn;
	return n;
}

int ls_dest_start(struct ls_cfg *c, struct ok_err *e)
{
	int rc = 0;
	for (size_t i = 0; i < c->n_dst; i++)
		for (size_t k = 0; k < c->dst[i]->n_drv; k++) {
			struct ls_ddrv *d = &c->dst[i]->drv[k];
			/* program(): the child starts with the config, as 3.38's */
			if ((!d->dq && d->kind != DST_PROGRAM) || d->files)
				continue;
			struct ls_writer *w = NULL;
			if (d->kind == DST_PROGRAM) {
				w = ls_writer_get(c, c->dst[i], d, d->cmd);
			} else if (d->kind == DST_HTTP) {
				w = d->wd->writer(c, c->dst[i], d);
			} else if (is_net(d) || d->wd) {
				w = ls_writer_get(c, c->dst[i], d, NULL);
			} else {
				/* pipe() or file() with a fixed name (cfg.c refuses others) */
				struct ls_msg m;
				struct ls_buf path = {0};
				ls_msg_init(&m);
				ls_tmpl_format(d->path, &m, &path);
				if (path.p)
					w = ls_writer_get(c, c->dst[i], d, path.p);
				ls_buf_free(&path);
				ls_msg_free(&m);
			}
			/* dq_open said why on the notices stream */
			if (w && d->dq && !w->dq && rc == 0)
				rc = ok_errc_at(e, OK_CLASS_REFUSED, -EIO, NULL, OK_ERR_NOPOS,
						"Error initializing log queue; destination='%s'",
						c->dst[i]->name);
		}
	return rc < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- failover */

/*
 * failover() as 3.38's afinet-dest-failover.c: the servers are the primary
 * then servers(), all on the driver's port. The first connection and the
 * first reconnect go to the primary (3.38 starts its iterator only at the
 * first reconnect); every later reconnect (after time-reopen()) steps to
 * the next server. Past the last one: the primary again, or with failback() the
 * first failover server. With failback(), leaving the primary starts TCP
 * probes of it every tcp-probe-interval() seconds; after
 * successful-probes-required() successes in a row the probe's connection
 * becomes the writer's (the message in progress starts over on it).
 */
static void failover_step(struct ls_writer *w)
{
	FILE *notices = notices_of(w);
	struct ls_ddrv *d = w->drv;
	size_t prev = w->server;
	w->server++;
	if (w->server >= d->n_servers) {
		w->server = d->failback && d->n_servers > 1 ? 1 : 0;
		if (notices && !w->server)
			fprintf(notices,
				"Last failover server reached, trying the original host again; "
				"host='%s', destination='%s'\n",
				server_host(w), w->dst->name);
		else if (notices)
			fprintf(notices,
				"Last failover server reached, trying the first failover again; "
				"next_failover_server='%s', destination='%s'\n",
				server_host(w), w->dst->name);
		return;
	}
	if (d->failback && prev == 0) {
		w->probe_ms = ls_now_ms(); /* the first probe at once, as 3.38 */
		w->probes = 0;
		if (notices)
			fprintf(
			    notices,
			    "Current primary server is inaccessible, sending the messages to the "
			    "next failover server; next_failover_server='%s', destination='%s'\n",
			    server_host(w), w->dst->name);
		return;
	}
	if (notices)
		fprintf(notices,
			"Current failover server is inaccessible, sending the messages to the "
			"next failover server; next_failover_server='%s', destination='%s'\n",
			server_host(w), w->dst->name);
}

/* A probe of the primary ended: ok (connected) or not. */
static void probe_done(struct ls_cfg *c, struct ls_writer *w, bool ok)
{
	FILE *notices = notices_of(w);
	struct ls_ddrv *d = w->drv;
	if (!ok) {
		w->probes = 0;
		if (w->probe_fd >= 0)
			close(w->probe_fd);
		w->probe_fd = -1;
		w->probe_ms = ls_now_ms() + 1000LL * d->probe_interval;
		return;
	}
	w->probes++;
	if (notices)
		fprintf(notices,
			"Probing primary server successful; successful-probes-received='%d', "
			"successful-probes-required='%d'\n",
			w->probes, d->probes_required);
	if (w->probes < d->probes_required) {
		close(w->probe_fd);
		w->probe_fd = -1;
		w->probe_ms = ls_now_ms() + 1000LL * d->probe_interval;
		return;
	}
	if (notices)
		fprintf(notices,
			"Primary server seems to be stable, reconnecting to primary server\n");
	/* the probe's connection replaces the failover server's */
	if (w->fd >= 0)
		w->ops->close(w);
	if (w->is_stream_sock) {
		w->head -= w->done;
		w->done = 0;
	}
	w->server = 0;
	name_after_server(w);
	w->fd = w->probe_fd;
	w->probe_fd = -1;
	w->probe_ms = 0;
	w->probes = 0;
	w->connecting = w->blocked = false;
	w->retry_ms = 0;
	if (d->tls) {
		w->tctx = ls_tls_conn_new(d->tls, w->fd, w->path, server_host(w));
		w->ops = &tls_ops;
	}
	report_recovered(w);
	writer_flush(c, w);
}

/* Start the probe that is due. */
static void probe_start(struct ls_cfg *c, struct ls_writer *w)
{
	FILE *notices = notices_of(w);
	w->probe_ms = 0;
	if (notices)
		fprintf(notices, "Probing the primary server.; tcp-probe-interval='%d'\n",
			w->drv->probe_interval);
	bool in_progress;
	int fd = sock_connect(w->drv, w->drv->servers[0], &in_progress);
	if (fd < 0) {
		probe_done(c, w, false);
		return;
	}
	w->probe_fd = fd;
	if (!in_progress)
		probe_done(c, w, true);
}

/* The probe socket is ready: its connect's result. */
static void probe_event(struct ls_cfg *c, struct ls_writer *w)
{
	FILE *notices = notices_of(w);
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(w->probe_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err && notices)
		fprintf(
		    notices,
		    "Connection towards primary server failed; server='%s:%d', error='%s (%d)'\n",
		    w->drv->servers[0], w->drv->port, strerror(err), err);
	probe_done(c, w, err == 0);
}

/* ---------------------------------------------------------- the event loop */

#define FOR_WRITERS(c, w)                                                                          \
	for (size_t i_ = 0; i_ < (c)->n_dst; i_++)                                                 \
		for (size_t k_ = 0; k_ < (c)->dst[i_]->n_drv; k_++)                                \
			for (struct ls_writer *w = (c)->dst[i_]->drv[k_].files; w; w = w->next)

/*
 * program(): w's child has exited with status (waitpid's). 127 stops the
 * destination; anything else starts the command again at once, the
 * message in progress over; a write error's time-reopen() still holds the
 * writes back (3.38's child manager and LogWriter suspension).
 */
static void prog_exited(struct ls_cfg *c, struct ls_writer *w, int status)
{
	FILE *notices = notices_of(w);
	w->pid = -1;
	if (w->fd >= 0) {
		w->ops->close(w);
		w->head -= w->done;
		w->done = 0;
		w->blocked = false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		if (notices)
			fprintf(notices,
				"Child program exited with command not found, stopping the "
				"destination.; cmdline='%s', status='%d'\n",
				w->path, status);
		w->stopped = true;
		return;
	}
	if (notices)
		fprintf(notices, "Child program exited, restarting; cmdline='%s', status='%d'\n",
			w->path, status);
	int64_t held = w->retry_ms;
	writer_open(c, w);
	if (w->fd >= 0 && held > ls_now_ms())
		w->retry_ms = held;
}

int ls_dest_service(struct ls_cfg *c, bool flush_all)
{
	int64_t now = ls_now_ms(), next = -1;
	prog_reap_list(c->rt);
	FOR_WRITERS(c, w)
	{
		int status;
		if (w->pid > 0 && waitpid(w->pid, &status, WNOHANG) == w->pid)
			prog_exited(c, w, status);
		if (w->probe_ms && now >= w->probe_ms && w->probe_fd < 0 && w->server)
			probe_start(c, w);
		if (w->probe_ms) {
			int64_t left = w->probe_ms > now ? w->probe_ms - now : 0;
			if (next < 0 || left < next)
				next = left;
		}
		if (w->fd < 0 && now >= w->retry_ms)
			writer_open(c, w);
		if (w->drv->kind == DST_HTTP) {
			int due = writer_flush_http(c, w, flush_all);
			if (due >= 0 && (next < 0 || due < next))
				next = due;
		} else if (w->fd >= 0 && (flush_all || w->tail - w->head >= BATCH_BYTES)) {
			writer_flush(c, w);
		}
		if (w->dq)
			dq_sync(w, flush_all); /* after the writes: their acknowledgements too */
		if (w->drv->wd && w->drv->wd->service) {
			int hb = w->drv->wd->service(c, w); /* amqp(): heartbeats */
			if (hb >= 0 && (next < 0 || hb < next))
				next = hb;
		}
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
		if (w->probe_fd >= 0 && n < max) {
			pf[n] = (struct pollfd){.fd = w->probe_fd, .events = POLLOUT};
			ws[n++] = w;
		}
		if (w->dq && ls_qf_sync_busy(&w->dq->qf) && n < max) {
			/* a group-commit job in flight: its end gives slots back */
			pf[n] = (struct pollfd){.fd = ls_qf_sync_fd(&w->dq->qf), .events = POLLIN};
			ws[n++] = w;
		}
		if (w->fd < 0 || n == max)
			continue;
		short ev = 0;
		if (w->connecting || w->blocked)
			ev |= w->events ? w->events : POLLOUT;
		/* a connected TCP socket: POLLIN tells that the server went away */
		if ((w->drv->kind == DST_TCP || w->drv->kind == DST_AMQP) && !w->connecting)
			ev |= POLLIN; /* amqp: confirms and the broker's closes */
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
		if (re && w->probe_fd >= 0 && w->probe_fd == pf[i].fd) {
			probe_event(c, w);
			continue;
		}
		if (re && w->dq && pf[i].fd == ls_qf_sync_fd(&w->dq->qf)) {
			dq_sync(w, false);
			continue;
		}
		if (!re || w->fd != pf[i].fd)
			continue;
		if (w->drv->kind == DST_HTTP) {
			w->drv->wd->event(c, w); /* a request ended: its batch's fate */
			writer_flush_http(c, w, false);
			continue;
		}
		if (w->drv->wd) {
			w->drv->wd->event(c, w);
			continue;
		}
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
					if (r < 0 && notices_of(w) && !w->failing)
						fprintf(notices_of(w), "%s; destination='%s'\n",
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

uint64_t ls_dest_pending(const struct ls_cfg *c)
{
	uint64_t n = 0;
	int64_t now = ls_now_ms();
	FOR_WRITERS(c, w)
	if (w->fd >= 0 && (!w->retry_ms || w->retry_ms <= now))
		n += w->qn;
	return n;
}

size_t ls_dest_writers(const struct ls_cfg *c)
{
	size_t n = 0;
	FOR_WRITERS(c, w)
	n += 1 + (w->probe_fd >= 0) +
	     (w->dq != NULL); /* poll entries: a failback probe, a sync job */
	return n;
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
	if (a->kind != b->kind || !a->dq != !b->dq || (a->dq && a->dq->reliable != b->dq->reliable))
		return false;
	if (a->n_servers != b->n_servers)
		return false;
	if (a->wd)
		return a->wd == b->wd && a->wd->same(a, b);
	if (a->kind == DST_PROGRAM)
		return !strcmp(a->cmd, b->cmd);
	for (size_t i = 0; i < a->n_servers; i++)
		if (strcmp(a->servers[i], b->servers[i]))
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
	/* source counters go on too: 3.38 keeps source;NAME and
	 * center;;received across a reload (syslog-ng-ctl stats) */
	nc->center_received = c->center_received;
	nc->center_queued = c->center_queued;
	for (size_t i = 0; i < nc->n_src; i++)
		for (size_t j = 0; j < c->n_src; j++)
			if (!strcmp(nc->src[i]->name, c->src[j]->name)) {
				nc->src[i]->received = c->src[j]->received;
				nc->src[i]->dropped = c->src[j]->dropped;
				nc->src[i]->delivered = c->src[j]->delivered;
			}
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
				a->processed = b->processed;
				a->written = b->written;
				a->dropped = b->dropped;
				a->files = b->files;
				b->files = NULL;
				for (struct ls_writer *w = a->files; w; w = w->next) {
					/* 3.38 keeps the file too, and says so */
					const char *qp = w->dq ? w->dq->qf.path : NULL;
					const char *slash = qp ? strrchr(qp, '/') : NULL;
					if (slash && a->dq && notices_of(w) &&
					    (strlen(a->dq->dir) != (size_t)(slash - qp) ||
					     strncmp(a->dq->dir, qp, (size_t)(slash - qp))))
						fprintf(
						    notices_of(w),
						    "The disk buffer directory has changed in the "
						    "configuration, but the disk queue file cannot "
						    "be "
						    "moved; qfile='%s', dir='%s'\n",
						    qp, a->dq->dir);
					if (b->kind == DST_PROGRAM && !b->keep_alive) {
						/* program(): a new child on the kept
						 * queue (3.38 keeps it by persist name) */
						if (w->fd >= 0)
							w->ops->close(w);
						prog_kill(w);
						w->head -= w->done;
						w->done = 0;
						w->blocked = false;
						w->retry_ms = 0;
						w->stopped = false;
					}
					w->drv = a;
					w->dst = nd;
					if (w->hw) {
						/* http(): the worker runs on the old
						 * options; a new one starts with the new
						 * ones (a batch in flight is sent again) */
						w->ops->close(w);
						w->retry_ms = 0;
					}
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
