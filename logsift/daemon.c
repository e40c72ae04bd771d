/*
 * daemon.c: sockets, the poll loop and signals.
 *
 * One thread, one poll(): unix-dgram/udp sockets deliver one record per
 * datagram (cut to log-msg-size, as 3.38 does silently); unix-stream/tcp
 * connections, pipes, files and stdin are split into records at '\n' (a
 * trailing '\r' and NULs are dropped as 3.38's text framing does), or by
 * RFC 6587 octet counting on syslog() stream sources whose data starts with a
 * digit. Destinations are flushed whenever poll() would block, so a loaded
 * daemon writes in 64 KiB chunks and an idle one has nothing pending.
 *
 * Datagrams the kernel dropped on a full socket queue are counted per
 * source (SO_MEMINFO), never silent. internal() sources get our start-up,
 * reload and shutdown messages.
 *
 * Signals: SIGTERM/SIGINT drain the sockets, flush and exit; SIGHUP reloads
 * the configuration (a bad one is reported and the old one stays); SIGUSR1
 * prints the stats (as does every stats-freq() seconds); SIGCHLD (a program()
 * child exited) only wakes poll(), ls_dest_service() reaps.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "ls_int.h"

static volatile sig_atomic_t got_term, got_hup, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGCHLD)
		; /* a program() child exited: poll() returns, the loop reaps it */
	else
		got_term = 1;
}

/* A tracked file() source's position epochs (track()): one per record up to
 * a window of this many, so the saved position is exact (32 KiB a source). */
#define MAX_EPOCHS 1024

struct conn {
	int fd;
	struct ls_source *src;
	struct ls_sdrv *drv;
	struct sockaddr_storage peer;
	char *buf;
	size_t len, cap;
	int seq;
	bool listener;
	bool dgram;
	bool stream_file;	 /* file(): poll by timer, not by readiness */
	bool file_more;		 /* file(): the last read got data (EOF not seen yet) */
	bool held;		 /* records left in buf while the window was closed */
	bool eof;		 /* the peer finished; close once buf is processed */
	uint32_t drops_seen;	 /* last SO_RXQ_OVFL counter */
	struct ls_window *win;	 /* flow-control window (stream sources), or NULL */
	struct ls_tls_conn *tls; /* TLS session of an accepted connection, or NULL */
	/* -R: a file() source's position (see track()) */
	bool tracked;		 /* its position goes to the persist file */
	uint64_t dev, ino;	 /* the file's identity when opened */
	uint64_t read_off;	 /* file offset after the bytes read into buf */
	struct ls_window **ep;	 /* epochs, a ring of n_ep: ep[ep_old..ep_cur] hold records */
	uint64_t *ep_end;	 /* offset where each closed epoch's records end */
	unsigned n_ep;		 /* log-iw-size() + 1, at most MAX_EPOCHS */
	unsigned ep_old, ep_cur; /* oldest live epoch; the one taking new records */
	unsigned ep_taken;	 /* records ep_cur took */
	uint64_t rec_off;	 /* file offset where the record being routed starts */
	uint64_t safe_off;	 /* every record before it is written */
};

struct loop {
	struct conn *c;
	size_t n, cap;
	struct ls_cfg *cfg;
	struct ls_trace *t;
	struct ls_runtime rt;
	struct ls_msg msg;
	char *rbuf;
	size_t rbuf_size;
	struct pollfd *pf;     /* poll set: sources, then writers */
	struct ls_writer **ws; /* the writer of each writer pollfd */
	size_t pcap;	       /* entries allocated in pf and ws */
	int ctl;	       /* control socket (logsift-ctl), or -1 */
	int reload_fd[8];      /* control connections waiting for a reload's outcome */
	size_t n_reload_fd;
	const char *persist;   /* -R path, or NULL */
	struct ls_pst pst;     /* what the persist file holds (and will) */
	bool pst_dirty;	       /* pst changed since the last save */
	long long pst_save_ms; /* monotonic time of the last save */
	bool pst_failed;       /* a save failed (reported once) */
	int pst_now_fd;	       /* PATH.now, rewritten whenever a position moves, or -1 */
	size_t pst_now_len;    /* bytes it holds */
};

static void conn_add(struct loop *L, struct conn c)
{
	if (L->n == L->cap) {
		L->cap = L->cap ? L->cap * 2 : 16;
		L->c = realloc(L->c, L->cap * sizeof *L->c);
		if (!L->c)
			abort();
	}
	L->c[L->n++] = c;
}

/*
 * A stream connection's flow-control window: log-iw-size() messages
 * (source option, else global; 3.38: 100), shared by max-connections() on
 * listening sources as 3.38 divides it. Datagram sources get none: they are
 * never paused (their senders must not block), so what a full queue cannot
 * take is dropped and counted.
 */
static struct ls_window *window_new(const struct loop *L, const struct ls_sdrv *d, bool accepted)
{
	struct ls_window *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	int iw = d->iw_size > 0 ? d->iw_size : L->cfg->o.log_iw_size;
	if (accepted && d->max_conns > 0)
		iw /= d->max_conns;
	w->avail = iw > 0 ? iw : 1;
	return w;
}

static bool conn_paused(const struct conn *c)
{
	return c->win && c->win->avail <= 0;
}

static void conn_close(struct loop *L, size_t i)
{
	if (L->c[i].fd > 2)
		close(L->c[i].fd);
	free(L->c[i].buf);
	struct conn *c = &L->c[i];
	for (size_t k = 0; k <= c->n_ep; k++) {
		/* queued messages may still hold slots: the last one frees it */
		struct ls_window *w = k < c->n_ep ? c->ep[k] : c->win;
		if (!w)
			continue;
		w->gone = true;
		if (!w->refs)
			free(w);
	}
	free(c->ep);
	free(c->ep_end);
	ls_tls_conn_free(L->c[i].tls);
	L->c[i] = L->c[--L->n];
}

/* The receive time, its offset through the runtime's local-zone cache. */
static void now_time(struct ls_runtime *rt, struct ls_msg *m)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	m->recv_sec = tv.tv_sec;
	m->recv_usec = (int)tv.tv_usec;
	m->recv_gmtoff = ls_tz_local(&rt->tz_local, tv.tv_sec);
}

static void internal_msg(struct loop *L, int pri, const char *text);

/* Route the internal() messages (syslog.err) queued while routing, e.g. refused file names. */
static void drain_internal(struct loop *L)
{
	struct ls_buf q = L->rt.pending_internal;
	L->rt.pending_internal = (struct ls_buf){0};
	L->rt.in_internal = true;
	for (size_t off = 0; off < q.len; off += strlen(q.p + off) + 1)
		internal_msg(L, 43, q.p + off);
	L->rt.in_internal = false;
	ls_buf_free(&q);
}

/* A /proc/PID/NAME file (at most 4095 bytes) into buf; its length or -1. */
static ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t pos = 0;
	ssize_t r = 1;
	while (r > 0 && pos < n - 1) {
		r = read(fd, buf + pos, n - 1 - pos);
		if (r > 0)
			pos += (size_t)r;
	}
	close(fd);
	buf[pos] = 0;
	return r < 0 ? -1 : (ssize_t)pos;
}

/*
 * The sender's credentials as 3.38's transport-unix-socket.c names them:
 * .unix.cmdline (NUL and other unprintables as spaces), .unix.exe,
 * .audit.auid and .audit.ses (unless unset, 4294967295), .unix.pid, .uid,
 * .gid.
 */
static void set_creds(struct ls_msg *m, const struct ucred *uc)
{
	char buf[4096];
	ssize_t n = proc_read(uc->pid, "cmdline", buf, sizeof buf);
	for (ssize_t i = 0; i < n; i++)
		if (!isprint((unsigned char)buf[i]))
			buf[i] = ' ';
	if (n > 0)
		ls_msg_set_name(m, ".unix.cmdline", buf, (size_t)n);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)uc->pid);
	n = readlink(path, buf, sizeof buf);
	if (n > 0)
		ls_msg_set_name(m, ".unix.exe", buf, (size_t)(n == sizeof buf ? n - 1 : n));
	static const char *const audit[][2] = {{".audit.auid", "loginuid"},
					       {".audit.ses", "sessionid"}};
	for (size_t i = 0; i < 2; i++) {
		n = proc_read(uc->pid, audit[i][1], buf, sizeof buf);
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = 0;
		if (n > 0 && strcmp(buf, "4294967295"))
			ls_msg_set_name(m, audit[i][0], buf, (size_t)n);
	}
	int k = snprintf(buf, sizeof buf, "%d", (int)uc->pid);
	ls_msg_set_name(m, ".unix.pid", buf, (size_t)k);
	k = snprintf(buf, sizeof buf, "%u", (unsigned)uc->uid);
	ls_msg_set_name(m, ".unix.uid", buf, (size_t)k);
	k = snprintf(buf, sizeof buf, "%u", (unsigned)uc->gid);
	ls_msg_set_name(m, ".unix.gid", buf, (size_t)k);
}

/* One received record (with the sender's credentials, or NULL): parse, trace, route. */
static void deliver(struct loop *L, struct conn *c, const char *data, size_t len, int seq,
		    const struct ucred *cred)
{
	struct ls_msg *m = &L->msg;
	struct ls_sdrv *d = c->drv;
	ls_msg_reset(m);
	now_time(&L->rt, m);
	m->saddr = c->peer;
	if ((d->pflags & LS_P_KMSG) && !L->rt.kmsg_boot_have) {
		L->rt.kmsg_boot_usec = ls_kmsg_boot_usec();
		L->rt.kmsg_boot_have = true;
	}
	struct ls_parse_opts po = {
	    .flags = d->pflags,
	    .default_pri = d->default_pri,
	    .self_pid = L->rt.self_pid,
	    .bad_hostname = L->cfg->o.bad_hostname,
	    .recv_tz = d->recv_tz ? d->recv_tz : L->cfg->o.recv_tz,
	    .recv_zone = d->recv_tz ? d->recv_zone : L->cfg->o.recv_zone,
	    .local = &L->rt.tz_local,
	    .kmsg_boot_set = L->rt.kmsg_boot_have,
	    .kmsg_boot_usec = L->rt.kmsg_boot_usec,
	};
	ls_msg_parse(m, data, len, &po);
	if (d->kind == SRC_FILE) /* 3.38's file reader names the file */
		ls_msg_set_name(m, "FILE_NAME", d->path, strlen(d->path));
	if (cred) {
		set_creds(m, cred);
		if (d->pid_from_creds) {
			/* system()'s rewrite: set("${.unix.pid}" value("PID")) */
			size_t n;
			const char *v = ls_msg_get_name(m, ".unix.pid", &n);
			ls_msg_set(m, LS_PID, v, n);
			m->f[LS_LEGACY_MSGHDR].set = false; /* 3.38: a new PID drops it */
		}
	}
	if (seq && !m->seq_cisco)
		m->seq = seq;
	else if (m->parse_error && !m->seq_cisco)
		m->seq = ++d->err_seq; /* 3.38 numbers its parse-error messages */
	ls_source_prepare(L->cfg, c->src, d, m, &L->rt);
	L->rt.win = c->win;
	if (c->tracked) {
		/* each record its own epoch while the ring has room */
		unsigned next = (c->ep_cur + 1) % c->n_ep;
		if (c->ep_taken && next != c->ep_old) {
			c->ep_end[c->ep_cur] = c->rec_off;
			c->ep_cur = next;
			c->ep_taken = 0;
		}
		L->rt.win = c->ep[c->ep_cur];
		c->ep_taken++;
	}
	struct ls_trace *t = L->t;
	if (t && t->mode != LS_TRACE_OFF) {
		t->active = !t->sel || ls_fnode_eval(t->sel->root, m, NULL);
		ls_trace_incoming(t, data, len);
	}
	ls_route(L->cfg, c->src, m, t, &L->rt);
	if (L->rt.pending_internal.len)
		drain_internal(L);
}

/*
 * A message of our own into every internal() source, as syslog-ng logs
 * "syslog-ng starting up" there: PROGRAM logsift, our PID, HOST this host.
 * Not traced (syslog-ng's trace shows received records only).
 */
static void internal_msg(struct loop *L, int pri, const char *text)
{
	for (size_t i = 0; i < L->cfg->n_src; i++) {
		struct ls_source *s = L->cfg->src[i];
		for (size_t k = 0; k < s->n_drv; k++) {
			if (s->drv[k].kind != SRC_INTERNAL)
				continue;
			struct ls_msg *m = &L->msg;
			ls_msg_reset(m);
			now_time(&L->rt, m);
			m->stamp_sec = m->recv_sec;
			m->stamp_usec = m->recv_usec;
			m->stamp_gmtoff = m->recv_gmtoff;
			m->pri = pri;
			char pid[16];
			snprintf(pid, sizeof pid, "%d", L->rt.self_pid);
			ls_msg_set(m, LS_PROGRAM, "logsift", 7);
			ls_msg_set(m, LS_PID, pid, strlen(pid));
			ls_msg_set(m, LS_MESSAGE, text, strlen(text));
			ls_source_prepare(L->cfg, s, &s->drv[k], m, &L->rt);
			L->rt.win = NULL; /* our own messages are never held back */
			bool was = L->t ? L->t->active : false;
			if (L->t)
				L->t->active = false;
			ls_route(L->cfg, s, m, L->t, &L->rt);
			if (L->t)
				L->t->active = was;
		}
	}
}

static int listen_unix(const char *path, int type, int perm)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		close(fd);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 256) < 0)) {
		int r = -errno;
		close(fd);
		return r;
	}
	chmod(path, (mode_t)(perm >= 0 ? perm : 0666));
	if (type == SOCK_DGRAM) {
		int sz = 1 << 20, one = 1;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	}
	return fd;
}

static int listen_inet(const struct ls_sdrv *d, int type)
{
	struct addrinfo hints = {0}, *ai;
	hints.ai_socktype = type;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	char port[16];
	snprintf(port, sizeof port, "%d", d->port);
	int r = getaddrinfo(d->ip, port, &hints, &ai);
	if (r != 0)
		return -EADDRNOTAVAIL;
	int fd = socket(ai->ai_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return -errno;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 256) < 0)) {
		r = -errno;
		close(fd);
		freeaddrinfo(ai);
		return r;
	}
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * -R: a file() source's position. The persist file says where to go on
 * when it names the same file (device and inode) and the file is not
 * shorter than that; otherwise the file is read from its start, as 3.38
 * does with a file it has not seen.
 */
static void track_start(struct loop *L, struct conn *c, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	c->tracked = true;
	c->dev = (uint64_t)st.st_dev;
	c->ino = (uint64_t)st.st_ino;
	const struct ls_pst_ent *p = ls_pst_find(&L->pst, c->drv->path);
	if (p && p->dev == c->dev && p->ino == c->ino && p->off <= (uint64_t)st.st_size &&
	    lseek(fd, (off_t)p->off, SEEK_SET) == (off_t)p->off)
		c->read_off = p->off;
	c->safe_off = c->read_off;
}

/*
 * Where every record before is written (or dropped), for the persist file.
 * Records take window slots in epochs, a ring of n_ep windows: ep_cur takes
 * the new ones, and each record opens a new epoch while the ring has room
 * (log-iw-size() + 1 epochs: always, up to MAX_EPOCHS), ending the one
 * before where it starts. An epoch whose slots are all back, and every one
 * before it, is done up to its end. So the saved position is the start of
 * the first record not yet written, as syslog-ng 3.38 acknowledges each
 * message; two epochs used to trail by up to a whole window (issue 16:
 * 91-115 lines repeated after kill -9). A call here also closes ep_cur at
 * what is consumed (conservative while records are being routed: c->len
 * drops only after the batch).
 * Without flags(flow-control) records take no slot, so a record counts as
 * done once queued.
 */
static uint64_t track(struct conn *c)
{
	uint64_t consumed = c->read_off - c->len;
	while (c->ep_old != c->ep_cur && c->ep[c->ep_old]->refs == 0) {
		c->safe_off = c->ep_end[c->ep_old];
		c->ep_old = (c->ep_old + 1) % c->n_ep;
	}
	if (c->ep_old == c->ep_cur && c->ep[c->ep_cur]->refs == 0) {
		c->safe_off = consumed; /* all that was routed is written */
		c->ep_taken = 0;
	} else if (c->ep_taken && (c->ep_cur + 1) % c->n_ep != c->ep_old) {
		c->ep_end[c->ep_cur] = consumed;
		c->ep_cur = (c->ep_cur + 1) % c->n_ep;
		c->ep_taken = 0;
	}
	return c->safe_off;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The tracked positions into L->pst. PATH.now gets them whenever they moved
 * (kill -9 safe: no fsync, see persist.c); PATH when they moved and its last
 * save is 100 ms old (or force: at exit). A failed save is reported once. */
static void persist_tick(struct loop *L, bool force)
{
	if (!L->persist)
		return;
	bool moved = false;
	for (size_t i = 0; i < L->n; i++) {
		struct conn *c = &L->c[i];
		if (!c->tracked)
			continue;
		uint64_t off = track(c);
		const struct ls_pst_ent *p = ls_pst_find(&L->pst, c->drv->path);
		if (p && p->off == off && p->dev == c->dev && p->ino == c->ino)
			continue;
		if (ls_pst_set(&L->pst, c->drv->path, c->dev, c->ino, off))
			L->pst_dirty = moved = true;
	}
	if (moved || (force && L->pst_dirty))
		ls_pst_save_now(L->persist, &L->pst_now_fd, &L->pst_now_len, &L->pst);
	long long now = mono_ms();
	if (!L->pst_dirty || (!force && now - L->pst_save_ms < 100))
		return;
	struct ok_err e;
	ok_err_clear(&e);
	L->pst_save_ms = now;
	if (ls_pst_save(L->persist, &L->pst, &e) < 0) {
		if (!L->pst_failed) {
			char text[sizeof e.msg + 300];
			ok_err_format(&e, text, sizeof text);
			fprintf(stderr, "Error saving the persist file; %s\n", text);
		}
		L->pst_failed = true;
		return;
	}
	L->pst_failed = false;
	L->pst_dirty = false;
}

/* A write finished messages: their positions to PATH.now at once, so that
 * kill -9 repeats at most the messages of the write it interrupted. */
static void persist_written(void *arg)
{
	persist_tick(arg, false);
}

static int open_sources(struct loop *L, struct ok_err *e)
{
	for (size_t i = 0; i < L->cfg->n_src; i++) {
		struct ls_source *s = L->cfg->src[i];
		for (size_t k = 0; k < s->n_drv; k++) {
			struct ls_sdrv *d = &s->drv[k];
			if (d->fd >= 0)
				continue; /* kept across a reload */
			struct conn c = {.fd = -1, .src = s, .drv = d};
			int fd = -1;
			switch (d->kind) {
			case SRC_UNIX_DGRAM:
				fd = listen_unix(d->path, SOCK_DGRAM, d->perm);
				c.dgram = true;
				if (fd >= 0 && d->rcvbuf)
					setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &d->rcvbuf,
						   sizeof d->rcvbuf);
				if (fd >= 0 && d->creds) {
					int one = 1;
					setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
				}
				break;
			case SRC_KMSG:
				/* 3.38's devkmsg opener: from the end, one record per read() */
				fd = open(d->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
				if (fd < 0)
					fd = -errno;
				else
					lseek(fd, 0, SEEK_END);
				c.dgram = true;
				break;
			case SRC_UNIX_STREAM:
				fd = listen_unix(d->path, SOCK_STREAM, d->perm);
				c.listener = true;
				break;
			case SRC_UDP:
				fd = listen_inet(d, SOCK_DGRAM);
				c.dgram = true;
				break;
			case SRC_TCP:
				fd = listen_inet(d, SOCK_STREAM);
				c.listener = true;
				break;
			case SRC_PIPE:
				fd = open(d->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
				if (fd < 0)
					fd = -errno;
				break;
			case SRC_FILE:
				fd = open(d->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
				if (fd < 0)
					fd = -errno;
				c.stream_file = true;
				if (fd >= 0 && L->persist)
					track_start(L, &c, fd);
				break;
			case SRC_STDIN:
				fd = 0;
				break;
			case SRC_INTERNAL:
				continue;
			}
			if (!c.dgram && !c.listener)
				c.win = window_new(L, d, false);
			if (c.tracked) {
				int iw = c.win ? c.win->avail : 1;
				c.n_ep = iw < MAX_EPOCHS ? (unsigned)iw + 1 : MAX_EPOCHS;
				c.ep = calloc(c.n_ep, sizeof *c.ep);
				c.ep_end = calloc(c.n_ep, sizeof *c.ep_end);
				if (!c.ep || !c.ep_end)
					abort();
			}
			for (size_t k = 0; k < c.n_ep; k++) {
				c.ep[k] = calloc(1, sizeof *c.ep[k]);
				if (!c.ep[k])
					abort();
				c.ep[k]->parent = c.win;
			}
			if (fd < 0) {
				free(c.win);
				ok_err_at(e, fd, d->path ? d->path : d->ip, OK_ERR_NOPOS,
					  "Error binding socket or opening source; source='%s'",
					  s->name);
				return fd;
			}
			c.fd = fd;
			conn_add(L, c);
		}
	}
	return 0;
}

/* The TLS session of a connection accepted on a TLS source. */
static struct ls_tls_conn *tls_accepted(const struct ls_sdrv *d, int fd,
					const struct sockaddr_storage *sa)
{
	char peer[96], ip[64];
	ls_addr_str(sa, ip, sizeof ip);
	snprintf(peer, sizeof peer, "%s:%u", ip,
		 ntohs(sa->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
						 : ((const struct sockaddr_in *)sa)->sin_port));
	return ls_tls_conn_new(d->tls, fd, peer, NULL);
}

/* Split c->buf into records (framer.c); keeps a partial tail. False after a
 * framing error (reported), when the connection must be closed. */
static bool split_records(struct loop *L, struct conn *c, bool eof)
{
	struct ls_frame_opts fo = {c->drv->framed, (c->drv->pflags & LS_P_EMPTY_LINES) != 0, eof,
				   c->drv->log_msg_size ? c->drv->log_msg_size
							: L->cfg->o.log_msg_size};
	size_t pos = 0;
	bool ok = true;
	c->held = false;
	while (pos < c->len) {
		if (conn_paused(c)) {
			/* window closed: the rest waits in buf (flow control) */
			c->held = true;
			break;
		}
		const char *rec;
		size_t n;
		char err[160];
		ssize_t used =
		    ls_frame_next(c->buf + pos, c->len - pos, &fo, &rec, &n, err, sizeof err);
		if (used < 0) {
			if (L->rt.notices)
				fprintf(L->rt.notices, "%s; source='%s'\n", err, c->src->name);
			ok = false;
			break;
		}
		if (!used)
			break;
		if (rec) {
			c->rec_off = c->read_off - c->len + pos; /* for track()'s epochs */
			deliver(L, c, rec, n, c->drv->kind == SRC_UNIX_STREAM ? ++c->seq : 0, NULL);
		}
		pos += (size_t)used;
	}
	memmove(c->buf, c->buf + pos, c->len - pos);
	c->len -= pos;
	return ok;
}

/* Read what is there, up to 256 KiB a turn (the other sockets, /dev/log
 * above all, get their turn soon); returns false when the connection is
 * finished. */
static bool read_stream(struct loop *L, struct conn *c)
{
	for (int rounds = 0; rounds < 4; rounds++) {
		if (c->held || c->eof)
			return true; /* flow control: buf is processed first */
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				abort();
		}
		ssize_t r = c->tls ? ls_tls_read(c->tls, c->buf + c->len, c->cap - c->len)
				   : read(c->fd, c->buf + c->len, c->cap - c->len);
		if (c->tls && r < 0 && r != -EAGAIN && L->rt.notices)
			fprintf(L->rt.notices, "%s\n", ls_tls_error(c->tls));
		if (c->tls && r < 0)
			errno = (int)-r;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			c->eof = true;
			split_records(L, c, true);
			return c->held;
		}
		if (r == 0) {
			/* a followed file or pipe may still complete its last line */
			bool follow = c->stream_file || c->drv->kind == SRC_PIPE;
			c->file_more = false;
			c->eof = !follow;
			split_records(L, c, !follow);
			return follow || c->held;
		}
		c->len += (size_t)r;
		c->read_off += (uint64_t)r;
		c->file_more = c->stream_file;
		if (!split_records(L, c, false))
			return false;
		/* keep bounded: a partial record is at most log-msg-size */
		if ((size_t)r < 65536)
			return true;
	}
	return true;
}

/*
 * Datagrams the kernel dropped on c's socket (queue full): SO_MEMINFO's
 * SK_MEMINFO_DROPS, read when the queue is empty. SO_RXQ_OVFL alone misses
 * drops after the last queued datagram.
 */
static void count_drops(struct conn *c)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof mi;
	if (getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return;
	uint32_t drops = mi[SK_MEMINFO_DROPS];
	if (drops != c->drops_seen) {
		c->src->dropped += (uint32_t)(drops - c->drops_seen);
		c->drops_seen = drops;
	}
}

static void read_dgram(struct loop *L, struct conn *c)
{
	size_t max = c->drv->log_msg_size ? c->drv->log_msg_size : L->cfg->o.log_msg_size;
	if (L->rbuf_size < max + 1) {
		L->rbuf = realloc(L->rbuf, max + 1);
		if (!L->rbuf)
			abort();
		L->rbuf_size = max + 1;
	}
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage sa;
		struct iovec iov = {L->rbuf, max};
		union {
			char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} cm;
		if (c->drv->kind == SRC_KMSG) {
			ssize_t r = read(c->fd, L->rbuf, max);
			if (r < 0 && errno == EPIPE)
				continue; /* records were overwritten before we read them */
			if (r <= 0)
				return;
			memset(&c->peer, 0, sizeof c->peer);
			deliver(L, c, L->rbuf, (size_t)r, 0, NULL);
			continue;
		}
		struct msghdr mh = {.msg_name = &sa,
				    .msg_namelen = sizeof sa,
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cm.buf,
				    .msg_controllen = sizeof cm.buf};
		ssize_t r = recvmsg(c->fd, &mh, MSG_DONTWAIT);
		if (r < 0) {
			count_drops(c);
			return;
		}
		/* SO_RXQ_OVFL: the kernel's count of datagrams dropped on this socket */
		const struct ucred *cred = NULL;
		struct ucred uc;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS) {
				memcpy(&uc, CMSG_DATA(h), sizeof uc);
				cred = &uc;
			} else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;
				memcpy(&drops, CMSG_DATA(h), sizeof drops);
				if (drops != c->drops_seen) {
					c->src->dropped += (uint32_t)(drops - c->drops_seen);
					c->drops_seen = drops;
				}
			}
		if (c->drv->kind == SRC_UNIX_DGRAM)
			memset(&c->peer, 0, sizeof c->peer);
		else
			c->peer = sa;
		deliver(L, c, L->rbuf, (size_t)r,
			c->drv->kind == SRC_UNIX_DGRAM ? ++c->drv->seq : 0, cred);
	}
}

/* The driver of nc with od's persist identity (kind and address or path); its source in *src. */
static struct ls_sdrv *same_driver(struct ls_cfg *nc, const struct ls_sdrv *od,
				   struct ls_source **src)
{
	for (size_t i = 0; i < nc->n_src; i++)
		for (size_t k = 0; k < nc->src[i]->n_drv; k++) {
			struct ls_sdrv *d = &nc->src[i]->drv[k];
			if (d->kind != od->kind || d->kind == SRC_INTERNAL || d->kind == SRC_STDIN)
				continue;
			if (d->path || od->path) {
				if (!d->path || !od->path || strcmp(d->path, od->path))
					continue;
			} else if (strcmp(d->ip, od->ip) || d->port != od->port) {
				continue;
			}
			*src = nc->src[i];
			return d;
		}
	return NULL;
}

/*
 * Reload (SIGHUP): the new config or, when it does not load (1) or a
 * disk-buffer of it cannot be opened (2), the old one and why, as 3.38.
 * Sources are reopened; destinations keep their writers (dest.c). 0 when
 * the new config runs, -1 when a source cannot be opened (fatal).
 */
static int reload(struct loop *L, const struct ls_daemon_opts *o, struct ok_err *e)
{
	struct ok_err e2;
	/* the new config's tag names in the run's registry: the ids the old
	 * config and its messages made stay (3.38's registry is the process's) */
	struct ls_cfg *nc = ls_cfg_load_tags(o->cfg_path, &L->rt.tags, &e2);
	if (!nc) {
		fprintf(stderr, "%s\n", e2.msg);
		fprintf(stderr,
			"Error reloading configuration, keeping the old one; "
			"file='%s'\n",
			o->cfg_path);
		return 1;
	}
	ls_runtime_adopt(&L->rt, nc);
	ls_dest_adopt(nc, L->cfg);
	struct ok_err de;
	ok_err_clear(&de);
	if (ls_dest_start(nc, &de) < 0) {
		/* a disk-buffer that cannot be opened: 3.38 does not run the new
		 * config ("Error initializing new configuration, reverting to old
		 * config"); the writers go back to the old one */
		ls_dest_adopt(L->cfg, nc);
		ls_dest_close_all(nc);
		ls_cfg_free(nc);
		static const char revert[] =
		    "Error initializing new configuration, reverting to old config;";
		if (L->rt.notices)
			fprintf(L->rt.notices, "%s\n%s\n", de.msg, revert);
		internal_msg(L, 43, de.msg);
		internal_msg(L, 43, revert);
		return 2;
	}
	/* sockets, accepted connections and followed files of a source driver
	 * that is still there move to the new config (3.38 keeps them by
	 * persist name); the others close */
	for (size_t i = L->n; i-- > 0;) {
		struct conn *c = &L->c[i];
		struct ls_sdrv *nd = c->fd > 2 ? same_driver(nc, c->drv, &c->src) : NULL;
		if (!nd) {
			conn_close(L, i);
			continue;
		}
		c->drv = nd;
		if (c->listener || c->dgram || !c->win || c->stream_file || nd->kind == SRC_PIPE)
			nd->fd = c->fd;
	}
	ls_dest_service(L->cfg, true); /* what the dropped writers can still take */
	ls_cfg_free(L->cfg);
	L->cfg = nc;
	if (open_sources(L, e) < 0)
		return -1;
	internal_msg(L, 45, "Configuration reload finished;");
	return 0;
}

/*
 * A control-socket answer as 3.38's control_connection_send_reply() frames
 * it: the text, a newline if it lacks one, then a "." line (syslog-ng-ctl
 * and logsift-ctl read up to it, so either client talks to either daemon).
 * A text starting "FAIL " makes the client exit 1.
 */
static void ctl_reply(int fd, struct ls_buf *out)
{
	if (!out->len || out->p[out->len - 1] != '\n')
		ls_buf_addc(out, '\n');
	ls_buf_addf(out, ".\n");
	(void)!io_write_full(fd, out->p, out->len);
	ls_buf_free(out);
	close(fd);
}

/*
 * One logsift-ctl (or syslog-ng-ctl) request on the control socket, 3.38's
 * protocol: a command line in, the answer out (ctl_reply), close. STATS,
 * RESET_STATS, REMOVE_ORPHANED_STATS (nothing is orphaned here: counters
 * live with their config objects), QUERY (ls_stats_query), STOP; RELOAD
 * answers once the reload is done (answer_reload), as 3.38 does. An unknown
 * command closes the connection unanswered, as 3.38 does. The client gets
 * 200 ms each way (a stuck client must not hold the loop).
 */
static void ctl_serve(struct loop *L)
{
	int fd = accept4(L->ctl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = {0, 200000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char cmd[4096];
	size_t n = 0;
	while (n < sizeof cmd - 1) {
		ssize_t r = read(fd, cmd + n, sizeof cmd - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(cmd, '\n', n))
			break;
	}
	cmd[n] = 0;
	cmd[strcspn(cmd, "\r\n")] = 0;
	struct ls_buf out = {0};
	if (!strcmp(cmd, "STATS")) {
		ls_stats_ctl(L->cfg, &out);
	} else if (!strcmp(cmd, "RESET_STATS")) {
		ls_stats_reset(L->cfg);
		ls_buf_addf(&out, "OK The statistics of syslog-ng have been reset to 0.");
	} else if (!strcmp(cmd, "REMOVE_ORPHANED_STATS")) {
		ls_buf_addf(&out, "OK Orphaned statistics have been removed.");
	} else if (!strncmp(cmd, "QUERY ", 6)) {
		ls_stats_query(L->cfg, cmd + 6, &out);
	} else if (!strcmp(cmd, "RELOAD") && L->n_reload_fd < 8) {
		got_hup = 1;
		L->reload_fd[L->n_reload_fd++] = fd;
		return;
	} else if (!strcmp(cmd, "STOP")) {
		got_term = 1;
		ls_buf_addf(&out, "OK Shutdown initiated");
	} else {
		if (L->rt.notices)
			fprintf(L->rt.notices,
				"Unknown command read on control channel, closing control "
				"channel; command='%s'\n",
				cmd);
		close(fd);
		return;
	}
	ctl_reply(fd, &out);
}

/* The RELOAD requests' answers: 3.38's words for reload()'s r: it took
 * effect (0), the config did not load (1) or start (2); the old one runs on. */
static void answer_reload(struct loop *L, int r)
{
	for (size_t i = 0; i < L->n_reload_fd; i++) {
		struct ls_buf out = {0};
		ls_buf_addf(&out, r == 0 ? "OK Config reload successful"
				  : r == 1
				      ? "FAIL Syntax error parsing configuration file, "
					"previous config remained intact"
				      : "FAIL Config reload failed, reverted to previous config");
		ctl_reply(L->reload_fd[i], &out);
	}
	L->n_reload_fd = 0;
}

/* Room for n source fds plus the writers' in L->pf / L->ws. */
static void pf_reserve(struct loop *L, size_t n)
{
	if (n <= L->pcap)
		return;
	L->pcap = n * 2;
	L->pf = realloc(L->pf, L->pcap * sizeof *L->pf);
	L->ws = realloc(L->ws, L->pcap * sizeof *L->ws);
	if (!L->pf || !L->ws)
		abort();
}

/* Records a closed window held back, now that it has room again. */
static void resume_held(struct loop *L)
{
	for (size_t i = L->n; i-- > 0;) {
		struct conn *c = &L->c[i];
		if (!c->held || conn_paused(c))
			continue;
		split_records(L, c, c->eof);
		if (c->eof && !c->held)
			conn_close(L, i);
	}
}

static int run_loop(struct loop *L, const struct ls_daemon_opts *o, struct ok_err *e)
{
	time_t last_stats = time(NULL);
	while (!got_term) {
		time_t now = time(NULL);
		int freq = L->cfg->o.stats_freq;
		if (got_usr1 || (freq > 0 && now - last_stats >= freq)) {
			/* SIGUSR1, and every stats-freq() seconds as syslog-ng does */
			got_usr1 = 0;
			last_stats = now;
			ls_stats_print(L->cfg, stderr);
		}
		if (got_hup) {
			got_hup = 0;
			int r = reload(L, o, e);
			if (r < 0)
				return 2;
			answer_reload(L, r);
		}
		resume_held(L);
		persist_tick(L, false);
		size_t nw = ls_dest_writers(L->cfg);
		pf_reserve(L, L->n + nw + 2);
		bool have_file = false, paused = false;
		for (size_t i = 0; i < L->n; i++)
			paused |= conn_paused(&L->c[i]);
		/* a paused source waits for its destinations: write them now */
		int next = ls_dest_service(L->cfg, paused);
		for (size_t i = 0; i < L->n; i++) {
			struct conn *c = &L->c[i];
			bool off = c->stream_file || conn_paused(c) || c->held || c->eof;
			L->pf[i].fd = off ? -1 : c->fd;
			L->pf[i].events = POLLIN;
			L->pf[i].revents = 0;
			if (c->stream_file)
				have_file = true;
		}
		/* the control socket sits between the sources and the writers */
		L->pf[L->n] = (struct pollfd){.fd = L->ctl, .events = POLLIN};
		size_t wi = L->n + 1;
		nw = ls_dest_pollfds(L->cfg, L->pf + wi, L->ws, nw);
		size_t np = wi + nw;
		int r = poll(L->pf, np, 0);
		if (r == 0) {
			next = ls_dest_service(L->cfg, true);
			nw = ls_dest_pollfds(L->cfg, L->pf + wi, L->ws, nw);
			np = wi + nw;
			fflush(stdout);
			if (L->t && L->t->out)
				fflush(L->t->out);
			int wait = have_file ? 100 : 1000;
			if (next >= 0 && next < wait)
				wait = next;
			/* the writers made room for a source left out of the poll
			 * set (window closed, records held): go on at once */
			for (size_t i = 0; i < L->n; i++) {
				const struct conn *c = &L->c[i];
				if (!c->stream_file && L->pf[i].fd < 0 && !conn_paused(c) &&
				    (c->held || !c->eof))
					wait = 0;
				/* a file read up to a closed window: on at once, not
				 * at the next follow tick */
				if (c->stream_file && !conn_paused(c) && (c->held || c->file_more))
					wait = 0;
			}
			r = poll(L->pf, np, wait);
		}
		if (r < 0 && errno != EINTR)
			break;
		/* writers first: their list may grow while sources are read */
		ls_dest_events(L->cfg, L->pf + wi, L->ws, nw);
		if (L->pf[L->n].revents & POLLIN)
			ctl_serve(L);
		size_t n = L->n;
		for (size_t i = n; i-- > 0;) {
			struct conn *c = &L->c[i];
			if (c->stream_file) {
				if (!conn_paused(c))
					read_stream(L, c);
				continue;
			}
			if (!(L->pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->dgram) {
				read_dgram(L, c);
			} else if (c->listener) {
				struct sockaddr_storage sa;
				socklen_t sl = sizeof sa;
				int fd = accept4(c->fd, (struct sockaddr *)&sa, &sl,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd >= 0) {
					struct conn nc = {.fd = fd, .src = c->src, .drv = c->drv};
					if (c->drv->kind != SRC_UNIX_STREAM)
						nc.peer = sa;
					nc.win = window_new(L, c->drv, true);
					if (c->drv->tls)
						nc.tls = tls_accepted(c->drv, fd, &sa);
					conn_add(L, nc);
				}
			} else if (!read_stream(L, c)) {
				if (c->fd == 0) {
					c->fd = -1;
					c->stream_file = false;
					conn_close(L, i);
				} else {
					conn_close(L, i);
				}
			}
		}
	}
	return 0;
}

/*
 * SIGTERM: write what the queues hold for at most budget_ms (the daemon
 * must be gone within 2 s even when a destination is stalled); what is left
 * is counted as dropped when the writers close.
 */
static void drain_writers(struct loop *L, int budget_ms)
{
	int64_t end = ls_now_ms() + budget_ms;
	for (;;) {
		ls_dest_service(L->cfg, true);
		int64_t left = end - ls_now_ms();
		if (!ls_dest_pending(L->cfg) || left <= 0)
			break;
		size_t nw = ls_dest_writers(L->cfg);
		pf_reserve(L, nw + 1);
		nw = ls_dest_pollfds(L->cfg, L->pf, L->ws, nw);
		poll(L->pf, nw, left < 20 ? (int)left : 20);
		ls_dest_events(L->cfg, L->pf, L->ws, nw);
	}
}

int ls_daemon_run(struct ls_cfg **cfgp, const struct ls_daemon_opts *o, struct ok_err *e)
{
	struct loop L = {0};
	L.cfg = *cfgp;
	L.t = o->trace;
	ls_runtime_init(&L.rt);
	L.rt.notices = stderr;
	ls_runtime_adopt(&L.rt, L.cfg);
	ls_msg_init(&L.msg);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP; /* poll() returns EINTR all the same */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* trace lines are buffered (stderr too) and flushed whenever poll() idles */
	static char tbuf[1 << 16];
	if (L.t && L.t->out && L.t->mode != LS_TRACE_OFF)
		setvbuf(L.t->out, tbuf, _IOFBF, sizeof tbuf);
	L.ctl = -1;
	if (o->control) {
		L.ctl = listen_unix(o->control, SOCK_STREAM, 0600);
		if (L.ctl < 0) {
			ok_err_at(e, L.ctl, o->control, OK_ERR_NOPOS,
				  "Error opening the control socket");
			ls_msg_free(&L.msg);
			ls_runtime_release(&L.rt, L.cfg);
			ls_runtime_free(&L.rt);
			return 2;
		}
	}
	L.persist = o->persist;
	L.pst_now_fd = -1;
	if (o->persist) {
		struct ok_err pe;
		ok_err_clear(&pe);
		if (ls_pst_load(o->persist, &L.pst, &pe) < 0) {
			/* damaged: said, then started afresh (the next save replaces it) */
			char text[sizeof pe.msg + 300];
			ok_err_format(&pe, text, sizeof text);
			fprintf(stderr, "Error loading the persist file, starting without it; %s\n",
				text);
		}
	}
	int rc = open_sources(&L, e);
	/* 3.38 does not start either when a disk-buffer cannot be opened */
	if (rc < 0 || ls_dest_start(L.cfg, e) < 0) {
		if (L.ctl >= 0)
			close(L.ctl);
		ls_msg_free(&L.msg);
		for (size_t i = L.n; i-- > 0;)
			conn_close(&L, i);
		free(L.c);
		ls_pst_free(&L.pst);
		ls_runtime_release(&L.rt, L.cfg);
		ls_runtime_free(&L.rt);
		return 2;
	}
	if (o->pidfile) {
		FILE *f = fopen(o->pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	internal_msg(&L, 45, "logsift starting up; version='" OPSKIT_VERSION "'");
	if (L.persist) {
		L.rt.on_written = persist_written;
		L.rt.on_written_arg = &L;
	}
	rc = run_loop(&L, o, e);
	/* SIGTERM: drain what the sockets already hold, then flush */
	for (size_t i = L.n; i-- > 0;) {
		struct conn *c = &L.c[i];
		if (c->dgram)
			read_dgram(&L, c);
		else if (!c->listener && c->fd >= 0)
			read_stream(&L, c);
	}
	internal_msg(&L, 45, "logsift shutting down; version='" OPSKIT_VERSION "'");
	drain_writers(&L, 1000);
	/* before close_all drops what is left: those records are not done */
	persist_tick(&L, true);
	L.rt.on_written = NULL;
	if (L.pst_now_fd >= 0)
		close(L.pst_now_fd);
	ls_dest_close_all(L.cfg);
	fflush(stdout);
	if (L.t && L.t->out)
		fflush(L.t->out);
	if (o->stats_on_exit)
		ls_stats_print(L.cfg, stderr);
	for (size_t i = L.n; i-- > 0;)
		conn_close(&L, i);
	free(L.c);
	if (L.ctl >= 0) {
		close(L.ctl);
		unlink(o->control);
	}
	free(L.pf);
	free(L.ws);
	free(L.rbuf);
	ls_pst_free(&L.pst);
	ls_runtime_release(&L.rt, L.cfg); /* L.rt ends here; the writers are closed */
	ls_runtime_free(&L.rt);
	ls_msg_free(&L.msg);
	if (L.t)
		ls_buf_free(&L.t->line);
	*cfgp = L.cfg;
	if (o->pidfile)
		unlink(o->pidfile);
	return rc;
}

int ls_test_run(struct ls_cfg *c, FILE *in, struct ls_trace *t, FILE *out)
{
	struct loop L = {0};
	L.cfg = c;
	L.t = t;
	ls_runtime_init(&L.rt);
	L.rt.dry_run = true;
	L.rt.report = out;
	ls_msg_init(&L.msg);
	struct ls_source *src = NULL;
	struct ls_sdrv *drv = NULL;
	for (size_t i = 0; i < c->n_src && !src; i++)
		for (size_t k = 0; k < c->src[i]->n_drv; k++)
			if (c->src[i]->drv[k].kind != SRC_INTERNAL) {
				src = c->src[i];
				drv = &c->src[i]->drv[k];
				break;
			}
	if (!src) {
		ls_msg_free(&L.msg);
		return -ENOENT;
	}
	struct conn conn = {.fd = -1, .src = src, .drv = drv};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0;
	while ((n = getline(&line, &cap, in)) > 0) {
		/* the record is the line with its '\n', as a datagram from logger(1) */
		size_t len = (size_t)n;
		count++;
		fprintf(out, "message %ld (source '%s')\n", count, src->name);
		fflush(out);
		deliver(&L, &conn, line, len, 0, NULL);
		fflush(t && t->out ? t->out : out);
	}
	free(line);
	fprintf(out, "%ld messages\n", count);
	ls_unmatched_print(c, out);
	ls_runtime_free(&L.rt);
	ls_msg_free(&L.msg);
	if (t)
		ls_buf_free(&t->line);
	return 0;
}
