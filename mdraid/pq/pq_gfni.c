/*
 * pq_gfni.c: P/Q with GFNI, two widths: "gfni512" (AVX-512 registers) and
 * "gfni256" (AVX2 registers, VEX-encoded GFNI, for CPUs with GFNI but
 * without AVX-512 such as recent Atom-class cores).
 *
 * GF2P8AFFINEQB multiplies every byte by a fixed 8x8 bit matrix, and any
 * multiplication by a constant in GF(2^8) is such a matrix, whatever the
 * polynomial (gf_affine_matrix in pq_int.h). So g·q costs one instruction
 * instead of four, and the constant multiplies of update and recovery are
 * one instruction too. (GF2P8MULB would be simpler but hard-wires the AES
 * polynomial 0x11b; md uses 0x11d.) ISA-L's pq_gen_avx512_gfni.asm uses the
 * same trick; Debian 12's ISA-L 2.30 predates it.
 *
 * Each width: gen (four vectors per step), xor, update, recovery fix-ups,
 * then its const struct pq_ops. Built with target attributes.
 */
#include <immintrin.h>

#include "pq_int.h"

/* ==== AVX-512 + GFNI ==== */

#define T512 __attribute__((target("avx512f,avx512bw,gfni")))
#define W5   64

T512 static inline __m512i ld5(const uint8_t *s)
{
	return _mm512_loadu_si512((const void *)s);
}

T512 static inline void st5(uint8_t *d, __m512i v)
{
	_mm512_storeu_si512((void *)d, v);
}

/* c·x with m = the broadcast matrix of c. */
T512 static inline __m512i mulm5(__m512i x, __m512i m)
{
	return _mm512_gf2p8affine_epi64_epi8(x, m, 0);
}

T512 static void gfni512_gen(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data, *pp = p, *qq = q;
	const __m512i g = _mm512_set1_epi64((long long)gf_affine_matrix(2));
	int z0 = nd - 1;
	size_t o = 0;
	for (; o + 4 * W5 <= len; o += 4 * W5) {
		__m512i p0 = ld5(d[z0] + o), p1 = ld5(d[z0] + o + W5);
		__m512i p2 = ld5(d[z0] + o + 2 * W5), p3 = ld5(d[z0] + o + 3 * W5);
		__m512i q0 = p0, q1 = p1, q2 = p2, q3 = p3;
		for (int z = z0 - 1; z >= 0; z--) {
			__m512i d0 = ld5(d[z] + o), d1 = ld5(d[z] + o + W5);
			__m512i d2 = ld5(d[z] + o + 2 * W5), d3 = ld5(d[z] + o + 3 * W5);
			p0 = _mm512_xor_si512(p0, d0);
			p1 = _mm512_xor_si512(p1, d1);
			p2 = _mm512_xor_si512(p2, d2);
			p3 = _mm512_xor_si512(p3, d3);
			q0 = _mm512_xor_si512(mulm5(q0, g), d0);
			q1 = _mm512_xor_si512(mulm5(q1, g), d1);
			q2 = _mm512_xor_si512(mulm5(q2, g), d2);
			q3 = _mm512_xor_si512(mulm5(q3, g), d3);
		}
		st5(pp + o, p0);
		st5(pp + o + W5, p1);
		st5(pp + o + 2 * W5, p2);
		st5(pp + o + 3 * W5, p3);
		st5(qq + o, q0);
		st5(qq + o + W5, q1);
		st5(qq + o + 2 * W5, q2);
		st5(qq + o + 3 * W5, q3);
	}
	for (; o < len; o += W5) {
		__m512i p0 = ld5(d[z0] + o), q0 = p0;
		for (int z = z0 - 1; z >= 0; z--) {
			__m512i d0 = ld5(d[z] + o);
			p0 = _mm512_xor_si512(p0, d0);
			q0 = _mm512_xor_si512(mulm5(q0, g), d0);
		}
		st5(pp + o, p0);
		st5(qq + o, q0);
	}
}

T512 static void gfni512_xor(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data, *pp = p;
	size_t o = 0;
	for (; o + 2 * W5 <= len; o += 2 * W5) {
		__m512i p0 = ld5(d[0] + o), p1 = ld5(d[0] + o + W5);
		for (int z = 1; z < nd; z++) {
			p0 = _mm512_xor_si512(p0, ld5(d[z] + o));
			p1 = _mm512_xor_si512(p1, ld5(d[z] + o + W5));
		}
		st5(pp + o, p0);
		st5(pp + o + W5, p1);
	}
	for (; o < len; o += W5) {
		__m512i p0 = ld5(d[0] + o);
		for (int z = 1; z < nd; z++)
			p0 = _mm512_xor_si512(p0, ld5(d[z] + o));
		st5(pp + o, p0);
	}
}

T512 static void gfni512_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q;
	const __m512i m = _mm512_set1_epi64((long long)gf_affine_matrix(gf_exp(slot)));
	for (size_t o = 0; o < len; o += W5) {
		__m512i x = ld5(s + o);
		st5(pp + o, _mm512_xor_si512(ld5(pp + o), x));
		st5(qq + o, _mm512_xor_si512(ld5(qq + o), mulm5(x, m)));
	}
}

T512 static void gfni512_recov_2data(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
				     const uint8_t *p, const uint8_t *q)
{
	const __m512i mp = _mm512_set1_epi64((long long)gf_affine_matrix(cp));
	const __m512i mq = _mm512_set1_epi64((long long)gf_affine_matrix(cq));
	for (size_t o = 0; o < len; o += W5) {
		__m512i px = _mm512_xor_si512(ld5(p + o), ld5(da + o));
		__m512i qx = _mm512_xor_si512(ld5(q + o), ld5(db + o));
		__m512i b = _mm512_xor_si512(mulm5(px, mp), mulm5(qx, mq));
		st5(db + o, b);
		st5(da + o, _mm512_xor_si512(b, px));
	}
}

T512 static void gfni512_recov_datap(size_t len, uint8_t c, uint8_t *da, uint8_t *p,
				     const uint8_t *q)
{
	const __m512i m = _mm512_set1_epi64((long long)gf_affine_matrix(c));
	for (size_t o = 0; o < len; o += W5) {
		__m512i x = mulm5(_mm512_xor_si512(ld5(q + o), ld5(da + o)), m);
		st5(da + o, x);
		st5(p + o, _mm512_xor_si512(ld5(p + o), x));
	}
}

static int gfni512_valid(void)
{
	return __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw");
}

const struct pq_ops pq_gfni512_ops = {
    .gen = gfni512_gen,
    .xor = gfni512_xor,
    .update = gfni512_update,
    .recov_2data = gfni512_recov_2data,
    .recov_datap = gfni512_recov_datap,
    .valid = gfni512_valid,
    .name = "gfni512",
    .priority = 5,
};

/* ==== AVX2 + GFNI ==== */

#define T256 __attribute__((target("avx2,gfni")))
#define W2   32

T256 static inline __m256i ld2(const uint8_t *s)
{
	return _mm256_loadu_si256((const __m256i *)s);
}

T256 static inline void st2(uint8_t *d, __m256i v)
{
	_mm256_storeu_si256((__m256i *)d, v);
}

T256 static inline __m256i mulm2(__m256i x, __m256i m)
{
	return _mm256_gf2p8affine_epi64_epi8(x, m, 0);
}

T256 static void gfni256_gen(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data, *pp = p, *qq = q;
	const __m256i g = _mm256_set1_epi64x((long long)gf_affine_matrix(2));
	int z0 = nd - 1;
	size_t o = 0;
	for (; o + 4 * W2 <= len; o += 4 * W2) {
		__m256i p0 = ld2(d[z0] + o), p1 = ld2(d[z0] + o + W2);
		__m256i p2 = ld2(d[z0] + o + 2 * W2), p3 = ld2(d[z0] + o + 3 * W2);
		__m256i q0 = p0, q1 = p1, q2 = p2, q3 = p3;
		for (int z = z0 - 1; z >= 0; z--) {
			__m256i d0 = ld2(d[z] + o), d1 = ld2(d[z] + o + W2);
			__m256i d2 = ld2(d[z] + o + 2 * W2), d3 = ld2(d[z] + o + 3 * W2);
			p0 = _mm256_xor_si256(p0, d0);
			p1 = _mm256_xor_si256(p1, d1);
			p2 = _mm256_xor_si256(p2, d2);
			p3 = _mm256_xor_si256(p3, d3);
			q0 = _mm256_xor_si256(mulm2(q0, g), d0);
			q1 = _mm256_xor_si256(mulm2(q1, g), d1);
			q2 = _mm256_xor_si256(mulm2(q2, g), d2);
			q3 = _mm256_xor_si256(mulm2(q3, g), d3);
		}
		st2(pp + o, p0);
		st2(pp + o + W2, p1);
		st2(pp + o + 2 * W2, p2);
		st2(pp + o + 3 * W2, p3);
		st2(qq + o, q0);
		st2(qq + o + W2, q1);
		st2(qq + o + 2 * W2, q2);
		st2(qq + o + 3 * W2, q3);
	}
	for (; o < len; o += W2) {
		__m256i p0 = ld2(d[z0] + o), q0 = p0;
		for (int z = z0 - 1; z >= 0; z--) {
			__m256i d0 = ld2(d[z] + o);
			p0 = _mm256_xor_si256(p0, d0);
			q0 = _mm256_xor_si256(mulm2(q0, g), d0);
		}
		st2(pp + o, p0);
		st2(qq + o, q0);
	}
}

T256 static void gfni256_xor(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data, *pp = p;
	for (size_t o = 0; o < len; o += 2 * W2) {
		__m256i p0 = ld2(d[0] + o), p1 = ld2(d[0] + o + W2);
		for (int z = 1; z < nd; z++) {
			p0 = _mm256_xor_si256(p0, ld2(d[z] + o));
			p1 = _mm256_xor_si256(p1, ld2(d[z] + o + W2));
		}
		st2(pp + o, p0);
		st2(pp + o + W2, p1);
	}
}

T256 static void gfni256_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q;
	const __m256i m = _mm256_set1_epi64x((long long)gf_affine_matrix(gf_exp(slot)));
	for (size_t o = 0; o < len; o += W2) {
		__m256i x = ld2(s + o);
		st2(pp + o, _mm256_xor_si256(ld2(pp + o), x));
		st2(qq + o, _mm256_xor_si256(ld2(qq + o), mulm2(x, m)));
	}
}

T256 static void gfni256_recov_2data(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
				     const uint8_t *p, const uint8_t *q)
{
	const __m256i mp = _mm256_set1_epi64x((long long)gf_affine_matrix(cp));
	const __m256i mq = _mm256_set1_epi64x((long long)gf_affine_matrix(cq));
	for (size_t o = 0; o < len; o += W2) {
		__m256i px = _mm256_xor_si256(ld2(p + o), ld2(da + o));
		__m256i qx = _mm256_xor_si256(ld2(q + o), ld2(db + o));
		__m256i b = _mm256_xor_si256(mulm2(px, mp), mulm2(qx, mq));
		st2(db + o, b);
		st2(da + o, _mm256_xor_si256(b, px));
	}
}

T256 static void gfni256_recov_datap(size_t len, uint8_t c, uint8_t *da, uint8_t *p,
				     const uint8_t *q)
{
	const __m256i m = _mm256_set1_epi64x((long long)gf_affine_matrix(c));
	for (size_t o = 0; o < len; o += W2) {
		__m256i x = mulm2(_mm256_xor_si256(ld2(q + o), ld2(da + o)), m);
		st2(da + o, x);
		st2(p + o, _mm256_xor_si256(ld2(p + o), x));
	}
}

static int gfni256_valid(void)
{
	return __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx2");
}

const struct pq_ops pq_gfni256_ops = {
    .gen = gfni256_gen,
    .xor = gfni256_xor,
    .update = gfni256_update,
    .recov_2data = gfni256_recov_2data,
    .recov_datap = gfni256_recov_datap,
    .valid = gfni256_valid,
    .name = "gfni256",
    .priority = 4,
};
