/*-------------------------------------------------------------------------
 *
 * encops.c
 *	  Dense kernels for the encoder's forward passes
 *
 * Matrix products go to OpenBLAS; the element-wise work is plain loops that
 * the compiler vectorises.  No PostgreSQL calls: safe from any thread.
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>
#include <math.h>

#include "encops.h"

/* y = x·W + b with W as [in][out] or [out][in] */
void
EncLinear(const float *x, int n, int in, const float *w, bool w_out_in,
		  const float *b, int out, float *y)
{
	if (b != NULL)
	{
		for (int i = 0; i < n; i++)
			for (int j = 0; j < out; j++)
				y[(long) i * out + j] = b[j];
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans,
				w_out_in ? CblasTrans : CblasNoTrans,
				n, out, in,
				1.0f, x, in,
				w, w_out_in ? in : out,
				b != NULL ? 1.0f : 0.0f, y, out);
}

/* y += x·W + b with W as [in][out] or [out][in] */
void
EncLinearAdd(const float *x, int n, int in, const float *w, bool w_out_in,
			 const float *b, int out, float *y)
{
	if (b != NULL)
	{
		for (int i = 0; i < n; i++)
			for (int j = 0; j < out; j++)
				y[(long) i * out + j] += b[j];
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans,
				w_out_in ? CblasTrans : CblasNoTrans,
				n, out, in,
				1.0f, x, in,
				w, w_out_in ? in : out,
				1.0f, y, out);
}

/* Softmax(q·kᵀ)·v for each head of one sequence, no mask */
void
EncSelfAttention(float *qkv, int T, int ld_qkv, int d, int nheads,
				 float qscale, float *ctx, int ld_ctx, float *scratch)
{
	int			dh = d / nheads;

	/* The graph scales q before the product (not the scores) */
	for (int t = 0; t < T; t++)
		for (int c = 0; c < d; c++)
			qkv[(long) t * ld_qkv + c] *= qscale;

	for (int h = 0; h < nheads; h++)
	{
		const float *q = qkv + h * dh;
		const float *k = qkv + d + h * dh;
		const float *v = qkv + 2 * d + h * dh;

		/* scores[T][T] = q_h · k_hᵀ */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
					T, T, dh, 1.0f, q, ld_qkv, k, ld_qkv, 0.0f, scratch, T);
		EncSoftmaxRows(scratch, T, T);
		/* ctx_h[T][dh] = P · v_h */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
					T, dh, T, 1.0f, scratch, T, v, ld_qkv, 0.0f,
					ctx + h * dh, ld_ctx);
	}
}

/* Row-wise LayerNorm in place */
void
EncLayerNorm(float *x, int n, int d, const float *g, const float *b, float eps)
{
	for (int i = 0; i < n; i++)
	{
		float	   *row = x + (long) i * d;
		float		mean = 0.0f;
		float		var = 0.0f;
		float		inv;

		for (int j = 0; j < d; j++)
			mean += row[j];
		mean /= d;
		for (int j = 0; j < d; j++)
		{
			float		c = row[j] - mean;

			var += c * c;
		}
		var /= d;
		inv = 1.0f / sqrtf(var + eps);
		for (int j = 0; j < d; j++)
			row[j] = (row[j] - mean) * inv * g[j] + b[j];
	}
}

/* Exact (erf) GELU in place, as torch's default */
void
EncGelu(float *x, long n)
{
	for (long i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float) M_SQRT1_2));
}

/* ReLU in place */
void
EncRelu(float *x, long n)
{
	for (long i = 0; i < n; i++)
		x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* Numerically stable softmax of each row in place */
void
EncSoftmaxRows(float *x, int n, int d)
{
	for (int i = 0; i < n; i++)
	{
		float	   *row = x + (long) i * d;
		float		max = row[0];
		float		sum = 0.0f;

		for (int j = 1; j < d; j++)
			if (row[j] > max)
				max = row[j];
		for (int j = 0; j < d; j++)
		{
			row[j] = expf(row[j] - max);
			sum += row[j];
		}
		for (int j = 0; j < d; j++)
			row[j] /= sum;
	}
}

/* L2-normalise in place; eps guards the squared norm */
void
EncL2Normalize(float *x, int d, float eps)
{
	double		sq = 0.0;
	float		inv;

	for (int j = 0; j < d; j++)
		sq += (double) x[j] * x[j];
	if (sq < eps)
		sq = eps;
	inv = (float) (1.0 / sqrt(sq));
	for (int j = 0; j < d; j++)
		x[j] *= inv;
}

/* Set OpenBLAS's thread count */
void
EncSetThreads(int n)
{
	openblas_set_num_threads(n);
}
