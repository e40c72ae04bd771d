/*
 * engine.c: write, read back, compare, rewrite - the usbcopy state machine.
 *
 * Divisions: design notes and the state diagram; the fault hook; targets
 * (open, aligned I/O); one chunk (write, flush, verify, retry); the writer
 * threads and the reader; the fake-capacity probe.
 *
 * Design notes
 * ------------
 * One reader (the caller's thread) turns the source into chunks and puts
 * them in a ring of RING slots; each target has two worker threads taking
 * alternate chunks (0: 1, 3, 5...; 1: 2, 4, 6... of the ring), so while one
 * chunk is read back the next is being written and the device is never idle.
 * A slot is refilled only when every target has passed it on, so memory is
 * (RING + 2) chunks plus one per worker (two if it must bounce a misaligned
 * write), whatever the image size; reading
 * the (compressed) source overlaps writing and verifying.
 *
 * States of one chunk on one target:
 *
 *               take slot                pwrite ok            fdatasync ok
 *   [WAIT] ----------------> [WRITE] -------------> [FLUSH] -----------------> [VERIFY]
 *     ^                        ^  |                    |                  equal |  | differ,
 *     |                        |  | EIO, ENOSPC        | EIO                    |  | EIO
 *     |                        |  v                    v                        |  v
 *     |                        +-- [RETRY] <-----------+------------------------|--+
 *     |                  tries < max |  tries == max                            |
 *     |                              v                                          |
 *     |                           [FAILED]  target is dead, others go on        |
 *     +------------------------------------ [GOOD] <----------------------------+
 *                                      (rewritten++ if tries > 1)
 *
 * After the last ring chunk of a target is GOOD and the source reported its
 * end (all checksums matched): zero the tail, then the held-back FIRST chunk
 * goes through the same states, then fdatasync and BLKRRPART.
 *
 * Invariants (checked by assert_target_ok() in debug builds):
 *  (1) a chunk counts as verified only after a read-back that bypassed the
 *      page cache (O_DIRECT, or fdatasync + POSIX_FADV_DONTNEED for files)
 *      compared equal to the source bytes;
 *  (2) verified <= written: every verified byte was written at least once;
 *  (3) rewritten <= chunks taken, and a chunk is counted at most once;
 *  (4) the first chunk is written only when the source ended cleanly and
 *      every other chunk of that target is GOOD, so an interrupted or failed
 *      write never leaves a bootable-looking device;
 *  (5) a dead target never blocks the reader (its position is UINT64_MAX);
 *  (6) only extents are written: bytes between bmap ranges stay untouched.
 */
#include "usbcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

#define RING		4 /* slots: one per worker in flight, and two the reader fills ahead */
#define ZERO_TAIL_BYTES (1u << 20)
#define MAX_ALIGN	4096u

#ifdef NDEBUG
#define assert_target_ok(t) ((void)0)
#else
#define assert_target_ok(t) target_ok_check(t, __FILE__, __LINE__)
#endif

/* ---------------------------------------------------------------- fault hook */

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;

int uc_faults_parse(const char *spec, struct uc_faults *fl, struct ok_err *e)
{
	static const char *const names[] = {"corrupt", "drop", "eio",	"rdeio",
					    "backing", "kill", "sigint"};
	memset(fl, 0, sizeof(*fl));
	const char *p = spec;
	while (*p) {
		const char *at = strchr(p, '@');
		if (!at || fl->n == UC_MAX_FAULTS)
			return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS", (long long)(p - spec),
					 "expected KIND@BLOCK[xCOUNT][,...]");
		int k;
		for (k = 0; k < 7; k++)
			if (strlen(names[k]) == (size_t)(at - p) &&
			    !strncmp(p, names[k], (size_t)(at - p)))
				break;
		if (k == 7)
			return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS", (long long)(p - spec),
					 "unknown fault kind '%.*s'", (int)(at - p), p);
		char *end;
		unsigned long long blk = strtoull(at + 1, &end, 10);
		int count = -1;
		if (end == at + 1)
			return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS",
					 (long long)(at + 1 - spec), "expected a block number");
		if (*end == 'x') {
			char *e2;
			long c = strtol(end + 1, &e2, 10);
			if (e2 == end + 1 || c < 1 || c > 1000000)
				return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS",
						 (long long)(end + 1 - spec), "expected a count");
			count = (int)c;
			end = e2;
		}
		if (*end && *end != ',')
			return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS", (long long)(end - spec),
					 "expected ',' or the end");
		fl->f[fl->n].kind = (enum uc_fault_kind)k;
		fl->f[fl->n].block = blk;
		fl->f[fl->n].count = count;
		fl->n++;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* Does a fault of kind fire for block now? Consumes one firing. */
static int fault_hit(struct uc_faults *fl, enum uc_fault_kind kind, uint64_t block)
{
	if (!fl || !fl->n)
		return 0;
	int hit = 0;
	pthread_mutex_lock(&fault_mu);
	for (int i = 0; i < fl->n && !hit; i++) {
		struct uc_fault *f = &fl->f[i];
		if (f->kind == kind && f->block == block && f->count != 0) {
			if (f->count > 0)
				f->count--;
			hit = 1;
		}
	}
	pthread_mutex_unlock(&fault_mu);
	return hit;
}

/* Is any fault aimed at block (so the BLKZEROOUT shortcut must not skip it)? */
static int fault_any(const struct uc_faults *fl, uint64_t block)
{
	if (!fl)
		return 0;
	for (int i = 0; i < fl->n; i++)
		if (fl->f[i].block == block)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- targets */

struct engine;

/* Per-target engine state (uc_target.priv). */
struct tstate {
	struct engine *g;	 /* back pointer */
	struct uc_target *t;	 /* the target */
	uint64_t taken;		 /* chunks taken (ring, tail, first) */
	int dead;		 /* failed: its workers only pass chunks on */
	int workers_left;	 /* workers still in the ring loop */
	struct uc_faults faults; /* this target's copy of the test faults */
	int has_faults;		 /* faults is in use */
};

/* One writer thread: chunks seq = j, j + W, j + 2W, ... of one target. */
struct worker {
	struct tstate *ts; /* its target */
	unsigned j;	   /* first sequence number */
	uint8_t *bounce;   /* misaligned or corrupted writes; allocated on first use */
	size_t buf_bytes;  /* size of bounce and vbuf: max(chunk, tail) + 2 * MAX_ALIGN */
	uint8_t *vbuf;	   /* the same size: read-back */
	pthread_t th;
	int started;
};

static void add(uint64_t *v, uint64_t n)
{
	__atomic_add_fetch(v, n, __ATOMIC_RELAXED);
}

#ifndef NDEBUG
static void target_ok_check(const struct uc_target *t, const char *file, int line)
{
	const struct tstate *s = t->priv;
	uint64_t v = __atomic_load_n(&t->verified, __ATOMIC_RELAXED);
	uint64_t w = __atomic_load_n(&t->written, __ATOMIC_RELAXED);
	uint64_t rw = __atomic_load_n(&t->rewritten, __ATOMIC_RELAXED);
	uint64_t tk = __atomic_load_n(&s->taken, __ATOMIC_RELAXED);
	if (v > w) /* (2) */
		ok_bug(file, line, "%s: verified %llu > written %llu", t->path,
		       (unsigned long long)v, (unsigned long long)w);
	if (rw > tk) /* (3) */
		ok_bug(file, line, "%s: rewritten %llu > chunks %llu", t->path,
		       (unsigned long long)rw, (unsigned long long)tk);
}
#endif

int uc_target_open(struct uc_target *t, struct ok_err *e)
{
	struct stat st;
	t->fd = -1;
	t->rrpart = 1;
	int blk = stat(t->path, &st) == 0 && S_ISBLK(st.st_mode);
	if (blk) {
		t->fd = open(t->path, O_RDWR | O_EXCL | O_DIRECT | O_CLOEXEC);
		t->direct = t->fd >= 0;
		if (t->fd < 0 && errno == EINVAL)
			t->fd = open(t->path, O_RDWR | O_EXCL | O_CLOEXEC);
	} else if (!strncmp(t->path, "/dev/", 5)) {
		/* never create files among device nodes: a vanished stick is an error */
		t->fd = open(t->path, O_RDWR | O_CLOEXEC);
		if (t->fd >= 0 && fstat(t->fd, &st) == 0 && !S_ISREG(st.st_mode)) {
			close(t->fd);
			t->fd = -1;
			errno = ENODEV;
		}
	} else {
		t->fd = open(t->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		t->direct = 0;
	}
	if (t->fd < 0) {
		int en = errno;
		return ok_err_at(e, -en, t->path, OK_ERR_NOPOS,
				 en == EBUSY ? "cannot open exclusively: in use (mounted, or held "
					       "by another program)"
					     : "cannot open for writing");
	}
	if (fstat(t->fd, &st) < 0 || (blk && !S_ISBLK(st.st_mode))) {
		int r = ok_err_at(e, -EIO, t->path, OK_ERR_NOPOS, "changed while opening");
		uc_target_close(t);
		return r;
	}
	t->is_blk = blk;
	if (flock(t->fd, LOCK_EX | LOCK_NB) < 0) {
		int r = ok_err_at(e, -errno, t->path, OK_ERR_NOPOS, "locked by another program");
		uc_target_close(t);
		return r;
	}
	int64_t sz = io_size(t->fd);
	int bs = io_block_size(t->fd);
	if (sz < 0 || bs <= 0) {
		int r =
		    ok_err_at(e, sz < 0 ? (int)sz : bs, t->path, OK_ERR_NOPOS, "cannot get size");
		uc_target_close(t);
		return r;
	}
	t->size_bytes = (uint64_t)sz;
	t->align = (uint32_t)bs;
	if (t->direct && t->align > MAX_ALIGN) { /* keep bounce buffers small */
		int fl = fcntl(t->fd, F_GETFL);
		fcntl(t->fd, F_SETFL, fl & ~O_DIRECT);
		t->direct = 0;
	}
	if (!t->direct)
		t->align = 1;
	return 0;
}

void uc_target_close(struct uc_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/*
 * Write len bytes of src at off. Goes through the bounce buffer when the
 * device needs alignment the extent lacks (the partial blocks around it are
 * read first, so their other bytes are kept) or when corrupt is set (the
 * test fault: the device receives one flipped byte).
 */
static int write_ext(struct worker *w, const uint8_t *src, uint64_t off, uint32_t len, int corrupt)
{
	struct uc_target *t = w->ts->t;
	uint64_t a = off / t->align * t->align;
	uint64_t b = (off + len + t->align - 1) / t->align * t->align;
	ssize_t r;
	if (!corrupt && a == off && b == off + len) {
		r = io_pwrite_full(t->fd, src, len, (off_t)off);
	} else {
		if (!w->bounce && !(w->bounce = io_alloc(w->buf_bytes)))
			return -ENOMEM;
		if ((a != off || b != off + len) &&
		    (r = io_pread_full(t->fd, w->bounce, b - a, (off_t)a)) < 0)
			return (int)r;
		memcpy(w->bounce + (off - a), src, len);
		if (corrupt)
			w->bounce[off - a + len / 2] ^= 0x5a;
		r = io_pwrite_full(t->fd, w->bounce, b - a, (off_t)a);
	}
	if (r < 0)
		return (int)r;
	add(&t->written, len);
	return 0;
}

/* Read back [off, off + len) bypassing the page cache; 0 equal, 1 differ, <0 errno. */
static int verify_ext(struct worker *w, const uint8_t *want, uint64_t off, uint32_t len)
{
	struct uc_target *t = w->ts->t;
	uint64_t a = off / t->align * t->align;
	uint64_t b = (off + len + t->align - 1) / t->align * t->align;
	if (!t->direct) {
		/* after fdatasync the pages are clean: drop them so the read hits the disk */
		if (t->is_blk)
			ioctl(t->fd, BLKFLSBUF, 0);
		posix_fadvise(t->fd, (off_t)a, (off_t)(b - a), POSIX_FADV_DONTNEED);
	}
	ssize_t r = io_pread_full(t->fd, w->vbuf, b - a, (off_t)a);
	if (r < 0)
		return (int)r;
	if ((uint64_t)r < off + len - a)
		return 1; /* a file shorter than what we wrote */
	return memcmp(w->vbuf + (off - a), want, len) != 0;
}

/* Change block's bytes behind the device (the "backing" test fault). */
static void fault_backing(struct uc_target *t, const struct uc_chunk *c)
{
	const char *path = t->backing[0] ? t->backing : (!t->is_blk ? t->path : NULL);
	if (!path || !c->next)
		return;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint8_t junk[512];
	uint32_t n = c->ext[0].len < sizeof(junk) ? c->ext[0].len : (uint32_t)sizeof(junk);
	for (uint32_t i = 0; i < n; i++)
		junk[i] = (uint8_t)~c->buf[c->ext[0].off + i];
	if (pwrite(fd, junk, n, (off_t)(c->start + c->ext[0].off)) == (ssize_t)n)
		fsync(fd);
	close(fd);
}

/* ---------------------------------------------------------------- one chunk */

/* WRITE + FLUSH: 0, or -errno. */
static int chunk_write(struct worker *w, const struct uc_chunk *c, struct uc_faults *fl)
{
	struct uc_target *t = w->ts->t;
	int faulty = fault_any(fl, c->index);
	for (uint32_t i = 0; i < c->next; i++) {
		const struct uc_ext *x = &c->ext[i];
		uint64_t off = c->start + x->off;
		if (t->is_blk && off + x->len > t->size_bytes)
			return -ENOSPC;
		if (fault_hit(fl, UC_F_EIO, c->index))
			return -EIO;
		if (fault_hit(fl, UC_F_DROP, c->index)) {
			add(&t->written, x->len); /* the device said yes and did nothing */
			continue;
		}
		int corrupt = fault_hit(fl, UC_F_CORRUPT, c->index);
		if (x->zero && t->is_blk && !faulty && off % 4096 == 0 && x->len % 4096 == 0) {
			uint64_t range[2] = {off, x->len};
			if (ioctl(t->fd, BLKZEROOUT, range) == 0) {
				add(&t->written, x->len);
				continue;
			}
		}
		int r = write_ext(w, c->buf + x->off, off, x->len, corrupt);
		if (r < 0)
			return r;
	}
	int r = io_fdatasync(t->fd);
	if (r < 0)
		return r;
	if (fault_hit(fl, UC_F_BACKING, c->index))
		fault_backing(t, c);
	if (fault_hit(fl, UC_F_KILL, c->index))
		raise(SIGKILL);
	if (fault_hit(fl, UC_F_SIGINT, c->index))
		raise(SIGINT);
	return 0;
}

/* VERIFY: 0 equal, 1 differ, <0 errno. */
static int chunk_verify(struct worker *w, const struct uc_chunk *c, struct uc_faults *fl)
{
	if (fault_hit(fl, UC_F_RDEIO, c->index))
		return -EIO;
	for (uint32_t i = 0; i < c->next; i++) {
		int r =
		    verify_ext(w, c->buf + c->ext[i].off, c->start + c->ext[i].off, c->ext[i].len);
		if (r)
			return r;
	}
	return 0;
}

static uint64_t chunk_bytes_of(const struct uc_chunk *c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < c->next; i++)
		n += c->ext[i].len;
	return n;
}

struct slot {
	struct uc_chunk c; /* the chunk */
	size_t pending;	   /* targets that have not passed it on yet */
};

struct engine {
	pthread_mutex_t mu;
	pthread_cond_t cv_fill; /* reader -> workers: a slot was filled, or eof/abort */
	pthread_cond_t cv_free; /* workers -> reader: a slot was passed on, a target died */
	struct slot ring[RING];
	struct uc_chunk first; /* held back until the end */
	struct uc_chunk tail;  /* zeros for the device's last MiB */
	int have_first;
	uint64_t filled;    /* ring chunks produced */
	int eof;	    /* source ended cleanly */
	int abort;	    /* source failed or stop requested */
	size_t dead;	    /* targets that failed */
	size_t finished;    /* targets completely done (finalised or dead) */
	uint64_t image_end; /* image bytes, known at eof */
	unsigned nw;	    /* workers per target */
	const struct uc_write_opts *o;
};

/* Mark a target failed with err (the first failure wins). Called unlocked. */
static void target_fail(struct engine *g, struct tstate *s, int err)
{
	pthread_mutex_lock(&g->mu);
	if (!s->dead) {
		s->dead = 1;
		s->t->err = err;
		g->dead++;
		pthread_cond_broadcast(&g->cv_free);
	}
	pthread_mutex_unlock(&g->mu);
}

/* One chunk through WRITE/FLUSH/VERIFY/RETRY until GOOD or FAILED. */
static int chunk_put(struct worker *w, const struct uc_chunk *c)
{
	struct tstate *s = w->ts;
	struct uc_target *t = s->t;
	const struct uc_write_opts *o = s->g->o;
	struct uc_faults *fl = s->has_faults ? &s->faults : NULL;
	struct ok_err e;
	int last = 0;
	add(&s->taken, 1);
	for (int try = 1; try <= o->tries; try++) {
		if (o->stop && *o->stop) {
			last = -EINTR;
			break;
		}
		last = chunk_write(w, c, fl);
		if (last == -ENOSPC)
			break;
		if (last == 0 && o->verify)
			last = chunk_verify(w, c, fl);
		if (last == 0) {
			if (try > 1)
				add(&t->rewritten, 1);
			if (o->verify)
				add(&t->verified, chunk_bytes_of(c));
			assert_target_ok(t);
			return 0;
		}
	}
	/* FAILED: describe it once, under the lock, for the first failure only */
	ok_err_clear(&e);
	if (last == -EINTR)
		ok_err_at(&e, -EINTR, t->path, OK_ERR_NOPOS, "interrupted");
	else if (last == -ENOSPC)
		ok_err_at(&e, -ENOSPC, t->path, (long long)c->start,
			  "Image is larger than the device (%llu MB)",
			  (unsigned long long)(t->size_bytes >> 20));
	else if (last == 1)
		ok_err_at(&e, -EILSEQ, t->path, (long long)c->start,
			  "Verification failed after %d attempts on block %llu", o->tries,
			  (unsigned long long)c->index);
	else
		ok_err_at(&e, last, t->path, (long long)c->start,
			  "Write to device failed after %d attempts on block %llu", o->tries,
			  (unsigned long long)c->index);
	int err = last == 1 ? -EILSEQ : last;
	pthread_mutex_lock(&s->g->mu);
	if (!s->dead) {
		t->e = e;
		t->bad_block = c->index;
	}
	pthread_mutex_unlock(&s->g->mu);
	target_fail(s->g, s, err);
	return err;
}

/* ---------------------------------------------------------------- workers and reader */

/* Zero [max(size - 1 MiB, end of image), size) and verify it. */
static int zero_tail(struct worker *w)
{
	struct engine *g = w->ts->g;
	struct uc_target *t = w->ts->t;
	if (!t->is_blk || !g->o->zero_tail || t->size_bytes <= g->image_end)
		return 0;
	uint64_t from = t->size_bytes > ZERO_TAIL_BYTES ? t->size_bytes - ZERO_TAIL_BYTES : 0;
	if (from < g->image_end)
		from = (g->image_end + 4095) / 4096 * 4096;
	if (from >= t->size_bytes)
		return 0;
	struct uc_chunk c = g->tail;
	struct uc_ext x = {0, (uint32_t)(t->size_bytes - from), 1};
	c.start = from;
	c.index = from / g->o->chunk_bytes;
	c.ext = &x;
	c.next = 1;
	return chunk_put(w, &c);
}

/* The last worker of a target: tail, first chunk (4), flush, partition table. */
static void target_finish(struct worker *w)
{
	struct engine *g = w->ts->g;
	struct tstate *s = w->ts;
	struct uc_target *t = s->t;
	pthread_mutex_lock(&g->mu);
	int ok = !s->dead && g->eof && !g->abort;
	pthread_mutex_unlock(&g->mu);
	if (ok && zero_tail(w) == 0 && (!g->have_first || chunk_put(w, &g->first) == 0)) {
		int r = io_fsync(t->fd);
		if (r < 0) {
			ok_err_at(&t->e, r, t->path, OK_ERR_NOPOS, "cannot flush");
			target_fail(g, s, r);
		} else if (t->is_blk) {
			t->rrpart = ioctl(t->fd, BLKRRPART) < 0 ? -errno : 0;
		}
	}
	pthread_mutex_lock(&g->mu);
	g->finished++;
	pthread_cond_broadcast(&g->cv_free);
	pthread_mutex_unlock(&g->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tstate *s = w->ts;
	struct engine *g = s->g;
	for (uint64_t seq = w->j;; seq += g->nw) {
		pthread_mutex_lock(&g->mu);
		while (g->filled <= seq && !g->eof && !g->abort)
			pthread_cond_wait(&g->cv_fill, &g->mu);
		int stop = g->abort || g->filled <= seq;
		int dead = s->dead;
		pthread_mutex_unlock(&g->mu);
		if (stop)
			break;
		struct slot *sl = &g->ring[seq % RING];
		if (!dead) /* (5): a dead target only passes chunks on */
			chunk_put(w, &sl->c);
		pthread_mutex_lock(&g->mu);
		sl->pending--;
		pthread_cond_broadcast(&g->cv_free);
		pthread_mutex_unlock(&g->mu);
	}
	pthread_mutex_lock(&g->mu);
	int last = --s->workers_left == 0;
	pthread_mutex_unlock(&g->mu);
	if (last)
		target_finish(w);
	return NULL;
}

static void report(const struct uc_write_opts *o, struct uc_target *t, size_t nt)
{
	if (!o->progress)
		return;
	uint64_t v = 0, w = 0;
	for (size_t i = 0; i < nt; i++) {
		v += __atomic_load_n(&t[i].verified, __ATOMIC_RELAXED);
		w += __atomic_load_n(&t[i].written, __ATOMIC_RELAXED);
	}
	o->progress(o->ctx, w / nt, v / nt);
}

int uc_write(struct uc_src *src, struct uc_target *t, size_t nt, const struct uc_write_opts *o,
	     struct ok_err *e)
{
	struct engine *g = calloc(1, sizeof(*g));
	unsigned nw = o->workers ? o->workers : 2;
	struct worker *ws = calloc(nt * nw, sizeof(*ws));
	struct tstate *ts = calloc(nt, sizeof(*ts));
	if (!g || !ws || !ts) {
		free(g);
		free(ws);
		free(ts);
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	}
	int r = 0;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv_fill, NULL);
	pthread_cond_init(&g->cv_free, NULL);
	g->o = o;
	g->nw = nw;
	for (int i = 0; i < RING && r == 0; i++)
		r = uc_chunk_alloc(&g->ring[i].c, o->chunk_bytes);
	if (r == 0)
		r = uc_chunk_alloc(&g->first, o->chunk_bytes);
	if (r == 0)
		r = uc_chunk_alloc(&g->tail, ZERO_TAIL_BYTES);
	size_t bb =
	    (o->chunk_bytes > ZERO_TAIL_BYTES ? o->chunk_bytes : ZERO_TAIL_BYTES) + 2 * MAX_ALIGN;
	for (size_t i = 0; i < nt; i++) {
		ts[i].g = g;
		ts[i].t = &t[i];
		ts[i].workers_left = (int)nw;
		if (o->faults) { /* counts are per target */
			ts[i].faults = *o->faults;
			ts[i].has_faults = 1;
		}
		t[i].priv = &ts[i];
		t[i].err = 0;
		t[i].rewritten = t[i].written = t[i].verified = 0;
		ok_err_clear(&t[i].e);
		for (unsigned j = 0; j < nw; j++) {
			struct worker *w = &ws[i * nw + j];
			w->ts = &ts[i];
			w->j = j;
			w->buf_bytes = bb;
			w->vbuf = io_alloc(bb);
			if (!w->vbuf)
				r = -ENOMEM;
		}
	}
	size_t nws = nt * nw, started = 0;
	if (r < 0) {
		ok_err_at(e, r, NULL, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	/* the first chunk is read before the workers start: they never see it */
	r = uc_src_next(src, &g->first, e);
	if (r < 0)
		goto out;
	g->have_first = r > 0;
	r = 0;
	for (; started < nws; started++)
		if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started])) {
			r = ok_err_at(e, -EAGAIN, NULL, OK_ERR_NOPOS,
				      "cannot start a writer thread");
			break;
		}
	if (r < 0) {
		pthread_mutex_lock(&g->mu);
		g->abort = 1;
		pthread_cond_broadcast(&g->cv_fill);
		pthread_mutex_unlock(&g->mu);
		goto join;
	}
	for (uint64_t seq = 0; g->have_first; seq++) {
		struct slot *sl = &g->ring[seq % RING];
		pthread_mutex_lock(&g->mu);
		while (sl->pending > 0 && g->dead < nt)
			pthread_cond_wait(&g->cv_free, &g->mu);
		int alive = g->dead < nt;
		pthread_mutex_unlock(&g->mu);
		if (!alive)
			break; /* every target failed: their errors say why */
		if (o->stop && *o->stop) {
			r = ok_err_at(e, -EINTR, NULL, OK_ERR_NOPOS, "interrupted");
			break;
		}
		int n = uc_src_next(src, &sl->c, e);
		if (n < 0) {
			r = n;
			break;
		}
		pthread_mutex_lock(&g->mu);
		if (n == 0) {
			g->eof = 1;
			g->image_end = uc_src_offset(src);
		} else {
			sl->pending = nt;
			g->filled = seq + 1;
		}
		pthread_cond_broadcast(&g->cv_fill);
		pthread_mutex_unlock(&g->mu);
		report(o, t, nt);
		if (n == 0)
			break;
	}
	pthread_mutex_lock(&g->mu);
	if (!g->have_first)
		g->eof = 1; /* an empty image: nothing but the tail */
	if (r < 0 || !g->eof)
		g->abort = 1;
	pthread_cond_broadcast(&g->cv_fill);
	/* wait for the targets, reporting progress meanwhile */
	while (g->finished < nt) {
		struct timespec tw;
		clock_gettime(CLOCK_REALTIME, &tw);
		tw.tv_nsec += 250000000;
		if (tw.tv_nsec >= 1000000000) {
			tw.tv_sec++;
			tw.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->cv_free, &g->mu, &tw);
		pthread_mutex_unlock(&g->mu);
		report(o, t, nt);
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
join:
	for (size_t i = 0; i < started; i++)
		pthread_join(ws[i].th, NULL);
	report(o, t, nt);
	if (r == 0)
		for (size_t i = 0; i < nt; i++)
			if (t[i].err) {
				r = t[i].err;
				if (e)
					*e = t[i].e;
				break;
			}
out:
	for (size_t i = 0; i < nt * nw; i++) {
		io_free(ws[i].bounce);
		io_free(ws[i].vbuf);
	}
	for (size_t i = 0; i < nt; i++)
		t[i].priv = NULL;
	for (int i = 0; i < RING; i++)
		uc_chunk_free(&g->ring[i].c);
	uc_chunk_free(&g->first);
	uc_chunk_free(&g->tail);
	pthread_cond_destroy(&g->cv_fill);
	pthread_cond_destroy(&g->cv_free);
	pthread_mutex_destroy(&g->mu);
	free(ws);
	free(ts);
	free(g);
	return r;
}

/* ---------------------------------------------------------------- fake-capacity probe */

int uc_probe(struct uc_target *t, char *why, size_t whysize, struct ok_err *e)
{
	enum { N = 16, BLK = 4096 };
	uint8_t *save = io_alloc((size_t)N * BLK), *pat = io_alloc((size_t)N * BLK),
		*back = io_alloc(BLK);
	int r = 0, lost = 0;
	uint64_t offs[N];
	why[0] = 0;
	if (!save || !pat || !back) {
		r = ok_err_at(e, -ENOMEM, t->path, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	uint64_t blocks = t->size_bytes / BLK;
	if (blocks < N) {
		r = ok_err_at(e, -EINVAL, t->path, OK_ERR_NOPOS, "too small to probe");
		goto out;
	}
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	for (int i = 0; i < N; i++) {
		offs[i] = (i == N - 1 ? blocks - 1 : blocks * (uint64_t)(i + 1) / N) * BLK;
		ssize_t n = io_pread_full(t->fd, save + (size_t)i * BLK, BLK, (off_t)offs[i]);
		if (n != BLK) {
			r = ok_err_at(e, n < 0 ? (int)n : -EIO, t->path, (long long)offs[i],
				      "cannot read");
			goto out;
		}
		for (int k = 0; k < BLK; k += 8) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t v = seed ^ offs[i];
			memcpy(pat + (size_t)i * BLK + k, &v, 8);
		}
	}
	int written = 0;
	for (; written < N; written++) {
		ssize_t n =
		    io_pwrite_full(t->fd, pat + (size_t)written * BLK, BLK, (off_t)offs[written]);
		if (n != BLK) {
			r = ok_err_at(e, n < 0 ? (int)n : -EIO, t->path, (long long)offs[written],
				      "cannot write probe block");
			goto restore;
		}
	}
	if ((r = io_fdatasync(t->fd)) < 0) {
		ok_err_at(e, r, t->path, OK_ERR_NOPOS, "cannot flush");
		goto restore;
	}
	for (int i = 0; i < N && !lost; i++) {
		if (!t->direct)
			posix_fadvise(t->fd, (off_t)offs[i], BLK, POSIX_FADV_DONTNEED);
		ssize_t n = io_pread_full(t->fd, back, BLK, (off_t)offs[i]);
		if (n != BLK || memcmp(back, pat + (size_t)i * BLK, BLK)) {
			lost = 1;
			snprintf(why, whysize,
				 "Device is FAKE: data written at %llu MB did not read back "
				 "(advertised %llu MB)",
				 (unsigned long long)(offs[i] >> 20),
				 (unsigned long long)(t->size_bytes >> 20));
		}
	}
restore:
	for (int i = 0; i < written; i++)
		io_pwrite_full(t->fd, save + (size_t)i * BLK, BLK, (off_t)offs[i]);
	io_fdatasync(t->fd);
	if (r == 0)
		r = lost;
out:
	io_free(save);
	io_free(pat);
	io_free(back);
	return r;
}
