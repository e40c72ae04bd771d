/*
 * io.h: whole-length I/O, aligned buffers for O_DIRECT, and the overridable
 * system-call table that tests use to inject faults.
 *
 * The *_full loops retry on EINTR and continue after short transfers; they
 * return the number of bytes moved (fewer than asked only at end of file for
 * reads) or a negative errno. Positional calls (pread/pwrite), fsync and
 * fdatasync go through io_sys, a table of function pointers (SQLite's
 * aSyscall[]): tests replace entries to record writes, tear them, return EIO
 * or simulate a crash at a chosen point. Production code never touches
 * io_sys, but for sysroot, which a tool's main() may set from a test hook.
 */
#ifndef OPSKIT_IO_H
#define OPSKIT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Alignment for O_DIRECT buffers, offsets and lengths (covers 4Kn devices). */
#define IO_ALIGN 4096

struct io_sys {
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	int (*fsync)(int fd);
	int (*fdatasync)(int fd);
	/* A directory read instead of / for the kernel's files (proc/mdstat,
	 * sys/block...), so tests can show a fake running array or holder;
	 * NULL or "" for the real ones. */
	const char *sysroot;
};

/* The table used by io_pread_full, io_pwrite_full, io_fsync, io_fdatasync. */
extern struct io_sys io_sys;
/* The real system calls, to restore io_sys after a test. */
extern const struct io_sys io_sys_default;

ssize_t io_read_full(int fd, void *buf, size_t n);
ssize_t io_write_full(int fd, const void *buf, size_t n);
ssize_t io_pread_full(int fd, void *buf, size_t n, off_t off);
ssize_t io_pwrite_full(int fd, const void *buf, size_t n, off_t off);
/* 0 or -errno. */
int io_fsync(int fd);
int io_fdatasync(int fd);

/* Zeroed buffer of n bytes aligned to IO_ALIGN; NULL on ENOMEM. Free with io_free. */
void *io_alloc(size_t n);
void io_free(void *p);

/* Size in bytes of a regular file or block device; negative errno on failure. */
int64_t io_size(int fd);
/* Logical block size of a block device (512 for regular files); negative errno. */
int io_block_size(int fd);

/* "DIR/name" where DIR holds the running executable (/proc/self/exe), for
 * a program's companion files (a plugin, a module, a second program) that
 * are installed, and built, beside it. 0, or negative errno (buf then holds no path). */
int io_exe_sibling(const char *name, char *buf, size_t size);

#endif
