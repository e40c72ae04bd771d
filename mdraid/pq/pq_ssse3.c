/*
 * pq_ssse3.c: P/Q with SSE2/SSSE3, 16 bytes per vector, four vectors per
 * step (the kernel's lib/raid6/sse2.c "sse2x4"; SSSE3 adds pshufb for the
 * split-nibble constant multiplies of update and recovery). Same structure
 * and names as pq_avx2.c, which explains the arithmetic.
 */
#include <immintrin.h>

#include "pq_int.h"

#define TGT __attribute__((target("ssse3")))
#define W   16

TGT static inline __m128i ld(const uint8_t *s)
{
	return _mm_loadu_si128((const __m128i *)s);
}

TGT static inline void st(uint8_t *d, __m128i v)
{
	_mm_storeu_si128((__m128i *)d, v);
}

/* g·q ^ d */
TGT static inline __m128i mul2x(__m128i q, __m128i d)
{
	__m128i m = _mm_cmpgt_epi8(_mm_setzero_si128(), q);
	q = _mm_add_epi8(q, q);
	return _mm_xor_si128(_mm_xor_si128(q, _mm_and_si128(m, _mm_set1_epi8(0x1d))), d);
}

/* c·x by nibble tables lo/hi. */
TGT static inline __m128i mulc(__m128i x, __m128i lo, __m128i hi)
{
	__m128i f = _mm_set1_epi8(0x0f);
	__m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(x, f));
	__m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(x, 4), f));
	return _mm_xor_si128(l, h);
}

TGT static inline void tables(uint8_t c, __m128i *lo, __m128i *hi)
{
	uint8_t t[32];
	gf_nibble_tables(c, t);
	*lo = _mm_loadu_si128((const __m128i *)t);
	*hi = _mm_loadu_si128((const __m128i *)(t + 16));
}

TGT static void ssse3_gen(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data, *pp = p, *qq = q;
	int z0 = nd - 1;
	size_t o = 0;
	for (; o + 4 * W <= len; o += 4 * W) {
		__m128i p0 = ld(d[z0] + o), p1 = ld(d[z0] + o + W);
		__m128i p2 = ld(d[z0] + o + 2 * W), p3 = ld(d[z0] + o + 3 * W);
		__m128i q0 = p0, q1 = p1, q2 = p2, q3 = p3;
		for (int z = z0 - 1; z >= 0; z--) {
			__m128i d0 = ld(d[z] + o), d1 = ld(d[z] + o + W);
			__m128i d2 = ld(d[z] + o + 2 * W), d3 = ld(d[z] + o + 3 * W);
			p0 = _mm_xor_si128(p0, d0);
			p1 = _mm_xor_si128(p1, d1);
			p2 = _mm_xor_si128(p2, d2);
			p3 = _mm_xor_si128(p3, d3);
			q0 = mul2x(q0, d0);
			q1 = mul2x(q1, d1);
			q2 = mul2x(q2, d2);
			q3 = mul2x(q3, d3);
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
		__m128i p0 = ld(d[z0] + o), q0 = p0;
		for (int z = z0 - 1; z >= 0; z--) {
			__m128i d0 = ld(d[z] + o);
			p0 = _mm_xor_si128(p0, d0);
			q0 = mul2x(q0, d0);
		}
		st(pp + o, p0);
		st(qq + o, q0);
	}
}

TGT static void ssse3_xor(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data, *pp = p;
	for (size_t o = 0; o < len; o += 2 * W) {
		__m128i p0 = ld(d[0] + o), p1 = ld(d[0] + o + W);
		for (int z = 1; z < nd; z++) {
			p0 = _mm_xor_si128(p0, ld(d[z] + o));
			p1 = _mm_xor_si128(p1, ld(d[z] + o + W));
		}
		st(pp + o, p0);
		st(pp + o + W, p1);
	}
}

TGT static void ssse3_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q;
	__m128i lo, hi;
	tables(gf_exp(slot), &lo, &hi);
	for (size_t o = 0; o < len; o += W) {
		__m128i x = ld(s + o);
		st(pp + o, _mm_xor_si128(ld(pp + o), x));
		st(qq + o, _mm_xor_si128(ld(qq + o), mulc(x, lo, hi)));
	}
}

TGT static void ssse3_recov_2data(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
				  const uint8_t *p, const uint8_t *q)
{
	__m128i plo, phi, qlo, qhi;
	tables(cp, &plo, &phi);
	tables(cq, &qlo, &qhi);
	for (size_t o = 0; o < len; o += W) {
		__m128i px = _mm_xor_si128(ld(p + o), ld(da + o));
		__m128i qx = _mm_xor_si128(ld(q + o), ld(db + o));
		__m128i b = _mm_xor_si128(mulc(px, plo, phi), mulc(qx, qlo, qhi));
		st(db + o, b);
		st(da + o, _mm_xor_si128(b, px));
	}
}

TGT static void ssse3_recov_datap(size_t len, uint8_t c, uint8_t *da, uint8_t *p, const uint8_t *q)
{
	__m128i lo, hi;
	tables(c, &lo, &hi);
	for (size_t o = 0; o < len; o += W) {
		__m128i x = mulc(_mm_xor_si128(ld(q + o), ld(da + o)), lo, hi);
		st(da + o, x);
		st(p + o, _mm_xor_si128(ld(p + o), x));
	}
}

static int ssse3_valid(void)
{
	return __builtin_cpu_supports("ssse3");
}

const struct pq_ops pq_ssse3_ops = {
    .gen = ssse3_gen,
    .xor = ssse3_xor,
    .update = ssse3_update,
    .recov_2data = ssse3_recov_2data,
    .recov_datap = ssse3_recov_datap,
    .valid = ssse3_valid,
    .name = "ssse3",
    .priority = 1,
};
