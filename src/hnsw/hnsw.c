/*-------------------------------------------------------------------------
 *
 * hnsw.c
 *	  The hnsw access method: handler, reloptions, GUCs, cost estimate,
 *	  opclass validation and per-index facts
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"

#include "amcommon/opclass.h"
#include "hnsw/hnsw.h"

int			hnsw_ef_search = HNSW_DEFAULT_EF_SEARCH;
int			hnsw_iterative_scan = HNSW_ITERATIVE_SCAN_OFF;
int			hnsw_max_scan_tuples = HNSW_DEFAULT_MAX_SCAN_TUPLES;
double		hnsw_scan_mem_multiplier = HNSW_DEFAULT_SCAN_MEM_MULTIPLIER;

static relopt_kind hnsw_relopt_kind;

static const struct config_enum_entry hnsw_iterative_scan_options[] = {
	{"off", HNSW_ITERATIVE_SCAN_OFF, false},
	{"relaxed_order", HNSW_ITERATIVE_SCAN_RELAXED, false},
	{"strict_order", HNSW_ITERATIVE_SCAN_STRICT, false},
	{NULL, 0, false}
};

/* Register reloptions and GUCs; called once per backend from _PG_init */
void
HnswInit(void)
{
	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m", "Max number of connections",
					  HNSW_DEFAULT_M, HNSW_MIN_M, HNSW_MAX_M, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Size of the dynamic candidate list for construction",
					  HNSW_DEFAULT_EF_CONSTRUCTION, HNSW_MIN_EF_CONSTRUCTION,
					  HNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);

	DefineCustomIntVariable("hnsw.ef_search", "Sets the size of the dynamic candidate list for search",
							"Valid range is 1..1000.", &hnsw_ef_search,
							HNSW_DEFAULT_EF_SEARCH, HNSW_MIN_EF_SEARCH, HNSW_MAX_EF_SEARCH,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("hnsw.iterative_scan", "Sets the mode for iterative scans",
							 NULL, &hnsw_iterative_scan, HNSW_ITERATIVE_SCAN_OFF,
							 hnsw_iterative_scan_options, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.max_scan_tuples", "Sets the max number of tuples to visit for iterative scans",
							NULL, &hnsw_max_scan_tuples, HNSW_DEFAULT_MAX_SCAN_TUPLES, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("hnsw.scan_mem_multiplier",
							 "Sets the multiple of work_mem to use for iterative scans",
							 NULL, &hnsw_scan_mem_multiplier, HNSW_DEFAULT_SCAN_MEM_MULTIPLIER,
							 1, 1000, PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("hnsw");

	DefineCustomBoolVariable("semvec.hnsw_unpinned_reads",
							 "Lets hnsw scans measure elements without pinning their pages",
							 "Off: every visited element is read under a pin (slower; for "
							 "testing and for PostgreSQL builds whose buffer headers differ).",
							 &hnsw_unpinned_reads, true, PGC_USERSET, 0, NULL, NULL, NULL);
}

/* Parse and validate reloptions */
static bytea *
hnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, efConstruction)},
	};
	HnswOptions *opts;

	opts = (HnswOptions *) build_reloptions(reloptions, validate, hnsw_relopt_kind,
											sizeof(HnswOptions), tab, lengthof(tab));
	if (validate && opts && opts->efConstruction < 2 * opts->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m")));
	return (bytea *) opts;
}

/* Highest level whose neighbour tuple fits a page */
int
HnswMaxLevelFor(int m)
{
	int			lvl = 0;

	while (lvl < HNSW_MAX_LEVEL && HNSW_NEIGHBOR_TUPLE_SIZE(lvl + 1, m) <= HNSW_PAGE_ROOM)
		lvl++;
	return lvl;
}

/*
 * Work out an index's element type, distance and options, once per
 * relcache entry (rd_amcache), and copy them to *info.  m comes from the
 * metapage once there is one: ALTER INDEX can change the reloption, but
 * the pages keep the lists they were built with.
 */
void
HnswGetIndexInfo(Relation index, HnswIndexInfo * info)
{
	if (index->rd_amcache == NULL)
	{
		HnswIndexInfo tmp;
		HnswOptions *opts = (HnswOptions *) index->rd_options;
		FmgrInfo   *typeProc = NULL;
		bool		unitValues;

		if (OidIsValid(index_getprocid(index, 1, HNSW_TYPE_INFO_PROC)))
			typeProc = index_getprocinfo(index, 1, HNSW_TYPE_INFO_PROC);
		tmp.type = HnswTypeFromProc(typeProc);
		unitValues = HnswMetricInit(&tmp.metric, tmp.type,
									index_getprocinfo(index, 1, HNSW_DISTANCE_PROC),
									index->rd_indcollation[0]);
		tmp.normalize = unitValues || OidIsValid(index_getprocid(index, 1, HNSW_NORM_PROC));
		/* On unit vectors the negative inner product orders as L2 does */
		if (tmp.normalize)
			tmp.metric.nonMetric = false;
		if (tmp.normalize && tmp.type->normalize == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("hnsw cannot normalize values of type %s", tmp.type->name),
					 errdetail("The operator class asks for unit-length values (support function 2).")));
		tmp.m = opts ? opts->m : HNSW_DEFAULT_M;
		tmp.efConstruction = opts ? opts->efConstruction : HNSW_DEFAULT_EF_CONSTRUCTION;
		tmp.typmodDim = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
		if (RelationGetNumberOfBlocks(index) > 0)
			tmp.m = HnswReadMeta(index).m;

		AmCacheCreate(index, &tmp, sizeof(tmp), offsetof(HnswRelCache, hints));
	}
	memcpy(info, index->rd_amcache, sizeof(HnswIndexInfo));
}

/*
 * Estimate the cost of an index scan, with pgvector 0.8's model.  The total
 * is that of reading the whole index (an iterative scan may), and the
 * startup cost, paid before the first row, is the share the first batch
 * reads: entryLevel * m elements on the way down, plus a part of
 * 2m * ef_search at level 0 that shrinks as ef_search grows (neighbours
 * visited already) and grows with the table.  With a filter on other
 * columns the planner then weighs how many batches it expects to need,
 * and a selective filter makes a sequential scan and sort cheaper, as it
 * is.  A table whose values are TOASTed has few heap pages for a
 * sequential scan to read, and an index many: then the startup pages are
 * costed as sequential and no more of them than the heap's, so that such
 * tables still use the index.
 */
static void
hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	GenericCosts costs;
	double		tuples = path->indexinfo->tuples;
	int			m = HNSW_DEFAULT_M;
	int			ef = hnsw_ef_search;
	double		ratio = 1;
	double		startupPages;
	double		spc_seq_page_cost;
	Relation	index;

	/* Without ORDER BY distance the index cannot answer anything */
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
	genericcostestimate(root, path, loop_count, &costs);

	index = index_open(path->indexinfo->indexoid, NoLock);
	if (RelationGetNumberOfBlocks(index) > 0)
		m = HnswReadMeta(index).m;
	index_close(index, NoLock);

	if (tuples > 0)
	{
		int			entryLevel = (int) (log(tuples) / log(m));
		double		layer0 = 2.0 * m * ef * 0.55 * log(tuples) / (log(m) * (1 + log(ef)));

		ratio = Min((entryLevel * m + layer0) / tuples, 1);
	}

	get_tablespace_page_costs(path->indexinfo->reltablespace, NULL, &spc_seq_page_cost);
	costs.indexStartupCost = costs.indexTotalCost * ratio;
	startupPages = costs.numIndexPages * ratio;
	if (startupPages > path->indexinfo->rel->pages && ratio < 0.5)
	{
		costs.indexStartupCost -= startupPages * (costs.spc_random_page_cost - spc_seq_page_cost);
		costs.indexStartupCost -= (startupPages - path->indexinfo->rel->pages) * spc_seq_page_cost;
	}

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = costs.indexCorrelation;
	*indexPages = costs.numIndexPages;
}

/* Name the build sub-phase for pg_stat_progress_create_index */
static char *
hnswbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case PROGRESS_HNSW_PHASE_LOAD:
			return "loading tuples";
		default:
			return NULL;
	}
}

/*
 * Check an opclass: ordering operators, support functions 1 (distance,
 * required), 2 (norm) and 3 (element type)
 */
static bool
hnswvalidate(Oid opclassoid)
{
	static const AmSupportProc procs[] = {
		{HNSW_DISTANCE_PROC, AM_PROC_DISTANCE},
		{HNSW_NORM_PROC, AM_PROC_NORM},
		{HNSW_TYPE_INFO_PROC, AM_PROC_TYPE_INFO},
	};
	static const AmOpclassRules rules = {
		"hnsw", procs, lengthof(procs), HNSW_DISTANCE_PROC, false
	};

	return AmValidateOpclass(opclassoid, &rules);
}

/* Describe the access method to the core */
PG_FUNCTION_INFO_V1(hnswhandler);
Datum
hnswhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 3;
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
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = hnswbuild;
	amroutine->ambuildempty = hnswbuildempty;
	amroutine->aminsert = hnswinsert;
	amroutine->ambulkdelete = hnswbulkdelete;
	amroutine->amvacuumcleanup = hnswvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = hnswcostestimate;
	amroutine->amoptions = hnswoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = hnswbuildphasename;
	amroutine->amvalidate = hnswvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = hnswbeginscan;
	amroutine->amrescan = hnswrescan;
	amroutine->amgettuple = hnswgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = hnswendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
