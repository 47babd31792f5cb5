/*-------------------------------------------------------------------------
 *
 * ivfflat.c
 *	  The ivfflat access method: handler, reloptions, GUCs, cost estimate,
 *	  opclass validation
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"

#include "amcommon/opclass.h"
#include "ivfflat/ivfflat.h"

int			ivfflat_probes = IVFFLAT_DEFAULT_PROBES;
int			ivfflat_iterative_scan = IVFFLAT_ITERATIVE_SCAN_OFF;
int			ivfflat_max_probes = IVFFLAT_MAX_LISTS;

static relopt_kind ivfflat_relopt_kind;

static const struct config_enum_entry ivfflat_iterative_scan_options[] = {
	{"off", IVFFLAT_ITERATIVE_SCAN_OFF, false},
	{"relaxed_order", IVFFLAT_ITERATIVE_SCAN_RELAXED, false},
	{NULL, 0, false}
};

/* Register the reloption and GUCs; called once per backend from _PG_init */
void
IvfflatInit(void)
{
	ivfflat_relopt_kind = add_reloption_kind();
	add_int_reloption(ivfflat_relopt_kind, "lists", "Number of inverted lists",
					  IVFFLAT_DEFAULT_LISTS, IVFFLAT_MIN_LISTS, IVFFLAT_MAX_LISTS,
					  AccessExclusiveLock);

	DefineCustomIntVariable("ivfflat.probes", "Sets the number of probes",
							"Valid range is 1..lists.", &ivfflat_probes,
							IVFFLAT_DEFAULT_PROBES, IVFFLAT_MIN_LISTS, IVFFLAT_MAX_LISTS,
							PGC_USERSET, GUC_EXPLAIN, NULL, NULL, NULL);
	DefineCustomEnumVariable("ivfflat.iterative_scan", "Sets the mode for iterative scans",
							 NULL, &ivfflat_iterative_scan, IVFFLAT_ITERATIVE_SCAN_OFF,
							 ivfflat_iterative_scan_options, PGC_USERSET, GUC_EXPLAIN,
							 NULL, NULL, NULL);
	/* Below probes, probes wins */
	DefineCustomIntVariable("ivfflat.max_probes", "Sets the max number of probes for iterative scans",
							NULL, &ivfflat_max_probes,
							IVFFLAT_MAX_LISTS, IVFFLAT_MIN_LISTS, IVFFLAT_MAX_LISTS,
							PGC_USERSET, GUC_EXPLAIN, NULL, NULL, NULL);
	MarkGUCPrefixReserved("ivfflat");
}

/* Parse and validate reloptions */
static bytea *
ivfflatoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(IvfflatOptions, lists)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ivfflat_relopt_kind,
									  sizeof(IvfflatOptions), tab, lengthof(tab));
}

/*
 * Estimate the cost of an index scan, with pgvector's model so that plans
 * choose the same way: the generic estimate covers reading every index
 * tuple; a scan reads the fraction probes/lists of them, all before it
 * returns its first row, so that fraction is the startup cost.  Half of
 * the pages a list holds are read in sequence.  When the lists probed
 * would span more pages than the table (large vectors are TOASTed, so a
 * sequential scan never reads them), the startup cost is brought down to
 * what a sequential scan of the table would pay, so that the index is not
 * ruled out against a plan whose cost leaves the TOAST reads out.
 */
static void
ivfflatcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
					Cost *indexStartupCost, Cost *indexTotalCost,
					Selectivity *indexSelectivity, double *indexCorrelation,
					double *indexPages)
{
	GenericCosts costs;
	Relation	index;
	int			lists;
	double		ratio;
	double		seqPageCost;
	double		randomExtra;
	double		startupPages;
	double		heapPages = path->indexinfo->rel->pages;
	Cost		startup;

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
	lists = (int) IvfflatReadMeta(index).lists;
	index_close(index, NoLock);

	ratio = (double) ivfflat_probes / Max(lists, 1);
	if (ratio > 1.0)
		ratio = 1.0;

	get_tablespace_page_costs(path->indexinfo->reltablespace, NULL, &seqPageCost);
	randomExtra = costs.spc_random_page_cost - seqPageCost;

	costs.indexTotalCost -= 0.5 * costs.numIndexPages * randomExtra;
	startup = costs.indexTotalCost * ratio;

	startupPages = costs.numIndexPages * ratio;
	if (startupPages > heapPages && ratio < 0.5)
	{
		startup -= 0.5 * startupPages * randomExtra;
		startup -= (startupPages - heapPages) * seqPageCost;
	}

	*indexStartupCost = startup;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = costs.indexCorrelation;
	*indexPages = costs.numIndexPages;
}

/* Name the build sub-phase for pg_stat_progress_create_index */
static char *
ivfflatbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case PROGRESS_IVFFLAT_PHASE_KMEANS:
			return "performing k-means";
		case PROGRESS_IVFFLAT_PHASE_ASSIGN:
			return "assigning tuples";
		case PROGRESS_IVFFLAT_PHASE_LOAD:
			return "loading tuples";
		default:
			return NULL;
	}
}

/*
 * Check an opclass: ordering operators, support functions 1 (distance,
 * required), 2 (norm), 3 (k-means distance), 4 (k-means norm) and
 * 5 (element type)
 */
static bool
ivfflatvalidate(Oid opclassoid)
{
	static const AmSupportProc procs[] = {
		{IVFFLAT_DISTANCE_PROC, AM_PROC_DISTANCE},
		{IVFFLAT_NORM_PROC, AM_PROC_NORM},
		{IVFFLAT_KMEANS_DISTANCE_PROC, AM_PROC_DISTANCE},
		{IVFFLAT_KMEANS_NORM_PROC, AM_PROC_NORM},
		{IVFFLAT_TYPE_INFO_PROC, AM_PROC_TYPE_INFO},
	};
	static const AmOpclassRules rules = {
		"ivfflat", procs, lengthof(procs), IVFFLAT_DISTANCE_PROC, false
	};

	return AmValidateOpclass(opclassoid, &rules);
}

/* Describe the access method to the core */
PG_FUNCTION_INFO_V1(ivfflathandler);
Datum
ivfflathandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 5;
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

	amroutine->ambuild = ivfflatbuild;
	amroutine->ambuildempty = ivfflatbuildempty;
	amroutine->aminsert = ivfflatinsert;
	amroutine->ambulkdelete = ivfflatbulkdelete;
	amroutine->amvacuumcleanup = ivfflatvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = ivfflatcostestimate;
	amroutine->amoptions = ivfflatoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = ivfflatbuildphasename;
	amroutine->amvalidate = ivfflatvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = ivfflatbeginscan;
	amroutine->amrescan = ivfflatrescan;
	amroutine->amgettuple = ivfflatgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = ivfflatendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
