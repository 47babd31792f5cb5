/*-------------------------------------------------------------------------
 *
 * distance_x86.c
 *	  AVX2+FMA and AVX-512F distance kernels (x86-64 only)
 *
 * Every function carries a target attribute instead of the file being
 * built with -mavx2/-mavx512f: the compiler may then use those ISAs only
 * inside these functions, which distance.c calls only at a SIMD level
 * (simd/simd.h) that the CPU supports.  On other architectures this file
 * compiles to nothing.
 *
 * Shape of every kernel: four independent vector accumulators over blocks
 * of 4 registers (hides the FMA latency), then single registers, then one
 * masked load for the last dim % width elements (masked-out lanes read as
 * zero and add nothing), then one horizontal sum.
 *
 *-------------------------------------------------------------------------
 */
#include "vector/distance_x86.h"

#ifdef SEMVEC_HAVE_X86_KERNELS

#include <math.h>
#include <stdint.h>
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2,fma")))
#define AVX512_TARGET __attribute__((target("avx512f")))

/* Eight -1s then eight 0s: a window of it is the AVX2 tail mask */
static const int32_t TailMaskTable[16] = {
	-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
};

/* ----------------------------------------------------------------
 *		AVX2 + FMA
 * ----------------------------------------------------------------
 */

/* Mask selecting the first n (1..7) lanes */
AVX2_TARGET static inline __m256i
TailMask256(int n)
{
	return _mm256_loadu_si256((const __m256i *) (TailMaskTable + 8 - n));
}

/* Sum the eight lanes of a register */
AVX2_TARGET static inline float
HorizontalSum256(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);

	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
	return _mm_cvtss_f32(lo);
}

/* Squared L2 distance, AVX2 */
AVX2_TARGET float
DistanceL2SquaredAvx2(int dim, const float *a, const float *b)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		d;
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= dim; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < dim)
	{
		__m256i		m = TailMask256(dim - i);

		d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	return HorizontalSum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* Inner product, AVX2 */
AVX2_TARGET float
DistanceInnerProductAvx2(int dim, const float *a, const float *b)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	if (i < dim)
	{
		__m256i		m = TailMask256(dim - i);

		s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
	}
	return HorizontalSum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* Cosine similarity, AVX2: dot and both squared norms in one pass */
AVX2_TARGET double
DistanceCosineSimilarityAvx2(int dim, const float *a, const float *b)
{
	__m256		dot0 = _mm256_setzero_ps();
	__m256		dot1 = _mm256_setzero_ps();
	__m256		na0 = _mm256_setzero_ps();
	__m256		na1 = _mm256_setzero_ps();
	__m256		nb0 = _mm256_setzero_ps();
	__m256		nb1 = _mm256_setzero_ps();
	__m256		va;
	__m256		vb;
	int			i = 0;
	float		dot;
	float		na;
	float		nb;

	for (; i + 16 <= dim; i += 16)
	{
		__m256		va1 = _mm256_loadu_ps(a + i + 8);
		__m256		vb1 = _mm256_loadu_ps(b + i + 8);

		va = _mm256_loadu_ps(a + i);
		vb = _mm256_loadu_ps(b + i);
		dot0 = _mm256_fmadd_ps(va, vb, dot0);
		na0 = _mm256_fmadd_ps(va, va, na0);
		nb0 = _mm256_fmadd_ps(vb, vb, nb0);
		dot1 = _mm256_fmadd_ps(va1, vb1, dot1);
		na1 = _mm256_fmadd_ps(va1, va1, na1);
		nb1 = _mm256_fmadd_ps(vb1, vb1, nb1);
	}
	if (i + 8 <= dim)
	{
		va = _mm256_loadu_ps(a + i);
		vb = _mm256_loadu_ps(b + i);
		dot0 = _mm256_fmadd_ps(va, vb, dot0);
		na0 = _mm256_fmadd_ps(va, va, na0);
		nb0 = _mm256_fmadd_ps(vb, vb, nb0);
		i += 8;
	}
	if (i < dim)
	{
		__m256i		m = TailMask256(dim - i);

		va = _mm256_maskload_ps(a + i, m);
		vb = _mm256_maskload_ps(b + i, m);
		dot1 = _mm256_fmadd_ps(va, vb, dot1);
		na1 = _mm256_fmadd_ps(va, va, na1);
		nb1 = _mm256_fmadd_ps(vb, vb, nb1);
	}
	dot = HorizontalSum256(_mm256_add_ps(dot0, dot1));
	na = HorizontalSum256(_mm256_add_ps(na0, na1));
	nb = HorizontalSum256(_mm256_add_ps(nb0, nb1));

	/* Use sqrt(a * b) over sqrt(a) * sqrt(b), as pgvector does */
	return (double) dot / sqrt((double) na * (double) nb);
}

/* L1 distance, AVX2: |x| is x with the sign bit cleared */
AVX2_TARGET float
DistanceL1Avx2(int dim, const float *a, const float *b)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		d;
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256		d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		__m256		d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		__m256		d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));

		s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d0));
		s1 = _mm256_add_ps(s1, _mm256_andnot_ps(sign, d1));
		s2 = _mm256_add_ps(s2, _mm256_andnot_ps(sign, d2));
		s3 = _mm256_add_ps(s3, _mm256_andnot_ps(sign, d3));
	}
	for (; i + 8 <= dim; i += 8)
	{
		d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d));
	}
	if (i < dim)
	{
		__m256i		m = TailMask256(dim - i);

		d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
		s1 = _mm256_add_ps(s1, _mm256_andnot_ps(sign, d));
	}
	return HorizontalSum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* ----------------------------------------------------------------
 *		AVX-512F
 * ----------------------------------------------------------------
 */

/* Mask selecting the first n (1..15) lanes */
AVX512_TARGET static inline __mmask16
TailMask512(int n)
{
	return (__mmask16) ((1u << n) - 1u);
}

/* Squared L2 distance, AVX-512 */
AVX512_TARGET float
DistanceL2SquaredAvx512(int dim, const float *a, const float *b)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	__m512		d;
	int			i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
		s2 = _mm512_fmadd_ps(d2, d2, s2);
		s3 = _mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= dim; i += 16)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < dim)
	{
		__mmask16	m = TailMask512(dim - i);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
		s1 = _mm512_fmadd_ps(d, d, s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* Inner product, AVX-512 */
AVX512_TARGET float
DistanceInnerProductAvx512(int dim, const float *a, const float *b)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	int			i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
		s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
		s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= dim; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < dim)
	{
		__mmask16	m = TailMask512(dim - i);

		s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

/* Cosine similarity, AVX-512: dot and both squared norms in one pass */
AVX512_TARGET double
DistanceCosineSimilarityAvx512(int dim, const float *a, const float *b)
{
	__m512		dot0 = _mm512_setzero_ps();
	__m512		dot1 = _mm512_setzero_ps();
	__m512		na0 = _mm512_setzero_ps();
	__m512		na1 = _mm512_setzero_ps();
	__m512		nb0 = _mm512_setzero_ps();
	__m512		nb1 = _mm512_setzero_ps();
	__m512		va;
	__m512		vb;
	int			i = 0;
	float		dot;
	float		na;
	float		nb;

	for (; i + 32 <= dim; i += 32)
	{
		__m512		va1 = _mm512_loadu_ps(a + i + 16);
		__m512		vb1 = _mm512_loadu_ps(b + i + 16);

		va = _mm512_loadu_ps(a + i);
		vb = _mm512_loadu_ps(b + i);
		dot0 = _mm512_fmadd_ps(va, vb, dot0);
		na0 = _mm512_fmadd_ps(va, va, na0);
		nb0 = _mm512_fmadd_ps(vb, vb, nb0);
		dot1 = _mm512_fmadd_ps(va1, vb1, dot1);
		na1 = _mm512_fmadd_ps(va1, va1, na1);
		nb1 = _mm512_fmadd_ps(vb1, vb1, nb1);
	}
	if (i + 16 <= dim)
	{
		va = _mm512_loadu_ps(a + i);
		vb = _mm512_loadu_ps(b + i);
		dot0 = _mm512_fmadd_ps(va, vb, dot0);
		na0 = _mm512_fmadd_ps(va, va, na0);
		nb0 = _mm512_fmadd_ps(vb, vb, nb0);
		i += 16;
	}
	if (i < dim)
	{
		__mmask16	m = TailMask512(dim - i);

		va = _mm512_maskz_loadu_ps(m, a + i);
		vb = _mm512_maskz_loadu_ps(m, b + i);
		dot1 = _mm512_fmadd_ps(va, vb, dot1);
		na1 = _mm512_fmadd_ps(va, va, na1);
		nb1 = _mm512_fmadd_ps(vb, vb, nb1);
	}
	dot = _mm512_reduce_add_ps(_mm512_add_ps(dot0, dot1));
	na = _mm512_reduce_add_ps(_mm512_add_ps(na0, na1));
	nb = _mm512_reduce_add_ps(_mm512_add_ps(nb0, nb1));

	/* Use sqrt(a * b) over sqrt(a) * sqrt(b), as pgvector does */
	return (double) dot / sqrt((double) na * (double) nb);
}

/* L1 distance, AVX-512 */
AVX512_TARGET float
DistanceL1Avx512(int dim, const float *a, const float *b)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		s2 = _mm512_setzero_ps();
	__m512		s3 = _mm512_setzero_ps();
	__m512		d;
	int			i = 0;

	for (; i + 64 <= dim; i += 64)
	{
		__m512		d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512		d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		__m512		d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		__m512		d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));

		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d0));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d1));
		s2 = _mm512_add_ps(s2, _mm512_abs_ps(d2));
		s3 = _mm512_add_ps(s3, _mm512_abs_ps(d3));
	}
	for (; i + 16 <= dim; i += 16)
	{
		d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s0 = _mm512_add_ps(s0, _mm512_abs_ps(d));
	}
	if (i < dim)
	{
		__mmask16	m = TailMask512(dim - i);

		d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
		s1 = _mm512_add_ps(s1, _mm512_abs_ps(d));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

#endif							/* SEMVEC_HAVE_X86_KERNELS */
