/*
 * scrub.c: whole-array passes over every stripe: check and repair (md's
 * sync_action check/repair, counting mismatch_cnt in 512-byte sectors per
 * mismatching 4 KiB block as the kernel's stripe_heads do), the initial
 * resync of create (P/Q written for every stripe), and rebuild of one
 * member onto a new disk with recovery_offset checkpoints.
 */
#include "mdraid_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

enum scrub_mode { SCRUB_CHECK, SCRUB_REPAIR, SCRUB_RESYNC };

/* Iterate windows over stripes [first, end) (rows sliced for huge chunks).
 * The whole-array passes mark the array active first; a ranged resync
 * (md_array_resync_range) leaves the superblocks to its caller. */
static int scrub_range(struct md_array *a, enum scrub_mode mode, md_report_fn report, void *ctx,
		       uint64_t first, uint64_t end, bool mark, size_t budget, struct ok_err *e)
{
	const struct md_geom *g = &a->geom;
	uint64_t cs = g->chunk_sectors, chunk = cs * 512, stripes = end;
	int n = g->raid_disks, nd = md_geom_data_disks(g);
	struct md_win w;
	int rc = 0;
	if (mark && mode != SCRUB_CHECK && (rc = md_array_mark_active(a, e)) < 0)
		return rc;
	if (md_win_init_budget(&w, a, budget ? budget : a->budget_bytes) < 0)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	a->mismatches = 0;
	if ((rc = md_win_sync(a, e)) < 0) {
		md_win_free(&w);
		return rc;
	}
	for (uint64_t s0 = first; s0 < stripes && rc == 0; s0 += w.ns_max) {
		uint64_t ns = stripes - s0 < w.ns_max ? stripes - s0 : w.ns_max;
		for (uint64_t r0 = 0; r0 < chunk && rc == 0; r0 += w.row_max) {
			uint32_t rlen = (uint32_t)(chunk - r0 < w.row_max ? chunk - r0 : w.row_max);
			md_win_set(&w, s0, ns, (uint32_t)r0, rlen);
			struct md_stripe st;
			for (uint64_t i = 0; i < ns; i++) {
				if (mode == SCRUB_RESYNC) {
					md_stripe_layout(g, s0 + i, &st);
					for (int k = 0; k < nd; k++)
						w.need[WIX(&w, st.data_dev[k], i)] = 1;
				} else {
					md_win_need_all(&w, i);
				}
			}
			md_win_read(&w, e);
			for (uint64_t i = 0; i < ns && rc == 0; i++) {
				md_stripe_layout(g, s0 + i, &st);
				uint8_t *p = md_win_ptr(&w, st.pd, i);
				uint8_t *q = st.qd >= 0 ? md_win_ptr(&w, st.qd, i) : NULL;
				if (mode == SCRUB_RESYNC) {
					/* data of absent members counts as zeros */
					for (int k = 0; k < nd; k++) {
						int d = st.data_dev[k];
						if (!w.have[WIX(&w, d, i)]) {
							memset(md_win_ptr(&w, d, i), 0, rlen);
							w.have[WIX(&w, d, i)] = 1;
						}
					}
					md_win_gen(&w, i, p, q);
					w.dirty[WIX(&w, st.pd, i)] = 1;
					if (q)
						w.dirty[WIX(&w, st.qd, i)] = 1;
					continue;
				}
				uint64_t lost = 0;
				rc = md_win_reconstruct(&w, i, &lost, e);
				if (rc < 0)
					break;
				/* a parity used to rebuild data cannot be checked */
				int nlost = 0;
				for (int k = 0; k < nd; k++)
					if (lost & (1ULL << st.data_dev[k]))
						nlost++;
				bool p_lost = lost & (1ULL << st.pd);
				bool q_lost = q && (lost & (1ULL << st.qd));
				bool check_p = nlost == 0 && !p_lost;
				bool check_q =
				    q && !q_lost && (nlost == 0 || (nlost == 1 && !p_lost));
				uint8_t *pp = w.scratch, *qq = w.scratch + w.row_max;
				md_win_gen(&w, i, pp, qq);
				for (uint32_t b = 0; b < rlen; b += 4096) {
					uint32_t bl = rlen - b < 4096 ? rlen - b : 4096;
					bool bp = check_p && memcmp(p + b, pp + b, bl) != 0;
					bool bq = check_q && memcmp(q + b, qq + b, bl) != 0;
					if (!bp && !bq)
						continue;
					a->mismatches += bl / 512;
					if (report)
						report(ctx,
						       (s0 + i) * (uint64_t)nd * cs +
							   (r0 + b) / 512,
						       bl / 512,
						       bp && bq ? "P+Q"
						       : bp	? "P"
								: "Q");
					if (mode == SCRUB_REPAIR) {
						if (bp) {
							memcpy(p + b, pp + b, bl);
							w.dirty[WIX(&w, st.pd, i)] = 1;
						}
						if (bq) {
							memcpy(q + b, qq + b, bl);
							w.dirty[WIX(&w, st.qd, i)] = 1;
						}
					}
				}
			}
			(void)n;
			if (rc == 0)
				rc = md_win_fix_reads(&w, e);
			if (rc == 0 && mode != SCRUB_CHECK) {
				uint64_t rel0 = s0 * cs + r0 / 512;
				uint64_t rel1 = (s0 + ns - 1) * cs + (r0 + rlen) / 512;
				rc = md_array_bitmap_mark(a, rel0, rel1 - rel0, e);
				if (rc == 0)
					rc = md_win_write(&w, e);
			}
		}
	}
	md_win_free(&w);
	return rc;
}

static int scrub(struct md_array *a, enum scrub_mode mode, md_report_fn report, void *ctx,
		 struct ok_err *e)
{
	return scrub_range(a, mode, report, ctx, 0, a->geom.dev_sectors / a->geom.chunk_sectors,
			   true, 0, e);
}

int md_array_check(struct md_array *a, bool repair, md_report_fn report, void *ctx,
		   struct ok_err *e)
{
	/* md's check rewrites blocks that fail to read, as every resync
	 * pass does; only mismatches are left alone */
	a->fix_reads = true;
	int rc = scrub(a, repair ? SCRUB_REPAIR : SCRUB_CHECK, report, ctx, e);
	a->fix_reads = false;
	return rc;
}

int md_array_resync(struct md_array *a, struct ok_err *e)
{
	int rc = scrub(a, SCRUB_RESYNC, NULL, NULL, e);
	if (rc == 0) {
		a->dirty = false; /* consistent now: close marks it clean */
		a->resync_cp = MD_MAX_SECTOR;
	}
	return rc;
}

int md_array_resync_range(struct md_array *a, uint64_t first, uint64_t end, struct ok_err *e)
{
	return md_array_sync_range(a, false, first, end, 0, NULL, e);
}

int md_array_sync_range(struct md_array *a, bool rebuild, uint64_t first, uint64_t end,
			size_t budget, uint64_t *mismatches, struct ok_err *e)
{
	uint64_t stripes = a->geom.dev_sectors / a->geom.chunk_sectors;
	if (end > stripes)
		end = stripes;
	if (!(a->flags & MD_OPEN_WRITE))
		return ok_err_at(e, -EBADF, NULL, OK_ERR_NOPOS, "array opened read-only");
	if (first >= end)
		return 0;
	/* a degraded stripe's parity is checked against the data the other
	 * parity rebuilds (handle_parity_checks6 with one failed), which is
	 * what repair's arithmetic does; else P/Q from the data alone */
	int rc = scrub_range(a, rebuild ? SCRUB_REPAIR : SCRUB_RESYNC, NULL, NULL, first, end,
			     false, budget, e);
	if (mismatches)
		*mismatches += rebuild ? a->mismatches : 0;
	if (rc == 0)
		rc = md_array_flush(a, e);
	return rc;
}

/* ---- rebuild ---- */

/* Make the superblock for a new member of slot on a device of dev_sectors
 * (dev_number devnum, or the lowest no present member uses when < 0). */
static void new_member_sb(const struct md_array *a, struct md_sb *sb, int slot,
			  uint64_t dev_sectors, uint64_t start, int devnum)
{
	const struct md_sb *ref = &a->ref;
	uint8_t raw[MD_SB_BLOCK];
	memcpy(raw, ref->raw, sizeof(raw));
	memcpy(sb, ref, sizeof(*sb));
	memcpy(sb->raw, raw, sizeof(raw));
	/* lowest dev_number no present member uses */
	bool used[MD_SB_MAX_DEV] = {false};
	for (int i = 0; i < a->nmembers; i++)
		if (a->m[i].has_sb && a->m[i].sb.dev_number < MD_SB_MAX_DEV)
			used[a->m[i].sb.dev_number] = true;
	uint32_t dn = 0;
	while (dn + 1 < ref->max_dev && used[dn])
		dn++;
	if (devnum >= 0)
		dn = (uint32_t)devnum;
	sb->dev_number = dn;
	sb->dev_roles[dn] = (uint16_t)slot;
	md_random(sb->device_uuid, 16);
	sb->feature_map &= ~(uint32_t)(MD_F_RECOVERY_OFFSET | MD_F_REPLACEMENT | MD_F_BAD_BLOCKS);
	sb->feature_map |= MD_F_RECOVERY_OFFSET;
	sb->recovery_offset = start;
	sb->cnt_corrected_read = 0;
	sb->devflags = 0;
	sb->dev_sectors = dev_sectors;
	sb->super_offset = md_sb_location(ref->minor, dev_sectors);
	if (ref->major_version == 0) /* 0.90: data up to the superblock */
		sb->data_size = sb->super_offset;
	else if (ref->minor == 0)
		sb->data_size = sb->super_offset - sb->data_offset -
				(ref->super_offset - ref->data_offset - ref->data_size);
	else
		sb->data_size = dev_sectors - sb->data_offset;
}

int md_array_rebuild(struct md_array *a, int slot, const char *path, uint64_t stop_after_rel,
		     struct ok_err *e)
{
	return md_array_rebuild_dev(a, slot, path, stop_after_rel, -1, e);
}

int md_array_rebuild_dev(struct md_array *a, int slot, const char *path, uint64_t stop_after_rel,
			 int devnum, struct ok_err *e)
{
	const struct md_geom *g = &a->geom;
	if (devnum >= 0 && (uint32_t)devnum >= a->ref.max_dev)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS, "dev_number %d beyond max_dev %u",
				 devnum, a->ref.max_dev);
	if (!(a->flags & MD_OPEN_WRITE))
		return ok_err_at(e, -EBADF, NULL, OK_ERR_NOPOS, "array opened read-only");
	if (slot < 0 || slot >= g->raid_disks)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "slot %d: expected 0..%d", slot,
				 g->raid_disks - 1);
	if (a->slot_member[slot] >= 0)
		return ok_err_at(e, -EBUSY, a->m[a->slot_member[slot]].path, OK_ERR_NOPOS,
				 "holds slot %d already: nothing to rebuild", slot);
	int rc0 = md_win_sync(a, e);
	if (rc0 < 0)
		return rc0;
	/* open the new member as array.c opens members */
	struct md_member *nm = realloc(a->m, (size_t)(a->nmembers + 1) * sizeof(*nm));
	if (!nm)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	a->m = nm;
	int mi = a->nmembers;
	struct md_member *m = &a->m[mi];
	memset(m, 0, sizeof(*m));
	m->fd = m->fd_buf = -1;
	snprintf(m->path, sizeof(m->path), "%s", path);
	int flags = O_RDWR | O_CLOEXEC;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
		flags |= O_EXCL; /* fails while the kernel or a mount holds it */
	m->fd = (a->flags & MD_OPEN_NO_DIRECT) ? -1 : open(path, flags | O_DIRECT);
	m->direct = m->fd >= 0;
	if (m->fd < 0)
		m->fd = open(path, flags);
	if (m->fd < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS,
				 errno == EBUSY ? "in use (opened exclusively by the kernel or "
						  "another program)"
						: "cannot open");
	a->nmembers++;
	if (flock(m->fd, LOCK_EX | LOCK_NB) < 0)
		return ok_err_at(e, -EBUSY, path, OK_ERR_NOPOS, "locked by another program");
	int rc;
	if (!(a->flags & MD_OPEN_NO_SAFETY) && (rc = md_safety_check(path, m->fd, e)) < 0)
		return rc;
	int64_t size = io_size(m->fd);
	if (size < 0)
		return ok_err_at(e, (int)size, path, OK_ERR_NOPOS, "cannot get the size");
	m->dev_sectors = (uint64_t)size / 512;
	const struct md_sb *ref = &a->ref;
	/* 0.90 has no recovery_offset: a member being rebuilt carries no
	 * superblock until it is complete (the kernel records it as a spare and
	 * restarts from 0 as well), so there are no checkpoints to resume from */
	bool v090 = ref->major_version == 0;
	uint64_t need =
	    v090 ? ref->size
	    : ref->minor == 0
		? ref->size + (ref->super_offset - ref->data_offset - ref->data_size) + 16 + 8
		: ref->data_offset + ref->size;
	if (v090 && md_sb_090_location(m->dev_sectors) < need)
		need += m->dev_sectors - md_sb_090_location(m->dev_sectors) + 1;
	if (m->dev_sectors < need || m->dev_sectors < 24)
		return ok_errc_at(e, OK_CLASS_REFUSED, -ENOSPC, path, OK_ERR_NOPOS,
				  "too small: %llu sectors, the array needs %llu",
				  (unsigned long long)m->dev_sectors, (unsigned long long)need);
	/* resume an interrupted rebuild of this slot */
	uint64_t start = 0;
	struct md_sb old;
	struct ok_err ign;
	if (md_sb_read(m->fd, path, ref->minor, &old, &ign) == 0) {
		old.dev_sectors = m->dev_sectors;
		bool same = memcmp(old.set_uuid, ref->set_uuid, 16) == 0;
		if (!same && !(a->flags & MD_OPEN_FORCE))
			return ok_err_at(e, -EPERM, path, (long long)(old.super_offset * 512),
					 "holds a superblock of another array (use --force to "
					 "overwrite it)");
		if (same && (old.feature_map & MD_F_RECOVERY_OFFSET) &&
		    md_sb_role(&old) == (unsigned)slot && md_sb_validate(&old, path, &ign) == 0)
			start = old.recovery_offset / g->chunk_sectors * g->chunk_sectors;
	}
	new_member_sb(a, &m->sb, slot, m->dev_sectors, start, devnum);
	m->has_sb = true;
	m->slot = slot;
	m->valid_below_rel = start;
	a->slot_member[slot] = mi;
	a->missing--;
	/* copy the bitmap (super and bits) from the reference member */
	if (a->has_bitmap) {
		struct md_member *rm = &a->m[a->ref_member];
		size_t bytes = (size_t)md_bitmap_bytes(&a->bm, 4096);
		uint8_t *buf = io_alloc(bytes);
		if (!buf)
			return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		rc = md_member_pread(a, rm->slot, buf, bytes, rm->bm.start * 512, e);
		m->bm = rm->bm;
		m->bm.start = (uint64_t)((int64_t)m->sb.super_offset + m->sb.bitmap_offset);
		if (rc == 0)
			rc = md_member_pwrite(a, slot, buf, bytes, m->bm.start * 512, e);
		io_free(buf);
		if (rc < 0)
			return rc;
	}
	if (v090) {
		/* no half-built member may look like one: drop its old superblock */
		uint8_t *z = io_alloc(MD_SB_BLOCK);
		if (!z)
			return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		memset(z, 0, MD_SB_BLOCK);
		rc = md_member_pwrite(a, slot, z, MD_SB_BLOCK, m->sb.super_offset * 512, e);
		io_free(z);
		if (rc == 0 && io_fdatasync(m->fd) < 0)
			rc = ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot sync");
		if (rc < 0)
			return rc;
	} else {
		a->ref.events++;
		a->ref.utime = (uint64_t)time(NULL);
		a->crash_round = MD_CRASH_START; /* the round that adds the member */
		rc = md_array_sb_write_all(a, e);
		a->crash_round = 0;
		if (rc < 0)
			return rc;
	}
	/* copy stripe by window; checkpoint every 256 MiB of member data or 5 s */
	uint64_t cs = g->chunk_sectors, chunk = cs * 512, stripes = g->dev_sectors / cs;
	struct md_win w;
	if (md_win_init(&w, a) < 0)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	uint64_t last_ck = start;
	time_t last_t = time(NULL);
	bool stopped = false;
	for (uint64_t s0 = start / cs; s0 < stripes && rc == 0 && !stopped; s0 += w.ns_max) {
		uint64_t ns = stripes - s0 < w.ns_max ? stripes - s0 : w.ns_max;
		if (stop_after_rel != UINT64_MAX && (s0 + ns) * cs > stop_after_rel)
			ns =
			    stop_after_rel > s0 * cs ? (stop_after_rel - s0 * cs + cs - 1) / cs : 1;
		for (uint64_t r0 = 0; r0 < chunk && rc == 0; r0 += w.row_max) {
			uint32_t rlen = (uint32_t)(chunk - r0 < w.row_max ? chunk - r0 : w.row_max);
			md_win_set(&w, s0, ns, (uint32_t)r0, rlen);
			for (uint64_t i = 0; i < ns; i++) {
				md_win_need_all(&w, i);
				w.need[WIX(&w, slot, i)] = 0;
			}
			md_win_read(&w, e);
			for (uint64_t i = 0; i < ns && rc == 0; i++) {
				w.have[WIX(&w, slot, i)] = 0;
				rc = md_win_reconstruct(&w, i, NULL, e);
				w.dirty[WIX(&w, slot, i)] = 1;
			}
			if (rc == 0)
				rc = md_win_fix_reads(&w, e);
			if (rc == 0)
				rc = md_win_write(&w, e);
		}
		uint64_t done = (s0 + ns) * cs;
		if (rc == 0 && done >= stop_after_rel)
			stopped = true;
		if (rc == 0 && !v090 &&
		    (stopped || done - last_ck >= (256u << 11) || time(NULL) - last_t >= 5) &&
		    done < g->dev_sectors) {
			/* data first, then the checkpoint that vouches for it */
			if (io_fdatasync(m->fd) < 0)
				rc = ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot sync");
			m->sb.recovery_offset = done;
			m->valid_below_rel = done;
			if (rc == 0)
				rc = md_sb_write(m->fd, path, &m->sb, e);
			last_ck = done;
			last_t = time(NULL);
		}
	}
	md_win_free(&w);
	if (rc < 0 || stopped)
		return rc;
	if (io_fdatasync(m->fd) < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot sync");
	m->sb.feature_map &= ~(uint32_t)MD_F_RECOVERY_OFFSET;
	m->sb.recovery_offset = 0;
	m->valid_below_rel = UINT64_MAX;
	a->ref.events++;
	a->ref.utime = (uint64_t)time(NULL);
	a->crash_round = MD_CRASH_FINAL; /* the round that ends the rebuild */
	rc = md_array_sb_write_all(a, e);
	a->crash_round = 0;
	return rc;
}
