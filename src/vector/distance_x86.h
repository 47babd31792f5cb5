/*-------------------------------------------------------------------------
 *
 * distance_x86.h
 *	  Private: the x86-64 SIMD kernels that distance.c dispatches to
 *
 * Each function is compiled for its own target ISA with a function
 * attribute (distance_x86.c), so the rest of the library stays baseline
 * x86-64 and the SIMD level (simd/simd.h) decides at run time whether they
 * may be called.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_DISTANCE_X86_H
#define SEMVEC_DISTANCE_X86_H

#if defined(__x86_64__) && defined(__GNUC__)
#define SEMVEC_HAVE_X86_KERNELS 1

extern float DistanceL2SquaredAvx2(int dim, const float *a, const float *b);
extern float DistanceInnerProductAvx2(int dim, const float *a, const float *b);
extern double DistanceCosineSimilarityAvx2(int dim, const float *a, const float *b);
extern float DistanceL1Avx2(int dim, const float *a, const float *b);

extern float DistanceL2SquaredAvx512(int dim, const float *a, const float *b);
extern float DistanceInnerProductAvx512(int dim, const float *a, const float *b);
extern double DistanceCosineSimilarityAvx512(int dim, const float *a, const float *b);
extern float DistanceL1Avx512(int dim, const float *a, const float *b);
#endif

#endif							/* SEMVEC_DISTANCE_X86_H */
