/*
 * reshape.c: grow an md RAID6/RAID5 array by whole members, or change its
 * chunk or layout, offline and crash-safely, in the kernel's on-disk
 * mid-reshape format (reshape.h is the manual; the format is md_p.h's and
 * raid5.c's, the procedure mdadm's Grow.c); and convert a RAID5 to RAID6
 * without a restripe (open_takeover, takeover_run: a level round, then the
 * core's rebuild computes Q, as md's recovery does after raid6_takeover).
 *
 * Why we wrote it: the kernels this toolkit serves cannot reshape RAID6
 * ("Cannot set device size/shape ... Invalid argument"), and mdadm's
 * restripe.c only knows how to save and restore the critical section; the
 * bulk of a reshape is the kernel's reshape_request(). Here both halves run
 * in user space, with large sequential I/O over many stripes per step.
 * Superblocks go through the core's struct md_sb (superblock.c, super0.c):
 * one decoder and encoder for v1.x and 0.90 alike. A 0.90 array (minor
 * version 91 while reshaping, superblock at the end, data from sector 0) has
 * no data_offset to move, so its grow always takes a backup (file or new
 * member), exactly as mdadm's does.
 *
 * Divisions (keep them): design notes; superblock bytes; geometry (the
 * syndrome is mdraid/pq's pq_gen/pq_xor over slots in the kernel's order);
 * members and preconditions (reshape_open); buffers and parallel I/O;
 * backup (save, find, restore, invalidate); checkpoints; the step loop
 * (reshape_run); assert_reshape_ok.
 *
 * ------------------------------------------------------------------------
 * Design notes
 *
 * Terms (sectors unless said): cs new chunk, ocs old chunk (equal unless
 * the chunk changes); od, nd old and new data disks; a "row" is one chunk on
 * every member at one device offset, i.e. one stripe; new row w holds array
 * sectors [w·nd·cs, (w+1)·nd·cs), old row r [r·od·ocs, (r+1)·od·ocs);
 * unit = max(cs, ocs)·nd, the step of every position. When the chunks
 * differ a step lays its data out in array order (lbuf) first. pos is the
 * reshape position (array sector, below it new geometry); dpos the DURABLE
 * pos (what the superblocks say after the last checkpoint). doff_old is
 * data_offset, doff_new = doff_old + new_offset (new_offset <= 0, 0 unless
 * NEW_OFFSET); shift = doff_old - doff_new. B = backup_blocks. prot is the
 * position a restart resumes from: max(dpos, B) while a durable backup of
 * [0, B) is valid, else dpos. L(p) = p / (od·ocs), the first old row that
 * still holds data at or above array sector p.
 *
 * States and transitions (function in brackets):
 *
 *   IDLE --------(backup methods: save_backup)--------> BACKED_UP
 *     |  old geometry, no RESHAPE_ACTIVE                 | backup durable,
 *     |                                                  | members untouched
 *     +----(sb_round START: new members first)-----------+
 *     v
 *   CRITICAL  RESHAPE_ACTIVE, dpos = 0, backup valid   (NEW_OFFSET: skipped,
 *     | (move_rows, then checkpoint at pos >= B)         straight to MOVING)
 *     v
 *   PAST_B ---(invalidate_backup: header length 0)---> MOVING
 *   MOVING   dpos > 0; steps of k new rows, checkpoint when the next step
 *     |      would pass the write limit, every checkpoint_secs, or on stop
 *     | (checkpoint at pos = new array size)
 *     v
 *   MOVED    dpos = end, all data in the new geometry
 *     | (sb_round FINAL: data_offset = doff_new, bits 4/64 cleared)
 *     v
 *   DONE     raid_disks N, clean
 *
 * Continuing (reshape_open with an on-disk RESHAPE_ACTIVE, by mdraid or the
 * kernel before us) enters CRITICAL through restore_backup when dpos < B
 * (the backup is written into the new geometry, then dpos := B), otherwise
 * MOVING at dpos; a torn FINAL round (some superblocks done, the rest still
 * saying RESHAPE_ACTIVE) re-runs just the FINAL round.
 *
 * Invariants (checked by assert_reshape_ok() and check_write() in debug
 * builds):
 *  (1) pos and dpos are multiples of unit (the kernel refuses anything
 *      else: "reshape_position not on a stripe boundary"); dpos <= pos.
 *  (2) No write to an old member touches a device sector at or above
 *      doff_old + L(prot)·ocs while prot < old array size: old-geometry data
 *      at or above the restart position stays intact, so the kernel and
 *      mdraid can resume from the superblocks alone (or from the backup).
 *      Hence a new row w may be written only if (w+1)·cs <= L(prot)·ocs +
 *      shift (rounded down to whole units).
 *  (3) A checkpoint is: fdatasync every member (the data of the rows below
 *      pos), then write every superblock (pos, events + 1, utime), then
 *      fdatasync every member. So a durable dpos never names rows whose
 *      data is not durable.
 *  (4) The backup is durable (data, then header, each fdatasync'ed) before
 *      any superblock says RESHAPE_ACTIVE; it is invalidated (header length
 *      0, as mdadm's forget_backup) only after a checkpoint with dpos >= B.
 *  (5) While the backup is valid nothing writes over it (method
 *      BACKUP_MEMBER: it sits at doff + size - B - 16 .. doff + size on the
 *      new members, which only the last rows reach; we refuse B >= size/2).
 *  (6) The START round's utime equals the backup's mtime (mdadm's restart
 *      window is [mtime - 10 min, mtime + 2 h]).
 *  (7) Every member carries the same data_offset / new_offset pair (the
 *      kernel takes one min_offset_diff for all).
 *  (8) At dpos >= B (or with NEW_OFFSET at any dpos) the kernel's raid5_run
 *      check passes: pos/unit·c < pos/(c·od)·c + shift, c = max(cs, ocs);
 *      at constant members (a chunk change) it asks shift >= c instead.
 *  (9) Rows in [dpos, pos) may be torn by a crash; nothing reads them before
 *      they are rewritten: every resume re-derives them from old rows that
 *      (2) kept intact, or from the backup.
 * (10) No write touches old rows being read ahead (read_old_rows): a step's
 *      writes end at or below its last old row, inside the window, and the
 *      read ahead starts at the window's end.
 * (11) A checkpoint the next step carries (checkpoint_ride: forwards, no
 *      backup, no bitmap) keeps (3)'s first half (every member's data below
 *      pos durable before any superblock is written), but each member's
 *      superblock is written and flushed by that member's job of the step,
 *      just before its data: a member's writes past the old window start
 *      once its own superblock names the new position, not every member's.
 *      A crash may then leave members one event apart; the kernel
 *      (super_1_validate) and mdadm --assemble take those and the freshest
 *      member's position, which is the new one wherever a write past the old
 *      window can have landed, so (2) holds for the position they resume
 *      from. No other round runs while such a checkpoint is pending.
 *
 * Reads never depend on rows this run wrote: a step at new row w reads old
 * rows >= L(w·nd·cs) >= w, and the rows written so far sit below w - shift/cs.
 *
 * Backwards (a shrink, nd < od; or a chunk or layout change with more
 * room after the data, nd = od; reshape.h): the same machine with the
 * direction fixed the other way, as raid5.c's reshape_request with
 * reshape_backwards. pos starts at the new array size and counts down to
 * 0; below pos the old geometry at doff_old, at and above it the new one
 * at doff_new = doff_old + shift (data moves UP, new_offset > 0, no
 * backup: states IDLE -> MOVING -> MOVED -> DONE). A step writes new rows
 * [w - k, w) (write_floor instead of write_limit); invariant (1) reads
 * dpos >= pos, and:
 *  (2b) No write touches an old row holding an array sector below dpos:
 *      new row w lands on old row w + shift/cs, so w may be written only
 *      if (w + shift/cs)·od·cs >= dpos (rounded up to whole units).
 *  (8b) raid5_run's backwards check (here_new·c + shift > here_old·c)
 *      holds at every position since shift > 0: the kernel can continue
 *      every checkpoint, position 0 included.
 * md marks a shrink by delta_disks < 0 alone and a backwards change at
 * constant members by RESHAPE_BACKWARDS (super_1_sync writes that bit only
 * at delta_disks 0); mdraid writes the same.
 * Reads are below what was written: new rows [w - k, w) read old rows
 * < L(w·nd·cs) + 1 <= w < w + shift/cs. The end rounds are the grow's
 * (ROUND_OFFSET at position 0, then FINAL, which also makes the removed
 * members spares); a torn ROUND_OFFSET is one the kernel refuses at
 * position 0 (min_offset_diff 0) and --continue finishes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>

#include "io.h"
#include "iopool.h"
#include "mdraid.h"
#include "pq.h"
#include "mdraid_int.h"
#include "reshape.h"
#include "super0.h"

/* ------------------------------------------------------------------ */
/* Superblocks: the core's struct md_sb (superblock.c for v1.x, super0.c for
 * 0.90), so one decoder and one encoder serve every verb. */

/* Byte offsets of v1.x fields (md_p.h's struct mdp_superblock_1), only to name the place in error
 * messages; a 0.90 block is named by its start. */
enum sb_field {
	SB_FEATURE = 8,
	SB_PAD0 = 12,
	SB_LEVEL = 72,
	SB_LAYOUT = 76,
	SB_CHUNK = 88,
	SB_RAID_DISKS = 92,
	SB_NEW_LEVEL = 100,
	SB_NEW_CHUNK = 120,
	SB_RESHAPE_POS = 104,
	SB_DELTA = 112,
	SB_NEW_OFFSET = 124,
	SB_RESYNC = 208,
};

#define SB_BLOCK MD_SB_BLOCK /* bytes read and written at super_offset */

/* Role of dev_number in a superblock's table (faulty when out of range). */
static uint16_t sb_role(const struct md_sb *sb, uint32_t dev_number)
{
	if (dev_number >= sb->max_dev || dev_number >= MD_SB_MAX_DEV)
		return MD_ROLE_FAULTY;
	return sb->dev_roles[dev_number];
}

/* ------------------------------------------------------------------ */
/* Geometry */

/* The counts a step needs; the stripe layout itself (every md layout but
 * DDF's: which member holds data block k, P, Q, and the syndrome order) is
 * the core's md_stripe_layout() on struct md_geom (geometry.c). */
struct geo {
	int disks; /* members */
	int ndata; /* data members per stripe */
};

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

uint64_t reshape_backup_blocks(uint32_t ochunk, uint32_t nchunk, int odata, int ndata)
{
	uint64_t a = (uint64_t)ochunk * (uint64_t)odata;
	uint64_t b = (uint64_t)nchunk * (uint64_t)ndata;
	if (!a || !b)
		return 0;
	return a / gcd64(a, b) * b;
}

/* ------------------------------------------------------------------ */
/* Members and preconditions */

/* A member as the grow sees it: the member layer's record (member.h: path,
 * fds, size, superblock as read or last written) and what the plan adds. */
struct member {
	struct md_member *mm;  /* r->mm[i]: opened and checked by member.c */
	uint64_t super_offset; /* sectors */
	int minor;	       /* 0, 1, 2 (v1.minor) or 90 (0.90/0.91); -1 if none */
	int ours;	       /* holds this array's superblock */
	uint64_t events;
	uint32_t feature;
	uint32_t dev_number;
	int slot;	      /* role in the new geometry, -1 unknown */
	int is_new;	      /* no old data: slot >= old_disks */
	int absent;	      /* given as "missing" */
	int bm_fresh;	      /* new member: the whole bitmap is still to be written */
	int spare_done;	      /* shrink, torn end: already written as a spare */
	uint64_t data_offset; /* as on disk */
	uint64_t data_size;   /* as on disk */
	struct stat st;
};

/* One member's transfer for the reshape's I/O threads (rs_io_run). */
struct rs_job {
	struct md_io io;
	int sync_after;	   /* then fdatasync the member */
	const uint8_t *sb; /* first: this superblock block written and flushed
			      (a checkpoint carried by the step, invariant 11) */
	uint64_t sb_byte;  /* where: the member's super_offset in bytes */
};

struct backup_dest {
	int fd;		   /* file or new member */
	uint64_t devstart; /* sector where the data starts */
	int second_copy;   /* a header copy also follows the data (on a member) */
};

struct reshape {
	struct reshape_opts opts;
	struct reshape_plan plan;
	struct member m[RESHAPE_MAX_DISKS];
	struct md_member mm[RESHAPE_MAX_DISKS]; /* m[i].mm: contiguous for md_members_select */
	int nm;
	struct member *slot[RESHAPE_MAX_DISKS]; /* by role in the new geometry */
	struct md_sb *master;			/* freshest superblock: the array-wide fields */
	struct md_sb *build;			/* scratch: one member's superblock being written */
	int has_bitmap;	     /* internal write-intent bitmap (kept, see bitmap_round) */
	struct md_bitmap bm; /* its superblock, from the freshest member */
	uint8_t *bm_full;    /* the freshest member's whole bitmap (super + bits) */
	uint64_t bm_len;     /* its bytes, rounded to 4 KiB */
	struct geo og, ng;
	struct md_geom ogm, ngm; /* old and new geometry for md_stripe_layout() */
	uint32_t cs;		 /* new chunk sectors */
	uint64_t csb;		 /* new chunk bytes */
	uint32_t ocs;		 /* old chunk sectors (= cs unless the chunk changes) */
	uint64_t ocsb;		 /* old chunk bytes */
	uint64_t rows;		 /* size / cs: new rows per member */
	uint64_t unit;		 /* positions step by max(ocs, cs) * new data disks (raid5_run) */
	uint64_t wstep;		 /* new rows per unit */
	uint64_t doff_old, doff_new, shift; /* shift = |doff_new - doff_old| */
	int back;	    /* a shrink: the reshape runs backwards (reshape.h, Shrink) */
	int nslots;	    /* slots in use while reshaping: max(old, new) raid_disks */
	uint64_t pos, dpos; /* array sectors: reached, durable */
	int backup_valid;   /* a durable valid backup of [bk_start, bk_end) exists */
	uint64_t bk_start, bk_end;
	struct backup_dest bd[RESHAPE_MAX_DISKS];
	int nbd;
	char backup_path[PATH_MAX];
	int backup_created;
	int dirty;			       /* continuing a reshape the kernel left active */
	uint64_t step_rows;		       /* k: new rows per step */
	uint64_t old_rows_max;		       /* S: old rows one step may need */
	uint8_t *rbuf[RESHAPE_MAX_DISKS];      /* per old member two halves of 2S rows */
	uint8_t *rb[RESHAPE_MAX_DISKS];	       /* old row win_r0 in the current half */
	uint64_t win_r0, win_r1;	       /* old rows [win_r0, win_r1) are loaded */
	int half;			       /* the half rb points into */
	int pf_busy;			       /* old rows [pf_r0, pf_r1) being read ahead */
	uint64_t pf_r0, pf_r1;		       /* into the other half, S rows in */
	int pf_n, pf_slot[RESHAPE_MAX_DISKS];  /* its jobs' members */
	struct rs_job *pf_jobs;		       /* RESHAPE_MAX_DISKS jobs */
	uint8_t *wbuf[RESHAPE_MAX_DISKS];      /* new rows per new member */
	struct iovec *wiov[RESHAPE_MAX_DISKS]; /* k buffers per new member (move_rows) */
	uint8_t *lbuf;			       /* array data in logical order (backup) */
	uint8_t *zero;			       /* one zero chunk */
	struct md_pool *rpool, *wpool;	       /* I/O threads: old members, new members */
	struct md_sb *sbn;		       /* ROUND_CHECKPOINT: each slot's next sb */
	uint8_t *sbuf;			       /* and its block, SB_BLOCK per slot */
	int data_synced;      /* the last move_rows flushed its writes (sync_after) */
	int ckpt_ride;	      /* sb_round: build ROUND_CHECKPOINT's blocks, write none */
	int sb_pending;	      /* sbn/sbuf: a checkpoint the next move_rows carries */
	uint64_t dpos_prev;   /* dpos before that checkpoint (restored if it fails) */
	uint64_t read_errors; /* 4 KiB blocks that did not read (rebuilt) */
	char rerr_first[320]; /* the first of them: "member: offset N" */
	double last_ckpt;
	int crash_count;   /* superblock writes so far in the round --simulate-crash names */
	char forced[4096]; /* what --force did to stale members (md_force_plan_text) */
	int q_devnum;	   /* takeover: the Q member's dev_number */
};

/* Where field f of m's superblock sits, for error messages. */
static long long sb_at(const struct member *m, enum sb_field f)
{
	return (long long)m->super_offset * 512 + (m->minor == 90 ? 0 : (long long)f);
}

/* The position a reshape ends at: the new array's end forwards, 0 for a
 * shrink (backwards: raid5_start_reshape starts it at raid5_size). */
static uint64_t end_pos(const struct reshape *r)
{
	return r->back ? 0 : r->plan.new_array;
}

static int64_t now_secs(const struct reshape *r)
{
	return r->opts.now ? r->opts.now : (int64_t)time(NULL);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Open one member for I/O with the member layer every verb uses
 * (md_member_open: O_DIRECT where the file system has it, O_EXCL on block
 * devices, a flock so two mdraid runs cannot interleave, and
 * md_safety_check: a member in a running md array, held by another
 * device, mounted or backing a loop device is refused, -EBUSY); flags is
 * MD_OPEN_WRITE, or 0 for --dry-run's read-only look. */
static int member_open(struct member *m, const char *path, unsigned flags, struct ok_err *e)
{
	if (snprintf(m->mm->path, sizeof m->mm->path, "%s", path) >= (int)sizeof m->mm->path)
		return ok_err_at(e, -ENAMETOOLONG, path, OK_ERR_NOPOS, "path too long");
	m->minor = -1;
	m->slot = -1;
	if (stat(path, &m->st) < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot stat member");
	return md_member_open(m->mm, flags, e);
}

/* The fields of the superblock the checks use often, kept beside it. */
static void member_take_sb(struct member *m)
{
	const struct md_sb *sb = &m->mm->sb;
	m->super_offset = sb->super_offset;
	m->events = sb->events;
	m->feature = sb->feature_map;
	m->dev_number = sb->dev_number;
	m->data_offset = sb->data_offset;
	m->data_size = sb->data_size;
}

/* Find this member's superblock with the core's reader (v1.2, 1.1, 1.0,
 * then 0.90) and keep it only if it would load: a right checksum (and, for
 * 0.90, super_90_load's checks). Leaves m->minor = -1 when there is none. */
static int member_find_sb(struct member *m, struct ok_err *e)
{
	struct md_sb *sb = &m->mm->sb;
	if (m->mm->dev_sectors < 64)
		return 0;
	int rc = md_sb_read(m->mm->fd, m->mm->path, -1, sb, e);
	if (rc == -ENOENT || rc == -EPROTONOSUPPORT)
		return 0;
	if (rc < 0)
		return rc;
	if (sb->major_version == 1 ? sb->max_dev > MD_SB_MAX_DEV || sb->sb_csum != sb->csum_calc
				   : md_sb0_validate(sb, m->mm->path, NULL) < 0)
		return 0;
	m->minor = sb->major_version == 1 ? sb->minor : 90;
	m->mm->has_sb = true;
	member_take_sb(m);
	return 0;
}

/* Any md magic (0.90 or 1.x) anywhere a superblock could be: a new member
 * holding one belongs to some array and needs --force. */
static int member_has_foreign_magic(struct member *m)
{
	uint64_t locs[4] = {0, 8, md_sb_location(0, m->mm->dev_sectors),
			    md_sb_090_location(m->mm->dev_sectors)};
	uint8_t *b = io_alloc(SB_BLOCK);
	int found = 0;
	for (int i = 0; b && i < 4 && !found; i++) {
		if (m->mm->dev_sectors < 256)
			break;
		if (io_pread_full(m->mm->fd, b, SB_BLOCK, (off_t)(locs[i] * 512)) != SB_BLOCK)
			continue;
		found = md_le32(b) == MD_SB_MAGIC;
	}
	io_free(b);
	return found;
}

/* mdadm's getinfo_super1 space_before for 1.1/1.2: room below data_offset
 * after the superblock (+72 sectors, as the kernel), bitmap and bad-block
 * log. 1.0 has none. */
static uint64_t space_before(const struct reshape *r, const struct md_sb *sb, int minor)
{
	uint64_t doff = sb->data_offset, so = sb->super_offset;
	if (minor != 1 && minor != 2)
		return doff;
	uint64_t earliest = so + 72;
	if (r->has_bitmap && sb->bitmap_offset > 0 &&
	    so + (uint64_t)sb->bitmap_offset + r->bm_len / 512 > earliest)
		earliest = so + (uint64_t)sb->bitmap_offset + r->bm_len / 512;
	int32_t bbo = sb->bblog_offset;
	uint16_t bbs = sb->bblog_size;
	if (bbo && bbs && so + (uint64_t)(int64_t)bbo + bbs > earliest)
		earliest = so + (uint64_t)(int64_t)bbo + bbs;
	return doff > earliest ? doff - earliest : 0;
}

/* mdadm 4.2's choose_offset (Grow.c): a new data_offset in [min, max],
 * near the middle of [lo, hi], aligned to as large a power of two (up to
 * 1 MiB) as the bounds allow. */
static uint64_t choose_offset(uint64_t lo, uint64_t hi, uint64_t min, uint64_t max)
{
	uint64_t choice = (lo + hi) / 2;
	for (uint64_t bit = 1; bit < 2 * 1024; bit <<= 1) {
		if (!(bit & choice))
			continue;
		uint64_t bigger = choice + bit, smaller = choice - bit;
		if (bigger > max && smaller < min)
			break;
		if (bigger > max)
			choice = smaller;
		else if (smaller < min)
			choice = bigger;
		else if (hi - bigger > smaller - lo)
			choice = bigger;
		else
			choice = smaller;
	}
	return choice;
}

/* mdadm 4.2's getinfo_super1 space_before / space_after, as it computes
 * them (for 1.1/1.2 its bitmap end is bitmap_offset + bitmap size, not
 * counted from the superblock), since mdadm's choice of the new data_offset
 * depends on them. 1.0: all of data_offset before; after, up to the first
 * of the superblock, its bitmap and its bad-block log (both below it).
 * 0.90: none. */
static void mdadm_space(const struct reshape *r, const struct member *m, uint64_t *before,
			uint64_t *after)
{
	const struct md_sb *sb = &m->mm->sb;
	uint64_t doff = sb->data_offset, so = sb->super_offset, earliest = so + (32 + 4) * 2;
	*before = *after = 0;
	if (m->minor == 0) {
		uint64_t end = so;
		if (sb->bblog_offset && sb->bblog_size &&
		    so + (uint64_t)(int64_t)sb->bblog_offset < end)
			end = so + (uint64_t)(int64_t)sb->bblog_offset;
		if ((sb->feature_map & MD_F_BITMAP_OFFSET) &&
		    so + (uint64_t)(int64_t)sb->bitmap_offset < end)
			end = so + (uint64_t)(int64_t)sb->bitmap_offset;
		*before = doff;
		*after = doff + sb->size < end ? end - sb->size - doff : 0;
		return;
	}
	if (m->minor != 1 && m->minor != 2)
		return;
	if (r->has_bitmap && sb->bitmap_offset > 0 &&
	    (uint64_t)sb->bitmap_offset + r->bm_len / 512 > earliest)
		earliest = (uint64_t)sb->bitmap_offset + r->bm_len / 512;
	if (sb->bblog_offset && sb->bblog_size &&
	    so + (uint64_t)(int64_t)sb->bblog_offset + sb->bblog_size > earliest)
		earliest = so + (uint64_t)(int64_t)sb->bblog_offset + sb->bblog_size;
	*before = doff > earliest ? doff - earliest : 0;
	if (m->mm->dev_sectors > sb->size + doff)
		*after = m->mm->dev_sectors - sb->size - doff;
}

/* What a reshape at constant raid-devices changes, for its refusals. */
static const char *in_place_what(const struct reshape *r)
{
	return r->ocs != r->cs ? "chunk" : "layout";
}

/* set_new_data_offset without room on the side it picked (have < min
 * sectors): mdadm 4.2 falls back to an in-place reshape with a sliding
 * backup file (Grow.c reshape_array without a data_offset change), which
 * is not done here: the refusal names the tool that does it. */
static int refuse_no_room(const struct reshape *r, struct ok_err *e, const char *side,
			  uint64_t have, uint64_t min)
{
	return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
			 "%lluK free %s the data, less than the %lluK the move needs: mdadm 4.2 "
			 "would change the %s in place with a sliding backup file; not "
			 "supported: use mdadm --grow --backup-file=FILE on the assembled array",
			 (unsigned long long)have / 2, side, (unsigned long long)min / 2,
			 in_place_what(r));
}

/*
 * The backwards half of set_new_data_offset at delta_disks 0 (mdadm 4.2
 * picks it when space_after >= space_before): data_offset moves UP to
 * choose_offset(doff, doff + after, doff + min, doff + after), md is told
 * reshape_direction=backwards, and the kernel reshapes from the end down
 * with RESHAPE_BACKWARDS in every superblock (super_1_sync writes that bit
 * only at delta_disks 0). md's new_offset store wants the move plus size
 * within data_size (else E2BIG, and mdadm sets the member's size to max and
 * tries again): done here in memory, written by the START round, as a
 * shrink's. Less than min after the data: mdadm's fallback, an in-place
 * reshape with a sliding backup file: refused. A move below the larger
 * chunk: the kernel's raid5_run would want the reshape started read-only
 * (mdadm's in-place case): refused.
 */
static int plan_backwards(struct reshape *r, uint64_t min, uint64_t after, struct ok_err *e)
{
	if (after < min)
		return refuse_no_room(r, e, "after", after, min);
	uint64_t doff = r->doff_old, size = r->master->size;
	uint64_t nd = choose_offset(doff, doff + after, doff + min, doff + after);
	uint64_t maxc = r->unit / (uint64_t)r->ng.ndata, up = nd - doff;
	if (up < maxc || up > (uint64_t)INT32_MAX)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "the new data_offset mdadm would pick (%llu, now %llu) moves the "
				 "data by less than a chunk: an in-place reshape; not supported",
				 (unsigned long long)nd, (unsigned long long)doff);
	for (int s = 0; s < r->ng.disks; s++) {
		struct member *m = r->slot[s];
		if (!m || m->data_size >= size + up)
			continue;
		/* 1.0: md's size=max (mdadm's retry) recomputes the room
		 * around the superblock at the end (super_1_rdev_size_change);
		 * not reproduced */
		if (m->minor == 0)
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "data_size %llu cannot hold the move to data_offset %llu: "
					 "md refuses the new offset (E2BIG) and mdadm 4.2's retry "
					 "with size=max on metadata 1.0 is not supported",
					 (unsigned long long)m->data_size, (unsigned long long)nd);
		uint64_t max =
		    m->mm->dev_sectors > m->data_offset ? m->mm->dev_sectors - m->data_offset : 0;
		if (max < size + up)
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "no room for data_offset %llu after the data",
					 (unsigned long long)nd);
		m->mm->sb.data_size = max;
		m->data_size = max;
	}
	r->back = 1;
	r->plan.method = RESHAPE_NEW_OFFSET;
	r->plan.new_offset = (int64_t)up;
	return 0;
}

/*
 * A reshape at constant raid_disks (a chunk change), planned as mdadm 4.2's
 * reshape_array does without --backup-file: set_new_data_offset with
 * delta_disks 0 moves data_offset by at least min (backup_blocks / old data
 * disks) towards the side with more room: down (reshape forwards) when
 * there is more space before the data, up (backwards, plan_backwards)
 * otherwise, the new offset picked by choose_offset. mdadm's fallback, an
 * in-place reshape with a sliding backup file, is refused before anything
 * is written.
 * safe_before: the head-room the kernel's layout really leaves (space_before).
 */
static int plan_in_place(struct reshape *r, uint64_t min, uint64_t safe_before, struct ok_err *e)
{
	struct reshape_plan *pl = &r->plan;
	uint64_t before = UINT64_MAX, after = UINT64_MAX;
	if (r->opts.backup_file)
		return ok_err_at(e, -EPERM, r->opts.backup_file, OK_ERR_NOPOS,
				 "with --backup-file, mdadm 4.2 changes the %s in place with a "
				 "sliding backup of the whole array; not supported: leave out "
				 "--backup-file so that data_offset moves instead",
				 in_place_what(r));
	for (int s = 0; s < r->ng.disks; s++) {
		uint64_t b, a;
		if (!r->slot[s])
			continue;
		mdadm_space(r, r->slot[s], &b, &a);
		before = b < before ? b : before;
		after = a < after ? a : after;
	}
	if (before == 0 && after == 0)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "metadata %s%d leaves no room to move data_offset: mdadm 4.2 "
				 "would change the %s in place with a sliding backup file; "
				 "not supported: use mdadm --grow --backup-file=FILE on the "
				 "assembled array",
				 pl->metadata_minor == 90 ? "0." : "1.", pl->metadata_minor,
				 in_place_what(r));
	if (before <= after)
		return plan_backwards(r, min, after, e);
	if (pl->metadata_minor == 0)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "metadata 1.0 with %lluK before the data: moving data_offset down "
				 "is not supported",
				 (unsigned long long)before / 2);
	if (before < min)
		return refuse_no_room(r, e, "before", before, min);
	uint64_t doff = r->doff_old;
	uint64_t nd = choose_offset(doff - before, doff, doff - before, doff - min);
	uint64_t maxc = r->unit / (uint64_t)r->ng.ndata;
	if (doff - nd > safe_before || doff - nd < maxc || doff - nd > (uint64_t)INT32_MAX)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "the new data_offset mdadm would pick (%llu, now %llu) is not "
				 "clear of the superblock, bitmap and bad-block log",
				 (unsigned long long)nd, (unsigned long long)doff);
	pl->method = RESHAPE_NEW_OFFSET;
	pl->new_offset = -(int64_t)(doff - nd);
	return 0;
}

/*
 * Before planning a shrink to want members (reshape.h, Shrink): what mdadm
 * 4.2's Grow_reshape / reshape_array ask, and what is not done here.
 * --array-size stands for mdadm's earlier `--grow --array-size`: md keeps
 * that size in memory only (array_size in sysfs, nothing on disk), so an
 * offline shrink takes it in the same command as the consent to lose the
 * data above it.
 */
static int check_shrink(struct reshape *r, const struct member *fm, int want, struct ok_err *e)
{
	const struct md_sb *sb = r->master;
	int parity = sb->level == 6 ? 2 : 1;
	uint64_t cap =
	    (uint64_t)sb->size / sb->chunksize * sb->chunksize * (uint64_t)(want - parity);
	if (want < parity + 2 + (sb->level == 5))
		return ok_err_at(
		    e, -EPERM, NULL, OK_ERR_NOPOS,
		    "--raid-devices=%d: a RAID%d shrink here keeps at least %d members", want,
		    sb->level, parity + 2 + (sb->level == 5));
	if (!r->opts.array_size || r->opts.array_size > cap)
		/* mdadm 4.2 Grow.c reshape_array's refusal, then ours */
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "this change will reduce the size of the array (mdadm: \"use "
				 "--grow --array-size first to truncate array\"): give "
				 "--array-size=%lluK or less with it%s; the data above it is lost",
				 (unsigned long long)cap / 2,
				 r->opts.array_size ? " (the array will hold no more)" : "");
	if (fm->minor != 1 && fm->minor != 2)
		return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
				 "metadata %s: no data_offset to move up, mdadm 4.2 shrinks in "
				 "place with a backup file; not supported",
				 fm->minor == 90 ? "0.90" : "1.0");
	if (r->opts.backup_file)
		return ok_err_at(e, -EPERM, r->opts.backup_file, OK_ERR_NOPOS,
				 "with --backup-file mdadm 4.2 shrinks in place (no data_offset "
				 "change) and the kernel cannot restart it; not supported: leave "
				 "out --backup-file so that data_offset moves up instead");
	if (sb->feature_map & MD_F_BITMAP_OFFSET)
		return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
				 "a shrink of an array with an internal bitmap is not supported: "
				 "remove it first (mdadm --grow --bitmap=none)");
	for (int i = 0; i < r->nm; i++)
		if (r->m[i].absent)
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "a degraded array is not shrunk here (mdadm 4.2 would "
					 "start it: its spares check only counts grows): rebuild "
					 "it first");
	return 0;
}

/*
 * A shrink's data_offset, as mdadm 4.2's set_new_data_offset for
 * delta_disks < 0: up by min (backup_blocks / old data disks) on every
 * member, so the kernel reshapes backwards with no backup. md's new_offset
 * store wants min + size within each member's data_size; when it is not
 * (E2BIG), mdadm sets the member's size to max (data_size = device -
 * data_offset) and tries again: done here in memory, written by the START
 * round. Without that room mdadm falls back to an in-place shrink with a
 * backup file: refused.
 */
static int plan_shrink(struct reshape *r, uint64_t min, struct ok_err *e)
{
	uint64_t size = r->master->size;
	for (int s = 0; s < r->nslots; s++) {
		struct member *m = r->slot[s];
		if (!m)
			continue;
		uint64_t max =
		    m->mm->dev_sectors > m->data_offset ? m->mm->dev_sectors - m->data_offset : 0;
		if (m->data_size >= size + min)
			continue;
		if (max < size + min)
			return ok_err_at(
			    e, -EPERM, m->mm->path, OK_ERR_NOPOS,
			    "%lluK free after the data, less than the %lluK data_offset "
			    "must move up: mdadm 4.2 would shrink in place with a backup "
			    "file; not supported",
			    (unsigned long long)(max - (max < size ? max : size)) / 2,
			    (unsigned long long)min / 2);
		m->mm->sb.data_size = max;
		m->data_size = max;
	}
	if (min > (uint64_t)INT32_MAX || min % r->cs)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS, "new_offset %llu out of range",
				 (unsigned long long)min);
	r->plan.method = RESHAPE_NEW_OFFSET;
	r->plan.new_offset = (int64_t)min;
	return 0;
}

/* Checks on the freshest superblock every grow and continue needs. */
static int check_master(struct reshape *r, const struct member *fm, struct ok_err *e)
{
	const struct md_sb *sb = r->master;
	const char *p = fm->mm->path;
	uint32_t f = sb->feature_map;
	int level = sb->level, layout = (int32_t)sb->layout;
	uint32_t chunk = sb->chunksize;
	if (f & ~MD_F_ALL)
		return ok_err_at(e, -EINVAL, p, sb_at(fm, SB_FEATURE), "unknown feature bits 0x%x",
				 f);
	if (sb->pad0)
		return ok_err_at(e, -EINVAL, p, sb_at(fm, SB_PAD0), "pad0 is not zero");
	if (level != 6 && level != 5)
		return ok_err_at(e, -EPERM, p, sb_at(fm, SB_LEVEL),
				 "raid level %d: grow supports RAID6 and RAID5 only", level);
	if (!((layout >= 0 && layout <= 5) || (level == 6 && layout >= 16 && layout <= 20)))
		return ok_err_at(e, -EPERM, p, sb_at(fm, SB_LAYOUT),
				 "layout %d: grow supports the md layouts 0-5 and, for RAID6, "
				 "16-20 (DDF's 8-10 are not supported)",
				 layout);
	if (chunk < 8 || (chunk & (chunk - 1)) || chunk > 131072)
		return ok_err_at(e, -EINVAL, p, sb_at(fm, SB_CHUNK),
				 "chunk %u sectors: expected a power of two from 4 KiB to 64 MiB",
				 chunk);
	if (f & 3072u)
		return ok_err_at(e, -EPERM, p, sb_at(fm, SB_FEATURE),
				 "the array uses a partial parity log (PPL); grow refuses it");
	if (f & 512u)
		return ok_err_at(e, -EPERM, p, sb_at(fm, SB_FEATURE),
				 "the array has a write journal; grow refuses it");
	if (f & (256u | 4096u))
		return ok_err_at(e, -EPERM, p, sb_at(fm, SB_FEATURE),
				 "feature bits 0x%x (clustered or raid0 layout) not supported", f);
	/* md writes RESHAPE_BACKWARDS only at delta_disks 0 (super_1_sync):
	 * a shrink runs backwards without it */
	if ((f & MD_F_RESHAPE_BACKWARDS) &&
	    (!(f & MD_F_RESHAPE_ACTIVE) || (int32_t)sb->delta_disks != 0))
		return ok_err_at(e, -EINVAL, p, sb_at(fm, SB_FEATURE),
				 "RESHAPE_BACKWARDS without a reshape at constant raid-devices "
				 "(md writes it only then)");
	if (f & MD_F_RESHAPE_ACTIVE) {
		int32_t delta = sb->delta_disks;
		uint32_t nc = sb->new_chunk;
		int nl = (int32_t)sb->new_layout;
		if (delta == 0 && nc == chunk && nl == layout)
			return ok_err_at(e, -EPERM, p, sb_at(fm, SB_DELTA),
					 "a reshape with delta_disks %d is in progress; only "
					 "changing raid-devices, the chunk or the layout is "
					 "supported",
					 delta);
		/* a shrink mdadm runs in place with a backup file (no
		 * NEW_OFFSET; ROUND_OFFSET's state is at position 0) */
		if (delta < 0 && !(f & MD_F_NEW_OFFSET) && sb->reshape_position != 0)
			return ok_err_at(e, -EPERM, p, sb_at(fm, SB_FEATURE),
					 "a shrink without a data_offset change (mdadm's backup "
					 "file) is in progress; not supported");
		if ((int32_t)sb->new_level != level ||
		    (delta != 0 && (nc != chunk || nl != layout)) || (nl != layout && nc != chunk))
			return ok_err_at(e, -EPERM, p, sb_at(fm, SB_NEW_LEVEL),
					 "the reshape in progress changes the level, or two of "
					 "raid_disks, chunk and layout together; not supported");
		if (!((nl >= 0 && nl <= 5) || (level == 6 && nl >= 16 && nl <= 20)))
			return ok_err_at(e, -EPERM, p, sb_at(fm, SB_NEW_LEVEL),
					 "new_layout %d: only the md layouts 0-5 (RAID6 also "
					 "16-20) are supported",
					 nl);
		if (nc < 8 || (nc & (nc - 1)) || nc > 131072)
			return ok_err_at(e, -EINVAL, p, sb_at(fm, SB_NEW_CHUNK),
					 "new_chunk %u sectors: expected a power of two from 4 "
					 "KiB to 64 MiB",
					 nc);
		/* ROUND_OFFSET (data_offset moved, position at the end)
		 * is the one state without NEW_OFFSET */
		uint32_t maxc = nc > chunk ? nc : chunk;
		uint64_t end = sb->size / maxc * maxc * (sb->raid_disks - (level == 6 ? 2u : 1u));
		if (f & MD_F_RESHAPE_BACKWARDS)
			end = 0; /* backwards: the position counts down to 0 */
		if (delta == 0 && !(f & MD_F_NEW_OFFSET) && sb->reshape_position != end)
			return ok_err_at(e, -EPERM, p, sb_at(fm, SB_FEATURE),
					 "an in-place chunk or layout change (mdadm's sliding "
					 "backup, no data_offset change) is in progress; not "
					 "supported");
	}
	return 0;
}

/* The old and the new geometry: members and chunk (sectors) before and
 * after; level and layout stay. Positions are multiples of unit =
 * max(chunks) * new data disks, which raid5_run requires ("reshape_position
 * not on a stripe boundary"): the kernel reshapes in units of the larger
 * chunk, so each unit holds whole old and whole new chunks. */
static void set_plan_geometry(struct reshape *r, int old_disks, int new_disks, uint32_t ochunk,
			      uint32_t nchunk)
{
	const struct md_sb *sb = r->master;
	struct reshape_plan *pl = &r->plan;
	int parity = pl->level == 6 ? 2 : 1;
	uint32_t maxc = ochunk > nchunk ? ochunk : nchunk;
	pl->old_disks = old_disks;
	pl->new_disks = new_disks;
	pl->chunk = ochunk;
	pl->new_chunk = nchunk;
	pl->size = sb->size / maxc * maxc;
	pl->old_array = pl->size * (uint64_t)(old_disks - parity);
	pl->new_array = pl->size * (uint64_t)(new_disks - parity);
	pl->backup_blocks =
	    reshape_backup_blocks(ochunk, nchunk, old_disks - parity, new_disks - parity);
	r->ocs = ochunk;
	r->ocsb = (uint64_t)ochunk * 512;
	r->cs = nchunk;
	r->csb = (uint64_t)nchunk * 512;
	r->rows = pl->size / nchunk;
	r->og = (struct geo){old_disks, old_disks - parity};
	r->ng = (struct geo){new_disks, new_disks - parity};
	r->back = new_disks < old_disks;
	r->nslots = old_disks > new_disks ? old_disks : new_disks;
	r->unit = (uint64_t)maxc * (uint64_t)r->ng.ndata;
	r->wstep = maxc / nchunk;
	r->ogm = (struct md_geom){pl->level, pl->layout, old_disks, ochunk, pl->size};
	r->ngm = (struct md_geom){pl->level, pl->new_layout, new_disks, nchunk, pl->size};
}

/* A fresh superblock for a new member, from an old member's: its own
 * super_offset, data_size, dev_number, device uuid; no recovery, no bad
 * blocks. A 0.90 member's superblock sits at its end (64 KiB aligned) with
 * the data from sector 0 up to it. */
static int new_member_sb(struct reshape *r, struct member *m, uint32_t dev_number, struct ok_err *e)
{
	const struct member *t = NULL;
	for (int i = 0; i < r->nm; i++)
		if (r->m[i].ours && !r->m[i].is_new) {
			t = &r->m[i];
			break;
		}
	if (!t)
		return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS, "no template member");
	int minor = t->minor;
	uint64_t so, doff = t->data_offset, dsize;
	if (minor == 90) {
		if (m->mm->dev_sectors < 2 * MD_SB0_RESERVED_SECTORS)
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "new member too small for metadata 0.90: %llu sectors",
					 (unsigned long long)m->mm->dev_sectors);
		so = md_sb_090_location(m->mm->dev_sectors);
		dsize = so;		 /* as super_90_load: rdev->sectors = sb_start, */
		if (dsize >= 2ULL << 32) /* limited to a u32 of KiB */
			dsize = (2ULL << 32) - 2;
	} else if (minor == 0) {
		so = md_sb_location(0, m->mm->dev_sectors);
		uint64_t gap = t->super_offset - t->data_offset - t->data_size;
		if (t->super_offset < t->data_offset + t->data_size || so < doff + gap)
			return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS, "member too small");
		dsize = so - doff - gap;
	} else {
		so = md_sb_location(minor, m->mm->dev_sectors);
		if (m->mm->dev_sectors <= doff)
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "new member too small: %llu sectors, below data_offset "
					 "%llu",
					 (unsigned long long)m->mm->dev_sectors,
					 (unsigned long long)doff);
		dsize = m->mm->dev_sectors - doff;
	}
	if (dsize < r->plan.size)
		return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
				 "new member too small: %llu data sectors, the array uses %llu "
				 "per member",
				 (unsigned long long)dsize, (unsigned long long)r->plan.size);
	if (r->has_bitmap) {
		/* the bitmap sits where the template's does, relative to the
		 * superblock: it must fit and stay clear of the data */
		uint64_t b0 = so + (uint64_t)(int64_t)r->master->bitmap_offset;
		uint64_t b1 = b0 + r->bm_len / 512;
		if (b1 > m->mm->dev_sectors || b1 < b0 || (b1 > doff && b0 < doff + r->plan.size))
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "no room for the array's bitmap (%llu bytes at sector "
					 "%llu) outside the data",
					 (unsigned long long)r->bm_len, (unsigned long long)b0);
	}
	struct md_sb *sb = &m->mm->sb;
	memcpy(sb, &t->mm->sb, sizeof *sb);
	sb->super_offset = so;
	sb->dev_sectors = m->mm->dev_sectors;
	sb->data_offset = doff;
	sb->data_size = dsize;
	sb->recovery_offset = 0;
	sb->dev_number = dev_number;
	sb->cnt_corrected_read = 0;
	sb->devflags = 0;
	m->bm_fresh = r->has_bitmap;
	if (minor != 90 && getrandom(sb->device_uuid, sizeof sb->device_uuid, 0) !=
			       (ssize_t)sizeof sb->device_uuid)
		for (int i = 0; i < 16; i++)
			sb->device_uuid[i] = (uint8_t)(rand() ^ (i * 37));
	m->minor = minor;
	member_take_sb(m);
	return 0;
}

static int find_backup(struct reshape *r, struct ok_err *e);
static int torn_check(struct reshape *r, struct ok_err *e);

/* Device sector of m's bitmap superblock (bitmap_offset is array-wide and
 * counts from each member's own superblock). */
static uint64_t bitmap_at(const struct reshape *r, const struct member *m)
{
	return m->super_offset + (uint64_t)(int64_t)r->master->bitmap_offset;
}

/*
 * An internal write-intent bitmap survives a grow unchanged: its bits cover
 * each member's own sectors (sync_size = the per-member size, which a grow
 * does not change), so it needs no resizing; only its event count must keep
 * up with the superblocks' (the kernel resyncs everything from a bitmap older
 * than the array, "bitmap file is out of date"), and the new members need a
 * copy. Read the freshest member's whole bitmap here, once.
 */
static int read_bitmap(struct reshape *r, const struct member *fm, struct ok_err *e)
{
	if (!(r->master->feature_map & MD_F_BITMAP_OFFSET))
		return 0;
	uint64_t at = bitmap_at(r, fm);
	uint8_t *b = io_alloc(4096);
	if (!b)
		return ok_err_at(e, -ENOMEM, fm->mm->path, OK_ERR_NOPOS, "out of memory");
	int rc = 0;
	if (at >= fm->mm->dev_sectors ||
	    io_pread_full(fm->mm->fd, b, 4096, (off_t)(at * 512)) != 4096)
		rc = ok_err_at(e, -EINVAL, fm->mm->path, (long long)at * 512,
			       "cannot read the bitmap superblock (bitmap_offset %d)",
			       r->master->bitmap_offset);
	else
		rc = md_bitmap_parse(&r->bm, b, r->master->set_uuid, fm->mm->path,
				     (long long)at * 512, e);
	io_free(b);
	if (rc < 0)
		return rc;
	if (r->bm.nodes > 1)
		return ok_err_at(e, -EPERM, fm->mm->path, (long long)at * 512,
				 "a clustered bitmap (%u nodes): not supported", r->bm.nodes);
	r->bm_len = md_bitmap_bytes(&r->bm, 4096);
	if (r->bm_len > (64u << 20) || at + r->bm_len / 512 > fm->mm->dev_sectors)
		return ok_err_at(e, -EINVAL, fm->mm->path, (long long)at * 512,
				 "bitmap of %llu bytes does not fit the member",
				 (unsigned long long)r->bm_len);
	if (!(r->bm_full = io_alloc(r->bm_len)))
		return ok_err_at(e, -ENOMEM, fm->mm->path, OK_ERR_NOPOS, "out of memory");
	ssize_t n = io_pread_full(fm->mm->fd, r->bm_full, r->bm_len, (off_t)(at * 512));
	if (n != (ssize_t)r->bm_len)
		return ok_err_at(e, n < 0 ? (int)n : -EIO, fm->mm->path, (long long)at * 512,
				 "cannot read the bitmap");
	r->has_bitmap = 1;
	return 0;
}

/* Missing old slots: refused unless --force (the grow rewrites every stripe
 * with no redundancy to spare), and never more than the parity can cover. */
static int check_degraded(struct reshape *r, int on, int parity, struct ok_err *e)
{
	int nmiss = 0, first = -1;
	for (int s = 0; s < on; s++)
		if (!r->slot[s]) {
			nmiss++;
			if (first < 0)
				first = s;
		}
	if (!nmiss)
		return 0;
	if (nmiss > parity)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "%d of %d members missing: RAID%d can lose at most %d", nmiss, on,
				 r->plan.level, parity);
	if (!r->opts.force)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "the array is degraded (slot %d missing): a grow rewrites every "
				 "stripe with less redundancy than the array was built for, so a "
				 "member failing during it can lose data; rebuild first, or give "
				 "--force to grow it degraded",
				 first);
	return 0;
}

/*
 * Members kicked one after another, with --force: mdadm --assemble
 * --force's choice (member.h), the one every verb makes, written before
 * anything else. A grow cannot leave a given member out, so a member the
 * choice leaves stale is refused: give it as "missing". 0 when nothing is
 * stale or without --force (the refusal below then names it). With --dry-run
 * the choice is worked out and described but not written.
 */
static int force_stale(struct reshape *r, int n, int fresh, struct ok_err *e)
{
	bool stale = false;
	for (int i = 0; i < n; i++)
		stale |= r->m[i].ours && r->m[i].events + 1 < r->m[fresh].events;
	if (!stale || !(r->opts.force || r->opts.dry_run))
		return 0;
	struct md_force_plan *p = malloc(sizeof(*p));
	if (!p)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	int rc = md_members_force_plan(r->mm, n, fresh, p, e);
	if (rc >= 0 && p->nstale) {
		const struct md_member *m = &r->mm[p->stale[0]];
		rc = ok_err_at(e, -EPERM, m->path, OK_ERR_NOPOS,
			       "stale member (events %llu, the freshest has %llu) that --force, as "
			       "mdadm --assemble --force, leaves out; grow cannot: give it as "
			       "'missing'",
			       (unsigned long long)m->sb.events, (unsigned long long)p->events);
		if (e)
			e->errnum = 0;
	}
	if (rc >= 0) {
		char nm[24];
		md_force_plan_text(r->mm, p, md_sb_array_name(&r->mm[fresh].sb, nm, sizeof(nm)),
				   r->forced, sizeof(r->forced));
		if (!r->opts.dry_run) {
			rc = md_members_force_apply(r->mm, p, true, e);
			for (int b = 0; b < p->nbump; b++)
				member_take_sb(&r->m[p->bump[b]]);
		}
	}
	free(p);
	return rc < 0 ? rc : 0;
}

const char *reshape_forced(const struct reshape *r)
{
	return r->forced;
}

/* mdadm 4.2's analyse_change for RAID5 -> RAID6: the "-6" layout of a RAID5
 * layout (the same data and P places, Q on the last member); -1 if none. */
static int raid6_of_raid5_layout(int layout)
{
	if (layout >= 0 && layout <= 4)
		return layout + 16;  /* left-asymmetric-6 .. parity-first-6 */
	return layout == 5 ? 5 : -1; /* parity-last is its own -6 layout */
}

/* The member that will hold (or holds, while its recovery runs) Q. */
static struct member *takeover_q(struct reshape *r)
{
	return r->slot[r->plan.new_disks - 1];
}

/*
 * RAID5 -> RAID6 without a restripe (reshape.h). Called from reshape_open
 * with the freshest superblock in r->master. Returns 1 when this is not a
 * takeover (the reshape paths take over), 0 with the plan made, or a
 * refusal. Starts when the array is RAID5 and opts->level is 6; resumes
 * (opts->cont or the same command again) when the freshest superblock says
 * RAID6 in a -6 layout and either some old member still says RAID5 (a torn
 * level round) or the last slot is missing or still being recovered.
 */
static int open_takeover(struct reshape *r, int n, const struct member *fm, struct ok_err *e)
{
	const struct reshape_opts *o = &r->opts;
	struct reshape_plan *pl = &r->plan;
	const struct md_sb *sb = r->master;
	int lvl = sb->level, layout = (int32_t)sb->layout, disks = (int)sb->raid_disks;
	int torn = 0, resume = 0;
	if (sb->feature_map & MD_F_RESHAPE_ACTIVE)
		return 1;
	for (int i = 0; i < n; i++)
		torn |= r->m[i].ours && r->m[i].mm->sb.level == 5 && lvl == 6;
	if (lvl == 6) {
		if (o->level != 6 && !o->cont)
			return 1;
		int minus6 = (layout >= 16 && layout <= 20) || (torn && layout == 5);
		if (!minus6)
			return 1;
		/* the last slot: held in sync by a member given here? (and
		 * every superblock of the same round: a torn last write of the
		 * rebuild is finished by doing it again) */
		int insync = 0, uneven = 0;
		for (int i = 0; i < n; i++) {
			const struct member *m = &r->m[i];
			uneven |= m->ours && m->events != sb->events;
			if (m->ours && sb_role(sb, m->dev_number) == (uint16_t)(disks - 1) &&
			    !(m->feature & MD_F_RECOVERY_OFFSET))
				insync = 1;
		}
		if (!torn && !uneven && insync) {
			if (o->cont)
				return 1; /* nothing pending: "no reshape in progress" */
			return ok_err_at(
			    e, -EALREADY, NULL, OK_ERR_NOPOS,
			    "the array is already RAID6 (%s, %d members)",
			    md_layout_name(6, layout) ? md_layout_name(6, layout) : "?", disks);
		}
		resume = 1;
	} else if (lvl != 5 || o->level != 6) {
		return 1;
	}
	if (!resume && o->cont)
		return 1;
	int on = resume ? disks - 1 : disks, nn = on + 1;
	int l6 = resume ? layout : raid6_of_raid5_layout(layout);
	const char *l5name = md_layout_name(5, resume ? layout : layout);
	if (!resume) {
		if (l6 < 0)
			return ok_err_at(e, -EPERM, fm->mm->path, sb_at(fm, SB_LAYOUT),
					 "Cannot convert an array with this layout (%d)", layout);
		if (o->raid_disks && o->raid_disks != nn)
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "--raid-devices=%d: RAID5 -> RAID6 with %d data disks "
			    "instead of %d restripes the array (mdadm 4.2's analyse_change); "
			    "only the conversion that adds one member (%d) is supported",
			    o->raid_disks, o->raid_disks - 2, on - 1, nn);
		if (o->chunk && o->chunk != sb->chunksize)
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "--chunk with --level=6 restripes the array; change the "
					 "level first, then the chunk");
		if (!o->layout)
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "without --layout, mdadm 4.2 restripes a RAID5 -> RAID6 conversion "
			    "into "
			    "RAID6's %s layout (a full reshape); not supported: give "
			    "--layout=preserve (%s-6: data and P stay, Q goes onto the new member)",
			    l5name ? l5name : "same", l5name ? l5name : "the -6 layout");
		if (!strcmp(o->layout, "normalise") || !strcmp(o->layout, "normalize"))
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "%s is only meaningful when reshaping a RAID6 array.",
					 o->layout);
		if (strcmp(o->layout, "preserve") && md_layout_parse(6, o->layout) != l6)
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "--layout=%s: %s restripes the array (mdadm 4.2: the layout after "
			    "differs from %s, the conversion's own); only --layout=preserve or "
			    "--layout=%s (no restripe) is supported",
			    o->layout,
			    md_layout_parse(6, o->layout) < 0 ? "an unknown RAID6 layout that"
							      : "a level change that",
			    md_layout_name(6, l6), md_layout_name(6, l6));
		if (sb->resync_offset != MD_MAX_SECTOR)
			return ok_err_at(e, -EPERM, fm->mm->path, sb_at(fm, SB_RESYNC),
					 "the array is not clean (resync_offset %llu): assemble it "
					 "and let the resync finish first",
					 (unsigned long long)sb->resync_offset);
	} else if (o->layout && strcmp(o->layout, "preserve") &&
		   md_layout_parse(6, o->layout) != l6) {
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "a conversion to RAID6 %s is in progress, not to %s; continue it "
				 "with --continue",
				 md_layout_name(6, l6), o->layout);
	}
	if (fm->minor == 90)
		return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
				 "RAID5 -> RAID6 of a metadata 0.90 array: not supported");
	if (r->has_bitmap)
		return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
				 "the array has an internal bitmap: mdadm 4.2 says \"Bitmap must "
				 "be removed before level can be changed\"; remove it first");
	if (nn > RESHAPE_MAX_DISKS)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS, "%d members: at most %d", nn,
				 RESHAPE_MAX_DISKS);
	/* old members by role; the one other member takes the last slot */
	struct member *q = NULL;
	for (int i = 0; i < n; i++) {
		struct member *m = &r->m[i];
		if (m->absent)
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "a member is given as missing: RAID5 -> RAID6 needs every "
					 "member (rebuild first)");
		uint16_t role = m->ours ? sb_role(sb, m->dev_number) : MD_ROLE_FAULTY;
		if (m->ours && role < on) {
			if (r->slot[role])
				return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
						 "claims slot %u, as does %s", role,
						 r->slot[role]->mm->path);
			if (m->mm->sb.size != sb->size || m->mm->sb.chunksize != sb->chunksize ||
			    (m->mm->sb.level != 5 && m->mm->sb.level != 6) ||
			    m->feature & (MD_F_RECOVERY_OFFSET | MD_F_REPLACEMENT))
				return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
						 "strangely different superblock (size, chunk or "
						 "level differ from %s's, or it is being rebuilt)",
						 fm->mm->path);
			r->slot[role] = m;
			m->slot = role;
			continue;
		}
		if (m->ours && role < 0xff00 && role != nn - 1)
			return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
					 "role %u beyond raid_disks %d", role, nn);
		if (q)
			return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
					 "RAID5 -> RAID6 takes exactly one new member (Q); %s is "
					 "one already",
					 q->mm->path);
		if (!m->ours && !o->force && member_has_foreign_magic(m))
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "holds the superblock of another md array; use --force to "
					 "overwrite it");
		q = m;
	}
	for (int s = 0; s < on; s++)
		if (!r->slot[s])
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "slot %d is not given: RAID5 -> RAID6 needs every member",
					 s);
	if (!q)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "RAID5 -> RAID6 needs one new member for Q; none given");
	/* md_array_rebuild's own test, made here before anything is written */
	uint64_t need =
	    fm->minor == 0
		? sb->size + (sb->super_offset - sb->data_offset - sb->data_size) + 16 + 8
		: fm->data_offset + sb->size;
	if (q->mm->dev_sectors < need)
		return ok_err_at(e, -EPERM, q->mm->path, OK_ERR_NOPOS,
				 "new member too small: %llu sectors, the array needs %llu",
				 (unsigned long long)q->mm->dev_sectors, (unsigned long long)need);
	/* its dev_number: its own when it already holds our superblock (a
	 * conversion resumed), else as md numbers a disk mdadm --add gives a
	 * running array (bind_rdev_to_array: the first free from raid_disks,
	 * the RAID5's, on: after a RAID5 mdadm created with a spare, 5) */
	if (q->ours && q->minor >= 0) {
		r->q_devnum = (int)q->dev_number;
	} else {
		uint32_t dn = (uint32_t)on;
		for (int again = 1; again;) {
			again = 0;
			for (int s = 0; s < on; s++)
				if (r->slot[s]->dev_number == dn)
					dn++, again = 1;
		}
		r->q_devnum = (int)dn;
	}
	q->slot = nn - 1;
	q->is_new = 1;
	r->slot[nn - 1] = q;
	pl->takeover = 1;
	pl->resuming = resume;
	pl->level = 6;
	pl->layout = l6;
	pl->new_layout = l6;
	pl->metadata_minor = fm->minor;
	pl->old_disks = on;
	pl->new_disks = nn;
	pl->chunk = pl->new_chunk = sb->chunksize;
	pl->size = sb->size / sb->chunksize * sb->chunksize;
	pl->old_array = pl->new_array = pl->size * (uint64_t)(on - 1);
	pl->data_offset = fm->data_offset;
	pl->method = RESHAPE_NEW_OFFSET;
	r->og = (struct geo){on, on - 1};
	r->ng = (struct geo){nn, nn - 2};
	for (int s = 0; s < on; s++) {
		const struct md_sb *ms = &r->slot[s]->mm->sb;
		pl->level_round |= ms->level != 6 || (int32_t)ms->layout != l6 ||
				   ms->raid_disks != (uint32_t)nn ||
				   r->slot[s]->events != sb->events;
	}
	if (q->ours && q->minor >= 0 && (q->feature & MD_F_RECOVERY_OFFSET))
		pl->recovered = q->mm->sb.recovery_offset;
	pl->position = pl->recovered * (uint64_t)(on - 1);
	return 0;
}

int reshape_open(struct reshape **out, const char *const *paths, int n,
		 const struct reshape_opts *opts, struct ok_err *e)
{
	struct reshape *r = calloc(1, sizeof *r);
	int rc;
	*out = NULL;
	if (!r)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	r->opts = *opts;
	r->crash_count = opts->crash_count;
	for (int i = 0; i < RESHAPE_MAX_DISKS; i++) {
		r->m[i].mm = &r->mm[i];
		r->mm[i].fd = r->mm[i].fd_buf = -1;
	}
	*out = r;
	if (n < 2 || n > RESHAPE_MAX_DISKS)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "%d members: expected 2 to %d", n,
				 RESHAPE_MAX_DISKS);
	r->nm = n;
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (!strcmp(paths[i], "missing")) {
			/* an absent member, as in mdadm and the core: degraded */
			snprintf(r->m[i].mm->path, sizeof r->m[i].mm->path, "missing");
			r->m[i].absent = 1;
			r->m[i].minor = -1;
			r->m[i].slot = -1;
			continue;
		}
		if (stat(paths[i], &st) == 0)
			for (int j = 0; j < i; j++)
				if (r->m[j].st.st_dev == st.st_dev &&
				    r->m[j].st.st_ino == st.st_ino)
					return ok_err_at(e, -EINVAL, paths[i], OK_ERR_NOPOS,
							 "given twice (same file as %s)", paths[j]);
		if ((rc = member_open(&r->m[i], paths[i], opts->dry_run ? 0 : MD_OPEN_WRITE, e)) <
		    0)
			return rc;
		if ((rc = member_find_sb(&r->m[i], e)) < 0)
			return rc;
	}

	/* The array and its freshest member, chosen as every verb chooses
	 * (md_members_select: majority uuid, then most events among active
	 * members); members of other arrays are new members (or refused). */
	int fresh = md_members_select(r->mm, n, e);
	if (fresh < 0) {
		if (e)
			e->errnum = 0; /* a refusal: the message says it all */
		return -EINVAL;
	}
	for (int i = 0; i < n; i++)
		r->m[i].ours = r->m[i].minor >= 0 &&
			       !memcmp(r->mm[i].sb.set_uuid, r->mm[fresh].sb.set_uuid, 16);
	for (int i = 0; i < n; i++)
		if (r->m[i].ours && (rc = md_member_check_sb(r->m[i].mm, e)) < 0)
			return rc;
	if ((rc = force_stale(r, n, fresh, e)) < 0)
		return rc;
	if (r->opts.dry_run)
		return 1; /* the choice is in r->forced; nothing was written */
	struct member *fm = &r->m[fresh];
	if (!(r->master = malloc(sizeof *r->master)) || !(r->build = malloc(sizeof *r->build)))
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	memcpy(r->master, &fm->mm->sb, sizeof *r->master);
	if ((rc = check_master(r, fm, e)) < 0 || (rc = read_bitmap(r, fm, e)) < 0)
		return rc;
	if ((rc = open_takeover(r, n, fm, e)) <= 0)
		return rc;
	if (opts->level == 6 && r->master->level != 6)
		return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
				 "a RAID5 reshape is in progress: finish it (--continue) before "
				 "converting to RAID6");
	/* --layout: a layout change at constant members (mdadm's names; for
	 * RAID6 "normalise" drops a "-6") */
	int want_layout = (int32_t)r->master->layout;
	if (opts->layout && strcmp(opts->layout, "preserve")) {
		int lv = r->master->level, cur = want_layout;
		if (!strcmp(opts->layout, "normalise") || !strcmp(opts->layout, "normalize")) {
			if (lv != 6)
				return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
						 "%s is only meaningful when reshaping a RAID6 "
						 "array.",
						 opts->layout);
			want_layout = cur >= 16 && cur <= 19 ? cur - 16 : cur == 20 ? 4 : cur;
		} else {
			want_layout = md_layout_parse(lv, opts->layout);
		}
		if (want_layout < 0 ||
		    (want_layout > 5 && !(lv == 6 && want_layout >= 16 && want_layout <= 20)))
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "layout %s not understood for this level (RAID%d)",
					 opts->layout, lv);
	}
	struct reshape_plan *pl = &r->plan;
	pl->level = r->master->level;
	pl->layout = (int32_t)r->master->layout;
	pl->new_layout = pl->layout;
	pl->metadata_minor = fm->minor;
	uint32_t f = r->master->feature_map;
	int cur_disks = (int)r->master->raid_disks;
	int parity = pl->level == 6 ? 2 : 1;
	if (cur_disks < parity + 2 - (pl->level == 5) || cur_disks > RESHAPE_MAX_DISKS)
		return ok_err_at(e, -EINVAL, fm->mm->path, sb_at(fm, SB_RAID_DISKS),
				 "raid_disks %d out of range", cur_disks);

	/* Which state are we in? */
	int active = !!(f & MD_F_RESHAPE_ACTIVE);
	int stale_active = 0, left_out = -1;
	for (int i = 0; i < n; i++) {
		struct member *m = &r->m[i];
		if (!m->ours)
			continue;
		/* --continue after the kernel finished a shrink whose FINAL
		 * round was torn: the removed member kept its old superblock
		 * (reshaping, events behind), mdadm --assemble left it out and
		 * the freshest's table no longer gives it an active slot; it
		 * is not the array's, and nothing is left to continue (the
		 * core's selection leaves it out the same way) */
		if (m->events + 1 < fm->events && opts->cont && !active &&
		    sb_role(r->master, m->dev_number) >= (uint32_t)cur_disks) {
			left_out = i;
			continue;
		}
		if (m->events + 1 < fm->events)
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "stale member: events %llu, the freshest (%s) has %llu; "
					 "grow refuses a degraded array",
					 (unsigned long long)m->events, fm->mm->path,
					 (unsigned long long)fm->events);
		if (!active && (m->feature & MD_F_RESHAPE_ACTIVE))
			stale_active = 1;
	}
	if (left_out >= 0 && stale_active) /* a torn FINAL round besides: refused as before */
		return ok_err_at(e, -EPERM, r->m[left_out].mm->path, OK_ERR_NOPOS,
				 "stale member: events %llu, the freshest (%s) has %llu; "
				 "grow refuses a degraded array",
				 (unsigned long long)r->m[left_out].events, fm->mm->path,
				 (unsigned long long)fm->events);
	if (active || stale_active) {
		pl->resuming = 1;
		r->dirty = r->master->resync_offset != MD_MAX_SECTOR;
		int delta = active ? r->master->delta_disks : 0;
		uint32_t backwards_bit = active ? r->master->feature_map : 0;
		uint32_t ochunk = r->master->chunksize, nchunk = r->master->new_chunk;
		int olayout = pl->layout, nlayout = (int32_t)r->master->new_layout;
		if (!active)
			nchunk = ochunk, nlayout = olayout;
		if (stale_active) {
			/* Torn FINAL round: the freshest says done, so the shape
			 * is the current one; take the grow's delta from a stale
			 * member. */
			for (int i = 0; i < n; i++)
				if (r->m[i].ours && (r->m[i].feature & MD_F_RESHAPE_ACTIVE)) {
					backwards_bit = r->m[i].feature;
					delta = r->m[i].mm->sb.delta_disks;
					ochunk = r->m[i].mm->sb.chunksize;
					nchunk = r->m[i].mm->sb.new_chunk;
					olayout = (int32_t)r->m[i].mm->sb.layout;
					nlayout = (int32_t)r->m[i].mm->sb.new_layout;
					if (r->m[i].mm->sb.raid_disks != (uint32_t)cur_disks)
						return ok_err_at(
						    e, -EINVAL, r->m[i].mm->path, OK_ERR_NOPOS,
						    "reshaping to %u members, the "
						    "freshest member says %d",
						    r->m[i].mm->sb.raid_disks, cur_disks);
				}
			pl->finish_only = 1;
		}
		if ((delta == 0 && ochunk == nchunk && olayout == nlayout) ||
		    (delta != 0 && (ochunk != nchunk || olayout != nlayout)) ||
		    (ochunk != nchunk && olayout != nlayout) || cur_disks - delta < parity + 1 ||
		    (!active &&
		     (nchunk != r->master->chunksize || nlayout != (int32_t)r->master->layout)))
			return ok_err_at(e, -EINVAL, fm->mm->path, OK_ERR_NOPOS,
					 "delta_disks %d, chunk %u -> %u, layout %d -> %d: not a "
					 "grow, a shrink, a chunk or a layout change this member's "
					 "superblocks agree on",
					 delta, ochunk, nchunk, olayout, nlayout);
		if (opts->layout && strcmp(opts->layout, "preserve") && want_layout != nlayout)
			return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
					 "a reshape to layout %s is in progress, not to %s; "
					 "continue it with --continue",
					 md_layout_name(pl->level, nlayout), opts->layout);
		pl->layout = olayout;
		pl->new_layout = nlayout;
		if (opts->raid_disks && opts->raid_disks != cur_disks)
			return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
					 "a grow to %d members is in progress, not to %d; continue "
					 "it with --continue",
					 cur_disks, opts->raid_disks);
		if (opts->chunk && opts->chunk != nchunk)
			return ok_err_at(e, -EPERM, fm->mm->path, OK_ERR_NOPOS,
					 "a reshape to chunk %uK is in progress, not to %uK; "
					 "continue it with --continue",
					 nchunk / 2, opts->chunk / 2);
		set_plan_geometry(r, cur_disks - delta, cur_disks, ochunk, nchunk);
		/* a chunk or layout change mdadm started backwards (data_offset
		 * up): RESHAPE_BACKWARDS, in a torn FINAL round on a member
		 * still reshaping */
		r->back |= delta == 0 && (backwards_bit & MD_F_RESHAPE_BACKWARDS);
		/* Every row moved: only the end rounds are left (a crash in
		 * ROUND_OFFSET leaves the freshest at position = end). */
		if (active && r->master->reshape_position == end_pos(r))
			pl->finish_only = 1;
	} else {
		if (opts->cont && left_out >= 0)
			return ok_err_at(e, -EPERM, r->m[left_out].mm->path, OK_ERR_NOPOS,
					 "not in the array any more (events %llu, the freshest "
					 "has %llu; no active slot in its table), and no reshape "
					 "in progress on the others: nothing to continue",
					 (unsigned long long)r->m[left_out].events,
					 (unsigned long long)fm->events);
		if (opts->cont)
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "no reshape in progress on these members: nothing to continue");
		uint32_t cur_chunk = r->master->chunksize;
		uint32_t new_chunk = opts->chunk ? opts->chunk : cur_chunk;
		int want_disks = opts->raid_disks ? opts->raid_disks : cur_disks;
		int relayout = want_layout != pl->layout;
		if (!opts->raid_disks && !opts->chunk && !relayout &&
		    opts->level == r->master->level)
			return ok_err_at(e, -EALREADY, NULL, OK_ERR_NOPOS,
					 "the array is RAID%d already: no change requested",
					 opts->level);
		if (!opts->raid_disks && !opts->chunk && !opts->layout)
			return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
					 "--raid-devices, --chunk or --layout is required");
		if (relayout && (want_disks != cur_disks || new_chunk != cur_chunk))
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "changing the layout together with the chunk or "
			    "raid-devices is not supported: change one, then the other");
		if (!relayout && opts->layout && want_disks == cur_disks && new_chunk == cur_chunk)
			return ok_err_at(e, -EALREADY, NULL, OK_ERR_NOPOS,
					 "the array already has layout %s",
					 md_layout_name(pl->level, pl->layout));
		pl->new_layout = want_layout;
		if (want_disks == cur_disks && new_chunk == cur_chunk && !relayout)
			return opts->chunk
				   ? ok_err_at(e, -EALREADY, NULL, OK_ERR_NOPOS,
					       "the array already has %d members and a "
					       "%uK chunk",
					       cur_disks, cur_chunk / 2)
				   : ok_err_at(e, -EALREADY, NULL, OK_ERR_NOPOS,
					       "the array already has %d members", cur_disks);
		if (want_disks != cur_disks && new_chunk != cur_chunk)
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "changing the chunk and raid-devices in one reshape is not "
			    "supported: change one, then the other");
		if (new_chunk != cur_chunk && r->master->size % new_chunk)
			/* mdadm's analyse_change, word for word */
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "New chunk size (%uK) does not evenly divide device size "
					 "(%lluk)",
					 new_chunk / 2, (unsigned long long)r->master->size / 2);
		if (want_disks < cur_disks && (rc = check_shrink(r, fm, want_disks, e)) < 0)
			return rc;
		if (want_disks >= cur_disks && opts->array_size)
			return ok_err_at(
			    e, -EPERM, NULL, OK_ERR_NOPOS,
			    "--array-size is only taken with a shrinking --raid-devices "
			    "(md keeps it in memory; nothing on disk records it)");
		if (opts->raid_disks > RESHAPE_MAX_DISKS)
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "--raid-devices=%d: at most %d members supported",
					 opts->raid_disks, RESHAPE_MAX_DISKS);
		if (r->master->resync_offset != MD_MAX_SECTOR)
			return ok_err_at(e, -EPERM, fm->mm->path, sb_at(fm, SB_RESYNC),
					 "the array is not clean (resync_offset %llu): assemble it "
					 "and let the resync finish first",
					 (unsigned long long)r->master->resync_offset);
		set_plan_geometry(r, cur_disks, want_disks, cur_chunk, new_chunk);
	}
	int on = r->og.disks, nn = r->ng.disks;

	/* Roles of the array's members. */
	for (int i = 0; i < n; i++) {
		struct member *m = &r->m[i];
		if (!m->ours)
			continue;
		uint16_t role = sb_role(r->master, m->dev_number);
		if (role >= 0xff00 && pl->finish_only && r->back) {
			/* a torn end of a shrink: a removed member the FINAL
			 * round made a spare already, or one it has yet to */
			uint16_t own = sb_role(&m->mm->sb, m->dev_number);
			if (own >= 0xff00) {
				m->spare_done = 1;
				m->ours = 0;
				continue;
			}
			if (own < nn)
				return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
						 "role %u, but the freshest member says spare",
						 own);
			role = own;
		}
		if (role >= 0xff00) {
			if (pl->resuming)
				return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
						 "not an active member of the reshaping array "
						 "(role 0x%x)",
						 role);
			m->ours = 0; /* a spare: used as a new member */
			continue;
		}
		if (m->feature & (MD_F_RECOVERY_OFFSET | MD_F_REPLACEMENT))
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "member is being rebuilt or replaced; let that finish "
					 "first");
		if (m->feature & MD_F_BAD_BLOCKS)
			return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
					 "member has a non-empty bad-block list; grow refuses it");
		int lim = pl->resuming ? r->nslots : on;
		if (role >= lim)
			return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
					 "role %u beyond raid_disks %d", role, lim);
		if (r->slot[role])
			return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
					 "claims slot %u, as does %s", role,
					 r->slot[role]->mm->path);
		r->slot[role] = m;
		m->slot = role;
		m->is_new = role >= on;
		if (m->mm->sb.size != r->master->size ||
		    (m->mm->sb.chunksize != r->master->chunksize &&
		     !(pl->finish_only && m->mm->sb.chunksize == pl->chunk)) ||
		    m->mm->sb.level != r->master->level ||
		    (m->mm->sb.layout != r->master->layout &&
		     !(pl->finish_only && (int32_t)m->mm->sb.layout == pl->layout)) ||
		    m->mm->sb.major_version != r->master->major_version)
			return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
					 "strangely different superblock (size, chunk, level, "
					 "layout or metadata version differ from %s)",
					 fm->mm->path);
	}
	if (pl->resuming) {
		/* A crash inside the START round can leave a new member without
		 * its superblock while another already says "reshaping" at
		 * position 0. Nothing has been moved then, so such a member is
		 * taken for its new slot again, as at the start. */
		int at_start = !pl->finish_only && r->master->reshape_position == 0;
		for (int s = on; s < nn && at_start; s++) {
			if (r->slot[s])
				continue;
			uint32_t devnum = 0, maxdev = r->master->max_dev;
			while (devnum < maxdev && sb_role(r->master, devnum) != s)
				devnum++;
			for (int i = 0; i < n && devnum < maxdev; i++) {
				struct member *m = &r->m[i];
				if (m->slot >= 0 || m->absent)
					continue;
				if (!opts->force && !m->ours && m->minor >= 0)
					continue; /* another array's disk: not ours to take */
				if ((rc = new_member_sb(r, m, devnum, e)) < 0)
					return rc;
				m->slot = s;
				m->is_new = 1;
				m->ours = 1;
				r->slot[s] = m;
				break;
			}
		}
		for (int s = on; s < nn; s++)
			if (!r->slot[s])
				return ok_err_at(
				    e, -EPERM, NULL, OK_ERR_NOPOS,
				    "new slot %d of the reshaping array is missing; give "
				    "every new member",
				    s);
		/* a shrink's end rounds read no data: its removed slots may be
		 * spares already */
		if ((rc = check_degraded(r, pl->finish_only && r->back ? nn : on, parity, e)) < 0)
			return rc;
		for (int i = 0; i < n; i++)
			if (r->m[i].slot < 0 && !r->m[i].absent && !r->m[i].spare_done)
				return ok_err_at(e, -EINVAL, r->m[i].mm->path, OK_ERR_NOPOS,
						 "not a member of the reshaping array");
	} else {
		if ((rc = check_degraded(r, on, parity, e)) < 0)
			return rc;
		int nnew = 0;
		for (int i = 0; i < n; i++)
			nnew += !r->m[i].ours && !r->m[i].absent;
		if (nn < on && nnew)
			return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
					 "shrinking %d -> %d takes the array's members only; %d "
					 "others given",
					 on, nn, nnew);
		if (nn >= on && nnew != nn - on)
			return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
					 "growing %d -> %d needs %d new members, %d given", on, nn,
					 nn - on, nnew);
		uint32_t maxdev = r->master->max_dev;
		uint32_t next = (uint32_t)on;
		int s = on;
		for (int i = 0; i < n; i++) {
			struct member *m = &r->m[i];
			if (m->ours || m->absent)
				continue;
			if (m->minor >= 0 &&
			    memcmp(m->mm->sb.set_uuid, r->master->set_uuid, 16) == 0) {
				/* our own spare */
			} else if (!opts->force && member_has_foreign_magic(m)) {
				return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
						 "holds the superblock of another md array; use "
						 "--force to overwrite it");
			}
			/* next dev_number no member of ours uses (md.c bind_rdev_to_array) */
			for (;; next++) {
				int used = 0;
				for (int j = 0; j < n; j++)
					used |= r->m[j].ours && r->m[j].dev_number == next;
				if (!used && next < maxdev && sb_role(r->master, next) >= 0xff00)
					break;
				if (next >= maxdev)
					return ok_err_at(e, -EPERM, m->mm->path, OK_ERR_NOPOS,
							 "no free dev_number below max_dev %u",
							 maxdev);
			}
			if ((rc = new_member_sb(r, m, next, e)) < 0)
				return rc;
			m->slot = s;
			m->is_new = 1;
			r->slot[s++] = m;
			next++;
		}
	}

	/* Offsets: one data_offset (and one new_offset) on every member. */ const struct member
	    *s0 = NULL;
	for (int s = 0; s < r->nslots && !s0; s++)
		s0 = r->slot[s];
	r->doff_old = s0->data_offset;
	if (pl->finish_only) {
		/* Torn end rounds: every member must name the same place for the
		 * new geometry: data_offset, plus new_offset while its own
		 * superblock still says RESHAPE_ACTIVE with NEW_OFFSET (where the
		 * kernel reads rows below the position, super_1_load). */
		int first = 1;
		for (int s = 0; s < r->nslots; s++) {
			const struct member *m = r->slot[s];
			if (!m)
				continue;
			uint64_t fin = m->data_offset;
			if (m->feature & MD_F_RESHAPE_ACTIVE) {
				/* a torn last checkpoint leaves members one event
				 * behind at the previous position; the rows are
				 * durable before any superblock names them */
				int torn_ckpt = active && m->events + 1 == fm->events;
				if (m->mm->sb.reshape_position != end_pos(r) && !torn_ckpt)
					return ok_err_at(
					    e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
					    "reshape_position %llu, but the freshest "
					    "member says the reshape is done",
					    (unsigned long long)m->mm->sb.reshape_position);
				if (m->feature & MD_F_NEW_OFFSET)
					fin += (uint64_t)(int64_t)m->mm->sb.new_offset;
			}
			if (m->mm->sb.raid_disks != (uint32_t)nn)
				return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
						 "raid_disks %u, the freshest member (%s) says %d",
						 m->mm->sb.raid_disks, fm->mm->path, nn);
			if (first)
				r->doff_new = fin, first = 0;
			if (fin != r->doff_new)
				return ok_err_at(e, -EINVAL, m->mm->path, OK_ERR_NOPOS,
						 "data offset %llu differs from the other members' "
						 "%llu",
						 (unsigned long long)fin,
						 (unsigned long long)r->doff_new);
		}
		r->doff_old = r->doff_new;
		pl->data_offset = r->doff_new;
		pl->position = end_pos(r);
		r->pos = r->dpos = end_pos(r);
		return 0;
	}
	for (int s = 0; s < r->nslots; s++)
		if (r->slot[s] && r->slot[s]->data_offset != r->doff_old)
			return ok_err_at(e, -EPERM, r->slot[s]->mm->path, OK_ERR_NOPOS,
					 "data_offset %llu differs from %s's %llu; not supported",
					 (unsigned long long)r->slot[s]->data_offset, s0->mm->path,
					 (unsigned long long)r->doff_old);
	pl->data_offset = r->doff_old;
	uint64_t bb = pl->backup_blocks;
	if (bb >= pl->size / 2)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "members too small for a grow: the critical section (%lluK) is "
				 "at least half a member (%lluK)",
				 (unsigned long long)bb / 2, (unsigned long long)pl->size / 2);
	if (pl->resuming) {
		uint64_t pos = r->master->reshape_position;
		if (pos % r->unit || pos > pl->new_array)
			return ok_err_at(e, -EINVAL, fm->mm->path, sb_at(fm, SB_RESHAPE_POS),
					 "reshape_position %llu not on a new-stripe boundary of "
					 "%llu sectors or beyond the end",
					 (unsigned long long)pos, (unsigned long long)r->unit);
		r->pos = r->dpos = pos;
		pl->position = pos;
		if (f & MD_F_NEW_OFFSET) {
			/* data_offset moves down (a grow, a forward chunk or
			 * layout change) or, backwards, up (a shrink, a
			 * backwards change): with raid-devices changing by
			 * whole chunks, else by at least the larger chunk
			 * (raid5_run's in-place test) */
			int32_t no = r->master->new_offset;
			uint64_t move = no < 0 ? (uint64_t)(-(int64_t)no) : (uint64_t)no;
			bool way_ok = r->back ? no > 0 : no < 0 && move <= r->doff_old;
			if (!way_ok ||
			    (r->og.disks != r->ng.disks ? move % r->cs != 0
							: move < r->unit / (uint64_t)r->ng.ndata))
				return ok_err_at(
				    e, -EPERM, fm->mm->path, sb_at(fm, SB_NEW_OFFSET),
				    r->back ? "new_offset %d: a shrink here moves data_offset "
					      "up by whole chunks, a chunk or layout change by "
					      "at least the larger chunk"
					    : "new_offset %d: only a downward move by whole "
					      "chunks (a chunk change: by at least the larger "
					      "chunk) is supported",
				    no);
			pl->method = RESHAPE_NEW_OFFSET;
			pl->new_offset = no;
		} else {
			pl->method =
			    opts->backup_file ? RESHAPE_BACKUP_FILE : RESHAPE_BACKUP_MEMBER;
			if (pos < bb) {
				pl->restore_backup = 1;
				if ((rc = find_backup(r, e)) < 0)
					return rc;
			}
		}
	} else {
		/* mdadm: set_new_data_offset without a backup file, when every
		 * member has the head-room; otherwise the backup. */
		uint64_t min_change = bb / (uint64_t)r->og.ndata, before = UINT64_MAX;
		for (int s = 0; s < nn; s++) {
			if (!r->slot[s])
				continue;
			uint64_t sb4 = space_before(r, &r->slot[s]->mm->sb, r->slot[s]->minor);
			if (sb4 < before)
				before = sb4;
		}
		if (r->back) {
			if ((rc = plan_shrink(r, min_change, e)) < 0)
				return rc;
		} else if (r->og.disks == r->ng.disks) {
			if ((rc = plan_in_place(r, min_change, before, e)) < 0)
				return rc;
		} else if (opts->backup_file)
			pl->method = RESHAPE_BACKUP_FILE;
		else if ((fm->minor == 1 || fm->minor == 2) && before >= min_change &&
			 min_change % r->cs == 0)
			pl->method = RESHAPE_NEW_OFFSET, pl->new_offset = -(int64_t)min_change;
		else
			pl->method = RESHAPE_BACKUP_MEMBER;
		if (pl->new_offset < INT32_MIN)
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS, "new_offset out of range");
		/* New members must hold size sectors past data_offset (checked in
		 * new_member_sb) and must not be smaller than the old ones. */
		if (pl->method == RESHAPE_BACKUP_FILE) {
			struct stat bst;
			char dir[PATH_MAX];
			if (lstat(opts->backup_file, &bst) == 0)
				return ok_err_at(e, -EEXIST, opts->backup_file, OK_ERR_NOPOS,
						 "backup file exists (mdadm and mdraid create it "
						 "anew, O_EXCL); remove it or pick another name");
			snprintf(dir, sizeof dir, "%s", opts->backup_file);
			if (stat(dirname(dir), &bst) < 0)
				return ok_err_at(e, -errno, opts->backup_file, OK_ERR_NOPOS,
						 "cannot reach the backup file's directory");
			for (int i = 0; i < n; i++)
				if (S_ISBLK(r->m[i].st.st_mode) && r->m[i].st.st_rdev == bst.st_dev)
					return ok_err_at(
					    e, -EPERM, opts->backup_file, OK_ERR_NOPOS,
					    "backup file must NOT be on a member of the "
					    "array being reshaped (%s)",
					    r->m[i].mm->path);
		}
	}
	/* a grow or chunk change moves data down (new_offset <= 0), a shrink up */
	r->shift = pl->new_offset < 0 ? (uint64_t)(-pl->new_offset) : (uint64_t)pl->new_offset;
	r->doff_new = pl->new_offset < 0 ? r->doff_old - r->shift : r->doff_old + r->shift;
	if (pl->method == RESHAPE_BACKUP_FILE) {
		snprintf(r->backup_path, sizeof r->backup_path, "%s", opts->backup_file);
		pl->backup_path = r->backup_path;
	}
	if (pl->resuming && pl->method == RESHAPE_NEW_OFFSET)
		return torn_check(r, e); /* forwards and backwards, a shrink too */
	return 0;
}

const struct reshape_plan *reshape_plan(const struct reshape *r)
{
	return &r->plan;
}

uint64_t reshape_position(const struct reshape *r)
{
	return r->dpos;
}

int reshape_crash_count(const struct reshape *r)
{
	return r->crash_count;
}

uint64_t reshape_read_errors(const struct reshape *r, const char **first)
{
	if (first)
		*first = r->rerr_first;
	return r->read_errors;
}

void reshape_close(struct reshape *r)
{
	if (!r)
		return;
	/* a read ahead still in flight (a run stopped or failed between
	 * steps) reads members into rbuf: it ends before either goes */
	if (r->rpool)
		md_pool_wait(r->rpool, NULL, NULL);
	for (int i = 0; i < RESHAPE_MAX_DISKS; i++) {
		md_member_close(&r->mm[i]);
		io_free(r->rbuf[i]);
		io_free(r->wbuf[i]);
		free(r->wiov[i]);
	}
	for (int i = 0; i < r->nbd; i++)
		if (r->plan.method == RESHAPE_BACKUP_FILE && r->bd[i].fd >= 0)
			close(r->bd[i].fd);
	md_pool_free(r->rpool);
	md_pool_free(r->wpool);
	free(r->pf_jobs);
	free(r->sbn);
	io_free(r->sbuf);
	free(r->master);
	free(r->build);
	io_free(r->bm_full);
	io_free(r->lbuf);
	io_free(r->zero);
	free(r);
}

/* ------------------------------------------------------------------ */
/* Buffers and I/O */

/* Size the step: k new rows whose new stripes, the old rows they come
 * from, and a logical copy fit the memory budget. */
/* Old rows a step of k new rows reads (its array sectors, plus the row it
 * may start inside). */
static uint64_t old_rows_for(const struct reshape *r, uint64_t k)
{
	uint64_t orow = (uint64_t)r->og.ndata * r->ocs;
	return (k * (uint64_t)r->ng.ndata * r->cs + orow - 1) / orow + 1;
}

/* What alloc_buffers allocates for k-row steps: rbuf (two halves of 2S old
 * rows a member), wbuf, and lbuf (a step's data in array order). */
/* lbuf's size for k-row steps: a step's data in array order, or the old
 * rows it reads, whichever is larger. */
static uint64_t lbuf_bytes(const struct reshape *r, uint64_t k)
{
	uint64_t l = old_rows_for(r, k) * (uint64_t)r->og.ndata * r->ocsb;
	uint64_t step = k * (uint64_t)r->ng.ndata * r->csb;
	return step > l ? step : l;
}

static uint64_t buffer_bytes(const struct reshape *r, uint64_t k)
{
	uint64_t S = old_rows_for(r, k);
	return (uint64_t)r->og.disks * 4 * S * r->ocsb + (uint64_t)r->ng.disks * k * r->csb +
	       lbuf_bytes(r, k);
}

static int alloc_buffers(struct reshape *r, struct ok_err *e)
{
	size_t budget = md_budget_bytes(r->opts.mem_bytes);
	int on = r->og.disks, nn = r->ng.disks, od = r->og.ndata, nd = r->ng.ndata;
	/* a first guess from the bytes a row costs (rbuf: two halves of 2S
	 * old rows, a step's S and S read ahead; wbuf; lbuf) ... */
	double per_row = (double)r->csb * (nn + 4.0 * on * nd / od + nd);
	uint64_t k = (uint64_t)((double)budget / per_row);
	if (k < 1)
		k = 1;
	if (r->opts.max_step_rows && k > r->opts.max_step_rows)
		k = r->opts.max_step_rows;
	if (k > r->rows)
		k = r->rows;
	k = k < r->wstep ? r->wstep : k / r->wstep * r->wstep; /* whole units */
	/* ... then exactly: the old rows a step may start inside count too, so
	 * the buffers stay within --mem unless one unit alone exceeds it */
	while (k > r->wstep && buffer_bytes(r, k) > budget)
		k -= r->wstep;
	r->step_rows = k;
	r->old_rows_max = old_rows_for(r, k);
	/* not zeroed: every byte used is read or computed first */
	for (int d = 0; d < on; d++)
		if (!(r->rbuf[d] = md_buf_alloc(4 * r->old_rows_max * r->ocsb)))
			goto nomem;
	for (int d = 0; d < nn; d++)
		if (!(r->wbuf[d] = md_buf_alloc(k * r->csb)) ||
		    !(r->wiov[d] = malloc(k * sizeof(struct iovec))))
			goto nomem;
	uint64_t l = lbuf_bytes(r, k);
	if (k != r->wstep && buffer_bytes(r, k) > budget)
		BUG("%llu-row step buffers exceed the %zu-byte budget", (unsigned long long)k,
		    budget);
	if (!(r->lbuf = md_buf_alloc(l)) ||
	    !(r->zero = io_alloc(r->csb > r->ocsb ? r->csb : r->ocsb)))
		goto nomem;
	r->win_r0 = r->win_r1 = 0;
	r->half = r->pf_busy = 0;
	if (!(r->pf_jobs = calloc(RESHAPE_MAX_DISKS, sizeof *r->pf_jobs)) ||
	    !(r->rpool = md_pool_new(on)) || !(r->wpool = md_pool_new(nn)) ||
	    !(r->sbn = malloc((size_t)r->nslots * sizeof *r->sbn)) ||
	    !(r->sbuf = io_alloc((size_t)r->nslots * SB_BLOCK)))
		goto nomem;
	return 0;
nomem:
	return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory for %llu-row steps",
			 (unsigned long long)k);
}

static int fd_write(int fd, const char *path, const void *buf, uint64_t len, uint64_t byte_off,
		    struct ok_err *e)
{
	ssize_t n = io_pwrite_full(fd, buf, len, (off_t)byte_off);
	if (n < 0)
		return ok_err_at(e, (int)n, path, (long long)byte_off, "write failed");
	return 0;
}

/*
 * Parallel member I/O through the reshape's own threads (iopool.h): a chunk
 * change with little head-room makes a checkpoint per stripe, and a thread
 * started per member per write, flush and superblock cost more than the
 * I/O. A job is one md_io (member.h) and, with sync_after, an fdatasync of
 * that member once it is done: a member's data is then durable without a
 * second round of wake-ups. Only with the real system calls: a test's
 * io_sys (a recorder, a crash replay) gets md_io_run's order (the
 * transfers, 1 MiB and over in parallel, then the flushes one by one), so
 * its recorded sequence of writes and flushes stays what it was.
 */
static int rs_job_one(void *ctx, int i, struct ok_err *e)
{
	struct rs_job *j = (struct rs_job *)ctx + i;
	int rc;
	if (j->sb) {
		struct md_io s = {.m = j->io.m,
				  .kind = MD_IO_WRITE,
				  .buf = (void *)j->sb,
				  .len = SB_BLOCK,
				  .dev_byte = j->sb_byte};
		if ((rc = md_io_run(&s, 1, e)) == 0 && (rc = io_fdatasync(j->io.m->fd)) < 0)
			ok_err_at(e, rc, j->io.m->path, OK_ERR_NOPOS, "fdatasync failed");
		if (rc < 0)
			return j->io.rc = rc;
	}
	rc = md_io_run(&j->io, 1, e); /* one job: runs here */
	if (rc == 0 && j->sync_after && j->io.kind != MD_IO_SYNC &&
	    (rc = io_fdatasync(j->io.m->fd)) < 0)
		ok_err_at(e, rc, j->io.m->path, OK_ERR_NOPOS, "fdatasync failed");
	return j->io.rc = rc;
}

static bool io_real(void)
{
	return io_sys.pread == io_sys_default.pread && io_sys.pwrite == io_sys_default.pwrite &&
	       io_sys.fdatasync == io_sys_default.fdatasync;
}

/* md_pool_run, or md_par_run without a pool (before the step buffers
 * exist: takeover_run, crash_point). */
static int rs_run(struct md_pool *p, int n, bool par, struct rs_job *j, struct ok_err *e)
{
	return p ? md_pool_run(p, n, par, rs_job_one, j, NULL, e)
		 : md_par_run(n, par, rs_job_one, j, NULL, e);
}

/* Run jobs j[0..n) on pool p (may be NULL) to the end (every job runs
 * even when one fails); 0 or the first failed job's error. */
static int rs_io_run(struct md_pool *p, struct rs_job *j, int n, struct ok_err *e)
{
	if (io_real())
		return rs_run(p, n, true, j, e);
	/* a test's io_sys: jobs that carry a superblock one member after
	 * another (each its superblock, flush, transfer, flush: one order the
	 * threads may take); else md_io_run's order, flushes after all
	 * transfers */
	if (n && j[0].sb)
		return rs_run(p, n, false, j, e);
	int rc = 0, want_sync = 0;
	struct rs_job s[RESHAPE_MAX_DISKS];
	for (int i = 0; i < n; i++) {
		want_sync |= j[i].sync_after;
		s[i] = (struct rs_job){.io = {.m = j[i].io.m, .kind = MD_IO_SYNC}};
	}
	if (n && j[0].io.kind != MD_IO_SYNC)
		rc = rs_run(p, n, j[0].io.len >= (1u << 20), j, e);
	else
		want_sync = 1;
	if (rc == 0 && want_sync)
		rc = rs_run(p, n, false, s, e);
	return rc;
}

/* fdatasync every member in use, in parallel. */
static int sync_all(struct reshape *r, struct ok_err *e)
{
	struct rs_job j[RESHAPE_MAX_DISKS];
	int n = 0;
	for (int s = 0; s < r->nslots; s++)
		if (r->slot[s])
			j[n++] = (struct rs_job){.io = {.m = r->slot[s]->mm, .kind = MD_IO_SYNC}};
	return rs_io_run(r->wpool, j, n, e);
}

static uint64_t prot_pos(const struct reshape *r)
{
	if (r->backup_valid && r->bk_end > r->dpos)
		return r->bk_end;
	return r->dpos;
}

/* Invariant (2): the first new row this run may NOT write yet. */
static uint64_t write_limit(const struct reshape *r)
{
	uint64_t prot = prot_pos(r);
	if (prot >= r->plan.old_array)
		return r->rows;
	/* new row w ends at doff_new + (w+1)·cs: it must not reach the first
	 * old row still live, at doff_old + L(prot)·ocs; whole units only */
	uint64_t live = prot / ((uint64_t)r->og.ndata * r->ocs) * r->ocs;
	uint64_t lim = (live + r->shift) / r->cs / r->wstep * r->wstep;
	return lim < r->rows ? lim : r->rows;
}

/* Old rows [0, live_below()) hold array sectors below dpos: backwards,
 * the old geometry's data still to be moved (invariant 2b). */
static uint64_t live_below(const struct reshape *r)
{
	uint64_t orow = (uint64_t)r->og.ndata * r->ocs;
	return (r->dpos + orow - 1) / orow;
}

/* Invariant (2b), backwards: the lowest new row this run may write. New
 * row w sits at doff_old + shift + w·cs, over old row w + shift/cs, which
 * must hold nothing below dpos; whole units only. */
static uint64_t write_floor(const struct reshape *r)
{
	uint64_t live = live_below(r) * r->ocs, lo = live > r->shift ? live - r->shift : 0;
	lo = (lo + r->cs - 1) / r->cs;
	return (lo + r->wstep - 1) / r->wstep * r->wstep;
}

/* ------------------------------------------------------------------ */
/* A reshape the kernel was stopped in while running (issue 24) */

enum torn_class { TORN_NEITHER, TORN_OLD, TORN_NEW, TORN_BOTH };

/* Whether the member bytes in bufs (slot-indexed; each the span of
 * sectors [rel0, rel0 + len) past the geometry's data_offset) hold P (and
 * Q) consistent with their data in geometry gm of chunk ch sectors,
 * members [0, disks): 1 yes, 0 no, -1 the span is past the geometry's
 * data (nothing to judge). Parity is bytewise, so a span that covers only
 * part of a chunk row is checked on that part alone. */
static int span_parity_ok(const struct reshape *r, const struct md_geom *gm, int nd, uint32_t ch,
			  uint64_t rel0, uint64_t len, uint8_t *const *bufs, uint8_t *p, uint8_t *q,
			  uint8_t *x)
{
	struct md_stripe st;
	void *slots[RESHAPE_MAX_DISKS];
	for (uint64_t rel = rel0; rel < rel0 + len;) {
		uint64_t s = rel / ch, n = ch - rel % ch;
		if (n > rel0 + len - rel)
			n = rel0 + len - rel;
		if (s >= r->plan.size / ch)
			return -1;
		md_stripe_layout(gm, s, &st);
		size_t at = (size_t)(rel - rel0) * 512, nb = (size_t)n * 512;
		/* degraded (a RAID6 with one member missing, torn_check): a
		 * missing data block is rebuilt from P and Q checked, a
		 * missing P or Q leaves the other one to check */
		int mk = -1, mp = !r->slot[st.pd], mq = st.qd >= 0 && !r->slot[st.qd];
		for (int k = 0; k < nd; k++) {
			slots[st.qslot[k]] = bufs[st.data_dev[k]] + at;
			if (!r->slot[st.data_dev[k]])
				mk = k;
		}
		if ((mk >= 0) + mp + mq >= (st.qd >= 0 ? 2 : 1))
			return -1;
		if (mk >= 0) {
			slots[st.qslot[mk]] = bufs[st.pd] + at; /* data = P ^ the others */
			pq_xor(nd, nb, slots, x);
			slots[st.qslot[mk]] = x;
		}
		if (st.qd >= 0)
			pq_gen(nd, nb, slots, p, q);
		else
			pq_xor(nd, nb, slots, p);
		if ((!mp && mk < 0 && memcmp(p, bufs[st.pd] + at, nb)) ||
		    (st.qd >= 0 && !mq && memcmp(q, bufs[st.qd] + at, nb)))
			return 0;
		rel += n;
	}
	return 1;
}

/* A RAID5 chunk or layout change (the same members): the old and the new
 * stripes of the same bytes have the same XOR (torn_classify). */
static int torn_xor_blind(const struct reshape *r)
{
	return r->plan.level == 5 && r->og.disks == r->ng.disks;
}

/* Whether the n bytes at b are all zero (no proof either way: torn_classify). */
static int bytes_zero(const uint8_t *b, uint64_t n)
{
	return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* Read the members' bytes under new row w and say which geometry's
 * parity they satisfy: TORN_NEW (the new one's only: the row was written
 * in the new geometry), TORN_OLD (the old one's only: old data still
 * there), TORN_BOTH (e.g. zeros: no proof either way), TORN_NEITHER (a
 * torn write, a stripe dirty before, or old rows past the old data). */
static int torn_classify(struct reshape *r, uint64_t w, uint8_t **bufs, uint8_t *pqx,
			 enum torn_class *out, struct ok_err *e)
{
	int rc;
	uint8_t *p = pqx, *q = pqx + r->csb, *x = pqx + 2 * r->csb;
	for (int d = 0; d < r->nslots; d++)
		if (r->slot[d] &&
		    (rc = md_member_read(r->slot[d]->mm, bufs[d], r->csb,
					 (r->doff_new + w * r->cs) * 512, false, e)) < 0)
			return rc;
	if (torn_xor_blind(r)) {
		/* RAID5 at the same members: P is the XOR of every member
		 * in any layout and chunk, so parity cannot tell the
		 * geometries apart. Proof instead: new row w's data chunks
		 * equal the old data of the same array sectors, read where
		 * the old geometry keeps it (only there while no later row
		 * overwrote it: near the frontier, which is all (a) needs).
		 * Zeros, or every chunk alike, prove nothing (TORN_BOTH). */
		struct md_stripe ns, os;
		uint8_t *ob = bufs[RESHAPE_MAX_DISKS];
		int nd = r->ng.ndata, match = 1, alike = 1, zero = 1;
		md_stripe_layout(&r->ngm, w, &ns);
		for (int k = 0; k < nd; k++) {
			const uint8_t *nb = bufs[ns.data_dev[k]];
			alike &= !memcmp(nb, bufs[ns.data_dev[0]], r->csb);
			zero &= bytes_zero(nb, r->csb);
			uint64_t a = (w * (uint64_t)nd + (uint64_t)k) * r->cs, a1 = a + r->cs;
			while (a < a1 && match) {
				uint64_t oc = a / r->ocs, orow = oc / (uint64_t)nd, in = a % r->ocs;
				uint64_t len = r->ocs - in < a1 - a ? r->ocs - in : a1 - a;
				if (orow >= r->plan.size / r->ocs) {
					*out = TORN_NEITHER;
					return 0;
				}
				md_stripe_layout(&r->ogm, orow, &os);
				struct member *m = r->slot[os.data_dev[oc % (uint64_t)nd]];
				if ((rc = md_member_read(m->mm, ob, len * 512,
							 (r->doff_old + orow * r->ocs + in) * 512,
							 false, e)) < 0)
					return rc;
				match &= !memcmp(ob, nb + (a - (a1 - r->cs)) * 512, len * 512);
				a += len;
			}
		}
		*out = zero || alike ? TORN_BOTH : match ? TORN_NEW : TORN_NEITHER;
		return 0;
	}
	int nw = span_parity_ok(r, &r->ngm, r->ng.ndata, r->cs, w * r->cs, r->cs, bufs, p, q, x);
	/* the same bytes as old rows: at sector w·cs - shift past doff_old
	 * forwards, w·cs + shift backwards (data_offset moved up) */
	int od = r->back || w * r->cs >= r->shift
		     ? span_parity_ok(r, &r->ogm, r->og.ndata, r->ocs,
				      r->back ? w * r->cs + r->shift : w * r->cs - r->shift, r->cs,
				      bufs, p, q, x)
		     : -1;
	/* no old view (the room data_offset moved into, below the old data
	 * forwards, above it backwards): the new parity alone, zeros proving
	 * nothing */
	if (nw == 1 && od == -1) {
		int zero = 1;
		for (int d = 0; d < r->nslots && zero; d++)
			zero &= !r->slot[d] || bytes_zero(bufs[d], r->csb);
		od = zero;
	}
	*out = nw == 1 && od == 1   ? TORN_BOTH
	       : nw == 1 && od == 0 ? TORN_NEW
	       : nw == 0 && od == 1 ? TORN_OLD
				    : TORN_NEITHER;
	return 0;
}

/*
 * Continuing a reshape with NEW_OFFSET restarts at reshape_position P and
 * reads the old rows holding the array sectors still to move: >= P
 * forwards (a grow, a chunk or layout change, data_offset moved down by
 * mdadm's minimal amount), < P backwards (a chunk or layout change with
 * more room after the data, RESHAPE_BACKWARDS, data_offset moved up; a
 * shrink). That is safe only if nothing was written over them, i.e. no
 * new row at or past write_limit() (forwards) or below write_floor()
 * (backwards), each computed for P, holds new data. mdraid's own engine
 * never writes there (invariants 2 and 2b). Kernel 6.1 may: raid5.c
 * reshape_request records reshape_position (mddev->reshape_position =
 * conf->reshape_progress) only when "reshape_backwards ? (safepos >
 * writepos && readpos < writepos) : (safepos < writepos && readpos >
 * writepos)" or every 10 s (reshape_checkpoint + 10*HZ). Forwards,
 * readpos less min_offset_diff is not ahead of writepos with a minimal
 * move; backwards, writepos = progress/new_data_disks - reshape_sectors +
 * min_offset_diff and readpos = progress/data_disks + reshape_sectors, so
 * at constant members readpos < writepos only if the move exceeds twice
 * the larger chunk, which mdadm's minimal move (raid5_run asks one chunk)
 * does not. Either way a crash or an mdadm --stop while it runs can
 * leave new rows written past P over old data a restart at P still reads
 * (issue 24: forwards P 40960, new rows 23-24 over old rows 22-23;
 * backwards a 64K -> 512K change stopped by mdadm --stop, data shifted
 * 2 MiB from 30 MiB up). A shrink (delta_disks < 0, backwards) has
 * readpos < writepos while progress·(1/new_data_disks - 1/data_disks) +
 * min_offset_diff > 2·reshape_sectors: there the kernel records before it
 * writes where a restart reads, and this check finds nothing. mdadm's
 * move (backup_blocks / old data disks = chunk·new_data_disks /
 * gcd(old, new data disks)) is under twice the chunk only when the new
 * data disks divide the old (RAID6 6 -> 4: one chunk); then, in the last
 * few chunks' worth of array sectors above position 0, it is the chunk
 * change's case: so the shrink is checked too (one scan, as for any other
 * backwards reshape). Between two records the kernel may run 10 s of reshape,
 * so there is no fixed bound; it writes rows in order (one
 * reshape_sectors unit a call, at most stripe_cache_size stripes in
 * flight), so its writes end at a frontier with at most a cache's worth
 * of holes before it.
 *
 * The decision, before anything is written: classify each new row past
 * the bound (from write_limit() up, from write_floor() down) by the
 * parity of its bytes in both geometries (torn_classify). Proof that the
 * kernel went past its record is a row whose new-geometry P (and Q) are
 * right and whose old-geometry ones are wrong (TORN_NEW). The scan stops
 * TORN_WINDOW sectors of each member past the farthest such row (past the
 * bound when there is none): a stripe cache's worth (256 stripes x 4 KiB,
 * the default) many times over. Rows consistent in both views (zeros) or
 * in neither (a torn stripe, a stripe left dirty) are no proof either way.
 * No TORN_NEW row: the state is a fixed point (or mdraid's own), the
 * reshape continues from P unchanged.
 * TORN_NEW rows, and unambiguous: every row from P's to the frontier F
 * (in the reshape's direction) is TORN_NEW, the next row is TORN_OLD (old
 * data there: the kernel had not got so far), no TORN_NEW row beyond F
 * in the scan, and a restart at F's unit (rounded towards P) does not
 * read what the rows written overwrote: the reshape continues from there
 * (plan.frontier: the caller says so; the first checkpoint records it
 * before any row is written).
 * Otherwise (a gap, a zero or torn row inside the run, a row both
 * geometries' parity accepts because the layouts put P and Q on the same
 * members there, no old row after it): -EPERM with the sector range,
 * nothing written. RAID5 at the same members is judged by data, not
 * parity (torn_xor_blind), which proves rows near the frontier only: a
 * proven torn state is always refused there. A RAID6 with one member
 * missing is judged with the parity left; with as many missing as parity
 * (or any, for RAID5) nothing can be judged: plan.unchecked, the caller
 * warns, the reshape continues as recorded.
 */
#define TORN_WINDOW 16384 /* member sectors (8 MiB) scanned past the evidence */

static int torn_check(struct reshape *r, struct ok_err *e)
{
	struct reshape_plan *pl = &r->plan;
	int back = r->back;
	uint64_t nd = (uint64_t)r->ng.ndata, P = r->dpos, p = P / (r->cs * nd);
	/* rows a restart at P may not write: [lim, rows) forwards, [0, lim)
	 * backwards; the i-th of them counted from the bound outwards */
	uint64_t lim = back ? write_floor(r) : write_limit(r),
		 win = (TORN_WINDOW + r->cs - 1) / r->cs;
	uint64_t span = back ? lim : r->rows > lim ? r->rows - lim : 0;
#define BEYOND(i) (back ? lim - 1 - (i) : lim + (i))
	uint8_t *bufs[2 * RESHAPE_MAX_DISKS] = {0}, *pq = NULL;
	int rc = 0;
	pl->recorded = P;
	if (!span)
		return 0;
	/* as many members missing as either geometry has parity: nothing
	 * can be judged; the caller says the check was not made */
	int par = pl->level == 6 ? 2 : 1, om = 0, nm = 0;
	for (int d = 0; d < r->nslots; d++)
		if (!r->slot[d]) {
			om += d < r->og.disks;
			nm += d < r->ng.disks;
		}
	if (om >= par || nm >= par) {
		pl->unchecked = 1;
		return 0;
	}
	if (torn_xor_blind(r) && (om || nm)) {
		pl->unchecked = 1; /* no parity to rebuild the missing member from */
		return 0;
	}
	for (int d = 0; d < r->nslots; d++)
		if (!(bufs[d] = io_alloc(r->csb)) ||
		    !(bufs[RESHAPE_MAX_DISKS + d] = io_alloc(r->csb))) {
			rc = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
			goto out;
		}
	if (!(pq = io_alloc(3 * r->csb))) {
		rc = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	/* evidence: TORN_NEW rows past the bound, i counting outwards */
	uint64_t first_i = UINT64_MAX, last_i = 0;
	enum torn_class c;
	for (uint64_t i = 0; i < span && i < (first_i == UINT64_MAX ? 0 : last_i + 1) + win; i++) {
		if ((rc = torn_classify(r, BEYOND(i), bufs, pq, &c, e)) < 0)
			goto out;
		if (c == TORN_NEW) {
			if (first_i == UINT64_MAX)
				first_i = i;
			last_i = i;
		}
	}
	if (first_i == UINT64_MAX)
		goto out; /* nothing written over what a restart at P reads */
	/* the run from P's row in the reshape's direction (forwards rows p,
	 * p + 1, ...; backwards p - 1, p - 2, ...): all TORN_NEW for run
	 * rows, then old data */
	uint64_t run = 0, runmax = back ? p : r->rows - p;
	for (; run < runmax; run++) {
		if ((rc = torn_classify(r, back ? p - 1 - run : p + run, bufs, pq, &c, e)) < 0)
			goto out;
		if (c != TORN_NEW)
			break;
	}
	/* f: forwards the first row not written, backwards the lowest written;
	 * q: a restart on a unit boundary towards P */
	uint64_t f = back ? p - run : p + run, edge = BEYOND(last_i);
	uint64_t q = back ? (f + r->wstep - 1) / r->wstep * r->wstep : f / r->wstep * r->wstep;
	int clean = (back ? f <= edge : f > edge) && (run == runmax || c == TORN_OLD);
	if (clean && run < runmax) {
		r->dpos = q * r->cs * nd; /* the bound for a restart there */
		clean = back ? write_floor(r) <= f : write_limit(r) >= f;
		r->dpos = P;
	}
	if (clean) {
		pl->frontier = 1;
		pl->position = q * r->cs * nd < pl->new_array ? q * r->cs * nd : pl->new_array;
		r->pos = pl->position; /* dpos stays P: the first step checkpoints */
		goto out;
	}
	/* the rows written past the bound and the array sectors whose old
	 * rows they overwrote (the old rows at new row w's bytes; forwards a
	 * row below the old data_offset overwrote none: from sector 0) */
	uint64_t lo = back ? edge : BEYOND(first_i), hi = back ? BEYOND(first_i) : edge;
	uint64_t orow = (uint64_t)r->og.ndata * r->ocs;
	uint64_t shifted =
	    back ? ((hi + 1) * r->cs + r->shift + r->ocs - 1) / r->ocs * orow
		 : (lo * r->cs > r->shift ? (lo * r->cs - r->shift) / r->ocs * orow : 0);
	rc = ok_err_at(
	    e, -EPERM, NULL, OK_ERR_NOPOS,
	    "the kernel reshaped past reshape_position %llu: new rows %llu-%llu (member sectors "
	    "%llu-%llu, new data_offset %llu) hold %s where "
	    "the old stripes a restart reads should be%s; continuing would shift the data %s "
	    "array sector %llu%s. Nothing written: image the members first, then restore from "
	    "backup",
	    (unsigned long long)P, (unsigned long long)lo, (unsigned long long)hi,
	    (unsigned long long)(r->doff_new + lo * r->cs),
	    (unsigned long long)(r->doff_new + (hi + 1) * r->cs), (unsigned long long)r->doff_new,
	    torn_xor_blind(r) ? "the old rows' data in the new geometry"
			      : "new-geometry stripes (parity right in it, wrong in the old one)",
	    torn_xor_blind(r) ? " (RAID5: parity cannot place the frontier)"
	    : (back ? f > edge : f <= edge)
		? " (not one contiguous run from the recorded position: no safe frontier)"
		: " (no old data found after them: no safe frontier)",
	    back ? "below" : "from", (unsigned long long)shifted, back ? "" : " on");
#undef BEYOND
out:
	for (int d = 0; d < r->nslots; d++) {
		io_free(bufs[d]);
		io_free(bufs[RESHAPE_MAX_DISKS + d]);
	}
	io_free(pq);
	return rc;
}

#ifndef NDEBUG
/* Invariants (2), (5) and (10) for one write of len sectors at sector off. */
static void check_write(const struct reshape *r, const struct member *m, uint64_t off, uint64_t len)
{
	uint64_t prot = prot_pos(r);
	if (r->back) {
		uint64_t live_end = r->doff_old + live_below(r) * r->ocs;
		if (off < live_end && off + len > r->doff_old)
			BUG("write %s sectors [%llu,%llu) over live old data below %llu (dpos "
			    "%llu)",
			    m->mm->path, (unsigned long long)off, (unsigned long long)(off + len),
			    (unsigned long long)live_end, (unsigned long long)r->dpos);
	} else if (!m->is_new && prot < r->plan.old_array) {
		uint64_t first_live =
		    r->doff_old + prot / ((uint64_t)r->og.ndata * r->ocs) * r->ocs;
		if (off + len > first_live && off < r->doff_old + r->plan.size)
			BUG("write %s sectors [%llu,%llu) over live old data from %llu (prot %llu)",
			    m->mm->path, (unsigned long long)off, (unsigned long long)(off + len),
			    (unsigned long long)first_live, (unsigned long long)prot);
	}
	if (r->pf_busy && !m->is_new && off + len > r->doff_old + r->pf_r0 * r->ocs &&
	    off < r->doff_old + r->pf_r1 * r->ocs)
		BUG("write %s [%llu,%llu) over old rows being read ahead from %llu", m->mm->path,
		    (unsigned long long)off, (unsigned long long)(off + len),
		    (unsigned long long)(r->doff_old + r->pf_r0 * r->ocs));
	if (r->backup_valid && r->plan.method == RESHAPE_BACKUP_MEMBER && m->is_new) {
		uint64_t b0 = r->doff_old + r->plan.size - r->plan.backup_blocks - 16;
		uint64_t b1 = r->doff_old + r->plan.size;
		if (off < b1 && off + len > b0)
			BUG("write %s [%llu,%llu) over the valid backup [%llu,%llu)", m->mm->path,
			    (unsigned long long)off, (unsigned long long)(off + len),
			    (unsigned long long)b0, (unsigned long long)b1);
	}
}

/* Invariants (1), (7), (8) and the write limit on the in-memory state. */
static void assert_reshape_ok(const struct reshape *r)
{
	uint64_t unit = r->unit;
	if (r->pos % unit || r->dpos % unit || (r->back ? r->dpos < r->pos : r->dpos > r->pos) ||
	    r->pos > r->plan.new_array || r->dpos > r->plan.new_array)
		BUG("positions pos %llu dpos %llu (unit %llu)", (unsigned long long)r->pos,
		    (unsigned long long)r->dpos, (unsigned long long)unit);
	if (r->back ? r->pos / (r->cs * (uint64_t)r->ng.ndata) < write_floor(r) && r->pos
		    : r->pos / (r->cs * (uint64_t)r->ng.ndata) > write_limit(r) &&
			  r->pos < r->plan.new_array)
		BUG("pos %llu beyond the write limit", (unsigned long long)r->pos);
	if (r->backup_valid && r->plan.method == RESHAPE_NEW_OFFSET)
		BUG("a backup with NEW_OFFSET");
	if ((r->og.disks != r->ng.disks && r->shift % r->cs) ||
	    (r->back ? r->doff_new - r->doff_old : r->doff_old - r->doff_new) != r->shift)
		BUG("offsets %llu/%llu", (unsigned long long)r->doff_old,
		    (unsigned long long)r->doff_new);
	for (int s = 0; s < r->nslots; s++)
		if (r->slot[s] && r->slot[s]->data_offset != r->doff_old && !r->plan.finish_only)
			BUG("member %d data_offset differs", s);
	/* (8): what the kernel's raid5_run checks of a durable position; at
	 * constant raid_disks it only asks that data moves by at least the
	 * larger chunk, which reshape_open checked. */
	uint64_t maxc = unit / (uint64_t)r->ng.ndata;
	if (r->og.disks != r->ng.disks && !r->backup_valid && (r->dpos || r->back) &&
	    r->dpos < r->plan.new_array) {
		uint64_t here_new = r->dpos / unit,
			 here_old = r->dpos / (maxc * (uint64_t)r->og.ndata);
		if (r->back ? here_new * maxc + r->shift <= here_old * maxc
			    : here_new * maxc >= here_old * maxc + r->shift)
			BUG("durable position %llu too early for the kernel",
			    (unsigned long long)r->dpos);
	}
}
#define ASSERT_RESHAPE_OK(r)	    assert_reshape_ok(r)
#define CHECK_WRITE(r, m, off, len) check_write(r, m, off, len)
#else
#define ASSERT_RESHAPE_OK(r)	    ((void)0)
#define CHECK_WRITE(r, m, off, len) ((void)0)
#endif

/*
 * Rebuild the data chunks of old row `row` (at offset j rows in rb) that
 * missing old members held or that did not read (bad: a bitmask of old
 * slots whose chunk of this row failed) from the others, P and Q (lib/raid6/recov.c),
 * so old_chunk() finds every data chunk. Parity that is lost is never
 * needed: new parity is computed from the data. -EIO with e when more is
 * lost than the level can rebuild.
 */
static int rebuild_old_row(struct reshape *r, uint64_t row, uint64_t j, uint64_t bad,
			   struct ok_err *e)
{
	int nd = r->og.ndata, lost[RESHAPE_MAX_DISKS], nlost = 0;
	void *data[RESHAPE_MAX_DISKS], *others[RESHAPE_MAX_DISKS];
	struct md_stripe st;
	md_stripe_layout(&r->ogm, row, &st);
	int pd = st.pd, qd = st.qd;
	for (int d = 0; d < r->og.disks; d++)
		if (!r->slot[d])
			bad |= 1ULL << d;
	for (int k = 0; k < nd; k++) {
		int dev = st.data_dev[k];
		if (bad >> dev & 1)
			lost[nlost++] = st.qslot[k];
		data[st.qslot[k]] = r->rb[dev] + j * r->ocsb;
	}
	if (!nlost)
		return 0;
	int p_ok = !(bad >> pd & 1), q_ok = qd >= 0 && !(bad >> qd & 1);
	if (nlost > 2 || (nlost == 2 && !(p_ok && q_ok)) || (!p_ok && !q_ok))
		return ok_err_at(e, -EIO, NULL, OK_ERR_NOPOS,
				 "old stripe %llu: %d data chunks and %d parity chunks unreadable "
				 "or missing, more than RAID%d can rebuild",
				 (unsigned long long)row, nlost, !p_ok + (qd >= 0 && !q_ok),
				 r->plan.level);
	if (nlost == 2 && lost[0] > lost[1]) {
		int t = lost[0];
		lost[0] = lost[1];
		lost[1] = t;
	}
	uint8_t *p = r->rb[pd] + j * r->ocsb;
	uint8_t *q = qd >= 0 ? r->rb[qd] + j * r->ocsb : NULL;
	if (nlost == 2) {
		pq_recov_2data(nd, r->ocsb, lost[0], lost[1], data, p, q);
	} else if (p_ok) {
		int k = 0;
		for (int i = 0; i < nd; i++)
			if (i != lost[0])
				others[k++] = data[i];
		others[k++] = p;
		pq_xor(k, r->ocsb, others, data[lost[0]]);
	} else {
		pq_recov_data_p(nd, r->ocsb, lost[0], data, p, q);
	}
	return 0;
}

/*
 * A member's read of old rows [from, r1) (rb holding rows from r0 on)
 * failed: read it again row by row, and a failed row 4 KiB by 4 KiB, to
 * find the unreadable blocks (md's unit), counted in r->read_errors. The
 * failed rows get bit d in bad[row - from].
 * The grow then rebuilds them from P/Q and writes their data in the new
 * layout over the same area, which is the rewrite md makes after a read
 * error (R5_ReWrite).
 */
static void find_bad_rows(struct reshape *r, int d, uint64_t r0, uint64_t from, uint64_t r1,
			  uint64_t *bad)
{
	struct member *m = r->slot[d];
	for (uint64_t row = from; row < r1; row++) {
		uint8_t *buf = r->rb[d] + (row - r0) * r->ocsb;
		uint64_t at = (r->doff_old + row * r->ocs) * 512;
		if (md_member_read(m->mm, buf, r->ocsb, at, true, NULL) == 0)
			continue;
		bad[row - from] |= 1ULL << d;
		for (uint64_t b = 0; b < r->ocsb; b += 4096) {
			if (md_member_read(m->mm, buf + b, 4096, at + b, true, NULL) == 0)
				continue;
			if (!r->read_errors++)
				snprintf(r->rerr_first, sizeof r->rerr_first, "%.250s: offset %llu",
					 m->mm->path, (unsigned long long)(at + b));
		}
	}
}

/*
 * Old rows: a window [win_r0, win_r1) in one half of rbuf, and the next S
 * rows read ahead into the other half by the read threads while the steps
 * use the window (and write, and checkpoint). A step that runs past the
 * window takes the read-ahead: its rows still needed from the window (at
 * most S) are copied in front of it, the halves swap, and the next read
 * ahead starts. So a chunk or layout change with little head-room, which
 * checkpoints every stripe, reads each member in large requests that
 * overlap its writes and flushes, and no row is read twice (a read error
 * is counted once).
 *
 * Why rows read ahead stay right: a step reads old rows >= L(its first
 * array sector), and every write before it (new rows below it) sits below
 * those rows' device sectors (see the design notes): every write a step in
 * the window makes ends at or below the window's end (win_r1), where the
 * read ahead begins, so the bytes a later step uses were intact when read
 * and nothing has changed them since; rows below L that the window holds
 * are never used again.
 */

/* Old rows holding data: the old array's end, in old rows. */
static uint64_t old_rows_end(const struct reshape *r)
{
	uint64_t orow = (uint64_t)r->og.ndata * r->ocs;
	return (r->plan.old_array + orow - 1) / orow;
}

/* Jobs reading old rows [from, end) of every present old member to
 * rbuf[d] + at bytes; their count. */
static int old_read_jobs(struct reshape *r, uint64_t from, uint64_t end, uint64_t at,
			 struct rs_job *j, int *slot)
{
	int n = 0;
	for (int d = 0; d < r->og.disks; d++)
		if (r->slot[d]) {
			slot[n] = d;
			j[n++] = (struct rs_job){
			    .io = {.m = r->slot[d]->mm,
				   .kind = MD_IO_READ,
				   .buf = r->rbuf[d] + at,
				   .len = (end - from) * r->ocsb,
				   .dev_byte = (r->doff_old + from * r->ocs) * 512}};
		}
	return n;
}

/* Rows [from, end) just read by jobs j (the window from win_r0 in rb):
 * find what did not read and rebuild it and what missing members held. */
static int old_rows_arrived(struct reshape *r, const struct rs_job *j, const int *slot, int n,
			    uint64_t from, uint64_t end, struct ok_err *e)
{
	int failed = 0, rc = 0;
	for (int i = 0; i < n; i++)
		failed |= j[i].io.rc < 0;
	uint64_t *bad = failed ? calloc(end - from, sizeof *bad) : NULL;
	if (failed && !bad)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	for (int i = 0; i < n && failed; i++)
		if (j[i].io.rc < 0)
			find_bad_rows(r, slot[i], r->win_r0, from, end, bad);
	if (n < r->og.disks || failed)
		for (uint64_t row = from; row < end && rc == 0; row++)
			rc = rebuild_old_row(r, row, row - r->win_r0, bad ? bad[row - from] : 0, e);
	free(bad);
	return rc;
}

/* Read the S rows after the window into the other half, S rows in. Only
 * forwards (rows above the window are still to be read): a shrink moves
 * backwards and writes above the window, so it never reads ahead
 * (invariant 10 would stop it); its steps read their rows when they need
 * them (read_old_rows' "read now"). */
static void start_read_ahead(struct reshape *r)
{
	uint64_t last = old_rows_end(r), S = r->old_rows_max;
	if (r->back || r->pf_busy || r->win_r1 >= last)
		return;
	r->pf_r0 = r->win_r1;
	r->pf_r1 = r->pf_r0 + S < last ? r->pf_r0 + S : last;
	uint64_t at = ((uint64_t)(1 - r->half) * 2 * S + S) * r->ocsb;
	r->pf_n = old_read_jobs(r, r->pf_r0, r->pf_r1, at, r->pf_jobs, r->pf_slot);
	/* a test's io_sys: read now, here (md_io_run's order) */
	md_pool_start(r->rpool, r->pf_n, io_real(), rs_job_one, r->pf_jobs);
	r->pf_busy = 1;
}

/* Make old rows [r0, r1) (r1 - r0 <= S) of every old member available in
 * rb: from the window, the read ahead, or read now. */
static int read_old_rows(struct reshape *r, uint64_t r0, uint64_t r1, struct ok_err *e)
{
	uint64_t S = r->old_rows_max, last = old_rows_end(r);
	int rc;
	if (r0 >= r->win_r0 && r1 <= r->win_r1)
		return 0;
	if (r1 - r0 > S || r1 > last)
		BUG("old rows [%llu,%llu): more than %llu or past %llu", (unsigned long long)r0,
		    (unsigned long long)r1, (unsigned long long)S, (unsigned long long)last);
	if (r->pf_busy) {
		md_pool_wait(r->rpool, NULL, NULL); /* each job's rc is in pf_jobs */
		r->pf_busy = 0;
		if (r0 >= r->win_r0 && r0 <= r->pf_r0 && r->pf_r0 == r->win_r1 && r1 <= r->pf_r1) {
			/* take it: the rows still needed go in front of it */
			int h = 1 - r->half;
			uint64_t carry = r->win_r1 - r0;
			for (int d = 0; d < r->og.disks; d++) {
				uint8_t *to =
				    r->rbuf[d] + ((uint64_t)h * 2 * S + S - carry) * r->ocsb;
				memcpy(to, r->rb[d] + (r0 - r->win_r0) * r->ocsb, carry * r->ocsb);
				r->rb[d] = to;
			}
			r->half = h;
			r->win_r0 = r0;
			r->win_r1 = r0; /* nothing valid until the read ahead checks out */
			if ((rc = old_rows_arrived(r, r->pf_jobs, r->pf_slot, r->pf_n, r->pf_r0,
						   r->pf_r1, e)) < 0)
				return rc;
			r->win_r1 = r->pf_r1;
			start_read_ahead(r);
			return 0;
		}
	}
	/* not contiguous (the first read, or after the backup was saved):
	 * read now, 2S rows into the current half */
	struct rs_job j[RESHAPE_MAX_DISKS];
	int slot[RESHAPE_MAX_DISKS];
	uint64_t end = r0 + 2 * S < last ? r0 + 2 * S : last;
	uint64_t at = (uint64_t)r->half * 2 * S * r->ocsb;
	int n = old_read_jobs(r, r0, end, at, j, slot);
	for (int d = 0; d < r->og.disks; d++)
		r->rb[d] = r->rbuf[d] + at;
	r->win_r0 = r->win_r1 = r0;
	(void)rs_io_run(r->rpool, j, n, NULL); /* each job's rc is in j */
	if ((rc = old_rows_arrived(r, j, slot, n, r0, end, e)) < 0)
		return rc;
	r->win_r1 = end;
	start_read_ahead(r);
	return 0;
}

/* Where array chunk c sits in rb (its old row loaded: read_old_rows). */
static const uint8_t *old_chunk(const struct reshape *r, uint64_t c)
{
	struct md_stripe st;
	uint64_t s = c / (uint64_t)r->og.ndata;
	md_stripe_layout(&r->ogm, s, &st);
	return r->rb[st.data_dev[c % (uint64_t)r->og.ndata]] + (s - r->win_r0) * r->ocsb;
}

/*
 * Write new rows [w, w + k): data from the old geometry (from_backup 0) or
 * from the backup (1), zeros past the old end, P and Q computed. One read
 * per old member (read ahead: read_old_rows) and one write per new member:
 * large sequential I/O. sync_after: each member is flushed once its write
 * is done (the step ends at a checkpoint, which then needs no flush of
 * its own: r->data_synced).
 */
static void checkpoint_took(struct reshape *r, int s);

static int move_rows(struct reshape *r, uint64_t w, uint64_t k, int from_backup, int sync_after,
		     struct ok_err *e)
{
	int nd = r->ng.ndata, od = r->og.ndata, nn = r->ng.disks;
	uint64_t orow = (uint64_t)od * r->ocs; /* array sectors per old row */
	uint64_t a0 = w * (uint64_t)nd * r->cs, a1 = (w + k) * (uint64_t)nd * r->cs;
	int rc, logical = from_backup; /* new data chunks come from lbuf */
	r->data_synced = 0;
	if (from_backup) {
		const struct backup_dest *b = &r->bd[0];
		uint64_t len = (a1 - a0) * 512;
		uint64_t at = (b->devstart + (a0 - r->bk_start)) * 512;
		ssize_t got = io_pread_full(b->fd, r->lbuf, len, (off_t)at);
		if (got < 0 || (uint64_t)got != len)
			return ok_err_at(e, got < 0 ? (int)got : -EIO,
					 r->backup_path[0] ? r->backup_path
							   : r->slot[r->og.disks]->mm->path,
					 (long long)at, "cannot read the backup data");
	} else if (a0 < r->plan.old_array) {
		uint64_t end = a1 < r->plan.old_array ? a1 : r->plan.old_array;
		uint64_t r0 = a0 / orow, r1 = (end + orow - 1) / orow;
		if ((rc = read_old_rows(r, r0, r1, e)) < 0)
			return rc;
		if (r->ocs != r->cs) {
			/* chunks differ: a new chunk is made of pieces of old
			 * ones (or the reverse), so lay the data out in array
			 * order first; a0 and end are on old chunk boundaries
			 * (positions are whole units of the larger chunk) */
			for (uint64_t oc = a0 / r->ocs; oc * r->ocs < end; oc++)
				memcpy(r->lbuf + (oc * r->ocs - a0) * 512, old_chunk(r, oc),
				       r->ocsb);
			logical = 1;
		}
	}
	/* a new row's data chunks are written from where they are (old rows,
	 * backup, the zero chunk): only P and Q are computed into wbuf */
	uint8_t *slots[RESHAPE_MAX_DISKS];
	struct md_stripe st;
	for (uint64_t j = 0; j < k; j++) {
		uint64_t s = w + j;
		md_stripe_layout(&r->ngm, s, &st);
		int pd = st.pd, qd = st.qd;
		for (int kk = 0; kk < nd; kk++) {
			uint64_t c = s * (uint64_t)nd + (uint64_t)kk;
			const uint8_t *src;
			if (c * r->cs >= r->plan.old_array)
				src = r->zero;
			else if (logical)
				src = r->lbuf + (c * r->cs - a0) * 512;
			else
				src = old_chunk(r, c);
			/* syndrome slot: the kernel's order (raid6_idx_to_slot) */
			slots[st.qslot[kk]] = (uint8_t *)src;
			r->wiov[st.data_dev[kk]][j] = (struct iovec){(void *)src, r->csb};
		}
		r->wiov[pd][j] = (struct iovec){r->wbuf[pd] + j * r->csb, r->csb};
		if (qd >= 0) {
			r->wiov[qd][j] = (struct iovec){r->wbuf[qd] + j * r->csb, r->csb};
			pq_gen(nd, r->csb, (void **)slots, r->wbuf[pd] + j * r->csb,
			       r->wbuf[qd] + j * r->csb);
		} else {
			pq_xor(nd, r->csb, (void **)slots, r->wbuf[pd] + j * r->csb);
		}
	}
	struct rs_job jobs[RESHAPE_MAX_DISKS];
	int nj = 0;
	for (int d = 0; d < nn; d++) {
		struct member *m = r->slot[d];
		uint64_t off = r->doff_new + w * r->cs;
		if (!m)
			continue; /* degraded: the slot stays missing */
		CHECK_WRITE(r, m, off, k * r->cs);
		/* the gather buffer, for io_sys overrides, is wbuf[d]: the
		 * parity rows it holds are copied over themselves; a pending
		 * checkpoint's superblock goes first (invariant 11) */
		jobs[nj++] =
		    (struct rs_job){.io = {.m = m->mm,
					   .kind = MD_IO_WRITEV,
					   .buf = r->wbuf[d],
					   .len = k * r->csb,
					   .dev_byte = off * 512,
					   .iov = r->wiov[d],
					   .iovcnt = (int)k},
				    .sync_after = sync_after,
				    .sb = r->sb_pending ? r->sbuf + (size_t)d * SB_BLOCK : NULL,
				    .sb_byte = m->super_offset * 512};
	}
	if (r->sb_pending && from_backup)
		BUG("a checkpoint carried by a restore from the backup");
	rc = rs_io_run(r->wpool, jobs, nj, e);
	if (r->sb_pending) {
		r->sb_pending = 0;
		if (rc < 0) {
			r->dpos = r->dpos_prev; /* what surely is durable */
			return rc;
		}
		for (int d = 0; d < nn; d++)
			if (r->slot[d])
				checkpoint_took(r, d);
	}
	if (rc < 0)
		return rc;
	r->data_synced = sync_after;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Superblock rounds and checkpoints */

/* ROUND_OFFSET and ROUND_FINAL together end a grow (see sb_round). */
enum round { ROUND_START, ROUND_CHECKPOINT, ROUND_OFFSET, ROUND_FINAL };

/* One member's superblock into out: the master's array-wide fields,
 * the member's own (offsets, sizes, dev_number, device uuid, bad-block log:
 * v1.x bytes 128..191), encoded with a fresh checksum. A 0.90 member gets
 * the master's disk table (super_90_sync writes one table to every member)
 * with its own entry as this_disk. */
static void build_sb(const struct reshape *r, const struct member *m, int final, struct md_sb *out)
{
	const struct md_sb *own = &m->mm->sb;
	memcpy(out, r->master, sizeof *out);
	out->data_offset = own->data_offset;
	out->data_size = own->data_size;
	out->super_offset = own->super_offset;
	out->recovery_offset = own->recovery_offset;
	out->dev_number = own->dev_number;
	out->cnt_corrected_read = own->cnt_corrected_read;
	memcpy(out->device_uuid, own->device_uuid, sizeof out->device_uuid);
	out->devflags = own->devflags;
	out->bblog_shift = own->bblog_shift;
	out->bblog_size = own->bblog_size;
	out->bblog_offset = own->bblog_offset;
	out->dev_sectors = own->dev_sectors;
	out->minor = own->minor;
	if (final && out->data_offset != r->doff_new) {
		/* md_finish_reshape: data_offset = new, sectors += moved */
		out->data_size += out->data_offset - r->doff_new;
		out->data_offset = r->doff_new;
	}
	md_sb_encode(out);
}

static int write_sb(struct reshape *r, struct member *m, int final, struct ok_err *e)
{
	uint8_t *buf = r->zero; /* a chunk >= 4 KiB of scratch, aligned */
	build_sb(r, m, final, r->build);
	memcpy(buf, r->build->raw, SB_BLOCK);
	int rc = md_member_write(m->mm, buf, SB_BLOCK, m->super_offset * 512, e);
	if (rc == 0) {
		memcpy(&m->mm->sb, r->build, sizeof m->mm->sb);
		member_take_sb(m);
	}
	memset(buf, 0, SB_BLOCK);
	return rc;
}

/* Does member m take part in this pass of a round? (START: new members
 * first, then the old ones; the other rounds have one pass.) */
static int in_pass(const struct member *m, enum round kind, int pass)
{
	return kind != ROUND_START || (pass == 0) == m->is_new;
}

/*
 * Interop tests (--simulate-crash): stop as a SIGKILL would, just before the
 * superblock write number crash_write (0-based) of the START round or of
 * the end of the grow (ROUND_OFFSET and ROUND_FINAL counted together);
 * what was written before is made durable first.
 */
static int crash_point(struct reshape *r, enum round kind, struct ok_err *e)
{
	int want = r->opts.crash_at;
	int end = kind == ROUND_OFFSET || kind == ROUND_FINAL;
	if (!((want == RESHAPE_CRASH_START && kind == ROUND_START) ||
	      (want == RESHAPE_CRASH_FINAL && end)))
		return 0;
	if (r->crash_count++ != r->opts.crash_write)
		return 0;
	int rc = sync_all(r, e);
	if (rc < 0)
		return rc;
	return ok_err_at(e, -ECANCELED, NULL, OK_ERR_NOPOS,
			 "simulated crash before superblock write %d of the %s",
			 r->opts.crash_write, end ? "end of the grow" : "start round");
}

/*
 * The bitmaps of this pass's members, before their superblocks: the event
 * count the superblocks are about to get (a new member: the whole bitmap,
 * bits as on the freshest member), then fdatasync, so that no bitmap is ever
 * older than a superblock on disk (see read_bitmap).
 */
static int bitmap_round(struct reshape *r, enum round kind, int pass, struct ok_err *e)
{
	if (!r->has_bitmap)
		return 0;
	struct md_bitmap bm = r->bm;
	bm.events = r->master->events;
	uint8_t *blk = r->zero; /* a chunk >= 4 KiB of scratch, aligned */
	int rc = 0;
	for (int s = 0; s < r->nslots && rc == 0; s++) {
		struct member *m = r->slot[s];
		if (!m || !in_pass(m, kind, pass))
			continue;
		uint64_t at = bitmap_at(r, m) * 512;
		if (m->bm_fresh) {
			md_bitmap_encode(&bm, r->bm_full);
			rc = md_member_write(m->mm, r->bm_full, r->bm_len, at, e);
			continue;
		}
		ssize_t n = io_pread_full(m->mm->fd, blk, 4096, (off_t)at);
		if (n != 4096) {
			rc = ok_err_at(e, n < 0 ? (int)n : -EIO, m->mm->path, (long long)at,
				       "cannot read the bitmap superblock");
			break;
		}
		md_bitmap_encode(&bm, blk);
		rc = md_member_write(m->mm, blk, 4096, at, e);
	}
	memset(blk, 0, 4096);
	for (int s = 0; s < r->nslots && rc == 0; s++) {
		struct member *m = r->slot[s];
		if (!m || !in_pass(m, kind, pass))
			continue;
		if ((rc = io_fdatasync(m->mm->fd)) < 0)
			return ok_err_at(e, rc, m->mm->path, OK_ERR_NOPOS, "fdatasync failed");
		m->bm_fresh = 0;
	}
	return rc;
}

/*
 * The superblocks of a ROUND_CHECKPOINT (one pass, no crash points), the
 * members in parallel: each slot's block built first (sbn, sbuf), then per
 * member its write and fdatasync as one job (rs_io_run), so a chunk change
 * that checkpoints every stripe pays one wake-up per member, not two. Any
 * subset of these writes may be durable after a crash, as with writes one
 * after another followed by the flushes; each member's record is updated
 * only once every write and flush succeeded (as write_sb does per write).
 * With a test's io_sys, sb_round's loop (write after write, stopping at a
 * failure, then the flushes) runs instead, so recorded sequences stay.
 */
/* Each present slot's next ROUND_CHECKPOINT superblock from the master,
 * into sbn[s] and its block into sbuf (SB_BLOCK per slot). */
static void checkpoint_build(struct reshape *r)
{
	/* every slot, as sb_round's replayed loop: a shrink's members past
	 * the new count are in the array until the end (md's raid_disks is
	 * the larger count while reshaping) and must not fall behind in
	 * events, or mdadm leaves them out of the assembly */
	for (int s = 0; s < r->nslots; s++)
		if (r->slot[s]) {
			build_sb(r, r->slot[s], 0, &r->sbn[s]);
			memcpy(r->sbuf + (size_t)s * SB_BLOCK, r->sbn[s].raw, SB_BLOCK);
		}
}

/* Member slot s now holds sbn[s] on disk (written and flushed): its record
 * follows, as write_sb's does. */
static void checkpoint_took(struct reshape *r, int s)
{
	struct member *m = r->slot[s];
	memcpy(&m->mm->sb, &r->sbn[s], sizeof m->mm->sb);
	member_take_sb(m);
}

static int checkpoint_round(struct reshape *r, struct ok_err *e)
{
	struct rs_job j[RESHAPE_MAX_DISKS];
	int slot[RESHAPE_MAX_DISKS], n = 0, rc;
	if ((rc = bitmap_round(r, ROUND_CHECKPOINT, 1, e)) < 0)
		return rc;
	checkpoint_build(r);
	for (int s = 0; s < r->nslots; s++) {
		struct member *m = r->slot[s];
		if (!m)
			continue;
		uint8_t *buf = r->sbuf + (size_t)s * SB_BLOCK;
		slot[n] = s;
		j[n++] = (struct rs_job){.io = {.m = m->mm,
						.kind = MD_IO_WRITE,
						.buf = buf,
						.len = SB_BLOCK,
						.dev_byte = m->super_offset * 512},
					 .sync_after = 1};
	}
	if ((rc = rs_io_run(r->wpool, j, n, e)) < 0)
		return rc;
	for (int i = 0; i < n; i++)
		checkpoint_took(r, slot[i]);
	return 0;
}

/*
 * Write every superblock from the master (events + 1, utime now), then
 * fdatasync. START writes and syncs the new members first, so that a
 * crash never leaves an old member saying "reshaping" while a new member
 * carries nothing.
 *
 * The end of a grow is two rounds, because the kernel takes each member's
 * data_offset from that member's own superblock (super_1_load) but the
 * reshape state from the freshest one (super_1_validate): a single round
 * that cleared RESHAPE_ACTIVE and moved data_offset together would, torn,
 * leave a freshest "not reshaping" member next to members whose data_offset
 * still names the old place, and the kernel would read those at the old
 * offset (wrong data, assembled clean). So:
 *   ROUND_OFFSET (NEW_OFFSET grows only): data_offset = new, new_offset 0,
 *     NEW_OFFSET cleared, RESHAPE_ACTIVE kept at position = end. Any subset
 *     of these writes is read right: for a member still flagged the kernel
 *     uses data_offset + new_offset = new for rows below the position (all
 *     of them), for a written one data_offset = new; raid5_run's restart
 *     check passes at the end (min_offset_diff 0, here_new < here_old).
 *   ROUND_FINAL: RESHAPE_ACTIVE cleared. Every member's data_offset is
 *     already the new one and raid_disks already N, so whichever member is
 *     the freshest the kernel reads the new geometry at the right offset.
 * Neither round changes raid_disks, so mdadm's compare_super accepts every
 * mix of them and picks the freshest by events.
 */
static int sb_round(struct reshape *r, enum round kind, struct ok_err *e)
{
	struct md_sb *sb = r->master;
	int rc;
	sb->events++;
	sb->utime = (uint64_t)now_secs(r);
	uint32_t f = sb->feature_map;
	/* super_1_sync: RESHAPE_BACKWARDS while reshaping backwards at
	 * delta_disks 0 (a shrink is marked by delta_disks < 0 alone) */
	f &= ~MD_F_RESHAPE_BACKWARDS;
	if (kind != ROUND_FINAL && r->back && r->og.disks == r->ng.disks)
		f |= MD_F_RESHAPE_BACKWARDS;
	if (kind == ROUND_FINAL) {
		f &= ~(MD_F_RESHAPE_ACTIVE | MD_F_NEW_OFFSET);
		/* a shrink's removed members stay as spares, as the kernel
		 * leaves them (raid5_finish_reshape clears In_sync, then
		 * remove_and_add_spares) */
		for (int s = r->ng.disks; s < r->nslots; s++)
			if (r->slot[s])
				sb->dev_roles[r->slot[s]->dev_number] = MD_ROLE_SPARE;
		sb->resync_offset = r->dirty ? 0 : MD_MAX_SECTOR;
		/* raid5_finish_reshape: the new chunk is the chunk; new_chunk
		 * keeps its value (super_1_sync only writes it while reshaping) */
		sb->chunksize = r->cs;
		sb->layout = (uint32_t)r->plan.new_layout; /* mddev->layout = new_layout */
		/* after a chunk change kernel 6.1 leaves new_offset at the
		 * move (super_1_sync writes it only while reshaping; the
		 * feature bits say it is over), as interop test_reshape.sh
		 * finds against mdadm 4.2 + the kernel on a copy; its stale
		 * reshape_position is its last checkpoint's, ours the end */
		if ((r->og.disks == r->ng.disks || r->back) && r->plan.new_offset)
			sb->new_offset = (int32_t)r->plan.new_offset; /* a shrink's too */
	} else if (kind == ROUND_OFFSET) {
		f |= MD_F_RESHAPE_ACTIVE;
		f &= ~MD_F_NEW_OFFSET;
		if (r->og.disks < r->ng.disks)
			sb->new_offset = 0;
		sb->reshape_position = end_pos(r);
	} else {
		f |= MD_F_RESHAPE_ACTIVE;
		if (r->plan.method == RESHAPE_NEW_OFFSET)
			f |= MD_F_NEW_OFFSET;
		sb->reshape_position = r->pos;
	}
	sb->feature_map = f;
	int end = kind == ROUND_OFFSET || kind == ROUND_FINAL;
	if (kind == ROUND_CHECKPOINT && r->ckpt_ride) {
		checkpoint_build(r); /* the next step writes them (checkpoint_ride) */
		r->sb_pending = 1;
		return 0;
	}
	if (kind == ROUND_CHECKPOINT && io_real())
		return checkpoint_round(r, e);
	for (int pass = kind == ROUND_START ? 0 : 1; pass < 2; pass++) {
		if ((rc = bitmap_round(r, kind, pass, e)) < 0)
			return rc;
		for (int s = 0; s < r->nslots; s++) {
			struct member *m = r->slot[s];
			if (!m || !in_pass(m, kind, pass))
				continue;
			if ((rc = crash_point(r, kind, e)) < 0)
				return rc;
			if ((rc = write_sb(r, m, end, e)) < 0)
				return rc;
		}
		/* the pass's superblocks durable, the members in parallel: a
		 * chunk change with little head-room checkpoints every unit */
		struct md_io j[RESHAPE_MAX_DISKS];
		int nj = 0;
		for (int s = 0; s < r->nslots; s++) {
			struct member *m = r->slot[s];
			if (m && in_pass(m, kind, pass))
				j[nj++] = (struct md_io){.m = m->mm, .kind = MD_IO_SYNC};
		}
		if ((rc = md_io_run(j, nj, e)) < 0)
			return rc;
	}
	return 0;
}

/* The end of a grow: ROUND_OFFSET while any member's data_offset is not yet
 * the new one, then ROUND_FINAL (see sb_round). */
static int end_rounds(struct reshape *r, struct ok_err *e)
{
	int rc, moved = 0;
	for (int s = 0; s < r->nslots; s++)
		if (r->slot[s] && r->slot[s]->data_offset != r->doff_new)
			moved = 1;
	if (moved && (rc = sb_round(r, ROUND_OFFSET, e)) < 0)
		return rc;
	return sb_round(r, ROUND_FINAL, e);
}

/* Invariant (3): data durable (by the last step's sync_after, or here),
 * then the superblocks, then durable again (sb_round). */
static int checkpoint(struct reshape *r, struct ok_err *e)
{
	int rc;
	if (r->sb_pending) /* invariant (11): it is the next step's to write */
		BUG("checkpoint at %llu while the one at %llu is pending",
		    (unsigned long long)r->pos, (unsigned long long)r->dpos);
	if ((!r->data_synced && (rc = sync_all(r, e)) < 0) ||
	    (rc = sb_round(r, ROUND_CHECKPOINT, e)) < 0)
		return rc;
	r->data_synced = 0;
	r->dpos = r->pos;
	r->last_ckpt = mono();
	ASSERT_RESHAPE_OK(r);
	return 0;
}

/*
 * A checkpoint at a window's bound that the next step carries (invariant
 * 11): the data below pos durable now (invariant 3's first half), the
 * superblocks built, and each written and flushed by its member's job of
 * the next move_rows just before that member's data. A chunk or layout
 * change with mdadm's data_offset move can take one new row per
 * checkpoint (invariant 2: the row after it lies on the old row the
 * durable position still needs), so each row costs a data write, a flush,
 * a superblock write and a flush, one after another; here they are one
 * job per member, one wake-up of the I/O threads per row instead of two.
 * dpos is pos from here on (the step's writes are checked against it);
 * move_rows puts it back if the step fails. Only where the checkpoint is
 * every member's superblock and nothing else (checkpoint_rides).
 */
static int checkpoint_ride(struct reshape *r, struct ok_err *e)
{
	int rc;
	if (!r->data_synced && (rc = sync_all(r, e)) < 0)
		return rc;
	r->ckpt_ride = 1;
	rc = sb_round(r, ROUND_CHECKPOINT, e);
	r->ckpt_ride = 0;
	if (rc < 0)
		return rc;
	if (!r->sb_pending)
		BUG("checkpoint at %llu not staged", (unsigned long long)r->pos);
	r->data_synced = 0;
	r->dpos_prev = r->dpos;
	r->dpos = r->pos;
	r->last_ckpt = mono();
	ASSERT_RESHAPE_OK(r);
	return 0;
}

/* May the next checkpoint ride on the step after it? Forwards, no backup
 * (its invalidation waits for a durable checkpoint), no bitmap (written
 * and flushed before the superblocks), every slot a member the step writes. */
static int checkpoint_rides(const struct reshape *r)
{
	return !r->back && !r->backup_valid && !r->has_bitmap && r->nslots == r->ng.disks;
}

/* ------------------------------------------------------------------ */
/* Backup: save, find, restore, invalidate */

static void backup_header(const struct reshape *r, uint64_t devstart, uint64_t length, uint8_t *blk)
{
	struct backup_hdr h = {0};
	memcpy(h.magic, BACKUP_MAGIC1, 16);
	memcpy(h.set_uuid, r->master->set_uuid, 16);
	h.mtime = (uint64_t)now_secs(r);
	h.devstart = devstart;
	h.arraystart = 0;
	h.length = length;
	h.devstart2 = r->plan.backup_blocks; /* mdadm: bsb.devstart2 = blocks */
	memset(blk, 0, 4096);
	backup_hdr_encode(&h, blk);
}

/* Where the backup goes: the file (data at 4 KiB, one header) or every new
 * member (data at data_offset + size - B - 8, headers before and after). */
static int backup_dests(struct reshape *r, int create, struct ok_err *e)
{
	uint64_t bb = r->plan.backup_blocks;
	r->nbd = 0;
	if (r->plan.method == RESHAPE_BACKUP_FILE) {
		int fd =
		    open(r->backup_path,
			 create ? O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC : O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			return ok_err_at(e, -errno, r->backup_path, OK_ERR_NOPOS,
					 create ? "cannot create backup file"
						: "cannot open backup file");
		if (create)
			r->backup_created = 1;
		r->bd[r->nbd++] = (struct backup_dest){fd, 8, 0};
		return 0;
	}
	for (int s = r->og.disks; s < r->ng.disks; s++)
		r->bd[r->nbd++] = (struct backup_dest){
		    r->slot[s]->mm->fd, r->slot[s]->data_offset + r->plan.size - bb - 8, 1};
	return 0;
}

static int bd_fd_path(const struct reshape *r, int i, const char **path)
{
	*path = r->plan.method == RESHAPE_BACKUP_FILE ? r->backup_path
						      : r->slot[r->og.disks + i]->mm->path;
	return r->bd[i].fd;
}

/* Write a header (4 KiB block) before the data and, on members, after it. */
static int write_backup_headers(struct reshape *r, uint64_t length, struct ok_err *e)
{
	uint8_t *blk = r->zero;
	int rc = 0;
	for (int i = 0; i < r->nbd && rc == 0; i++) {
		const char *p;
		int fd = bd_fd_path(r, i, &p);
		backup_header(r, r->bd[i].devstart, length, blk);
		rc = fd_write(fd, p, blk, 4096, (r->bd[i].devstart - 8) * 512, e);
		if (rc == 0 && r->bd[i].second_copy && length)
			rc = fd_write(fd, p, blk, 4096,
				      (r->bd[i].devstart + r->plan.backup_blocks) * 512, e);
		if (rc == 0 && (rc = io_fdatasync(fd)) < 0)
			ok_err_at(e, rc, p, OK_ERR_NOPOS, "fdatasync failed");
	}
	memset(blk, 0, 4096);
	return rc;
}

/* save_stripes: array sectors [0, B) in logical order to every
 * destination, data first and durable, then the headers (invariant 4). */
static int save_backup(struct reshape *r, struct ok_err *e)
{
	uint64_t bb = r->plan.backup_blocks, ocs = (uint64_t)r->og.ndata * r->ocs;
	uint64_t orows = bb / ocs;
	int rc;
	if ((rc = backup_dests(r, 1, e)) < 0)
		return rc;
	for (uint64_t r0 = 0; r0 < orows; r0 += r->old_rows_max) {
		uint64_t r1 = r0 + r->old_rows_max < orows ? r0 + r->old_rows_max : orows;
		if ((rc = read_old_rows(r, r0, r1, e)) < 0)
			return rc;
		uint64_t nch = (r1 - r0) * (uint64_t)r->og.ndata;
		for (uint64_t c = 0; c < nch; c++)
			memcpy(r->lbuf + c * r->ocsb, old_chunk(r, r0 * r->og.ndata + c), r->ocsb);
		for (int i = 0; i < r->nbd; i++) {
			const char *p;
			int fd = bd_fd_path(r, i, &p);
			if ((rc = fd_write(fd, p, r->lbuf, nch * r->ocsb,
					   (r->bd[i].devstart + r0 * ocs) * 512, e)) < 0)
				return rc;
		}
	}
	for (int i = 0; i < r->nbd; i++) {
		const char *p;
		int fd = bd_fd_path(r, i, &p);
		if ((rc = io_fdatasync(fd)) < 0)
			return ok_err_at(e, rc, p, OK_ERR_NOPOS, "fdatasync failed");
	}
	if ((rc = write_backup_headers(r, bb, e)) < 0)
		return rc;
	r->backup_valid = 1;
	r->bk_start = 0;
	r->bk_end = bb;
	return 0;
}

/* Read one header and check it as Grow_restart does (magic, checksum, uuid,
 * the copy 4 KiB before devstart, the time window). 1 = usable, 0 = not
 * (why in why[]), < 0 = I/O error. */
static int probe_backup(struct reshape *r, int fd, const char *path, uint64_t hdr_sector,
			struct backup_hdr *h, char *why, size_t whylen)
{
	uint8_t *b = io_alloc(8192);
	struct ok_err e2;
	int ok = 0;
	if (!b)
		return -ENOMEM;
	ssize_t n = io_pread_full(fd, b, 4096, (off_t)(hdr_sector * 512));
	if (n < 0) {
		io_free(b);
		return (int)n;
	}
	if (n < BACKUP_HDR_BYTES ||
	    backup_hdr_decode(b, (size_t)n, h, path, (long long)hdr_sector * 512, &e2) < 0) {
		snprintf(why, whylen, "%.250s", n < BACKUP_HDR_BYTES ? "no backup header" : e2.msg);
		goto out;
	}
	if (memcmp(h->set_uuid, r->master->set_uuid, 16)) {
		snprintf(why, whylen, "wrong uuid on backup-metadata");
		goto out;
	}
	if (h->length == 0) {
		snprintf(why, whylen, "backup was invalidated (length 0)");
		goto out;
	}
	if (h->devstart < 8 ||
	    io_pread_full(fd, b + 4096, 4096, (off_t)((h->devstart - 8) * 512)) != 4096 ||
	    memcmp(b, b + 4096, 68) != 0) {
		snprintf(why, whylen, "the header copy 4 KiB before the data differs");
		goto out;
	}
	int64_t utime = (int64_t)(r->master->utime & 0xffffffffffull);
	int64_t mt = (int64_t)h->mtime;
	if ((utime > mt + 2 * 60 * 60 || utime < mt - 10 * 60) && !getenv("MDADM_GROW_ALLOW_OLD")) {
		snprintf(why, whylen,
			 "too-old timestamp on backup-metadata (array %lld, backup %lld); "
			 "export MDADM_GROW_ALLOW_OLD=1 if it is safe",
			 (long long)utime, (long long)mt);
		goto out;
	}
	uint64_t unit = (uint64_t)r->cs * (uint64_t)r->ng.ndata;
	if (h->arraystart % unit || h->length % unit || h->arraystart > r->pos ||
	    h->arraystart + h->length < r->pos || h->arraystart + h->length > r->plan.old_array) {
		snprintf(why, whylen,
			 "backup covers array sectors [%llu,%llu), which does not fit position "
			 "%llu in stripes of %llu",
			 (unsigned long long)h->arraystart,
			 (unsigned long long)(h->arraystart + h->length),
			 (unsigned long long)r->pos, (unsigned long long)unit);
		goto out;
	}
	ok = 1;
out:
	io_free(b);
	return ok;
}

/* Grow_restart's search: the --backup-file, else the new members (header
 * copy at data_offset + size - 8). Fills bd[0] and bk_*; refuses without. */
static int find_backup(struct reshape *r, struct ok_err *e)
{
	struct backup_hdr h;
	char why[300] = "no backup found";
	if (r->opts.backup_file) {
		snprintf(r->backup_path, sizeof r->backup_path, "%s", r->opts.backup_file);
		r->plan.backup_path = r->backup_path;
		int fd = open(r->backup_path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return ok_err_at(e, -errno, r->backup_path, OK_ERR_NOPOS,
					 "cannot open backup file");
		int ok = probe_backup(r, fd, r->backup_path, 0, &h, why, sizeof why);
		if (ok <= 0) {
			close(fd);
			if (ok < 0)
				return ok_err_at(e, ok, r->backup_path, 0, "cannot read backup");
			return ok_err_at(
			    e, -EPERM, r->backup_path, 0,
			    "the grow stopped inside the critical section (reshape "
			    "position %llu < %llu) and this backup cannot restore it: %s",
			    (unsigned long long)r->pos, (unsigned long long)r->plan.backup_blocks,
			    why);
		}
		r->bd[0] = (struct backup_dest){fd, h.devstart, 0};
		r->nbd = 1;
	} else {
		for (int s = r->og.disks; s < r->ng.disks; s++) {
			struct member *m = r->slot[s];
			int ok =
			    probe_backup(r, m->mm->fd, m->mm->path,
					 m->data_offset + r->plan.size - 8, &h, why, sizeof why);
			if (ok < 0)
				return ok_err_at(e, ok, m->mm->path, OK_ERR_NOPOS,
						 "cannot read backup");
			if (ok) {
				r->plan.method = RESHAPE_BACKUP_MEMBER;
				r->bd[0] = (struct backup_dest){m->mm->fd, h.devstart, 1};
				r->nbd = 1;
				break;
			}
		}
		if (!r->nbd)
			return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
					 "the grow stopped inside the critical section (reshape "
					 "position %llu < %llu): it needs the backup, and none was "
					 "found on the new members (%s); give --backup-file=F",
					 (unsigned long long)r->pos,
					 (unsigned long long)r->plan.backup_blocks, why);
	}
	r->backup_valid = 1;
	r->bk_start = h.arraystart;
	r->bk_end = h.arraystart + h.length;
	return 0;
}

/* forget_backup: header length 0, only once dpos >= the backup's end. */
static int invalidate_backup(struct reshape *r, struct ok_err *e)
{
	if (r->dpos < r->bk_end)
		BUG("invalidating a backup up to %llu at durable position %llu",
		    (unsigned long long)r->bk_end, (unsigned long long)r->dpos);
	if (!r->nbd && backup_dests(r, 0, e) < 0)
		return 0; /* nothing to invalidate we can reach; harmless */
	int rc = write_backup_headers(r, 0, e);
	if (rc == 0)
		r->backup_valid = 0;
	return rc;
}

/* Restore [bk_start, bk_end) from the backup into the new geometry, then
 * make bk_end the durable position (Grow_restart). */
static int restore_backup(struct reshape *r, struct ok_err *e)
{
	uint64_t unit = (uint64_t)r->cs * (uint64_t)r->ng.ndata;
	int rc;
	for (uint64_t w = r->bk_start / unit; w < r->bk_end / unit;) {
		uint64_t k = r->bk_end / unit - w;
		if (k > r->step_rows)
			k = r->step_rows;
		if ((rc = move_rows(r, w, k, 1, 0, e)) < 0)
			return rc;
		w += k;
	}
	r->pos = r->bk_end;
	return checkpoint(r, e);
}

/* ------------------------------------------------------------------ */
/* The step loop */

/* Array sectors in the new geometry (durable or not), for progress. */
static uint64_t reshape_done(const struct reshape *r)
{
	return r->back ? r->plan.new_array - r->pos : r->pos;
}

static int stop_requested(const struct reshape *r)
{
	return r->opts.stop && *r->opts.stop;
}

/*
 * RAID5 -> RAID6 without a restripe (reshape.h): the level round, then Q
 * rebuilt onto the last slot by the core's rebuild. The level round writes
 * the old members only (the kernel's raid6_takeover leaves the new slot
 * missing: level 6, the -6 layout, raid_disks N+1, a degraded RAID6 that
 * reads the same data), events + 1; a torn round (some members RAID5 N,
 * some RAID6 N+1) is what mdadm --assemble refuses ("superblock doesn't
 * match others") and --continue finishes, as for the START round of a
 * grow. The rebuild writes the new member's superblock (role N, recovery
 * offset 0) on every member, then its data and Q, checkpointing
 * recovery_offset as md does, so the kernel continues it after a crash.
 */
static int takeover_run(struct reshape *r, struct ok_err *e)
{
	struct reshape_plan *pl = &r->plan;
	int on = pl->old_disks, rc;
	if (!r->zero && !(r->zero = io_alloc(4096))) /* write_sb's scratch */
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	memset(r->zero, 0, 4096);
	if (pl->level_round) {
		struct md_sb *sb = r->master;
		sb->level = 6;
		sb->layout = (uint32_t)pl->new_layout;
		sb->raid_disks = (uint32_t)pl->new_disks;
		sb->events++;
		sb->utime = (uint64_t)now_secs(r);
		for (int s = 0; s < on; s++) {
			if ((rc = crash_point(r, ROUND_START, e)) < 0 ||
			    (rc = write_sb(r, r->slot[s], 0, e)) < 0)
				return rc;
		}
		struct md_io j[RESHAPE_MAX_DISKS];
		for (int s = 0; s < on; s++)
			j[s] = (struct md_io){.m = r->slot[s]->mm, .kind = MD_IO_SYNC};
		if ((rc = md_io_run(j, on, e)) < 0)
			return rc;
		pl->level_round = 0;
	}
	if (r->opts.crash_at == RESHAPE_CRASH_CRITICAL)
		return ok_err_at(e, -ECANCELED, NULL, OK_ERR_NOPOS,
				 "simulated crash after the level round");
	/* the old members as a degraded RAID6, through the core */
	char *paths[RESHAPE_MAX_DISKS];
	char names[RESHAPE_MAX_DISKS][sizeof r->mm[0].path];
	for (int s = 0; s < on; s++) {
		snprintf(names[s], sizeof names[s], "%s", r->slot[s]->mm->path);
		paths[s] = names[s];
	}
	char qpath[sizeof r->mm[0].path];
	snprintf(qpath, sizeof qpath, "%s", takeover_q(r)->mm->path);
	for (int i = 0; i < RESHAPE_MAX_DISKS; i++)
		md_member_close(&r->mm[i]);
	struct md_array a;
	unsigned fl = MD_OPEN_WRITE | (r->opts.force ? MD_OPEN_FORCE : 0);
	if ((rc = md_array_open(&a, on, paths, fl, e)) < 0)
		return rc;
	/* --simulate-crash reaches the rebuild's rounds, counted on */
	a.crash_at = r->opts.crash_at == RESHAPE_CRASH_START   ? MD_CRASH_START
		     : r->opts.crash_at == RESHAPE_CRASH_FINAL ? MD_CRASH_FINAL
							       : 0;
	a.crash_write = r->opts.crash_write;
	a.crash_count = r->crash_count;
	if (a.geom.level != 6 || a.geom.raid_disks != pl->new_disks)
		rc = ok_err_at(e, -EIO, paths[0], OK_ERR_NOPOS,
			       "after the level round the members read as RAID%d with %d members",
			       a.geom.level, a.geom.raid_disks);
	else
		rc = md_array_rebuild_dev(&a, pl->new_disks - 1, qpath, UINT64_MAX, r->q_devnum, e);
	r->crash_count = a.crash_count;
	if (rc == -ECANCELED) { /* a simulated crash: closing would write more */
		md_array_abandon(&a);
		return rc;
	}
	struct ok_err ce;
	int rc2 = md_array_close(&a, &ce);
	if (rc == 0 && rc2 < 0) {
		if (e)
			*e = ce;
		rc = rc2;
	}
	if (rc == 0)
		r->dpos = r->pos = pl->new_array;
	return rc;
}

int reshape_run(struct reshape *r, struct ok_err *e)
{
	if (r->plan.takeover)
		return takeover_run(r, e);
	struct reshape_plan *pl = &r->plan;
	uint64_t unit = (uint64_t)r->cs * (uint64_t)r->ng.ndata;
	int rc;
	if ((rc = alloc_buffers(r, e)) < 0)
		return rc;
	r->last_ckpt = mono();
	double every = r->opts.checkpoint_secs > 0 ? r->opts.checkpoint_secs : 10.0;
	if (pl->finish_only)
		goto final;
	if (!pl->resuming) {
		/* IDLE -> BACKED_UP -> CRITICAL (or MOVING with NEW_OFFSET) */
		if (pl->method != RESHAPE_NEW_OFFSET && (rc = save_backup(r, e)) < 0)
			return rc;
		struct md_sb *sb = r->master;
		sb->raid_disks = (uint32_t)r->ng.disks;
		sb->delta_disks = r->ng.disks - r->og.disks;
		sb->new_level = (uint32_t)pl->level;
		sb->new_layout = (uint32_t)pl->new_layout;
		sb->new_chunk = r->cs;
		sb->new_offset = (int32_t)pl->new_offset;
		for (int s = r->og.disks; s < r->ng.disks; s++) {
			struct member *m = r->slot[s];
			sb->dev_roles[m->dev_number] = (uint16_t)s;
			/* 0.90 records each disk's device number, as the kernel does */
			if (m->minor == 90 && S_ISBLK(m->st.st_mode))
				md_sb0_set_dev(sb, (int)m->dev_number, major(m->st.st_rdev),
					       minor(m->st.st_rdev));
		}
		/* the new members' bad-block logs start empty */
		for (int s = r->og.disks; s < r->ng.disks; s++) {
			struct member *m = r->slot[s];
			int32_t bbo = m->mm->sb.bblog_offset;
			uint16_t bbs = m->mm->sb.bblog_size;
			if (bbo && bbs && bbs <= 8 && r->csb >= 4096) {
				memset(r->zero, 0xff, 4096);
				rc = md_member_write(
				    m->mm, r->zero, 4096,
				    (m->super_offset + (uint64_t)(int64_t)bbo) * 512, e);
				memset(r->zero, 0, 4096);
				if (rc < 0)
					return rc;
			}
		}
		r->pos = r->dpos = r->back ? pl->new_array : 0;
		if ((rc = sb_round(r, ROUND_START, e)) < 0)
			return rc;
		ASSERT_RESHAPE_OK(r);
	} else if (pl->restore_backup) {
		if ((rc = restore_backup(r, e)) < 0)
			return rc;
	}
	if (r->backup_valid && r->dpos >= r->bk_end && (rc = invalidate_backup(r, e)) < 0)
		return rc;
	/* the step loop, one machine both ways: forwards new rows [w, w + k)
	 * up to write_limit, backwards (a shrink) [w - k, w) down to
	 * write_floor; a bound reached means a checkpoint first */
	uint64_t w = r->pos / unit, w_end = r->back ? 0 : r->rows;
	if (r->opts.progress)
		r->opts.progress(r->opts.progress_ctx, reshape_done(r), pl->new_array);
	while (w != w_end) {
		int in_critical = r->backup_valid && r->dpos < r->bk_end;
		if (stop_requested(r) && !in_critical) {
			if (r->pos != r->dpos && (rc = checkpoint(r, e)) < 0)
				return rc;
			return -EINTR;
		}
		uint64_t lim = r->back ? write_floor(r) : write_limit(r);
		if (r->back ? lim >= w : lim <= w) {
			if (r->pos == r->dpos)
				BUG("no progress possible at row %llu (limit %llu)",
				    (unsigned long long)w, (unsigned long long)lim);
			if (!checkpoint_rides(r)) {
				if ((rc = checkpoint(r, e)) < 0)
					return rc;
				continue;
			}
			/* the step below writes the superblocks first */
			if ((rc = checkpoint_ride(r, e)) < 0)
				return rc;
			lim = write_limit(r);
			if (lim <= w)
				BUG("no progress after the checkpoint at row %llu",
				    (unsigned long long)w);
		}
		uint64_t k = r->back ? w - lim : lim - w;
		if (k > r->step_rows)
			k = r->step_rows;
		/* a step that reaches the bound, the end or the backup's end is
		 * followed by a checkpoint: flush each member as its write ends */
		int ckpt_next =
		    r->back ? w - k <= lim
			    : w + k >= lim || (r->backup_valid && (w + k) * unit >= r->bk_end);
		if ((rc = move_rows(r, r->back ? w - k : w, k, 0, ckpt_next, e)) < 0)
			return rc;
		w = r->back ? w - k : w + k;
		r->pos = w * unit;
		ASSERT_RESHAPE_OK(r);
		if (r->backup_valid && r->pos >= r->bk_end) {
			if (r->opts.crash_at == RESHAPE_CRASH_CRITICAL) {
				if ((rc = sync_all(r, e)) < 0)
					return rc;
				return ok_err_at(e, -ECANCELED, NULL, OK_ERR_NOPOS,
						 "simulated crash inside the critical section");
			}
			/* PAST_B: make it durable, then forget the backup */
			if ((rc = checkpoint(r, e)) < 0 || (rc = invalidate_backup(r, e)) < 0)
				return rc;
		} else if (mono() - r->last_ckpt >= every && w != w_end) {
			if ((rc = checkpoint(r, e)) < 0)
				return rc;
		}
		if (r->opts.progress)
			r->opts.progress(r->opts.progress_ctx, reshape_done(r), pl->new_array);
	}
	/* MOVED */
	if (r->dpos != end_pos(r)) {
		r->pos = end_pos(r);
		if ((rc = checkpoint(r, e)) < 0)
			return rc;
	}
final:
	/* DONE */
	if ((rc = end_rounds(r, e)) < 0)
		return rc;
	r->dpos = r->pos = end_pos(r);
	/* mdadm deletes its backup file once the grow is over */
	if (pl->method == RESHAPE_BACKUP_FILE && r->backup_path[0] && !pl->finish_only)
		unlink(r->backup_path);
	return 0;
}
