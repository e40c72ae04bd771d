/*
 * floor.c: what any query of many package files pays the kernel and
 * nothing more: open, one read of the first 64 KiB (the lead and headers
 * of a small package) and close, for each FILE, printing nothing. The
 * bench (bench/rpmq/run) measures it in the same turns as rpm and rpmq:
 * rpmq's CPU time above it is its own parsing and printing, and rpm's CPU
 * time over it bounds the ratio any reader could reach.
 *
 * usage: rpmq-floor sync|sync2|uring FILE...
 *   sync   open(2), read(2), close(2) per file (rpmq's RPMQ_IO=sync)
 *   sync2  the same in two threads, each taking every other run of 64
 *          files (rpmq -j 2's chunks): the floor of two workers
 *   uring  rpmq/batch.c's pattern: a window of 64 files, their openats
 *          (with the previous window's closes) in one io_uring_enter,
 *          their reads in a second
 */
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AHEAD  65536
#define WINDOW 64

/* Submit what is queued, wait for need completions of kind op (the high
 * half of user_data), storing their results by index; others dropped. */
static void reap(struct io_uring *r, unsigned op, unsigned need, int *res)
{
	io_uring_submit_and_wait(r, need);
	while (need > 0) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(r, &cqe) < 0)
			exit(1);
		if (cqe->user_data >> 32 == op) {
			res[(uint32_t)cqe->user_data] = cqe->res;
			need--;
		}
		io_uring_cqe_seen(r, cqe);
	}
}

struct half {
	char **files; /* argv + 2 */
	int n, part;  /* files in all; which runs of WINDOW (0, 1; -1 all) */
	int failed;
	char *buf;
};

/* Open, read AHEAD bytes of and close each file of h's part, in order. */
static void *read_part(void *arg)
{
	struct half *h = arg;
	for (int i = 0; i < h->n; i++) {
		if (h->part >= 0 && (i / WINDOW) % 2 != h->part)
			continue;
		int fd = open(h->files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, h->buf, AHEAD) < 0)
			h->failed = 1;
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int sync = argc >= 2 && strcmp(argv[1], "sync") == 0;
	int sync2 = argc >= 2 && strcmp(argv[1], "sync2") == 0;
	if (argc < 2 || (!sync && !sync2 && strcmp(argv[1], "uring") != 0)) {
		fprintf(stderr, "usage: rpmq-floor sync|sync2|uring FILE...\n");
		return 2;
	}
	static char buf[WINDOW][AHEAD];
	if (sync) {
		struct half all = {argv + 2, argc - 2, -1, 0, buf[0]};
		read_part(&all);
		return all.failed;
	}
	if (sync2) {
		struct half h[2] = {{argv + 2, argc - 2, 0, 0, buf[0]},
				    {argv + 2, argc - 2, 1, 0, buf[1]}};
		pthread_t t;
		if (pthread_create(&t, NULL, read_part, &h[1]) != 0)
			return 1;
		read_part(&h[0]);
		pthread_join(t, NULL);
		return h[0].failed | h[1].failed;
	}
	struct io_uring r;
	struct io_uring_params pr = {.flags =
					 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	if (io_uring_queue_init_params(2 * WINDOW, &r, &pr) < 0)
		return 77;
	int fd[WINDOW], got[WINDOW], prev = 0;
	for (int first = 2; first < argc; first += WINDOW) {
		int n = argc - first < WINDOW ? argc - first : WINDOW;
		for (int i = 0; i < prev; i++) { /* the previous window's closes */
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			io_uring_prep_close(s, fd[i]);
			io_uring_sqe_set_data64(s, 3ull << 32);
		}
		for (int i = 0; i < n; i++) {
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			io_uring_prep_openat(s, AT_FDCWD, argv[first + i], O_RDONLY | O_CLOEXEC, 0);
			io_uring_sqe_set_data64(s, 1ull << 32 | (unsigned)i);
		}
		reap(&r, 1, (unsigned)n, fd);
		for (int i = 0; i < n; i++) {
			if (fd[i] < 0)
				return 1;
			struct io_uring_sqe *s = io_uring_get_sqe(&r);
			io_uring_prep_read(s, fd[i], buf[i], AHEAD, (uint64_t)-1);
			io_uring_sqe_set_data64(s, 2ull << 32 | (unsigned)i);
		}
		reap(&r, 2, (unsigned)n, got);
		prev = n;
	}
	for (int i = 0; i < prev; i++)
		close(fd[i]);
	io_uring_queue_exit(&r);
	return 0;
}
