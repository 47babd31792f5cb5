/*-------------------------------------------------------------------------
 *
 * distance_half.c
 *	  Portable distance kernels over half elements, and their dispatch
 *	  (see distance_half.h)
 *
 * The portable kernels widen HALF_BLOCK elements of both inputs into float
 * arrays on the stack (in L1 cache) and hand them to the float kernel of
 * distance.h, adding up the per-block results; the dispatch pointers
 * switch to the F16C kernels (distance_half_x86.c) from the avx2 level up.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>

#include "simd/simd.h"
#include "vector/distance.h"
#include "vector/distance_half.h"
#include "vector/distance_half_x86.h"

#define HALF_BLOCK 256

void
HalfToFloat4Array(const half *src, float *dst, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = HalfToFloat4(src[i]);
}

static float
L2SquaredBlocks(int dim, const half *a, const half *b)
{
	float		fa[HALF_BLOCK];
	float		fb[HALF_BLOCK];
	float		sum = 0.0f;

	for (int i = 0; i < dim; i += HALF_BLOCK)
	{
		int			n = dim - i < HALF_BLOCK ? dim - i : HALF_BLOCK;

		HalfToFloat4Array(a + i, fa, n);
		HalfToFloat4Array(b + i, fb, n);
		sum += DistanceL2Squared(n, fa, fb);
	}
	return sum;
}

static float
InnerProductBlocks(int dim, const half *a, const half *b)
{
	float		fa[HALF_BLOCK];
	float		fb[HALF_BLOCK];
	float		sum = 0.0f;

	for (int i = 0; i < dim; i += HALF_BLOCK)
	{
		int			n = dim - i < HALF_BLOCK ? dim - i : HALF_BLOCK;

		HalfToFloat4Array(a + i, fa, n);
		HalfToFloat4Array(b + i, fb, n);
		sum += DistanceInnerProduct(n, fa, fb);
	}
	return sum;
}

static double
CosineSimilarityBlocks(int dim, const half *a, const half *b)
{
	float		fa[HALF_BLOCK];
	float		fb[HALF_BLOCK];
	float		dot = 0.0f;
	float		na = 0.0f;
	float		nb = 0.0f;

	for (int i = 0; i < dim; i += HALF_BLOCK)
	{
		int			n = dim - i < HALF_BLOCK ? dim - i : HALF_BLOCK;

		HalfToFloat4Array(a + i, fa, n);
		HalfToFloat4Array(b + i, fb, n);
		dot += DistanceInnerProduct(n, fa, fb);
		na += DistanceInnerProduct(n, fa, fa);
		nb += DistanceInnerProduct(n, fb, fb);
	}
	/* sqrt(a * b) rather than sqrt(a) * sqrt(b), as for vector */
	return (double) dot / sqrt((double) na * (double) nb);
}

static float
L1Blocks(int dim, const half *a, const half *b)
{
	float		fa[HALF_BLOCK];
	float		fb[HALF_BLOCK];
	float		sum = 0.0f;

	for (int i = 0; i < dim; i += HALF_BLOCK)
	{
		int			n = dim - i < HALF_BLOCK ? dim - i : HALF_BLOCK;

		HalfToFloat4Array(a + i, fa, n);
		HalfToFloat4Array(b + i, fb, n);
		sum += DistanceL1(n, fa, fb);
	}
	return sum;
}

float		(*HalfDistanceL2Squared) (int dim, const half *a, const half *b) = L2SquaredBlocks;
float		(*HalfDistanceInnerProduct) (int dim, const half *a, const half *b) = InnerProductBlocks;
double		(*HalfDistanceCosineSimilarity) (int dim, const half *a, const half *b) = CosineSimilarityBlocks;
float		(*HalfDistanceL1) (int dim, const half *a, const half *b) = L1Blocks;

/* Point the dispatch pointers at the kernels of the level */
static void
HalfDistanceUseLevel(SimdLevel level)
{
#ifdef SEMVEC_HAVE_X86_HALF_KERNELS
	if (level >= SIMD_AVX2)
	{
		HalfDistanceL2Squared = HalfDistanceL2SquaredF16c;
		HalfDistanceInnerProduct = HalfDistanceInnerProductF16c;
		HalfDistanceCosineSimilarity = HalfDistanceCosineSimilarityF16c;
		HalfDistanceL1 = HalfDistanceL1F16c;
		return;
	}
#endif
	/* the block kernels call distance.h's pointers, which follow the level */
	HalfDistanceL2Squared = L2SquaredBlocks;
	HalfDistanceInnerProduct = InnerProductBlocks;
	HalfDistanceCosineSimilarity = CosineSimilarityBlocks;
	HalfDistanceL1 = L1Blocks;
}

void
HalfDistanceInit(void)
{
	(void) SimdAddListener(HalfDistanceUseLevel);
}
