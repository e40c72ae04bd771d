/*
 * mdraid.h: a user-space Linux md RAID6/RAID5 engine. This header is the
 * manual of libmdraid; mdraid/main.c is a thin command on top of it.
 *
 * The on-disk format, the stripe mapping, the Q syndrome order and mdadm's
 * defaults are those of the kernel (include/uapi/linux/raid/md_p.h, md.c,
 * raid5.c, lib/raid6) and mdadm 4.2 (super1.c, super0.c). Arrays made
 * here assemble in the kernel; arrays the kernel made are read here.
 *
 * Layers (each uses only the ones above it):
 *   1. superblock  struct md_sb: decode/encode the v1.x superblock, checksum,
 *                  the kernel's load checks, read/write on a member, mdadm's
 *                  --examine text; bitmap super and bad-block log parsing.
 *   2. geometry    struct md_geom + stripe_map(): array sector -> member,
 *                  P/Q/data placement and Q slot order for every layout.
 *   3. array       struct md_array: members opened with O_DIRECT, O_EXCL,
 *                  flock; member selection as the kernel's assembly; sector
 *                  I/O through lib/io.h (tests inject faults there).
 *   4. engine      read/write (degraded, RMW or reconstruct-write), create,
 *                  check/repair, rebuild with recovery_offset checkpoints,
 *                  detail text.
 *
 * Units: "sectors" are 512 bytes; names say _sectors or _bytes. Device
 * sectors in struct md_sb are relative to the start of the member; "rel"
 * sectors are relative to data_offset (stripe_map gives those).
 *
 * Errors: every fallible function returns >= 0 or a negative errno and fills
 * the optional struct ok_err (member path, byte offset, what was expected).
 * -EINVAL/-EUCLEAN: bad format; -EBUSY/-EPERM: refused for safety (nothing was
 * written); -EIO and friends: the system said no.
 *
 * API for grow (issue 5). The grow helper builds on:
 *   - md_sb_read()/md_sb_write() of any member, md_array_sb_write_all() (roles
 *     rewritten as super_1_sync does, bitmap events kept in step); all
 *     reshape fields (new_level, reshape_position, delta_disks, new_layout,
 *     new_chunk, new_offset) and feature bits are decoded into struct md_sb
 *     and encoded back unchanged; unknown bytes of the 4 KiB block are kept.
 *   - md_geom_from_sb(sb, MD_GEOM_OLD or MD_GEOM_NEW): the geometry before and
 *     after a reshape (old raid_disks = raid_disks - delta_disks, ...); old and
 *     new geometries coexist, stripe_map()/md_stripe_layout() take either.
 *   - md_member_pread()/md_member_pwrite(): member bytes at absolute device
 *     offsets (so data_offset or new_offset is the caller's choice), through
 *     lib/io.h's io_sys table (tests inject faults and record writes). Call
 *     md_array_flush() first: md_array_write() returns while its last batch
 *     is still being written.
 *   - mdraid_int.h's windows (md_win_*): batched, per-member parallel reads
 *     and writes of stripe ranges with reconstruction of lost blocks, for one
 *     geometry at a time.
 *   - md_array_abandon(): drop an array as a crash would (for crash tests).
 *   - md_examine_print() and md_detail_print() already print the mid-reshape
 *     lines ("Reshape pos'n", "Delta Devices", "New Offset", "New Layout",
 *     "New Chunksize", State "reshaping", "Reshape Status").
 *   - md_array_open() refuses an array with RESHAPE_ACTIVE for I/O unless
 *     MD_OPEN_ALLOW_RESHAPE is given (the array is then opened with the NEW
 *     geometry for the slot table, slots of a shrink kept; the grow code does
 *     the I/O mapping).
 */
#ifndef MDRAID_H
#define MDRAID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "err.h"

/* ------------------------------------------------------------------ */
/* 1. Superblock                                                        */
/* ------------------------------------------------------------------ */

#define MD_SB_MAGIC	0xa92b4efcU
#define MD_SB_BLOCK	4096	   /* bytes read and rewritten at super_offset */
#define MD_SB_MAX_DEV	1920	   /* (4096 - 256) / 2: the kernel's limit */
#define MD_MAX_SECTOR	UINT64_MAX /* resync_offset when clean */
#define MD_MAX_MEMBERS	64	   /* raid_disks this engine handles */
#define MD_ROLE_SPARE	0xffff
#define MD_ROLE_FAULTY	0xfffe
#define MD_ROLE_JOURNAL 0xfffd
#define MD_ROLE_MAX	0xff00 /* roles >= this are not data roles */

/* feature_map bits (md_p.h) */
enum md_feature {
	MD_F_BITMAP_OFFSET = 1,
	MD_F_RECOVERY_OFFSET = 2,
	MD_F_RESHAPE_ACTIVE = 4,
	MD_F_BAD_BLOCKS = 8,
	MD_F_REPLACEMENT = 16,
	MD_F_RESHAPE_BACKWARDS = 32,
	MD_F_NEW_OFFSET = 64,
	MD_F_RECOVERY_BITMAP = 128,
	MD_F_CLUSTERED = 256,
	MD_F_JOURNAL = 512,
	MD_F_PPL = 1024,
	MD_F_MULTIPLE_PPLS = 2048,
	MD_F_RAID0_LAYOUT = 4096,
	MD_F_ALL = 8191,
};

/* struct mdp_superblock_1 decoded to host order; field order and meaning as
 * on disk (the kernel's include/uapi/linux/raid/md_p.h). raw keeps the whole
 * 4 KiB block read, so encoding keeps bytes this struct does not model. */
struct md_sb {
	uint32_t magic;		   /* MD_SB_MAGIC */
	uint32_t major_version;	   /* 1 */
	uint32_t feature_map;	   /* enum md_feature */
	uint32_t pad0;		   /* must be 0 */
	uint8_t set_uuid[16];	   /* array uuid */
	char set_name[33];	   /* "homehost:name", NUL-ended here */
	uint64_t ctime;		   /* low 40 bits: seconds */
	int32_t level;		   /* 5 or 6 here */
	uint32_t layout;	   /* see enum md_layout */
	uint64_t size;		   /* sectors per member used ("Used Dev Size") */
	uint32_t chunksize;	   /* sectors */
	uint32_t raid_disks;	   /* the NEW count during a reshape */
	int32_t bitmap_offset;	   /* sectors from the superblock (signed) */
	uint32_t new_level;	   /* reshape fields: valid with RESHAPE_ACTIVE */
	uint64_t reshape_position; /* array sectors */
	int32_t delta_disks;	   /* new - old */
	uint32_t new_layout;
	uint32_t new_chunk;	  /* sectors */
	int32_t new_offset;	  /* added to data_offset; with NEW_OFFSET */
	uint64_t data_offset;	  /* device sector where data starts */
	uint64_t data_size;	  /* sectors available for data */
	uint64_t super_offset;	  /* device sector of this superblock */
	uint64_t recovery_offset; /* rel sectors rebuilt (RECOVERY_OFFSET) */
	uint32_t dev_number;	  /* index into dev_roles */
	uint32_t cnt_corrected_read;
	uint8_t device_uuid[16];
	uint8_t devflags; /* 1 WriteMostly, 2 FailFast */
	uint8_t bblog_shift;
	uint16_t bblog_size;  /* sectors */
	int32_t bblog_offset; /* sectors from the superblock (signed) */
	uint64_t utime;
	uint64_t events;
	uint64_t resync_offset; /* MD_MAX_SECTOR when clean */
	uint32_t sb_csum;	/* as stored */
	uint32_t max_dev;	/* dev_roles entries */
	uint8_t pad3[32];	/* must be 0 */
	uint16_t dev_roles[MD_SB_MAX_DEV];
	/* derived, not on disk */
	int minor;		  /* 0, 1 or 2 (metadata 1.0/1.1/1.2) */
	uint32_t csum_calc;	  /* checksum computed over the raw bytes */
	uint64_t dev_sectors;	  /* size of the member it was read from */
	uint8_t raw[MD_SB_BLOCK]; /* the block as read (or as last encoded) */
	/* 0.90 only, for the next encode: set the clean bit alone and keep
	 * recovery_cp and the checkpoint events as read (mdadm's super0
	 * "force-array"), where the kernel's clean write sets all three */
	bool sb0_clean_bit_only;
};

/* Where a v1.minor superblock sits on a member of dev_sectors sectors. */
uint64_t md_sb_location(int minor, uint64_t dev_sectors);
/* calc_sb_1_csum over the first 256 + 2*max_dev bytes of raw (max_dev read
 * from raw and clamped to MD_SB_MAX_DEV); the stored csum counts as 0. */
uint32_t md_sb_csum(const uint8_t *raw);
/* Decode raw[MD_SB_BLOCK] into sb (no checks beyond what decoding needs). */
void md_sb_decode(struct md_sb *sb, const uint8_t *raw);
/* Encode sb into sb->raw (keeping bytes it does not model), computing and
 * storing sb_csum. */
void md_sb_encode(struct md_sb *sb);
/* The kernel's super_1_load checks (magic, version, max_dev, super_offset,
 * feature bits, checksum, pads, data_size, offsets, PPL/journal/RAID0 rules).
 * 0 or -EINVAL with e naming the field, what was found and expected. */
int md_sb_validate(const struct md_sb *sb, const char *path, struct ok_err *e);

/* Read the v1.minor superblock of fd (minor 0..2, or -1: try all three and
 * take the one with the latest ctime, as mdadm does). Fills sb including
 * dev_sectors and csum_calc. Only the location checks of mdadm's load_super1
 * are made (magic, major version, super_offset); -ENOENT if none is found,
 * -EPROTONOSUPPORT (message names metadata 0.90) for a 0.90 superblock. */
int md_sb_read(int fd, const char *path, int minor, struct md_sb *sb, struct ok_err *e);
/* Write sb (encoded, new checksum) to its super_offset on fd: a
 * read-modify-write of the 4 KiB block through io_pwrite_full, fdatasync. */
int md_sb_write(int fd, const char *path, struct md_sb *sb, struct ok_err *e);
/* Role of this member (dev_roles[dev_number], MD_ROLE_FAULTY if out of range). */
unsigned md_sb_role(const struct md_sb *sb);
/* The array's name for messages: set_name for v1.x, "/dev/mdN" (the preferred
 * minor, written into buf) for 0.90, which has no name. */
const char *md_sb_array_name(const struct md_sb *sb, char *buf, size_t size);
/* True if a 0.90 superblock sits on a member of dev_sectors (buf: its 4 KiB). */
bool md_sb_is_090(const uint8_t *buf);
uint64_t md_sb_090_location(uint64_t dev_sectors);

/* Write-intent bitmap superblock (bitmap.h of mdadm), 256 bytes. */
#define MD_BITMAP_MAGIC 0x6d746962U
struct md_bitmap {
	uint32_t magic, version;
	uint8_t uuid[16];
	uint64_t events, events_cleared, sync_size; /* sync_size: sectors per member */
	uint32_t state, chunksize, daemon_sleep, write_behind, sectors_reserved, nodes;
	uint8_t cluster_name[64];
	bool valid;	/* magic, version 3..5, uuid, chunksize sane */
	uint64_t start; /* device sector of the bitmap super */
};
/* Parse the 256-byte bitmap super; 0 or -EINVAL (e says why). uuid: the
 * array's set_uuid it must carry (NULL: not checked). */
int md_bitmap_parse(struct md_bitmap *bm, const uint8_t *buf, const uint8_t *uuid, const char *path,
		    long long offset, struct ok_err *e);
void md_bitmap_encode(const struct md_bitmap *bm, uint8_t *buf);
/* Bits of the bitmap and bytes it occupies after rounding to boundary. */
uint64_t md_bitmap_bits(const struct md_bitmap *bm);
uint64_t md_bitmap_bytes(const struct md_bitmap *bm, unsigned boundary);

/* Bad-block log: entries of (device sector, sectors), already shifted. */
struct md_bb {
	uint64_t sector; /* device sector (absolute on the member) */
	uint64_t len;	 /* sectors */
};
struct md_bblog {
	int n;
	struct md_bb *bb; /* malloc'd, n entries; free with md_bblog_free */
};
/* Parse a bad-block log of size bytes (le64 entries: sector<<10 | count,
 * all ones ends it) with shift. 0 or -EINVAL (zero count, overflow). */
int md_bblog_parse(struct md_bblog *log, const uint8_t *buf, size_t size, unsigned shift,
		   const char *path, long long offset, struct ok_err *e);
void md_bblog_free(struct md_bblog *log);
/* True if [sector, sector+n) (absolute device sectors) meets a bad block. */
bool md_bblog_hits(const struct md_bblog *log, uint64_t sector, uint64_t n);

/* mdadm's human_size(): " (1.23 GiB 1.32 GB)" or "" below 5000 KiB. */
void md_human_size(char *buf, size_t size, long long bytes);
/* Print what `mdadm --examine` prints for one member (header line "path:"
 * included). bm may be NULL (no valid bitmap: mdadm then drops feature bit
 * 1 before printing, as load_super1 does). homehost: for "(local to host)". */
void md_examine_print(FILE *out, const char *path, const struct md_sb *sb,
		      const struct md_bitmap *bm, const char *homehost);
/* The ARRAY line of `mdadm --examine --brief` (without newline handling of
 * spares): "ARRAY /dev/md/NAME  metadata=1.2 UUID=... name=...". */
void md_examine_brief(FILE *out, const struct md_sb *sb);
/* mdadm's uuid text "xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx". */
void md_uuid_str(char out[36], const uint8_t uuid[16]);

/* ------------------------------------------------------------------ */
/* 2. Geometry                                                          */
/* ------------------------------------------------------------------ */

enum md_layout {
	MD_LEFT_ASYMMETRIC = 0,
	MD_RIGHT_ASYMMETRIC = 1,
	MD_LEFT_SYMMETRIC = 2,
	MD_RIGHT_SYMMETRIC = 3,
	MD_PARITY_0 = 4,
	MD_PARITY_N = 5,
	MD_LEFT_ASYMMETRIC_6 = 16,
	MD_RIGHT_ASYMMETRIC_6 = 17,
	MD_LEFT_SYMMETRIC_6 = 18,
	MD_RIGHT_SYMMETRIC_6 = 19,
	MD_PARITY_0_6 = 20,
};

/* One geometry of an array. A reshape has two (old and new). */
struct md_geom {
	int level;		/* 5 or 6 */
	int layout;		/* enum md_layout */
	int raid_disks;		/* members */
	uint32_t chunk_sectors; /* power of two, 8..131072 */
	uint64_t dev_sectors;	/* per member used for data (sb.size, chunk multiple) */
};

/* Where the blocks of one stripe are. */
struct md_stripe {
	uint64_t stripe;	      /* stripe number */
	int pd, qd;		      /* P and Q member (qd -1 for RAID5) */
	int nd;			      /* data blocks per stripe */
	int data_dev[MD_MAX_MEMBERS]; /* member of logical data block k */
	int qslot[MD_MAX_MEMBERS];    /* Q exponent (slot) of data block k */
};

/* Where one array sector is. */
struct md_map {
	uint64_t stripe;     /* stripe number (= rel chunk row on every member) */
	int k;		     /* logical data index within the stripe */
	int dev;	     /* member (slot) holding it */
	uint64_t rel_sector; /* sector relative to data_offset on that member */
	uint32_t chunk_off;  /* sector offset within the chunk */
};

enum md_geom_which { MD_GEOM_CUR, MD_GEOM_OLD, MD_GEOM_NEW };
/* Geometry from a superblock. MD_GEOM_CUR ignores reshape fields; with
 * RESHAPE_ACTIVE, OLD is (raid_disks - delta_disks, layout, chunksize) and
 * NEW is (raid_disks, new_layout, new_chunk, new_level). */
void md_geom_from_sb(struct md_geom *g, const struct md_sb *sb, enum md_geom_which which);
/* 0 if the engine handles g (level 5/6, layouts listed, member counts,
 * chunk), else -EINVAL with the reason in e. */
int md_geom_check(const struct md_geom *g, const char *path, struct ok_err *e);
int md_geom_data_disks(const struct md_geom *g);
uint64_t md_geom_array_sectors(const struct md_geom *g);
/* raid5_compute_sector + raid6_idx_to_slot for a whole stripe. */
void md_stripe_layout(const struct md_geom *g, uint64_t stripe, struct md_stripe *st);
/* Map one array sector. */
void stripe_map(const struct md_geom *g, uint64_t array_sector, struct md_map *m);
/* Layout names as mdadm prints them ("left-symmetric"), NULL if unknown, and
 * the reverse (-1 if unknown). level picks the RAID5 or RAID6 table. */
const char *md_layout_name(int level, int layout);
int md_layout_parse(int level, const char *name);

/* ------------------------------------------------------------------ */
/* 3. Array                                                             */
/* ------------------------------------------------------------------ */

/* One member given on the command line ("missing" gives present == false). */
struct md_member {
	char path[256];
	int fd;	     /* -1 if absent */
	bool direct; /* fd has O_DIRECT */
	int fd_buf;  /* buffered fd for unaligned I/O, -1 until needed */
	uint64_t dev_sectors;
	bool has_sb; /* a superblock was read and validated */
	struct md_sb sb;
	struct md_bitmap bm; /* valid if bm.valid */
	struct md_bblog bb;
	int slot;		  /* role in the array, -1 if not used */
	bool replacement;	  /* REPLACEMENT device (read the original instead) */
	uint64_t valid_below_rel; /* rel sectors valid (recovery_offset) or UINT64_MAX */
	char why[160];		  /* why it was left out, "" if used */
	bool failed;		  /* I/O error seen: treated as missing from then on */
	uint32_t read_errors;	  /* 4 KiB blocks that failed to read (atomic) */
};

enum md_open_flags {
	MD_OPEN_WRITE = 1,	     /* will write (locks, safety checks) */
	MD_OPEN_FORCE = 2,	     /* --force: dirty degraded, bad members */
	MD_OPEN_ALLOW_RESHAPE = 4,   /* grow: open mid-reshape arrays */
	MD_OPEN_NO_DIRECT = 8,	     /* do not use O_DIRECT */
	MD_OPEN_NO_SAFETY = 16,	     /* skip /proc/mdstat and holders checks (tests) */
	MD_OPEN_ASSEMBLE_FORCE = 32, /* stale members: mdadm --assemble --force (member.h) */
	MD_OPEN_DRY_RUN = 64,	     /* with ASSEMBLE_FORCE: choose in memory, write nothing */
};

struct md_array {
	int nmembers;
	struct md_member *m;		 /* nmembers entries, in command-line order */
	struct md_sb ref;		 /* the freshest superblock (selection reference) */
	int ref_member;			 /* index into m of ref */
	struct md_geom geom;		 /* current geometry (new one during a reshape) */
	int slot_member[MD_MAX_MEMBERS]; /* member index per slot, -1 missing */
	int missing;			 /* slots without a usable member */
	bool dirty;			 /* a member in use not clean at open */
	bool active;			 /* we marked it active (write in progress) */
	bool degraded_dirty;		 /* dirty and degraded at open */
	uint64_t resync_cp;		 /* md's recovery_cp: rel sectors from which parity may be
					  * out of step (writes there reconstruct, never rmw);
					  * MD_MAX_SECTOR when in sync */
	bool want_repair;		 /* --force left RAID6 one slot short: mdadm then asks
					  * for a repair (member.h's plan->repair) */
	unsigned flags;			 /* enum md_open_flags */
	bool has_bitmap;
	struct md_bitmap bm; /* the bitmap in use (from ref's member) */
	uint8_t *bm_bits;    /* in-memory bits (bytes md_bitmap_bits/8 rounded) */
	size_t bm_bytes;
	bool bm_dirty;	     /* bits set since the last bitmap write */
	size_t budget_bytes; /* memory bound for I/O buffers */
	uint64_t mismatches; /* check/repair counters (sectors, as mismatch_cnt) */
	/* read errors (4 KiB blocks that failed to read and were rebuilt from
	 * P/Q; md_win_fix_reads): found, rewritten and read back, recorded in a
	 * bad-block log; found - fixed - logged were not corrected (read-only
	 * read, or the log could not take them). rerr_first names the first. */
	uint64_t read_errors, read_fixed, read_logged;
	uint64_t read_failed; /* members marked faulty for a block neither
			       * rewritten nor recorded (md_error) */
	char rerr_first[320];
	bool fix_reads;	   /* rewrite read errors though opened read-only (check) */
	char warn[256];	   /* a warning to print (dirty degraded read), "" if none */
	char forced[4096]; /* what --force chose (md_force_plan_text), "" if nothing */
	void *win_cache;   /* I/O buffers kept between read/write calls */
	int win_next;	   /* which of the two windows the next write uses */
	/* grow --simulate-crash (interop tests): the superblock writes of the
	 * rounds of kind crash_at (MD_CRASH_START or MD_CRASH_FINAL; 0: none)
	 * are numbered by crash_count, and write crash_write is never made
	 * (md_array_crash_point). crash_round is the kind of the round being
	 * written: its caller sets it (rebuild, resize), 0 for the others. */
	int crash_at, crash_round, crash_write, crash_count;
};

/* The round kinds md_array.crash_at and crash_round name. */
enum { MD_CRASH_START = 1, MD_CRASH_FINAL = 2 };

/* Open members (paths; "missing" for an absent one) and select them as the
 * kernel's assembly does (md.c's analyze_sbs). Members kicked one after
 * another (events diverged so far that too few are up to date) are refused
 * with -ENODEV naming them and how stale they are; with
 * MD_OPEN_ASSEMBLE_FORCE they are
 * brought up to date as mdadm --assemble --force does (member.h's
 * md_members_force_plan; their superblocks written unless MD_OPEN_DRY_RUN)
 * and a->forced says what was chosen. Refusals: -EINVAL (members of
 * different arrays, duplicate slots, geometry), -EBUSY (held by the kernel
 * or another process), -EPERM (dirty degraded write without force),
 * -ENODEV (too few members). On success the array owns the fds;
 * md_array_close() frees. */
int md_array_open(struct md_array *a, int n, char **paths, unsigned flags, struct ok_err *e);
/* Finish: flush, mark clean if we marked active, close and free. Returns the
 * first error of the final flush/superblock write. */
int md_array_close(struct md_array *a, struct ok_err *e);

/* Wait for array writes still in flight (md_array_write returns with the
 * last batch being written); 0 or their first error. Reads, check,
 * rebuild and close do this themselves. */
int md_array_flush(struct md_array *a, struct ok_err *e);
/* md_array_flush, then fdatasync every member in use: when it returns 0,
 * every write so far is on the members (an NBD flush, a FUA write). */
int md_array_sync(struct md_array *a, struct ok_err *e);
/* Drop the array without writing anything more (waits for I/O in flight,
 * closes, frees): what a crash leaves behind, for tests of recovery. */
void md_array_abandon(struct md_array *a);

/* Absolute member I/O (device sectors from the start of the member), through
 * io_pread_full/io_pwrite_full; O_DIRECT when aligned. */
int md_member_pread(struct md_array *a, int slot, void *buf, size_t len, uint64_t dev_byte,
		    struct ok_err *e);
int md_member_pwrite(struct md_array *a, int slot, const void *buf, size_t len, uint64_t dev_byte,
		     struct ok_err *e);
/* Whether slot holds valid data for rel sectors [rel, rel+n). */
bool md_slot_readable(const struct md_array *a, int slot, uint64_t rel, uint64_t n);
/* Encode and write every present member's superblock (dev_roles rewritten as
 * super_1_sync does, events as given). */
int md_array_sb_write_all(struct md_array *a, struct ok_err *e);
/* Just before one superblock write of a round (md_array_sb_write_all calls
 * it per member; a caller writing members one by one calls it itself):
 * when this is the write --simulate-crash names (md_array.crash_*), every
 * member is fdatasync'ed (no array write may be in flight) and -ECANCELED
 * returned, the members left as a SIGKILL there would leave them; else 0.
 * The caller then drops the array with md_array_abandon (closing would
 * write more). */
int md_array_crash_point(struct md_array *a, struct ok_err *e);
/* Mark the array active before the first write (events+1, resync_offset 0,
 * bitmap events in step). No-op if already active. */
int md_array_mark_active(struct md_array *a, struct ok_err *e);
/* A resync pass finished: the array is in sync (recovery_cp MaxSector).
 * Written at once while not active (resync_offset MaxSector, events + 1,
 * and, all members present, the bitmap cleared as md's daemon clears it),
 * else by close's clean mark. The caller has synced the members first
 * (md_array_sync), so the mark never vouches for data still in flight. */
int md_array_mark_synced(struct md_array *a, struct ok_err *e);
/* Set the bitmap bits covering rel sectors [rel, rel+n) and write the bitmap
 * pages they live in before any data there is touched. */
int md_array_bitmap_mark(struct md_array *a, uint64_t rel, uint64_t n, struct ok_err *e);

/* ------------------------------------------------------------------ */
/* 4. Engine                                                            */
/* ------------------------------------------------------------------ */

uint64_t md_array_bytes(const struct md_array *a);
/* Read len bytes of array content at byte offset off into buf (any offset
 * and length inside the array). Missing or unreadable members are
 * reconstructed; -EIO with e if more are lost than the level allows. */
int md_array_read(struct md_array *a, uint64_t off, void *buf, size_t len, struct ok_err *e);
/*
 * md_array_read for callers that read from several threads at once (the
 * nbdkit plugin): it writes nothing the array shares (no window buffers, no
 * error counters, no member rewritten or failed), so any number of calls may
 * run together while nothing else uses the array. The caller makes sure no
 * write runs or is still in flight (md_array_flush after the last write).
 * Healthy and degraded data alike are read (a lost block rebuilt from the
 * rest of its stripe in a buffer of the call's own). -EAGAIN when a member
 * read fails or more is lost than the level rebuilds: md_array_read,
 * called alone, then reads it and handles the read errors as md does.
 */
int md_array_read_shared(struct md_array *a, uint64_t off, void *buf, size_t len, struct ok_err *e);
/* Write len bytes at off (array must have been opened with MD_OPEN_WRITE).
 * Marks active and the bitmap first; full stripes are written with fresh
 * P/Q, partial ones by read-modify-write or reconstruct-write, whichever
 * reads fewer blocks. */
int md_array_write(struct md_array *a, uint64_t off, const void *buf, size_t len, struct ok_err *e);

/* Scrub every stripe: count (and with repair rewrite) P/Q mismatches.
 * report(ctx, array_sector, what) is called per mismatching stripe (what is
 * "P", "Q" or "P+Q"); a->mismatches sums sectors as md's mismatch_cnt. */
typedef void (*md_report_fn)(void *ctx, uint64_t array_sector, uint64_t sectors, const char *what);
int md_array_check(struct md_array *a, bool repair, md_report_fn report, void *ctx,
		   struct ok_err *e);

/* Write P (and Q) of every stripe from the data (create's initial sync;
 * data of absent members counts as zeros), then let close mark it clean. */
int md_array_resync(struct md_array *a, struct ok_err *e);

/* The same for stripes [first, end) only (clamped to the array), as md's
 * resync of the space a component size change adds: P/Q written from the
 * data, nothing else. The superblocks (resync_offset checkpoints) are the
 * caller's; returns when the writes are issued and flushed (not synced:
 * md_array_sync makes them durable). md_array_sync_range with rebuild false
 * and the array's budget. */
int md_array_resync_range(struct md_array *a, uint64_t first, uint64_t end, struct ok_err *e);

/* A resync or repair pass over stripes [first, end) only, in windows of at
 * most budget bytes (0: the array's budget), superblocks left to the caller
 * (resync.h's passes): rebuild false writes P/Q from the data (a healthy
 * array's resync); true reads every member, rebuilds what is missing and
 * rewrites wrong parity (repair, and the resync of a degraded RAID6),
 * adding the sectors that mismatched to *mismatches (may be NULL). */
int md_array_sync_range(struct md_array *a, bool rebuild, uint64_t first, uint64_t end,
			size_t budget, uint64_t *mismatches, struct ok_err *e);

/* Rebuild slot onto the member at path (which gets a fresh superblock with
 * RECOVERY_OFFSET checkpoints; an interrupted rebuild resumes from its
 * recovery_offset). stop_after_rel (UINT64_MAX: no limit) stops early, for
 * tests of interruption. */
int md_array_rebuild(struct md_array *a, int slot, const char *path, uint64_t stop_after_rel,
		     struct ok_err *e);
/* The same with the new member's dev_number chosen by the caller (devnum;
 * < 0: as md_array_rebuild), e.g. as md's bind_rdev_to_array numbers a disk
 * added to a running array: the first free from raid_disks on. */
int md_array_rebuild_dev(struct md_array *a, int slot, const char *path, uint64_t stop_after_rel,
			 int devnum, struct ok_err *e);

struct md_create_opts {
	int level; /* 6 (default) or 5 */
	int raid_disks;
	uint32_t chunk_kib;   /* default 512 */
	int layout;	      /* default left-symmetric (2) */
	int minor;	      /* 0, 1, 2 (default) */
	const char *name;     /* NULL: "0" */
	const char *homehost; /* NULL: gethostname(); "<none>": no prefix */
	int bitmap;	      /* -1 auto (> 100 GiB), 0 none, 1 internal */
	uint64_t size_kib;    /* KiB used on each member; 0 = all the smallest has */
	int spare_disks;      /* members after the raid_disks ones that are spares */
	bool assume_clean;
	bool force;
	time_t now;	     /* 0: time(NULL) */
	const uint8_t *uuid; /* NULL: random */
	bool no_safety;	     /* skip /proc/mdstat and holders checks */
};
/* Create an array on n members (paths, "missing" allowed) with mdadm 4.2's
 * defaults; without assume_clean, P/Q are written for every stripe before
 * the array is marked clean. */
int md_create(const struct md_create_opts *o, int n, char **paths, struct ok_err *e);

/* Print what `mdadm --detail` prints for the array (brief: the ARRAY line);
 * homehost as for md_examine_print. */
void md_detail_print(FILE *out, const struct md_array *a, bool brief, const char *homehost);

/* Safety: 0 if path may be used; -EBUSY with e naming the holder (md array
 * in /proc/mdstat, /sys holders, a loop device backed by it). For tests,
 * io_sys.sysroot (lib/io.h) names a directory read instead of / for
 * proc/mdstat, sys/dev/block and sys/block; the mdraid command sets it from
 * the environment variable MDRAID_SYSROOT. */
int md_safety_check(const char *path, int fd, struct ok_err *e);

#endif
