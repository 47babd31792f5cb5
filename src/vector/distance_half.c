/*-------------------------------------------------------------------------
 *
 * distance_half.c
 *	  Distance kernels over half elements (see distance_half.h)
 *
 * Each kernel widens HALF_BLOCK elements of both inputs into float arrays
 * on the stack (in L1 cache) and hands them to the float kernel, adding up
 * the per-block results.  The widening is portable C; the float arithmetic
 * uses whatever SIMD path distance.c selected.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "vector/distance.h"
#include "vector/distance_half.h"

#define HALF_BLOCK 256

void
HalfToFloat4Array(const half *src, float *dst, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = HalfToFloat4(src[i]);
}

float
HalfDistanceL2Squared(int dim, const half *a, const half *b)
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

float
HalfDistanceInnerProduct(int dim, const half *a, const half *b)
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

double
HalfDistanceCosineSimilarity(int dim, const half *a, const half *b)
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

float
HalfDistanceL1(int dim, const half *a, const half *b)
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
