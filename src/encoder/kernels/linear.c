/*-------------------------------------------------------------------------
 *
 * linear.c
 *	  Linear layers: kernel choice per call, load-time packing
 *
 * See linear.h for the layouts and when a layer keeps a packed copy.  The
 * choice, per call:
 *
 *	 panels and the avx2 level    gemm_panels.c (every row count)
 *	 [out][in], few rows          gemm_rows.c (reads the file's rows)
 *	 otherwise                    cblas_sgemm on the plain matrix
 *
 * No PostgreSQL calls: the unit tests link this file directly.
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>
#include <string.h>

#include "encoder/kernels/gemm_panels.h"
#include "encoder/kernels/gemm_rows.h"
#include "encoder/kernels/linear.h"

/* Describe a layer; nothing is copied */
void
EncLinearInit(EncLinear *l, const float *w, EncWeightLayout layout, int in,
			  int out, const float *bias)
{
	l->in = in;
	l->out = out;
	l->layout = layout;
	l->w = w;
	l->bias = bias;
	l->panels = NULL;
}

/* Bytes of the panel copy, for [in][out] matrices the panels can serve */
size_t
EncLinearPackedSize(const EncLinear *l)
{
	if (l->layout != ENC_W_IN_OUT || l->out % ENC_PANEL != 0 ||
		!EncPanelsSupported())
		return 0;
	return sizeof(float) * (size_t) l->in * l->out;
}

/* Derive the panel copy into buf, from src (a copy of l->w) or l->w */
void
EncLinearPack(EncLinear *l, float *buf, const float *src)
{
	EncPanelsPack(src != NULL ? src : l->w, l->in, l->out, buf);
	l->panels = buf;
}

/* y (+)= x·W + b through sgemm on the plain matrix */
static void
SgemmLinear(const EncLinear *l, const float *x, int n, float *y,
			bool accumulate)
{
	bool		trans = l->layout == ENC_W_OUT_IN;

	/* y starts as the bias (plus y itself when accumulating) */
	if (l->bias != NULL)
	{
		for (int i = 0; i < n; i++)
		{
			float	   *row = y + (long) i * l->out;

			if (accumulate)
				for (int j = 0; j < l->out; j++)
					row[j] += l->bias[j];
			else
				memcpy(row, l->bias, sizeof(float) * l->out);
		}
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, trans ? CblasTrans : CblasNoTrans,
				n, l->out, l->in,
				1.0f, x, l->in,
				l->w, trans ? l->in : l->out,
				accumulate || l->bias != NULL ? 1.0f : 0.0f, y, l->out);
}

/* y = x·W + b, or y += x·W + b */
void
EncLinearApply(const EncLinear *l, const float *x, int n, float *y,
			   bool accumulate)
{
	if (n <= 0)
		return;
	if (l->panels != NULL &&
		EncPanelsGemm(x, n, l->in, l->panels, l->bias, l->out, y, accumulate))
		return;
	if (l->layout == ENC_W_OUT_IN && n <= ENC_ROWS_GEMM_MAX && !accumulate)
	{
		EncRowsGemm(x, n, l->in, l->w, l->bias, l->out, y);
		return;
	}
	SgemmLinear(l, x, n, y, accumulate);
}

/* EncLinearApply for a mostly zero x */
void
EncLinearApplySparse(const EncLinear *l, const float *x, int n, float *y,
					 bool accumulate)
{
	if (n <= 0)
		return;
	/* the sparse kernels read the plain [in][out] matrix for few rows */
	if (l->panels != NULL &&
		EncPanelsGemmSparse(x, n, l->in, l->panels,
							l->layout == ENC_W_IN_OUT ? l->w : NULL,
							l->bias, l->out, y, accumulate))
		return;
	EncLinearApply(l, x, n, y, accumulate);
}

/* Threads of OpenBLAS and of the panel products */
void
EncSetThreads(int n)
{
	openblas_set_num_threads(n);
	EncPanelsSetThreads(n);
}
