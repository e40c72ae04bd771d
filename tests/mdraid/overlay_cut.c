/*
 * overlay_cut.c: the test driver of test_overlay_commit.sh, which judges a
 * cut `mdraid overlay commit` with mdadm and raidmodel.py. It runs the
 * library calls the commands run (serve.c's overlay_main, the plugin's
 * overlay writes), with the io_sys table cutting the run where asked.
 *
 *   overlay_cut write DIR MEMBER...     the fixed overlay writes below
 *   overlay_cut view DIR MEMBER...      the array as the overlay shows it,
 *                                       to stdout
 *   overlay_cut discard DIR MEMBER...   md_overlay_discard, counting calls
 *   overlay_cut commit K DIR MEMBER...  md_overlay_commit and close, as
 *                                       `mdraid overlay commit` does, with
 *                                       every pwrite/fdatasync after the
 *                                       first K dropped (K = -1: none), as
 *                                       a process killed there leaves the
 *                                       files (what was written stays: the
 *                                       page cache survives a kill); the
 *                                       unlink, the last step, is undone
 *                                       when the cut fell before it. Prints
 *                                       the number of calls made; K = that
 *                                       number is the kill just before the
 *                                       unlink.
 *
 * OVERLAY_CUT_TRACE=FILE writes "K pwrite|fdatasync|fsync PATH OFFSET LEN"
 * per call (the call order of one run; member threads may swap two calls
 * of different members in another).
 *
 * Members are image files (MD_OPEN_NO_DIRECT | MD_OPEN_NO_SAFETY).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "mdraid.h"
#include "overlay.h"

static long ops, crash_at = -1; /* calls made; calls allowed (-1: all) */

/* Member writes run in one thread per slot: the count is atomic, and which
 * of two racing calls is the K-th does not matter to the judge (it reads
 * the state, whatever it is). */
static FILE *trace; /* OVERLAY_CUT_TRACE=FILE: one line per call */

/* Call number k (from 0) of the run: its kind, file and place, for the
 * test to tell superblock and bitmap rounds from data writes. */
static void note(long k, const char *kind, int fd, off_t off, size_t n)
{
	char link[64], path[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t l = readlink(link, path, sizeof(path) - 1);
	path[l < 0 ? 0 : l] = 0;
	flockfile(trace);
	fprintf(trace, "%ld %s %s %lld %zu\n", k, kind, path, (long long)off, n);
	funlockfile(trace);
}
static bool allowed(const char *kind, int fd, off_t off, size_t n)
{
	long k = __atomic_fetch_add(&ops, 1, __ATOMIC_SEQ_CST);
	if (trace)
		note(k, kind, fd, off, n);
	return crash_at < 0 || k < crash_at;
}
static ssize_t cut_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return allowed("pwrite", fd, off, n) ? pwrite(fd, buf, n, off) : (ssize_t)n;
}
/* Counted, not made: in this model what was written stays, so a sync
 * changes no state, and hundreds of them per case cost minutes on a loaded
 * machine. */
static int cut_fdatasync(int fd)
{
	(void)allowed("fdatasync", fd, 0, 0);
	return 0;
}
static int cut_fsync(int fd)
{
	(void)allowed("fsync", fd, 0, 0);
	return 0;
}

static int die(const struct ok_err *e, const char *what)
{
	fprintf(stderr, "overlay_cut: %s: %s\n", what, e->msg);
	return 1;
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525 + 1013904223;
		b[i] = (uint8_t)(seed >> 24);
	}
}

/* Writes in array bytes: a partial block, whole blocks across a stripe
 * edge, one far from the others (another bitmap chunk), the last bytes. */
static const struct {
	uint64_t off;
	size_t len;
} W[] = {{100000, 5000}, {3 << 16, 3 << 16}, {(40 << 16) + 7, 900}, {0, 0}};

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	const char *verb = argv[1];
	int first = 2;
	if (!strcmp(verb, "commit"))
		crash_at = atol(argv[first++]);
	const char *dir = argv[first++];
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	unsigned flags = MD_OPEN_NO_DIRECT | MD_OPEN_NO_SAFETY;
	if (!strcmp(verb, "commit"))
		flags |= MD_OPEN_WRITE;
	if (md_array_open(&a, argc - first, argv + first, flags, &e) < 0)
		return die(&e, "open");
	uint64_t bytes = md_array_bytes(&a);
	if (!strcmp(verb, "write") || !strcmp(verb, "view")) {
		struct md_overlay ov;
		if (md_overlay_open(&ov, dir, &a, !strcmp(verb, "write"), &e) < 0)
			return die(&e, "overlay");
		uint8_t *buf = malloc(bytes);
		int rc = 0;
		if (!strcmp(verb, "write")) {
			for (int i = 0; W[i].len && rc == 0; i++) {
				fill(buf, W[i].len, (uint32_t)i + 40);
				rc = md_overlay_write(&ov, &a, W[i].off, buf, W[i].len, &e);
			}
			fill(buf, 3000, 99);
			if (rc == 0)
				rc = md_overlay_write(&ov, &a, bytes - 3000, buf, 3000, &e);
		} else {
			rc = md_overlay_read(&ov, &a, 0, buf, bytes, &e);
			if (rc == 0 && fwrite(buf, 1, bytes, stdout) != bytes)
				rc = -EIO;
		}
		free(buf);
		if (rc < 0 || md_overlay_close(&ov, &e) < 0)
			return die(&e, verb);
		return md_array_close(&a, &e) < 0 ? die(&e, "close") : 0;
	}
	const char *tr = getenv("OVERLAY_CUT_TRACE");
	if (tr && *tr && !(trace = fopen(tr, "w"))) {
		perror(tr);
		return 1;
	}
	if (!strcmp(verb, "discard")) {
		io_sys.pwrite = cut_pwrite;
		io_sys.fdatasync = cut_fdatasync;
		io_sys.fsync = cut_fsync;
		int rc = md_overlay_discard(dir, &e);
		io_sys = io_sys_default;
		printf("%ld\n", ops);
		md_array_close(&a, NULL);
		return rc < 0 ? die(&e, "discard") : 0;
	}
	if (strcmp(verb, "commit"))
		return 2;
	char path[4200], keep[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, MD_OVERLAY_FILE);
	snprintf(keep, sizeof(keep), "%s.keep", path);
	unlink(keep);
	if (link(path, keep) < 0) {
		perror(path);
		return 1;
	}
	io_sys.pwrite = cut_pwrite;
	io_sys.fdatasync = cut_fdatasync;
	io_sys.fsync = cut_fsync;
	uint64_t blocks;
	int rc = md_overlay_commit(dir, &a, &blocks, &e);
	struct ok_err ce;
	ok_err_clear(&ce);
	int rc2 = md_array_close(&a, &ce);
	io_sys = io_sys_default;
	bool cut = crash_at >= 0 && ops >= crash_at;
	/* killed before the unlink: the file is still there */
	if (cut ? rename(keep, path) : unlink(keep) < 0 && errno != ENOENT) {
		perror(keep);
		return 1;
	}
	if (trace)
		fclose(trace);
	printf("%ld\n", ops);
	if (!cut && (rc < 0 || rc2 < 0))
		return die(rc < 0 ? &e : &ce, "commit");
	return 0;
}
