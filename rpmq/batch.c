/*
 * batch.c: the headers of many packages with few system calls (io_uring).
 *
 * Querying thousands of small packages, rpmq spends most of its time in the
 * kernel: open, read and close, three system calls a package, each paying
 * the syscall entry and exit that cost about a microsecond in a virtual
 * machine. Here a window of packages goes through one io_uring instead:
 *
 *   rpm_batch_load:  enter 1: this window's opens (openat into io_uring
 *                             direct descriptors, slots of alternate
 *                             halves of the registered table, so that an
 *                             open replaces, and so closes, the file of
 *                             the window before last; or plain openat and
 *                             the previous window's closes where the
 *                             kernel has no sparse file tables, < 5.19)
 *                    enter 2: one read each of RPM_BATCH_AHEAD bytes at the
 *                             file position (offset -1)
 *   rpm_batch_open:  parse from the buffer; a header longer than the
 *                    buffer, or a short read on a pipe, is read on from
 *                    the same open file exactly as rpm_pkg_open_headers
 *                    does (rpm_pkg_read_ahead_from: reads through the
 *                    ring, waited for one at a time; with plain
 *                    descriptors read(2)); a plain descriptor's close is
 *                    queued.
 *   rpm_batch_end:   closes the direct descriptors and waits: left to the
 *                    ring's teardown they would outlive the process.
 *
 * Why direct descriptors: no entry in the process's descriptor table is
 * installed and closed for each package, and -j's workers no longer share
 * that table (its lock, and fget's reference counts once a process has
 * threads): 2,000 packages in two threads, bench/rpmq/floor.c's direct/t2
 * against uring/t2 in the same turns, 0.6 ms less wall and CPU (of 6.8 and
 * 10.2); rpmq -j 2 --scripts 8.79 -> 8.50 ms.
 * Why still two enters and not one linked chain open -> read -> close per
 * package (floor.c's link): it measured the same as two enters, and a
 * package whose headers outgrow the buffer needs its file after the read.
 * Why no registered (fixed) buffers: they are pinned, so RSS would grow by
 * the whole window's buffers (4 MiB) where unpinned buffers only cost the
 * pages a read touches, and for page-cache reads they save no copy.
 *
 * Fallback, never failure: a ring that cannot be set up (ENOSYS, EPERM from
 * seccomp, kernel.io_uring_disabled, no IORING_FEAT_RW_CUR_POS before
 * Linux 5.6) makes rpm_batch_new return NULL; a package whose open or read
 * fails in the ring (EMFILE, EINVAL from an old kernel, anything) or a ring
 * error mid-window sends that package to rpm_pkg_open_headers, whose
 * result and message are the reference.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpmq.h"

/* user_data: the operation in the high half, the package in the low. */
enum batch_op { OP_OPEN = 1, OP_READ = 2, OP_CLOSE = 3 };
#define TAG(op, i) ((uint64_t)(op) << 32 | (uint32_t)(i))

/* A package the ring did not prepare: rpm_batch_open reads it itself. */
#define NOT_READ (-EAGAIN)

struct rpm_batch {
	struct io_uring ring;
	unsigned max;  /* packages a window */
	unsigned n;    /* packages in the current window */
	int dead;      /* the ring failed: everything goes the plain way */
	int ended;     /* rpm_batch_end ran: nothing more to submit */
	int direct;    /* direct descriptors: 2 * max slots registered */
	unsigned half; /* direct: this window's slots are half * max + i */
	uint8_t *used; /* direct: slot s holds a file (closed by rpm_batch_end) */
	uint8_t *bufs; /* max * RPM_BATCH_AHEAD bytes, package i at i * AHEAD */
	int *fd;       /* package i's descriptor, or a negative errno / NOT_READ */
	int *got;      /* bytes read ahead, or a negative errno / NOT_READ */
};

struct rpm_batch *rpm_batch_new(unsigned max)
{
	if (max == 0)
		return NULL;
	struct rpm_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->max = max;
	b->bufs = malloc((size_t)max * RPM_BATCH_AHEAD);
	b->fd = malloc(max * sizeof(*b->fd));
	b->got = malloc(max * sizeof(*b->got));
	b->used = calloc(2 * (size_t)max, 1);
	/* opens and the previous window's closes share a submission */
	unsigned entries = 2 * max;
	struct io_uring_params pr = {.flags =
					 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	int rc = -ENOMEM;
	if (b->bufs && b->fd && b->got && b->used) {
		rc = io_uring_queue_init_params(entries, &b->ring, &pr);
		if (rc == -EINVAL) { /* before Linux 6.1: no such flags */
			memset(&pr, 0, sizeof(pr));
			rc = io_uring_queue_init_params(entries, &b->ring, &pr);
		}
	}
	if (rc == 0 && !(pr.features & IORING_FEAT_RW_CUR_POS)) {
		io_uring_queue_exit(&b->ring);
		rc = -ENOSYS;
	}
	/* direct descriptors where the kernel has them (sparse tables: Linux
	 * 5.19); else plain ones */
	if (rc == 0 && io_uring_register_files_sparse(&b->ring, 2 * max) == 0)
		b->direct = 1;
	if (rc < 0) {
		free(b->bufs);
		free(b->fd);
		free(b->got);
		free(b->used);
		free(b);
		return NULL;
	}
	return b;
}

/* Submit what is queued and wait for need completions of kind op: their
 * results go into res[] by package index when res is given (the window's
 * opens and reads), else they are only counted (rpm_batch_end's closes);
 * CQEs of other kinds (earlier closes) are dropped. 0, or a negative errno
 * when the ring failed; then b is dead. */
static int batch_reap(struct rpm_batch *b, enum batch_op op, unsigned need, int *res)
{
	int rc;
	do
		rc = io_uring_submit_and_wait(&b->ring, need);
	while (rc == -EINTR);
	while (rc >= 0 && need > 0) {
		struct io_uring_cqe *cqe;
		rc = io_uring_wait_cqe(&b->ring, &cqe);
		if (rc == -EINTR) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		uint64_t tag = cqe->user_data;
		if (tag >> 32 == op && (!res || (uint32_t)tag < b->n)) {
			if (res)
				res[(uint32_t)tag] = cqe->res;
			need--;
		}
		io_uring_cqe_seen(&b->ring, cqe);
	}
	if (rc < 0)
		b->dead = 1;
	return rc < 0 ? rc : 0;
}

/* Queue the close of package i's descriptor (submitted with the next
 * window's opens, or by rpm_batch_free). */
static void batch_close(struct rpm_batch *b, unsigned i)
{
	if (b->fd[i] < 0)
		return;
	if (b->direct) {
		/* the slot is closed with the next window but one's open into it
		 * (rpm_batch_load), or by io_uring_queue_exit */
		b->fd[i] = NOT_READ;
		return;
	}
	struct io_uring_sqe *sqe = b->dead ? NULL : io_uring_get_sqe(&b->ring);
	if (sqe) {
		io_uring_prep_close(sqe, b->fd[i]);
		io_uring_sqe_set_data64(sqe, TAG(OP_CLOSE, i));
	} else {
		close(b->fd[i]);
	}
	b->fd[i] = NOT_READ;
}

void rpm_batch_load(struct rpm_batch *b, char *const *paths, unsigned n)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->n; i++) /* packages nobody opened */
		batch_close(b, i);
	b->n = n > b->max ? b->max : n;
	b->half ^= 1; /* direct: the other half of the slots */
	unsigned opens = 0;
	for (unsigned i = 0; i < b->n; i++) {
		b->fd[i] = b->got[i] = NOT_READ;
		if (b->dead || strcmp(paths[i], "-") == 0)
			continue;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		if (!sqe) /* full of closes: cannot happen with 2 * max entries */
			continue;
		if (b->direct) /* no O_CLOEXEC: no descriptor table, EINVAL */
			io_uring_prep_openat_direct(sqe, AT_FDCWD, paths[i], O_RDONLY, 0,
						    b->half * b->max + i);
		else
			io_uring_prep_openat(sqe, AT_FDCWD, paths[i], O_RDONLY | O_CLOEXEC, 0);
		io_uring_sqe_set_data64(sqe, TAG(OP_OPEN, i));
		opens++;
	}
	if (opens == 0 || batch_reap(b, OP_OPEN, opens, b->fd) < 0) {
		/* a dead ring may still hold opens it made: their
		 * descriptors are lost to us until exit, not reused */
		for (unsigned i = 0; i < b->n; i++)
			b->fd[i] = NOT_READ;
		return;
	}
	if (b->direct) /* an open into a slot completes with 0: the slot */
		for (unsigned i = 0; i < b->n; i++)
			if (b->fd[i] >= 0) {
				b->fd[i] = (int)(b->half * b->max + i);
				b->used[b->fd[i]] = 1;
			}
	unsigned reads = 0;
	for (unsigned i = 0; i < b->n; i++) {
		if (b->fd[i] < 0)
			continue;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		if (!sqe)
			continue;
		/* offset -1: at the file position, as read(2), so that a
		 * continuation reads on from where this read stopped */
		io_uring_prep_read(sqe, b->fd[i], b->bufs + (size_t)i * RPM_BATCH_AHEAD,
				   RPM_BATCH_AHEAD, (uint64_t)-1);
		if (b->direct)
			sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, TAG(OP_READ, i));
		reads++;
	}
	if (reads && batch_reap(b, OP_READ, reads, b->got) < 0) {
		/* reads may still land in the buffers: never use them again */
		for (unsigned i = 0; i < b->n; i++)
			if (b->fd[i] >= 0) {
				if (!b->direct)
					close(b->fd[i]);
				b->fd[i] = b->got[i] = NOT_READ;
			}
	}
}

/* A continuation read of a direct descriptor for rpm_pkg_read_ahead_from:
 * io_read_full's loop, each read through the ring (the descriptor is the
 * ring's alone) and waited for at once; the CQEs of other operations (none
 * is pending between windows) are dropped. */
struct more_ctx {
	struct rpm_batch *b;
	int slot;
};

static ssize_t batch_more(void *arg, void *dst, size_t n)
{
	struct more_ctx *m = arg;
	struct io_uring *r = &m->b->ring;
	size_t done = 0;
	while (done < n) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(r);
		if (!sqe) {
			io_uring_submit(r);
			sqe = io_uring_get_sqe(r);
			if (!sqe)
				return -EBUSY;
		}
		unsigned len = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
		io_uring_prep_read(sqe, m->slot, (char *)dst + done, len, (uint64_t)-1);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, TAG(OP_READ, UINT32_MAX));
		int res = 0, rc;
		do
			rc = io_uring_submit_and_wait(r, 1);
		while (rc == -EINTR);
		for (;;) {
			struct io_uring_cqe *cqe;
			rc = io_uring_wait_cqe(r, &cqe);
			if (rc == -EINTR)
				continue;
			if (rc < 0)
				return rc;
			uint64_t tag = cqe->user_data;
			res = cqe->res;
			io_uring_cqe_seen(r, cqe);
			if (tag == TAG(OP_READ, UINT32_MAX))
				break;
		}
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res < 0)
			return res;
		if (res == 0)
			break;
		done += (size_t)res;
	}
	return (ssize_t)done;
}

int rpm_batch_open(struct rpm_batch *b, unsigned i, const char *path, struct rpm_pkg *p,
		   struct ok_err *e)
{
	if (!b || i >= b->n || b->fd[i] < 0 || b->got[i] < 0) {
		if (b && !b->direct && i < b->n && (b->fd[i] == -EMFILE || b->fd[i] == -ENFILE)) {
			/* the window's own descriptors used up the limit: give
			 * them back, so that the plain open below and those of
			 * the packages after this one fail only where one open
			 * file at a time would */
			for (unsigned j = i; j < b->n; j++)
				if (b->fd[j] >= 0) {
					close(b->fd[j]);
					b->fd[j] = NOT_READ;
				}
			if (!b->dead)
				io_uring_submit(&b->ring); /* the closes queued */
		}
		if (b && i < b->n)
			batch_close(b, i);
		return rpm_pkg_open_headers(p, path, e);
	}
	/* the buffer is not reused before the next window: the headers are
	 * parsed in place, no 7 KiB copy and allocation a package */
	const uint8_t *ahead = b->bufs + (size_t)i * RPM_BATCH_AHEAD;
	int rc;
	if (b->direct) {
		struct more_ctx m = {b, b->fd[i]};
		rc = rpm_pkg_read_ahead_from(p, batch_more, &m, path, ahead, b->got[i], e);
	} else {
		rc = rpm_pkg_read_ahead_borrowed(p, b->fd[i], path, ahead, b->got[i], e);
	}
	batch_close(b, i);
	return rc;
}

void rpm_batch_end(struct rpm_batch *b)
{
	if (!b || b->ended)
		return;
	for (unsigned i = 0; i < b->n; i++)
		batch_close(b, i);
	b->n = 0;
	/* Direct descriptors are closed here and waited for: left to the
	 * ring's teardown, which the kernel runs after the process exits, a
	 * package file would stay open past rpmq's exit (a FIFO's writer would
	 * see its reader still there; an unmount right after, EBUSY). */
	unsigned closes = 0;
	for (unsigned s = 0; b->direct && !b->dead && s < 2 * b->max; s++) {
		struct io_uring_sqe *sqe = b->used[s] ? io_uring_get_sqe(&b->ring) : NULL;
		if (!sqe && b->used[s]) {
			io_uring_submit(&b->ring);
			sqe = io_uring_get_sqe(&b->ring);
		}
		if (!sqe)
			continue;
		io_uring_prep_close_direct(sqe, s);
		io_uring_sqe_set_data64(sqe, TAG(OP_CLOSE, s));
		b->used[s] = 0;
		closes++;
	}
	if (!b->dead)
		(void)batch_reap(b, OP_CLOSE, closes, NULL);
	b->ended = 1;
}

void rpm_batch_free(struct rpm_batch *b)
{
	if (!b)
		return;
	rpm_batch_end(b);
	/* exit waits for what is in flight, so the buffers are free to go */
	io_uring_queue_exit(&b->ring);
	free(b->bufs);
	free(b->fd);
	free(b->got);
	free(b->used);
	free(b);
}
