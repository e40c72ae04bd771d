/*
 * pq_gfni256.c: P/Q with GFNI in AVX2 registers ("gfni256", VEX-encoded
 * GFNI), for CPUs with GFNI but without AVX-512 such as recent Atom-class
 * cores. pq_gfni512.c explains the arithmetic.
 */
#include <immintrin.h>

#include "pq_int.h"

#define TGT	 __attribute__((target("avx2,gfni")))
#define V	 __m256i
#define W	 32
#define PQ_FN(x) gfni256_##x

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

/* a constant multiplier: c's 8x8 bit matrix in every 64-bit lane */
typedef V M;

TGT static inline M mconst(uint8_t c)
{
	return _mm256_set1_epi64x((long long)gf_affine_matrix(c));
}

TGT static inline V mulc(V x, M m)
{
	return _mm256_gf2p8affine_epi64_epi8(x, m, 0);
}
#define GEN_SETUP   const M g = mconst(2);
#define MUL2X(q, d) vxor(mulc(q, g), d)

/* the CPU can run it */
#define PQ_VALID()  (__builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx2"))
#define PQ_NAME	    "gfni256"
#define PQ_PRIORITY 4
#define PQ_OPS	    pq_gfni256_ops
#include "pq_simd.h"
