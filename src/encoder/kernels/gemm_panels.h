/*-------------------------------------------------------------------------
 *
 * gemm_panels.h
 *	  Matrix products on weights packed in column panels (gemm_panels.c)
 *
 * A kernel-specific layout derived from a plain [in][out] matrix when a
 * model loads (see kernels/linear.h, which decides when to use it).  The
 * products need the avx2 SIMD level; no PostgreSQL calls.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_GEMM_PANELS_H
#define SEMVEC_ENC_GEMM_PANELS_H

#include <stdbool.h>

/* Columns per panel: packed[out / ENC_PANEL][in][ENC_PANEL] */
#define ENC_PANEL 16

/* Whether this CPU can run the products at some SIMD level (worth packing) */
extern bool EncPanelsSupported(void);

/* Whether they run at the SIMD level in force */
extern bool EncPanelsUsable(void);

/* packed[p][k][j] = w[k][p * ENC_PANEL + j]; out % ENC_PANEL == 0 */
extern void EncPanelsPack(const float *w, int in, int out, float *packed);

/*
 * y[n][out] = x[n][in] · W + b, or += with accumulate; b may be NULL.
 * Returns false, computing nothing, below the avx2 SIMD level.
 */
extern bool EncPanelsGemm(const float *x, int n, int in, const float *packed,
						  const float *b, int out, float *y, bool accumulate);

/*
 * The same for a mostly zero x (a ReLU's output), skipping the rows of W
 * that meet only zeros; rows is W as plain [in][out] (read by products of
 * few rows), or NULL.  Returns false, computing nothing, when skipping
 * would not pay; EncPanelsGemm then does the product.
 */
extern bool EncPanelsGemmSparse(const float *x, int n, int in,
								const float *packed, const float *rows,
								const float *b, int out, float *y,
								bool accumulate);

/* Threads that split large products (semvec.blas_threads), 1 to 64 */
extern void EncPanelsSetThreads(int n);

#endif							/* SEMVEC_ENC_GEMM_PANELS_H */
