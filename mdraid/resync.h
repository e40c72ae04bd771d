/*
 * resync.h: md's own passes over a running array, as md_do_sync runs them
 * in the kernel's resync thread: the resync of an array that was not
 * stopped cleanly, and the repair mdadm asks for after forcing a RAID6 one
 * member short. nbdkit-mdraid-plugin.so runs them in a background thread
 * while it serves I/O; the caller holds whatever lock serialises the array
 * around each md_pass_step (the engine is one state, array.c).
 *
 * Which pass, as md decides it (md_pass_plan):
 *   - repair: a->want_repair (--force brought RAID6 up one slot short;
 *     mdadm 4.2's start_array writes "repair" to sync_action). Every stripe
 *     from 0, parity rewritten where it mismatches; not checkpointed (md
 *     records no progress of a requested pass: recovery_cp stays MaxSector).
 *   - resync: the array is dirty (resync_offset below MaxSector in some
 *     member in use) and keeps some redundancy (raid5.c's sync_request skips
 *     the whole pass when degraded >= max_degraded). Without a bitmap, every
 *     stripe from the checkpoint (recovery_cp); with a bitmap whose events
 *     are current, only the stripes its set bits cover from the checkpoint
 *     on (md_bitmap_load, sync_request's md_bitmap_start_sync skip); a stale
 *     bitmap counts as all bits set. A degraded RAID6 stripe's missing block
 *     is rebuilt from P and the other parity rewritten (repair arithmetic).
 *
 * Checkpoints (resync only): every sixteenth of the array or five minutes
 * (md_do_sync's max_sectors >> 4 and UPDATE_FREQUENCY), the members are
 * synced and recovery_cp moves (pass_checkpoint in resync.c: on the
 * superblocks only while no client write made the array active); when the
 * pass ends, md_array_mark_synced; when it is stopped (nbdkit unloads),
 * md_pass_stop records where it got to, as md checkpoints an interrupted
 * pass. Writes at or past recovery_cp meanwhile reconstruct, never rmw
 * (rw.c), and reads need nothing: a healthy stripe's data is read as it is,
 * a degraded one rebuilt from what is there, as raid5.c does.
 */
#ifndef MDRAID_RESYNC_H
#define MDRAID_RESYNC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "mdraid.h"

enum md_pass_kind { MD_PASS_NONE, MD_PASS_RESYNC, MD_PASS_REPAIR };

struct md_pass {
	enum md_pass_kind kind;
	bool rebuild;	      /* a slot is missing: parity through reconstruction */
	uint8_t *bits;	      /* bitmap bits at the start (NULL: every stripe) */
	uint64_t nbits;	      /* bits in bits */
	uint64_t bit_sectors; /* rel sectors one bit covers */
	uint64_t stripes;     /* stripes in the array */
	uint64_t start;	      /* first stripe of the pass */
	uint64_t pos;	      /* next stripe to look at */
	uint64_t ckpt;	      /* stripe of the last checkpoint */
	time_t ckpt_time;     /* when it was recorded */
	uint64_t total;	      /* stripes the pass will rewrite */
	uint64_t synced;      /* stripes rewritten so far */
	uint64_t mismatches;  /* sectors found wrong (repair, degraded resync) */
	bool done;	      /* finished and recorded */
	char why[200];	      /* what the pass is for, or why none runs */
};

/* Decide the pass for an array opened for writing (see the header). 0 with
 * p->kind (MD_PASS_NONE: nothing due, p->why says why), or -ENOMEM. */
int md_pass_plan(struct md_pass *p, struct md_array *a, struct ok_err *e);
/* Do the next stripes that need it, at most max_stripes of them, in windows
 * of at most budget bytes; checkpoint as md does; at the end mark the array
 * in sync (resync). 1 while more is left, 0 when finished, or an error
 * (the pass is then abandoned: the array stays dirty, as md leaves it). */
int md_pass_step(struct md_pass *p, struct md_array *a, uint64_t max_stripes, size_t budget,
		 struct ok_err *e);
/* Stop an unfinished pass: record where it got to (resync: recovery_cp on
 * the members, as md's checkpoint of an interrupted pass). 0 or an error. */
int md_pass_stop(struct md_pass *p, struct md_array *a, struct ok_err *e);
/* Stripes the pass covers in all and has done, for progress. */
void md_pass_progress(const struct md_pass *p, uint64_t *done, uint64_t *total);
const char *md_pass_name(const struct md_pass *p); /* "resync", "repair", "none" */
void md_pass_free(struct md_pass *p);

#endif
