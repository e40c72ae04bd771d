/*
 * io.c: the loops and the system-call table declared in io.h.
 */
#include "io.h"

#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

const struct io_sys io_sys_default = {pread, pwrite, fsync, fdatasync, NULL};
struct io_sys io_sys = {pread, pwrite, fsync, fdatasync, NULL};

ssize_t io_read_full(int fd, void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t io_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t io_pread_full(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = io_sys.pread(fd, (char *)buf + done, n - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t io_pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r =
		    io_sys.pwrite(fd, (const char *)buf + done, n - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int io_fsync(int fd)
{
	while (io_sys.fsync(fd) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int io_fdatasync(int fd)
{
	while (io_sys.fdatasync(fd) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

void *io_alloc(size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, IO_ALIGN, n ? n : IO_ALIGN))
		return NULL;
	memset(p, 0, n);
	return p;
}

void io_free(void *p)
{
	free(p);
}

int64_t io_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
		return (int64_t)bytes;
	}
	return st.st_size;
}

int io_block_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return 512;
	int bs;
	if (ioctl(fd, BLKSSZGET, &bs) < 0)
		return -errno;
	return bs;
}

int io_exe_sibling(const char *name, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	int len = snprintf(buf, size, "%s/%s", exe, name);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}
