/*-------------------------------------------------------------------------
 *
 * wordpiece.h
 *	  BERT's basic tokenizer + WordPiece (wordpiece.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_WORDPIECE_H
#define SEMVEC_ENC_WORDPIECE_H

#include "encoder/tokenizers/tokenizer.h"

/*
 * From tokenizer.json ("model": {"type": "WordPiece"} and its
 * BertNormalizer), or from vocab.txt when there is none; special tokens and
 * casing from tokenizer_config.json when present
 */
extern EncTokenizer *EncWordPieceLoad(const EncTokenizerSource *src);

#endif							/* SEMVEC_ENC_WORDPIECE_H */
