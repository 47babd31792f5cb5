/*-------------------------------------------------------------------------
 *
 * elementwise.c
 *	  Row-wise and element-wise kernels of the forward passes: LayerNorm,
 *	  GELU, ReLU, softmax, L2 normalisation
 *
 * Plain loops that the compiler vectorises; GELU is written on 8-float
 * vectors and picked by the SIMD level.  No PostgreSQL calls: safe from any
 * thread.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "encoder/kernels/elementwise.h"
#include "simd/simd.h"

typedef float v8sf __attribute__((vector_size(32)));
typedef int v8si __attribute__((vector_size(32)));

/* Unaligned 8-float load (a macro, so that it takes the target of the
 * function it is used in) */
#define LOAD8(p) ({ v8sf v_; memcpy(&v_, (p), sizeof(v_)); v_; })

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
 * |error| < 5e-7 against the exact erf.  Written on 8-float vectors with
 * mask selects (scalar compares would keep the loop from vectorising), and
 * compiled for the baseline and for AVX2+FMA (picked by the SIMD level).
 */
#define GELU8(xv) ({ \
	v8sf		v_ = (xv) * (float) M_SQRT1_2; \
	v8sf		hi_ = {4, 4, 4, 4, 4, 4, 4, 4}; \
	v8sf		z_, z2_, p_, q_; \
	v8si		m_; \
	m_ = v_ > hi_; \
	z_ = (v8sf) (((v8si) v_ & ~m_) | ((v8si) hi_ & m_)); \
	m_ = z_ < -hi_; \
	z_ = (v8sf) (((v8si) z_ & ~m_) | ((v8si) -hi_ & m_)); \
	z2_ = z_ * z_; \
	p_ = z2_ * -2.72614225801306e-10f + 2.77068142495902e-08f; \
	p_ = p_ * z2_ - 2.10102402082508e-06f; \
	p_ = p_ * z2_ - 5.69250639462346e-05f; \
	p_ = p_ * z2_ - 7.34990630326855e-04f; \
	p_ = p_ * z2_ - 2.95459980854025e-03f; \
	p_ = p_ * z2_ - 1.60960333262415e-02f; \
	q_ = z2_ * -1.45660718464996e-05f - 2.13374055278905e-04f; \
	q_ = q_ * z2_ - 1.68282697438203e-03f; \
	q_ = q_ * z2_ - 7.37332916720468e-03f; \
	q_ = q_ * z2_ - 1.42647390514189e-02f; \
	0.5f * (xv) * (1.0f + z_ * p_ / q_); \
})

#define DEFINE_GELU(NAME, ATTR) \
ATTR static void \
NAME(float *x, long n) \
{ \
	long		i = 0; \
\
	for (; i + 8 <= n; i += 8) \
	{ \
		v8sf		xv = LOAD8(x + i); \
\
		xv = GELU8(xv); \
		memcpy(x + i, &xv, sizeof(xv)); \
	} \
	if (i < n) \
	{ \
		v8sf		xv = {0}; \
\
		memcpy(&xv, x + i, sizeof(float) * (n - i)); \
		xv = GELU8(xv); \
		memcpy(x + i, &xv, sizeof(float) * (n - i)); \
	} \
}

DEFINE_GELU(GeluPortable, )
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_GELU(GeluAvx2, __attribute__((target("avx2,fma"))))
#endif

/* GELU in place (see above), at the SIMD level in force */
void
EncGelu(float *x, long n)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (SimdAllows(SIMD_AVX2))
	{
		GeluAvx2(x, n);
		return;
	}
#endif
	GeluPortable(x, n);
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
