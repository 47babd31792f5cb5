/*-------------------------------------------------------------------------
 *
 * chunk_sentences.h
 *	  Sentence-aware packing of text under a token budget (ICU break iterators)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_CHUNK_SENTENCES_H
#define SEMVEC_CHUNK_SENTENCES_H

#include "rag/chunk.h"

extern ChunkSpan *ChunkText(const char *text, int len, int max_tokens,
							int overlap_tokens, const char *locale,
							ChunkCounter *counter, int *nchunks);
extern bool ChunkIsSpace(const char *p, int len, int *charlen);

#endif							/* SEMVEC_CHUNK_SENTENCES_H */
