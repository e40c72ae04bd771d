/*
 * failwrite.c: an LD_PRELOAD shim for the write-fault interop test. Every
 * pwrite (pwrite64) to the file named by FAILWRITE_PATH fails
 * with EIO once FAILWRITE_AFTER (default 0) writes to it have gone through,
 * as a disk that dies under a running write would. It stands in for a
 * failing disk because mdraid's own fault injection (lib/io.h's io_sys
 * table) is reachable only from the unit tests, not from the command.
 *
 * Unreadable sectors (the read-error tests): FAILREAD="FILE:BYTE[,FILE:BYTE]..."
 * makes each 4 KiB block at BYTE of FILE fail every pread/preadv that meets
 * it with EIO, as a medium error does. A pwrite that covers the whole block
 * heals it (the disk remaps the sector on write, as real disks do), unless
 * FAILREAD_STICKY=1: then writes that meet it fail with EIO too (a sector
 * the disk cannot remap).
 */
/* pwrite and pwrite64 are two symbols here (the build's
 * _FILE_OFFSET_BITS=64 would make every pwrite declaration pwrite64) */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
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

/* The FAILREAD blocks, parsed once. */
static struct bad_block {
	dev_t dev;
	ino_t ino;
	long long off; /* byte offset of the 4 KiB block */
	int healed;    /* written over (not with FAILREAD_STICKY) */
} bad[32];
static int nbad = -1;

static void parse_failread(void)
{
	int n = 0;
	const char *spec = getenv("FAILREAD");
	char buf[4096];
	if (spec && strlen(spec) < sizeof(buf)) {
		strcpy(buf, spec);
		for (char *save, *t = strtok_r(buf, ",", &save); t && n < 32;
		     t = strtok_r(NULL, ",", &save)) {
			char *colon = strrchr(t, ':');
			struct stat st;
			if (!colon)
				continue;
			*colon = 0;
			if (stat(t, &st) < 0)
				continue;
			bad[n] = (struct bad_block){st.st_dev, st.st_ino, atoll(colon + 1), 0};
			n++;
		}
	}
	__atomic_store_n(&nbad, n, __ATOMIC_SEQ_CST);
}

/* Does [off, off+n) of fd meet a bad block? write: heal the blocks it
 * covers whole (or, sticky, fail it). 1 if the call must fail. */
static int meets_bad(int fd, long long off, size_t n, int write)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct stat st;
	pthread_once(&once, parse_failread);
	if (nbad <= 0 || n == 0 || fstat(fd, &st) < 0)
		return 0;
	int fail = 0;
	for (int i = 0; i < nbad; i++) {
		struct bad_block *b = &bad[i];
		if (b->dev != st.st_dev || b->ino != st.st_ino ||
		    __atomic_load_n(&b->healed, __ATOMIC_SEQ_CST))
			continue;
		if (off >= b->off + 4096 || off + (long long)n <= b->off)
			continue;
		if (!write)
			fail = 1;
		else if (getenv("FAILREAD_STICKY") && atoi(getenv("FAILREAD_STICKY")))
			fail = 1;
		else if (off <= b->off && off + (long long)n >= b->off + 4096)
			__atomic_store_n(&b->healed, 1, __ATOMIC_SEQ_CST);
	}
	return fail;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off64_t);
	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
	if (should_fail(fd) || meets_bad(fd, (long long)off, n, 1)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	static ssize_t (*real)(int, void *, size_t, off64_t);
	if (!real)
		real = (ssize_t(*)(int, void *, size_t, off64_t))dlsym(RTLD_NEXT, "pread64");
	if (meets_bad(fd, (long long)off, n, 0)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return pread64(fd, buf, n, (off64_t)off);
}

ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	static ssize_t (*real)(int, const struct iovec *, int, off64_t);
	if (!real)
		real = (ssize_t(*)(int, const struct iovec *, int, off64_t))dlsym(RTLD_NEXT,
										  "preadv64");
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	if (meets_bad(fd, (long long)off, n, 0)) {
		errno = EIO;
		return -1;
	}
	return real(fd, iov, cnt, off);
}

ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return preadv64(fd, iov, cnt, (off64_t)off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, (off64_t)off);
}
