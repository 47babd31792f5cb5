/*-------------------------------------------------------------------------
 *
 * embed.c
 *	  SQL functions of the encoder: embed(), embed_tokens(), rerank(),
 *	  semvec_models
 *
 * embed() is declared IMMUTABLE so that it can feed generated columns and
 * expression indexes: the result depends only on the text and the model
 * folder, and replacing a model folder requires re-embedding (documented).
 * No setting changes it: the one-argument forms always use the installed
 * "default" model (model/search_path.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "encoder/arch/arch.h"
#include "encoder/embed_batch.h"
#include "encoder/model/cache.h"
#include "encoder/model/search_path.h"
#include "encoder/score_batch.h"
#include "vector/vector.h"

PG_FUNCTION_INFO_V1(semvec_embed);
PG_FUNCTION_INFO_V1(semvec_embed_array);
PG_FUNCTION_INFO_V1(semvec_embed_tokens);
PG_FUNCTION_INFO_V1(semvec_rerank);
PG_FUNCTION_INFO_V1(semvec_models);
PG_FUNCTION_INFO_V1(semvec_reload_models);

/* The model named by argument argno, or the installed default when absent */
static EncModel *
ModelArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() > argno)
		return EncModelGet(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
	return EncModelGet(ENC_DEFAULT_MODEL);
}

/* A text datum as UTF-8 bytes (converted from the database encoding) */
static char *
TextToUtf8(text *t, int *len)
{
	char	   *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *u;

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		u = (char *) pg_do_encoding_conversion((unsigned char *) s, n,
											   GetDatabaseEncoding(), PG_UTF8);
		if (u != s)
			n = strlen(u);
		s = u;
	}
	*len = n;
	return s;
}

/* A vector holding x[dim] */
static Vector *
MakeVector(const float *x, int dim)
{
	Vector	   *v = InitVector(dim);

	memcpy(v->x, x, sizeof(float) * dim);
	return v;
}

/* embed(text [, model]) -> vector */
Datum
semvec_embed(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	EncModel   *model = ModelArg(fcinfo, 1);
	const char *s;
	int			len;
	float	   *out = palloc(sizeof(float) * model->dim);
	Vector	   *v;

	s = TextToUtf8(t, &len);
	EncEmbedTexts(model, 1, &s, &len, out);
	v = MakeVector(out, model->dim);
	pfree(out);
	PG_RETURN_VECTOR_P(v);
}

/* embed(text[] [, model]) -> vector[]: NULL elements stay NULL */
Datum
semvec_embed_array(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	EncModel   *model = ModelArg(fcinfo, 1);
	Oid			rettype = get_fn_expr_rettype(fcinfo->flinfo);
	Oid			vectype = get_element_type(rettype);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	const char **texts;
	int		   *lens;
	int		   *where;
	int			m = 0;
	float	   *out;
	Datum	   *results;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	ArrayType  *result;
	int			ndims = ARR_NDIM(arr);
	int			dims[MAXDIM];
	int			lbs[MAXDIM];

	if (!OidIsValid(vectype))
		elog(ERROR, "embed() must return an array of vector");
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);

	texts = palloc(sizeof(char *) * Max(n, 1));
	lens = palloc(sizeof(int) * Max(n, 1));
	where = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			continue;
		texts[m] = TextToUtf8(DatumGetTextPP(elems[i]), &lens[m]);
		where[m++] = i;
	}
	if ((Size) m * model->dim > MaxAllocSize / sizeof(float))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many texts in one embed() call"),
				 errdetail("The array has %d texts.", n)));
	out = palloc(sizeof(float) * Max(m, 1) * model->dim);
	EncEmbedTexts(model, m, texts, lens, out);

	results = palloc0(sizeof(Datum) * Max(n, 1));
	for (int k = 0; k < m; k++)
		results[where[k]] = PointerGetDatum(MakeVector(out + (long) k * model->dim,
													   model->dim));

	get_typlenbyvalalign(vectype, &typlen, &typbyval, &typalign);
	if (n == 0)
		result = construct_empty_array(vectype);
	else
	{
		for (int d = 0; d < ndims; d++)
		{
			dims[d] = ARR_DIMS(arr)[d];
			lbs[d] = ARR_LBOUND(arr)[d];
		}
		result = construct_md_array(results, nulls, ndims, dims, lbs,
									vectype, typlen, typbyval, typalign);
	}
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * rerank(query, documents text[], model) -> real[]: the cross-encoder's
 * score of each (query, document) pair, same shape as documents; NULL
 * documents get NULL
 */
Datum
semvec_rerank(PG_FUNCTION_ARGS)
{
	text	   *query = PG_GETARG_TEXT_PP(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	EncModel   *model = EncModelGet(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	const char **texts;
	int		   *lens;
	int		   *where;
	int			m = 0;
	float	   *out;
	Datum	   *results;
	const char *q;
	int			qlen;
	ArrayType  *result;

	EncRequireCrossEncoder(model);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	q = TextToUtf8(query, &qlen);
	texts = palloc(sizeof(char *) * Max(n, 1));
	lens = palloc(sizeof(int) * Max(n, 1));
	where = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			continue;
		texts[m] = TextToUtf8(DatumGetTextPP(elems[i]), &lens[m]);
		where[m++] = i;
	}
	out = palloc(sizeof(float) * Max(m, 1));
	EncScorePairs(model, q, qlen, m, texts, lens, out);

	results = palloc0(sizeof(Datum) * Max(n, 1));
	for (int k = 0; k < m; k++)
		results[where[k]] = Float4GetDatum(out[k]);
	if (n == 0)
		result = construct_empty_array(FLOAT4OID);
	else
		result = construct_md_array(results, nulls, ARR_NDIM(arr), ARR_DIMS(arr),
									ARR_LBOUND(arr), FLOAT4OID, sizeof(float4),
									true, TYPALIGN_INT);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* embed_tokens(text [, model]) -> table(id, piece, start_byte, end_byte) */
Datum
semvec_embed_tokens(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *t = PG_GETARG_TEXT_PP(0);
	EncModel   *model = ModelArg(fcinfo, 1);
	EncTokenizer *tok = model->tokenizer;
	const char *s;
	int			len;
	EncTokens  *toks;

	InitMaterializedSRF(fcinfo, 0);
	s = TextToUtf8(t, &len);
	toks = tok->ops->encode(tok, s, len, model->max_tokens, model->with_specials);
	for (int i = 0; i < toks->n; i++)
	{
		Datum		values[4];
		bool		isnull[4] = {false, false, false, false};
		const char *piece = tok->ops->piece ? tok->ops->piece(tok, toks->ids[i]) : NULL;

		values[0] = Int32GetDatum(toks->ids[i]);
		if (piece != NULL)
			values[1] = CStringGetTextDatum(pg_any_to_server(piece, strlen(piece),
															 PG_UTF8));
		else
			isnull[1] = true;
		values[2] = Int32GetDatum(toks->start[i]);
		values[3] = Int32GetDatum(toks->end[i]);
		isnull[2] = toks->start[i] < 0;
		isnull[3] = toks->end[i] < 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	PG_RETURN_NULL();
}

/* Order model names */
static int
CmpNames(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* Model folder names inside dir (valid names only), sorted */
static List *
ListModelFolders(const char *dir)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	List	   *names = NIL;

	if (d == NULL)
		return NIL;				/* a missing directory holds no models */
	while ((de = ReadDirExtended(d, dir, LOG)) != NULL)
	{
		char	   *path;
		struct stat st;
		bool		ok = true;

		CHECK_FOR_INTERRUPTS();
		if (de->d_name[0] == '.' || strlen(de->d_name) >= ENC_MAX_NAME)
			continue;
		for (const char *c = de->d_name; *c; c++)
			if (!(isalnum((unsigned char) *c) || *c == '.' || *c == '_' ||
				  *c == '-'))
				ok = false;
		if (!ok || strstr(de->d_name, "..") != NULL)
			continue;
		/* Only folders with a config.json are models */
		path = psprintf("%s/%s/config.json", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(d);
	list_sort(names, CmpNames);
	return names;
}

/* Name of a pooling mode */
static const char *
PoolingName(EncPooling p)
{
	switch (p)
	{
		case ENC_POOL_MEAN:
			return "mean";
		case ENC_POOL_CLS:
			return "cls";
		case ENC_POOL_ARCH:
			return "model";
	}
	return "?";
}

/* Emit one semvec_models row, loading the model in a subtransaction */
static void
ModelRow(ReturnSetInfo *rsinfo, const char *name, const char *dir)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Datum		values[8];
	bool		isnull[8];

	memset(isnull, true, sizeof(isnull));
	values[0] = CStringGetTextDatum(name);
	isnull[0] = false;
	values[6] = CStringGetTextDatum(psprintf("%s/%s", dir, name));
	isnull[6] = false;

	/* A broken folder must not hide the others: report its error instead */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		EncModel   *model = EncModelGet(name);

		MemoryContextSwitchTo(oldcxt);
		values[1] = Int32GetDatum(model->dim);
		values[2] = CStringGetTextDatum(model->arch->name);
		values[3] = Int32GetDatum(model->max_tokens);
		values[4] = CStringGetTextDatum(PoolingName(model->pooling));
		values[5] = BoolGetDatum(model->normalize);
		values[6] = CStringGetTextDatum(model->dir);
		for (int i = 1; i <= 6; i++)
			isnull[i] = false;
		/* a cross-encoder scores pairs (rerank()): no embedding dimensions */
		if (model->cross_encoder)
		{
			isnull[1] = true;
			values[2] = CStringGetTextDatum(psprintf("%s cross-encoder", model->arch->name));
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* Cancels and resource exhaustion are not a model's fault */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
			edata->sqlerrcode == ERRCODE_OUT_OF_MEMORY)
			ReThrowError(edata);
		values[7] = CStringGetTextDatum(edata->message);
		isnull[7] = false;
	}
	PG_END_TRY();
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
}

/*
 * A folder named "default" outside the installed directory: listed with the
 * reason it is not used, so that its owner is not left guessing
 */
static void
IgnoredDefaultRow(ReturnSetInfo *rsinfo, const char *dir, const char *name)
{
	Datum		values[8];
	bool		isnull[8];

	memset(isnull, true, sizeof(isnull));
	values[0] = CStringGetTextDatum(name);
	isnull[0] = false;
	values[6] = CStringGetTextDatum(psprintf("%s/%s", dir, name));
	isnull[6] = false;
	values[7] = CStringGetTextDatum(psprintf("ignored: the name \"%s\" always means the installed model in \"%s\"",
											 name, EncInstalledModelDir()));
	isnull[7] = false;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
}

/* semvec_models(): one row per model folder visible in the search path */
Datum
semvec_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *seen = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, EncModelSearchPath())
	{
		char	   *dir = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, ListModelFolders(dir))
		{
			char	   *name = lfirst(lc2);
			ListCell   *lc3;
			bool		shadowed = false;

			/* An earlier directory's folder of the same name wins */
			foreach(lc3, seen)
				if (strcmp(lfirst(lc3), name) == 0)
					shadowed = true;
			if (shadowed)
				continue;
			/* "default" is only ever the installed folder */
			if (!EncModelDirAllowed(dir, name))
			{
				IgnoredDefaultRow(rsinfo, dir, name);
				continue;
			}
			seen = lappend(seen, name);
			ModelRow(rsinfo, name, dir);
		}
	}
	PG_RETURN_NULL();
}

/* semvec_reload_models(): drop this backend's cached models */
Datum
semvec_reload_models(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(EncModelReloadAll());
}
