/*-------------------------------------------------------------------------
 *
 * gemm_rows.h
 *	  Few-row products on weights stored [out][in] (gemm_rows.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_GEMM_ROWS_H
#define SEMVEC_ENC_GEMM_ROWS_H

/* Up to this many rows, EncRowsGemm beats sgemm (which repacks W per call) */
#define ENC_ROWS_GEMM_MAX 16

/*
 * y[n][out] = x[n][in] · Wᵀ + b with W [out][in] (row-major, any
 * alignment); b may be NULL.  Runs at the SIMD level in force.
 */
extern void EncRowsGemm(const float *x, int n, int in, const float *w,
						const float *b, int out, float *y);

#endif							/* SEMVEC_ENC_GEMM_ROWS_H */
