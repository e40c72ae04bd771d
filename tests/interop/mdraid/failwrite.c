/*
 * failwrite.c: an LD_PRELOAD shim for the write-fault interop test. Every
 * pwrite (pwrite64) to the file named by FAILWRITE_PATH fails
 * with EIO once FAILWRITE_AFTER (default 0) writes to it have gone through,
 * as a disk that dies under a running write would. It stands in for a
 * failing disk because mdraid's own fault injection (lib/io.h's io_sys
 * table) is reachable only from the unit tests, not from the command.
 */
/* pwrite and pwrite64 are two symbols here (the build's
 * _FILE_OFFSET_BITS=64 would make every pwrite declaration pwrite64) */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static long done_writes;

/* Is fd the file FAILWRITE_PATH names, and is it time to fail? */
static int should_fail(int fd)
{
	const char *want = getenv("FAILWRITE_PATH");
	struct stat a, b;
	if (!want || fstat(fd, &a) < 0 || stat(want, &b) < 0)
		return 0;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	const char *after = getenv("FAILWRITE_AFTER");
	long limit = after ? atol(after) : 0;
	if (__atomic_fetch_add(&done_writes, 1, __ATOMIC_SEQ_CST) < limit)
		return 0;
	return 1;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off64_t);
	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
	if (should_fail(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, (off64_t)off);
}
