/*
 * iopool.h: a pool of persistent I/O threads, one per member, for the
 * verbs that run thousands of small parallel batches (a reshape with little
 * head-room checkpoints every stripe: a write, a flush and a superblock per
 * member each time).
 *
 * md_par_run (member.h) starts and joins a thread per job; that costs a
 * clone, a stack and a wake-up on a loaded machine per member per batch,
 * which dominates when a batch is one 512 KiB write or one fdatasync. Here
 * the threads are made once (at the first parallel batch, so a pool whose
 * batches all run inline makes none) and wait on a condition variable; a
 * batch is md_par_run's contract (fn(ctx, i, e_i) for i in [0, n), each
 * job on its own member and buffers, the lowest failed job's error), run
 * either now (md_pool_run: the caller takes jobs too) or in the background
 * (md_pool_start, then md_pool_wait), so that one pool reads ahead while
 * another writes and flushes.
 *
 * One batch at a time per pool. A pool is used by one thread (its owner);
 * the workers only run jobs. A pool whose threads could not all be made
 * runs what they would have run inline (as md_par_run does then).
 */
#ifndef MDRAID_IOPOOL_H
#define MDRAID_IOPOOL_H

#include <stdbool.h>

#include "err.h"

struct md_pool;

/* A pool of up to nthreads (<= MD_MAX_MEMBERS) threads, made at its first
 * parallel batch (fewer if the system refuses some); NULL only when out of
 * memory. */
struct md_pool *md_pool_new(int nthreads);

/* Run the batch to its end, as md_par_run(n, parallel, fn, ctx, rcs, e):
 * parallel false runs every job inline, in order. n <= MD_MAX_MEMBERS. */
int md_pool_run(struct md_pool *p, int n, bool parallel,
		int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx, int *rcs,
		struct ok_err *e);

/* Start a batch in the background (n <= the pool's threads); the caller
 * must md_pool_wait before starting another or touching the jobs' buffers.
 * With parallel false (or no threads) the batch runs inline here and its
 * result waits for md_pool_wait. */
void md_pool_start(struct md_pool *p, int n, bool parallel,
		   int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx);

/* Wait for the batch md_pool_start began; its result as md_pool_run's.
 * 0 when none is running. */
int md_pool_wait(struct md_pool *p, int *rcs, struct ok_err *e);

/* Stop and join the threads, free p (NULL is fine). No batch may run. */
void md_pool_free(struct md_pool *p);

#endif
