/*-------------------------------------------------------------------------
 *
 * chunk_model.c
 *	  chunk(): sentence-aware chunks counted with a model's own tokenizer
 *
 * Token counts come from the model's tokenizer (EncModelGet(name)->
 * tokenizer), without truncation and with the model's special tokens
 * ([CLS]/[SEP] for BERT, none for USE-lite), so a chunk of n_tokens <=
 * max_tokens is embedded by embed() without losing anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "rag/chunk_sentences.h"
#include "rag/chunk_sql.h"
#include "encoder/model/cache.h"
#include "encoder/model/search_path.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(semvec_chunk);

/* Counter state: the tokenizer and a context reset after every count */
typedef struct ModelCounter
{
	EncTokenizer *tok;
	bool		with_specials;	/* the model's inputs carry [CLS]/[SEP] */
	MemoryContext scratch;
} ModelCounter;

/* Tokens of the text without specials (and their end offsets if asked) */
static int
ModelCount(void *arg, const char *text, int len, int **ends)
{
	ModelCounter *mc = (ModelCounter *) arg;
	MemoryContext old = MemoryContextSwitchTo(mc->scratch);
	EncTokens  *t = mc->tok->ops->encode(mc->tok, text, len, -1, false);
	int			n = t->n;

	MemoryContextSwitchTo(old);
	if (ends)
	{
		*ends = palloc((n + 1) * sizeof(int));
		memcpy(*ends, t->end, n * sizeof(int));
	}
	MemoryContextReset(mc->scratch);
	return n;
}

/* Tokens of the text as one model input, specials included */
static int
ModelCountFull(void *arg, const char *text, int len)
{
	ModelCounter *mc = (ModelCounter *) arg;
	MemoryContext old = MemoryContextSwitchTo(mc->scratch);
	int			n = mc->tok->ops->encode(mc->tok, text, len, -1, mc->with_specials)->n;

	MemoryContextSwitchTo(old);
	MemoryContextReset(mc->scratch);
	return n;
}

/*
 * chunk(doc, max_tokens, overlap_tokens, model, locale).  Not STRICT: a
 * NULL doc gives no rows, and a NULL optional argument means its default
 * (max_tokens: the model's max length; overlap_tokens: 16; model: the
 * installed "default", as for embed(text); locale: "en").
 */
Datum
semvec_chunk(PG_FUNCTION_ARGS)
{
	char	   *name;
	EncModel   *model;
	ModelCounter mc;
	ChunkCounter ctr;
	int			max_tokens;
	int			overlap = PG_ARGISNULL(2) ? 16 : PG_GETARG_INT32(2);
	char	   *locale = PG_ARGISNULL(4) ? "en" : ChunkLocaleArg(PG_GETARG_TEXT_PP(4));
	ChunkSpan  *spans = NULL;
	int			n = 0;
	int			len = 0;
	char	   *utf8 = NULL;

	name = PG_ARGISNULL(3) ? ENC_DEFAULT_MODEL :
		text_to_cstring(PG_GETARG_TEXT_PP(3));
	model = EncModelGet(name);
	max_tokens = PG_ARGISNULL(1) ? model->max_tokens : PG_GETARG_INT32(1);
	ChunkCheckSizes("max_tokens", max_tokens, "overlap_tokens", overlap);

	mc.tok = model->tokenizer;
	mc.with_specials = model->with_specials;
	mc.scratch = AllocSetContextCreate(CurrentMemoryContext,
									   "chunk tokenizer scratch",
									   ALLOCSET_DEFAULT_SIZES);
	ctr.count = ModelCount;
	ctr.count_full = ModelCountFull;
	ctr.arg = &mc;
	ctr.specials = ModelCountFull(&mc, "a", 1) - ModelCount(&mc, "a", 1, NULL);

	if (!PG_ARGISNULL(0))
	{
		utf8 = ChunkInputUtf8(PG_GETARG_TEXT_PP(0), &len);
		spans = ChunkText(utf8, len, max_tokens, overlap, locale, &ctr, &n);
	}
	ChunkReturnRows(fcinfo, utf8, spans, n, true);
	MemoryContextDelete(mc.scratch);
	return (Datum) 0;
}
