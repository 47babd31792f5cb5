/*-------------------------------------------------------------------------
 *
 * encops.h
 *	  Dense kernels for the encoder's forward passes (no PostgreSQL calls)
 *
 * All matrices are row-major float32.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENCOPS_H
#define SEMVEC_ENCOPS_H

#include <stdbool.h>

/*
 * y[n][out] = x[n][in] · W + b, where W is stored as [in][out] (TF/USE-lite)
 * when w_out_in is false, or as [out][in] (torch nn.Linear) when true.
 * b may be NULL.  Uses cblas_sgemm.
 */
extern void EncLinear(const float *x, int n, int in, const float *w,
					  bool w_out_in, const float *b, int out, float *y);

/* Accumulate: y[n][out] += x[n][in] · W + b (W as in EncLinear); b may be NULL */
extern void EncLinearAdd(const float *x, int n, int in, const float *w,
						 bool w_out_in, const float *b, int out, float *y);

/*
 * Unmasked multi-head self-attention over one sequence of T tokens.
 * qkv[T][ld_qkv] holds q, k, v side by side (each d wide, head h in
 * columns [h*d/nheads, (h+1)*d/nheads)); q is scaled in place by qscale
 * first.  ctx[T][ld_ctx] receives the heads' outputs side by side.
 * scratch holds T*T floats.
 */
extern void EncSelfAttention(float *qkv, int T, int ld_qkv, int d, int nheads,
							 float qscale, float *ctx, int ld_ctx,
							 float *scratch);

/*
 * encgemm.c: products with weights stored in panels of ENC_PANEL columns,
 * packed[out / ENC_PANEL][in][ENC_PANEL], which avoid sgemm's per-call
 * repacking (see the file header).  Without AVX2/FMA (EncPackedAvailable
 * false) unpack to [in][out] and pass w instead.
 */
#define ENC_PANEL 16
extern void EncUnpackWeights(const float *packed, int in, int out, float *w);
extern bool EncPackedAvailable(void);
extern void EncPackedSetThreads(int n);
extern void EncLinearPacked(const float *x, int n, int in, const float *w,
							const float *packed, const float *b, int out,
							float *y, bool accumulate);
extern void EncLinearPackedSparse(const float *x, int n, int in,
								  const float *w, const float *packed,
								  const float *rows, const float *b,
								  int out, float *y, bool accumulate);

/* In place: x[n][d] = (x - mean) / sqrt(var + eps) * g + b, per row */
extern void EncLayerNorm(float *x, int n, int d, const float *g,
						 const float *b, float eps);

/* In place erf GELU: 0.5 x (1 + erf(x / sqrt 2)), erf to |error| < 5e-7 */
extern void EncGelu(float *x, long n);

/* In place ReLU */
extern void EncRelu(float *x, long n);

/* In place softmax over each row of x[n][d] */
extern void EncSoftmaxRows(float *x, int n, int d);

/* In place L2 normalisation of x[d]; eps compared with the squared norm */
extern void EncL2Normalize(float *x, int d, float eps);

/* Set the thread count of OpenBLAS and of the packed products */
extern void EncSetThreads(int n);

#endif							/* SEMVEC_ENCOPS_H */
