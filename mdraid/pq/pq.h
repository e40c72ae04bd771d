/*
 * pq.h: the RAID6 syndrome engine of mdraid: P (XOR) and Q (Reed-Solomon)
 * parity, read-modify-write updates and recovery of lost blocks.
 *
 * This is the manual. The field, the generator and the order of the data are
 * those of the Linux kernel's lib/raid6 and of mdadm's restripe.c, so parity
 * written here is what the md driver expects (H. Peter Anvin, "The
 * mathematics of RAID-6", and lib/raid6/int.uc, recov.c):
 *
 *   GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), g = {02}.
 *   P = D_0 ^ D_1 ^ ... ^ D_{nd-1}
 *   Q = g^0·D_0 ^ g^1·D_1 ^ ... ^ g^{nd-1}·D_{nd-1}
 *
 * Every function works byte-column-wise on blocks of `len` bytes: byte k of
 * P and Q depends only on byte k of the data blocks.
 *
 * Terms used below:
 *   nd      number of data blocks, 1 <= nd <= PQ_MAX_DATA.
 *   slot    index of a data block in the Q sum (its coefficient is g^slot).
 *           data[j] is slot j. Mapping member disks to slots (the stripe
 *           layout) is the caller's business, not this file's.
 *   len     block length in bytes, a positive multiple of PQ_LEN_MULTIPLE.
 *
 * Alignment: any byte address is correct. Blocks aligned to PQ_ALIGN (64
 * bytes) run at full speed; mdraid's buffers come from io_alloc() and are
 * 4096-aligned, so they qualify. Unaligned blocks only cost some speed.
 *
 * Buffers: unless a parameter says "in place", output blocks must not overlap
 * any input block. All pointers must be valid for len bytes.
 *
 * Implementation choice: the first call of any function picks the fastest
 * implementation this CPU supports (plain C, SSSE3, AVX2, AVX-512BW, GFNI
 * with AVX2 or AVX-512) by timing them, as the kernel does at boot. The
 * environment variable MDRAID_PQ=<name> (a name pq_impl_name() can return,
 * e.g. MDRAID_PQ=ref) forces one; an unknown name or one this CPU cannot run
 * is ignored and the timed choice stands. The choice is made once per process
 * and is thread-safe. Results are the same byte for byte whatever is chosen.
 *
 * Nothing here prints or fails, and nothing allocates except the choice,
 * which borrows 32 KiB for well under a millisecond of timing (without
 * memory it takes the highest-priority implementation untimed). Violating a
 * precondition (nd or len out of range, a >= b, ...) is a caller bug and the
 * result undefined. Thread-safe: the functions keep no state but the choice.
 */
#ifndef MDRAID_PQ_H
#define MDRAID_PQ_H

#include <stddef.h>

/* Most data blocks a Q syndrome can tell apart (g has order 255). */
#define PQ_MAX_DATA 255
/* len must be a multiple of this. */
#define PQ_LEN_MULTIPLE 64
/* Alignment (bytes) of blocks for full speed; not needed for correctness. */
#define PQ_ALIGN 64

/*
 * pq_gen: P and Q of nd data blocks (full-stripe write, resync, "create").
 * data[j] is slot j; writes len bytes to p and q. nd == 1 gives P = Q = D_0.
 */
void pq_gen(int nd, size_t len, void **data, void *p, void *q);

/*
 * pq_xor: P alone, the XOR of nd data blocks (RAID5 parity). It is also the
 * recovery of ONE lost data block from P (cases "data", "data + Q"): pass the
 * surviving data blocks plus P as the nd inputs and the lost block as p.
 */
void pq_xor(int nd, size_t len, void **data, void *p);

/*
 * pq_update: read-modify-write of one data block. delta is old ^ new data of
 * slot `slot` (0 <= slot < PQ_MAX_DATA); p ^= delta and q ^= g^slot·delta,
 * both in place. The result equals pq_gen over the new data.
 */
void pq_update(int slot, size_t len, const void *delta, void *p, void *q);

/*
 * pq_recov_2data: rebuild lost data blocks a and b (0 <= a < b < nd) in place
 * from P, Q and the other nd - 2 data blocks. The contents of data[a] and
 * data[b] on entry do not matter (they are used as scratch space); on return
 * they hold the data. Needs nd >= 2.
 */
void pq_recov_2data(int nd, size_t len, int a, int b, void **data, const void *p, const void *q);

/*
 * pq_recov_data_p: rebuild lost data block a (0 <= a < nd) and lost P, both
 * in place, from Q and the other data blocks. The contents of data[a] and p
 * on entry do not matter.
 *
 * The other cases need no function of their own: data + Q lost, or one data
 * block lost: data[a] = pq_xor of the rest and P, then pq_gen for Q if it was
 * lost; P + Q lost: pq_gen.
 */
void pq_recov_data_p(int nd, size_t len, int a, void **data, void *p, const void *q);

/*
 * The same recoveries when the parity was read into the lost blocks' own
 * buffers: a degraded read puts every chunk straight into the caller's
 * buffer, P and Q into the place of the data they rebuild, and has no room
 * for them apart. Both work in slices with 32 KiB of stack as scratch.
 *
 * pq_recov_2data_inplace: lost data blocks a < b; on entry data[a] holds P
 * and data[b] holds Q, on return the lost data.
 * pq_recov_data_inplace: lost data block a; on entry data[a] holds P
 * (from_q 0: P present, Q lost or not needed) or Q (from_q 1: P lost too),
 * on return the lost data.
 */
void pq_recov_2data_inplace(int nd, size_t len, int a, int b, void **data);
void pq_recov_data_inplace(int nd, size_t len, int a, int from_q, void **data);

/* pq_impl_name: name of the implementation in use ("ref", "avx2", "gfni512",
 * ...); makes the choice if not made yet. A static string. */
const char *pq_impl_name(void);

#endif
