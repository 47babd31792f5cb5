/*-------------------------------------------------------------------------
 *
 * distance.h
 *	  Float kernels shared by the vector type, the hnsw index and the encoder
 *
 * Pure C: no PostgreSQL calls, so the kernels can be unit-tested and used
 * from any thread.  Several implementations ("paths") of every kernel exist:
 *
 *	 scalar   one element at a time, never vectorised: the baseline that
 *			  benchmarks compare against and the reference for the tests
 *	 default  portable C with GCC/Clang generic vector types, i.e. the
 *			  baseline SIMD of the target (SSE2 on x86-64, NEON on aarch64);
 *			  the fallback on CPUs without AVX2
 *	 avx2     AVX2 + FMA intrinsics (x86-64 only)
 *	 avx512   AVX-512F intrinsics (x86-64 only)
 *
 * The dispatch pointers below are set once by DistanceInit() from the CPU's
 * features (checked at run time: the library is never built with
 * -march=native), so callers always go through the pointer.
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

/* Pick the fastest kernels this CPU supports; safe to call more than once */
extern void DistanceInit(void);

/* Name of the kernel path in use ("avx512", "avx2", "default", "scalar") */
extern const char *DistanceKernelName(void);

/*
 * Known path names, fastest first, terminated by NULL.  Some may not be
 * supported by this CPU (see DistancePathSupported).
 */
extern const char *const DistancePathNames[];

/* Return 1 if the named path exists and this CPU can run it, else 0 */
extern int	DistancePathSupported(const char *name);

/*
 * Switch every dispatch pointer to the named path (for tests, benchmarks
 * and the semvec.distance_kernel setting).  Returns 0 on success, -1 for an
 * unknown name and -2 when this CPU cannot run the path; on failure the
 * current path is kept.
 */
extern int	DistanceSetPath(const char *name);

#endif							/* SEMVEC_DISTANCE_H */
