/*
 * resync.c: md's resync and repair passes over a running array (resync.h),
 * one batch of stripes per call so that the plugin's thread can interleave
 * them with client I/O. The stripe work is scrub.c's (md_array_sync_range);
 * here: which stripes, when to checkpoint, how the pass ends.
 */
#include "mdraid_int.h"
#include "resync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

/* md_do_sync: curr_resync_completed moves every max_sectors >> 4 or
 * UPDATE_FREQUENCY (5 * 60 * HZ) */
#define PASS_CKPT_SECONDS 300

/* Whether stripe s needs the pass: past the start and, with a bitmap, in a
 * region whose bit was set. */
static bool stripe_needed(const struct md_pass *p, const struct md_array *a, uint64_t s)
{
	if (s < p->start)
		return false;
	if (!p->bits)
		return true;
	uint64_t cs = a->geom.chunk_sectors;
	uint64_t b0 = s * cs / p->bit_sectors, b1 = ((s + 1) * cs - 1) / p->bit_sectors;
	for (uint64_t b = b0; b <= b1 && b < p->nbits; b++)
		if (p->bits[b / 8] & (1u << (b % 8)))
			return true;
	return false;
}

/* The bitmap's bits as the reference member holds them, into p->bits. */
static int load_bits(struct md_pass *p, struct md_array *a, struct ok_err *e)
{
	struct md_member *m = &a->m[a->ref_member];
	size_t bytes = (size_t)md_bitmap_bytes(&a->bm, 4096);
	p->nbits = md_bitmap_bits(&a->bm);
	p->bit_sectors = a->bm.chunksize / 512;
	uint8_t *buf = io_alloc(bytes);
	p->bits = calloc(1, (size_t)(p->nbits + 7) / 8 + 1);
	if (!buf || !p->bits) {
		io_free(buf);
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	}
	int rc =
	    m->slot >= 0 ? md_member_pread(a, m->slot, buf, bytes, m->bm.start * 512, e) : -ENODEV;
	if (rc == 0)
		memcpy(p->bits, buf + 256, (size_t)(p->nbits + 7) / 8);
	io_free(buf);
	return rc < 0 ? rc : 0;
}

int md_pass_plan(struct md_pass *p, struct md_array *a, struct ok_err *e)
{
	memset(p, 0, sizeof(*p));
	const struct md_geom *g = &a->geom;
	uint64_t cs = g->chunk_sectors;
	int redundancy = g->level == 6 ? 2 : 1;
	p->stripes = g->dev_sectors / cs;
	p->rebuild = a->missing > 0;
	p->ckpt_time = time(NULL);
	if (!(a->flags & MD_OPEN_WRITE)) {
		snprintf(p->why, sizeof(p->why), "opened read-only: nothing is written");
		return 0;
	}
	if (a->want_repair) {
		p->kind = MD_PASS_REPAIR;
		p->total = p->stripes;
		snprintf(p->why, sizeof(p->why),
			 "repair of every stripe (--force left RAID6 one member short; mdadm "
			 "4.2's start_array asks for it)");
		return 0;
	}
	if (!a->dirty) {
		snprintf(p->why, sizeof(p->why), "the array is clean: no resync is due");
		return 0;
	}
	if (a->missing >= redundancy) {
		snprintf(p->why, sizeof(p->why),
			 "dirty, but %d of %d members missing leave no parity to resync "
			 "(md skips the pass)",
			 a->missing, g->raid_disks);
		return 0;
	}
	p->kind = MD_PASS_RESYNC;
	uint64_t cp = a->resync_cp == MD_MAX_SECTOR ? 0 : a->resync_cp;
	p->start = p->pos = p->ckpt = cp / cs;
	/* md_bitmap_load: a current bitmap names the regions (from
	 * recovery_cp on when all members are there or the bits are known
	 * clean up to these events, else from 0); a stale one names all */
	bool use_bits = a->has_bitmap && a->bm.events >= a->ref.events;
	if (use_bits) {
		if (a->missing > 0 && a->bm.events_cleared != a->ref.events)
			p->start = p->pos = p->ckpt = 0;
		int rc = load_bits(p, a, e);
		if (rc < 0)
			return rc;
	}
	for (uint64_t s = p->start; s < p->stripes; s++)
		p->total += stripe_needed(p, a, s);
	snprintf(p->why, sizeof(p->why), "resync%s from sector %llu%s (%llu of %llu stripes)",
		 p->rebuild ? " of a degraded array" : "", (unsigned long long)(p->start * cs),
		 use_bits ? " where the bitmap's bits are set" : "", (unsigned long long)p->total,
		 (unsigned long long)p->stripes);
	return 0;
}

/* The pass got to rel sectors (md_do_sync's periodic checkpoint): the
 * members synced, then recovery_cp (a->resync_cp) moved, and while no write
 * has marked the array active the superblocks' resync_offset too, with
 * events + 1 (super_1_sync writes resync_offset 0 while writes are pending;
 * a->resync_cp then reaches the superblocks at close). */
static int pass_checkpoint(struct md_array *a, uint64_t rel, struct ok_err *e)
{
	if (a->resync_cp == MD_MAX_SECTOR || rel <= a->resync_cp)
		return 0; /* in sync, or nothing gained */
	/* the data first, then the checkpoint that vouches for it */
	int rc = md_array_sync(a, e);
	if (rc < 0)
		return rc;
	a->resync_cp = rel;
	if (a->active)
		return 0; /* super_1_sync: resync_offset 0 while not in_sync */
	a->ref.resync_offset = rel;
	a->ref.events++;
	a->ref.utime = (uint64_t)time(NULL);
	return md_array_sb_write_all(a, e);
}

/* The pass is over: a resync leaves the array in sync. */
static int pass_end(struct md_pass *p, struct md_array *a, struct ok_err *e)
{
	p->done = true;
	p->pos = p->stripes;
	int rc = md_array_sync(a, e); /* the data before the mark that vouches for it */
	if (rc < 0 || p->kind != MD_PASS_RESYNC)
		return rc;
	return md_array_mark_synced(a, e);
}

int md_pass_step(struct md_pass *p, struct md_array *a, uint64_t max_stripes, size_t budget,
		 struct ok_err *e)
{
	if (p->kind == MD_PASS_NONE || p->done)
		return 0;
	if (max_stripes == 0)
		max_stripes = 1;
	/* the next run of stripes that need it */
	while (p->pos < p->stripes && !stripe_needed(p, a, p->pos))
		p->pos++;
	if (p->pos >= p->stripes)
		return pass_end(p, a, e);
	uint64_t end = p->pos;
	while (end < p->stripes && end - p->pos < max_stripes && stripe_needed(p, a, end))
		end++;
	int rc = md_array_sync_range(a, p->rebuild || p->kind == MD_PASS_REPAIR, p->pos, end,
				     budget, &p->mismatches, e);
	if (rc < 0)
		return rc;
	p->synced += end - p->pos;
	p->pos = end;
	if (p->kind == MD_PASS_RESYNC && p->pos < p->stripes &&
	    (p->pos - p->ckpt > p->stripes / 16 ||
	     time(NULL) - p->ckpt_time >= PASS_CKPT_SECONDS)) {
		rc = pass_checkpoint(a, p->pos * a->geom.chunk_sectors, e);
		if (rc < 0)
			return rc;
		p->ckpt = p->pos;
		p->ckpt_time = time(NULL);
	}
	return 1;
}

int md_pass_stop(struct md_pass *p, struct md_array *a, struct ok_err *e)
{
	if (p->kind != MD_PASS_RESYNC || p->done || p->pos <= p->ckpt)
		return 0;
	/* md_do_sync interrupted: recovery_cp = curr_resync */
	int rc = pass_checkpoint(a, p->pos * a->geom.chunk_sectors, e);
	if (rc == 0)
		p->ckpt = p->pos;
	return rc;
}

void md_pass_progress(const struct md_pass *p, uint64_t *done, uint64_t *total)
{
	*total = p->total;
	*done = p->done ? p->total : p->synced;
}

const char *md_pass_name(const struct md_pass *p)
{
	return p->kind == MD_PASS_RESYNC ? "resync" : p->kind == MD_PASS_REPAIR ? "repair" : "none";
}

void md_pass_free(struct md_pass *p)
{
	free(p->bits);
	p->bits = NULL;
}
