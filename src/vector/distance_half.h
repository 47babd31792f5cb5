/*-------------------------------------------------------------------------
 *
 * distance_half.h
 *	  Distance kernels over half (IEEE binary16) elements, for halfvec and
 *	  for index code that stores halfvec elements
 *
 * Pure C like vector/distance.h: the elements are widened to float4 in
 * short blocks and the float kernels of distance.h (run-time dispatched
 * SIMD) do the arithmetic, so the results are float sums exactly as for a
 * vector holding the same values, up to the summation order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_DISTANCE_HALF_H
#define SEMVEC_DISTANCE_HALF_H

#include "vector/half.h"

/* Widen n halves to float4 */
extern void HalfToFloat4Array(const half *src, float *dst, int n);

/* Squared Euclidean distance */
extern float HalfDistanceL2Squared(int dim, const half *a, const half *b);

/* Inner product */
extern float HalfDistanceInnerProduct(int dim, const half *a, const half *b);

/* Cosine similarity: dot / sqrt(|a|^2 |b|^2); NaN when either norm is zero */
extern double HalfDistanceCosineSimilarity(int dim, const half *a, const half *b);

/* Manhattan distance */
extern float HalfDistanceL1(int dim, const half *a, const half *b);

#endif							/* SEMVEC_DISTANCE_HALF_H */
