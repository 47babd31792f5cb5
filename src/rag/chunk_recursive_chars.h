/*-------------------------------------------------------------------------
 *
 * chunk_recursive_chars.h
 *	  Recursive character splitter (paragraph, line, sentence, word, character)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_CHUNK_RECURSIVE_CHARS_H
#define SEMVEC_CHUNK_RECURSIVE_CHARS_H

#include "rag/chunk.h"

extern ChunkSpan *ChunkChars(const char *text, int len, int size,
							 int overlap, int *nchunks);

#endif							/* SEMVEC_CHUNK_RECURSIVE_CHARS_H */
