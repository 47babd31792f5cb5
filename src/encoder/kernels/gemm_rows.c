/*-------------------------------------------------------------------------
 *
 * gemm_rows.c
 *	  Few-row products on weights stored [out][in] (torch nn.Linear)
 *
 * For a handful of input rows (one short sentence) sgemm spends most of its
 * time packing the weight matrix, which it does on every call.  With W
 * stored [out][in], each output is a dot product of a contiguous weight row
 * with an input row, so this kernel reads each weight once, straight from
 * the (mmapped) model file, up to eight input rows sharing each load.  It
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
 * W as [out][in]: y[t][o] = b[o] + dot(W[o], x[t]).  For each output o,
 * the rows go in blocks of eight and the rest (two to seven) in one block
 * whose size is a compile-time constant (RowsBlock, inlined per size, so
 * that its accumulators stay in registers): the rows of a block share each
 * load of W[o].  Every row of a block takes the same sum (one accumulator,
 * k in order, then SUM8), whatever the block's size.  A single row left
 * over runs two accumulators instead, so that its adds do not wait on each
 * other.  The remainder used to run as a block of four and then one row at
 * a time, each such row reading W[o] again and doing two loads per
 * multiply-add: the products of a 15-token sentence took 40% longer than
 * those of 12 tokens (measured on MiniLM's shapes, 8.1 against 5.8 ms),
 * and 7% less once its last seven rows ran as one block.
 */
#define DEFINE_ROWS_BLOCK(NAME, ATTR) \
static inline __attribute__((always_inline)) ATTR void \
NAME(const int R, const float *x, int in, const float *wr, float bias, \
	 float *y, int out) \
{ \
	int			in8 = in & ~7; \
	v8sf		a[8]; \
\
	_Pragma("GCC unroll 8") \
	for (int k = 0; k < R; k++) \
		a[k] = (v8sf) {0}; \
	for (int i = 0; i < in8; i += 8) \
	{ \
		v8sf		wv = LOAD8(wr + i); \
\
		_Pragma("GCC unroll 8") \
		for (int k = 0; k < R; k++) \
			a[k] += wv * LOAD8(x + (long) k * in + i); \
	} \
	_Pragma("GCC unroll 8") \
	for (int k = 0; k < R; k++) \
	{ \
		float		s = SUM8(a[k]); \
\
		for (int i = in8; i < in; i++) \
			s += wr[i] * x[(long) k * in + i]; \
		y[(long) k * out] = s + bias; \
	} \
}

#define DEFINE_ROWS_GEMM(NAME, BLOCK, ATTR) \
DEFINE_ROWS_BLOCK(BLOCK, ATTR) \
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
		const float *xt; \
		float	   *yt; \
\
		for (; t + 8 <= n; t += 8) \
			BLOCK(8, x + (long) t * in, in, wr, bias, y + (long) t * out + o, out); \
		xt = x + (long) t * in; \
		yt = y + (long) t * out + o; \
		switch (n - t) \
		{ \
			case 0: \
				break; \
			case 1: \
			{ \
				v8sf		a0 = {0}, a1 = {0}; \
				float		s1; \
				int			i = 0; \
\
				/* two chains, so the adds do not wait on each other */ \
				for (; i + 16 <= in8; i += 16) \
				{ \
					a0 += LOAD8(wr + i) * LOAD8(xt + i); \
					a1 += LOAD8(wr + i + 8) * LOAD8(xt + i + 8); \
				} \
				for (; i < in8; i += 8) \
					a0 += LOAD8(wr + i) * LOAD8(xt + i); \
				a0 += a1; \
				s1 = SUM8(a0); \
				for (i = in8; i < in; i++) \
					s1 += wr[i] * xt[i]; \
				*yt = s1 + bias; \
				break; \
			} \
			case 2: \
				BLOCK(2, xt, in, wr, bias, yt, out); \
				break; \
			case 3: \
				BLOCK(3, xt, in, wr, bias, yt, out); \
				break; \
			case 4: \
				BLOCK(4, xt, in, wr, bias, yt, out); \
				break; \
			case 5: \
				BLOCK(5, xt, in, wr, bias, yt, out); \
				break; \
			case 6: \
				BLOCK(6, xt, in, wr, bias, yt, out); \
				break; \
			default: \
				BLOCK(7, xt, in, wr, bias, yt, out); \
				break; \
		} \
	} \
}

DEFINE_ROWS_GEMM(RowsGemmPortable, RowsBlockPortable, )
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_ROWS_GEMM(RowsGemmAvx2, RowsBlockAvx2, __attribute__((target("avx2,fma"))))
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
