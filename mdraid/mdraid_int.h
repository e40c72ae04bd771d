/*
 * mdraid_int.h: helpers shared by the files of libmdraid, not part of the
 * public API (mdraid.h).
 */
#ifndef MDRAID_INT_H
#define MDRAID_INT_H

#include <pthread.h>

#include "mdraid.h"
#include "member.h"

/* Little-endian fields of on-disk structures (v1.x and 0.90 superblocks,
 * bitmap, bad-block log, backup header). Inline: every file of the library
 * uses them, and a shared leaf of six one-liners is not worth a file. */
static inline uint16_t md_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t md_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t md_le64(const uint8_t *p)
{
	return (uint64_t)md_le32(p) | (uint64_t)md_le32(p + 4) << 32;
}
static inline void md_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void md_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void md_put64(uint8_t *p, uint64_t v)
{
	md_put32(p, (uint32_t)v);
	md_put32(p + 4, (uint32_t)(v >> 32));
}

/* mdadm's choose_bm_space(): sectors left for a bitmap on a device of size. */
uint64_t md_choose_bm_space(uint64_t dev_sectors);

/* Fill n bytes with random bytes (getrandom, /dev/urandom fallback). */
void md_random(void *buf, size_t n);

/* md's max_corrected_read_errors default: past this many read errors on a
 * member, its failed rows are no longer probed block by block nor
 * rewritten (a dying disk would make every row cost hundreds of failed
 * reads); they are still rebuilt from P/Q. */
#define MD_MAX_READ_ERRORS 20

#endif

/*
 * A window: rows [r0, r0+rlen) (bytes within the chunk) of stripes
 * [s0, s0+ns) on every slot. With ns > 1, rlen is the whole chunk, so each
 * slot's part is one contiguous run on the member (one pread/pwrite).
 * Buffers are sized once from the array's memory budget.
 */
struct md_win {
	struct md_array *a;
	uint64_t s0, ns;
	uint32_t r0, rlen;
	uint64_t ns_max;  /* stripes per window with whole-chunk rows */
	uint32_t row_max; /* bytes per slot per stripe in slice mode */
	uint8_t *buf[MD_MAX_MEMBERS];
	uint8_t *have;	/* [slot * ns_max + i]: rows read and valid */
	uint8_t *need;	/* [slot * ns_max + i]: wanted */
	uint8_t *dirty; /* [slot * ns_max + i]: to be written */
	uint8_t *bad;	/* [slot * ns_max + i]: its read failed (not retried) */
	struct md_rerr {
		uint64_t i;	   /* stripe in the window */
		uint32_t off;	   /* byte in the row of a 4 KiB block that did not read */
	} * rerr[MD_MAX_MEMBERS];  /* per slot (each slot's reader thread its own) */
	int nrerr[MD_MAX_MEMBERS]; /* entries in rerr[slot] */
	int rerr_cap[MD_MAX_MEMBERS];
	uint8_t *scratch; /* 3 * row bytes: P', Q', delta */
	size_t budget;	  /* budget_bytes it was sized for */
	uint8_t *mode;	  /* write: per stripe update mode */
	pthread_t th;	  /* background read or write of this window */
	bool running;	  /* th is to be joined */
	int (*afn)(struct md_win *, struct ok_err *);
	int arc;		     /* its result */
	struct ok_err ae;	     /* its error */
	int slot_rc[MD_MAX_MEMBERS]; /* write: each slot's result (0 or -errno) */
};
/*
 * Members (indices into a->m, with the errno each write failed with) that
 * failed a write: marked faulty as the kernel's md_error() does, when the
 * level can lose them with the slots already missing, and the superblocks
 * rewritten at once (events + 1, their roles faulty; a.warn says so).
 * Returns 0, or first_rc when too many failed (nothing is marked then).
 */
int md_array_fail_members(struct md_array *a, int n, const int *mi, const int *err, int first_rc,
			  struct ok_err *e);
/* Mark the array clean after the last write (array.c; the mirror of
 * md_array_mark_active): members synced, events + 1, resync_offset
 * MaxSector unless it was dirty at open, bitmap bits cleared when no member
 * is missing. No-op unless active. */
int md_array_mark_clean(struct md_array *a, struct ok_err *e);
/* Close every member and free what md_array_open allocated (the windows
 * must be released first: md_win_release). */
void md_array_free(struct md_array *a);
/* mdadm's personality name of a raid level ("raid6", "linear", ...), NULL
 * if it has none; examine text of v1.x and 0.90 alike. */
const char *md_level_name(int level);
/* Free the windows md_array_read/write keep between calls (waiting for
 * their I/O first). */
void md_win_release(struct md_array *a);
/* Wait for window writes still in flight; first error. */
int md_win_sync(struct md_array *a, struct ok_err *e);
int md_win_init(struct md_win *w, struct md_array *a);
int md_win_init_budget(struct md_win *w, struct md_array *a, size_t budget);
void md_win_free(struct md_win *w);
void md_win_set(struct md_win *w, uint64_t s0, uint64_t ns, uint32_t r0, uint32_t rlen);
#define WIX(w, slot, i) ((size_t)(slot) * (w)->ns_max + (i))
static inline uint8_t *md_win_ptr(struct md_win *w, int slot, uint64_t i)
{
	return w->buf[slot] + i * w->rlen;
}
/* Read the rows flagged need && !have (runs, one pread each). */
int md_win_read(struct md_win *w, struct ok_err *e);
/* Flag every readable slot of stripe i as needed. */
void md_win_need_all(struct md_win *w, uint64_t i);
/* Rebuild the blocks of stripe i whose have flag is 0 (data, P, Q); -EIO if
 * more are lost than the level allows. lost (may be NULL) gets a bitmask of
 * slots that were rebuilt. */
int md_win_reconstruct(struct md_win *w, uint64_t i, uint64_t *lost, struct ok_err *e);
/*
 * Read errors, as md handles them (raid5.c: R5_ReadError, R5_ReWrite): call
 * after md_win_reconstruct has rebuilt the window's lost rows. Each 4 KiB
 * block that failed to read (and whose row was rebuilt from P/Q) is counted
 * in a->read_errors and, when the array is open for writing or
 * a->fix_reads is set (check), rewritten in place and read back from the
 * device (the member's cnt_corrected_read grows by the block's sectors
 * and its superblock is written, as raid5_end_read_request and
 * super_1_sync do); one that still fails is recorded in the member's
 * bad-block log (md_member_badblock in member.h, as rdev_set_badblocks);
 * one that can be neither fails its member (md_array_fail_members, as
 * md_error; a->read_failed, a->warn say so) when the level can lose it.
 * Blocks of a stripe that could not be rebuilt are left to the caller's
 * error. Returns 0 (the counters say what happened).
 */
int md_win_fix_reads(struct md_win *w, struct ok_err *e);
/* Write the rows flagged dirty (runs, one pwrite each) to present members. */
int md_win_write(struct md_win *w, struct ok_err *e);
/* Compute P (and Q) of stripe i into p, q from the data in the window. */
void md_win_gen(struct md_win *w, uint64_t i, uint8_t *p, uint8_t *q);
