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
 * chunk is flushed (or read back) the next is being written and the device
 * is never idle. A slot is refilled only when every target has passed it
 * on, so memory is (RING + 2) chunks plus one per worker (two if it must
 * bounce a misaligned write), whatever the image size; reading the
 * (compressed) source overlaps writing.
 *
 * The device is read once: by default no chunk is read back as it is
 * written; the FINAL pass, after everything (the first chunk too) is written
 * and flushed, reads every extent back bypassing the page cache and compares
 * its XXH3-128 with the digest taken when the chunk was read from the image.
 * A read right after a write would add nothing the final pass misses (the
 * same bytes, read later) and cost a second read of the device, which caps
 * write + verify near 2/3 of dd write + dd read wherever the device is the
 * limit. What it does add - a bad chunk re-written at once, a dying stick
 * stopped early - is --verify-chunks (opts->verify). The final pass keeps
 * the re-write: damaged chunks are re-read from the image (a second reader;
 * their digests must match) and go through WRITE..VERIFY with tries 2..max,
 * then the whole image is read back once more.
 *
 * States of one chunk on one target:
 *
 *               take slot                pwrite ok            fdatasync ok
 *   [WAIT] ----------------> [WRITE] -------------> [FLUSH] -----------------> [VERIFY]*
 *     ^                        ^  |                    |                  equal |  | differ,
 *     |                        |  | EIO, ENOSPC        | EIO                    |  | EIO
 *     |                        |  v                    v                        |  v
 *     |                        +-- [RETRY] <-----------+------------------------|--+
 *     |                  tries < max |  tries == max                            |
 *     |                              v                                          |
 *     |                           [FAILED]  target is dead, others go on        |
 *     +------------------------------------ [GOOD] <----------------------------+
 *                                      (rewritten++ if tries > 1)
 *   * VERIFY only with opts->verify (--verify-chunks) and in REPAIR;
 *     otherwise FLUSH ok -> GOOD.
 *
 * Before the first chunk of all: WIPE (zero the first and last MiB of block
 * devices). After the last ring chunk of a target is GOOD and the source
 * reported its end (all checksums matched): zero the tail (read back), then
 * the held-back FIRST chunk goes through the same states, then fsync, then
 * FINAL (every extent read back and its digest compared; differing chunks
 * go to REPAIR: WRITE with tries 2..max, always VERIFY, the first chunk
 * last; then FINAL once more without REPAIR), then BLKRRPART.
 *
 * Invariants (checked by assert_target_ok() in debug builds):
 *  (1) a chunk counts as verified only after a read-back that bypassed the
 *      page cache (O_DIRECT, or fdatasync + POSIX_FADV_DONTNEED for files)
 *      compared equal to the source bytes (VERIFY) or their digest (FINAL);
 *  (2) verified <= written: every verified byte was written at least once;
 *  (3) rewritten <= chunks taken;
 *  (4) the first chunk is written only when the source ended cleanly and
 *      every other chunk of that target is GOOD (written; with verify, also
 *      read back), so an interrupted write never leaves a bootable-looking
 *      device; one that FINAL fails has its first MiB zeroed (7), and REPAIR
 *      repairs the first chunk last;
 *  (5) a dead target never blocks the reader (its position is UINT64_MAX);
 *  (6) only extents are written: bytes between bmap ranges stay untouched,
 *      except the first and last MiB of a block device, which are zeroed
 *      (WIPE) before any chunk is written;
 *  (7) with final_verify a target succeeds only if, after its first chunk
 *      was written, every extent read back matched the image's XXH3-128
 *      in one pass after the last write (FINAL, after REPAIR if any); if
 *      not, its ends are wiped again (a regular file: its first MiB).
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
#include <xxhash.h>

#include "io.h"

#define RING		4 /* slots: one per worker in flight, and two the reader fills ahead */
#define ZERO_TAIL_BYTES (1u << 20)
#define WIPE_BYTES	(1u << 20) /* zeroed at both ends before writing */
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
	static const char *const names[] = {"corrupt", "drop", "eio",	 "rdeio",
					    "backing", "kill", "sigint", "slow"};
	memset(fl, 0, sizeof(*fl));
	const char *p = spec;
	while (*p) {
		const char *at = strchr(p, '@');
		if (!at || fl->n == UC_MAX_FAULTS)
			return ok_err_at(e, -EINVAL, "USBCOPY_TEST_FAULTS", (long long)(p - spec),
					 "expected KIND@BLOCK[xCOUNT][,...]");
		int k;
		for (k = 0; k < 8; k++)
			if (strlen(names[k]) == (size_t)(at - p) &&
			    !strncmp(p, names[k], (size_t)(at - p)))
				break;
		if (k == 8)
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
struct worker;

/* Per-target engine state (uc_target.priv). */
struct tstate {
	struct engine *g;	 /* back pointer */
	struct worker *ws;	 /* its nw workers (their buffers serve the final pass) */
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
		if (!w->bounce && !(w->bounce = uc_buf_alloc(w->buf_bytes)))
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

/*
 * WRITE + FLUSH: 0, or -errno. The flush (fdatasync) comes before a
 * read-back (verify), after buffered writes (to keep dirty pages few, so
 * progress is the device's and Ctrl-C quick, and errors land on their
 * chunk) and before a test fault aimed at the chunk. An O_DIRECT write is on
 * the device when pwrite returns, and the fsync before the final pass
 * empties the device's cache: a flush per chunk there only costs time (a
 * cache flush every 4 MiB: the bench's write + verify went from 0.74 to
 * 0.86 of dd write + dd read without it, on a host at load 30).
 */
static int chunk_write(struct worker *w, const struct uc_chunk *c, struct uc_faults *fl, int verify)
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
	int r = verify || !t->direct || faulty ? io_fdatasync(t->fd) : 0;
	if (r < 0)
		return r;
	if (fault_hit(fl, UC_F_BACKING, c->index))
		fault_backing(t, c);
	if (fault_hit(fl, UC_F_KILL, c->index))
		raise(SIGKILL);
	if (fault_hit(fl, UC_F_SIGINT, c->index))
		raise(SIGINT);
	if (fault_hit(fl, UC_F_SLOW, c->index))
		nanosleep(&(struct timespec){0, 300000000}, NULL); /* a slow stick: 0.3 s */
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

/* One extent of the image as written, for the final pass. */
struct rec {
	uint64_t off;	   /* device offset */
	uint32_t len;	   /* bytes */
	uint64_t index;	   /* chunk ("block") number */
	XXH128_hash_t sum; /* XXH3-128 of the image's bytes there */
};

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
	struct uc_src *src; /* the image (REPAIR opens a second reader of it) */
	struct rec *recs;   /* every extent written, with its digest (final pass) */
	size_t nrec, rec_cap;
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

/*
 * One chunk through WRITE/FLUSH/VERIFY/RETRY until GOOD or FAILED, tries
 * first..o->tries (first > 1: a REPAIR of a chunk the final pass found
 * damaged, always read back; its bytes were counted as written and taken
 * before). verify: read back after each write.
 */
static int chunk_try(struct worker *w, const struct uc_chunk *c, int first, int verify)
{
	struct tstate *s = w->ts;
	struct uc_target *t = s->t;
	const struct uc_write_opts *o = s->g->o;
	struct uc_faults *fl = s->has_faults ? &s->faults : NULL;
	struct ok_err e;
	int last = 0;
	if (first == 1)
		add(&s->taken, 1);
	for (int try = first; try <= o->tries; try++) {
		if (o->stop && *o->stop) {
			last = -EINTR;
			break;
		}
		last = chunk_write(w, c, fl, verify);
		if (last == -ENOSPC)
			break;
		if (last == 0 && verify)
			last = chunk_verify(w, c, fl);
		if (last == 0) {
			if (try > 1)
				add(&t->rewritten, 1);
			if (verify && first == 1)
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
		ok_errc_at(&e, OK_CLASS_NEGATIVE, -EILSEQ, t->path, (long long)c->start,
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

/* A chunk of the ring, the tail or the first: as the options say. */
static int chunk_put(struct worker *w, const struct uc_chunk *c)
{
	return chunk_try(w, c, 1, w->ts->g->o->verify);
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
	return chunk_try(w, &c, 1, 1); /* 1 MiB: always read back, it is in no record */
}

/* One thread's share of a final pass: records from, from + step, ... */
struct fpass {
	struct worker *w;  /* whose buffer */
	size_t from, step; /* records from, from + step, ... */
	uint8_t *bad;	   /* per record: 0 equal, 1 differs, 2 read error (shared) */
	int count;	   /* add what compares equal to t->verified */
	int r;		   /* 0, or -EINTR */
	int rerr;	   /* the first read error's -errno */
	pthread_t th;
};

static void *final_part(void *arg)
{
	struct fpass *fp = arg;
	struct worker *w = fp->w;
	struct tstate *s = w->ts;
	struct engine *g = s->g;
	struct uc_target *t = s->t;
	struct uc_faults *fl = s->has_faults ? &s->faults : NULL;
	fp->r = 0;
	fp->rerr = 0;
	for (size_t i = fp->from; i < g->nrec; i += fp->step) {
		const struct rec *rc = &g->recs[i];
		uint64_t a = rc->off / t->align * t->align;
		uint64_t b = (rc->off + rc->len + t->align - 1) / t->align * t->align;
		if (g->o->stop && *g->o->stop) {
			fp->r = -EINTR;
			return NULL;
		}
		if (!t->direct) {
			/* after fsync the pages are clean: drop them so the read hits the disk */
			if (t->is_blk)
				ioctl(t->fd, BLKFLSBUF, 0);
			posix_fadvise(t->fd, (off_t)a, (off_t)(b - a), POSIX_FADV_DONTNEED);
		}
		ssize_t n = fault_hit(fl, UC_F_RDEIO, rc->index)
				? -EIO
				: io_pread_full(t->fd, w->vbuf, b - a, (off_t)a);
		if (n < 0) {
			fp->bad[i] = 2;
			if (!fp->rerr)
				fp->rerr = (int)n;
		} else if ((uint64_t)n < rc->off + rc->len - a ||
			   !XXH128_isEqual(XXH3_128bits(w->vbuf + (rc->off - a), rc->len),
					   rc->sum)) {
			fp->bad[i] = 1;
		} else {
			fp->bad[i] = 0;
			if (fp->count)
				add(&t->verified, rc->len);
		}
	}
	return NULL;
}

/*
 * One pass over every record, split among the target's workers (one reads
 * while another hashes); fills bad[]. 0, or -EINTR; *rerr is the first read
 * error's -errno (0 if none).
 */
static int final_read(struct tstate *s, uint8_t *bad, int count, int *rerr)
{
	struct engine *g = s->g;
	struct fpass fp[8];
	unsigned n = g->nw < 8 ? g->nw : 8, started = 1;
	for (unsigned j = 0; j < n; j++) {
		fp[j].w = &s->ws[j];
		fp[j].from = j;
		fp[j].step = n;
		fp[j].bad = bad;
		fp[j].count = count;
	}
	for (unsigned j = 1; j < n; j++, started++)
		if (pthread_create(&fp[j].th, NULL, final_part, &fp[j]))
			break;
	for (unsigned j = started; j < n; j++) /* no thread: do its share here */
		final_part(&fp[j]);
	final_part(&fp[0]);
	for (unsigned j = 1; j < started; j++)
		pthread_join(fp[j].th, NULL);
	int r = 0;
	*rerr = 0;
	for (unsigned j = 0; j < n; j++) {
		if (fp[j].r)
			r = fp[j].r;
		if (fp[j].rerr && !*rerr)
			*rerr = fp[j].rerr;
	}
	return r;
}

/*
 * REPAIR: write the chunks whose records are marked in bad[] again, each
 * read back right after (tries 2..o->tries, as the per-chunk read-back
 * would have had them). Their bytes come from a second reader of the image
 * (uc_src_reopen) and are used only if they hash as they did the first time;
 * the held-back first chunk is still in memory and is repaired last (4).
 * 0, 2 when the image cannot be read again (a pipe), or -errno with t->e
 * filled (the target failed).
 */
static int repair(struct worker *w, const uint8_t *bad)
{
	struct tstate *s = w->ts;
	struct engine *g = s->g;
	struct uc_target *t = s->t;
	struct uc_src *src = NULL;
	struct uc_chunk c;
	struct ok_err e;
	int r = 0, first_bad = 0;
	size_t i = 0, others = 0;
	memset(&c, 0, sizeof(c));
	ok_err_clear(&e);
	for (size_t k = 0; k < g->nrec; k++) {
		if (!bad[k])
			continue;
		if (g->have_first && g->recs[k].index == g->first.index) {
			first_bad = 1;
			continue;
		}
		int seen = 0; /* count chunks, not records: at a chunk's first bad record */
		for (size_t j = k; j-- > 0 && g->recs[j].index == g->recs[k].index;)
			seen |= bad[j];
		others += !seen;
	}
	if (others && uc_src_reopen(g->src, &src, &e) < 0)
		return 2; /* a pipe: the final pass's verdict stands */
	if (others)
		r = uc_chunk_alloc(&c, g->o->chunk_bytes);
	while (r == 0 && others) {
		int n = uc_src_next(src, &c, &e);
		if (n <= 0) {
			r = n < 0
				? n
				: ok_err_at(&e, -EIO, NULL, OK_ERR_NOPOS, "the image ended early");
			break;
		}
		if (g->have_first && c.index == g->first.index)
			continue;
		while (i < g->nrec && g->recs[i].index < c.index)
			i++;
		int want = 0;
		for (size_t k = i; k < g->nrec && g->recs[k].index == c.index; k++)
			want |= bad[k];
		if (!want)
			continue;
		/* the same extents with the same bytes as the first time, or nothing */
		size_t k = i;
		for (uint32_t x = 0; x < c.next; x++, k++)
			if (k >= g->nrec || g->recs[k].index != c.index ||
			    g->recs[k].off != c.start + c.ext[x].off ||
			    g->recs[k].len != c.ext[x].len ||
			    !XXH128_isEqual(XXH3_128bits(c.buf + c.ext[x].off, c.ext[x].len),
					    g->recs[k].sum))
				break;
		if (k - i != c.next || (k < g->nrec && g->recs[k].index == c.index)) {
			r = ok_err_at(&e, -EIO, NULL, (long long)c.start,
				      "the image changed since it was read (block %llu)",
				      (unsigned long long)c.index);
			break;
		}
		others--;
		if ((r = chunk_try(w, &c, 2, 1)) < 0) {
			uc_chunk_free(&c);
			uc_src_close(src);
			return r; /* chunk_try failed the target with its message */
		}
	}
	uc_chunk_free(&c);
	uc_src_close(src);
	if (r < 0) {
		ok_err_at(&t->e, r, t->path, OK_ERR_NOPOS,
			  "the final verification found damaged blocks, and re-reading them from "
			  "%s failed: %s",
			  e.path[0] ? e.path : "the image", e.msg);
		return r;
	}
	if (first_bad)
		return chunk_try(w, &g->first, 2, 1);
	return 0;
}

/* The message for a final pass that found bad[] records: 1 differs, 2 read error. */
static int final_fail(struct tstate *s, const uint8_t *bad, int rerr, size_t nbad)
{
	struct engine *g = s->g;
	struct uc_target *t = s->t;
	size_t k = 0;
	while (k < g->nrec && !bad[k])
		k++;
	const struct rec *rc = &g->recs[k];
	if (bad[k] == 2)
		return ok_err_at(&t->e, rerr ? rerr : -EIO, t->path, (long long)rc->off,
				 "Read from device failed (final verification)");
	return ok_errc_at(&t->e, OK_CLASS_NEGATIVE, -EILSEQ, t->path, (long long)rc->off,
			  "Final verification failed on block %llu: the device no longer "
			  "holds what was written there (%zu range(s) differ; a fake-capacity "
			  "card that wraps around? try --probe)",
			  (unsigned long long)rc->index, nbad);
}

/*
 * FINAL: after every chunk (the first one too) was written and the device
 * flushed, read every written extent back (O_DIRECT, or BLKFLSBUF +
 * POSIX_FADV_DONTNEED) and compare its XXH3-128 with the image's. This is
 * the only read of the device unless --verify-chunks also read each chunk
 * back as it was written, and it catches what a read right after a write
 * cannot: a later chunk that landed on an earlier one (a fake card's
 * wrap-around). Damaged chunks (at most REPAIR_MAX of them) are repaired
 * (REPAIR), then everything is read once more: a repair can itself land on
 * another chunk. 0, or -EILSEQ / -errno with t->e filled.
 */
#define REPAIR_MAX 16 /* chunks; more is a bad or fake device, not a hiccup */
static int final_pass(struct worker *w)
{
	struct tstate *s = w->ts;
	struct engine *g = s->g;
	struct uc_target *t = s->t;
	uint8_t *bad = calloc(g->nrec ? g->nrec : 1, 1);
	if (!bad)
		return ok_err_at(&t->e, -ENOMEM, t->path, OK_ERR_NOPOS, "out of memory");
	int rerr, r = final_read(s, bad, !g->o->verify, &rerr);
	size_t nbad = 0, nchunks = 0;
	for (size_t k = 0; k < g->nrec; k++)
		if (bad[k]) {
			nbad++;
			nchunks +=
			    k == 0 || !bad[k - 1] || g->recs[k - 1].index != g->recs[k].index;
		}
	if (r == 0 && nbad && g->o->tries > 1 && nchunks <= REPAIR_MAX) {
		int rp = repair(w, bad);
		if (rp == 0) {
			r = final_read(s, bad, 0, &rerr);
			nbad = 0;
			for (size_t k = 0; r == 0 && k < g->nrec; k++)
				nbad += bad[k] != 0;
		} else if (rp < 0) {
			r = rp == -EINTR ? -EINTR : 1; /* t->e says why */
		}
	}
	if (r == -EINTR)
		r = ok_err_at(&t->e, -EINTR, t->path, OK_ERR_NOPOS,
			      "interrupted during the final verification");
	else if (r == 1)
		r = t->e.err ? t->e.err : -EIO;
	else if (nbad)
		r = final_fail(s, bad, rerr, nbad);
	free(bad);
	return r;
}

/*
 * Zero [off, off + len) of a block device and flush: BLKZEROOUT, else
 * writes from the tail chunk's buffer (zeros). 0 or -errno.
 */
static int wipe(struct engine *g, struct uc_target *t, uint64_t off, uint64_t len)
{
	uint64_t range[2] = {off, len};
	if (len == 0)
		return 0;
	if (off % 4096 || len % 4096 || ioctl(t->fd, BLKZEROOUT, range) < 0) {
		uint64_t a = off / t->align * t->align, b = off + len;
		while (a < b) {
			uint64_t k = b - a < ZERO_TAIL_BYTES ? b - a : ZERO_TAIL_BYTES;
			ssize_t r = io_pwrite_full(t->fd, g->tail.buf, k, (off_t)a);
			if (r < 0)
				return (int)r;
			a += k;
		}
	}
	return io_fdatasync(t->fd);
}

/*
 * WIPE (before anything else is written, as rpi-imager does): zero the
 * first and the last MiB of a block device - the MBR, the GPT and its backup
 * header and entries at the end - so a write that is interrupted, fails or
 * is refused by the final pass leaves a blank stick, not a damaged copy of
 * its former self that sfdisk, blkid and the firmware still believe.
 */
static int wipe_ends(struct engine *g, struct uc_target *t)
{
	if (!t->is_blk)
		return 0;
	uint64_t head = t->size_bytes < WIPE_BYTES ? t->size_bytes : WIPE_BYTES;
	uint64_t tail = t->size_bytes > WIPE_BYTES ? t->size_bytes - WIPE_BYTES : 0;
	if (tail < head)
		tail = head;
	int r = wipe(g, t, 0, head);
	if (r == 0)
		r = wipe(g, t, tail, t->size_bytes - tail);
	if (r < 0)
		ok_err_at(&t->e, r, t->path, OK_ERR_NOPOS,
			  "cannot zero the first and last MiB before writing");
	return r;
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
		} else if (g->o->final_verify && (r = final_pass(w)) < 0) {
			/* (7): the stick does not hold the image: make it blank (a
			 * file target: its first MiB, where the first chunk went) */
			struct ok_err keep = t->e;
			if (t->is_blk)
				wipe_ends(g, t);
			else
				wipe(g, t, 0,
				     g->image_end < WIPE_BYTES ? g->image_end : WIPE_BYTES);
			t->e = keep;
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

/* Remember c's extents and their digests for the final pass (reader only). */
static int record(struct engine *g, const struct uc_chunk *c)
{
	if (!g->o->final_verify)
		return 0;
	for (uint32_t i = 0; i < c->next; i++) {
		if (g->nrec == g->rec_cap) {
			size_t cap = g->rec_cap ? 2 * g->rec_cap : 256;
			struct rec *r = realloc(g->recs, cap * sizeof(*r));
			if (!r)
				return -ENOMEM;
			g->recs = r;
			g->rec_cap = cap;
		}
		struct rec *r = &g->recs[g->nrec++];
		r->off = c->start + c->ext[i].off;
		r->len = c->ext[i].len;
		r->index = c->index;
		r->sum = XXH3_128bits(c->buf + c->ext[i].off, c->ext[i].len);
	}
	return 0;
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
	g->src = src;
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
		ts[i].ws = &ws[i * nw];
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
			w->vbuf = uc_buf_alloc(bb);
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
	if (r > 0 && record(g, &g->first) < 0) {
		r = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	r = 0;
	/* WIPE: every block device gets blank ends before the first write */
	for (size_t i = 0; i < nt; i++)
		if (wipe_ends(g, &t[i]) < 0) {
			t[i].err = t[i].e.err ? t[i].e.err : -EIO; /* EBUSY too */
			ts[i].dead = 1; /* (5): its workers only pass chunks on */
			g->dead++;
		}
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
		if (n > 0 && record(g, &sl->c) < 0)
			n = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
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
	free(g->recs);
	pthread_cond_destroy(&g->cv_fill);
	pthread_cond_destroy(&g->cv_free);
	pthread_mutex_destroy(&g->mu);
	free(ws);
	free(ts);
	free(g);
	return r;
}

/* ---------------------------------------------------------------- fake-capacity probe */

/*
 * The probe follows f3probe (github.com/AltraMayor/f3, src/libprobe.c):
 * every probe block is signed - it carries a magic, this run's salt and its
 * own offset, then a pattern drawn from both - so a block read back tells
 * whether it is the one written there, another probe block (aliasing: the
 * card wraps around) or neither (the write was dropped).
 *   1. a reference block at 4 KiB is written and read back;
 *   2. wrap-around (f3's find_wrap): read, without writing, the blocks at
 *      reference + 2^k for every k up to the advertised size; the first that
 *      returns the reference block is the real capacity 2^k;
 *   3. dropped writes (f3's sampling): 64 signed blocks spread evenly, plus
 *      the last block, written and read back; the leftmost that fails is
 *      bisected against the highest good one below it, one signed block a
 *      step, down to one block: the real capacity. A sample that reads
 *      another sample's signature is wrap-around at any size.
 * About 100 blocks are written; every one is saved first and restored (in
 * reverse order, so aliased blocks end up as they were). A stop request
 * (SIGINT) is honoured between steps, with the restore.
 */
#define PROBE_BLK     4096u
#define PROBE_SAMPLES 64
#define PROBE_SAVE    256

struct probe {
	struct uc_target *t;
	uint64_t salt;
	uint64_t nblk;		       /* advertised size in blocks */
	uint8_t *buf, *back;	       /* one block each */
	uint8_t *saved;		       /* PROBE_SAVE blocks */
	uint64_t saved_at[PROBE_SAVE]; /* their block numbers */
	int nsaved;
	struct ok_err *e;
};

/* The signed block for block number p. */
static void probe_sign(const struct probe *pb, uint64_t p, uint8_t *blk)
{
	uint64_t v = pb->salt ^ (p * 0x9e3779b97f4a7c15ULL);
	memcpy(blk, "usbcopyP", 8);
	memcpy(blk + 8, &pb->salt, 8);
	memcpy(blk + 16, &p, 8);
	for (uint32_t k = 24; k + 8 <= PROBE_BLK; k += 8) {
		v = v * 6364136223846793005ULL + 1442695040888963407ULL;
		memcpy(blk + k, &v, 8);
	}
}

/* Read block p bypassing the page cache. 0 or -errno (e filled). */
static int probe_read(struct probe *pb, uint64_t p, uint8_t *blk)
{
	struct uc_target *t = pb->t;
	off_t off = (off_t)(p * PROBE_BLK);
	if (!t->direct)
		posix_fadvise(t->fd, off, PROBE_BLK, POSIX_FADV_DONTNEED);
	ssize_t n = io_pread_full(t->fd, blk, PROBE_BLK, off);
	if (n != PROBE_BLK)
		return ok_err_at(pb->e, n < 0 ? (int)n : -EIO, t->path, (long long)off,
				 "cannot read (probe)");
	return 0;
}

/* What block p holds now: 1 its own signature, 0 something else (*other set
 * to the probe block whose signature it holds, or UINT64_MAX), or -errno. */
static int probe_check(struct probe *pb, uint64_t p, uint64_t *other)
{
	int r = probe_read(pb, p, pb->back);
	if (r < 0)
		return r;
	probe_sign(pb, p, pb->buf);
	if (!memcmp(pb->back, pb->buf, PROBE_BLK))
		return 1;
	uint64_t q = UINT64_MAX;
	if (!memcmp(pb->back, "usbcopyP", 8) && !memcmp(pb->back + 8, &pb->salt, 8)) {
		memcpy(&q, pb->back + 16, 8);
		probe_sign(pb, q, pb->buf);
		if (q >= pb->nblk || memcmp(pb->back, pb->buf, PROBE_BLK))
			q = UINT64_MAX;
	}
	*other = q;
	return 0;
}

/* Save block p (once), then write its signature and flush. 0 or -errno. */
static int probe_write(struct probe *pb, uint64_t p)
{
	struct uc_target *t = pb->t;
	int r;
	if (pb->nsaved == PROBE_SAVE)
		BUG("probe wrote more than %d blocks", PROBE_SAVE);
	if ((r = probe_read(pb, p, pb->saved + (size_t)pb->nsaved * PROBE_BLK)) < 0)
		return r;
	pb->saved_at[pb->nsaved++] = p;
	probe_sign(pb, p, pb->buf);
	ssize_t n = io_pwrite_full(t->fd, pb->buf, PROBE_BLK, (off_t)(p * PROBE_BLK));
	if (n != PROBE_BLK)
		return ok_err_at(pb->e, n < 0 ? (int)n : -EIO, t->path, (long long)(p * PROBE_BLK),
				 "cannot write probe block");
	if ((r = io_fdatasync(t->fd)) < 0)
		return ok_err_at(pb->e, r, t->path, OK_ERR_NOPOS, "cannot flush (probe)");
	return 0;
}

/* Put every saved block back, last saved first. 0 or the first -errno. */
static int probe_restore(struct probe *pb)
{
	int r = 0;
	for (int i = pb->nsaved; i-- > 0;) {
		ssize_t n = io_pwrite_full(pb->t->fd, pb->saved + (size_t)i * PROBE_BLK, PROBE_BLK,
					   (off_t)(pb->saved_at[i] * PROBE_BLK));
		if (n != PROBE_BLK && r == 0)
			r = n < 0 ? (int)n : -EIO;
	}
	int f = io_fdatasync(pb->t->fd);
	return r ? r : f;
}

/* The probe's steps 1-3; fills res. 0 or -errno. */
static int probe_run(struct probe *pb, struct uc_probe_result *res, volatile int *stop)
{
	const uint64_t good = 1, n = pb->nblk;
	uint64_t other;
	int r;
#define STOP_CHECK                                                                                 \
	do {                                                                                       \
		if (stop && *stop)                                                                 \
			return -EINTR; /* uc_probe says so once the blocks are back */             \
	} while (0)
	/* 1 */
	if ((r = probe_write(pb, good)) < 0 || (r = probe_check(pb, good, &other)) < 0)
		return r;
	if (r == 0) {
		res->fake = 1;
		res->real_bytes = 0;
		snprintf(res->kind, sizeof(res->kind), "damaged");
		return 0;
	}
	/* 2: reads only */
	for (uint64_t m = 2; m + good < n; m <<= 1) {
		STOP_CHECK;
		if ((r = probe_check(pb, m + good, &other)) < 0)
			return r;
		if (r == 0 && other == good) {
			res->fake = 1;
			res->real_bytes = m * PROBE_BLK;
			snprintf(res->kind, sizeof(res->kind), "wraparound");
			return 0;
		}
	}
	/* 3 */
	uint64_t smp[PROBE_SAMPLES + 1];
	int ns = 0;
	for (int i = 1; i <= PROBE_SAMPLES; i++) {
		uint64_t p = n * (uint64_t)i / PROBE_SAMPLES - 1;
		if (p > good && (!ns || p > smp[ns - 1]))
			smp[ns++] = p;
	}
	for (int i = 0; i < ns; i++) {
		STOP_CHECK;
		if ((r = probe_write(pb, smp[i])) < 0)
			return r;
	}
	uint64_t lo = good, hi = UINT64_MAX;
	for (int i = 0; i < ns && hi == UINT64_MAX; i++) {
		STOP_CHECK;
		if ((r = probe_check(pb, smp[i], &other)) < 0)
			return r;
		if (r == 1) {
			lo = smp[i];
			continue;
		}
		hi = smp[i];
		if (other != UINT64_MAX && other != hi) {
			/* two samples on one place: wrap-around at some size dividing
			 * their distance; the lower one is where the real part ends */
			res->fake = 1;
			res->real_bytes = (other > hi ? other - hi : hi - other) * PROBE_BLK;
			snprintf(res->kind, sizeof(res->kind), "wraparound");
			return 0;
		}
	}
	if (hi == UINT64_MAX) {
		res->fake = 0;
		res->real_bytes = n * PROBE_BLK;
		snprintf(res->kind, sizeof(res->kind), "good");
		return 0;
	}
	while (hi - lo > 1) { /* lo holds data, hi does not */
		STOP_CHECK;
		uint64_t mid = lo + (hi - lo) / 2;
		if ((r = probe_write(pb, mid)) < 0 || (r = probe_check(pb, mid, &other)) < 0)
			return r;
		if (r == 1)
			lo = mid;
		else
			hi = mid;
	}
	res->fake = 1;
	res->real_bytes = hi * PROBE_BLK;
	snprintf(res->kind, sizeof(res->kind), "limbo");
	return 0;
#undef STOP_CHECK
}

int uc_probe(struct uc_target *t, struct uc_probe_result *res, volatile int *stop, struct ok_err *e)
{
	struct probe pb = {.t = t, .e = e};
	memset(res, 0, sizeof(*res));
	pb.nblk = t->size_bytes / PROBE_BLK;
	if (pb.nblk < 4)
		return ok_err_at(e, -EINVAL, t->path, OK_ERR_NOPOS, "too small to probe");
	pb.buf = io_alloc(PROBE_BLK);
	pb.back = io_alloc(PROBE_BLK);
	pb.saved = io_alloc((size_t)PROBE_SAVE * PROBE_BLK);
	int r;
	if (!pb.buf || !pb.back || !pb.saved) {
		r = ok_err_at(e, -ENOMEM, t->path, OK_ERR_NOPOS, "out of memory");
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		pb.salt =
		    ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
		r = probe_run(&pb, res, stop);
		int rr = probe_restore(&pb);
		/* the state of the device, reported only once it is known */
		if (r == -EINTR)
			r = rr < 0 ? ok_err_at(e, rr, t->path, OK_ERR_NOPOS,
					       "probe interrupted; %d probe block(s) could NOT be "
					       "restored, the device differs from what it held",
					       pb.nsaved)
				   : ok_err_at(e, -EINTR, t->path, OK_ERR_NOPOS,
					       "probe interrupted; the %d block(s) it wrote were "
					       "restored, the device is as it was",
					       pb.nsaved);
		if (r == 0 && rr < 0)
			r = ok_err_at(e, rr, t->path, OK_ERR_NOPOS,
				      "cannot restore the blocks the probe wrote");
		if (r == 0 && res->fake)
			snprintf(res->why, sizeof(res->why),
				 "Device is FAKE (%s): only %llu MB of the advertised %llu MB hold "
				 "data; the real capacity is %llu bytes",
				 res->kind, (unsigned long long)(res->real_bytes >> 20),
				 (unsigned long long)(t->size_bytes >> 20),
				 (unsigned long long)res->real_bytes);
	}
	io_free(pb.buf);
	io_free(pb.back);
	io_free(pb.saved);
	return r < 0 ? r : res->fake;
}
