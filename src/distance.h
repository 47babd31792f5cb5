/*-------------------------------------------------------------------------
 *
 * distance.h
 *	  Float kernels shared by the vector type, the hnsw index and the encoder
 *
 * Pure C: no PostgreSQL calls, so the kernels can be unit-tested and used
 * from any thread.  Each kernel has a portable *Default implementation; the
 * dispatch pointers below are set once by DistanceInit() from the CPU's
 * features (AVX2+FMA, AVX-512F), so callers always go through the pointer.
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

/* Manhattan distance: sum(|a[i]-b[i]|) */
extern float (*DistanceL1) (int dim, const float *a, const float *b);

/* Pick kernels for this CPU; safe to call more than once */
extern void DistanceInit(void);

/* Name of the kernel path in use ("avx512", "avx2", "default", ...) */
extern const char *DistanceKernelName(void);

#endif							/* SEMVEC_DISTANCE_H */
