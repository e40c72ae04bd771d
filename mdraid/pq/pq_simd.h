/*
 * pq_simd.h: the loops of a SIMD variant, written once and instantiated by
 * each variant file (pq_ssse3.c, pq_avx2.c, pq_avx512.c, pq_gfni256.c,
 * pq_gfni512.c). The kernel's lib/raid6 generates its unrolled variants from
 * one .uc template with a perl script; the C preprocessor does the same job
 * here, so a fix to a loop lands in every width at once, and the variant
 * files keep only what differs: the instructions.
 *
 * Before including this file, a variant defines:
 *   TGT            the target attribute its functions are built with
 *   V, W           the vector type and its width in bytes
 *   PQ_FN(x)       the name of its function x (e.g. avx2_##x)
 *   M              the type of a prepared constant multiplier
 * and these TGT static inline functions and macros:
 *   V ld(const uint8_t *s), st(uint8_t *d, V v), V vxor(V a, V b)
 *   M mconst(uint8_t c)        prepare the multiplier c (nibble tables, or
 *                              GFNI's 8x8 bit matrix)
 *   V mulc(V x, M m)           c·x per byte
 *   GEN_SETUP                  declarations MUL2X needs, at the top of gen
 *   MUL2X(q, d)                g·q ^ d per byte
 *   PQ_VALID()                 nonzero when this CPU can run the variant
 *   PQ_NAME, PQ_PRIORITY       its struct pq_ops name and priority
 *   PQ_OPS                     the name of its struct pq_ops (pq_int.h)
 * and gets PQ_FN(gen), PQ_FN(xor), PQ_FN(update), PQ_FN(recov_2data),
 * PQ_FN(recov_datap) and PQ_FN(valid), and the const struct PQ_OPS.
 * Lengths are multiples of W (PQ_LEN_MULTIPLE is a multiple of the widest).
 */

/* P = xor of the data, Q = sum of g^z·data[z] by Horner's rule from the
 * highest data block down; four vectors per step while they fit. */
TGT static void PQ_FN(gen)(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data, *pp = p, *qq = q;
	GEN_SETUP
	int z0 = nd - 1;
	size_t o = 0;
	for (; o + 4 * W <= len; o += 4 * W) {
		V p0 = ld(d[z0] + o), p1 = ld(d[z0] + o + W);
		V p2 = ld(d[z0] + o + 2 * W), p3 = ld(d[z0] + o + 3 * W);
		V q0 = p0, q1 = p1, q2 = p2, q3 = p3;
		for (int z = z0 - 1; z >= 0; z--) {
			V d0 = ld(d[z] + o), d1 = ld(d[z] + o + W);
			V d2 = ld(d[z] + o + 2 * W), d3 = ld(d[z] + o + 3 * W);
			p0 = vxor(p0, d0);
			p1 = vxor(p1, d1);
			p2 = vxor(p2, d2);
			p3 = vxor(p3, d3);
			q0 = MUL2X(q0, d0);
			q1 = MUL2X(q1, d1);
			q2 = MUL2X(q2, d2);
			q3 = MUL2X(q3, d3);
		}
		st(pp + o, p0);
		st(pp + o + W, p1);
		st(pp + o + 2 * W, p2);
		st(pp + o + 3 * W, p3);
		st(qq + o, q0);
		st(qq + o + W, q1);
		st(qq + o + 2 * W, q2);
		st(qq + o + 3 * W, q3);
	}
	for (; o < len; o += W) {
		V p0 = ld(d[z0] + o), q0 = p0;
		for (int z = z0 - 1; z >= 0; z--) {
			V d0 = ld(d[z] + o);
			p0 = vxor(p0, d0);
			q0 = MUL2X(q0, d0);
		}
		st(pp + o, p0);
		st(qq + o, q0);
	}
}

/* RAID5's parity: P = xor of the data, two vectors per step while they fit. */
TGT static void PQ_FN (xor)(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data, *pp = p;
	size_t o = 0;
	for (; o + 2 * W <= len; o += 2 * W) {
		V p0 = ld(d[0] + o), p1 = ld(d[0] + o + W);
		for (int z = 1; z < nd; z++) {
			p0 = vxor(p0, ld(d[z] + o));
			p1 = vxor(p1, ld(d[z] + o + W));
		}
		st(pp + o, p0);
		st(pp + o + W, p1);
	}
	for (; o < len; o += W) {
		V p0 = ld(d[0] + o);
		for (int z = 1; z < nd; z++)
			p0 = vxor(p0, ld(d[z] + o));
		st(pp + o, p0);
	}
}

/* A read-modify-write: p ^= delta, q ^= g^slot·delta. */
TGT static void PQ_FN(update)(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q;
	const M m = mconst(gf_exp(slot));
	for (size_t o = 0; o < len; o += W) {
		V x = ld(s + o);
		st(pp + o, vxor(ld(pp + o), x));
		st(qq + o, vxor(ld(qq + o), mulc(x, m)));
	}
}

/* Two data blocks lost: see struct pq_ops for the arithmetic. */
TGT static void PQ_FN(recov_2data)(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
				   const uint8_t *p, const uint8_t *q)
{
	const M mp = mconst(cp), mq = mconst(cq);
	for (size_t o = 0; o < len; o += W) {
		V px = vxor(ld(p + o), ld(da + o));
		V qx = vxor(ld(q + o), ld(db + o));
		V b = vxor(mulc(px, mp), mulc(qx, mq));
		st(db + o, b);
		st(da + o, vxor(b, px));
	}
}

/* A data block and P lost: see struct pq_ops. */
TGT static void PQ_FN(recov_datap)(size_t len, uint8_t c, uint8_t *da, uint8_t *p, const uint8_t *q)
{
	const M m = mconst(c);
	for (size_t o = 0; o < len; o += W) {
		V x = mulc(vxor(ld(q + o), ld(da + o)), m);
		st(da + o, x);
		st(p + o, vxor(ld(p + o), x));
	}
}

static int PQ_FN(valid)(void)
{
	return PQ_VALID();
}

const struct pq_ops PQ_OPS = {
    .gen = PQ_FN(gen),
    .xor = PQ_FN(xor),
    .update = PQ_FN(update),
    .recov_2data = PQ_FN(recov_2data),
    .recov_datap = PQ_FN(recov_datap),
    .valid = PQ_FN(valid),
    .name = PQ_NAME,
    .priority = PQ_PRIORITY,
};
