/*-------------------------------------------------------------------------
 *
 * bm25.c
 *	  The bm25 access method: handler, reloptions, GUCs, cost estimate,
 *	  opclass validation and per-index facts
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/reloptions.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "optimizer/optimizer.h"
#include "tsearch/ts_cache.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "amcommon/opclass.h"
#include "bm25/bm25.h"

int			bm25_pending_limit = BM25_DEFAULT_PENDING_LIMIT;
int			bm25_first_batch = BM25_DEFAULT_FIRST_BATCH;
bool		bm25_global_stats = true;

static relopt_kind bm25_relopt_kind;

/* Register reloptions and GUCs; called once per backend from _PG_init */
void
Bm25Init(void)
{
	bm25_relopt_kind = add_reloption_kind();
	add_string_reloption(bm25_relopt_kind, "text_config",
						 "Text search configuration that splits documents and queries into lexemes",
						 BM25_DEFAULT_TEXT_CONFIG, NULL, AccessExclusiveLock);
	add_real_reloption(bm25_relopt_kind, "k1", "BM25 term frequency saturation (k1)",
					   BM25_DEFAULT_K1, BM25_MIN_K1, BM25_MAX_K1, AccessExclusiveLock);
	add_real_reloption(bm25_relopt_kind, "b", "BM25 document length normalisation (b)",
					   BM25_DEFAULT_B, 0.0, 1.0, AccessExclusiveLock);

	DefineCustomIntVariable("bm25.pending_list_limit",
							"Sets the size of a bm25 index's list of recent inserts before it becomes a segment",
							"Recent inserts are scanned by every query; a larger list makes inserts cheaper and queries slower.",
							&bm25_pending_limit, BM25_DEFAULT_PENDING_LIMIT, 64, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("bm25.first_batch",
							"Sets how many rows a bm25 index scan ranks before returning the first one",
							"When more rows are fetched (a LIMIT above it, rows removed by a filter), "
							"each further batch ranks four times as many.",
							&bm25_first_batch, BM25_DEFAULT_FIRST_BATCH, 1, 1000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	/* read by hybrid_search() (sql/parts/50_rag.sql) */
	DefineCustomBoolVariable("bm25.global_stats",
							 "Makes hybrid_search() score a Citus table's bm25 candidates with the whole table's statistics",
							 "Off: each shard scores with its own statistics, saving a round trip to the nodes.",
							 &bm25_global_stats, true, PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("bm25");
}

/* Parse and validate reloptions */
static bytea *
bm25options(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"text_config", RELOPT_TYPE_STRING, offsetof(Bm25Options, textConfigOffset)},
		{"k1", RELOPT_TYPE_REAL, offsetof(Bm25Options, k1)},
		{"b", RELOPT_TYPE_REAL, offsetof(Bm25Options, b)},
	};

	Bm25Options *opts;

	opts = (Bm25Options *) build_reloptions(reloptions, validate, bm25_relopt_kind,
											sizeof(Bm25Options), tab, lengthof(tab));

	/*
	 * text_config must name an existing configuration.  Checked here, not
	 * by a reloption validator: that one also runs on the default value
	 * when the library loads, possibly outside a transaction (a parallel
	 * worker), where the catalogs cannot be read.
	 */
	if (validate && opts && opts->textConfigOffset != 0)
	{
		const char *name = GET_STRING_RELOPTION(opts, textConfigOffset);

		if (name[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("text_config must name a text search configuration")));
		(void) get_ts_config_oid(stringToQualifiedNameList(name), false);
	}
	return (bytea *) opts;
}

/* The text search configuration the index's options name */
Oid
Bm25ConfigFromOptions(Relation index)
{
	Bm25Options *opts = (Bm25Options *) index->rd_options;
	const char *name = BM25_DEFAULT_TEXT_CONFIG;

	if (opts && opts->textConfigOffset != 0)
		name = GET_STRING_RELOPTION(opts, textConfigOffset);
	return get_ts_config_oid(stringToQualifiedNameList(name), false);
}

/*
 * The index's facts: the configuration it was built with (from the
 * metapage, cached) and k1, b (from the options: they can be changed
 * without a rebuild, since the blocks store frequencies and lengths, not
 * scores).
 */
void
Bm25GetIndexInfo(Relation index, Bm25IndexInfo * info)
{
	Bm25Options *opts = (Bm25Options *) index->rd_options;

	if (index->rd_amcache == NULL)
	{
		Bm25MetaPageData meta;
		Oid		   *cfg;

		Bm25ReadMeta(index, &meta);
		cfg = MemoryContextAlloc(index->rd_indexcxt, sizeof(Oid));
		*cfg = meta.textConfig;
		index->rd_amcache = cfg;
	}
	info->textConfig = *(Oid *) index->rd_amcache;
	info->k1 = opts ? opts->k1 : BM25_DEFAULT_K1;
	info->b = opts ? opts->b : BM25_DEFAULT_B;

	if (!SearchSysCacheExists1(TSCONFIGOID, ObjectIdGetDatum(info->textConfig)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("text search configuration %u of bm25 index \"%s\" does not exist",
						info->textConfig, RelationGetRelationName(index)),
				 errhint("REINDEX the index.")));
	if (opts && opts->textConfigOffset != 0 &&
		Bm25ConfigFromOptions(index) != info->textConfig)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("text_config of bm25 index \"%s\" was changed after it was built",
						RelationGetRelationName(index)),
				 errhint("REINDEX the index to parse its documents with the new configuration.")));
}

/*
 * Estimate the cost of an index scan.  Without ORDER BY <@> the index
 * answers nothing.  With it, a top-k search reads the query terms'
 * posting lists, skipping most blocks: cheap compared with scoring every
 * row (the operator tokenises the document, declared with a high cost), so
 * the planner prefers the index for any table of more than a few rows.
 */
static void
bm25costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	GenericCosts costs;
	double		tuples = Max(path->indexinfo->tuples, 1);

	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = get_float8_infinity();
		*indexTotalCost = get_float8_infinity();
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = Min(tuples, 10 + log(tuples) * 10);
	genericcostestimate(root, path, loop_count, &costs);

	/* the first batch is ranked before anything is returned */
	*indexStartupCost = costs.indexTotalCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = costs.numIndexPages;
}

/* Name the build sub-phases for pg_stat_progress_create_index */
static char *
bm25buildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case PROGRESS_BM25_PHASE_TOKENIZE:
			return "tokenizing rows";
		case PROGRESS_BM25_PHASE_WRITE:
			return "writing segments";
		case PROGRESS_BM25_PHASE_MERGE:
			return "merging segments";
		default:
			return NULL;
	}
}

/* Check an opclass: an ordering operator returning float8, no support functions */
static bool
bm25validate(Oid opclassoid)
{
	static const AmOpclassRules rules = {"bm25", NULL, 0, 0, true};

	return AmValidateOpclass(opclassoid, &rules);
}

/* Describe the access method to the core */
PG_FUNCTION_INFO_V1(bm25handler);
Datum
bm25handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = true;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = bm25build;
	amroutine->ambuildempty = bm25buildempty;
	amroutine->aminsert = bm25insert;
	amroutine->ambulkdelete = bm25bulkdelete;
	amroutine->amvacuumcleanup = bm25vacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = bm25costestimate;
	amroutine->amoptions = bm25options;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = bm25buildphasename;
	amroutine->amvalidate = bm25validate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = bm25beginscan;
	amroutine->amrescan = bm25rescan;
	amroutine->amgettuple = bm25gettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = bm25endscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
