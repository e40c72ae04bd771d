/*
 * contend.c: a lock-contention generator for lockstat's live test. Threads
 * map and unmap memory in one process, so they contend for its mmap_lock
 * (an rwsem: writers in munmap, readers in page faults). Also the fixed
 * workload of bench/lockstat/run when given an iteration count.
 * usage: contend [threads] [milliseconds]     run for a time
 *        contend threads 0 iterations [FILE]  each thread does a fixed amount
 * With FILE the threads instead append one byte each to FILE (its inode's
 * i_rwsem): little work per lock, so many contentions per CPU second, for
 * the bench's per-event cost.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static long iters;	  /* per thread; 0 = until stop */
static int fd = -1;	  /* FILE mode: the shared file */
static char buf[1 << 16]; /* FILE mode: written at offset 0 each time */

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; fd >= 0 && !stop && (!iters || i < iters); i++)
		if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			break;
	for (long i = 0; fd < 0 && !stop && (!iters || i < iters); i++) {
		char *p =
		    mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			continue;
		memset(p, 1, 1 << 16);
		munmap(p, 1 << 16);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	long ms = argc > 2 ? atol(argv[2]) : 1000;
	iters = argc > 3 ? atol(argv[3]) : 0;
	if (argc > 4 && (fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return 1;
	pthread_t t[64];
	if (n < 1 || n > 64)
		n = 4;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	if (!iters) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		stop = 1;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
