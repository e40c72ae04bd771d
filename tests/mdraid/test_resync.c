/*
 * test_resync.c: md's resync and repair passes (mdraid/resync.h) and the
 * write rule ahead of them, on RAID6 arrays of 6 image files (64 KiB
 * chunks, 4 data blocks per stripe, so a 4 KiB write is a read-modify-write
 * unless the rule says otherwise). Parity blocks are corrupted on purpose
 * (P of chosen stripes, garbage); md_array_check is the judge, and what it
 * must find follows from the arithmetic:
 *   1. write rule: on a clean array a 512-byte write over a corrupted P block
 *      is an rmw (P' = P ^ delta keeps the garbage: mismatch 8 sectors); on
 *      a dirty one (resync_offset 0) it reconstructs P from the data
 *      (raid5.c's handle_stripe_dirtying past recovery_cp): mismatch 0.
 *   2. a resync interleaved with client writes (a shadow copy of the array
 *      judges the content): afterwards mismatch 0, content equal, the
 *      superblocks clean.
 *   3. a resync stopped after its first checkpoint: resync_offset on disk
 *      is where it stopped; a block corrupted below it afterwards survives
 *      the resumed pass (8 sectors), one above it does not.
 *   4. with a bitmap, after a crash mid-write: only the stripes the set bits
 *      cover are resynced (a block corrupted outside them survives, one
 *      inside does not), then the bitmap is clear and no pass is due.
 *   5. a degraded RAID6 (one member missing, dirty, --force): the pass
 *      rebuilds the missing data from P and rewrites a corrupted Q.
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
#include "resync.h"

#define NM	     6
#define MEMBER_BYTES (4u << 20)
#define OPEN_FLAGS   (MD_OPEN_WRITE | MD_OPEN_NO_SAFETY)

static int n_tap, fails;
static void tap(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#include <stdarg.h>
static void tap(int ok, const char *name, const char *fmt, ...)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++n_tap, name);
	if (!ok && fmt) {
		va_list ap;
		va_start(ap, fmt);
		printf("# ");
		vprintf(fmt, ap);
		printf("\n");
		va_end(ap);
	}
	fails += !ok;
}

static uint32_t seed = 4242;
static uint32_t rnd(void)
{
	seed = seed * 1664525 + 1013904223;
	return seed >> 8;
}

static char dir[256], pb[NM][300], *paths[NM];
static uint8_t *shadow;
static uint64_t abytes;

static void die(const char *what, const struct ok_err *e)
{
	char msg[512];
	ok_err_format(e, msg, sizeof(msg));
	printf("Bail out! %s: %s\n", what, msg);
	exit(1);
}

static void xopen(struct md_array *a, unsigned extra, char **p)
{
	struct ok_err e;
	ok_err_clear(&e);
	if (md_array_open(a, NM, p ? p : paths, OPEN_FLAGS | extra, &e) < 0)
		die("open", &e);
}

static void xclose(struct md_array *a)
{
	struct ok_err e;
	ok_err_clear(&e);
	if (md_array_close(a, &e) < 0)
		die("close", &e);
}

/* A fresh array (bitmap 0/1) filled with random data, the shadow equal. */
static void fresh(int bitmap)
{
	struct ok_err e;
	for (int i = 0; i < NM; i++)
		unlink(pb[i]);
	rmdir(dir);
	if (img_array_make(dir, "mdresync", NM, pb, paths, MEMBER_BYTES, bitmap, &e))
		die("create", &e);
	struct md_array a;
	xopen(&a, 0, NULL);
	abytes = md_array_bytes(&a);
	free(shadow);
	shadow = malloc(abytes);
	for (uint64_t i = 0; i < abytes; i++)
		shadow[i] = (uint8_t)rnd();
	if (md_array_write(&a, 0, shadow, abytes, &e) < 0)
		die("fill", &e);
	xclose(&a);
}

/* resync_offset of every member set to off (MD_MAX_SECTOR: clean). */
static void set_resync(uint64_t off)
{
	struct md_array a;
	struct ok_err e;
	xopen(&a, MD_OPEN_FORCE, NULL);
	a.ref.resync_offset = off;
	a.ref.events++;
	if (md_array_sb_write_all(&a, &e) < 0)
		die("sb write", &e);
	md_array_abandon(&a);
}

/* Garbage over 4 KiB of P (q: Q) of stripe s, at byte off in its chunk. */
static void corrupt(uint64_t s, bool q, uint32_t off)
{
	struct md_array a;
	struct ok_err e;
	xopen(&a, MD_OPEN_FORCE, NULL);
	struct md_stripe st;
	md_stripe_layout(&a.geom, s, &st);
	int slot = q ? st.qd : st.pd;
	const struct md_member *m = &a.m[a.slot_member[slot]];
	uint64_t at = (m->sb.data_offset + s * a.geom.chunk_sectors) * 512 + off;
	char path[300];
	snprintf(path, sizeof(path), "%s", m->path);
	md_array_abandon(&a);
	uint8_t junk[4096];
	for (int i = 0; i < 4096; i++)
		junk[i] = (uint8_t)rnd();
	int fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, junk, sizeof(junk), (off_t)at) != (ssize_t)sizeof(junk)) {
		printf("Bail out! corrupt %s\n", path);
		exit(1);
	}
	close(fd);
	(void)e;
}

/* mismatch_cnt of a check (the array opened read-only). */
static uint64_t check(char **p)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	if (md_array_open(&a, NM, p ? p : paths, MD_OPEN_NO_SAFETY | MD_OPEN_FORCE, &e) < 0)
		die("open for check", &e);
	if (md_array_check(&a, false, NULL, NULL, &e) < 0)
		die("check", &e);
	uint64_t mm = a.mismatches;
	md_array_close(&a, NULL);
	return mm;
}

static bool content_equal(char **p)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	if (md_array_open(&a, NM, p ? p : paths, MD_OPEN_NO_SAFETY | MD_OPEN_FORCE, &e) < 0)
		die("open for read", &e);
	uint8_t *buf = malloc(abytes);
	bool ok = md_array_read(&a, 0, buf, abytes, &e) == 0 && memcmp(buf, shadow, abytes) == 0;
	free(buf);
	md_array_close(&a, NULL);
	return ok;
}

/* Run a pass to its end (batches of 4 stripes). 0 or the error. */
static int run_pass(struct md_array *a, struct md_pass *p)
{
	struct ok_err e;
	int rc;
	ok_err_clear(&e);
	while ((rc = md_pass_step(p, a, 4, 0, &e)) == 1)
		;
	return rc;
}

static void t_write_rule(void)
{
	struct ok_err e;
	/* 512 bytes: a 4 KiB overwrite of one block of 4 data blocks costs
	 * the same either way (3 reads), and md then reconstructs too */
	uint8_t buf[512];
	for (int dirty = 0; dirty < 2; dirty++) {
		fresh(0);
		uint64_t s = 5;
		corrupt(s, false, 0);
		if (dirty)
			set_resync(0);
		struct md_array a;
		xopen(&a, MD_OPEN_FORCE, NULL);
		/* the first data block of stripe 5, its first sector */
		uint64_t off =
		    s * (uint64_t)md_geom_data_disks(&a.geom) * a.geom.chunk_sectors * 512;
		for (int i = 0; i < (int)sizeof(buf); i++)
			buf[i] = shadow[off + i] = (uint8_t)rnd();
		ok_err_clear(&e);
		if (md_array_write(&a, off, buf, sizeof(buf), &e) < 0)
			die("write", &e);
		xclose(&a);
		uint64_t mm = check(NULL);
		if (dirty)
			tap(mm == 0,
			    "dirty array: a 512-byte write over a stale P reconstructs it (rcw)",
			    "mismatch_cnt %llu, expected 0", (unsigned long long)mm);
		else
			tap(mm == 8, "clean array: the same write is an rmw and keeps the stale P",
			    "mismatch_cnt %llu, expected 8", (unsigned long long)mm);
	}
}

static void t_pass_with_writes(void)
{
	struct ok_err e;
	fresh(0);
	corrupt(3, false, 0);
	corrupt(20, true, 8192);
	corrupt(40, false, 65536 - 4096);
	set_resync(0);
	struct md_array a;
	xopen(&a, 0, NULL);
	struct md_pass p;
	ok_err_clear(&e);
	if (md_pass_plan(&p, &a, &e) < 0)
		die("plan", &e);
	tap(p.kind == MD_PASS_RESYNC && p.start == 0 && p.total == p.stripes,
	    "dirty array without bitmap: a resync of every stripe from 0", "kind %s start %llu",
	    md_pass_name(&p), (unsigned long long)p.start);
	int rc = 1, writes = 0;
	uint8_t *buf = malloc(256 << 10);
	while (rc == 1) {
		ok_err_clear(&e);
		rc = md_pass_step(&p, &a, 3, 0, &e);
		/* client writes anywhere: ahead of the pass, behind it, across */
		for (int k = 0; k < 2; k++) {
			uint64_t len = 512 * (1 + rnd() % 300);
			uint64_t off = (uint64_t)(rnd() % (uint32_t)((abytes - len) / 512)) * 512;
			for (uint64_t i = 0; i < len; i++)
				buf[i] = shadow[off + i] = (uint8_t)rnd();
			if (md_array_write(&a, off, buf, len, &e) < 0)
				die("client write", &e);
			writes++;
		}
	}
	free(buf);
	tap(rc == 0 && p.done, "the pass ran to its end between client writes", "rc %d", rc);
	md_pass_free(&p);
	xclose(&a);
	uint64_t mm = check(NULL);
	tap(mm == 0, "after the pass: mismatch_cnt 0", "mismatch_cnt %llu", (unsigned long long)mm);
	tap(content_equal(NULL), "after the pass: the content is what was written", NULL);
	xopen(&a, 0, NULL);
	tap(!a.dirty && a.ref.resync_offset == MD_MAX_SECTOR, "after the pass: clean",
	    "resync_offset %llu", (unsigned long long)a.ref.resync_offset);
	md_array_close(&a, NULL);
}

static void t_checkpoint(void)
{
	struct ok_err e;
	fresh(0);
	set_resync(0);
	struct md_array a;
	xopen(&a, 0, NULL);
	struct md_pass p;
	ok_err_clear(&e);
	if (md_pass_plan(&p, &a, &e) < 0)
		die("plan", &e);
	int rc;
	while ((rc = md_pass_step(&p, &a, 1, 0, &e)) == 1 && p.ckpt == 0)
		;
	uint64_t ck1 = p.ckpt * a.geom.chunk_sectors;
	uint64_t on_disk = 0;
	{
		/* what the members say now (no close yet: a kill here) */
		struct md_sb sb;
		struct ok_err ie;
		int fd = open(paths[1], O_RDONLY);
		if (fd >= 0 && md_sb_read(fd, paths[1], 2, &sb, &ie) == 0)
			on_disk = sb.resync_offset;
		if (fd >= 0)
			close(fd);
	}
	tap(rc == 1 && ck1 > 0 && on_disk == ck1,
	    "first checkpoint after a sixteenth: resync_offset on the members",
	    "rc %d checkpoint %llu on disk %llu", rc, (unsigned long long)ck1,
	    (unsigned long long)on_disk);
	/* two more stripes, then stopped: the stop records where it got to */
	md_pass_step(&p, &a, 2, 0, &e);
	uint64_t stop = p.pos;
	if (md_pass_stop(&p, &a, &e) < 0)
		die("stop", &e);
	md_pass_free(&p);
	xclose(&a);
	xopen(&a, 0, NULL);
	uint64_t cs = a.geom.chunk_sectors;
	tap(a.dirty && a.ref.resync_offset == stop * cs,
	    "stopped: resync_offset is where it got to", "resync_offset %llu expected %llu",
	    (unsigned long long)a.ref.resync_offset, (unsigned long long)(stop * cs));
	md_array_abandon(&a);
	corrupt(stop - 1, false, 0);
	corrupt(stop + 1, false, 0);
	xopen(&a, 0, NULL);
	ok_err_clear(&e);
	if (md_pass_plan(&p, &a, &e) < 0)
		die("plan", &e);
	tap(p.start == stop, "resumed from the checkpoint", "start %llu expected %llu",
	    (unsigned long long)p.start, (unsigned long long)stop);
	rc = run_pass(&a, &p);
	md_pass_free(&p);
	xclose(&a);
	uint64_t mm = check(NULL);
	tap(rc == 0 && mm == 8, "the resumed pass left the block below the checkpoint alone",
	    "rc %d mismatch_cnt %llu, expected 8", rc, (unsigned long long)mm);
}

/* The bitmap chunk of every member set to bytes (the bits are clear). */
static void set_bitmap_chunk(uint32_t bytes)
{
	struct md_array a;
	xopen(&a, 0, NULL);
	for (int i = 0; i < NM; i++) {
		uint8_t le[4] = {(uint8_t)bytes, (uint8_t)(bytes >> 8), (uint8_t)(bytes >> 16),
				 (uint8_t)(bytes >> 24)};
		int fd = open(a.m[i].path, O_WRONLY);
		if (fd < 0 || pwrite(fd, le, 4, (off_t)(a.m[i].bm.start * 512 + 52)) != 4) {
			printf("Bail out! bitmap chunk of %s\n", a.m[i].path);
			exit(1);
		}
		close(fd);
	}
	md_array_abandon(&a);
}

static void t_bitmap(void)
{
	struct ok_err e;
	fresh(1);
	/* 256 KiB bits: 4 stripes each, 12 bits over the array */
	set_bitmap_chunk(256 << 10);
	struct md_array a;
	xopen(&a, 0, NULL);
	/* a write at the array's start, then a crash: bits set there only */
	uint8_t buf[8192];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = shadow[i] = (uint8_t)rnd();
	ok_err_clear(&e);
	if (md_array_write(&a, 0, buf, sizeof(buf), &e) < 0 || md_array_sync(&a, &e) < 0)
		die("write", &e);
	uint64_t bit_stripes = a.bm.chunksize / 512 / a.geom.chunk_sectors;
	md_array_abandon(&a);
	uint64_t outside = bit_stripes + 1;
	corrupt(0, false, 16384);
	corrupt(outside, false, 0);
	xopen(&a, 0, NULL);
	struct md_pass p;
	if (md_pass_plan(&p, &a, &e) < 0)
		die("plan", &e);
	tap(p.kind == MD_PASS_RESYNC && p.bits && p.total < p.stripes && p.total >= 1,
	    "bitmap: a resync of the stripes the set bits cover only", "kind %s total %llu of %llu",
	    md_pass_name(&p), (unsigned long long)p.total, (unsigned long long)p.stripes);
	int rc = run_pass(&a, &p);
	md_pass_free(&p);
	xclose(&a);
	uint64_t mm = check(NULL);
	tap(rc == 0 && mm == 8,
	    "bitmap: the block outside the dirty bits is left, the one inside fixed",
	    "rc %d mismatch_cnt %llu, expected 8", rc, (unsigned long long)mm);
	xopen(&a, 0, NULL);
	if (md_pass_plan(&p, &a, &e) < 0)
		die("plan", &e);
	tap(p.kind == MD_PASS_NONE && !a.dirty, "bitmap: afterwards clean, no pass due", "%s",
	    p.why);
	md_pass_free(&p);
	md_array_close(&a, NULL);
	tap(content_equal(NULL), "bitmap: content as written", NULL);
}

static void t_degraded(void)
{
	struct ok_err e;
	fresh(0);
	/* stripe 7 with slot 0 missing: slot 0 data or parity, Q corrupted
	 * (when Q is on slot 0 the stripe is skipped: P is then checked) */
	corrupt(7, true, 0);
	corrupt(8, true, 0);
	set_resync(0);
	char *deg[NM];
	for (int i = 0; i < NM; i++)
		deg[i] = i == 0 ? "missing" : paths[i];
	struct md_array a;
	xopen(&a, MD_OPEN_FORCE, deg);
	struct md_pass p;
	ok_err_clear(&e);
	if (md_pass_plan(&p, &a, &e) < 0)
		die("plan", &e);
	tap(p.kind == MD_PASS_RESYNC && p.rebuild, "degraded dirty RAID6: a resync through rebuild",
	    "%s", p.why);
	int rc = run_pass(&a, &p);
	uint64_t found = p.mismatches;
	md_pass_free(&p);
	xclose(&a);
	uint64_t mm = check(deg);
	tap(rc == 0 && found >= 8 && mm == 0,
	    "degraded: the pass found and rewrote the corrupted Q; check 0",
	    "rc %d found %llu mismatch_cnt %llu", rc, (unsigned long long)found,
	    (unsigned long long)mm);
}

int main(void)
{
	t_write_rule();
	t_pass_with_writes();
	t_checkpoint();
	t_bitmap();
	t_degraded();
	for (int i = 0; i < NM; i++)
		unlink(pb[i]);
	rmdir(dir);
	free(shadow);
	printf("1..%d\n", n_tap);
	return fails ? 1 : 0;
}
