/*-------------------------------------------------------------------------
 *
 * elementwise.h
 *	  Row-wise and element-wise kernels of the forward passes
 *	  (elementwise.c; no PostgreSQL calls)
 *
 * All matrices are row-major float32.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_ELEMENTWISE_H
#define SEMVEC_ENC_ELEMENTWISE_H

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

#endif							/* SEMVEC_ENC_ELEMENTWISE_H */
