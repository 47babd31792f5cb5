/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Portable float kernels and their dispatch by SIMD level
 *
 * The "scalar" kernels are the plain textbook loops, pinned to one element
 * at a time: they are the baseline the benchmark compares against.  The
 * "portable" kernels use the compiler's generic vector types, i.e. the
 * baseline SIMD of any target, with several independent partial sums (float
 * addition is not associative, so the compiler may not do that reordering
 * of a plain loop itself without -ffast-math).  The x86 SIMD paths live in
 * distance_x86.c.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "simd/simd.h"
#include "vector/distance.h"
#include "vector/distance_x86.h"

/* Keep the baseline honest: no auto-vectorisation of the scalar loops */
#if defined(__GNUC__) && !defined(__clang__)
#define SCALAR_ONLY __attribute__((optimize("no-tree-vectorize")))
#else
#define SCALAR_ONLY
#endif

/* ----------------------------------------------------------------
 *		scalar path
 * ----------------------------------------------------------------
 */

/* Squared L2 distance, one element at a time */
SCALAR_ONLY static float
L2SquaredScalar(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* Inner product, one element at a time */
SCALAR_ONLY static float
InnerProductScalar(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

/* Cosine similarity, one element at a time */
SCALAR_ONLY static double
CosineSimilarityScalar(int dim, const float *a, const float *b)
{
	float		dot = 0.0f;
	float		na = 0.0f;
	float		nb = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	/* Use sqrt(a * b) over sqrt(a) * sqrt(b), as pgvector does */
	return (double) dot / sqrt((double) na * (double) nb);
}

/* L1 distance, one element at a time */
SCALAR_ONLY static float
L1Scalar(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

/* ----------------------------------------------------------------
 *		portable (baseline SIMD) path
 *
 * Written with GCC/Clang generic vector types, which compile to the
 * baseline SIMD of every target (SSE2 on x86-64, NEON on aarch64) without
 * any run-time check.  Two 4-lane accumulators per quantity.
 * ----------------------------------------------------------------
 */
#if defined(__GNUC__)

typedef float Float4 __attribute__((vector_size(16)));
typedef int Int4 __attribute__((vector_size(16)));

/* Load four floats from any address */
static inline Float4
Load4(const float *p)
{
	Float4		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Add up the four lanes pairwise */
static inline float
SumLanes(Float4 v)
{
	return (v[0] + v[1]) + (v[2] + v[3]);
}

/* Clear the sign bits: |v| per lane */
static inline Float4
Abs4(Float4 v)
{
	return (Float4) ((Int4) v & 0x7fffffff);
}

/* Squared L2 distance, portable SIMD */
static float
L2SquaredPortable(int dim, const float *a, const float *b)
{
	Float4		s0 = {0, 0, 0, 0};
	Float4		s1 = {0, 0, 0, 0};
	float		sum;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		Float4		d0 = Load4(a + i) - Load4(b + i);
		Float4		d1 = Load4(a + i + 4) - Load4(b + i + 4);

		s0 += d0 * d0;
		s1 += d1 * d1;
	}
	sum = SumLanes(s0 + s1);
	for (; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* Inner product, portable SIMD */
static float
InnerProductPortable(int dim, const float *a, const float *b)
{
	Float4		s0 = {0, 0, 0, 0};
	Float4		s1 = {0, 0, 0, 0};
	float		sum;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		s0 += Load4(a + i) * Load4(b + i);
		s1 += Load4(a + i + 4) * Load4(b + i + 4);
	}
	sum = SumLanes(s0 + s1);
	for (; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

/* Cosine similarity, portable SIMD */
static double
CosineSimilarityPortable(int dim, const float *a, const float *b)
{
	Float4		dot0 = {0, 0, 0, 0};
	Float4		dot1 = {0, 0, 0, 0};
	Float4		na0 = {0, 0, 0, 0};
	Float4		na1 = {0, 0, 0, 0};
	Float4		nb0 = {0, 0, 0, 0};
	Float4		nb1 = {0, 0, 0, 0};
	float		dot;
	float		na;
	float		nb;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		Float4		va0 = Load4(a + i);
		Float4		vb0 = Load4(b + i);
		Float4		va1 = Load4(a + i + 4);
		Float4		vb1 = Load4(b + i + 4);

		dot0 += va0 * vb0;
		na0 += va0 * va0;
		nb0 += vb0 * vb0;
		dot1 += va1 * vb1;
		na1 += va1 * va1;
		nb1 += vb1 * vb1;
	}
	dot = SumLanes(dot0 + dot1);
	na = SumLanes(na0 + na1);
	nb = SumLanes(nb0 + nb1);
	for (; i < dim; i++)
	{
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	/* Use sqrt(a * b) over sqrt(a) * sqrt(b), as pgvector does */
	return (double) dot / sqrt((double) na * (double) nb);
}

/* L1 distance, portable SIMD */
static float
L1Portable(int dim, const float *a, const float *b)
{
	Float4		s0 = {0, 0, 0, 0};
	Float4		s1 = {0, 0, 0, 0};
	float		sum;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		s0 += Abs4(Load4(a + i) - Load4(b + i));
		s1 += Abs4(Load4(a + i + 4) - Load4(b + i + 4));
	}
	sum = SumLanes(s0 + s1);
	for (; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

#else							/* !__GNUC__: no vector types, reuse scalar */

#define L2SquaredPortable L2SquaredScalar
#define InnerProductPortable InnerProductScalar
#define CosineSimilarityPortable CosineSimilarityScalar
#define L1Portable L1Scalar

#endif

/* ----------------------------------------------------------------
 *		dispatch by SIMD level
 * ----------------------------------------------------------------
 */

typedef struct DistanceKernels
{
	float		(*l2sq) (int dim, const float *a, const float *b);
	float		(*ip) (int dim, const float *a, const float *b);
	double		(*cosine) (int dim, const float *a, const float *b);
	float		(*l1) (int dim, const float *a, const float *b);
} DistanceKernels;

/* The kernels of each level (simd/simd.h); x86 ones only on x86-64 */
static const DistanceKernels Kernels[SIMD_NUM_LEVELS] = {
	[SIMD_SCALAR] = {L2SquaredScalar, InnerProductScalar, CosineSimilarityScalar,
	L1Scalar},
	[SIMD_PORTABLE] = {L2SquaredPortable, InnerProductPortable, CosineSimilarityPortable,
	L1Portable},
#ifdef SEMVEC_HAVE_X86_KERNELS
	[SIMD_AVX2] = {DistanceL2SquaredAvx2, DistanceInnerProductAvx2,
	DistanceCosineSimilarityAvx2, DistanceL1Avx2},
	[SIMD_AVX512] = {DistanceL2SquaredAvx512, DistanceInnerProductAvx512,
	DistanceCosineSimilarityAvx512, DistanceL1Avx512},
#endif
};

double
DistanceCosineFromSimilarity(double similarity)
{
	if (isnan(similarity))
		return NAN;
	if (similarity > 1)
		similarity = 1.0;
	else if (similarity < -1)
		similarity = -1.0;
	return 1.0 - similarity;
}

float		(*DistanceL2Squared) (int dim, const float *a, const float *b) = L2SquaredPortable;
float		(*DistanceInnerProduct) (int dim, const float *a, const float *b) = InnerProductPortable;
double		(*DistanceCosineSimilarity) (int dim, const float *a, const float *b) = CosineSimilarityPortable;
float		(*DistanceL1) (int dim, const float *a, const float *b) = L1Portable;

/* Point every dispatch pointer at the best kernels of the level */
static void
DistanceUseLevel(SimdLevel level)
{
	int			l = level;

	/* a level without kernels here runs the next lower one's */
	while (l > SIMD_SCALAR && Kernels[l].l2sq == NULL)
		l--;
	DistanceL2Squared = Kernels[l].l2sq;
	DistanceInnerProduct = Kernels[l].ip;
	DistanceCosineSimilarity = Kernels[l].cosine;
	DistanceL1 = Kernels[l].l1;
}

/* Follow the SIMD level from now on */
void
DistanceInit(void)
{
	(void) SimdAddListener(DistanceUseLevel);
}
