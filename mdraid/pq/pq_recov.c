/*
 * pq_recov.c: rebuilding lost blocks from P and Q, built on gen (the
 * kernel's lib/raid6/recov.c; the algebra is H. Peter Anvin's "The
 * mathematics of RAID-6").
 *
 * The method: run the selected gen with a zero block standing in for each
 * lost data block, writing the partial syndromes P', Q' into the lost
 * blocks' own buffers (they are garbage anyway), then fix up with two
 * constant multiplies. There is one copy of this logic; implementations
 * only speed up the final multiply (struct pq_ops recov_2data/recov_datap).
 *
 * Blocks are processed in slices of PQ_SLICE bytes: the zero block we
 * substitute is static and of that size, and the slice's P', Q' are still
 * in cache when the fix-up reads them back.
 */
#include "pq_int.h"

#define PQ_SLICE 16384

static const uint8_t pq_zero[PQ_SLICE] __attribute__((aligned(PQ_ALIGN)));

void pq_recov_2data(int nd, size_t len, int a, int b, void **data, const void *p, const void *q)
{
	const struct pq_ops *ops = pq_ops_current();
	/* Db = Pxy·g^a/(g^a ^ g^b) ^ Qxy/(g^a ^ g^b); 1/(1 ^ g^(b-a)) is the kernel's gfexi. */
	uint8_t cp = gf_inv(gf_exp(b - a) ^ 1);
	uint8_t cq = gf_inv(gf_exp(a) ^ gf_exp(b));
	void *ptrs[PQ_MAX_DATA];
	for (size_t off = 0; off < len; off += PQ_SLICE) {
		size_t n = len - off < PQ_SLICE ? len - off : PQ_SLICE;
		for (int j = 0; j < nd; j++)
			ptrs[j] = (uint8_t *)data[j] + off;
		uint8_t *da = ptrs[a], *db = ptrs[b];
		ptrs[a] = ptrs[b] = (void *)pq_zero;
		ops->gen(nd, n, ptrs, da, db); /* da = P', db = Q' */
		ops->recov_2data(n, cp, cq, da, db, (const uint8_t *)p + off,
				 (const uint8_t *)q + off);
	}
}

void pq_recov_data_p(int nd, size_t len, int a, void **data, void *p, const void *q)
{
	const struct pq_ops *ops = pq_ops_current();
	uint8_t c = gf_inv(gf_exp(a)); /* Da = (Q ^ Q')·g^-a */
	void *ptrs[PQ_MAX_DATA];
	for (size_t off = 0; off < len; off += PQ_SLICE) {
		size_t n = len - off < PQ_SLICE ? len - off : PQ_SLICE;
		for (int j = 0; j < nd; j++)
			ptrs[j] = (uint8_t *)data[j] + off;
		uint8_t *da = ptrs[a], *pp = (uint8_t *)p + off;
		ptrs[a] = (void *)pq_zero;
		ops->gen(nd, n, ptrs, pp, da); /* pp = P', da = Q' */
		ops->recov_datap(n, c, da, pp, (const uint8_t *)q + off);
	}
}

/* P' and Q' go to scratch, not into the lost blocks (which hold P and Q):
 * the fix-ups use only P ^ P' and Q ^ Q', so the roles of the two inputs
 * can be swapped and the result still lands in the lost blocks. */
void pq_recov_2data_inplace(int nd, size_t len, int a, int b, void **data)
{
	const struct pq_ops *ops = pq_ops_current();
	uint8_t cp = gf_inv(gf_exp(b - a) ^ 1);
	uint8_t cq = gf_inv(gf_exp(a) ^ gf_exp(b));
	uint8_t pp[PQ_SLICE] __attribute__((aligned(PQ_ALIGN)));
	uint8_t qq[PQ_SLICE] __attribute__((aligned(PQ_ALIGN)));
	void *ptrs[PQ_MAX_DATA];
	for (size_t off = 0; off < len; off += PQ_SLICE) {
		size_t n = len - off < PQ_SLICE ? len - off : PQ_SLICE;
		for (int j = 0; j < nd; j++)
			ptrs[j] = (uint8_t *)data[j] + off;
		uint8_t *da = ptrs[a], *db = ptrs[b];
		ptrs[a] = ptrs[b] = (void *)pq_zero;
		ops->gen(nd, n, ptrs, pp, qq);		     /* P', Q' */
		ops->recov_2data(n, cp, cq, da, db, pp, qq); /* da ^ pp = P ^ P' */
	}
}

/* From Q: recov_datap with da holding Q and q = Q' (c·(Q' ^ Q) either
 * way); the P it rebuilds lands in scratch. From P: the same step with
 * c = 1 and P', P in the places of Q', Q gives da = P ^ P'. */
void pq_recov_data_inplace(int nd, size_t len, int a, int from_q, void **data)
{
	const struct pq_ops *ops = pq_ops_current();
	uint8_t c = from_q ? gf_inv(gf_exp(a)) : 1;
	uint8_t pp[PQ_SLICE] __attribute__((aligned(PQ_ALIGN)));
	uint8_t qq[PQ_SLICE] __attribute__((aligned(PQ_ALIGN)));
	void *ptrs[PQ_MAX_DATA];
	for (size_t off = 0; off < len; off += PQ_SLICE) {
		size_t n = len - off < PQ_SLICE ? len - off : PQ_SLICE;
		for (int j = 0; j < nd; j++)
			ptrs[j] = (uint8_t *)data[j] + off;
		uint8_t *da = ptrs[a];
		ptrs[a] = (void *)pq_zero;
		if (from_q) {
			ops->gen(nd, n, ptrs, pp, qq); /* P', Q' */
			ops->recov_datap(n, c, da, pp, qq);
		} else {
			ops->xor (nd, n, ptrs, qq); /* P' */
			ops->recov_datap(n, 1, da, pp, qq);
		}
	}
}
