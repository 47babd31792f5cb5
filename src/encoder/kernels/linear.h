/*-------------------------------------------------------------------------
 *
 * linear.h
 *	  Linear layers y = x·W + b: the one product API of every architecture
 *	  (linear.c; no PostgreSQL calls)
 *
 * An EncLinear names a weight matrix as the model file publishes it, in
 * one of two row-major layouts, plus an optional bias:
 *
 *	 ENC_W_IN_OUT   W[in][out], y = x·W      (TensorFlow, USE-lite)
 *	 ENC_W_OUT_IN   W[out][in], y = x·Wᵀ     (torch nn.Linear, BERT)
 *
 * Model files are never written for a kernel.  A layer may want a
 * kernel-specific copy of its matrix, derived when the model loads
 * (EncLinearPackedSize / EncLinearPack) and kept with the model, one per
 * backend: today the column panels of gemm_panels.c for [in][out]
 * matrices on CPUs with AVX2, because sgemm repacks an [in][out] matrix on
 * every call, which dominated short queries.  [out][in] matrices need no
 * copy: each output is a dot product along a contiguous row, which
 * gemm_rows.c reads straight from the file for few rows, and sgemm handles
 * many rows well.
 *
 * EncLinearApply picks the kernel per call from the layout, the copy, the
 * row count and the SIMD level in force (semvec.simd), so the level can
 * change after a load: below avx2 the plain matrix goes to sgemm.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_LINEAR_H
#define SEMVEC_ENC_LINEAR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum EncWeightLayout
{
	ENC_W_IN_OUT,				/* W[in][out] */
	ENC_W_OUT_IN				/* W[out][in] */
} EncWeightLayout;

typedef struct EncLinear
{
	int			in;
	int			out;
	EncWeightLayout layout;
	const float *w;				/* as published (mmapped file) */
	const float *bias;			/* [out], or NULL */
	float	   *panels;			/* derived copy (EncLinearPack), or NULL */
} EncLinear;

/* Describe a layer over a matrix in the given layout; nothing is copied */
extern void EncLinearInit(EncLinear *l, const float *w, EncWeightLayout layout,
						  int in, int out, const float *bias);

/* Bytes of the kernel-specific copy this layer wants on this CPU (0: none) */
extern size_t EncLinearPackedSize(const EncLinear *l);

/*
 * Derive that copy into buf (EncLinearPackedSize bytes) and use it.  src
 * is the matrix as l->w holds it, read into memory elsewhere (NULL: read
 * l->w itself)
 */
extern void EncLinearPack(EncLinear *l, float *buf, const float *src);

/* y[n][out] = x[n][in]·W + b, or y += x·W + b when accumulate */
extern void EncLinearApply(const EncLinear *l, const float *x, int n,
						   float *y, bool accumulate);

/*
 * The same where x is mostly zeros (a ReLU's output): may skip the terms
 * of zero inputs; the result equals EncLinearApply's
 */
extern void EncLinearApplySparse(const EncLinear *l, const float *x, int n,
								 float *y, bool accumulate);

/* Threads per product (semvec.blas_threads): OpenBLAS's and the panels' */
extern void EncSetThreads(int n);

#endif							/* SEMVEC_ENC_LINEAR_H */
