/*-------------------------------------------------------------------------
 *
 * chunk.h
 *	  Splitting long text into embeddable chunks
 *
 * Two splitters share one result type, a list of byte spans into the
 * original UTF-8 text:
 *
 *	 ChunkText   sentence-aware packing under a token budget (chunk_sentences.c).
 *	             Sentences and words come from ICU break iterators; token
 *	             counts come from a ChunkCounter, so the same code serves
 *	             the model's own tokenizer (chunk()) and a plain word count
 *	             (chunk_words()).
 *	 ChunkChars  LangChain-style recursive character splitter
 *	             (chunk_recursive_chars.c): "\n\n", "\n", sentence end, " ", "".
 *
 * This header holds only the shared types; each splitter's functions are
 * declared in its own header (chunk_sentences.h, chunk_recursive_chars.h).
 * Spans never start or end inside a UTF-8 character and never start or
 * end with white space.  Conversion to the 1-based character offsets shown
 * in SQL is done by the caller (chunk_sql.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_CHUNK_H
#define SEMVEC_CHUNK_H

#include "postgres.h"

/* Longest accepted locale name for the break iterators */
#define CHUNK_MAX_LOCALE 64

/*
 * How ChunkText counts tokens.  Both callbacks see len bytes of UTF-8
 * text (not NUL-terminated).
 */
typedef struct ChunkCounter
{
	/*
	 * Tokens of the text without the model's special tokens.  When ends is
	 * not NULL, also return a palloc'd array with the end byte offset
	 * (relative to text) of every token; used to cut a single over-long
	 * word between tokens.
	 */
	int			(*count) (void *arg, const char *text, int len, int **ends);

	/* Tokens of the text as one model input, special tokens included */
	int			(*count_full) (void *arg, const char *text, int len);

	void	   *arg;
	int			specials;		/* tokens the model adds to every input */
} ChunkCounter;

/* One chunk: bytes [start, end) of the input */
typedef struct ChunkSpan
{
	int			start;
	int			end;
	int			n_tokens;		/* count_full of the chunk; -1 if not counted */
} ChunkSpan;

#endif							/* SEMVEC_CHUNK_H */
