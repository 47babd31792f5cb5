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

/*
 * GELU in place, erf form as torch's default: 0.5 x (1 + erf(x / sqrt 2)).
 * erf is a rational approximation on [-4, 4] (odd polynomial of degree 13
 * over an even one of degree 8; the coefficients XLA and Eigen use), with
 * |error| < 5e-7 against the exact erf; unlike erff() it has no calls or
 * branches, so the loop vectorises.
 */
void
EncGelu(float *x, long n)
{
	/* Auto-vectorized */
	for (long i = 0; i < n; i++)
	{
		float		v = x[i] * (float) M_SQRT1_2;
		float		z = v < -4.0f ? -4.0f : (v > 4.0f ? 4.0f : v);
		float		z2 = z * z;
		float		p = -2.72614225801306e-10f;
		float		q = -1.45660718464996e-05f;

		p = p * z2 + 2.77068142495902e-08f;
		p = p * z2 - 2.10102402082508e-06f;
		p = p * z2 - 5.69250639462346e-05f;
		p = p * z2 - 7.34990630326855e-04f;
		p = p * z2 - 2.95459980854025e-03f;
		p = p * z2 - 1.60960333262415e-02f;
		q = q * z2 - 2.13374055278905e-04f;
		q = q * z2 - 1.68282697438203e-03f;
		q = q * z2 - 7.37332916720468e-03f;
		q = q * z2 - 1.42647390514189e-02f;
		x[i] = 0.5f * x[i] * (1.0f + z * p / q);
	}
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
