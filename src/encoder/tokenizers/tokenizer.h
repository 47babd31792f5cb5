/*-------------------------------------------------------------------------
 *
 * tokenizer.h
 *	  The tokenizer interface: what a tokenizer provides and what the model
 *	  loader hands it
 *
 * A tokenizer reads only what the loader (model/model.c) gives it in an
 * EncTokenizerSource: the parsed files of the model folder.  It never
 * looks into the model itself.  Implementations: unigram.c (USE-lite),
 * wordpiece.c (BERT); the registry (model/registry.c) maps tokenizer.json's
 * "model.type" to their load functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_TOKENIZER_H
#define SEMVEC_ENC_TOKENIZER_H

#include "postgres.h"

#include "utils/jsonb.h"

typedef struct EncTokenizer EncTokenizer;

/* Tokenizer output; start/end are byte offsets into the input (-1 for specials) */
typedef struct EncTokens
{
	int			n;				/* number of tokens, specials included */
	int32	   *ids;
	int		   *start;			/* first byte of each token in the input */
	int		   *end;			/* one past its last byte */
	bool		truncated;		/* max_tokens cut the input short */
} EncTokens;

/* Special tokens a caller may need by role (EncTokenizerOps.special_id) */
typedef enum EncSpecialToken
{
	ENC_TOKEN_CLS,				/* opens an input ([CLS]) */
	ENC_TOKEN_SEP,				/* closes each segment ([SEP]) */
	ENC_TOKEN_UNK				/* stands for an unknown word ([UNK]) */
} EncSpecialToken;

/* What a tokenizer implementation provides */
typedef struct EncTokenizerOps
{
	const char *name;			/* "unigram", "wordpiece" */

	/*
	 * Tokenize len bytes of UTF-8 text.  max_tokens < 0 means no limit
	 * (used by chunk() to count), otherwise the result holds at most
	 * max_tokens tokens, specials included.  with_specials adds the model's
	 * [CLS]/[SEP] (WordPiece) or nothing (unigram).  Result is palloc'd in
	 * CurrentMemoryContext.
	 */
	EncTokens  *(*encode) (EncTokenizer *tok, const char *text, int len,
						   int max_tokens, bool with_specials);
	int32		pad_id;			/* id used for padding in batches */

	/*
	 * Optional (may be NULL): the piece string of an id, for
	 * embed_tokens(); returns NULL for an id out of range.
	 */
	const char *(*piece) (EncTokenizer *tok, int32 id);

	/*
	 * Optional (may be NULL): the id of a special token, or -1 when the
	 * tokenizer has none.  Pair inputs (cross-encoders) are assembled from
	 * [CLS] and [SEP]; static models skip [UNK].
	 */
	int32		(*special_id) (EncTokenizer *tok, EncSpecialToken which);
} EncTokenizerOps;

struct EncTokenizer
{
	const EncTokenizerOps *ops;
	void	   *state;			/* implementation's own data */
};

/*
 * The tokenizer files of a model folder, read by the loader.  Paths are
 * for messages and for files a tokenizer reads itself (vocab.txt).  A load
 * function copies what it keeps: the parsed files are freed after it.
 */
typedef struct EncTokenizerSource
{
	const char *dir;			/* the model folder */
	const char *tokenizer_json_path;
	Jsonb	   *tokenizer_json; /* parsed tokenizer.json, or NULL */
	const char *vocab_txt_path; /* vocab.txt, used without tokenizer.json */
	const char *tokenizer_config_path;
	Jsonb	   *tokenizer_config;	/* parsed tokenizer_config.json, or NULL */
} EncTokenizerSource;

/*
 * Build a tokenizer from its files, allocating in CurrentMemoryContext
 * (the loader makes that the model's).  Errors are ereport(ERROR) naming
 * the file.
 */
typedef EncTokenizer *(*EncTokenizerLoadFn) (const EncTokenizerSource *src);

#endif							/* SEMVEC_ENC_TOKENIZER_H */
