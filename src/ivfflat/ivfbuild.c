/*-------------------------------------------------------------------------
 *
 * ivfbuild.c
 *	  Build an ivfflat index
 *
 * 1. Sample: rows from a random sample of the table's blocks, kept with a
 *    reservoir (as ANALYZE does): max(50 * lists, 10000) rows, fewer when
 *    that many would not fit in maintenance_work_mem with k-means' own
 *    memory.
 * 2. Centres: k-means on the sample (ivfkmeans.c), or, with no more sampled
 *    rows than lists, the distinct rows plus random points (with a NOTICE
 *    when there are fewer rows than lists, as pgvector gives).
 * 3. Metapage and list pages.
 * 4. Assign: a scan of the table puts (list, heap TID, value) of every row
 *    into a sort, by list then TID; the lists are chosen many rows at a
 *    time (ivfassign.c).  With parallel workers (planned by PostgreSQL as
 *    for a btree build), each participant scans part of the table into its
 *    own sort and the leader merges them.
 * 5. Load: the sorted rows are written list by list into chains of data
 *    pages, and each list tuple learns its first and last page.
 *
 * Pages are written without WAL; once done, the relation is WAL-logged
 * page by page with log_newpage_range, as hnsw does.  Sampling and k-means
 * use a fixed seed, so the same table builds the same centres.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "ivfflat/ivfflat.h"

/* Seed of the sampling and of k-means: the same table, the same centres */
#define IVFFLAT_BUILD_SEED			UINT64CONST(0x5EED1F1A7)

#define IVFFLAT_SHARED_KEY			UINT64CONST(0x1FF1A70000000001)
#define IVFFLAT_SORT_KEY			UINT64CONST(0x1FF1A70000000002)
#define IVFFLAT_CENTERS_KEY			UINT64CONST(0x1FF1A70000000003)

/*
 * What the participants of a parallel build share: this header, then the
 * parallel table scan.  The centres and the shared sort have keys of their
 * own.
 */
typedef struct IvfflatShared
{
	/* Immutable */
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			scantuplesortstates;
	int			lists;
	int			dim;
	Size		itemSize;

	/* Participants report here when their sort is done */
	ConditionVariable workersdonecv;
	slock_t		mutex;
	int			nparticipantsdone;
	double		reltuples;
	double		indtuples;
}			IvfflatShared;

#define ParallelTableScanFromIvfflatShared(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(IvfflatShared))))

typedef struct IvfflatBuildState
{
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;
	IvfflatIndexInfo info;
	ForkNumber	forkNum;
	int			dim;
	int			lists;

	/* Sampling */
	IvfflatKmeansData km;
	int			sampleCap;		/* most rows the sample may hold */
	int			sampleAlloc;	/* rows allocated so far */
	double		rowsSeen;
	double		rowsToSkip;
	ReservoirStateData rstate;
	pg_prng_state prng;

	/* Centres, and rows waiting for their lists */
	IvfflatCenters *centers;
	IvfflatAssigner assigner;

	/* Assignment */
	TupleDesc	sortdesc;
	TupleTableSlot *slot;		/* rows into the sort */
	TupleTableSlot *mslot;		/* rows out of it */
	Tuplesortstate *sort;
	double		indtuples;
	double		reltuples;
	bool		progress;

	MemoryContext buildCtx;		/* lives as long as the build */
	MemoryContext tmpCtx;		/* reset after each row */
}			IvfflatBuildState;

/* ----------------------------------------------------------------
 *		Setup
 * ----------------------------------------------------------------
 */

/* Check the column and settle type, dimensions and lists */
static void
InitBuildState(IvfflatBuildState * bs, Relation heap, Relation index,
			   IndexInfo *indexInfo, ForkNumber forkNum)
{
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(index), 0);

	memset(bs, 0, sizeof(IvfflatBuildState));
	bs->heap = heap;
	bs->index = index;
	bs->indexInfo = indexInfo;
	bs->forkNum = forkNum;

	/* bit strings of one length only: the index needs fixed dimensions */
	if (attr->atttypid == VARBITOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type not supported for ivfflat index")));

	IvfflatGetIndexInfo(index, &bs->info);
	bs->dim = attr->atttypmod;
	if (bs->dim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column does not have dimensions")));
	if (bs->dim > bs->info.ops->maxDim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for ivfflat index",
						bs->info.ops->maxDim)));
	bs->lists = bs->info.lists;

	bs->km.dim = bs->dim;
	bs->km.isBits = bs->info.ops->isBits;
	bs->km.spherical = bs->info.kind == IVFFLAT_KIND_IP || bs->info.kind == IVFFLAT_KIND_COSINE;
	bs->km.rowBytes = IvfflatKmeansRowBytes(bs->dim, bs->km.isBits);
	bs->km.k = bs->lists;

	pg_prng_seed(&bs->prng, IVFFLAT_BUILD_SEED);
	bs->buildCtx = CurrentMemoryContext;
	bs->tmpCtx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat build temporary context",
									   ALLOCSET_DEFAULT_SIZES);
}

/* ----------------------------------------------------------------
 *		Sampling
 * ----------------------------------------------------------------
 */

/*
 * A value as a k-means row; false for a row k-means cannot use (under
 * inner product, a zero vector has no direction to cluster by).
 */
static bool
ValueToRow(IvfflatBuildState * bs, const void *value, char *row)
{
	if (bs->km.isBits)
		memset(row, 0, bs->km.rowBytes);
	bs->info.ops->toRow(value, row);
	if (bs->info.kind == IVFFLAT_KIND_IP)
		return IvfflatNormalizeRow((float *) row, bs->dim);
	return true;
}

/* The next free sample row, growing the array up to sampleCap rows */
static char *
NextSampleRow(IvfflatBuildState * bs)
{
	IvfflatKmeansData *km = &bs->km;

	if (km->nsamples == bs->sampleAlloc)
	{
		int			want = Min(Max(bs->sampleAlloc * 2, 1024), bs->sampleCap);
		Size		bytes = km->rowBytes * (Size) want;

		if (km->samples == NULL)
			km->samples = MemoryContextAllocExtended(bs->buildCtx, bytes, MCXT_ALLOC_HUGE);
		else
			km->samples = repalloc_huge(km->samples, bytes);
		bs->sampleAlloc = want;
	}
	return km->samples + km->rowBytes * (Size) km->nsamples;
}

/* Reservoir sampling of the rows the block sample yields */
static void
SampleCallback(Relation index, ItemPointer tid, Datum *values,
			   bool *isnull, bool tupleIsAlive, void *state)
{
	IvfflatBuildState *bs = state;
	IvfflatKmeansData *km = &bs->km;
	MemoryContext oldCtx;
	void	   *value;

	if (isnull[0])
		return;

	oldCtx = MemoryContextSwitchTo(bs->tmpCtx);
	value = IvfflatPrepareValue(&bs->info, values[0], false);
	if (value != NULL)
	{
		if (km->nsamples < bs->sampleCap)
		{
			if (ValueToRow(bs, value, NextSampleRow(bs)))
				km->nsamples++;
		}
		else
		{
			/* Vitter's algorithm Z over the rows seen, as ANALYZE does */
			if (bs->rowsToSkip < 0)
				bs->rowsToSkip = reservoir_get_next_S(&bs->rstate, bs->rowsSeen, bs->sampleCap);
			if (bs->rowsToSkip <= 0)
			{
				int			k = (int) (bs->sampleCap * sampler_random_fract(&bs->rstate.randstate));
				char	   *tmp = palloc(km->rowBytes);

				if (ValueToRow(bs, value, tmp))
					memcpy(km->samples + km->rowBytes * (Size) k, tmp, km->rowBytes);
			}
			bs->rowsToSkip -= 1;
		}
		bs->rowsSeen += 1;
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);
}

/*
 * How many rows to sample: pgvector's max(50 * lists, 10000), fewer if
 * those and k-means' own memory would exceed maintenance_work_mem, but
 * always one more than lists, so that a table too big for k-means in that
 * memory is told so (see CheckKmeansMemory) rather than clustered by
 * chance.
 */
static void
PlanSample(IvfflatBuildState * bs, int *wanted)
{
	Size		limit = (Size) maintenance_work_mem * 1024L;
	Size		fixed = IvfflatKmeansMemory(0, bs->lists, bs->dim, bs->km.isBits);
	Size		perRow = IvfflatKmeansMemory(1, bs->lists, bs->dim, bs->km.isBits) - fixed;
	int64		want = Max((int64) bs->lists * 50, 10000);
	int64		cap = want;

	if (fixed + (Size) cap * perRow > limit)
		cap = fixed < limit ? (int64) ((limit - fixed) / perRow) : 0;
	cap = Max(cap, (int64) bs->lists + 1);
	cap = Min(cap, (int64) (MaxAllocHugeSize / bs->km.rowBytes));
	*wanted = (int) Min(want, INT_MAX);
	bs->sampleCap = (int) Min(cap, INT_MAX);
}

/* Fill bs->km with a sample of the table's rows */
static void
SampleRows(IvfflatBuildState * bs, int *wanted)
{
	BlockSamplerData sampler;
	BlockNumber nblocks = RelationGetNumberOfBlocks(bs->heap);

	PlanSample(bs, wanted);
	bs->rowsToSkip = -1;
	BlockSampler_Init(&sampler, nblocks, bs->sampleCap, (uint32) pg_prng_uint32(&bs->prng));
	reservoir_init_selection_state(&bs->rstate, bs->sampleCap);
	sampler_random_init_state((uint32) pg_prng_uint32(&bs->prng), &bs->rstate.randstate);

	while (BlockSampler_HasMore(&sampler))
	{
		BlockNumber blkno = BlockSampler_Next(&sampler);

		CHECK_FOR_INTERRUPTS();
		table_index_build_range_scan(bs->heap, bs->index, bs->indexInfo,
									 false, true, false, blkno, 1,
									 SampleCallback, bs, NULL);
	}
}

/* ----------------------------------------------------------------
 *		Centres
 * ----------------------------------------------------------------
 */

static int
CompareRows(const void *a, const void *b, void *arg)
{
	return memcmp(a, b, *(Size *) arg);
}

/*
 * Centres from no more rows than lists: the distinct rows, then random
 * points (see IvfflatRandomCenter) for the lists left over.
 */
static void
QuickCenters(IvfflatBuildState * bs)
{
	IvfflatKmeansData *km = &bs->km;
	int			n = 0;

	if (km->nsamples > 0)
	{
		qsort_arg(km->samples, km->nsamples, km->rowBytes, CompareRows, &km->rowBytes);
		for (int i = 0; i < km->nsamples; i++)
		{
			char	   *row = km->samples + km->rowBytes * (Size) i;

			if (i > 0 && memcmp(row, row - km->rowBytes, km->rowBytes) == 0)
				continue;
			memcpy(km->centers + km->rowBytes * (Size) n++, row, km->rowBytes);
		}
	}
	for (; n < km->k; n++)
		IvfflatRandomCenter(km, km->centers + km->rowBytes * (Size) n, &bs->prng);
}

/* Refuse a k-means that would exceed maintenance_work_mem */
static void
CheckKmeansMemory(IvfflatBuildState * bs, int wanted)
{
	Size		limit = (Size) maintenance_work_mem * 1024L;
	Size		need = IvfflatKmeansMemory(bs->km.nsamples, bs->lists, bs->dim, bs->km.isBits);

	if (need > limit)
	{
		/* Say what the full sample would need */
		Size		full = IvfflatKmeansMemory(Max(wanted, bs->km.nsamples), bs->lists,
											   bs->dim, bs->km.isBits);

		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("memory required is %zu MB, maintenance_work_mem is %d MB",
						full / (1024 * 1024) + 1, maintenance_work_mem / 1024),
				 errhint("Increase maintenance_work_mem or use fewer lists.")));
	}
}

/* Turn the k-means rows into stored centres and check them */
static void
StoreCenters(IvfflatBuildState * bs)
{
	IvfflatKmeansData *km = &bs->km;
	IvfflatCenters *c = palloc0(sizeof(IvfflatCenters));

	c->lists = bs->lists;
	c->dim = bs->dim;
	c->itemSize = MAXALIGN(bs->info.ops->valueSize(bs->dim));
	c->items = palloc_extended(c->itemSize * bs->lists, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int i = 0; i < bs->lists; i++)
	{
		const char *row = km->centers + km->rowBytes * (Size) i;

		if (!km->isBits)
		{
			for (int e = 0; e < bs->dim; e++)
			{
				if (!isfinite(((const float *) row)[e]))
					elog(ERROR, "ivfflat k-means produced a non-finite centre");
			}
		}
		bs->info.ops->fromRow(row, bs->dim, IvfflatCenter(c, i));
	}
	bs->centers = c;
}

/* Sample the table (if any) and compute the centres */
static void
ComputeCenters(IvfflatBuildState * bs)
{
	IvfflatKmeansData *km = &bs->km;
	int			wanted = 0;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_IVFFLAT_PHASE_KMEANS);

	if (bs->heap != NULL)
	{
		SampleRows(bs, &wanted);
		if (km->nsamples < bs->lists)
			ereport(NOTICE,
					(errmsg("ivfflat index created with little data"),
					 errdetail("This will cause low recall."),
					 errhint("Drop the index until the table has more data.")));
	}

	km->centers = palloc_extended(km->rowBytes * (Size) bs->lists, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	if (km->nsamples <= bs->lists)
		QuickCenters(bs);
	else
	{
		CheckKmeansMemory(bs, wanted);
		if (bs->sampleCap < wanted && bs->rowsSeen > bs->sampleCap)
			ereport(NOTICE,
					(errmsg("ivfflat k-means uses %d sampled rows instead of %d",
							km->nsamples, wanted),
					 errdetail("maintenance_work_mem does not hold more."),
					 errhint("Increase maintenance_work_mem for centres from a larger sample.")));
		IvfflatKmeans(km, &bs->prng);
	}
	StoreCenters(bs);

	if (km->samples)
		pfree(km->samples);
	km->samples = NULL;
	pfree(km->centers);
	km->centers = NULL;
}

/* ----------------------------------------------------------------
 *		Pages
 * ----------------------------------------------------------------
 */

/* Write the metapage and the list tuples (with no data pages yet) */
static void
WriteMetaAndLists(IvfflatBuildState * bs)
{
	Relation	index = bs->index;
	IvfflatCenters *c = bs->centers;
	Size		valsize = bs->info.ops->valueSize(bs->dim);
	Size		tupsize = IVFFLAT_LIST_TUPLE_SIZE(valsize);
	IvfflatListTuple lt = palloc0(tupsize);
	Buffer		metabuf;
	Buffer		buf;
	Page		page;
	IvfflatMetaPage meta;
	uint32		listPages = 1;

	metabuf = AmExtendIndex(index, bs->forkNum);
	Assert(BufferGetBlockNumber(metabuf) == IVFFLAT_METAPAGE_BLKNO);
	page = BufferGetPage(metabuf);
	IvfflatInitPage(page, IVFFLAT_META_PAGE);

	c->locs = palloc(sizeof(IvfflatListLoc) * c->lists);
	buf = AmExtendIndex(index, bs->forkNum);
	page = BufferGetPage(buf);
	IvfflatInitPage(page, IVFFLAT_LIST_PAGE);
	for (int i = 0; i < c->lists; i++)
	{
		OffsetNumber off;

		if (PageGetFreeSpace(page) < tupsize)
		{
			Buffer		next = AmExtendIndex(index, bs->forkNum);

			IvfflatPageGetOpaque(page)->nextblkno = BufferGetBlockNumber(next);
			MarkBufferDirty(buf);
			UnlockReleaseBuffer(buf);
			buf = next;
			page = BufferGetPage(buf);
			IvfflatInitPage(page, IVFFLAT_LIST_PAGE);
			listPages++;
		}
		lt->startPage = InvalidBlockNumber;
		lt->insertPage = InvalidBlockNumber;
		memcpy(lt->center, IvfflatCenter(c, i), valsize);
		off = PageAddItem(page, (Item) lt, tupsize, InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber)
			elog(ERROR, "failed to add list tuple to \"%s\"", RelationGetRelationName(index));
		c->locs[i].blkno = BufferGetBlockNumber(buf);
		c->locs[i].offno = off;
	}
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);

	page = BufferGetPage(metabuf);
	meta = IvfflatPageGetMeta(page);
	meta->magic = IVFFLAT_MAGIC;
	meta->version = IVFFLAT_VERSION;
	meta->dimensions = bs->dim;
	meta->lists = bs->lists;
	meta->listPages = listPages;
	meta->kind = bs->info.kind;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(IvfflatMetaPageData)) - (char *) page;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	pfree(lt);
}

/* Record where list i's pages are, in its list tuple */
static void
SetListPages(IvfflatBuildState * bs, int i, BlockNumber start, BlockNumber last)
{
	IvfflatListLoc *loc = &bs->centers->locs[i];
	Buffer		buf = ReadBufferExtended(bs->index, bs->forkNum, loc->blkno, RBM_NORMAL, NULL);
	Page		page;
	IvfflatListTuple lt;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	lt = (IvfflatListTuple) PageGetItem(page, PageGetItemId(page, loc->offno));
	lt->startPage = start;
	lt->insertPage = last;
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/* ----------------------------------------------------------------
 *		Assignment
 * ----------------------------------------------------------------
 */

/* The sort's tuple: (list int4, heap TID, value) */
static TupleDesc
SortTupleDesc(Relation index)
{
	TupleDesc	desc = CreateTemplateTupleDesc(3);

	TupleDescInitEntry(desc, (AttrNumber) 1, "list", INT4OID, -1, 0);
	TupleDescInitEntry(desc, (AttrNumber) 2, "tid", TIDOID, -1, 0);
	TupleDescInitEntry(desc, (AttrNumber) 3, "value",
					   TupleDescAttr(RelationGetDescr(index), 0)->atttypid, -1, 0);
	return desc;
}

/* A sort by list, then heap TID (so that pages come out the same) */
static Tuplesortstate *
BeginSort(IvfflatBuildState * bs, int workMem, SortCoordinate coordinate)
{
	AttrNumber	attNums[] = {1, 2};
	Oid			sortOperators[] = {Int4LessOperator, TIDLessOperator};
	Oid			sortCollations[] = {InvalidOid, InvalidOid};
	bool		nullsFirstFlags[] = {false, false};

	return tuplesort_begin_heap(bs->sortdesc, 2, attNums, sortOperators, sortCollations,
								nullsFirstFlags, workMem, coordinate, TUPLESORT_NONE);
}

/* Put the rows collected so far into the sort with their lists */
static void
FlushAssigned(IvfflatBuildState * bs)
{
	IvfflatAssigner *as = &bs->assigner;
	TupleTableSlot *slot = bs->slot;

	IvfflatAssignBatch(as);
	for (int r = 0; r < as->n; r++)
	{
		ExecClearTuple(slot);
		slot->tts_values[0] = Int32GetDatum(as->lists[r]);
		slot->tts_values[1] = PointerGetDatum(&as->tids[r]);
		slot->tts_values[2] = PointerGetDatum(as->values + as->valueSize * r);
		slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
		ExecStoreVirtualTuple(slot);
		tuplesort_puttupleslot(bs->sort, slot);
	}
	as->n = 0;
}

/* Collect every row for assignment to its list */
static void
AssignCallback(Relation index, ItemPointer tid, Datum *values,
			   bool *isnull, bool tupleIsAlive, void *state)
{
	IvfflatBuildState *bs = state;
	MemoryContext oldCtx;
	void	   *value;

	if (isnull[0])
		return;

	oldCtx = MemoryContextSwitchTo(bs->tmpCtx);
	value = IvfflatPrepareValue(&bs->info, values[0], false);
	if (value != NULL)
	{
		if (IvfflatAssignAdd(&bs->assigner, value, tid))
			FlushAssigned(bs);
		bs->indtuples++;
		if (bs->progress && ((int64) bs->indtuples % 1024) == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);
}

/* ----------------------------------------------------------------
 *		Load
 * ----------------------------------------------------------------
 */

/* Write the sorted rows list by list into chains of data pages */
static void
LoadSortedRows(IvfflatBuildState * bs)
{
	Relation	index = bs->index;
	Size		valsize = bs->info.ops->valueSize(bs->dim);
	Size		tupsize = IVFFLAT_TUPLE_SIZE(valsize);
	IvfflatTuple tup = palloc0(tupsize);
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	int			list = -1;
	BlockNumber start = InvalidBlockNumber;
	double		loaded = 0;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_IVFFLAT_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) bs->indtuples);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);

	for (;;)
	{
		bool		more = tuplesort_gettupleslot(bs->sort, true, false, bs->mslot, NULL);
		int			next = -1;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (more)
			next = DatumGetInt32(slot_getattr(bs->mslot, 1, &isnull));

		/* A list ends: finish its last page and record its chain */
		if (!more || next != list)
		{
			if (BufferIsValid(buf))
			{
				BlockNumber last = BufferGetBlockNumber(buf);

				MarkBufferDirty(buf);
				UnlockReleaseBuffer(buf);
				buf = InvalidBuffer;
				SetListPages(bs, list, start, last);
			}
			if (!more)
				break;
			if (next < 0 || next >= bs->lists)
				elog(ERROR, "ivfflat build sorted a row into list %d of %d", next, bs->lists);
			list = next;
			buf = AmExtendIndex(index, bs->forkNum);
			page = BufferGetPage(buf);
			IvfflatInitPage(page, IVFFLAT_DATA_PAGE);
			start = BufferGetBlockNumber(buf);
		}
		else if (PageGetFreeSpace(page) < tupsize)
		{
			Buffer		nextbuf = AmExtendIndex(index, bs->forkNum);

			IvfflatPageGetOpaque(page)->nextblkno = BufferGetBlockNumber(nextbuf);
			MarkBufferDirty(buf);
			UnlockReleaseBuffer(buf);
			buf = nextbuf;
			page = BufferGetPage(buf);
			IvfflatInitPage(page, IVFFLAT_DATA_PAGE);
		}

		{
			ItemPointer tid = (ItemPointer) DatumGetPointer(slot_getattr(bs->mslot, 2, &isnull));
			struct varlena *v = (struct varlena *) DatumGetPointer(slot_getattr(bs->mslot, 3, &isnull));
			Size		len = VARSIZE_ANY_EXHDR(v);

			/* The sort may have shortened the header; store a 4-byte one */
			if (len + VARHDRSZ != valsize)
				elog(ERROR, "ivfflat build found a value of %zu bytes, expected %zu",
					 len + VARHDRSZ, valsize);
			tup->heaptid = *tid;
			SET_VARSIZE(tup->value, valsize);
			memcpy(VARDATA(tup->value), VARDATA_ANY(v), len);
			if (PageAddItem(page, (Item) tup, tupsize, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
				elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
		}
		loaded++;
		if (((int64) loaded % 1024) == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) loaded);
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) loaded);
	pfree(tup);
}

/* ----------------------------------------------------------------
 *		Parallel assignment
 * ----------------------------------------------------------------
 */

/* One participant's share: scan part of the table into its own sort */
static void
ParallelScanAndSort(IvfflatBuildState * bs, IvfflatShared * shared, Sharedsort *sharedsort,
					int sortmem)
{
	SortCoordinate coordinate = palloc0(sizeof(SortCoordinateData));
	TableScanDesc scan;
	double		reltuples;

	coordinate->isWorker = true;
	coordinate->nParticipants = -1;
	coordinate->sharedsort = sharedsort;
	bs->sort = BeginSort(bs, sortmem, coordinate);

	scan = table_beginscan_parallel(bs->heap, ParallelTableScanFromIvfflatShared(shared));
	reltuples = table_index_build_scan(bs->heap, bs->index, bs->indexInfo, true, bs->progress,
									   AssignCallback, bs, scan);
	FlushAssigned(bs);
	tuplesort_performsort(bs->sort);

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->reltuples += reltuples;
	shared->indtuples += bs->indtuples;
	SpinLockRelease(&shared->mutex);
	ConditionVariableSignal(&shared->workersdonecv);

	tuplesort_end(bs->sort);
	bs->sort = NULL;
}

/* Entry point of a parallel build worker (found by name by the launcher) */
void
IvfflatParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	IvfflatShared *shared = shm_toc_lookup(toc, IVFFLAT_SHARED_KEY, false);
	Sharedsort *sharedsort = shm_toc_lookup(toc, IVFFLAT_SORT_KEY, false);
	char	   *items = shm_toc_lookup(toc, IVFFLAT_CENTERS_KEY, false);
	LOCKMODE	heapLockmode = shared->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	indexLockmode = shared->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	IvfflatBuildState bs;
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;

	heap = table_open(shared->heaprelid, heapLockmode);
	index = index_open(shared->indexrelid, indexLockmode);
	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = shared->isconcurrent;

	InitBuildState(&bs, heap, index, indexInfo, MAIN_FORKNUM);
	bs.centers = palloc0(sizeof(IvfflatCenters));
	bs.centers->lists = shared->lists;
	bs.centers->dim = shared->dim;
	bs.centers->itemSize = shared->itemSize;
	bs.centers->items = items;
	bs.sortdesc = SortTupleDesc(index);
	bs.slot = MakeSingleTupleTableSlot(bs.sortdesc, &TTSOpsVirtual);
	IvfflatAssignInit(&bs.assigner, &bs.info, bs.centers, bs.buildCtx);

	tuplesort_attach_shared(sharedsort, seg);
	ParallelScanAndSort(&bs, shared, sharedsort,
						maintenance_work_mem / shared->scantuplesortstates);

	ExecDropSingleTupleTableSlot(bs.slot);
	index_close(index, indexLockmode);
	table_close(heap, heapLockmode);
}

/*
 * Assign with nworkers parallel workers and the leader; on success the
 * leader's merged sort is in bs->sort and *pcxtp must be ended with
 * EndParallel once the rows are loaded.  False (nothing done) when no
 * worker could be started.
 */
static bool
AssignParallel(IvfflatBuildState * bs, int nworkers, ParallelContext **pcxtp, Snapshot *snapshotp)
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		sharedSize;
	Size		sortSize;
	Size		centersSize = bs->centers->itemSize * (Size) bs->lists;
	int			scantuplesortstates = nworkers + 1;
	int			participants;
	IvfflatShared *shared;
	Sharedsort *sharedsort;
	char	   *items;
	SortCoordinate coordinate;
	bool		isconcurrent = bs->indexInfo->ii_Concurrent;

	EnterParallelMode();
	pcxt = CreateParallelContext("semvec", "IvfflatParallelBuildMain", nworkers);

	snapshot = isconcurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	sharedSize = add_size(BUFFERALIGN(sizeof(IvfflatShared)),
						  table_parallelscan_estimate(bs->heap, snapshot));
	sortSize = tuplesort_estimate_shared(scantuplesortstates);
	shm_toc_estimate_chunk(&pcxt->estimator, sharedSize);
	shm_toc_estimate_chunk(&pcxt->estimator, sortSize);
	shm_toc_estimate_chunk(&pcxt->estimator, centersSize);
	shm_toc_estimate_keys(&pcxt->estimator, 3);

	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}

	shared = shm_toc_allocate(pcxt->toc, sharedSize);
	shared->heaprelid = RelationGetRelid(bs->heap);
	shared->indexrelid = RelationGetRelid(bs->index);
	shared->isconcurrent = isconcurrent;
	shared->scantuplesortstates = scantuplesortstates;
	shared->lists = bs->lists;
	shared->dim = bs->dim;
	shared->itemSize = bs->centers->itemSize;
	ConditionVariableInit(&shared->workersdonecv);
	SpinLockInit(&shared->mutex);
	shared->nparticipantsdone = 0;
	shared->reltuples = 0;
	shared->indtuples = 0;
	table_parallelscan_initialize(bs->heap, ParallelTableScanFromIvfflatShared(shared), snapshot);

	sharedsort = shm_toc_allocate(pcxt->toc, sortSize);
	tuplesort_initialize_shared(sharedsort, scantuplesortstates, pcxt->seg);

	items = shm_toc_allocate(pcxt->toc, centersSize);
	memcpy(items, bs->centers->items, centersSize);

	shm_toc_insert(pcxt->toc, IVFFLAT_SHARED_KEY, shared);
	shm_toc_insert(pcxt->toc, IVFFLAT_SORT_KEY, sharedsort);
	shm_toc_insert(pcxt->toc, IVFFLAT_CENTERS_KEY, items);

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		WaitForParallelWorkersToFinish(pcxt);
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}
	ereport(DEBUG1,
			(errmsg("using %d parallel workers", pcxt->nworkers_launched)));

	/* A concurrent build's workers must have their snapshots before we go on */
	if (IsMVCCSnapshot(snapshot))
		WaitForParallelWorkersToAttach(pcxt);

	/* The leader scans its share too */
	participants = pcxt->nworkers_launched + 1;
	ParallelScanAndSort(bs, shared, sharedsort, maintenance_work_mem / scantuplesortstates);

	/* Wait for every participant's sort */
	ConditionVariablePrepareToSleep(&shared->workersdonecv);
	for (;;)
	{
		int			done;

		SpinLockAcquire(&shared->mutex);
		done = shared->nparticipantsdone;
		SpinLockRelease(&shared->mutex);
		if (done == participants)
			break;
		ConditionVariableSleep(&shared->workersdonecv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
	}
	ConditionVariableCancelSleep();

	bs->reltuples = shared->reltuples;
	bs->indtuples = shared->indtuples;

	/* Merge the participants' sorts */
	coordinate = palloc0(sizeof(SortCoordinateData));
	coordinate->isWorker = false;
	coordinate->nParticipants = participants;
	coordinate->sharedsort = sharedsort;
	bs->sort = BeginSort(bs, maintenance_work_mem, coordinate);
	tuplesort_performsort(bs->sort);

	*pcxtp = pcxt;
	*snapshotp = snapshot;
	return true;
}

/* Shut down a parallel build once its merged sort has been read */
static void
EndParallel(ParallelContext *pcxt, Snapshot snapshot)
{
	WaitForParallelWorkersToFinish(pcxt);
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
}

/* How many parallel workers PostgreSQL would give this build */
static int
PlanWorkers(IvfflatBuildState * bs)
{
	if (bs->heap == NULL || !IsNormalProcessingMode() || IsInParallelMode())
		return 0;
	return plan_create_index_workers(RelationGetRelid(bs->heap), RelationGetRelid(bs->index));
}

/* ----------------------------------------------------------------
 *		Build
 * ----------------------------------------------------------------
 */

static void
BuildIndex(IvfflatBuildState * bs)
{
	ParallelContext *pcxt = NULL;
	Snapshot	snapshot = InvalidSnapshot;
	int			nworkers;

	ComputeCenters(bs);
	WriteMetaAndLists(bs);

	bs->sortdesc = SortTupleDesc(bs->index);
	bs->slot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsVirtual);
	bs->mslot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsMinimalTuple);

	if (bs->heap != NULL)
	{
		IvfflatAssignInit(&bs->assigner, &bs->info, bs->centers, bs->buildCtx);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_IVFFLAT_PHASE_ASSIGN);
		bs->progress = true;
		nworkers = PlanWorkers(bs);
		if (nworkers == 0 || !AssignParallel(bs, nworkers, &pcxt, &snapshot))
		{
			bs->sort = BeginSort(bs, maintenance_work_mem, NULL);
			bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->indexInfo,
												   true, true, AssignCallback, bs, NULL);
			FlushAssigned(bs);
			tuplesort_performsort(bs->sort);
		}
		LoadSortedRows(bs);
		tuplesort_end(bs->sort);
		bs->sort = NULL;
		if (pcxt != NULL)
			EndParallel(pcxt, snapshot);
	}
	ExecDropSingleTupleTableSlot(bs->slot);
	ExecDropSingleTupleTableSlot(bs->mslot);

	/* The pages were written without WAL: log them all now */
	if (bs->forkNum == INIT_FORKNUM || RelationNeedsWAL(bs->index))
		log_newpage_range(bs->index, bs->forkNum, 0,
						  RelationGetNumberOfBlocksInFork(bs->index, bs->forkNum), true);
}

/* Build a new index from the rows of heap */
IndexBuildResult *
ivfflatbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IvfflatBuildState bs;
	IndexBuildResult *result;

	InitBuildState(&bs, heap, index, indexInfo, MAIN_FORKNUM);
	BuildIndex(&bs);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.reltuples;
	result->index_tuples = bs.indtuples;
	MemoryContextDelete(bs.tmpCtx);
	return result;
}

/*
 * The init fork of an index on an unlogged table: what a crash resets the
 * index to, i.e. random centres (no rows to learn from) and no data pages.
 */
void
ivfflatbuildempty(Relation index)
{
	IvfflatBuildState bs;
	IndexInfo  *indexInfo = BuildIndexInfo(index);

	InitBuildState(&bs, NULL, index, indexInfo, INIT_FORKNUM);
	BuildIndex(&bs);
	MemoryContextDelete(bs.tmpCtx);
}
