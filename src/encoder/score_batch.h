/*-------------------------------------------------------------------------
 *
 * score_batch.h
 *	  Score (query, document) pairs with a cross-encoder (score_batch.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_SCORE_BATCH_H
#define SEMVEC_ENC_SCORE_BATCH_H

#include "encoder/model/model.h"

/*
 * Score query (qlen UTF-8 bytes) against n documents (docs[i], lens[i]
 * bytes) into out[n]: each pair is [CLS] query [SEP] document [SEP] with
 * token types 0 then 1, truncated to model->max_tokens longest-first, and
 * the pairs run in batches sorted by length.  A pair's score does not
 * depend on the pairs it is batched with.  The model must be a
 * cross-encoder (model->cross_encoder); otherwise an error.
 */
extern void EncScorePairs(EncModel *model, const char *query, int qlen,
						  int n, const char **docs, const int *lens,
						  float *out);

/* Raise an error unless the model is a cross-encoder */
extern void EncRequireCrossEncoder(EncModel *model);

#endif							/* SEMVEC_ENC_SCORE_BATCH_H */
