/*-------------------------------------------------------------------------
 *
 * distance.h
 *	  Float distance kernels of the vector type and the hnsw index
 *
 * Pure C: no PostgreSQL calls, so the kernels can be unit-tested and used
 * from any thread.  Every kernel has one variant per SIMD level
 * (simd/simd.h):
 *
 *	 scalar    one element at a time, never vectorised: the baseline that
 *			   benchmarks compare against and the reference for the tests
 *	 portable  GCC/Clang generic vector types, i.e. the baseline SIMD of
 *			   the target (SSE2 on x86-64, NEON on aarch64)
 *	 avx2      AVX2 + FMA intrinsics (x86-64 only, distance_x86.c)
 *	 avx512    AVX-512F intrinsics (x86-64 only, distance_x86.c)
 *
 * The dispatch pointers below follow the level in force (DistanceInit), so
 * callers always go through the pointer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_DISTANCE_H
#define SEMVEC_DISTANCE_H

/* Squared Euclidean distance: sum((a[i]-b[i])^2) */
extern float (*DistanceL2Squared) (int dim, const float *a, const float *b);

/* Inner product: sum(a[i]*b[i]) */
extern float (*DistanceInnerProduct) (int dim, const float *a, const float *b);

/* Cosine similarity: dot / sqrt(|a|^2 |b|^2); NaN when either norm is zero */
extern double (*DistanceCosineSimilarity) (int dim, const float *a, const float *b);

/*
 * Cosine distance from a cosine similarity: 1 - similarity, the similarity
 * clamped to [-1, 1] first (rounding can leave it just outside), so the
 * distance is in [0, 2]; NaN stays NaN.  Every type's <=> uses it.
 */
extern double DistanceCosineFromSimilarity(double similarity);

/* Manhattan distance: sum(|a[i]-b[i]|) */
extern float (*DistanceL1) (int dim, const float *a, const float *b);

/*
 * Follow the SIMD level (simd/simd.h, the semvec.simd setting) from now
 * on: the pointers above are re-pointed whenever it changes.  Call once
 * (more calls are harmless).
 */
extern void DistanceInit(void);

#endif							/* SEMVEC_DISTANCE_H */
