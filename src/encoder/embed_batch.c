/*-------------------------------------------------------------------------
 *
 * embed_batch.c
 *	  Embed many texts: tokenize, group by length, pad, run the forward pass
 *
 * Texts are sorted by token count so that each batch pads little; the
 * batch's rows are then written back in input order.  All activations live
 * in a memory context that is deleted at the end of the call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "encoder/arch/arch.h"
#include "encoder/embed_batch.h"

typedef struct SortItem
{
	int			index;			/* position in the input */
	int			ntokens;
} SortItem;

/* Order by token count, then input position (stable, deterministic) */
static int
CmpItems(const void *a, const void *b)
{
	const SortItem *x = a;
	const SortItem *y = b;

	if (x->ntokens != y->ntokens)
		return x->ntokens < y->ntokens ? -1 : 1;
	return x->index - y->index;
}

/* Embed n texts into out[n][model->dim] */
void
EncEmbedTexts(EncModel *model, int n, const char **texts, const int *lens,
			  float *out)
{
	MemoryContext cxt;
	MemoryContext old;
	EncTokens **toks;
	SortItem   *order;
	int			dim = model->dim;

	if (model->cross_encoder)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a cross-encoder", model->name),
				 errdetail("A cross-encoder scores (query, document) pairs; it has no embedding of one text."),
				 errhint("Use rerank(query, documents, '%s').", model->name)));
	if (n <= 0)
		return;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "semvec embed",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	toks = palloc(sizeof(EncTokens *) * n);
	order = palloc(sizeof(SortItem) * n);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		toks[i] = model->tokenizer->ops->encode(model->tokenizer, texts[i],
												lens[i], model->max_tokens,
												model->with_specials);
		order[i].index = i;
		order[i].ntokens = toks[i]->n;
	}
	qsort(order, n, sizeof(SortItem), CmpItems);

	for (int first = 0; first < n; first += ENC_BATCH_SIZE)
	{
		int			batch = Min(ENC_BATCH_SIZE, n - first);
		int			seq = Max(order[first + batch - 1].ntokens, 1);
		int32	   *ids;
		int		   *lengths;
		float	   *emb;
		MemoryContext bcxt;

		CHECK_FOR_INTERRUPTS();
		bcxt = AllocSetContextCreate(cxt, "semvec embed batch",
									 ALLOCSET_DEFAULT_SIZES);
		MemoryContextSwitchTo(bcxt);
		ids = palloc(sizeof(int32) * batch * seq);
		lengths = palloc(sizeof(int) * batch);
		emb = palloc(sizeof(float) * batch * dim);
		for (int b = 0; b < batch; b++)
		{
			EncTokens  *t = toks[order[first + b].index];

			lengths[b] = t->n;
			for (int j = 0; j < seq; j++)
				ids[b * seq + j] = j < t->n ? t->ids[j] :
					model->tokenizer->ops->pad_id;
		}
		model->arch->forward(model, batch, seq, ids, lengths, emb);
		for (int b = 0; b < batch; b++)
			memcpy(out + (long) order[first + b].index * dim,
				   emb + (long) b * dim, sizeof(float) * dim);
		MemoryContextSwitchTo(cxt);
		MemoryContextDelete(bcxt);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
