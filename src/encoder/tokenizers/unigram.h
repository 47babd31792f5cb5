/*-------------------------------------------------------------------------
 *
 * unigram.h
 *	  USE-lite's unigram tokenizer (unigram.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_UNIGRAM_H
#define SEMVEC_ENC_UNIGRAM_H

#include "encoder/tokenizers/tokenizer.h"

/* From tokenizer.json's "model": {"type": "Unigram", "vocab": ...} */
extern EncTokenizer *EncUnigramLoad(const EncTokenizerSource *src);

#endif							/* SEMVEC_ENC_UNIGRAM_H */
