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

#include "access/amvalidate.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
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
#include "utils/syscache.h"

#include "hnsw/hnsw.h"

/* The vector type's C functions, used to recognise the support functions */
extern Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum l2_distance(PG_FUNCTION_ARGS);
extern Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum cosine_distance(PG_FUNCTION_ARGS);
extern Datum l1_distance(PG_FUNCTION_ARGS);
extern Datum vector_norm(PG_FUNCTION_ARGS);

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
				 errmsg("ef_construction must be greater than or equal to 2 * m"),
				 errdetail("ef_construction is %d and m is %d.", opts->efConstruction, opts->m)));
	return (bytea *) opts;
}

/* Largest level whose element tuple still fits a page; -1 if none does */
int
HnswMaxLevelFor(int dim, int m)
{
	int			lvl = -1;

	while (lvl < HNSW_MAX_LEVEL &&
		   HNSW_ELEMENT_TUPLE_SIZE(dim, lvl + 1, m) <= HNSW_PAGE_ROOM)
		lvl++;
	return lvl;
}

/* Largest dimension whose level-0 element tuple fits a page */
int
HnswMaxDimFor(int m)
{
	int			dim = (HNSW_PAGE_ROOM - offsetof(HnswElementTupleData, x)) / sizeof(float);

	while (dim > 0 && HNSW_ELEMENT_TUPLE_SIZE(dim, 0, m) > HNSW_PAGE_ROOM)
		dim--;
	return Min(dim, VECTOR_MAX_DIM);
}

/* Work out the distance kernel and options of an index, cached in rd_amcache */
void
HnswGetIndexInfo(Relation index, HnswIndexInfo * info)
{
	if (index->rd_amcache == NULL)
	{
		HnswIndexInfo tmp;
		FmgrInfo   *dist = index_getprocinfo(index, 1, HNSW_DISTANCE_PROC);
		HnswOptions *opts = (HnswOptions *) index->rd_options;
		PGFunction	fn = dist->fn_addr;

		tmp.normalize = OidIsValid(index_getprocid(index, 1, HNSW_NORM_PROC));
		if (tmp.normalize)
		{
			FmgrInfo   *norm = index_getprocinfo(index, 1, HNSW_NORM_PROC);

			if (norm->fn_addr != vector_norm)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("hnsw norm support function %s is not supported",
								format_procedure(norm->fn_oid)),
						 errdetail("Only vector_norm(vector) can be used as support function 2.")));
		}
		if (fn == vector_l2_squared_distance || fn == l2_distance)
			tmp.kind = HNSW_DIST_L2;
		else if (fn == l1_distance)
			tmp.kind = HNSW_DIST_L1;
		else if (fn == vector_negative_inner_product)
			tmp.kind = tmp.normalize ? HNSW_DIST_COSINE : HNSW_DIST_IP;
		else if (fn == cosine_distance)
		{
			tmp.kind = HNSW_DIST_COSINE;
			tmp.normalize = true;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("hnsw distance support function %s is not supported",
							format_procedure(dist->fn_oid)),
					 errdetail("Support function 1 must be one of the vector distance functions.")));

		tmp.m = opts ? opts->m : HNSW_DEFAULT_M;
		tmp.efConstruction = opts ? opts->efConstruction : HNSW_DEFAULT_EF_CONSTRUCTION;
		tmp.typmodDim = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
		index->rd_amcache = MemoryContextAllocZero(index->rd_indexcxt,
												   offsetof(HnswRelCache, recent));
		memcpy(index->rd_amcache, &tmp, sizeof(HnswIndexInfo));
	}
	memcpy(info, index->rd_amcache, sizeof(HnswIndexInfo));
}

/*
 * Estimate the cost of an index scan.  The search visits roughly
 * ef_search * m nodes at level 0 plus a few per upper level, whatever the
 * table size, and returns nothing until it is done, so startup = total.
 */
static void
hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	GenericCosts costs;
	double		tuples = Max(path->indexinfo->tuples, 1);
	int			m = HNSW_DEFAULT_M;
	double		visited;
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

	index = index_open(path->indexinfo->indexoid, NoLock);
	if (index->rd_options)
		m = ((HnswOptions *) index->rd_options)->m;
	index_close(index, NoLock);

	/* Measured: about ef_search * m distance computations at level 0 */
	visited = (double) hnsw_ef_search * m + log(tuples) * m;
	if (hnsw_iterative_scan != HNSW_ITERATIVE_SCAN_OFF)
		visited *= 2;
	visited = Min(visited, tuples);

	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = visited;
	genericcostestimate(root, path, loop_count, &costs);

	*indexStartupCost = costs.indexTotalCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
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

/* Check an opclass: one ordering operator, distance and optional norm functions */
static bool
hnswvalidate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	HeapTuple	familytup;
	char	   *opfamilyname;
	CatCList   *proclist,
			   *oprlist;
	bool		hasDistance = false;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	familytup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
	if (!HeapTupleIsValid(familytup))
		elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
	opfamilyname = NameStr(((Form_pg_opfamily) GETSTRUCT(familytup))->opfname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);
		bool		ok;

		switch (procform->amprocnum)
		{
			case HNSW_DISTANCE_PROC:
				ok = check_amproc_signature(procform->amproc, FLOAT8OID, true, 2, 2,
											procform->amproclefttype, procform->amprocrighttype);
				if (procform->amproclefttype == opcintype)
					hasDistance = true;
				break;
			case HNSW_NORM_PROC:
				ok = check_amproc_signature(procform->amproc, FLOAT8OID, true, 1, 1,
											procform->amproclefttype);
				break;
			default:
				ereport(INFO,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("operator family \"%s\" of access method %s contains function %s with invalid support number %d",
								opfamilyname, "hnsw", format_procedure(procform->amproc),
								procform->amprocnum)));
				result = false;
				continue;
		}
		if (!ok)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains function %s with wrong signature for support number %d",
							opfamilyname, "hnsw", format_procedure(procform->amproc),
							procform->amprocnum)));
			result = false;
		}
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != 1 || oprform->amoppurpose != AMOP_ORDER)
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains operator %s with invalid strategy number or purpose",
							opfamilyname, "hnsw", format_operator(oprform->amopopr))));
			result = false;
			continue;
		}
		if (!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method %s contains operator %s with wrong signature",
							opfamilyname, "hnsw", format_operator(oprform->amopopr))));
			result = false;
		}
	}

	if (!hasDistance)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("operator class \"%s\" of access method %s is missing support function %d",
						opclassname, "hnsw", HNSW_DISTANCE_PROC)));
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(familytup);
	ReleaseSysCache(classtup);
	return result;
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
