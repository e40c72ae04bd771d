/*
 * pq_avx512.c: P/Q with AVX-512BW, 64 bytes per vector, four vectors per
 * step (the kernel's lib/raid6/avx512.c "avx512x4"). g·q per byte: the sign
 * bits go to a mask register (vpmovb2m), q = q + q, and one vpternlogd
 * XORs the masked 0x1d and the data into q. Constant multiplies use
 * split-nibble tables with vpshufb.
 *
 * Built with a target attribute; called only after valid() checked
 * AVX-512F and AVX-512BW.
 */
#include <immintrin.h>

#include "pq_int.h"

#define TGT __attribute__((target("avx512f,avx512bw")))
#define W   64

TGT static inline __m512i ld(const uint8_t *s)
{
	return _mm512_loadu_si512((const void *)s);
}

TGT static inline void st(uint8_t *d, __m512i v)
{
	_mm512_storeu_si512((void *)d, v);
}

/* g·q ^ d */
TGT static inline __m512i mul2x(__m512i q, __m512i d)
{
	__mmask64 k = _mm512_movepi8_mask(q);
	__m512i r = _mm512_maskz_mov_epi8(k, _mm512_set1_epi8(0x1d));
	return _mm512_ternarylogic_epi32(_mm512_add_epi8(q, q), r, d, 0x96);
}

/* c·x by nibble tables lo/hi (the 16-byte table in every lane). */
TGT static inline __m512i mulc(__m512i x, __m512i lo, __m512i hi)
{
	__m512i f = _mm512_set1_epi8(0x0f);
	__m512i l = _mm512_shuffle_epi8(lo, _mm512_and_si512(x, f));
	__m512i h = _mm512_shuffle_epi8(hi, _mm512_and_si512(_mm512_srli_epi16(x, 4), f));
	return _mm512_xor_si512(l, h);
}

TGT static inline void tables(uint8_t c, __m512i *lo, __m512i *hi)
{
	uint8_t t[32];
	gf_nibble_tables(c, t);
	*lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t));
	*hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(t + 16)));
}

TGT static void avx512_gen(int nd, size_t len, void **data, void *p, void *q)
{
	uint8_t **d = (uint8_t **)data, *pp = p, *qq = q;
	int z0 = nd - 1;
	size_t o = 0;
	for (; o + 4 * W <= len; o += 4 * W) {
		__m512i p0 = ld(d[z0] + o), p1 = ld(d[z0] + o + W);
		__m512i p2 = ld(d[z0] + o + 2 * W), p3 = ld(d[z0] + o + 3 * W);
		__m512i q0 = p0, q1 = p1, q2 = p2, q3 = p3;
		for (int z = z0 - 1; z >= 0; z--) {
			__m512i d0 = ld(d[z] + o), d1 = ld(d[z] + o + W);
			__m512i d2 = ld(d[z] + o + 2 * W), d3 = ld(d[z] + o + 3 * W);
			p0 = _mm512_xor_si512(p0, d0);
			p1 = _mm512_xor_si512(p1, d1);
			p2 = _mm512_xor_si512(p2, d2);
			p3 = _mm512_xor_si512(p3, d3);
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
		__m512i p0 = ld(d[z0] + o), q0 = p0;
		for (int z = z0 - 1; z >= 0; z--) {
			__m512i d0 = ld(d[z] + o);
			p0 = _mm512_xor_si512(p0, d0);
			q0 = mul2x(q0, d0);
		}
		st(pp + o, p0);
		st(qq + o, q0);
	}
}

TGT static void avx512_xor(int nd, size_t len, void **data, void *p)
{
	uint8_t **d = (uint8_t **)data, *pp = p;
	size_t o = 0;
	for (; o + 2 * W <= len; o += 2 * W) {
		__m512i p0 = ld(d[0] + o), p1 = ld(d[0] + o + W);
		for (int z = 1; z < nd; z++) {
			p0 = _mm512_xor_si512(p0, ld(d[z] + o));
			p1 = _mm512_xor_si512(p1, ld(d[z] + o + W));
		}
		st(pp + o, p0);
		st(pp + o + W, p1);
	}
	for (; o < len; o += W) {
		__m512i p0 = ld(d[0] + o);
		for (int z = 1; z < nd; z++)
			p0 = _mm512_xor_si512(p0, ld(d[z] + o));
		st(pp + o, p0);
	}
}

TGT static void avx512_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	const uint8_t *s = delta;
	uint8_t *pp = p, *qq = q;
	__m512i lo, hi;
	tables(gf_exp(slot), &lo, &hi);
	for (size_t o = 0; o < len; o += W) {
		__m512i x = ld(s + o);
		st(pp + o, _mm512_xor_si512(ld(pp + o), x));
		st(qq + o, _mm512_xor_si512(ld(qq + o), mulc(x, lo, hi)));
	}
}

TGT static void avx512_recov_2data(size_t len, uint8_t cp, uint8_t cq, uint8_t *da, uint8_t *db,
				   const uint8_t *p, const uint8_t *q)
{
	__m512i plo, phi, qlo, qhi;
	tables(cp, &plo, &phi);
	tables(cq, &qlo, &qhi);
	for (size_t o = 0; o < len; o += W) {
		__m512i px = _mm512_xor_si512(ld(p + o), ld(da + o));
		__m512i qx = _mm512_xor_si512(ld(q + o), ld(db + o));
		__m512i b = _mm512_xor_si512(mulc(px, plo, phi), mulc(qx, qlo, qhi));
		st(db + o, b);
		st(da + o, _mm512_xor_si512(b, px));
	}
}

TGT static void avx512_recov_datap(size_t len, uint8_t c, uint8_t *da, uint8_t *p, const uint8_t *q)
{
	__m512i lo, hi;
	tables(c, &lo, &hi);
	for (size_t o = 0; o < len; o += W) {
		__m512i x = mulc(_mm512_xor_si512(ld(q + o), ld(da + o)), lo, hi);
		st(da + o, x);
		st(p + o, _mm512_xor_si512(ld(p + o), x));
	}
}

static int avx512_valid(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

const struct pq_ops pq_avx512_ops = {
    .gen = avx512_gen,
    .xor = avx512_xor,
    .update = avx512_update,
    .recov_2data = avx512_recov_2data,
    .recov_datap = avx512_recov_datap,
    .valid = avx512_valid,
    .name = "avx512",
    .priority = 3,
};
