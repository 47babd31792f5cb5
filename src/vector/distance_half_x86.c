/*-------------------------------------------------------------------------
 *
 * distance_half_x86.c
 *	  F16C + AVX2 + FMA distance kernels over half elements (x86-64 only)
 *
 * Like distance_x86.c, each function carries a target attribute, and
 * distance_half.c calls them only at the avx2 level or above, which
 * simd.c grants only to CPUs with AVX2, FMA and F16C.  VCVTPH2PS widens 8
 * halves exactly; the arithmetic is then vector's AVX2 kernels': four
 * 8-lane accumulators over blocks of 32 elements, single registers, and
 * the last dim % 8 elements through a zero-padded copy (padding lanes are
 * 0 in both inputs and add nothing), then one horizontal sum.
 *
 *-------------------------------------------------------------------------
 */
#include "vector/distance_half_x86.h"

#ifdef SEMVEC_HAVE_X86_HALF_KERNELS

#include <math.h>
#include <string.h>
#include <immintrin.h>

#define F16C_TARGET __attribute__((target("avx2,fma,f16c")))

/* Widen 8 halves from any address */
F16C_TARGET static inline __m256
Load8(const half *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p));
}

/* Widen the last n (1..7) halves, the other lanes 0 */
F16C_TARGET static inline __m256
LoadTail(const half *p, int n)
{
	half		buf[8] = {0};

	memcpy(buf, p, sizeof(half) * n);
	return Load8(buf);
}

/* Sum the eight lanes of a register */
F16C_TARGET static inline float
SumLanes(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);

	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
	return _mm_cvtss_f32(lo);
}

/* |v| per lane */
F16C_TARGET static inline __m256
Abs8(__m256 v)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

F16C_TARGET float
HalfDistanceL2SquaredF16c(int dim, const half *a, const half *b)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		__m256		d0 = _mm256_sub_ps(Load8(a + i), Load8(b + i));
		__m256		d1 = _mm256_sub_ps(Load8(a + i + 8), Load8(b + i + 8));
		__m256		d2 = _mm256_sub_ps(Load8(a + i + 16), Load8(b + i + 16));
		__m256		d3 = _mm256_sub_ps(Load8(a + i + 24), Load8(b + i + 24));

		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
		s2 = _mm256_fmadd_ps(d2, d2, s2);
		s3 = _mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= dim; i += 8)
	{
		__m256		d = _mm256_sub_ps(Load8(a + i), Load8(b + i));

		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < dim)
	{
		__m256		d = _mm256_sub_ps(LoadTail(a + i, dim - i), LoadTail(b + i, dim - i));

		s1 = _mm256_fmadd_ps(d, d, s1);
	}
	return SumLanes(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

F16C_TARGET float
HalfDistanceInnerProductF16c(int dim, const half *a, const half *b)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_fmadd_ps(Load8(a + i), Load8(b + i), s0);
		s1 = _mm256_fmadd_ps(Load8(a + i + 8), Load8(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(Load8(a + i + 16), Load8(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(Load8(a + i + 24), Load8(b + i + 24), s3);
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_fmadd_ps(Load8(a + i), Load8(b + i), s0);
	if (i < dim)
		s1 = _mm256_fmadd_ps(LoadTail(a + i, dim - i), LoadTail(b + i, dim - i), s1);
	return SumLanes(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

F16C_TARGET double
HalfDistanceCosineSimilarityF16c(int dim, const half *a, const half *b)
{
	__m256		dot0 = _mm256_setzero_ps();
	__m256		dot1 = _mm256_setzero_ps();
	__m256		na0 = _mm256_setzero_ps();
	__m256		na1 = _mm256_setzero_ps();
	__m256		nb0 = _mm256_setzero_ps();
	__m256		nb1 = _mm256_setzero_ps();
	float		dot;
	float		na;
	float		nb;
	int			i = 0;

	for (; i + 16 <= dim; i += 16)
	{
		__m256		x0 = Load8(a + i);
		__m256		y0 = Load8(b + i);
		__m256		x1 = Load8(a + i + 8);
		__m256		y1 = Load8(b + i + 8);

		dot0 = _mm256_fmadd_ps(x0, y0, dot0);
		na0 = _mm256_fmadd_ps(x0, x0, na0);
		nb0 = _mm256_fmadd_ps(y0, y0, nb0);
		dot1 = _mm256_fmadd_ps(x1, y1, dot1);
		na1 = _mm256_fmadd_ps(x1, x1, na1);
		nb1 = _mm256_fmadd_ps(y1, y1, nb1);
	}
	for (; i < dim; i += 8)
	{
		__m256		x = dim - i >= 8 ? Load8(a + i) : LoadTail(a + i, dim - i);
		__m256		y = dim - i >= 8 ? Load8(b + i) : LoadTail(b + i, dim - i);

		dot0 = _mm256_fmadd_ps(x, y, dot0);
		na0 = _mm256_fmadd_ps(x, x, na0);
		nb0 = _mm256_fmadd_ps(y, y, nb0);
	}
	dot = SumLanes(_mm256_add_ps(dot0, dot1));
	na = SumLanes(_mm256_add_ps(na0, na1));
	nb = SumLanes(_mm256_add_ps(nb0, nb1));
	/* sqrt(a * b) rather than sqrt(a) * sqrt(b), as for vector */
	return (double) dot / sqrt((double) na * (double) nb);
}

F16C_TARGET float
HalfDistanceL1F16c(int dim, const half *a, const half *b)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
	{
		s0 = _mm256_add_ps(s0, Abs8(_mm256_sub_ps(Load8(a + i), Load8(b + i))));
		s1 = _mm256_add_ps(s1, Abs8(_mm256_sub_ps(Load8(a + i + 8), Load8(b + i + 8))));
		s2 = _mm256_add_ps(s2, Abs8(_mm256_sub_ps(Load8(a + i + 16), Load8(b + i + 16))));
		s3 = _mm256_add_ps(s3, Abs8(_mm256_sub_ps(Load8(a + i + 24), Load8(b + i + 24))));
	}
	for (; i + 8 <= dim; i += 8)
		s0 = _mm256_add_ps(s0, Abs8(_mm256_sub_ps(Load8(a + i), Load8(b + i))));
	if (i < dim)
		s1 = _mm256_add_ps(s1, Abs8(_mm256_sub_ps(LoadTail(a + i, dim - i),
												  LoadTail(b + i, dim - i))));
	return SumLanes(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

#endif							/* SEMVEC_HAVE_X86_HALF_KERNELS */
