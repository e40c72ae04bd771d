/*
 * reshape.h: reshaping a Linux md RAID6/RAID5 array offline, in the kernel's
 * on-disk format (the engine behind `mdraid grow`): growing by whole
 * members, or changing the chunk at constant members.
 *
 * This is the manual. A grow from n to N members re-lays every stripe of the
 * array from the old geometry (n members) into the new one (N members) on the
 * members themselves, with no md driver. The on-disk mid-reshape state is the
 * kernel's (md_p.h, super_1_sync in md.c, raid5.c): RESHAPE_ACTIVE, raid_disks = N,
 * delta_disks, reshape_position (an array sector: below it the data is in
 * the new geometry, at and above it in the old one), and optionally
 * NEW_OFFSET/new_offset. So the kernel continues a grow mdraid was stopped in,
 * and mdraid finishes one the kernel was stopped in.
 *
 * Placement of the data that cannot be protected by a superblock checkpoint
 * (the "critical section" at the start of the array), chosen as mdadm 4.2
 * chooses it (Grow.c reshape_array / set_new_data_offset):
 *   RESHAPE_NEW_OFFSET     no --backup-file and every member has at least
 *                          backup_blocks / old_data_disks sectors of head-room
 *                          before data_offset: data moves down by that much
 *                          (new_offset < 0 on every member, new ones too).
 *                          No backup; the kernel can continue at any point.
 *   RESHAPE_BACKUP_FILE    --backup-file F: data_offset stays; the first
 *                          backup_blocks array sectors are saved to F in
 *                          mdadm's md_backup_data-1 format (F created O_EXCL).
 *   RESHAPE_BACKUP_MEMBER  neither (always so for metadata 1.0 and 0.90): the backup
 *                          goes onto every new member at data_offset + size -
 *                          backup_blocks - 8 sectors, headers 4 KiB before and
 *                          just after it, where mdadm's Grow_restart looks.
 *
 * Use: reshape_open() reads and checks everything and decides the plan (it
 * writes nothing, so every refusal leaves the members untouched);
 * reshape_plan() shows the plan for the caller to print ("Need to backup
 * 384K of critical section.."); reshape_run() does the work and returns
 * when the array is grown, or -EINTR when *opts->stop was set and the state
 * on disk is a clean checkpoint; reshape_close() frees.
 *
 * Layering: members are opened, checked, selected, read, written and synced
 * through the member layer (member.h) that read and write use, so grow
 * refuses what they refuse; all I/O goes through lib/io.h's io_sys table,
 * so tests can record every write and flush and replay crash states. It
 * never prints.
 * The engine is old geometry -> new geometry (members, chunk or layout; the
 * level kept): every step reads old rows in the old geometry and writes
 * new rows in the new one; positions are whole units of the larger chunk
 * times the new data disks (raid5_run's rule).
 *
 * Chunk change (opts.chunk, raid_disks unchanged), planned as mdadm 4.2's
 * reshape_array without a backup file: set_new_data_offset with delta_disks
 * 0 moves data_offset by at least backup_blocks / data disks towards the
 * side with more room, to choose_offset's pick: forwards (down, NEW_OFFSET,
 * delta_disks 0, new_chunk) or backwards (up, when space_after >=
 * space_before: new_offset > 0, RESHAPE_BACKWARDS in every superblock while
 * reshaping, reshape_position from the end down to 0, as a shrink below;
 * a member short of data_size gets max first, mdadm's E2BIG retry); mdadm's
 * fallback to an in-place reshape with a sliding backup file (no room,
 * metadata 1.0 or 0.90, --backup-file), a move below the larger chunk, a
 * size the new chunk does not divide, and chunk plus members together are
 * refused by reshape_open.
 *
 * Layout change (opts.layout a layout name of the array's level, or
 * "normalise": a RAID6 -6 layout to the plain one, as mdadm's), raid_disks
 * and chunk unchanged: planned and run as the chunk change (backup_blocks =
 * chunk x data disks, data_offset down by at least a chunk, new_layout in
 * the superblocks while reshaping, layout = new_layout at the end); the same
 * refusals, plus a layout change together with another change.
 *
 * RAID5 -> RAID6 (opts.level 6, raid_disks unchanged or N+1, opts.layout
 * "preserve" or the matching "-6" name), planned as mdadm 4.2's analyse_change
 * does: the "-6" layout of the RAID5 layout (left-symmetric -> left-symmetric-6:
 * data and P where they are, Q on the last member) keeps the data disks,
 * layout and chunk, so backup_blocks is 0 and no stripe moves. mdadm then sets
 * the level (the kernel's raid6_takeover: level 6, the -6 layout, raid_disks
 * N+1, the new slot missing), adds the new member, and md's recovery computes
 * Q onto it with recovery_offset checkpoints. Here: the level round (every old
 * member's superblock: level 6, layout, raid_disks, events + 1), then the
 * core's rebuild of the last slot (md_array_rebuild: the same checkpoints, the
 * kernel can continue it). The plan says takeover; the other plan fields keep
 * their meaning (old_array = new_array, backup_blocks 0). Refused before any
 * write: no --layout here (mdadm then restripes into the plain RAID6
 * layout: grow.c runs this conversion, then the layout change "normalise"),
 * another layout, more than one new member, a chunk change with it, metadata
 * 0.90, an internal bitmap, a degraded or dirty array.
 *
 * Shrink (opts.raid_disks below raid_disks, same chunk and layout), as
 * mdadm 4.2 + md do it without --backup-file: mdadm first needs the array
 * truncated (`--grow --array-size=S`, S <= size x new data disks; its
 * refusal "this change will reduce the size of the array. use --grow
 * --array-size first to truncate array."). md keeps that size in memory
 * only (nothing on disk records it; the array comes back at its natural
 * size), so here opts.array_size is required in the same call, and is the
 * consent to lose the data above it. set_new_data_offset then moves
 * data_offset UP by min = backup_blocks / old data disks on every member
 * (NEW_OFFSET, new_offset > 0; a member whose data_size lacks the room
 * first gets data_size = device - data_offset, mdadm's size=max retry)
 * and md reshapes BACKWARDS (delta_disks < 0; md writes RESHAPE_BACKWARDS
 * only for delta_disks 0):
 * reshape_position starts at the new array size (raid5_size with the
 * smaller data disks) and counts down to 0; at and above it the data is in
 * the new geometry at data_offset + new_offset, below it in the old one.
 * No critical section: new row w overwrites old row w + min/chunk, and the
 * kernel's restart check (here_new·c + min_offset_diff > here_old·c) holds
 * at every position, so every checkpoint can be continued by the kernel.
 * The steps go down from the end, each bounded so that no old row holding
 * an array sector below the durable position is written (invariant 2b in
 * reshape.c). At the end data_offset = the new one, data_size - min, and
 * the removed members stay in the array as spares (role 0xffff), as the
 * kernel leaves them. A crash inside the two end rounds leaves a state the
 * kernel refuses ("reshape_position too early": at position 0 without
 * NEW_OFFSET its min_offset_diff is 0) and `--continue` finishes.
 * Refused: no opts.array_size or one above the new size, fewer than 4
 * (RAID6) or 3 (RAID5) members, metadata 1.0/0.90 or a backup file
 * (mdadm's in-place shrink), no room after the data, an internal bitmap,
 * a degraded array, chunk or layout changes with it.
 *
 * Supported: metadata 1.0/1.1/1.2 and 0.90 (always a backup method: 0.90
 * has no data_offset), RAID6 layouts 0-5 and 16-20, RAID5 layouts 0-5, a grow by
 * one or more members (same chunk and layout) or a chunk change (1.1/1.2; 1.0 backwards), with or
 * without an internal bitmap (kept, its events in step); degraded arrays (members named "missing")
 * only with opts.force, missing data rebuilt from P/Q on the fly and the missing slots left
 * missing. Refused with a reason: DDF layouts, other level changes, PPL, journal, dirty arrays,
 * mixed arrays, members with different data offsets; a shrink only as above.
 */
#ifndef MDRAID_RESHAPE_H
#define MDRAID_RESHAPE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Most members an array may have here (the kernel allows more; mdadm's
 * restripe is limited likewise). */
#define RESHAPE_MAX_DISKS 64

enum reshape_method {
	RESHAPE_NEW_OFFSET,    /* move data_offset down, no backup (mdadm's default) */
	RESHAPE_BACKUP_FILE,   /* critical section saved to --backup-file */
	RESHAPE_BACKUP_MEMBER, /* critical section saved on the new members */
};

struct reshape_opts {
	int raid_disks;		 /* N wanted; 0 = unchanged (with chunk) or, with cont, the sb's */
	uint32_t chunk;		 /* new chunk in sectors (--chunk); 0 = unchanged */
	const char *backup_file; /* --backup-file, or NULL */
	int force;	    /* --force: new members holding another array's sb; degraded arrays */
	int cont;	    /* --continue: only resume, never start a grow */
	int dry_run;	    /* --dry-run: members opened read-only; reshape_open works out
			       --force's choice (reshape_forced) and returns 1 before any write */
	int level;	    /* --level: 6 converts RAID5 to RAID6 (see below); 0 = unchanged */
	const char *layout; /* --layout: "preserve", "normalise" or a layout name; NULL = unset */
	uint64_t
	    array_size; /* --array-size in sectors: a shrink's consent (see Shrink); 0 = unset */
	volatile sig_atomic_t *stop; /* set asynchronously: stop at the next checkpoint */
	/* Called after each step with array sectors done and total; may be NULL. */
	void (*progress)(void *ctx, uint64_t done_sectors, uint64_t total_sectors);
	void *progress_ctx;
	size_t mem_bytes;	/* buffer budget; 0 = md_budget_bytes(0) */
	uint32_t max_step_rows; /* tests: cap new rows per step (0 = by mem_bytes) */
	double checkpoint_secs; /* seconds between progress checkpoints; 0 = 10 */
	int64_t now;		/* tests: fixed Unix time for superblocks/backup; 0 = time() */
	/* Interop tests: stop as a crash would, returning -ECANCELED, at one
	 * point: RESHAPE_CRASH_CRITICAL just before the checkpoint that ends
	 * the critical section (data of [0, B) written and synced, superblocks
	 * still at 0, backup valid); RESHAPE_CRASH_START just before superblock
	 * write crash_write (0-based) of the START round, RESHAPE_CRASH_FINAL
	 * just before write crash_write of the end of the grow (the data_offset
	 * round and the final round counted together); the writes before it
	 * are durable. A RAID5 -> RAID6 conversion counts the level round and
	 * its rebuild's first round as START, the rebuild's last round as
	 * FINAL (the core's md_array_crash_point); crash_count is the number
	 * of such writes an earlier phase of the same command already made
	 * (grow.c: the conversion, then --layout=normalise), so that K counts
	 * over the whole command. */
	int crash_at;
	int crash_write;
	int crash_count;
};

enum { RESHAPE_CRASH_NONE, RESHAPE_CRASH_CRITICAL, RESHAPE_CRASH_START, RESHAPE_CRASH_FINAL };

/* What reshape_open decided; all sizes in 512-byte sectors. */
struct reshape_plan {
	enum reshape_method method;
	int level;		  /* 5 or 6 */
	int layout;		  /* md layout number before */
	int metadata_minor;	  /* 0, 1 or 2 (v1.x); 90 for 0.90 */
	uint32_t chunk;		  /* chunk sectors before */
	uint32_t new_chunk;	  /* chunk sectors after (= chunk unless it changes) */
	int old_disks, new_disks; /* raid_disks before and after */
	uint64_t size;		  /* sb size: sectors of each member used for data */
	uint64_t old_array;	  /* array sectors before */
	uint64_t new_array;	  /* array sectors after */
	uint64_t backup_blocks;	  /* LCM of old and new stripe widths (mdadm's figure) */
	uint64_t data_offset;	  /* data_offset now */
	int64_t new_offset;	  /* < 0: how far data moves down (NEW_OFFSET only) */
	int resuming;		  /* an interrupted grow is continued */
	int restore_backup;	  /* the critical section is restored from a backup first */
	int finish_only;	  /* only the final superblock round is left */
	uint64_t position;	  /* array sector the work starts from */
	const char *backup_path;  /* backup file used, or NULL */
	int takeover;		  /* RAID5 -> RAID6 without a restripe (see below) */
	int new_layout;	    /* the layout after (= layout, but for a layout change or takeover) */
	int level_round;    /* takeover: the level superblock round is (still) to do */
	uint64_t recovered; /* takeover resumed: Q member's recovery_offset (sectors) */
	uint64_t recorded;  /* resuming (NEW_OFFSET): reshape_position on disk */
	int frontier;	    /* the kernel reshaped past it (reshape.c torn_check): the work
			       starts at position, its real frontier: > recorded forwards,
			       < recorded backwards */
	int unchecked;	    /* resuming with as many members missing as parity:
			       that check could not be made */
};

struct reshape;

/*
 * Open the members (paths[0..n-1], old and new in any order; the new ones
 * are those without this array's superblock), read every superblock, check
 * every precondition and decide the plan. Writes nothing but --force's choice
 * for stale members (reshape_forced); with opts->dry_run returns 1 once that
 * choice is known, having written nothing at all. On success *out
 * owns the open members until reshape_close. Errors: -EINVAL/-EUCLEAN bad
 * or inconsistent superblocks (e names the member and field), -EPERM refused
 * for safety (e says why), -EEXIST the backup file exists, -EALREADY nothing
 * to do (the array already has N members and no reshape is in progress),
 * other negative errno from the system.
 */
int reshape_open(struct reshape **out, const char *const *paths, int n,
		 const struct reshape_opts *opts, struct ok_err *e);

/* The plan decided by reshape_open; valid until reshape_close. */
const struct reshape_plan *reshape_plan(const struct reshape *r);

/*
 * Do the grow. Returns 0 when the array is grown and clean, -EINTR when
 * stopped by *opts->stop at a checkpoint (the on-disk state can be continued
 * by mdraid or, past the critical section, by the kernel), or a negative
 * errno with e filled; the on-disk state is then whatever the last durable
 * checkpoint says, which `mdraid grow --continue` resumes.
 */
int reshape_run(struct reshape *r, struct ok_err *e);

/* Array sector reached (durable), for the caller's final message. */
uint64_t reshape_position(const struct reshape *r);

/* Superblock writes of the rounds --simulate-crash names made so far,
 * opts.crash_count included (the next phase's opts.crash_count). */
int reshape_crash_count(const struct reshape *r);

/* Read errors met so far: 4 KiB blocks of old members that did not read,
 * rebuilt from P/Q (the grow goes on, as md's reshape does, and writes
 * their data in the new layout); *first (may be NULL) names the first,
 * "member: offset N". */
uint64_t reshape_read_errors(const struct reshape *r, const char **first);

/* What --force did to members kicked one after another (mdadm --assemble
 * --force's choice, member.h), one line each; "" when nothing. */
const char *reshape_forced(const struct reshape *r);

/* Close the members and free r (NULL is fine). */
void reshape_close(struct reshape *r);

/*
 * mdadm's compute_backup_blocks: the least number of array sectors that is a
 * whole number of old and of new stripes, LCM(ochunk·odata, nchunk·ndata).
 * Chunks in sectors.
 */
uint64_t reshape_backup_blocks(uint32_t ochunk, uint32_t nchunk, int odata, int ndata);

/* ------------------------------------------------------------------ */
/* md_backup_data-1: mdadm's backup header (Grow.c struct mdp_backup_super) */

#define BACKUP_HDR_BYTES 512
#define BACKUP_MAGIC1	 "md_backup_data-1"
#define BACKUP_MAGIC2	 "md_backup_data-2"

struct backup_hdr {
	char magic[16];	      /* BACKUP_MAGIC1 (or -2, which we only read) */
	uint8_t set_uuid[16]; /* the array's uuid */
	uint64_t mtime;	      /* Unix seconds when written */
	uint64_t devstart;    /* sector on the backup file/device where the data starts */
	uint64_t arraystart;  /* first array sector saved */
	uint64_t length;      /* array sectors saved; 0 = invalidated */
	uint32_t sb_csum;     /* bsb_csum of bytes 0..63 */
	uint64_t devstart2;   /* offset of a second section (mdadm sets = blocks) */
	uint64_t arraystart2;
	uint64_t length2;
	uint32_t sb_csum2; /* bsb_csum of bytes 0..95 (-2 only) */
};

/* mdadm's bsb_csum (a constant in practice: it only ever folds buf[0]). */
uint32_t backup_csum(const uint8_t *buf, size_t len);

/* Encode h into 512 bytes (pad zero), computing sb_csum (and sb_csum2 for -2). */
void backup_hdr_encode(const struct backup_hdr *h, uint8_t out[BACKUP_HDR_BYTES]);

/*
 * Decode and check a header as Grow_restart does: magic, checksum(s). len
 * must be >= BACKUP_HDR_BYTES. path and off only name the place in e.
 * Returns 0, or -EINVAL with e saying what was found and expected.
 */
int backup_hdr_decode(const uint8_t *buf, size_t len, struct backup_hdr *h, const char *path,
		      long long off, struct ok_err *e);

/* ------------------------------------------------------------------ */
/* Component size change (resize.c): mdadm --grow --size=max|S */

/*
 * After every member was enlarged (or with room left after a create
 * --size), `grow --size=max` (or S KiB) makes the array use it, leaving on
 * disk what mdadm 4.2's Grow_reshape and kernel 6.1 leave once their resync
 * is over: each member's data_size as md's dev-N/size attribute sets it
 * (max: device sectors - data_offset; S: S), size = that rounded down to
 * the chunk (raid5_resize; max: the smallest member's), the added stripes'
 * P/Q computed from their data (md's resync of the new space, from
 * resync_offset = the old size, checkpointed there), then resync_offset
 * MAX. Nothing moves: stripes below the old size are never written. A
 * crash at any write leaves a state the kernel assembles and resyncs from
 * its resync_offset; resize_open/run again (the same command, or
 * --continue) finishes it. Refused, with nothing written: metadata 1.0 and
 * 0.90 (md moves their superblock to the new end), an internal bitmap, PPL
 * or journal, a degraded array, members being rebuilt, a size below the
 * chunk ("component size must be larger than chunk size.") or above the
 * smallest member's room (md: -ENOSPC), and a smaller size than now (shrinking
 * the component size: not supported). -EALREADY: nothing to change.
 */
struct resize_opts {
	uint64_t size_sectors;	     /* --size=S (sectors); 0 = max */
	int force;		     /* members kicked one after another: --assemble --force */
	int no_safety;		     /* tests: skip the /proc/mdstat and holders checks */
	volatile sig_atomic_t *stop; /* set asynchronously: stop at the next checkpoint */
	void (*progress)(void *ctx, uint64_t done_sectors, uint64_t total_sectors);
	void *progress_ctx;
	uint64_t batch_stripes; /* stripes per resync step, each checkpointed (0: 1/16
				 * of the added space as md_do_sync, at most 64 MiB) */
	int64_t now;		/* tests: fixed Unix time for the superblocks; 0 = time() */
	/* interop tests (--simulate-crash): RESHAPE_CRASH_START stops before
	 * superblock write crash_write of the DATA_SIZE and SIZE rounds
	 * (counted together), RESHAPE_CRASH_FINAL before that of the CLEAN
	 * round (resize.c), as reshape_opts' */
	int crash_at;
	int crash_write;
};

struct resize_plan {
	int level, disks;
	uint32_t chunk;	      /* sectors */
	uint64_t old_size;    /* sb size before (sectors per member) */
	uint64_t new_size;    /* after */
	uint64_t old_array;   /* array sectors before */
	uint64_t new_array;   /* after */
	uint64_t resync_from; /* member sector the resync starts from */
	int resuming;	      /* the array was not clean: its resync is finished */
	uint64_t position;    /* member sectors resynced (durable), for messages */
};

struct resize;

/* Open the members (the core's md_array_open for writing), check and plan;
 * writes nothing. Errors as reshape_open; *out is set even on failure
 * (resize_close it). */
int resize_open(struct resize **out, const char *const *paths, int n,
		const struct resize_opts *opts, struct ok_err *e);
const struct resize_plan *resize_plan(const struct resize *rs);
/* Do it: 0 done (clean), -EINTR stopped by *opts->stop at a checkpoint,
 * or a negative errno (the members hold the last durable round). */
int resize_run(struct resize *rs, struct ok_err *e);
void resize_close(struct resize *rs);

#endif
