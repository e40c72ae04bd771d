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

#define TGT	 __attribute__((target("avx2")))
#define V	 __m256i
#define W	 32
#define PQ_FN(x) avx2_##x

TGT static inline V ld(const uint8_t *s)
{
	return _mm256_loadu_si256((const __m256i *)s);
}

TGT static inline void st(uint8_t *d, V v)
{
	_mm256_storeu_si256((__m256i *)d, v);
}

TGT static inline V vxor(V a, V b)
{
	return _mm256_xor_si256(a, b);
}

/* g·q ^ d */
TGT static inline V mul2x(V q, V d)
{
	V m = _mm256_cmpgt_epi8(_mm256_setzero_si256(), q);
	q = _mm256_add_epi8(q, q);
	return vxor(vxor(q, _mm256_and_si256(m, _mm256_set1_epi8(0x1d))), d);
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
	m.lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
	m.hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
	return m;
}

/* c·x: the low nibble's table entry xor the high nibble's */
TGT static inline V mulc(V x, M m)
{
	V f = _mm256_set1_epi8(0x0f);
	V l = _mm256_shuffle_epi8(m.lo, _mm256_and_si256(x, f));
	V h = _mm256_shuffle_epi8(m.hi, _mm256_and_si256(_mm256_srli_epi16(x, 4), f));
	return vxor(l, h);
}

/* the CPU can run it */
#define PQ_VALID()  (__builtin_cpu_supports("avx2"))
#define PQ_NAME	    "avx2"
#define PQ_PRIORITY 2
#define PQ_OPS	    pq_avx2_ops
#include "pq_simd.h"
