/*
 * pq_ssse3.c: P/Q with SSE2/SSSE3, 16 bytes per vector, four vectors per
 * step (the kernel's lib/raid6/sse2.c "sse2x4"; SSSE3 adds pshufb for the
 * split-nibble constant multiplies of update and recovery). The loops are
 * pq_simd.h's; pq_avx2.c explains the arithmetic.
 */
#include <immintrin.h>

#include "pq_int.h"

#define TGT	 __attribute__((target("ssse3")))
#define V	 __m128i
#define W	 16
#define PQ_FN(x) ssse3_##x

TGT static inline V ld(const uint8_t *s)
{
	return _mm_loadu_si128((const __m128i *)s);
}

TGT static inline void st(uint8_t *d, V v)
{
	_mm_storeu_si128((__m128i *)d, v);
}

TGT static inline V vxor(V a, V b)
{
	return _mm_xor_si128(a, b);
}

/* g·q ^ d */
TGT static inline V mul2x(V q, V d)
{
	V m = _mm_cmpgt_epi8(_mm_setzero_si128(), q);
	q = _mm_add_epi8(q, q);
	return vxor(vxor(q, _mm_and_si128(m, _mm_set1_epi8(0x1d))), d);
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
	m.lo = _mm_loadu_si128((const __m128i *)t);
	m.hi = _mm_loadu_si128((const __m128i *)(t + 16));
	return m;
}

/* c·x: the low nibble's table entry xor the high nibble's */
TGT static inline V mulc(V x, M m)
{
	V f = _mm_set1_epi8(0x0f);
	V l = _mm_shuffle_epi8(m.lo, _mm_and_si128(x, f));
	V h = _mm_shuffle_epi8(m.hi, _mm_and_si128(_mm_srli_epi16(x, 4), f));
	return vxor(l, h);
}

/* the CPU can run it */
#define PQ_VALID()  (__builtin_cpu_supports("ssse3"))
#define PQ_NAME	    "ssse3"
#define PQ_PRIORITY 1
#define PQ_OPS	    pq_ssse3_ops
#include "pq_simd.h"
