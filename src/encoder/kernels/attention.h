/*-------------------------------------------------------------------------
 *
 * attention.h
 *	  Multi-head self-attention of one sequence (attention.c)
 *
 * The one attention routine of every architecture.  Batches are packed
 * without padding (each sentence's tokens one after another), so attention
 * runs per sentence and needs no mask.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_ATTENTION_H
#define SEMVEC_ENC_ATTENTION_H

#include <stdbool.h>

typedef struct EncAttention
{
	int			nheads;
	int			head_dim;
	float		scale;			/* of q·kᵀ, usually 1/sqrt(head_dim) */

	/*
	 * Multiply q by scale (in place) before the product instead of scaling
	 * the scores: TensorFlow graphs such as USE-lite's do that, and it
	 * rounds differently
	 */
	bool		scale_query;
} EncAttention;

/*
 * softmax(scale · q_h k_hᵀ) v_h for every head h of one sequence of T
 * tokens.  Row t of q, k and v starts at q + t * ld (k, v alike); head h
 * is columns [h * head_dim, (h + 1) * head_dim).  ctx[T][ld_ctx] receives
 * the heads side by side.  scratch holds T * T floats.  q is modified when
 * scale_query.  Products go to OpenBLAS (cblas_sgemm).
 */
extern void EncSelfAttention(const EncAttention *a, float *q, const float *k,
							 const float *v, int ld, int T, float *ctx,
							 int ld_ctx, float *scratch);

#endif							/* SEMVEC_ENC_ATTENTION_H */
