/*
 * test_wcache.c: the plugin's stripe cache (mdraid/wcache.h) against a
 * shadow copy of the array. A RAID6 of 4 image files (64 KiB chunks, 128 KiB
 * stripes) gets 600 random requests (fixed seed): writes of every shape
 * (sector-aligned within a stripe, across stripe edges, whole stripes, runs
 * of whole stripes, unaligned ones that pass through), reads of random
 * ranges, and flushes; the cache has 4 slots, so stripes are evicted
 * half-written all the time. Checked: every read equals the shadow (held
 * writes seen), after every flush md_array_read without the cache equals it
 * (everything written back), and at the end, closed and reopened, the
 * content equals it and md_array_check finds no stripe whose P or Q
 * disagrees; some stripes were written whole (the point of the cache).
 * Then small reads (md_array_read's one-pread path) with a member missing.
 * TAP output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img_array.h"
#include "mdraid.h"
#include "wcache.h"

#define NM	     4
#define MEMBER_BYTES (4u << 20)

static int n_tap, fails;
static void tap(int ok, const char *name, const char *detail)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++n_tap, name);
	if (!ok && detail && *detail)
		printf("# %s\n", detail);
	fails += !ok;
}

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
	seed = seed * 1664525 + 1013904223;
	return seed >> 8;
}

static void mismatch(void *ctx, uint64_t sector, uint64_t sectors, const char *what)
{
	(void)sector;
	(void)sectors;
	(void)what;
	(*(int *)ctx)++;
}

int main(void)
{
	char dir[256], pb[NM][300], *paths[NM];
	struct ok_err e;
	struct md_array a;
	int mk = img_array_make(dir, "mdwc", NM, pb, paths, MEMBER_BYTES, 1, &e);
	if (mk) {
		printf("1..0 # SKIP cannot make the array: %s\n",
		       mk == 1 ? strerror(errno) : e.msg);
		return 0;
	}
	unsigned fl = MD_OPEN_WRITE | MD_OPEN_NO_SAFETY | MD_OPEN_NO_DIRECT;
	if (md_array_open(&a, NM, paths, fl, &e) < 0) {
		printf("1..0 # SKIP cannot make the array: %s\n", e.msg);
		return 0;
	}
	size_t bytes = (size_t)md_array_bytes(&a);
	uint8_t *shadow = malloc(bytes), *got = malloc(bytes), *src = malloc(1 << 20);
	for (size_t i = 0; i < bytes; i++)
		shadow[i] = (uint8_t)rnd();
	if (md_array_write(&a, 0, shadow, bytes, &e) < 0)
		return 1;
	struct md_wcache wc;
	if (md_wcache_init(&wc, &a, 4 * 128 * 1024) < 0 || wc.nslots != 4)
		return 1;
	uint64_t sb = wc.stripe_bytes;
	int bad_read = 0, bad_flush = 0, flushes = 0, errs = 0;
	char first[200] = "";
	for (int op = 0; op < 600; op++) {
		uint32_t r = rnd() % 100;
		uint64_t off;
		size_t len;
		if (r < 70) {
			switch (rnd() % 5) {
			case 0: /* sectors inside one stripe */
				off = (rnd() % (bytes / 512)) * 512;
				len = (size_t)(1 + rnd() % 64) * 512;
				break;
			case 1: /* sequential-ish: a quarter stripe */
				off = (rnd() % (bytes / sb)) * sb + (rnd() % 4) * (sb / 4);
				len = (size_t)(sb / 4);
				break;
			case 2: /* whole stripes, maybe several */
				off = (rnd() % (bytes / sb)) * sb;
				len = (size_t)(sb * (1 + rnd() % 3));
				break;
			case 3: /* across a stripe edge */
				off = (rnd() % (bytes / sb)) * sb + sb - 512 * (1 + rnd() % 8);
				len = (size_t)(512 * (2 + rnd() % 300));
				break;
			default: /* not sector-aligned: passes through */
				off = rnd() % bytes;
				len = 1 + rnd() % 5000;
			}
			if (off >= bytes)
				off = bytes - 512;
			if (len > bytes - off)
				len = (size_t)(bytes - off);
			for (size_t i = 0; i < len; i++)
				src[i] = (uint8_t)rnd();
			if (md_wcache_write(&wc, off, src, len, &e) < 0)
				errs++;
			memcpy(shadow + off, src, len);
		} else if (r < 92) {
			off = rnd() % bytes;
			len = 1 + rnd() % (600 * 1024);
			if (len > bytes - off)
				len = (size_t)(bytes - off);
			if (md_wcache_read(&wc, off, got, len, &e) < 0)
				errs++;
			if (memcmp(got, shadow + off, len) != 0 && !bad_read++)
				snprintf(first, sizeof(first), "read of %zu at %llu (op %d)", len,
					 (unsigned long long)off, op);
		} else {
			flushes++;
			if (md_wcache_flush(&wc, &e) < 0 || md_array_sync(&a, &e) < 0)
				errs++;
			if (md_array_read(&a, 0, got, bytes, &e) < 0)
				errs++;
			if (memcmp(got, shadow, bytes) != 0)
				bad_flush++;
		}
	}
	tap(errs == 0, "no request failed", e.msg);
	tap(wc.whole > 0, "stripes were written whole", NULL);
	tap(bad_read == 0, "every read through the cache equals the shadow (held writes seen)",
	    first);
	tap(bad_flush == 0 && flushes > 0,
	    "after every flush the members alone read as the shadow (everything written back)",
	    NULL);
	int rc = md_wcache_flush(&wc, &e);
	md_wcache_free(&wc);
	rc = rc ? rc : md_array_close(&a, &e);
	rc = rc ? rc : md_array_open(&a, NM, paths, fl, &e);
	rc = rc ? rc : md_array_read(&a, 0, got, bytes, &e);
	tap(rc == 0 && memcmp(got, shadow, bytes) == 0,
	    "closed and reopened, the array holds every write", e.msg);
	int mism = 0;
	rc = md_array_check(&a, false, mismatch, &mism, &e);
	tap(rc == 0 && mism == 0, "check: every stripe's P and Q agree with its data", e.msg);
	md_array_close(&a, &e);
	/* small reads (one pread each when the member is there) on the array
	 * with member 2 missing: those of its chunks are rebuilt */
	char *deg[NM] = {paths[0], paths[1], "missing", paths[3]};
	int bad_small = 0;
	rc = md_array_open(&a, NM, deg, MD_OPEN_NO_SAFETY | MD_OPEN_NO_DIRECT, &e);
	for (int i = 0; rc == 0 && i < 400; i++) {
		uint64_t off = rnd() % bytes;
		size_t len = 1 + rnd() % 9000;
		if (len > bytes - off)
			len = (size_t)(bytes - off);
		rc = md_array_read(&a, off, got, len, &e);
		bad_small += rc == 0 && memcmp(got, shadow + off, len) != 0;
	}
	tap(rc == 0 && bad_small == 0,
	    "400 small reads with a member missing equal the shadow (rebuilt where it is gone)",
	    e.msg);
	md_array_close(&a, &e);
	for (int i = 0; i < NM; i++)
		unlink(paths[i]);
	rmdir(dir);
	free(shadow);
	free(got);
	free(src);
	printf("1..%d\n", n_tap);
	return fails ? 1 : 0;
}
