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

#define TGT	 __attribute__((target("avx512f,avx512bw")))
#define V	 __m512i
#define W	 64
#define PQ_FN(x) avx512_##x

TGT static inline V ld(const uint8_t *s)
{
	return _mm512_loadu_si512((const void *)s);
}

TGT static inline void st(uint8_t *d, V v)
{
	_mm512_storeu_si512((void *)d, v);
}

TGT static inline V vxor(V a, V b)
{
	return _mm512_xor_si512(a, b);
}

/* g·q ^ d */
TGT static inline V mul2x(V q, V d)
{
	__mmask64 k = _mm512_movepi8_mask(q);
	V r = _mm512_maskz_mov_epi8(k, _mm512_set1_epi8(0x1d));
	return _mm512_ternarylogic_epi32(_mm512_add_epi8(q, q), r, d, 0x96);
}
#define GEN_SETUP
#define MUL2X(q, d) mul2x(q, d)

/* a constant multiplier: split-nibble tables, the 16-byte table in every lane */
typedef struct {
	V lo, hi;
} M;

TGT static inline M mconst(uint8_t c)
{
	uint8_t t[32];
	M m;
	gf_nibble_tables(c, t);
	m.lo = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t));
	m.hi = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(t + 16)));
	return m;
}

/* c·x: the low nibble's table entry xor the high nibble's */
TGT static inline V mulc(V x, M m)
{
	V f = _mm512_set1_epi8(0x0f);
	V l = _mm512_shuffle_epi8(m.lo, _mm512_and_si512(x, f));
	V h = _mm512_shuffle_epi8(m.hi, _mm512_and_si512(_mm512_srli_epi16(x, 4), f));
	return vxor(l, h);
}

/* the CPU can run it */
#define PQ_VALID()  (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
#define PQ_NAME	    "avx512"
#define PQ_PRIORITY 3
#define PQ_OPS	    pq_avx512_ops
#include "pq_simd.h"
