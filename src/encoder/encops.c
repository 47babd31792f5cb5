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
#include <string.h>

#include "encoder/encops.h"
#include "simd/simd.h"

/*
 * Few-row products.  For a handful of rows (one short sentence) sgemm spends
 * most of its time packing the weight matrix, which it does on every call;
 * this kernel reads each weight once, straight from the (mmapped) model,
 * up to eight rows sharing each load.  It is compiled twice, for the x86-64
 * baseline and for AVX2+FMA, picked by the SIMD level (simd/simd.h).
 */
#define ENC_SMALL_ROWS 16

typedef float v8sf __attribute__((vector_size(32)));

/* Unaligned 8-float load, and the sum of a vector's lanes (macros, so that
 * they take the target of the kernel they are used in) */
#define LOAD8(p) ({ v8sf v_; memcpy(&v_, (p), sizeof(v_)); v_; })
#define SUM8(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

/*
 * W as [out][in]: y[t][o] = b[o] + dot(W[o], x[t]); eight or four rows
 * share each load of W.
 */
#define DEFINE_SMALL_OI(NAME, ATTR) \
ATTR static void \
NAME(const float *x, int n, int in, const float *w, const float *b, \
	 int out, float *y) \
{ \
	int			in8 = in & ~7; \
\
	for (int o = 0; o < out; o++) \
	{ \
		const float *wr = w + (long) o * in; \
		float		bias = b != NULL ? b[o] : 0.0f; \
		int			t = 0; \
\
		for (; t + 8 <= n; t += 8) \
		{ \
			const float *x0 = x + (long) t * in; \
			v8sf		a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}; \
			v8sf		a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}; \
			float		s[8]; \
\
			for (int i = 0; i < in8; i += 8) \
			{ \
				v8sf		wv = LOAD8(wr + i); \
\
				a0 += wv * LOAD8(x0 + i); \
				a1 += wv * LOAD8(x0 + in + i); \
				a2 += wv * LOAD8(x0 + 2 * in + i); \
				a3 += wv * LOAD8(x0 + 3 * in + i); \
				a4 += wv * LOAD8(x0 + 4 * in + i); \
				a5 += wv * LOAD8(x0 + 5 * in + i); \
				a6 += wv * LOAD8(x0 + 6 * in + i); \
				a7 += wv * LOAD8(x0 + 7 * in + i); \
			} \
			s[0] = SUM8(a0); s[1] = SUM8(a1); s[2] = SUM8(a2); s[3] = SUM8(a3); \
			s[4] = SUM8(a4); s[5] = SUM8(a5); s[6] = SUM8(a6); s[7] = SUM8(a7); \
			for (int i = in8; i < in; i++) \
				for (int k = 0; k < 8; k++) \
					s[k] += wr[i] * x0[(long) k * in + i]; \
			for (int k = 0; k < 8; k++) \
				y[(long) (t + k) * out + o] = s[k] + bias; \
		} \
		for (; t + 4 <= n; t += 4) \
		{ \
			const float *x0 = x + (long) t * in; \
			v8sf		a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}; \
			float		s[4]; \
\
			for (int i = 0; i < in8; i += 8) \
			{ \
				v8sf		wv = LOAD8(wr + i); \
\
				a0 += wv * LOAD8(x0 + i); \
				a1 += wv * LOAD8(x0 + in + i); \
				a2 += wv * LOAD8(x0 + 2 * in + i); \
				a3 += wv * LOAD8(x0 + 3 * in + i); \
			} \
			s[0] = SUM8(a0); s[1] = SUM8(a1); s[2] = SUM8(a2); s[3] = SUM8(a3); \
			for (int i = in8; i < in; i++) \
				for (int k = 0; k < 4; k++) \
					s[k] += wr[i] * x0[(long) k * in + i]; \
			for (int k = 0; k < 4; k++) \
				y[(long) (t + k) * out + o] = s[k] + bias; \
		} \
		for (; t < n; t++) \
		{ \
			const float *xr = x + (long) t * in; \
			v8sf		a0 = {0}, a1 = {0}; \
			float		s1; \
			int			i = 0; \
\
			/* two chains, so the adds do not wait on each other */ \
			for (; i + 16 <= in8; i += 16) \
			{ \
				a0 += LOAD8(wr + i) * LOAD8(xr + i); \
				a1 += LOAD8(wr + i + 8) * LOAD8(xr + i + 8); \
			} \
			for (; i < in8; i += 8) \
				a0 += LOAD8(wr + i) * LOAD8(xr + i); \
			a0 += a1; \
			s1 = SUM8(a0); \
			for (i = in8; i < in; i++) \
				s1 += wr[i] * xr[i]; \
			y[(long) t * out + o] = s1 + bias; \
		} \
	} \
}

DEFINE_SMALL_OI(SmallLinearOIDefault, )
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_SMALL_OI(SmallLinearOIAvx2, __attribute__((target("avx2,fma"))))
#endif

typedef void (*SmallLinearFn) (const float *x, int n, int in, const float *w,
							   const float *b, int out, float *y);

/* The few-row kernel of the SIMD level in force */
static SmallLinearFn
SmallKernel(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (SimdAllows(SIMD_AVX2))
		return SmallLinearOIAvx2;
#endif
	return SmallLinearOIDefault;
}

/* y = x·W + b with W as [in][out] or [out][in] */
void
EncLinear(const float *x, int n, int in, const float *w, bool w_out_in,
		  const float *b, int out, float *y)
{
	/* sgemm packs [out][in] weights slowly; [in][out] ones are fine */
	if (w_out_in && n <= ENC_SMALL_ROWS)
	{
		SmallKernel() (x, n, in, w, b, out, y);
		return;
	}
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

/*
 * GELU in place, erf form as torch's default: 0.5 x (1 + erf(x / sqrt 2)).
 * erf is a rational approximation on [-4, 4] (odd polynomial of degree 13
 * over an even one of degree 8; the coefficients XLA and Eigen use), with
 * |error| < 5e-7 against the exact erf.  Written on 8-float vectors with
 * mask selects (scalar compares would keep the loop from vectorising), and
 * compiled for the baseline and for AVX2+FMA (picked by the SIMD level).
 */
typedef int v8si __attribute__((vector_size(32)));

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

DEFINE_GELU(GeluDefault, )
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
	GeluDefault(x, n);
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

/* Set the thread count of OpenBLAS and of the packed products */
void
EncSetThreads(int n)
{
	openblas_set_num_threads(n);
	EncPackedSetThreads(n);
}
