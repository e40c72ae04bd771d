/*
 * pq_int.h: internals of the syndrome engine, shared by the implementations
 * (pq_ref.c and the SIMD variants, whose loops are pq_simd.h), the selector
 * (pq_select.c), recovery (pq_recov.c), the tests and the bench. Not part of
 * the public API (pq.h).
 *
 * Model: the Linux kernel's lib/raid6. Each implementation exports one const
 * struct pq_ops; pq_algos[] in pq_select.c lists them, NULL-ended, best
 * first. valid() says whether this CPU can run it. Only gen and xor are
 * mandatory; an implementation leaves the others NULL and the selector fills
 * them from pq_ref_ops (the kernel does the same with its separate recov
 * table). Recovery logic exists once, in pq_recov.c, on top of gen; the
 * per-ISA parts are only the final constant multiplies (recov_2data,
 * recov_datap), as in the kernel's recov_avx2.c.
 *
 * Every function pointer takes the same arguments as the public function of
 * the same name; len is a positive multiple of PQ_LEN_MULTIPLE.
 */
#ifndef MDRAID_PQ_INT_H
#define MDRAID_PQ_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pq.h"

struct pq_ops {
	void (*gen)(int nd, size_t len, void **data, void *p, void *q);
	void (*xor)(int nd, size_t len, void **data, void *p);
	/* p ^= delta; q ^= g^slot * delta. NULL: use pq_ref_ops. */
	void (*update)(int slot, size_t len, const void *delta, void *p, void *q);
	/*
	 * Last step of two-data recovery. On entry da = P' and db = Q' (the
	 * syndromes computed with both lost blocks zero). With Pxy = p ^ da,
	 * Qxy = q ^ db: db = cp·Pxy ^ cq·Qxy, then da = db ^ Pxy. NULL: ref.
	 */
	void (*recov_2data)(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
			    const uint8_t *p, const uint8_t *q);
	/*
	 * Last step of data+P recovery. On entry da = Q' and p = P' (computed
	 * with the lost block zero): da = c·(q ^ da), then p ^= da. NULL: ref.
	 */
	void (*recov_datap)(size_t len, uint8_t c, uint8_t *da, uint8_t *p, const uint8_t *q);
	int (*valid)(void); /* nonzero if this CPU can run it */
	const char *name;   /* MDRAID_PQ=name selects it */
	int priority;	    /* order when not timed; ties in timing */
};

extern const struct pq_ops pq_ref_ops;
extern const struct pq_ops pq_ssse3_ops;
extern const struct pq_ops pq_avx2_ops;
extern const struct pq_ops pq_avx512_ops;
extern const struct pq_ops pq_gfni256_ops;
extern const struct pq_ops pq_gfni512_ops;

/* NULL-ended list of every implementation compiled in, best first. */
extern const struct pq_ops *const pq_algos[];

/*
 * pq_ops_current: the ops in use (chosen on first call), every pointer set.
 * pq_ops_force: for tests and the bench: use ops (its NULL entries filled
 * from pq_ref_ops) from now on; NULL returns to the timed choice. Not
 * thread-safe against concurrent users of the engine.
 */
const struct pq_ops *pq_ops_current(void);
void pq_ops_force(const struct pq_ops *ops);

/* ---- GF(2^8), polynomial 0x11d: scalar helpers for tables and tests ---- */

/* a·b by shift-and-add (Russian peasant), reducing by 0x11d. */
static inline uint8_t gf_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;
	while (b) {
		if (b & 1)
			r ^= a;
		a = (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1d : 0));
		b >>= 1;
	}
	return r;
}

/* Tables in pq_tables.c: g^i (i = 0..255, g^255 = 1) and a^-1 (0 -> 0). */
extern const uint8_t pq_gf_exp[256];
extern const uint8_t pq_gf_inv[256];

/* g^e, e >= 0. */
static inline uint8_t gf_exp(int e)
{
	return pq_gf_exp[e % 255];
}

/* a^-1 (a != 0; 0 maps to 0). */
static inline uint8_t gf_inv(uint8_t a)
{
	return pq_gf_inv[a];
}

/*
 * Split-nibble tables for multiplying by c with a byte shuffle (pshufb):
 * c·x = lo[x & 15] ^ hi[x >> 4]. t[0..15] = lo, t[16..31] = hi.
 */
static inline void gf_nibble_tables(uint8_t c, uint8_t t[32])
{
	for (int i = 0; i < 16; i++) {
		t[i] = gf_mul(c, (uint8_t)i);
		t[16 + i] = gf_mul(c, (uint8_t)(i << 4));
	}
}

/*
 * The 8x8 bit matrix for GF2P8AFFINEQB that multiplies by c in the 0x11d
 * field (GF2P8MULB is useless here: it hard-wires 0x11b). Output bit i is
 * the parity of x & (byte 7-i of the matrix), so byte 7-i has bit j set when
 * bit i of c·2^j is set. For c = 2 this gives 0x8001828488102040, the
 * constant of ISA-L's pq_gen_avx512_gfni.asm.
 */
static inline uint64_t gf_affine_matrix(uint8_t c)
{
	uint64_t m = 0;
	for (int j = 0; j < 8; j++) {
		uint8_t col = gf_mul(c, (uint8_t)(1u << j));
		for (int i = 0; i < 8; i++)
			if (col & (1u << i))
				m |= (uint64_t)1 << (8 * (7 - i) + j);
	}
	return m;
}

#endif
