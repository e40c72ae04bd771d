/*
 * floor.c: what any query of many package files pays the kernel and
 * nothing more: open, one read of the first 64 KiB (the lead and headers
 * of a small package) and close, for each FILE, printing nothing. The
 * bench (bench/rpmq/run) measures it in the same turns as rpm and rpmq:
 * rpmq's CPU time above it is its own parsing and printing, and rpm's CPU
 * time over it bounds the ratio any reader could reach.
 *
 * usage: rpmq-floor IO[/t2|/p2][,at][,noatime][,r=BYTES] FILE...
 *   sync   open(2), read(2), close(2) per file (rpmq's RPMQ_IO=sync)
 *   uring  rpmq/batch.c's pattern: a window of 64 files, their openats
 *          (with the previous window's closes) in one io_uring_enter,
 *          their reads in a second
 *   direct the same with io_uring direct descriptors (Linux 5.15,
 *          io_uring_prep_openat_direct with IORING_FILE_INDEX_ALLOC, reads
 *          with IOSQE_FIXED_FILE, io_uring_prep_close_direct): no file
 *          descriptor table entry is installed or closed
 *   link   direct descriptors in fixed slots, so that a file's open, read
 *          and close are one linked chain (IOSQE_IO_LINK) and a window is
 *          one io_uring_enter
 *   mmap   open, mmap of the first BYTES with MAP_POPULATE, close, one
 *          load a page, munmap: no copy to user space
 *   none   nothing: exec, start-up and exit alone (the fixed cost)
 *   /t2    two threads, each taking every other window of 64 files (rpmq
 *          -j 2's chunks), with a ring each; /p2: two processes (fork),
 *          so that each has its own descriptor table and memory map
 *   at     open relative to a descriptor of the files' directory (when
 *          they share one), the name alone, instead of the whole path
 *   noatime  O_NOATIME (the file's owner or CAP_FOWNER only)
 *   r=BYTES  the read's size (default 65536)
 * sync2 is sync/t2 (the name the bench has used).
 */
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define AHEAD  65536
#define WINDOW 64

enum io { IO_SYNC, IO_URING, IO_DIRECT, IO_LINK, IO_MMAP, IO_NONE };

struct part {
	char **files;	 /* argv + 2 */
	int n;		 /* files in all */
	int part, parts; /* this worker takes windows w with w % parts == part */
	enum io io;
	int dirfd;     /* AT_FDCWD, or the directory of every file (at) */
	int oflags;    /* open(2) flags */
	unsigned size; /* bytes read a file */
	int failed;
	char (*buf)[AHEAD]; /* WINDOW buffers */
};

/* The name to open relative to p->dirfd: the whole path, or its last
 * component when the files' directory is open (at). */
static const char *name(const struct part *p, int i)
{
	if (p->dirfd == AT_FDCWD)
		return p->files[i];
	const char *s = strrchr(p->files[i], '/');
	return s ? s + 1 : p->files[i];
}

/* Whether file i is in this worker's windows. */
static int mine(const struct part *p, int i)
{
	return (i / WINDOW) % p->parts == p->part;
}

/* Open, read p->size bytes of and close each file of p's part, in order,
 * with plain system calls (or mmap instead of read). */
static void run_sync(struct part *p)
{
	for (int i = 0; i < p->n; i++) {
		if (!mine(p, i))
			continue;
		int fd = openat(p->dirfd, name(p, i), p->oflags);
		if (fd < 0) {
			p->failed = 1;
			continue;
		}
		if (p->io == IO_MMAP) {
			volatile char *m =
			    mmap(NULL, p->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
			close(fd);
			if (m == MAP_FAILED) {
				p->failed = 1;
				continue;
			}
			for (unsigned o = 0; o < p->size && o < 7000; o += 4096)
				(void)m[o]; /* the header's pages, as a parser would */
			munmap((void *)m, p->size);
			continue;
		}
		if (read(fd, p->buf[0], p->size) < 0)
			p->failed = 1;
		close(fd);
	}
}

/* Submit what is queued, wait for need completions of kind op (the high
 * half of user_data), storing their results by index; others dropped.
 * Op 0: need completions of any kind, -1 if one of them failed. */
static int reap(struct io_uring *r, unsigned op, unsigned need, int *res)
{
	int rc = 0;
	io_uring_submit_and_wait(r, need);
	while (need > 0) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(r, &cqe) < 0)
			return -1;
		if (op == 0) {
			rc |= cqe->res < 0 ? -1 : 0;
			need--;
		} else if (cqe->user_data >> 32 == op) {
			res[(uint32_t)cqe->user_data] = cqe->res;
			need--;
		}
		io_uring_cqe_seen(r, cqe);
	}
	return rc;
}

/* The io_uring variants over p's windows: uring (plain descriptors, two
 * enters a window), direct (allocated direct descriptors, two enters) and
 * link (fixed slots, one linked chain a file, one enter a window). */
static void run_uring(struct part *p)
{
	struct io_uring r;
	struct io_uring_params pr = {.flags =
					 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	if (io_uring_queue_init_params(4 * WINDOW, &r, &pr) < 0) {
		p->failed = 77;
		return;
	}
	/* direct: a window's opens may run before the previous window's
	 * closes in the same submission, so two windows of slots */
	if (p->io != IO_URING && io_uring_register_files_sparse(&r, 2 * WINDOW) < 0) {
		p->failed = 77;
		io_uring_queue_exit(&r);
		return;
	}
	/* a direct descriptor is in no descriptor table: O_CLOEXEC is EINVAL */
	int oflags = p->io == IO_URING ? p->oflags : p->oflags & ~O_CLOEXEC;
	int fd[WINDOW], got[WINDOW], prev = 0;
	for (int first = 0; first < p->n; first += WINDOW) {
		if (!mine(p, first))
			continue;
		int n = p->n - first < WINDOW ? p->n - first : WINDOW;
		if (p->io == IO_LINK) {
			for (int i = 0; i < n; i++) {
				struct io_uring_sqe *s = io_uring_get_sqe(&r);
				io_uring_prep_openat_direct(s, p->dirfd, name(p, first + i), oflags,
							    0, (unsigned)i);
				s->flags |= IOSQE_IO_LINK;
				io_uring_sqe_set_data64(s, 1ull << 32 | (unsigned)i);
				s = io_uring_get_sqe(&r);
				io_uring_prep_read(s, i, p->buf[i], p->size, 0);
				/* a short read (the whole file) would break a
				 * plain link and cancel the close */
				s->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
				io_uring_sqe_set_data64(s, 2ull << 32 | (unsigned)i);
				s = io_uring_get_sqe(&r);
				io_uring_prep_close_direct(s, (unsigned)i);
				io_uring_sqe_set_data64(s, 3ull << 32 | (unsigned)i);
			}
			if (reap(&r, 0, 3 * (unsigned)n, NULL) < 0)
				p->failed = 1;
			continue;
		}
		for (int i = 0; i < prev; i++) { /* the previous window's closes */
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			if (p->io == IO_DIRECT)
				io_uring_prep_close_direct(s, (unsigned)fd[i]);
			else
				io_uring_prep_close(s, fd[i]);
			io_uring_sqe_set_data64(s, 3ull << 32);
		}
		for (int i = 0; i < n; i++) {
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			if (p->io == IO_DIRECT) /* liburing 2.3 adds 1 to the index */
				io_uring_prep_openat_direct(s, p->dirfd, name(p, first + i), oflags,
							    0, IORING_FILE_INDEX_ALLOC - 1);
			else
				io_uring_prep_openat(s, p->dirfd, name(p, first + i), oflags, 0);
			io_uring_sqe_set_data64(s, 1ull << 32 | (unsigned)i);
		}
		if (reap(&r, 1, (unsigned)n, fd) < 0) {
			p->failed = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (fd[i] < 0) {
				p->failed = 1;
				break;
			}
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			io_uring_prep_read(s, fd[i], p->buf[i], p->size, (uint64_t)-1);
			if (p->io == IO_DIRECT)
				s->flags |= IOSQE_FIXED_FILE;
			io_uring_sqe_set_data64(s, 2ull << 32 | (unsigned)i);
		}
		if (p->failed || reap(&r, 2, (unsigned)n, got) < 0) {
			p->failed = 1;
			break;
		}
		prev = n;
	}
	if (p->io == IO_URING)
		for (int i = 0; i < prev; i++)
			close(fd[i]);
	io_uring_queue_exit(&r); /* drops the direct descriptors */
}

/* One worker: its part of the files by p->io. */
static void *run(void *arg)
{
	struct part *p = arg;
	if (p->io == IO_SYNC || p->io == IO_MMAP)
		run_sync(p);
	else if (p->io != IO_NONE)
		run_uring(p);
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"sync", "uring", "direct", "link", "mmap", "none"};
	char *spec = argc >= 2 ? argv[1] : "";
	if (strcmp(spec, "sync2") == 0)
		spec = "sync/t2";
	char *opt = strchr(spec, ',');
	size_t len = opt ? (size_t)(opt - spec) : strlen(spec);
	int threads = 0, procs = 0;
	if (len > 3 && strncmp(spec + len - 3, "/t2", 3) == 0)
		threads = 1, len -= 3;
	else if (len > 3 && strncmp(spec + len - 3, "/p2", 3) == 0)
		procs = 1, len -= 3;
	int io = -1;
	for (int k = 0; k < (int)(sizeof(names) / sizeof(*names)); k++)
		if (strlen(names[k]) == len && strncmp(spec, names[k], len) == 0)
			io = k;
	struct part all = {argv + 2, argc - 2, 0,   1, io, AT_FDCWD, O_RDONLY | O_CLOEXEC,
			   AHEAD,    0,	       NULL};
	for (char *o = opt ? strtok(opt + 1, ",") : NULL; o; o = strtok(NULL, ",")) {
		if (strcmp(o, "noatime") == 0)
			all.oflags |= O_NOATIME;
		else if (strncmp(o, "r=", 2) == 0 && atoi(o + 2) > 0 && atoi(o + 2) <= AHEAD)
			all.size = (unsigned)atoi(o + 2);
		else if (strcmp(o, "at") == 0 && all.n > 0) {
			/* one directory for all, or the whole paths */
			const char *s = strrchr(all.files[0], '/');
			size_t d = s ? (size_t)(s - all.files[0]) : 0;
			int same = 1;
			for (int i = 0; i < all.n && same; i++)
				same = strncmp(all.files[i], all.files[0], d) == 0 &&
				       (d == 0 ? !strchr(all.files[i], '/')
					       : all.files[i][d] == '/' &&
						     !strchr(all.files[i] + d + 1, '/'));
			if (same) {
				char dir[4096];
				snprintf(dir, sizeof(dir), "%.*s", (int)d, d ? all.files[0] : ".");
				all.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (all.dirfd < 0)
					return 1;
			}
		} else
			io = -1;
	}
	if (io < 0) {
		fprintf(stderr, "usage: rpmq-floor sync|uring|direct|link|mmap|none[/t2|/p2]"
				"[,at][,noatime][,r=BYTES] FILE...\n");
		return 2;
	}
	static char buf[2][WINDOW][AHEAD];
	struct part h[2] = {all, all};
	h[0].buf = buf[0];
	h[1].buf = buf[1];
	if (threads || procs) {
		h[0].parts = h[1].parts = 2;
		h[1].part = 1;
	}
	if (threads) {
		pthread_t t;
		if (pthread_create(&t, NULL, run, &h[1]) != 0)
			return 1;
		run(&h[0]);
		pthread_join(t, NULL);
		return h[0].failed | h[1].failed;
	}
	if (procs) {
		pid_t c = fork();
		if (c < 0)
			return 1;
		if (c == 0) {
			run(&h[1]);
			_exit(h[1].failed);
		}
		run(&h[0]);
		int st;
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
			return 1;
		return h[0].failed | WEXITSTATUS(st);
	}
	run(&h[0]);
	return h[0].failed;
}
