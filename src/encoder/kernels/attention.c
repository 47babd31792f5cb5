/*-------------------------------------------------------------------------
 *
 * attention.c
 *	  Multi-head self-attention of one sequence
 *
 * Per head, two sgemm calls (scores = q kᵀ, then ctx = P v) around a
 * row-wise softmax.  A sentence of T tokens needs T² scores per head,
 * small next to the projections for the sequence lengths the models
 * accept (at most a few hundred tokens).  No PostgreSQL calls.
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>

#include "encoder/kernels/attention.h"
#include "encoder/kernels/elementwise.h"

/* softmax(scale · q kᵀ) v for each head of one sequence, no mask */
void
EncSelfAttention(const EncAttention *a, float *q, const float *k,
				 const float *v, int ld, int T, float *ctx, int ld_ctx,
				 float *scratch)
{
	int			dh = a->head_dim;
	int			width = a->nheads * dh;
	float		alpha = a->scale;

	if (a->scale_query)
	{
		for (int t = 0; t < T; t++)
			for (int c = 0; c < width; c++)
				q[(long) t * ld + c] *= a->scale;
		alpha = 1.0f;
	}

	for (int h = 0; h < a->nheads; h++)
	{
		int			off = h * dh;

		/* scratch[T][T] = alpha · q_h k_hᵀ */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
					T, T, dh, alpha, q + off, ld, k + off, ld, 0.0f, scratch, T);
		EncSoftmaxRows(scratch, T, T);
		/* ctx_h[T][dh] = P · v_h */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
					T, dh, T, 1.0f, scratch, T, v + off, ld, 0.0f,
					ctx + off, ld_ctx);
	}
}
