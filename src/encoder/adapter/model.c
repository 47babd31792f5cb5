/*-------------------------------------------------------------------------
 *
 * model.c
 *	  A trained adapter as a model: "base+name" and "base+name:doc"
 *
 * embed(text, 'default+scifact') runs the base model and maps its vector
 * with the adapter's query map: normalize(M v).  With a document map,
 * 'default+scifact:doc' maps with that one instead (documents must then be
 * embedded, or their stored base vectors re-mapped with adapt(), through
 * it).  The wrapper borrows the base model's tokenizer and forward pass:
 * the model cache (model/cache.c) loads the base first and rebuilds the
 * wrapper whenever the base is reloaded or the adapter's row changes
 * (checked once per transaction, like a model folder).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "encoder/adapter/catalog.h"
#include "encoder/adapter/model.h"
#include "encoder/arch/arch.h"
#include "encoder/kernels/elementwise.h"
#include "encoder/kernels/linear.h"
#include "encoder/model/search_path.h"

typedef struct AdapterState
{
	EncModel   *base;
	char	   *adapter;		/* the row's name */
	char	   *version;		/* the row's version when loaded */
	float	   *map;			/* [dims][dims] */
	EncLinear	linear;			/* y = x M^T: M is [out][in] */
} AdapterState;

static const EncArchOps EncArchAdapter;

bool
EncAdapterParseName(const char *name, char **base, char **adapter, bool *doc_side)
{
	const char *plus = strchr(name, '+');
	size_t		len;
	char	   *a;

	if (plus == NULL)
		return false;
	if (plus == name || strchr(plus + 1, '+') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("An adapter model is named \"base+adapter\" or \"base+adapter:doc\".")));
	*base = pnstrdup(name, plus - name);
	a = pstrdup(plus + 1);
	len = strlen(a);
	*doc_side = len > strlen(ENC_ADAPTER_DOC_SUFFIX) &&
		strcmp(a + len - strlen(ENC_ADAPTER_DOC_SUFFIX), ENC_ADAPTER_DOC_SUFFIX) == 0;
	if (*doc_side)
		a[len - strlen(ENC_ADAPTER_DOC_SUFFIX)] = '\0';
	EncCheckModelName(*base);
	EncAdapterCheckName(a);
	*adapter = a;
	return true;
}

/* EncArchOps.forward: the base's vectors, mapped and normalised */
static void
AdapterForward(EncModel *model, int batch, int seq, const int32 *ids,
			   const int *lengths, float *out)
{
	AdapterState *st = (AdapterState *) model->arch_state;
	float	   *tmp = palloc(sizeof(float) * batch * model->dim);

	st->base->arch->forward(st->base, batch, seq, ids, lengths, tmp);
	EncAdapterApply(model, tmp, batch, out);
	pfree(tmp);
}

void
EncAdapterApply(EncModel *model, const float *in, int n, float *out)
{
	AdapterState *st = (AdapterState *) model->arch_state;

	if (n <= 0)
		return;
	EncLinearApply(&st->linear, in, n, out, false);
	for (int i = 0; i < n; i++)
		EncL2Normalize(out + (long) i * model->dim, model->dim, 1e-24f);
}

/* Never called: the wrapper is built by EncAdapterModelLoad */
static void *
AdapterLoad(EncModel *model)
{
	elog(ERROR, "adapter models are not loaded from folders");
	return NULL;
}

static const EncArchOps EncArchAdapter = {
	.name = "adapter",
	.load = AdapterLoad,
	.forward = AdapterForward,
};

EncModel *
EncAdapterModelLoad(const char *name, EncModel *base)
{
	char	   *basename;
	char	   *adapter;
	bool		doc_side;
	MemoryContext mcxt;
	MemoryContext old;
	EncModel   *model;

	if (!EncAdapterParseName(name, &basename, &adapter, &doc_side))
		elog(ERROR, "\"%s\" is not an adapter model name", name);
	if (strlen(name) >= ENC_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name has 1 to %d characters.", ENC_MAX_NAME - 1)));

	mcxt = AllocSetContextCreate(TopMemoryContext, "semvec adapter",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextCopyAndSetIdentifier(mcxt, name);
	old = MemoryContextSwitchTo(mcxt);
	PG_TRY();
	{
		EncAdapterRow *row = EncAdapterFetch(adapter, false);
		AdapterState *st = palloc0(sizeof(AdapterState));

		if (strcmp(row->base_model, basename) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name),
					 errdetail("Adapter \"%s\" was trained on model \"%s\".", adapter,
							   row->base_model),
					 errhint("Use the model \"%s+%s\".", row->base_model, adapter)));
		if (doc_side && row->doc_map == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", name),
					 errdetail("Adapter \"%s\" has no document map (train it with document_map => true).",
							   adapter)));
		if (base->cross_encoder || row->dims != base->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("adapter \"%s\" does not fit model \"%s\"", adapter, basename),
					 errdetail("The adapter maps %d dimensions; the model has %d.",
							   row->dims, base->dim)));

		st->base = base;
		st->adapter = row->name;
		st->version = row->version;
		st->map = doc_side ? row->doc_map : row->query_map;
		EncLinearInit(&st->linear, st->map, ENC_W_OUT_IN, row->dims, row->dims, NULL);

		model = palloc0(sizeof(EncModel));
		strlcpy(model->name, name, ENC_MAX_NAME);
		model->dir = pstrdup(base->dir);
		model->mcxt = mcxt;
		model->config = base->config;
		model->arch = &EncArchAdapter;
		model->arch_state = st;
		model->tokenizer = base->tokenizer;
		model->dim = base->dim;
		model->max_tokens = base->max_tokens;
		model->pooling = base->pooling;
		model->normalize = true;
		model->with_specials = base->with_specials;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(mcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return model;
}

bool
EncIsAdapterModel(EncModel *model)
{
	return model->arch == &EncArchAdapter;
}

EncModel *
EncAdapterModelBase(EncModel *model)
{
	return ((AdapterState *) model->arch_state)->base;
}

bool
EncAdapterModelCurrent(EncModel *model)
{
	AdapterState *st = (AdapterState *) model->arch_state;
	char	   *v = EncAdapterVersion(st->adapter);

	return v != NULL && strcmp(v, st->version) == 0;
}
