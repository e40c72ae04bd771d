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
 * them in a ring of RING slots; one writer thread per target takes every
 * chunk in order. A slot is refilled only when every live target is done
 * with it, so memory is (RING + 3) chunks plus one per target, whatever the
 * image size; the reader runs ahead of the slowest writer by at most RING
 * chunks, so reading the (compressed) source overlaps writing and verifying.
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

#define RING		4
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
	static const char *const names[] = {"corrupt", "drop", "eio", "rdeio", "backing", "kill"};
	memset(fl, 0, sizeof(*fl));
	const char *p = spec;
	while (*p) {
		const char *at = strchr(p, '@');
		if (!at || fl->n == UC_MAX_FAULTS)
			return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS", (long long)(p - spec),
					 "expected KIND@BLOCK[xCOUNT][,...]");
		int k;
		for (k = 0; k < 6; k++)
			if (strlen(names[k]) == (size_t)(at - p) &&
			    !strncmp(p, names[k], (size_t)(at - p)))
				break;
		if (k == 6)
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

struct tpriv {
	uint8_t *bounce; /* max(chunk, tail) + 2 * MAX_ALIGN: misaligned or corrupted writes */
	uint8_t *vbuf;	 /* the same size: read-back */
	uint64_t taken;	 /* chunks taken */
	uint64_t next;	 /* ring sequence number wanted next; UINT64_MAX if dead */
	int dead;	 /* failed: skip everything */
	struct uc_faults faults; /* this target's copy of the test faults */
	int has_faults;		 /* faults is in use */
	struct engine *g;	 /* back pointer */
	struct uc_target *t;
	pthread_t th;
};

#ifndef NDEBUG
static void target_ok_check(const struct uc_target *t, const char *file, int line)
{
	const struct tpriv *p = t->priv;
	if (t->verified > t->written) /* (2) */
		ok_bug(file, line, "%s: verified %llu > written %llu", t->path,
		       (unsigned long long)t->verified, (unsigned long long)t->written);
	if (p && t->rewritten > p->taken + 2) /* (3): ring chunks + tail + first */
		ok_bug(file, line, "%s: rewritten %llu > chunks %llu", t->path,
		       (unsigned long long)t->rewritten, (unsigned long long)p->taken);
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
static int write_ext(struct uc_target *t, const uint8_t *src, uint64_t off, uint32_t len,
		     int corrupt)
{
	struct tpriv *p = t->priv;
	uint64_t a = off / t->align * t->align;
	uint64_t b = (off + len + t->align - 1) / t->align * t->align;
	ssize_t r;
	if (!corrupt && a == off && b == off + len) {
		r = io_pwrite_full(t->fd, src, len, (off_t)off);
	} else {
		if ((a != off || b != off + len) &&
		    (r = io_pread_full(t->fd, p->bounce, b - a, (off_t)a)) < 0)
			return (int)r;
		memcpy(p->bounce + (off - a), src, len);
		if (corrupt)
			p->bounce[off - a + len / 2] ^= 0x5a;
		r = io_pwrite_full(t->fd, p->bounce, b - a, (off_t)a);
	}
	if (r < 0)
		return (int)r;
	t->written += len;
	return 0;
}

/* Read back [off, off + len) bypassing the page cache; 0 equal, 1 differ, <0 errno. */
static int verify_ext(struct uc_target *t, const uint8_t *want, uint64_t off, uint32_t len)
{
	struct tpriv *p = t->priv;
	uint64_t a = off / t->align * t->align;
	uint64_t b = (off + len + t->align - 1) / t->align * t->align;
	if (!t->direct) {
		/* after fdatasync the pages are clean: drop them so the read hits the disk */
		if (t->is_blk)
			ioctl(t->fd, BLKFLSBUF, 0);
		posix_fadvise(t->fd, (off_t)a, (off_t)(b - a), POSIX_FADV_DONTNEED);
	}
	ssize_t r = io_pread_full(t->fd, p->vbuf, b - a, (off_t)a);
	if (r < 0)
		return (int)r;
	if ((uint64_t)r < off + len - a)
		return 1; /* a file shorter than what we wrote */
	return memcmp(p->vbuf + (off - a), want, len) != 0;
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
static int chunk_write(struct uc_target *t, const struct uc_chunk *c, struct uc_faults *fl)
{
	int faulty = fault_any(fl, c->index);
	for (uint32_t i = 0; i < c->next; i++) {
		const struct uc_ext *x = &c->ext[i];
		uint64_t off = c->start + x->off;
		if (t->is_blk && off + x->len > t->size_bytes)
			return -ENOSPC;
		if (fault_hit(fl, UC_F_EIO, c->index))
			return -EIO;
		if (fault_hit(fl, UC_F_DROP, c->index)) {
			t->written += x->len; /* the device said yes and did nothing */
			continue;
		}
		int corrupt = fault_hit(fl, UC_F_CORRUPT, c->index);
		if (x->zero && t->is_blk && !faulty && off % 4096 == 0 && x->len % 4096 == 0) {
			uint64_t range[2] = {off, x->len};
			if (ioctl(t->fd, BLKZEROOUT, range) == 0) {
				t->written += x->len;
				continue;
			}
		}
		int r = write_ext(t, c->buf + x->off, off, x->len, corrupt);
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
	return 0;
}

/* VERIFY: 0 equal, 1 differ, <0 errno. */
static int chunk_verify(struct uc_target *t, const struct uc_chunk *c, struct uc_faults *fl)
{
	if (fault_hit(fl, UC_F_RDEIO, c->index))
		return -EIO;
	for (uint32_t i = 0; i < c->next; i++) {
		int r =
		    verify_ext(t, c->buf + c->ext[i].off, c->start + c->ext[i].off, c->ext[i].len);
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

struct engine {
	pthread_mutex_t mu;
	pthread_cond_t cv_fill; /* reader -> writers: a slot was filled, or eof/abort */
	pthread_cond_t cv_free; /* writers -> reader: a slot was released */
	struct uc_chunk ring[RING];
	struct uc_chunk first; /* held back until the end */
	struct uc_chunk tail;  /* zeros for the device's last MiB */
	int have_first;
	uint64_t filled;    /* ring chunks produced */
	int eof;	    /* source ended cleanly */
	int abort;	    /* source failed or stop requested */
	uint64_t image_end; /* image bytes, known at eof */
	const struct uc_write_opts *o;
};

/* One chunk through WRITE/FLUSH/VERIFY/RETRY until GOOD or FAILED. */
static int chunk_put(struct engine *g, struct uc_target *t, const struct uc_chunk *c)
{
	const struct uc_write_opts *o = g->o;
	struct tpriv *p = t->priv;
	struct uc_faults *fl = p->has_faults ? &p->faults : NULL;
	int last = 0;
	for (int try = 1; try <= o->tries; try++) {
		if (o->stop && *o->stop)
			return ok_err_at(&t->e, -EINTR, t->path, OK_ERR_NOPOS, "interrupted");
		last = chunk_write(t, c, fl);
		if (last == -ENOSPC)
			return ok_err_at(&t->e, -ENOSPC, t->path, (long long)c->start,
					 "Image is larger than the device (%llu MB)",
					 (unsigned long long)(t->size_bytes >> 20));
		if (last == 0 && o->verify)
			last = chunk_verify(t, c, fl);
		if (last == 0) {
			if (try > 1)
				t->rewritten++;
			if (o->verify)
				t->verified += chunk_bytes_of(c);
			assert_target_ok(t);
			return 0;
		}
	}
	t->bad_block = c->index;
	if (last == 1)
		return ok_err_at(&t->e, -EILSEQ, t->path, (long long)c->start,
				 "Verification failed after %d attempts on block %llu", o->tries,
				 (unsigned long long)c->index);
	return ok_err_at(&t->e, last, t->path, (long long)c->start,
			 "Write to device failed after %d attempts on block %llu", o->tries,
			 (unsigned long long)c->index);
}

/* ---------------------------------------------------------------- writers and reader */

/* Zero [max(size - 1 MiB, end of image), size) and verify it. */
static int zero_tail(struct engine *g, struct uc_target *t)
{
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
	return chunk_put(g, t, &c);
}

static void *writer_main(void *arg)
{
	struct tpriv *p = arg;
	struct engine *g = p->g;
	struct uc_target *t = p->t;
	int r = 0;
	for (uint64_t seq = 0;; seq++) {
		pthread_mutex_lock(&g->mu);
		while (g->filled <= seq && !g->eof && !g->abort)
			pthread_cond_wait(&g->cv_fill, &g->mu);
		int stop = g->abort || (g->eof && g->filled <= seq);
		pthread_mutex_unlock(&g->mu);
		if (stop)
			break;
		p->taken++;
		r = chunk_put(g, t, &g->ring[seq % RING]);
		pthread_mutex_lock(&g->mu);
		p->next = r < 0 ? UINT64_MAX : seq + 1;
		pthread_cond_broadcast(&g->cv_free);
		pthread_mutex_unlock(&g->mu);
		if (r < 0)
			break;
	}
	pthread_mutex_lock(&g->mu);
	int ok = r == 0 && g->eof && !g->abort;
	pthread_mutex_unlock(&g->mu);
	if (ok) /* (4): everything else is GOOD and the source checked out */
		r = zero_tail(g, t);
	if (ok && r == 0 && g->have_first) {
		p->taken++;
		r = chunk_put(g, t, &g->first);
	}
	if (ok && r == 0) {
		r = io_fsync(t->fd);
		if (r < 0)
			ok_err_at(&t->e, r, t->path, OK_ERR_NOPOS, "cannot flush");
		else if (t->is_blk)
			t->rrpart = ioctl(t->fd, BLKRRPART) < 0 ? -errno : 0;
	}
	if (r < 0 && !t->err)
		t->err = r;
	pthread_mutex_lock(&g->mu);
	p->dead = 1;
	p->next = UINT64_MAX;
	pthread_cond_broadcast(&g->cv_free);
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Lowest ring position any live writer still needs; UINT64_MAX if none. */
static uint64_t min_next(struct uc_target *t, size_t nt)
{
	uint64_t m = UINT64_MAX;
	for (size_t i = 0; i < nt; i++) {
		struct tpriv *p = t[i].priv;
		if (p->next < m)
			m = p->next;
	}
	return m;
}

static void report(const struct uc_write_opts *o, struct uc_src *src, struct uc_target *t,
		   size_t nt)
{
	if (!o->progress)
		return;
	uint64_t v = 0;
	for (size_t i = 0; i < nt; i++)
		v += t[i].verified;
	o->progress(o->ctx, uc_src_offset(src), v / nt);
}

int uc_write(struct uc_src *src, struct uc_target *t, size_t nt, const struct uc_write_opts *o,
	     struct ok_err *e)
{
	struct engine *g = calloc(1, sizeof(*g));
	if (!g)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	int r = 0;
	size_t started = 0;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv_fill, NULL);
	pthread_cond_init(&g->cv_free, NULL);
	g->o = o;
	for (int i = 0; i < RING && r == 0; i++)
		r = uc_chunk_alloc(&g->ring[i], o->chunk_bytes);
	if (r == 0)
		r = uc_chunk_alloc(&g->first, o->chunk_bytes);
	if (r == 0)
		r = uc_chunk_alloc(&g->tail, ZERO_TAIL_BYTES);
	for (size_t i = 0; i < nt && r == 0; i++) {
		struct tpriv *p = calloc(1, sizeof(*p));
		t[i].priv = p;
		if (!p)
			r = -ENOMEM;
		else {
			p->g = g;
			p->t = &t[i];
			if (o->faults) { /* counts are per target */
				p->faults = *o->faults;
				p->has_faults = 1;
			}
			size_t bb =
			    (o->chunk_bytes > ZERO_TAIL_BYTES ? o->chunk_bytes : ZERO_TAIL_BYTES) +
			    2 * MAX_ALIGN;
			p->bounce = io_alloc(bb);
			p->vbuf = io_alloc(bb);
			if (!p->bounce || !p->vbuf)
				r = -ENOMEM;
		}
		t[i].err = 0;
		t[i].rewritten = t[i].written = t[i].verified = 0;
		ok_err_clear(&t[i].e);
	}
	if (r < 0) {
		ok_err_at(e, r, NULL, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	/* the first chunk is read before the writers start: they never see it */
	r = uc_src_next(src, &g->first, e);
	if (r < 0)
		goto out;
	g->have_first = r > 0;
	r = 0;
	for (; started < nt; started++)
		if (pthread_create(&((struct tpriv *)t[started].priv)->th, NULL, writer_main,
				   t[started].priv)) {
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
		pthread_mutex_lock(&g->mu);
		while (min_next(t, nt) != UINT64_MAX && min_next(t, nt) + RING <= seq)
			pthread_cond_wait(&g->cv_free, &g->mu);
		int alive = min_next(t, nt) != UINT64_MAX;
		pthread_mutex_unlock(&g->mu);
		if (!alive)
			break; /* (5) every target failed: their errors say why */
		if (o->stop && *o->stop) {
			r = ok_err_at(e, -EINTR, NULL, OK_ERR_NOPOS, "interrupted");
			break;
		}
		int n = uc_src_next(src, &g->ring[seq % RING], e);
		if (n < 0) {
			r = n;
			break;
		}
		pthread_mutex_lock(&g->mu);
		if (n == 0)
			g->eof = 1;
		else
			g->filled = seq + 1;
		pthread_cond_broadcast(&g->cv_fill);
		pthread_mutex_unlock(&g->mu);
		report(o, src, t, nt);
		if (n == 0)
			break;
	}
	pthread_mutex_lock(&g->mu);
	if (!g->have_first) {
		g->eof = 1; /* an empty image: nothing but the tail */
		g->image_end = 0;
	} else {
		g->image_end = uc_src_offset(src);
	}
	if (r < 0)
		g->abort = 1;
	pthread_cond_broadcast(&g->cv_fill);
	/* wait for the writers, reporting progress meanwhile */
	for (;;) {
		size_t live = 0;
		for (size_t i = 0; i < started; i++)
			live += !((struct tpriv *)t[i].priv)->dead;
		if (!live)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->cv_free, &g->mu, &ts);
		pthread_mutex_unlock(&g->mu);
		report(o, src, t, nt);
		pthread_mutex_lock(&g->mu);
	}
	pthread_mutex_unlock(&g->mu);
join:
	for (size_t i = 0; i < started; i++)
		pthread_join(((struct tpriv *)t[i].priv)->th, NULL);
	report(o, src, t, nt);
	if (r == 0)
		for (size_t i = 0; i < nt; i++)
			if (t[i].err) {
				r = t[i].err;
				if (e)
					*e = t[i].e;
				break;
			}
out:
	for (size_t i = 0; i < nt; i++) {
		struct tpriv *p = t[i].priv;
		if (p) {
			io_free(p->bounce);
			io_free(p->vbuf);
			free(p);
		}
		t[i].priv = NULL;
	}
	for (int i = 0; i < RING; i++)
		uc_chunk_free(&g->ring[i]);
	uc_chunk_free(&g->first);
	uc_chunk_free(&g->tail);
	pthread_cond_destroy(&g->cv_fill);
	pthread_cond_destroy(&g->cv_free);
	pthread_mutex_destroy(&g->mu);
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
