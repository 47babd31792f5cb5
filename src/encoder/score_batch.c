/*-------------------------------------------------------------------------
 *
 * score_batch.c
 *	  Score (query, document) pairs with a cross-encoder
 *
 * Each pair is encoded as Hugging Face tokenizers encode a pair for BERT:
 *
 *	 [CLS] query [SEP] document [SEP]     token types 0 ... 0 1 ... 1
 *
 * and, when longer than the model's maximum length, truncated
 * "longest_first": one token at a time from the end of the longer side
 * (the document on a tie) until it fits.  The query is tokenized once.
 * Pairs are sorted by length and run ENC_SCORE_BATCH at a time through the
 * architecture's score(); like embed(), a pair's score does not depend on
 * its batch (rows are packed without padding).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "encoder/arch/arch.h"
#include "encoder/score_batch.h"

#define ENC_SCORE_BATCH 32

typedef struct PairItem
{
	int			index;			/* position in the input */
	int			qlen;			/* query tokens kept */
	int			dlen;			/* document tokens kept */
	EncTokens  *doc;
} PairItem;

/* Longer pairs last; input order among equals (deterministic) */
static int
CmpPairs(const void *a, const void *b)
{
	const PairItem *x = a;
	const PairItem *y = b;
	int			lx = x->qlen + x->dlen;
	int			ly = y->qlen + y->dlen;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->index - y->index;
}

void
EncRequireCrossEncoder(EncModel *model)
{
	if (!model->cross_encoder || model->arch->score == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is not a cross-encoder", model->name),
				 errdetail("rerank() needs a BertForSequenceClassification folder with one label, such as ms-marco-MiniLM-L-6-v2."),
				 errhint("Embedding models are used with embed().")));
}

void
EncScorePairs(EncModel *model, const char *query, int qlen, int n,
			  const char **docs, const int *lens, float *out)
{
	EncTokenizer *tok = model->tokenizer;
	MemoryContext cxt;
	MemoryContext old;
	EncTokens  *q;
	PairItem   *items;
	int32		cls;
	int32		sep;
	int			room = model->max_tokens - 3;

	EncRequireCrossEncoder(model);
	if (n <= 0)
		return;
	cls = tok->ops->special_id ? tok->ops->special_id(tok, ENC_TOKEN_CLS) : -1;
	sep = tok->ops->special_id ? tok->ops->special_id(tok, ENC_TOKEN_SEP) : -1;
	if (cls < 0 || sep < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("tokenizer of model \"%s\" cannot encode pairs", model->name),
				 errdetail("Pairs need the tokenizer's [CLS] and [SEP] tokens.")));
	if (room < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" is too short for pairs", model->name),
				 errdetail("Its maximum length is %d tokens; a pair needs at least 3.",
						   model->max_tokens)));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "semvec rerank",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/* tokenize; a side never needs more tokens than the pair has room for */
	q = tok->ops->encode(tok, query, qlen, room, false);
	items = palloc(sizeof(PairItem) * n);
	for (int i = 0; i < n; i++)
	{
		int			a;
		int			b;

		CHECK_FOR_INTERRUPTS();
		items[i].index = i;
		items[i].doc = tok->ops->encode(tok, docs[i], lens[i], room, false);
		/* longest_first: drop from the longer side, the document on a tie */
		a = q->n;
		b = items[i].doc->n;
		while (a + b > room)
		{
			if (a > b)
				a--;
			else
				b--;
		}
		items[i].qlen = a;
		items[i].dlen = b;
	}
	qsort(items, n, sizeof(PairItem), CmpPairs);

	for (int first = 0; first < n; first += ENC_SCORE_BATCH)
	{
		int			batch = Min(ENC_SCORE_BATCH, n - first);
		PairItem   *last = &items[first + batch - 1];
		int			seq = last->qlen + last->dlen + 3;
		int32	   *ids;
		int32	   *types;
		int		   *lengths;
		float	   *scores;
		MemoryContext bcxt;

		CHECK_FOR_INTERRUPTS();
		bcxt = AllocSetContextCreate(cxt, "semvec rerank batch",
									 ALLOCSET_DEFAULT_SIZES);
		MemoryContextSwitchTo(bcxt);
		ids = palloc0(sizeof(int32) * batch * seq);
		types = palloc0(sizeof(int32) * batch * seq);
		lengths = palloc(sizeof(int) * batch);
		scores = palloc(sizeof(float) * batch);
		for (int b = 0; b < batch; b++)
		{
			PairItem   *it = &items[first + b];
			int32	   *row = ids + (long) b * seq;
			int32	   *trow = types + (long) b * seq;
			int			k = 0;

			row[k++] = cls;
			for (int j = 0; j < it->qlen; j++)
				row[k++] = q->ids[j];
			row[k++] = sep;
			for (int j = 0; j < it->dlen; j++)
			{
				trow[k] = 1;
				row[k++] = it->doc->ids[j];
			}
			trow[k] = 1;
			row[k++] = sep;
			lengths[b] = k;
			for (; k < seq; k++)
				row[k] = tok->ops->pad_id;
		}
		model->arch->score(model, batch, seq, ids, types, lengths, scores);
		for (int b = 0; b < batch; b++)
			out[items[first + b].index] = scores[b];
		MemoryContextSwitchTo(cxt);
		MemoryContextDelete(bcxt);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
