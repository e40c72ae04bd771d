/*
 * pq_ref.c: the plain-C syndrome code, the specification every SIMD variant
 * must match byte for byte (the kernel's lib/raid6/int.uc, one 64-bit word
 * per step).
 *
 * Q is evaluated by Horner's rule from the highest slot down:
 *   q = D_{nd-1};  for z = nd-2 .. 0:  q = g·q ^ D_z
 * which gives Q = sum g^z·D_z. g·q for eight bytes at once ("SWAR"): shift
 * the word left by one bit per byte and XOR 0x1d into every byte whose top
 * bit was set (the reduction by 0x11d).
 *
 * Divisions: GF helpers on words, gen/xor, update, recovery fix-ups, ops.
 */
#include <string.h>

#include "pq_int.h"

/* ---- 64-bit SWAR arithmetic ---- */

#define NBYTES(x) ((uint64_t)(x)*0x0101010101010101ULL)

static inline uint64_t ld64(const uint8_t *s)
{
	uint64_t v;
	memcpy(&v, s, 8); /* unaligned-safe; compiles to one load */
	return v;
}

static inline void st64(uint8_t *d, uint64_t v)
{
	memcpy(d, &v, 8);
}

/* g·v per byte: (v << 1 within each byte) ^ (0x1d where the top bit was set). */
static inline uint64_t mul2_64(uint64_t v)
{
	uint64_t hi = v & NBYTES(0x80);
	uint64_t mask = (hi << 1) - (hi >> 7); /* 0xff in bytes with the top bit */
	return ((v << 1) & NBYTES(0xfe)) ^ (mask & NBYTES(0x1d));
}

/* ---- gen and xor ---- */

static void ref_gen(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data;
	int z0 = nd - 1; /* highest slot */
	for (size_t o = 0; o < len; o += 8) {
		uint64_t wp = ld64(d[z0] + o), wq = wp;
		for (int z = z0 - 1; z >= 0; z--) {
			uint64_t wd = ld64(d[z] + o);
			wp ^= wd;
			wq = mul2_64(wq) ^ wd;
		}
		st64((uint8_t *)p + o, wp);
		st64((uint8_t *)q + o, wq);
	}
}

static void ref_xor(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data;
	for (size_t o = 0; o < len; o += 8) {
		uint64_t wp = ld64(d[0] + o);
		for (int z = 1; z < nd; z++)
			wp ^= ld64(d[z] + o);
		st64((uint8_t *)p + o, wp);
	}
}

/* ---- read-modify-write ---- */

/* c·x for every byte of s into d ^=, by one 256-entry row of the product table. */
static void ref_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q, row[256];
	uint8_t c = gf_exp(slot);
	for (int x = 0; x < 256; x++)
		row[x] = gf_mul(c, (uint8_t)x);
	for (size_t i = 0; i < len; i++) {
		pp[i] ^= s[i];
		qq[i] ^= row[s[i]];
	}
}

/* ---- recovery fix-ups (pq_recov.c does the rest) ---- */

static void ref_recov_2data(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
			    const uint8_t *p, const uint8_t *q)
{
	uint8_t pmul[256], qmul[256];
	for (int x = 0; x < 256; x++) {
		pmul[x] = gf_mul(cp, (uint8_t)x);
		qmul[x] = gf_mul(cq, (uint8_t)x);
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t px = p[i] ^ da[i], qx = q[i] ^ db[i];
		uint8_t b = pmul[px] ^ qmul[qx];
		db[i] = b;
		da[i] = b ^ px;
	}
}

static void ref_recov_datap(size_t len, uint8_t c, uint8_t *da, uint8_t *p, const uint8_t *q)
{
	uint8_t qmul[256];
	for (int x = 0; x < 256; x++)
		qmul[x] = gf_mul(c, (uint8_t)x);
	for (size_t i = 0; i < len; i++) {
		uint8_t d = qmul[q[i] ^ da[i]];
		da[i] = d;
		p[i] ^= d;
	}
}

static int ref_valid(void)
{
	return 1;
}

const struct pq_ops pq_ref_ops = {
    .gen = ref_gen,
    .xor = ref_xor,
    .update = ref_update,
    .recov_2data = ref_recov_2data,
    .recov_datap = ref_recov_datap,
    .valid = ref_valid,
    .name = "ref",
    .priority = 0,
};
