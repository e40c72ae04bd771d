/*
 * batch.c: the headers of many packages with few system calls (io_uring).
 *
 * Querying thousands of small packages, rpmq spends most of its time in the
 * kernel: open, read and close, three system calls a package, each paying
 * the syscall entry and exit that cost about a microsecond in a virtual
 * machine. Here a window of packages goes through one io_uring instead:
 *
 *   rpm_batch_load:  enter 1: the previous window's closes + this window's
 *                             opens (openat, plain descriptors)
 *                    enter 2: one read each of RPM_BATCH_AHEAD bytes at the
 *                             file position (offset -1)
 *   rpm_batch_open:  parse from the buffer; a header longer than the
 *                    buffer, or a short read on a pipe, is read on from
 *                    the descriptor exactly as rpm_pkg_open_headers does
 *                    (rpm_pkg_read_ahead); the close is queued.
 *
 * Why plain descriptors and two enters rather than one linked chain of
 * direct (fixed) descriptors: the read-ahead must be continued from the
 * same open file when the headers are longer than the buffer or the file
 * is a pipe, and only a plain descriptor can be read synchronously; one
 * more io_uring_enter per window of 64 is 0.02 syscalls a package.
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
	/* opens and the previous window's closes share a submission */
	unsigned entries = 2 * max;
	struct io_uring_params pr = {.flags =
					 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	int rc = -ENOMEM;
	if (b->bufs && b->fd && b->got) {
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
	if (rc < 0) {
		free(b->bufs);
		free(b->fd);
		free(b->got);
		free(b);
		return NULL;
	}
	return b;
}

/* Submit what is queued and collect the results of the window's op
 * operations into res[] (CQEs of earlier closes are dropped). 0, or a
 * negative errno when the ring failed; then b is dead. */
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
		if (tag >> 32 == op && (uint32_t)tag < b->n) {
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
	unsigned opens = 0;
	for (unsigned i = 0; i < b->n; i++) {
		b->fd[i] = b->got[i] = NOT_READ;
		if (b->dead || strcmp(paths[i], "-") == 0)
			continue;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		if (!sqe) /* full of closes: cannot happen with 2 * max entries */
			continue;
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
		io_uring_sqe_set_data64(sqe, TAG(OP_READ, i));
		reads++;
	}
	if (reads && batch_reap(b, OP_READ, reads, b->got) < 0) {
		/* reads may still land in the buffers: never use them again */
		for (unsigned i = 0; i < b->n; i++)
			if (b->fd[i] >= 0) {
				close(b->fd[i]);
				b->fd[i] = b->got[i] = NOT_READ;
			}
	}
}

int rpm_batch_open(struct rpm_batch *b, unsigned i, const char *path, struct rpm_pkg *p,
		   struct ok_err *e)
{
	if (!b || i >= b->n || b->fd[i] < 0 || b->got[i] < 0) {
		if (b && i < b->n && (b->fd[i] == -EMFILE || b->fd[i] == -ENFILE)) {
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
	int rc = rpm_pkg_read_ahead_borrowed(p, b->fd[i], path,
					     b->bufs + (size_t)i * RPM_BATCH_AHEAD, b->got[i], e);
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
	if (!b->dead)
		io_uring_submit(&b->ring);
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
	free(b);
}
