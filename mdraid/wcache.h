/*
 * wcache.h: a write-back stripe cache in front of md_array_write (wcache.c),
 * for the nbdkit plugin. NBD clients write in requests smaller than a stripe
 * (nbdcopy 256 KiB, the kernel's nbd driver 128 KiB, qemu what the guest
 * sends); written one by one, every request is a read-modify-write that
 * writes P and Q again. The cache collects writes per stripe and writes a
 * stripe once it is whole (P/Q computed once, nothing read), as md's stripe
 * cache does (raid5.c: a stripe_head waits for more writes before it
 * computes parity).
 *
 * Semantics are those of a disk's volatile write cache, which NBD models
 * with flush and FUA: a write the cache holds is acknowledged before it is
 * on the members; md_wcache_flush writes every held stripe (partial ones as
 * read-modify-writes, as before), and the caller then syncs the members. A
 * kill loses only writes no flush covered. The bitmap stays ahead of the
 * data because every byte still goes through md_array_write, which sets and
 * syncs the bits before it writes. Reads see held writes (md_wcache_read).
 *
 * Invariants: (1) a slot holds at most one stripe, no stripe is in two
 * slots; (2) have has a bit per 512-byte sector of the stripe, set exactly
 * for the sectors buf holds, nhave counts them; (3) a held sector is newer
 * than what the members hold there. Thread safety: md_wcache_read_shared
 * only reads the slots, so several may run together (the plugin's readers,
 * under a shared lock); every other call is alone (the plugin's writers,
 * flush and the resync pass, under the lock held exclusively).
 */
#ifndef MDRAID_WCACHE_H
#define MDRAID_WCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mdraid.h"

#define MD_WCACHE_BUDGET (32u << 20) /* bytes of stripe buffers, at most */

struct md_wcache_slot {
	uint64_t stripe; /* array stripe number; UINT64_MAX when free */
	uint8_t *buf;	 /* the stripe's data bytes, in array order */
	uint64_t *have;	 /* one bit per sector held */
	uint32_t nhave;	 /* sectors held */
	uint64_t used;	 /* the cache's clock at the slot's last write */
};

struct md_wcache {
	struct md_array *a;
	uint64_t stripe_bytes;	     /* data bytes per stripe */
	uint32_t sectors;	     /* stripe_bytes / 512 */
	int nslots;		     /* 0: every call passes straight through */
	struct md_wcache_slot *slot; /* nslots of them */
	uint64_t clock;		     /* counts writes, for least-recently-used */
	uint64_t whole;		     /* stripes written whole (statistics) */
	int err;		     /* a write-back error not yet reported */
	struct ok_err err_e;	     /* what it was */
};

/* Set up a cache of at most budget bytes for array a (open for writing).
 * Arrays whose stripe is over a quarter of the budget get no slots (every
 * call passes through). 0 or -ENOMEM. */
int md_wcache_init(struct md_wcache *wc, struct md_array *a, size_t budget);
/* Write len bytes at array byte off: whole stripes at once straight to
 * md_array_write, the rest into slots; a slot whose stripe became whole is
 * written, and when all slots are taken the least recently used is written
 * as it is. Writes not 512-byte aligned pass through (held stripes they
 * touch written first). 0 or -errno with e (a write-back of an earlier
 * write may be what failed). */
int md_wcache_write(struct md_wcache *wc, uint64_t off, const void *buf, size_t len,
		    struct ok_err *e);
/* md_array_read with the held writes laid over it. */
int md_wcache_read(struct md_wcache *wc, uint64_t off, void *buf, size_t len, struct ok_err *e);
/* The same through md_array_read_shared: callers may read together while
 * nothing writes (and no write is in flight: md_array_flush). -EAGAIN as
 * md_array_read_shared's (then md_wcache_read, alone). */
int md_wcache_read_shared(const struct md_wcache *wc, uint64_t off, void *buf, size_t len,
			  struct ok_err *e);
/* Write every held stripe (not synced: md_array_sync after it). Reports a
 * write-back error of an earlier call once. 0 or -errno with e. */
int md_wcache_flush(struct md_wcache *wc, struct ok_err *e);
/* Free the slots (held writes are dropped: md_wcache_flush first). */
void md_wcache_free(struct md_wcache *wc);

#endif
