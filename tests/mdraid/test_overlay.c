/*
 * test_overlay.c: the copy-on-write overlay (mdraid/overlay.h) cut at every
 * prefix of its writes, judged by its crash rules: after a crash, the
 * reopened overlay shows, block by block, the content of the last completed
 * md_overlay_sync or of a later point of the run (a write after the last
 * sync may be there or not, never anything else); a file cut before its
 * header is whole is refused, never used.
 *
 * A RAID6 of 4 image files (64 KiB chunks) holds random bytes; the array is
 * opened read-only as the plugin opens it. The run: W1 (a partial block),
 * sync, W2 (a whole block and a write across a block edge), W3 (over W1's
 * block), sync, W4, close. A crash after k of the run's pwrite/fdatasync
 * calls is the io_sys table dropping every later call (what was written
 * stays: the crash keeps the page cache, the weaker of the two models).
 * Every k from 0 to the run's last call is tried. TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img_array.h"
#include "io.h"
#include "mdraid.h"
#include "overlay.h"

#define NM	     4
#define MEMBER_BYTES (4u << 20)
#define BLK	     MD_OVERLAY_BLOCK

static char dir[256], paths_buf[NM][300];
static char *paths[NM];
static long ops, crash_at; /* calls so far; calls allowed (-1: no crash) */

static ssize_t cut_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (crash_at >= 0 && ops >= crash_at)
		return (ssize_t)n; /* dropped: the process is dead from here on */
	ops++;
	return pwrite(fd, buf, n, off);
}
static int cut_fdatasync(int fd)
{
	if (crash_at >= 0 && ops >= crash_at)
		return 0;
	ops++;
	return fdatasync(fd);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525 + 1013904223;
		b[i] = (uint8_t)(seed >> 24);
	}
}

struct w {
	uint64_t off;
	size_t len;
	uint32_t seed;
};
static const struct w W1 = {100000, 5000, 11}, W2a = {3 * BLK, BLK, 12},
		      W2b = {10 * BLK - 100, 300, 13}, W3 = {70000, 2000, 14},
		      W4 = {20 * BLK + 5, 7, 15};

static void apply(uint8_t *img, const struct w *w)
{
	fill(img + w->off, w->len, w->seed);
}
static int do_write(struct md_overlay *ov, struct md_array *a, const struct w *w, struct ok_err *e)
{
	uint8_t *b = malloc(w->len);
	fill(b, w->len, w->seed);
	int rc = md_overlay_write(ov, a, w->off, b, w->len, e);
	free(b);
	return rc;
}

/* The run; sync_ops[i] = ops when the i-th sync point (1, 2, close) ended. */
static int run(struct md_array *a, long sync_ops[3])
{
	struct md_overlay ov;
	struct ok_err e;
	ok_err_clear(&e);
	if (md_overlay_open(&ov, dir, a, true, &e) < 0)
		return -1;
	int rc = do_write(&ov, a, &W1, &e);
	rc = rc ? rc : md_overlay_sync(&ov, &e);
	sync_ops[0] = ops;
	rc = rc ? rc : do_write(&ov, a, &W2a, &e);
	rc = rc ? rc : do_write(&ov, a, &W2b, &e);
	rc = rc ? rc : do_write(&ov, a, &W3, &e);
	rc = rc ? rc : md_overlay_sync(&ov, &e);
	sync_ops[1] = ops;
	rc = rc ? rc : do_write(&ov, a, &W4, &e);
	int rc2 = md_overlay_close(&ov, &e);
	sync_ops[2] = ops;
	return rc ? rc : rc2;
}

int main(void)
{
	struct ok_err e;
	struct md_array a;
	int mk = img_array_make(dir, "mdov", NM, paths_buf, paths, MEMBER_BYTES, 0, &e);
	if (mk == 1) {
		printf("1..0 # SKIP cannot make the images: %s\n", strerror(errno));
		return 0;
	}
	if (mk || md_array_open(&a, NM, paths,
				MD_OPEN_WRITE | MD_OPEN_NO_SAFETY | MD_OPEN_NO_DIRECT, &e) < 0) {
		printf("1..0 # SKIP cannot make the array: %s\n", e.msg);
		return 0;
	}
	size_t bytes = (size_t)md_array_bytes(&a);
	uint8_t *s[4]; /* the states: members, after sync 1, sync 2, close */
	for (int i = 0; i < 4; i++)
		s[i] = malloc(bytes);
	uint8_t *got = malloc(bytes);
	fill(s[0], bytes, 7);
	if (md_array_write(&a, 0, s[0], bytes, &e) < 0 || md_array_close(&a, &e) < 0)
		return 1;
	memcpy(s[1], s[0], bytes);
	apply(s[1], &W1);
	memcpy(s[2], s[1], bytes);
	apply(s[2], &W2a);
	apply(s[2], &W2b);
	apply(s[2], &W3);
	memcpy(s[3], s[2], bytes);
	apply(s[3], &W4);
	if (md_array_open(&a, NM, paths, MD_OPEN_NO_SAFETY | MD_OPEN_NO_DIRECT, &e) < 0)
		return 1;
	char ovpath[400];
	snprintf(ovpath, sizeof(ovpath), "%s/%s", dir, MD_OVERLAY_FILE);

	io_sys.pwrite = cut_pwrite;
	io_sys.fdatasync = cut_fdatasync;
	long sync_ops[3];
	ops = 0;
	crash_at = -1;
	int rc = run(&a, sync_ops);
	long total = ops;
	printf("1..%ld\n", total + 2);
	int n = 0, fails = 0;
	ok_err_clear(&e);
	struct md_overlay ov;
	rc = rc ? rc : md_overlay_open(&ov, dir, &a, false, &e);
	rc = rc ? rc : md_overlay_read(&ov, &a, 0, got, bytes, &e);
	if (rc == 0)
		md_overlay_close(&ov, &e);
	bool full_ok = rc == 0 && memcmp(got, s[3], bytes) == 0;
	printf("%s %d - uncut run: the reopened overlay holds every write (%ld calls)\n",
	       full_ok ? "ok" : "not ok", ++n, total);
	fails += !full_ok;
	for (long k = 0; k <= total; k++) {
		unlink(ovpath);
		ops = 0;
		crash_at = k;
		long so[3];
		run(&a, so);
		crash_at = -1;
		int g = k >= sync_ops[2] ? 3 : k >= sync_ops[1] ? 2 : k >= sync_ops[0] ? 1 : 0;
		ok_err_clear(&e);
		rc = md_overlay_open(&ov, dir, &a, false, &e);
		const char *why = NULL;
		char msg[600] = "";
		if (rc < 0) {
			/* refused is right only while nothing was promised */
			if (g > 0)
				why = "refused after a completed sync";
			snprintf(msg, sizeof(msg), " (refused: %s)", e.msg);
		} else {
			rc = md_overlay_read(&ov, &a, 0, got, bytes, &e);
			md_overlay_close(&ov, &e);
			for (size_t b = 0; !why && rc == 0 && b < bytes; b += BLK) {
				size_t len = bytes - b < BLK ? bytes - b : BLK;
				bool any = false;
				for (int j = g; j < 4 && !any; j++)
					any = memcmp(got + b, s[j] + b, len) == 0;
				if (!any) {
					why = "a block matches no state since the last sync";
					snprintf(msg, sizeof(msg), " (block %zu)", b / BLK);
				}
			}
			if (rc < 0)
				why = "read failed";
		}
		printf("%s %d - cut after %ld of %ld calls (synced state %d): %s%s\n",
		       why ? "not ok" : "ok", ++n, k, total, g,
		       why	? why
		       : rc < 0 ? "refused, nothing was synced yet"
				: "content is a state since the last sync",
		       rc < 0 ? msg : "");
		fails += why != NULL;
	}
	io_sys = io_sys_default;
	md_array_close(&a, &e);
	for (int i = 0; i < NM; i++)
		unlink(paths[i]);
	unlink(ovpath);
	rmdir(dir);
	for (int i = 0; i < 4; i++)
		free(s[i]);
	free(got);
	return fails ? 1 : 0;
}
