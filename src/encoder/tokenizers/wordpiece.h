/*-------------------------------------------------------------------------
 *
 * wordpiece.h
 *	  BERT's basic tokenizer + WordPiece, or whole words (wordpiece.c)
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

/*
 * The same basic tokenizer with whole-word lookup: tokenizer.json's
 * "model": {"type": "WordLevel", "vocab": {...}, "unk_token": ...} (static
 * word-vector models); a word not in the vocabulary is the unknown token,
 * and no [CLS]/[SEP] are added
 */
extern EncTokenizer *EncWordLevelLoad(const EncTokenizerSource *src);

#endif							/* SEMVEC_ENC_WORDPIECE_H */
