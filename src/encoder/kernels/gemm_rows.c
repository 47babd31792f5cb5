/*-------------------------------------------------------------------------
 *
 * gemm_rows.c
 *	  Few-row products on weights stored [out][in] (torch nn.Linear)
 *
 * For a handful of input rows (one short sentence) sgemm spends most of its
 * time packing the weight matrix, which it does on every call.  With W
 * stored [out][in], each output is a dot product of a contiguous weight row
 * with an input row, so this kernel reads each weight once, straight from
 * the (mmapped) model file, eight or four input rows sharing each load.  It
 * is compiled twice, for the x86-64 baseline and for AVX2+FMA, and picked
 * by the SIMD level (simd/simd.h).  No PostgreSQL calls.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "encoder/kernels/gemm_rows.h"
#include "simd/simd.h"

typedef float v8sf __attribute__((vector_size(32)));

/* Unaligned 8-float load, and the sum of a vector's lanes (macros, so that
 * they take the target of the kernel they are used in) */
#define LOAD8(p) ({ v8sf v_; memcpy(&v_, (p), sizeof(v_)); v_; })
#define SUM8(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

/*
 * W as [out][in]: y[t][o] = b[o] + dot(W[o], x[t]); eight or four rows
 * share each load of W.
 */
#define DEFINE_ROWS_GEMM(NAME, ATTR) \
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

DEFINE_ROWS_GEMM(RowsGemmPortable, )
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_ROWS_GEMM(RowsGemmAvx2, __attribute__((target("avx2,fma"))))
#endif

/* y[n][out] = x[n][in] · Wᵀ + b, W [out][in]; b may be NULL */
void
EncRowsGemm(const float *x, int n, int in, const float *w, const float *b,
			int out, float *y)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (SimdAllows(SIMD_AVX2))
	{
		RowsGemmAvx2(x, n, in, w, b, out, y);
		return;
	}
#endif
	RowsGemmPortable(x, n, in, w, b, out, y);
}
