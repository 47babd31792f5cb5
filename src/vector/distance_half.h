/*-------------------------------------------------------------------------
 *
 * distance_half.h
 *	  Distance kernels over half (IEEE binary16) elements, for halfvec and
 *	  for index code that stores halfvec elements
 *
 * Pure C like vector/distance.h, and dispatched the same way: the pointers
 * below follow the SIMD level in force (simd/simd.h, setting semvec.simd).
 *
 *	 scalar, portable  the halves are widened to float4 in short blocks
 *					   (portable C) and the float kernels of distance.h of
 *					   the same level do the arithmetic
 *	 avx2, avx512	   F16C widens 8 halves per instruction, FMA
 *					   accumulates in four 8-lane registers (AVX2 + FMA +
 *					   F16C, which the avx2 level guarantees)
 *
 * Every kernel sums in float4, so a halfvec and the vector holding the
 * same values give the same distance up to the order of the additions
 * (exactly, for small integers).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_DISTANCE_HALF_H
#define SEMVEC_DISTANCE_HALF_H

#include "vector/half.h"

/* Squared Euclidean distance */
extern float (*HalfDistanceL2Squared) (int dim, const half *a, const half *b);

/* Inner product */
extern float (*HalfDistanceInnerProduct) (int dim, const half *a, const half *b);

/* Cosine similarity: dot / sqrt(|a|^2 |b|^2); NaN when either norm is zero */
extern double (*HalfDistanceCosineSimilarity) (int dim, const half *a, const half *b);

/* Manhattan distance */
extern float (*HalfDistanceL1) (int dim, const half *a, const half *b);

/* Follow the SIMD level (registers with simd.h); call once at load */
extern void HalfDistanceInit(void);

/* Widen n halves to float4 (portable) */
extern void HalfToFloat4Array(const half *src, float *dst, int n);

#endif							/* SEMVEC_DISTANCE_HALF_H */
