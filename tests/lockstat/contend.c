/*
 * contend.c: a lock-contention generator for lockstat's live test. Threads
 * map and unmap memory in one process, so they contend for its mmap_lock
 * (an rwsem: writers in munmap, readers in page faults). Also the fixed
 * workload of bench/lockstat/run when given an iteration count.
 * usage: contend [threads] [milliseconds]     run for a time
 *        contend threads 0 iterations [pty]   each thread does a fixed amount
 * With "pty" the threads instead read one pseudo-terminal: n_tty_read holds
 * the tty's atomic_read_lock (a mutex) while it waits for input, so every
 * other reader sleeps on it; the main thread writes one byte per iteration
 * and waits for a reader's acknowledgement. Each byte is one contention
 * (the reader that got it comes back to a mutex another holds), without
 * needing two CPUs free at once: for the bench's per-event cost.
 * With CONTEND_TIDS set, each thread first prints "tid N" (its thread id)
 * on standard output: the live test checks --lock-owner's owners with it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static long iters;   /* per thread; 0 = until stop */
static int pty = -1; /* pty mode: the terminal side the threads read */
static int ack[2];   /* pty mode: a reader tells the writer it got a byte */

static void *worker(void *arg)
{
	(void)arg;
	char c;
	if (getenv("CONTEND_TIDS")) {
		/* one write per line: the threads' lines do not interleave */
		char line[32];
		int len = snprintf(line, sizeof(line), "tid %ld\n", (long)syscall(SYS_gettid));
		if (write(1, line, (size_t)len) != len)
			return NULL;
	}
	while (pty >= 0 && read(pty, &c, 1) == 1 && c != 'q')
		if (write(ack[1], "a", 1) != 1)
			break;
	for (long i = 0; pty < 0 && !stop && (!iters || i < iters); i++) {
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
	int master = -1;
	pthread_t t[64];
	if (n < 1 || n > 64)
		n = 4;
	if (argc > 4 && !strcmp(argv[4], "pty")) {
		struct termios tio;
		if ((master = posix_openpt(O_RDWR | O_NOCTTY)) < 0 || grantpt(master) ||
		    unlockpt(master) || (pty = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0 ||
		    tcgetattr(pty, &tio) || pipe(ack))
			return 1;
		cfmakeraw(&tio);
		tcsetattr(pty, TCSANOW, &tio);
	}
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (long i = 0; master >= 0 && i < iters; i++) {
		char c;
		if (write(master, "x", 1) != 1 || read(ack[0], &c, 1) != 1)
			return 1;
	}
	for (int i = 0; master >= 0 && i < n; i++)
		if (write(master, "q", 1) != 1)
			return 1;
	if (!iters) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		stop = 1;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
