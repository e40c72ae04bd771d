/*
 * pq_gfni512.c: P/Q with GFNI in AVX-512 registers ("gfni512"), 64 bytes
 * per vector, four vectors per step.
 *
 * GF2P8AFFINEQB multiplies every byte by a fixed 8x8 bit matrix, and any
 * multiplication by a constant in GF(2^8) is such a matrix, whatever the
 * polynomial (gf_affine_matrix in pq_int.h). So g·q costs one instruction
 * instead of four, and the constant multiplies of update and recovery are
 * one instruction too. (GF2P8MULB would be simpler but hard-wires the AES
 * polynomial 0x11b; md uses 0x11d.) ISA-L's pq_gen_avx512_gfni.asm uses the
 * same trick; Debian 12's ISA-L 2.30 predates it.
 *
 * The loops are pq_simd.h's; built with a target attribute, called only
 * after valid() checked the CPU.
 */
#include <immintrin.h>

#include "pq_int.h"

#define TGT	 __attribute__((target("avx512f,avx512bw,gfni")))
#define V	 __m512i
#define W	 64
#define PQ_FN(x) gfni512_##x

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

/* a constant multiplier: c's 8x8 bit matrix in every 64-bit lane */
typedef V M;

TGT static inline M mconst(uint8_t c)
{
	return _mm512_set1_epi64((long long)gf_affine_matrix(c));
}

TGT static inline V mulc(V x, M m)
{
	return _mm512_gf2p8affine_epi64_epi8(x, m, 0);
}
#define GEN_SETUP   const M g = mconst(2);
#define MUL2X(q, d) vxor(mulc(q, g), d)

/* the CPU can run it */
#define PQ_VALID()                                                                                 \
	(__builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512f") &&                    \
	 __builtin_cpu_supports("avx512bw"))
#define PQ_NAME	    "gfni512"
#define PQ_PRIORITY 5
#define PQ_OPS	    pq_gfni512_ops
#include "pq_simd.h"
