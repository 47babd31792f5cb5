/*-------------------------------------------------------------------------
 *
 * embed_batch.h
 *	  Embed many texts with one model (embed_batch.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_EMBED_BATCH_H
#define SEMVEC_ENC_EMBED_BATCH_H

#include "encoder/model/model.h"

/* Texts per forward pass */
#define ENC_BATCH_SIZE 32

/*
 * Embed n UTF-8 texts (lens[i] bytes each) into out[n][model->dim]:
 * tokenized and truncated to model->max_tokens, sorted by length, run in
 * padded batches of ENC_BATCH_SIZE.  A text's vector does not depend on
 * the texts it is batched with.
 */
extern void EncEmbedTexts(EncModel *model, int n, const char **texts,
						  const int *lens, float *out);

#endif							/* SEMVEC_ENC_EMBED_BATCH_H */
