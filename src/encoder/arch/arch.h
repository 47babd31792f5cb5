/*-------------------------------------------------------------------------
 *
 * arch.h
 *	  The architecture interface: what a model architecture provides
 *
 * An architecture binds its tensors when a model loads and runs the
 * forward pass of a padded batch of token ids.  Implementations:
 * use_lite.c, bert.c; the registry (model/registry.c) maps config.json's
 * "model_type" to them.  They build on the kernels' APIs: EncLinear
 * (kernels/linear.h, bound with EncModelLinear), EncSelfAttention
 * (kernels/attention.h) and the element-wise kernels
 * (kernels/elementwise.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_ARCH_H
#define SEMVEC_ENC_ARCH_H

#include "encoder/model/model.h"

typedef struct EncArchOps
{
	const char *name;			/* "use_lite", "bert" */

	/*
	 * Bind and validate this architecture's tensors (EncModelTensor,
	 * EncModelLinear) and hyper-parameters (EncConfig*), set model->dim
	 * (and max_tokens, pooling, normalize where the architecture decides
	 * them); return private state allocated in CurrentMemoryContext (the
	 * model's).  Errors are ereport(ERROR).
	 */
	void	   *(*load) (EncModel *model);

	/*
	 * Forward pass for a batch: ids is [batch][seq] (rows padded with the
	 * tokenizer's pad_id), lengths[b] the real length of row b.  Writes the
	 * final sentence embedding (pooled, and normalised when
	 * model->normalize) to out[batch][model->dim].  Scratch memory is
	 * palloc'd in CurrentMemoryContext.  Calls CHECK_FOR_INTERRUPTS()
	 * between layers.
	 */
	void		(*forward) (EncModel *model, int batch, int seq,
							const int32 *ids, const int *lengths, float *out);

	/*
	 * Optional (NULL: none), for models whose load set
	 * model->cross_encoder: one relevance score per row of a batch of pair
	 * inputs ([CLS] query [SEP] document [SEP]).  ids and types (token type
	 * ids) are [batch][seq], lengths[b] the real length of row b; writes
	 * scores[batch].  Same memory and interrupt rules as forward.
	 */
	void		(*score) (EncModel *model, int batch, int seq,
						  const int32 *ids, const int32 *types,
						  const int *lengths, float *scores);
} EncArchOps;

#endif							/* SEMVEC_ENC_ARCH_H */
