/*
 * pq_avx2.c: P/Q with AVX2, 32 bytes per vector, four vectors per step (the
 * kernel's lib/raid6/avx2.c, "avx2x4"). g·q per byte is the kernel's
 * sequence: mask = (0 > q) signed, q = q + q, q ^= mask & 0x1d. The
 * constant multiplies (update, recovery) use split-nibble tables with
 * vpshufb, as the kernel's recov_avx2.c.
 *
 * Built with a target attribute, so the file compiles without -mavx2; it is
 * only called after valid() said the CPU has AVX2.
 */
#include <immintrin.h>

#include "pq_int.h"

#define TGT __attribute__((target("avx2")))
#define W   32

TGT static inline __m256i ld(const uint8_t *s)
{
	return _mm256_loadu_si256((const __m256i *)s);
}

TGT static inline void st(uint8_t *d, __m256i v)
{
	_mm256_storeu_si256((__m256i *)d, v);
}

/* g·q ^ d */
TGT static inline __m256i mul2x(__m256i q, __m256i d)
{
	__m256i m = _mm256_cmpgt_epi8(_mm256_setzero_si256(), q);
	q = _mm256_add_epi8(q, q);
	return _mm256_xor_si256(_mm256_xor_si256(q, _mm256_and_si256(m, _mm256_set1_epi8(0x1d))),
				d);
}

/* c·x by nibble tables lo/hi (each the 16-byte table in both lanes). */
TGT static inline __m256i mulc(__m256i x, __m256i lo, __m256i hi)
{
	__m256i f = _mm256_set1_epi8(0x0f);
	__m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(x, f));
	__m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(x, 4), f));
	return _mm256_xor_si256(l, h);
}

TGT static inline void tables(uint8_t c, __m256i *lo, __m256i *hi)
{
	uint8_t t[32];
	gf_nibble_tables(c, t);
	*lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
	*hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
}

TGT static void avx2_gen(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data, *pp = p, *qq = q;
	int z0 = nd - 1;
	size_t o = 0;
	for (; o + 4 * W <= len; o += 4 * W) {
		__m256i p0 = ld(d[z0] + o), p1 = ld(d[z0] + o + W);
		__m256i p2 = ld(d[z0] + o + 2 * W), p3 = ld(d[z0] + o + 3 * W);
		__m256i q0 = p0, q1 = p1, q2 = p2, q3 = p3;
		for (int z = z0 - 1; z >= 0; z--) {
			__m256i d0 = ld(d[z] + o), d1 = ld(d[z] + o + W);
			__m256i d2 = ld(d[z] + o + 2 * W), d3 = ld(d[z] + o + 3 * W);
			p0 = _mm256_xor_si256(p0, d0);
			p1 = _mm256_xor_si256(p1, d1);
			p2 = _mm256_xor_si256(p2, d2);
			p3 = _mm256_xor_si256(p3, d3);
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
		__m256i p0 = ld(d[z0] + o), q0 = p0;
		for (int z = z0 - 1; z >= 0; z--) {
			__m256i d0 = ld(d[z] + o);
			p0 = _mm256_xor_si256(p0, d0);
			q0 = mul2x(q0, d0);
		}
		st(pp + o, p0);
		st(qq + o, q0);
	}
}

TGT static void avx2_xor(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data, *pp = p;
	for (size_t o = 0; o < len; o += 2 * W) {
		__m256i p0 = ld(d[0] + o), p1 = ld(d[0] + o + W);
		for (int z = 1; z < nd; z++) {
			p0 = _mm256_xor_si256(p0, ld(d[z] + o));
			p1 = _mm256_xor_si256(p1, ld(d[z] + o + W));
		}
		st(pp + o, p0);
		st(pp + o + W, p1);
	}
}

TGT static void avx2_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q;
	__m256i lo, hi;
	tables(gf_exp(slot), &lo, &hi);
	for (size_t o = 0; o < len; o += W) {
		__m256i x = ld(s + o);
		st(pp + o, _mm256_xor_si256(ld(pp + o), x));
		st(qq + o, _mm256_xor_si256(ld(qq + o), mulc(x, lo, hi)));
	}
}

TGT static void avx2_recov_2data(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
				 const uint8_t *p, const uint8_t *q)
{
	__m256i plo, phi, qlo, qhi;
	tables(cp, &plo, &phi);
	tables(cq, &qlo, &qhi);
	for (size_t o = 0; o < len; o += W) {
		__m256i px = _mm256_xor_si256(ld(p + o), ld(da + o));
		__m256i qx = _mm256_xor_si256(ld(q + o), ld(db + o));
		__m256i b = _mm256_xor_si256(mulc(px, plo, phi), mulc(qx, qlo, qhi));
		st(db + o, b);
		st(da + o, _mm256_xor_si256(b, px));
	}
}

TGT static void avx2_recov_datap(size_t len, uint8_t c, uint8_t *da, uint8_t *p, const uint8_t *q)
{
	__m256i lo, hi;
	tables(c, &lo, &hi);
	for (size_t o = 0; o < len; o += W) {
		__m256i x = mulc(_mm256_xor_si256(ld(q + o), ld(da + o)), lo, hi);
		st(da + o, x);
		st(p + o, _mm256_xor_si256(ld(p + o), x));
	}
}

static int avx2_valid(void)
{
	return __builtin_cpu_supports("avx2");
}

const struct pq_ops pq_avx2_ops = {
    .gen = avx2_gen,
    .xor = avx2_xor,
    .update = avx2_update,
    .recov_2data = avx2_recov_2data,
    .recov_datap = avx2_recov_datap,
    .valid = avx2_valid,
    .name = "avx2",
    .priority = 2,
};
