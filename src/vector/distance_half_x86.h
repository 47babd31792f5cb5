/*-------------------------------------------------------------------------
 *
 * distance_half_x86.h
 *	  Private: the x86-64 F16C kernels that distance_half.c dispatches to
 *
 * Compiled for their own target ISA with function attributes
 * (distance_half_x86.c); the SIMD level (simd/simd.h) decides at run time
 * whether they may be called.  Declared for the dispatcher and the unit
 * tests only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_DISTANCE_HALF_X86_H
#define SEMVEC_DISTANCE_HALF_X86_H

#include "vector/half.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define SEMVEC_HAVE_X86_HALF_KERNELS 1
extern float HalfDistanceL2SquaredF16c(int dim, const half *a, const half *b);
extern float HalfDistanceInnerProductF16c(int dim, const half *a, const half *b);
extern double HalfDistanceCosineSimilarityF16c(int dim, const half *a, const half *b);
extern float HalfDistanceL1F16c(int dim, const half *a, const half *b);
#endif

#endif							/* SEMVEC_DISTANCE_HALF_X86_H */
