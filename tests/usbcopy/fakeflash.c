/*
 * fakeflash.c: a fault-injecting backing file for loop devices, as FUSE.
 *
 * This kernel has no device-mapper (no dm-flakey, no dm-dust), so the fake
 * cards of issue 18 are built one level lower: the file "disk" in the mount
 * point advertises SIZE bytes, but only REAL bytes of flash exist (kept in
 * the backing file). A loop device over "disk" is then a real block device
 * under the kernel's own I/O path, with the faults of a counterfeit card:
 *
 *   wrap     byte A is stored at A mod REAL (address lines ignored: the
 *            common fake, f3's "wraparound");
 *   drop     writes at or past REAL are acknowledged and thrown away, reads
 *            there return zeros (f3's "limbo");
 *   fail=OFF:LEN  reads and writes touching [OFF, OFF+LEN) fail with EIO
 *            (may be given up to 8 times);
 *   delay=USEC    every write takes USEC microseconds longer (a slow stick:
 *            tests that interrupt a write need it to be still under way
 *            when their signal comes, however fast the host is).
 *
 * Usage: fakeflash MOUNTPOINT BACKING SIZE REAL wrap|drop|good [fail=OFF:LEN]
 *        [delay=USEC]...
 * Runs in the foreground until unmounted (fusermount3 -u MOUNTPOINT).
 * "disk" is opened direct_io, so the page cache never hides the aliasing:
 * every read and write reaches this program.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum mode { M_GOOD, M_WRAP, M_DROP };

static struct {
	int fd;		     /* backing file, REAL bytes */
	uint64_t size, real; /* advertised, real */
	enum mode mode;
	uint64_t fail_off[8], fail_len[8];
	int nfail;
	unsigned delay_us; /* added to every write */
} F;

/* Does [off, off + n) touch a failing range? */
static int failing(uint64_t off, size_t n)
{
	for (int i = 0; i < F.nfail; i++)
		if (off < F.fail_off[i] + F.fail_len[i] && F.fail_off[i] < off + n)
			return 1;
	return 0;
}

static int ff_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (strcmp(path, "/disk"))
		return -ENOENT;
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_size = (off_t)F.size;
	return 0;
}

static int ff_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags fl)
{
	(void)off, (void)fi, (void)fl;
	if (strcmp(path, "/"))
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "disk", NULL, 0, 0);
	return 0;
}

static int ff_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/disk"))
		return -ENOENT;
	fi->direct_io = 1; /* no page cache between the loop device and us */
	return 0;
}

/* One byte-run inside the real flash, or -1 past it (drop mode). */
static int64_t phys(uint64_t a)
{
	if (a < F.real)
		return (int64_t)a;
	return F.mode == M_WRAP ? (int64_t)(a % F.real) : -1;
}

/* Bytes from a (at most left) before the place where the mapping changes. */
static size_t run_len(uint64_t a, size_t left)
{
	uint64_t lim = F.mode == M_GOOD ? F.size : a < F.real ? F.real : (a / F.real + 1) * F.real;
	return left > lim - a ? (size_t)(lim - a) : left;
}

static int ff_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	uint64_t o = (uint64_t)off;
	if (o >= F.size)
		return 0;
	if (n > F.size - o)
		n = (size_t)(F.size - o);
	if (failing(o, n))
		return -EIO;
	for (size_t done = 0; done < n;) {
		uint64_t a = o + done;
		int64_t p = phys(a);
		size_t k = run_len(a, n - done);
		if (p < 0) {
			memset(buf + done, 0, k);
		} else if (pread(F.fd, buf + done, k, p) != (ssize_t)k) {
			return -EIO;
		}
		done += k;
	}
	return (int)n;
}

static int ff_write(const char *path, const char *buf, size_t n, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	uint64_t o = (uint64_t)off;
	if (o >= F.size)
		return -ENOSPC;
	if (n > F.size - o)
		n = (size_t)(F.size - o);
	if (failing(o, n))
		return -EIO;
	if (F.delay_us)
		usleep(F.delay_us);
	for (size_t done = 0; done < n;) {
		uint64_t a = o + done;
		int64_t p = phys(a);
		size_t k = run_len(a, n - done);
		if (p >= 0 && pwrite(F.fd, buf + done, k, p) != (ssize_t)k)
			return -EIO;
		done += k;
	}
	return (int)n;
}

static int ff_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path, (void)fi;
	return (datasync ? fdatasync(F.fd) : fsync(F.fd)) < 0 ? -errno : 0;
}

static const struct fuse_operations ops = {
    .getattr = ff_getattr,
    .readdir = ff_readdir,
    .open = ff_open,
    .read = ff_read,
    .write = ff_write,
    .fsync = ff_fsync,
};

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: fakeflash MOUNTPOINT BACKING SIZE REAL wrap|drop|good "
				"[fail=OFF:LEN]... [delay=USEC]\n");
		return 2;
	}
	F.size = strtoull(argv[3], NULL, 0);
	F.real = strtoull(argv[4], NULL, 0);
	F.mode = !strcmp(argv[5], "wrap") ? M_WRAP : !strcmp(argv[5], "drop") ? M_DROP : M_GOOD;
	if (!F.size || !F.real || F.real > F.size) {
		fprintf(stderr, "fakeflash: need 0 < REAL <= SIZE\n");
		return 2;
	}
	for (int i = 6; i < argc; i++)
		if (F.nfail < 8 &&
		    sscanf(argv[i], "fail=%llu:%llu", (unsigned long long *)&F.fail_off[F.nfail],
			   (unsigned long long *)&F.fail_len[F.nfail]) == 2)
			F.nfail++;
		else if (sscanf(argv[i], "delay=%u", &F.delay_us) != 1)
			fprintf(stderr, "fakeflash: ignoring '%s' (fail=OFF:LEN or delay=USEC)\n",
				argv[i]);
	F.fd = open(argv[2], O_RDWR | O_CREAT, 0600);
	if (F.fd < 0 || ftruncate(F.fd, (off_t)F.real) < 0) {
		perror(argv[2]);
		return 1;
	}
	/* foreground, single-threaded: the order of writes is the order we see */
	char *fargv[] = {argv[0], "-f", "-s", "-o", "default_permissions", argv[1], NULL};
	return fuse_main(6, fargv, &ops, NULL);
}
