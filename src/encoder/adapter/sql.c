/*-------------------------------------------------------------------------
 *
 * sql.c
 *	  SQL surface of adapters: CALL train_adapter(...), adapt(vector, model)
 *
 * train_adapter runs the user's pairs query (query text, positive text or
 * vector) and optional corpus query (text or vector) through SPI, embeds
 * the texts with the base model, trains (train.c) and stores the result in
 * semvec_adapters (catalog.c).  Pairs are sorted (query text, then the
 * positive) before anything else, so the result depends on the pairs, not
 * on the order the query returns them in; corpus rows are kept in the
 * order they come.
 *
 * Duplicates: a query text given several positives is one query with
 * several positives; a positive given for several queries is one document;
 * a corpus row whose text equals a positive's, or whose vector has cosine
 * similarity above ADAPTER_SAME_DOC with a positive's, is that positive
 * (so it is never drawn as a negative of its own query).
 *
 * Memory: the corpus kept for hard negatives and validation is at most
 * maintenance_work_mem of vectors; a larger corpus is sampled (reservoir,
 * seeded) with a NOTICE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <cblas.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "encoder/adapter/catalog.h"
#include "encoder/adapter/model.h"
#include "encoder/adapter/train.h"
#include "encoder/embed_batch.h"
#include "encoder/model/cache.h"
#include "encoder/model/search_path.h"
#include "vector/vector.h"

PG_FUNCTION_INFO_V1(semvec_train_adapter);
PG_FUNCTION_INFO_V1(semvec_adapt);

#define ADAPTER_SAME_DOC 0.9999f	/* cosine above which two vectors are one document */
#define ADAPTER_FETCH 1000			/* rows per cursor fetch */
#define ADAPTER_EMBED_CHUNK 256		/* texts per EncEmbedTexts call */

/* One side of a pair or a corpus row: a text or a vector */
typedef struct TrainItem
{
	char	   *text;			/* UTF-8, or NULL for a vector */
	int			len;
	float	   *vec;			/* [dim], or NULL for a text */
	int			doc;			/* document index once assigned */
} TrainItem;

typedef struct Pair
{
	char	   *query;			/* UTF-8 */
	int			qlen;
	TrainItem		pos;
} Pair;

typedef struct TrainCxt
{
	MemoryContext cxt;
	instr_time	start;
	double		last_notice;
} TrainCxt;

static double
Elapsed(TrainCxt *tc)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, tc->start);
	return INSTR_TIME_GET_DOUBLE(now);
}

/* Is this the extension's vector type? */
static bool
IsVectorType(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	bool		res = false;

	if (HeapTupleIsValid(tup))
	{
		res = strcmp(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname), "vector") == 0;
		ReleaseSysCache(tup);
	}
	return res;
}

/* Is this a string type (text, varchar, char, name)? */
static bool
IsTextType(Oid typid)
{
	return typid == TEXTOID || typid == VARCHAROID || typid == BPCHAROID || typid == NAMEOID;
}

/* A column value as UTF-8 text (palloc'd in the current context) */
static char *
ColumnText(HeapTuple tup, TupleDesc desc, int col, int *len)
{
	char	   *s = SPI_getvalue(tup, desc, col);
	char	   *u = (char *) pg_server_to_any(s, strlen(s), PG_UTF8);

	if (u == s)
		u = pstrdup(s);
	*len = strlen(u);
	return u;
}

/* A vector column's floats, checked against dim */
static float *
ColumnVector(HeapTuple tup, TupleDesc desc, int col, int dim, const char *what)
{
	bool		isnull;
	Vector	   *v = DatumGetVector(SPI_getbinval(tup, desc, col, &isnull));
	float	   *out;

	if (v->dim != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s vector has %d dimensions, the base model %d", what, v->dim, dim),
				 errhint("Vectors given to train_adapter must come from the base model.")));
	out = palloc(sizeof(float) * dim);
	memcpy(out, v->x, sizeof(float) * dim);
	return out;
}

/* Open a cursor on a user query, which must be a single SELECT-like query */
static Portal
OpenQuery(const char *sql, const char *argname)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "could not prepare the %s query: %s", argname,
			 SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a query that returns rows", argname)));
	return SPI_cursor_open(NULL, plan, NULL, NULL, true);
}

static int
CmpItem(const TrainItem *a, const TrainItem *b, int dim)
{
	if ((a->text == NULL) != (b->text == NULL))
		return a->text == NULL ? 1 : -1;
	if (a->text != NULL)
	{
		int			c = memcmp(a->text, b->text, Min(a->len, b->len));

		return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
	}
	return memcmp(a->vec, b->vec, sizeof(float) * dim);
}

static int	SortDim;

static int
CmpPairs(const void *x, const void *y)
{
	const Pair *a = x;
	const Pair *b = y;
	int			c = memcmp(a->query, b->query, Min(a->qlen, b->qlen));

	if (c == 0)
		c = (a->qlen > b->qlen) - (a->qlen < b->qlen);
	return c != 0 ? c : CmpItem(&a->pos, &b->pos, SortDim);
}

static int
CmpItemPtrs(const void *x, const void *y)
{
	return CmpItem(*(TrainItem *const *) x, *(TrainItem *const *) y, SortDim);
}

/* Embed texts[n] with the model into out[n][dim], with progress NOTICEs */
static void
EmbedAll(EncModel *model, int n, const char **texts, const int *lens, float *out,
		 const char *what, TrainCxt *tc)
{
	for (int i = 0; i < n; i += ADAPTER_EMBED_CHUNK)
	{
		int			m = Min(ADAPTER_EMBED_CHUNK, n - i);

		EncEmbedTexts(model, m, texts + i, lens + i, out + (Size) i * model->dim);
		if (Elapsed(tc) - tc->last_notice >= 5.0 && i + m < n)
		{
			tc->last_notice = Elapsed(tc);
			ereport(NOTICE, (errmsg("embedding %s: %d of %d (%.0f s)", what, i + m, n,
									Elapsed(tc))));
		}
	}
}

/* AdapterHooks */
static void *
HookAlloc(void *arg, size_t size)
{
	TrainCxt   *tc = arg;

	return MemoryContextAllocExtended(tc->cxt, Max(size, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
HookCheck(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

static void
HookEpoch(void *arg, int epoch, double loss, double val, bool best)
{
	TrainCxt   *tc = arg;

	if (val >= 0)
		ereport(NOTICE, (errmsg("epoch %d: loss %.4f, held-out nDCG@10 %.4f%s (%.1f s)",
								epoch, loss, val, best ? " (best)" : "", Elapsed(tc))));
	else
		ereport(NOTICE, (errmsg("epoch %d: loss %.4f (%.1f s)", epoch, loss, Elapsed(tc))));
}

static Jsonb *
JsonbFromText(const char *s)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}

#define ARG_TEXT(n) (PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n)))

static void
RequireArg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" of train_adapter must not be NULL", name)));
}

static void
CheckRange(double v, double lo, double hi, const char *name)
{
	if (!(v >= lo && v <= hi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %g and %g", name, lo, hi)));
}

/*
 * CALL train_adapter(name, pairs, base_model, corpus, document_map, epochs,
 * batch_size, hard_negatives, hard_pool, temperature, regularization,
 * learning_rate, validation, patience, seed, replace)
 */
Datum
semvec_train_adapter(PG_FUNCTION_ARGS)
{
	static const char *const argnames[] = {
		"name", "pairs", "base_model", "corpus", "document_map", "epochs",
		"batch_size", "hard_negatives", "hard_pool", "temperature",
		"regularization", "learning_rate", "validation", "patience", "seed",
		"replace"
	};
	char	   *name;
	char	   *pairs_sql;
	char	   *base_name;
	char	   *corpus_sql;
	bool		replace;
	AdapterOptions opt;
	EncModel   *base;
	TrainCxt	tc;
	MemoryContext old;
	int			dim;
	Pair	   *pairs = NULL;
	int			npairs = 0,
				cap = 0,
				skipped = 0;
	TrainItem	  **pos;
	int			nq = 0,
				ndoc = 0,
				npos_docs;
	int		   *pos_start,
			   *pos_doc;
	float	   *qv,
			   *dv;
	TrainItem	   *corpus = NULL;
	int			ncorpus = 0,
				corpus_cap = 0;
	int64		corpus_seen = 0;
	int			corpus_max;
	AdapterData data;
	AdapterHooks hooks;
	AdapterResult res;
	EncAdapterRow row;
	char	   *fullname;
	double		embed_secs;

	for (int i = 0; i < lengthof(argnames); i++)
		if (i != 3)
			RequireArg(fcinfo, i, argnames[i]);
	name = ARG_TEXT(0);
	pairs_sql = ARG_TEXT(1);
	base_name = ARG_TEXT(2);
	corpus_sql = ARG_TEXT(3);
	AdapterDefaultOptions(&opt);
	opt.doc_map = PG_GETARG_BOOL(4);
	opt.epochs = PG_GETARG_INT32(5);
	opt.batch = PG_GETARG_INT32(6);
	opt.hard_negatives = PG_GETARG_INT32(7);
	opt.hard_pool = PG_GETARG_INT32(8);
	opt.temperature = PG_GETARG_FLOAT8(9);
	opt.regularization = PG_GETARG_FLOAT8(10);
	opt.learning_rate = PG_GETARG_FLOAT8(11);
	opt.validation = PG_GETARG_FLOAT8(12);
	opt.patience = PG_GETARG_INT32(13);
	opt.seed = (uint64) PG_GETARG_INT64(14);
	replace = PG_GETARG_BOOL(15);

	EncAdapterCheckName(name);
	CheckRange(opt.epochs, 0, 100000, "epochs");
	CheckRange(opt.batch, 2, 4096, "batch_size");
	CheckRange(opt.hard_negatives, 0, 1000, "hard_negatives");
	CheckRange(opt.hard_pool, Max(opt.hard_negatives, 1), 100000, "hard_pool");
	CheckRange(opt.temperature, 1e-4, 10, "temperature");
	CheckRange(opt.regularization, 0, 1e6, "regularization");
	CheckRange(opt.learning_rate, 1e-8, 1, "learning_rate");
	CheckRange(opt.validation, 0, 0.5, "validation");
	CheckRange(opt.patience, 1, 100000, "patience");

	if (strchr(base_name, '+') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("base model \"%s\" is an adapter", base_name),
				 errdetail("Adapters are trained on a model folder.")));
	fullname = psprintf("%s+%s%s", base_name, name, opt.doc_map ? ENC_ADAPTER_DOC_SUFFIX : "");
	if (strlen(fullname) >= ENC_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name \"%s\" is too long", fullname),
				 errdetail("A model name has at most %d characters.", ENC_MAX_NAME - 1)));
	base = EncModelGet(base_name);
	if (base->cross_encoder)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is a cross-encoder", base_name),
				 errdetail("Adapters map the vectors of an embedding model.")));
	if (!replace && EncAdapterExists(name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("adapter \"%s\" already exists", name),
				 errhint("Use replace => true to train it again, or drop_adapter('%s').", name)));
	dim = base->dim;
	SortDim = dim;

	tc.cxt = AllocSetContextCreate(CurrentMemoryContext, "semvec train_adapter",
								   ALLOCSET_DEFAULT_SIZES);
	INSTR_TIME_SET_CURRENT(tc.start);
	tc.last_notice = 0;
	corpus_max = (int) Min((double) maintenance_work_mem * 1024.0 / (sizeof(float) * dim),
						   (double) PG_INT32_MAX / 2);

	/* --- the pairs */
	SPI_connect();
	{
		Portal		portal = OpenQuery(pairs_sql, "pairs");
		bool		vec2 = false;

		for (;;)
		{
			TupleDesc	desc;

			SPI_cursor_fetch(portal, true, ADAPTER_FETCH);
			if (SPI_processed == 0)
				break;
			desc = SPI_tuptable->tupdesc;
			if (desc->natts != 2 || !IsTextType(SPI_gettypeid(desc, 1)) ||
				!(IsTextType(SPI_gettypeid(desc, 2)) || IsVectorType(SPI_gettypeid(desc, 2))))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("pairs must return two columns: (query text, positive text or vector)")));
			vec2 = IsVectorType(SPI_gettypeid(desc, 2));
			old = MemoryContextSwitchTo(tc.cxt);
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				HeapTuple	tup = SPI_tuptable->vals[r];
				bool		n1,
							n2;
				Pair	   *p;

				SPI_getbinval(tup, desc, 1, &n1);
				SPI_getbinval(tup, desc, 2, &n2);
				if (n1 || n2)
				{
					skipped++;
					continue;
				}
				if (npairs == cap)
				{
					cap = Max(1024, cap * 2);
					pairs = pairs ? repalloc_huge(pairs, sizeof(Pair) * cap) :
						MemoryContextAllocHuge(tc.cxt, sizeof(Pair) * cap);
				}
				p = &pairs[npairs++];
				memset(p, 0, sizeof(Pair));
				p->query = ColumnText(tup, desc, 1, &p->qlen);
				if (vec2)
					p->pos.vec = ColumnVector(tup, desc, 2, dim, "positive");
				else
					p->pos.text = ColumnText(tup, desc, 2, &p->pos.len);
			}
			MemoryContextSwitchTo(old);
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
	}
	SPI_finish();
	if (skipped > 0)
		ereport(NOTICE, (errmsg("%d pairs with a NULL skipped", skipped)));
	if (npairs < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("train_adapter needs at least 2 pairs, the query returned %d", npairs)));

	old = MemoryContextSwitchTo(tc.cxt);

	/* queries: distinct texts in sorted order */
	qsort(pairs, npairs, sizeof(Pair), CmpPairs);
	/* positives: distinct texts/vectors */
	pos = palloc(sizeof(TrainItem *) * npairs);
	for (int i = 0; i < npairs; i++)
		pos[i] = &pairs[i].pos;
	qsort(pos, npairs, sizeof(TrainItem *), CmpItemPtrs);
	for (int i = 0; i < npairs; i++)
	{
		if (i > 0 && CmpItem(pos[i], pos[i - 1], dim) == 0)
			pos[i]->doc = pos[i - 1]->doc;
		else
		{
			pos[ndoc] = pos[i];		/* compact: pos[0..ndoc) are the distinct ones */
			pos[i]->doc = ndoc++;
		}
	}
	npos_docs = ndoc;
	pos_start = palloc(sizeof(int) * (npairs + 1));
	pos_doc = palloc(sizeof(int) * npairs);
	{
		int			k = 0;

		for (int i = 0; i < npairs; i++)
		{
			bool		newq = i == 0 || pairs[i].qlen != pairs[i - 1].qlen ||
				memcmp(pairs[i].query, pairs[i - 1].query, pairs[i].qlen) != 0;
			bool		dup = false;

			if (newq)
				pos_start[nq++] = k;
			for (int j = pos_start[nq - 1]; j < k; j++)
				dup |= pos_doc[j] == pairs[i].pos.doc;
			if (!dup)
				pos_doc[k++] = pairs[i].pos.doc;
		}
		pos_start[nq] = k;
	}

	/* --- the corpus (hard negatives and validation), sampled to fit */
	if (corpus_sql != NULL)
	{
		pg_prng_state rng;

		pg_prng_seed(&rng, opt.seed ^ UINT64CONST(0x5eed5eed5eed5eed));
		MemoryContextSwitchTo(old);
		SPI_connect();
		{
			Portal		portal = OpenQuery(corpus_sql, "corpus");

			for (;;)
			{
				TupleDesc	desc;
				bool		isvec;

				SPI_cursor_fetch(portal, true, ADAPTER_FETCH);
				if (SPI_processed == 0)
					break;
				desc = SPI_tuptable->tupdesc;
				if (desc->natts != 1 || !(IsTextType(SPI_gettypeid(desc, 1)) ||
										  IsVectorType(SPI_gettypeid(desc, 1))))
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("corpus must return one column: a text or a vector of the base model")));
				isvec = IsVectorType(SPI_gettypeid(desc, 1));
				MemoryContextSwitchTo(tc.cxt);
				for (uint64 r = 0; r < SPI_processed; r++)
				{
					HeapTuple	tup = SPI_tuptable->vals[r];
					bool		isnull;
					int			slot;
					TrainItem		it = {0};

					SPI_getbinval(tup, desc, 1, &isnull);
					if (isnull)
						continue;
					corpus_seen++;
					/* reservoir sampling beyond the memory budget */
					if (ncorpus < corpus_max)
						slot = ncorpus;
					else
					{
						int64		j = (int64) pg_prng_uint64_range(&rng, 0, corpus_seen - 1);

						if (j >= corpus_max)
							continue;
						slot = (int) j;
					}
					if (isvec)
						it.vec = ColumnVector(tup, desc, 1, dim, "corpus");
					else
						it.text = ColumnText(tup, desc, 1, &it.len);
					if (slot == ncorpus)
					{
						if (ncorpus == corpus_cap)
						{
							corpus_cap = Max(1024, corpus_cap * 2);
							corpus = corpus ? repalloc_huge(corpus, sizeof(TrainItem) * corpus_cap) :
								MemoryContextAllocHuge(tc.cxt, sizeof(TrainItem) * corpus_cap);
						}
						ncorpus++;
					}
					corpus[slot] = it;
				}
				MemoryContextSwitchTo(old);
				SPI_freetuptable(SPI_tuptable);
				CHECK_FOR_INTERRUPTS();
			}
			SPI_cursor_close(portal);
		}
		SPI_finish();
		MemoryContextSwitchTo(tc.cxt);
		if (corpus_seen > ncorpus)
			ereport(NOTICE,
					(errmsg("corpus sampled: %d of " INT64_FORMAT " rows fit in maintenance_work_mem",
							ncorpus, corpus_seen)));
	}

	/* --- embed what is text: queries, positives, corpus rows */
	{
		const char **texts;
		int		   *lens;
		int			nt = 0;
		int			ctext = 0;

		qv = MemoryContextAllocHuge(tc.cxt, sizeof(float) * (Size) nq * dim);
		texts = palloc(sizeof(char *) * Max(nq, Max(npos_docs, ncorpus)));
		lens = palloc(sizeof(int) * Max(nq, Max(npos_docs, ncorpus)));
		{
			int			q = 0;

			for (int i = 0; i < npairs; i++)
				if (i == 0 || pairs[i].qlen != pairs[i - 1].qlen ||
					memcmp(pairs[i].query, pairs[i - 1].query, pairs[i].qlen) != 0)
				{
					texts[q] = pairs[i].query;
					lens[q++] = pairs[i].qlen;
				}
		}
		ereport(NOTICE, (errmsg("%d pairs: %d queries, %d positive documents; embedding with model \"%s\"",
								npairs, nq, npos_docs, base_name)));
		EmbedAll(base, nq, texts, lens, qv, "queries", &tc);

		/* documents: the positives, then the corpus rows that are not one */
		dv = MemoryContextAllocHuge(tc.cxt, sizeof(float) * ((Size) npos_docs + ncorpus) * dim);
		for (int i = 0; i < npos_docs; i++)
			if (pos[i]->text != NULL)
			{
				texts[nt] = pos[i]->text;
				lens[nt++] = pos[i]->len;
			}
		if (nt > 0)
		{
			float	   *tmp = MemoryContextAllocHuge(tc.cxt, sizeof(float) * (Size) nt * dim);
			int			k = 0;

			EmbedAll(base, nt, texts, lens, tmp, "positive documents", &tc);
			for (int i = 0; i < npos_docs; i++)
				if (pos[i]->text != NULL)
					memcpy(dv + (Size) i * dim, tmp + (Size) (k++) * dim, sizeof(float) * dim);
			pfree(tmp);
		}
		for (int i = 0; i < npos_docs; i++)
			if (pos[i]->vec != NULL)
				memcpy(dv + (Size) i * dim, pos[i]->vec, sizeof(float) * dim);
		ndoc = npos_docs;

		if (ncorpus > 0)
		{
			float	   *cv = MemoryContextAllocHuge(tc.cxt, sizeof(float) * (Size) ncorpus * dim);
			float	   *pn = MemoryContextAllocHuge(tc.cxt, sizeof(float) * (Size) npos_docs * dim);
			float	   *sims = MemoryContextAllocHuge(tc.cxt, sizeof(float) * (Size) npos_docs * 256);
			TrainItem	  **sorted_pos = pos;

			/* corpus texts equal to a positive's text are that positive */
			for (int i = 0; i < ncorpus; i++)
			{
				if (corpus[i].text == NULL)
					continue;
				{
					TrainItem	   *key = &corpus[i];
					TrainItem	  **hit = bsearch(&key, sorted_pos, npos_docs, sizeof(TrainItem *), CmpItemPtrs);

					if (hit != NULL)
						corpus[i].doc = -1;
					else
					{
						texts[ctext] = corpus[i].text;
						lens[ctext++] = corpus[i].len;
					}
				}
			}
			if (ctext > 0)
			{
				float	   *tmp = MemoryContextAllocHuge(tc.cxt, sizeof(float) * (Size) ctext * dim);
				int			k = 0;

				EmbedAll(base, ctext, texts, lens, tmp, "corpus", &tc);
				for (int i = 0; i < ncorpus; i++)
					if (corpus[i].text != NULL && corpus[i].doc != -1)
						corpus[i].vec = tmp + (Size) (k++) * dim;
			}
			for (int i = 0; i < ncorpus; i++)
				if (corpus[i].vec != NULL)
					memcpy(cv + (Size) i * dim, corpus[i].vec, sizeof(float) * dim);

			/* corpus vectors (nearly) equal to a positive are that positive */
			for (int i = 0; i < npos_docs; i++)
			{
				const float *x = dv + (Size) i * dim;
				double		ss = 0;

				for (int j = 0; j < dim; j++)
					ss += (double) x[j] * x[j];
				for (int j = 0; j < dim; j++)
					pn[(Size) i * dim + j] = ss > 0 ? (float) (x[j] / sqrt(ss)) : 0;
			}
			for (int s0 = 0; s0 < ncorpus; s0 += 256)
			{
				int			rows = Min(256, ncorpus - s0);

				CHECK_FOR_INTERRUPTS();
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, npos_docs, rows, dim,
							1.0f, pn, dim, cv + (Size) s0 * dim, dim, 0.0f, sims, rows);
				for (int r = 0; r < rows; r++)
				{
					TrainItem	   *c = &corpus[s0 + r];
					const float *x = cv + (Size) (s0 + r) * dim;
					double		ss = 0;
					float		norm;

					if (c->doc == -1)
						continue;
					for (int j = 0; j < dim; j++)
						ss += (double) x[j] * x[j];
					norm = ss > 0 ? (float) sqrt(ss) : 1.0f;
					for (int p = 0; p < npos_docs; p++)
						if (sims[(Size) p * rows + r] / norm > ADAPTER_SAME_DOC)
						{
							c->doc = -1;
							break;
						}
				}
			}
			for (int i = 0; i < ncorpus; i++)
				if (corpus[i].doc != -1)
					memcpy(dv + (Size) (ndoc++) * dim, cv + (Size) i * dim, sizeof(float) * dim);
			pfree(cv);
			pfree(pn);
			pfree(sims);
		}
	}
	embed_secs = Elapsed(&tc);

	/* --- train */
	data.dim = dim;
	data.nq = nq;
	data.q = qv;
	data.nd = ndoc;
	data.d = dv;
	data.pos_start = pos_start;
	data.pos_doc = pos_doc;
	hooks.arg = &tc;
	hooks.alloc = HookAlloc;
	hooks.check = HookCheck;
	hooks.epoch = HookEpoch;
	ereport(NOTICE,
			(errmsg("training on %d documents (%d positives, %d from the corpus), %d dimensions",
					ndoc, npos_docs, ndoc - npos_docs, dim)));
	AdapterTrain(&data, &opt, &hooks, &res);

	/* --- store */
	MemoryContextSwitchTo(old);
	row.name = name;
	row.base_model = base_name;
	row.dims = dim;
	row.query_map = res.w;
	row.doc_map = res.v;
	EncAdapterStore(&row, npairs,
					JsonbFromText(psprintf("{\"epochs\": %d, \"batch_size\": %d, \"hard_negatives\": %d, "
										   "\"hard_pool\": %d, \"temperature\": %g, \"regularization\": %g, "
										   "\"learning_rate\": %g, \"validation\": %g, \"patience\": %d, "
										   "\"seed\": " UINT64_FORMAT ", \"document_map\": %s, \"corpus_rows\": %d}",
										   opt.epochs, opt.batch, opt.hard_negatives, opt.hard_pool,
										   opt.temperature, opt.regularization, opt.learning_rate,
										   opt.validation, opt.patience, opt.seed,
										   opt.doc_map ? "true" : "false", ndoc - npos_docs)),
					JsonbFromText(psprintf("{\"queries\": %d, \"train_queries\": %d, \"held_out_queries\": %d, "
										   "\"epochs_run\": %d, \"best_epoch\": %d, \"ndcg10_base\": %s, "
										   "\"ndcg10_best\": %s, \"seconds\": %.1f}",
										   nq, res.train_queries, res.val_queries, res.epochs_run,
										   res.best_epoch,
										   res.val_queries > 0 ? psprintf("%.4f", res.base_val) : "null",
										   res.val_queries > 0 ? psprintf("%.4f", res.best_val) : "null",
										   Elapsed(&tc))),
					replace);
	ereport(NOTICE,
			(errmsg("adapter \"%s\" stored: embed(text, '%s+%s')%s; %.1f s (%.1f s embedding)",
					name, base_name, name,
					opt.doc_map ? psprintf(" for queries, embed(text, '%s+%s:doc') for documents",
										   base_name, name) : "",
					Elapsed(&tc), embed_secs)));

	MemoryContextDelete(tc.cxt);
	PG_RETURN_VOID();
}

/*
 * adapt(v vector, model text) -> vector: an adapter model's map applied to a
 * vector of its base model (re-maps stored vectors without re-embedding
 * their texts)
 */
Datum
semvec_adapt(PG_FUNCTION_ARGS)
{
	Vector	   *v = PG_GETARG_VECTOR_P(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	EncModel   *model = EncModelGet(name);
	Vector	   *out;

	if (!EncIsAdapterModel(model))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" is not an adapter", name),
				 errhint("adapt() takes an adapter model such as 'default+name' or 'default+name:doc'.")));
	if (v->dim != model->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector has %d dimensions, model \"%s\" %d", v->dim, name, model->dim)));
	out = InitVector(model->dim);
	EncAdapterApply(model, v->x, 1, out->x);
	PG_RETURN_VECTOR_P(out);
}
