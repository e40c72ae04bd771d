/*
 * resize.c: `mdraid grow --size=max|S`, a component size change of a RAID6
 * or RAID5 array after its members were enlarged, offline, leaving on disk
 * what mdadm 4.2's Grow_reshape and the kernel leave (reshape.h, "Component
 * size change", is the manual).
 *
 * Why here and not in reshape.c: nothing moves. The kernel's raid5_resize
 * only changes the array's size and marks the space it adds for resync;
 * the stripes below stay where they are. So this is the core's array
 * (md_array_open: member selection, safety checks, windows) plus three
 * kinds of superblock round and a ranged resync:
 *
 *   OPEN       sb: size S0, data_size D0, resync_offset MAX (clean)
 *     | (round DATA_SIZE: each member's data_size := what md's
 *     |  super_1_rdev_size_change writes for "size" = 0 (max) or S:
 *     |  device sectors - data_offset, or S; events unchanged)
 *     v
 *   SIZED      data_size D1 >= S1 on every member
 *     | (round SIZE: size := S1 (raid5_resize: rounded down to the chunk),
 *     |  resync_offset := S0 (recovery_cp = old dev_sectors), events + 1)
 *     v
 *   RESYNCING  stripes [resync_offset / chunk, S1 / chunk) get P/Q from
 *     |        their data (md_do_sync's resync); round CHECKPOINT after each
 *     |        batch: the data fdatasync'ed, then resync_offset := reached,
 *     |        events + 1 (md_do_sync's curr_resync_completed -> recovery_cp)
 *     | (round CLEAN: resync_offset := MAX, events + 1)
 *     v
 *   DONE
 *
 * Invariants: (1) no write touches a stripe below S0 (old data and its P/Q
 * stay as they were, so the content the array held is intact in every crash
 * state); (2) a superblock never says resync_offset = X before the P/Q of
 * every stripe below X are durable; (3) every round changes one field kind
 * only and events by at most one, so any torn round is a state md
 * assembles (members one event behind are taken, super_1_validate's ++ev1)
 * and resyncs from the freshest member's resync_offset, as it would after
 * its own crash. mdraid (`grow --continue`, or the same command again)
 * resumes a torn state: data_size written again where it differs, then the
 * resync from resync_offset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdraid.h"
#include "member.h"
#include "reshape.h"

struct resize {
	struct resize_opts opts;
	struct resize_plan plan;
	struct md_array a;
	int opened;
	int crashed; /* a simulated crash: the array is dropped, not closed */
	uint64_t data_size[MD_MAX_MEMBERS]; /* what each member's data_size becomes */
};

static int64_t now_secs(const struct resize *rs)
{
	return rs->opts.now ? rs->opts.now : (int64_t)time(NULL);
}

/* The member of slot s (present: the array refuses degraded resizes). */
static struct md_member *slot_member(struct resize *rs, int s)
{
	return &rs->a.m[rs->a.slot_member[s]];
}

/*
 * What md lets the component size grow to on this member: v1.1/1.2 keep
 * the superblock before the data, so everything after data_offset
 * (super_1_rdev_size_change's max_sectors).
 */
static uint64_t member_room(const struct md_member *m)
{
	return m->dev_sectors - m->sb.data_offset;
}

int resize_open(struct resize **out, const char *const *paths, int n,
		const struct resize_opts *opts, struct ok_err *e)
{
	struct resize *rs = calloc(1, sizeof *rs);
	*out = rs;
	if (!rs)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	rs->opts = *opts;
	unsigned fl = MD_OPEN_WRITE | (opts->force ? MD_OPEN_FORCE | MD_OPEN_ASSEMBLE_FORCE : 0) |
		      (opts->no_safety ? MD_OPEN_NO_SAFETY : 0);
	int rc = md_array_open(&rs->a, n, (char **)paths, fl, e);
	if (rc < 0)
		return rc;
	rs->opened = 1;
	struct md_array *a = &rs->a;
	a->crash_at = opts->crash_at == RESHAPE_CRASH_START   ? MD_CRASH_START
		      : opts->crash_at == RESHAPE_CRASH_FINAL ? MD_CRASH_FINAL
							      : 0;
	a->crash_write = opts->crash_write;
	const struct md_sb *ref = &a->ref;
	const char *p0 = a->m[a->ref_member].path;
	struct resize_plan *pl = &rs->plan;
	if (ref->major_version != 1 || ref->minor == 0)
		return ok_err_at(
		    e, -EPERM, p0, OK_ERR_NOPOS,
		    "--size with metadata %s (superblock at the end of each member: "
		    "md moves it to the new end) is not supported; nothing was written",
		    ref->major_version == 1 ? "1.0" : "0.90");
	if (ref->feature_map & (MD_F_PPL | MD_F_JOURNAL))
		return ok_err_at(e, -EPERM, p0, OK_ERR_NOPOS,
				 "the array has a PPL or journal: md's raid5_resize refuses it");
	if (a->has_bitmap)
		return ok_err_at(
		    e, -EPERM, p0, OK_ERR_NOPOS,
		    "the array has an internal bitmap: --size with a bitmap (md_bitmap_resize) is "
		    "not supported here; remove it first (mdadm --grow --bitmap=none)");
	if (a->missing)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "the array is degraded (%d missing): md cannot resync the space "
				 "a size change adds; rebuild first",
				 a->missing);
	for (int s = 0; s < a->geom.raid_disks; s++) {
		const struct md_member *m = slot_member(rs, s);
		if (m->sb.feature_map & (MD_F_RECOVERY_OFFSET | MD_F_REPLACEMENT))
			return ok_err_at(e, -EPERM, m->path, OK_ERR_NOPOS,
					 "member is being rebuilt or replaced; let that finish "
					 "first");
	}
	uint32_t cs = a->geom.chunk_sectors;
	uint64_t room = UINT64_MAX, want = opts->size_sectors;
	for (int s = 0; s < a->geom.raid_disks; s++) {
		uint64_t r = member_room(slot_member(rs, s));
		if (r < room)
			room = r;
	}
	/* mdadm: "component size must be larger than chunk size." */
	if (want && want < cs)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "component size must be larger than chunk size.");
	if (want > room)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "Cannot set device size: No space left on device (--size=%lluK, "
				 "the smallest member has room for %lluK)",
				 (unsigned long long)want / 2, (unsigned long long)room / 2);
	/* rdev_size_store: each member's data_size (max: all its room; S: S) */
	for (int s = 0; s < a->geom.raid_disks; s++) {
		uint64_t r = member_room(slot_member(rs, s));
		rs->data_size[s] = want ? want : r;
	}
	uint64_t target = (want ? want : room) & ~(uint64_t)(cs - 1); /* raid5_resize */
	pl->level = a->geom.level;
	pl->disks = a->geom.raid_disks;
	pl->chunk = cs;
	pl->old_size = ref->size;
	pl->new_size = target > ref->size ? target : ref->size;
	int nd = md_geom_data_disks(&a->geom);
	pl->old_array = ref->size / cs * cs * (uint64_t)nd;
	pl->new_array = pl->new_size * (uint64_t)nd;
	pl->resync_from = a->dirty ? ref->resync_offset : ref->size;
	if (pl->resync_from > ref->size && a->dirty)
		pl->resync_from = ref->size;
	pl->resuming = a->dirty;
	if (target < ref->size)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "--size=%lluK is below the current component size %lluK: "
				 "shrinking the component size is not supported (nothing was "
				 "written)",
				 (unsigned long long)target / 2, (unsigned long long)ref->size / 2);
	int sized = 1;
	for (int s = 0; s < a->geom.raid_disks; s++)
		sized &= slot_member(rs, s)->sb.data_size == rs->data_size[s];
	if (target == ref->size && sized && !a->dirty)
		return ok_err_at(e, -EALREADY, NULL, OK_ERR_NOPOS,
				 "component size unchanged at %lluK",
				 (unsigned long long)ref->size / 2);
	return 0;
}

const struct resize_plan *resize_plan(const struct resize *rs)
{
	return &rs->plan;
}

/* Write every member's superblock from a->ref (events, utime and
 * resync_offset as set there; each member's own fields kept), each
 * fdatasync'ed (md_sb_write). */
static int sb_round(struct resize *rs, struct ok_err *e)
{
	/* a torn SIZE round left some members at the old size: the freshest's
	 * (a->ref's) is the array's, as the kernel's super_1_validate takes it */
	for (int s = 0; s < rs->a.geom.raid_disks; s++)
		slot_member(rs, s)->sb.size = rs->a.ref.size;
	rs->a.ref.utime = (uint64_t)now_secs(rs);
	return md_array_sb_write_all(&rs->a, e);
}

static int resize_steps(struct resize *rs, struct ok_err *e);

/* The rounds, with --simulate-crash's stop (md_array_crash_point) turned
 * into a dropped array: nothing more is written after it. */
int resize_run(struct resize *rs, struct ok_err *e)
{
	int rc = resize_steps(rs, e);
	rs->crashed = rc == -ECANCELED;
	return rc;
}

/* OPEN -> SIZED -> RESYNCING -> DONE (the state machine at the top); the
 * START rounds (DATA_SIZE, SIZE) and the FINAL one (CLEAN) are marked in
 * a->crash_round for --simulate-crash. */
static int resize_steps(struct resize *rs, struct ok_err *e)
{
	struct md_array *a = &rs->a;
	struct resize_plan *pl = &rs->plan;
	int disks = a->geom.raid_disks, rc;
	a->crash_round = MD_CRASH_START;
	/* round DATA_SIZE: what writing md's dev-N/size attribute does to
	 * each superblock (super_1_rdev_size_change: data_size, checksum;
	 * events unchanged) */
	for (int s = 0; s < disks; s++) {
		struct md_member *m = slot_member(rs, s);
		if (m->sb.data_size == rs->data_size[s])
			continue;
		m->sb.data_size = rs->data_size[s];
		if ((rc = md_array_crash_point(a, e)) < 0 || (rc = md_member_sb_write(m, e)) < 0)
			return rc;
	}
	/* round SIZE: raid5_resize + md_update_sb */
	if (a->ref.size != pl->new_size) {
		uint64_t old = a->ref.size;
		a->ref.size = pl->new_size;
		if (a->ref.resync_offset > old)
			a->ref.resync_offset = old;
		a->ref.events++;
		if ((rc = sb_round(rs, e)) < 0)
			return rc;
		a->geom.dev_sectors = pl->new_size;
		a->dirty = true;
	}
	a->crash_round = 0;
	/* RESYNCING: P/Q of the added stripes, checkpointed */
	uint32_t cs = a->geom.chunk_sectors;
	uint64_t s0 = a->ref.resync_offset / cs, end = pl->new_size / cs;
	/* md_do_sync records its progress every 1/16 of the span (or 5 s):
	 * a checkpoint every sixteenth, at most 64 MiB of each member */
	uint64_t batch = rs->opts.batch_stripes;
	if (!batch) {
		batch = (end - s0 + 15) / 16;
		if (batch > (64u << 11) / cs)
			batch = (64u << 11) / cs;
	}
	if (!batch)
		batch = 1;
	uint64_t done = s0;
	if (rs->opts.progress)
		rs->opts.progress(rs->opts.progress_ctx, s0 * cs, end * cs);
	while (done < end) {
		uint64_t to = end - done < batch ? end : done + batch;
		if ((rc = md_array_resync_range(a, done, to, e)) < 0)
			return rc;
		done = to;
		if (rs->opts.progress)
			rs->opts.progress(rs->opts.progress_ctx, done * cs, end * cs);
		int stop = rs->opts.stop && *rs->opts.stop;
		if (done < end) {
			/* round CHECKPOINT: data durable first (invariant 2) */
			if ((rc = md_array_sync(a, e)) < 0)
				return rc;
			a->ref.resync_offset = done * cs;
			a->ref.events++;
			if ((rc = sb_round(rs, e)) < 0)
				return rc;
			pl->position = done * cs;
			if (stop)
				return -EINTR;
		}
	}
	/* round CLEAN */
	if ((rc = md_array_sync(a, e)) < 0)
		return rc;
	/* a->dirty: some member not clean (a torn CLEAN round: the freshest
	 * says clean, another not), so the round is written again */
	if (a->ref.resync_offset != MD_MAX_SECTOR || a->dirty) {
		a->ref.resync_offset = MD_MAX_SECTOR;
		a->ref.events++;
		a->crash_round = MD_CRASH_FINAL;
		if ((rc = sb_round(rs, e)) < 0)
			return rc;
	}
	a->dirty = false;
	pl->position = pl->new_size;
	return 0;
}

void resize_close(struct resize *rs)
{
	if (!rs)
		return;
	if (rs->opened && rs->crashed) {
		md_array_abandon(&rs->a);
	} else if (rs->opened) {
		struct ok_err ce;
		md_array_close(&rs->a, &ce);
	}
	free(rs);
}
