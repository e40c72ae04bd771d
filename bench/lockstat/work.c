/* work.c: a fixed amount of lock-contending work for lockstat's benchmark:
 * THREADS threads each map, touch and unmap 64 KiB ITERS times (mmap_lock). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static long iters;

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < iters; i++) {
		char *p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
	iters = argc > 2 ? atol(argv[2]) : 20000;
	pthread_t t[64];
	if (n < 1 || n > 64)
		n = 4;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
