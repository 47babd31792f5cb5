/*-------------------------------------------------------------------------
 *
 * hnswbuild.c
 *	  Build an hnsw index
 *
 * The graph is first built in memory (hnswgraph.c), then written to pages
 * in one pass, neighbours near each other (FlushGraph).  A parallel build
 * shares the heap scan and one graph in the parallel context's shared
 * memory between the leader and its workers.
 *
 * When the graph outgrows maintenance_work_mem (a parallel build: the
 * shared area, maintenance_work_mem less 3 MB for the rest of the DSM
 * segment, as in pgvector), it is written out as it stands and the build
 * goes on with on-disk inserts, by every participant of a parallel build
 * (a NOTICE says so, as pgvector does); that is slower but needs no memory.
 *
 * Pages are written without WAL while building; once done, the whole
 * relation is WAL-logged with log_newpage_range.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "access/generic_xlog.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "hnsw/hnswgraph.h"

/* Shared memory a parallel build leaves to the rest of its DSM segment */
#define HNSW_PARALLEL_OTHER_BYTES	(3 * 1024 * 1024)

/*
 * What the participants of a parallel build share, in one chunk of the
 * parallel context's DSM segment: this header, the parallel heap scan, then
 * the graph's arrays (at the offsets below, from the header's address).
 */
typedef struct HnswBuildShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			trancheId;
	int64		cap;			/* element slots */
	Size		valueSize;		/* bytes per value slot, or 0: a value area */
	Size		linkCap;		/* bytes of the upper-level link area */
	Size		valueCap;		/* bytes of the value area */
	uint64		seed;
	Size		scanOff;
	Size		valuesOff;		/* values, or their offsets in the value area */
	Size		tidsOff;
	Size		ntidsOff;
	Size		levelsOff;
	Size		linkOffOff;
	Size		l0Off;
	Size		locksOff;
	Size		linkAreaOff;
	Size		valueAreaOff;
	pg_atomic_uint64 tuplesDone;
	HnswGraphShared graph;		/* slots, areas and the entry point */
	LWLock		flushLock;		/* shared: adding to the graph; exclusive: writing it */
	bool		flushed;		/* the graph is on disk: insert there */
	slock_t		mutex;			/* protects reltuples */
	double		reltuples;
}			HnswBuildShared;

#define HNSW_SHARED_KEY		UINT64CONST(0x5E4E5E4E00000001)

typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	HnswIndexInfo info;
	int			dim;			/* of the first value; 0 before it */
	int			maxLevel;
	double		indtuples;
	bool		progress;		/* report progress (the leader) */
	bool		onDisk;			/* graph no longer fits: insert on disk */
	ItemPointerData *unreached; /* the written graph's unreachable elements, */
	int			nunreached;		/* -1 when unknown (rows were inserted on disk) */
	Size		memLimit;
	pg_prng_state prng;
	HnswMemGraph graph;
	HnswBuildShared *shared;	/* parallel build, else NULL */
	MemoryContext graphCtx;
	MemoryContext tmpCtx;
}			HnswBuildState;

/* Bytes of a stored value of the index's type, or 0 when sizes vary */
static Size
FixedValueSize(HnswIndexInfo * info, int dim)
{
	if (dim <= 0 || info->type->fixedSize == NULL)
		return 0;
	return info->type->fixedSize(dim);
}

/* Write element i's element tuple into buf; returns its size */
static Size
FormMemElement(HnswMemGraph * g, int64 i, ItemPointer neighbortid, char *buf)
{
	const char *value = HnswGraphValue(g, i);

	HnswFormElement(buf, g->levels[i], &g->heaptids[i * HNSW_HEAPTIDS], g->nheaptids[i],
					neighbortid, value);
	return HNSW_ELEMENT_TUPLE_SIZE(VARSIZE(value));
}

/* Write element i's neighbour tuple into buf; returns its size */
static Size
FormMemNeighbors(HnswMemGraph * g, int64 i, ItemPointerData *tids, char *buf)
{
	int			level = g->levels[i];
	HnswNeighborTuple ntup = (HnswNeighborTuple) buf;

	HnswFormNeighbors(buf, level, g->m);
	for (int l = 0; l <= level; l++)
	{
		int32	   *list = HnswGraphList(g, i, l);
		int			cnt = HnswListCount(list[0]);
		ItemPointer slot = ntup->tids + HnswLevelStart(g->m, l);

		for (int j = 0; j < cnt; j++)
			slot[j] = tids[list[j + 1]];
	}
	return HNSW_NEIGHBOR_TUPLE_SIZE(level, g->m);
}

/* Where the next tuple goes when pages are filled in order */
typedef struct PagePlan
{
	BlockNumber blk;
	Size		free;			/* bytes left, line pointers included */
	OffsetNumber off;
}			PagePlan;

static void
PlanNewPage(PagePlan * pp)
{
	pp->blk++;
	pp->free = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(HnswPageOpaqueData));
	pp->off = FirstOffsetNumber;
}

/* Give a tuple of sz bytes its TID, on a new page if this one is full */
static void
PlanTuple(PagePlan * pp, Size sz, ItemPointer tid)
{
	if (sz + sizeof(ItemIdData) > pp->free)
		PlanNewPage(pp);
	pp->free -= sz + sizeof(ItemIdData);
	ItemPointerSet(tid, pp->blk, pp->off);
	pp->off++;
}

/* Add a tuple where the plan put it, moving on to a new page when it says so */
static void
WritePlanned(Relation index, Buffer *buf, ItemPointer tid, char *tup, Size sz)
{
	Page		page;
	OffsetNumber off;

	if (!BufferIsValid(*buf) || BufferGetBlockNumber(*buf) != ItemPointerGetBlockNumber(tid))
	{
		if (BufferIsValid(*buf))
		{
			MarkBufferDirty(*buf);
			UnlockReleaseBuffer(*buf);
		}
		*buf = AmExtendIndex(index, MAIN_FORKNUM);
		if (BufferGetBlockNumber(*buf) != ItemPointerGetBlockNumber(tid))
			elog(ERROR, "hnsw build expected block %u, got %u",
				 ItemPointerGetBlockNumber(tid), BufferGetBlockNumber(*buf));
		HnswInitPage(BufferGetPage(*buf));
	}
	page = BufferGetPage(*buf);
	off = PageAddItem(page, tup, sz, InvalidOffsetNumber, false, false);
	if (off != ItemPointerGetOffsetNumber(tid))
		elog(ERROR, "hnsw build placed a tuple at offset %u, expected %u (size %zu, free %zu)",
			 off, ItemPointerGetOffsetNumber(tid), sz, PageGetFreeSpace(page));
}

/*
 * Write the in-memory graph to pages.  TIDs are assigned first, by the
 * page-fill arithmetic of PageAddItem, so that every tuple can be written
 * complete in one pass.  An element and its neighbour tuple share a page
 * when both fit on one; otherwise the neighbour tuple goes on the next.
 */
static void
FlushGraph(HnswBuildState * bs)
{
	HnswMemGraph *g = &bs->graph;
	int64		n = HnswGraphCount(g);
	int64		nplaced;
	int64		nreached;
	int64	   *order;
	ItemPointerData *etids;
	ItemPointerData *ntids;
	PagePlan	pp;
	char	   *tupbuf = palloc(BLCKSZ);
	Buffer		buf = InvalidBuffer;
	Buffer		metabuf;
	HnswMetaPage meta;

	etids = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * Max(n, 1));
	if (bs->dim == 0 && g->entry >= 0)
		bs->dim = bs->info.type->dimensions(HnswGraphValue(g, g->entry));
	ntids = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * Max(n, 1));
	order = HnswGraphOrder(g, &nplaced, &nreached);
	pp.blk = HNSW_METAPAGE_BLKNO;
	PlanNewPage(&pp);
	for (int64 k = 0; k < nplaced; k++)
	{
		int64		i = order[k];
		Size		esz = HNSW_ELEMENT_TUPLE_SIZE(VARSIZE(HnswGraphValue(g, i)));
		Size		nsz = HNSW_NEIGHBOR_TUPLE_SIZE(g->levels[i], g->m);
		Size		both = esz + nsz + 2 * sizeof(ItemIdData);

		if (both > pp.free && both <= HNSW_PAGE_ROOM + sizeof(ItemIdData))
			PlanNewPage(&pp);
		PlanTuple(&pp, esz, &etids[i]);
		PlanTuple(&pp, nsz, &ntids[i]);
	}

	for (int64 k = 0; k < nplaced; k++)
	{
		int64		i = order[k];
		Size		sz;

		CHECK_FOR_INTERRUPTS();
		sz = FormMemElement(g, i, &ntids[i], tupbuf);
		WritePlanned(bs->index, &buf, &etids[i], tupbuf, sz);
		sz = FormMemNeighbors(g, i, etids, tupbuf);
		WritePlanned(bs->index, &buf, &ntids[i], tupbuf, sz);
	}
	if (BufferIsValid(buf))
	{
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}

	metabuf = ReadBuffer(bs->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = HnswPageGetMeta(BufferGetPage(metabuf));
	meta->dimensions = bs->dim;
	if (g->entry >= 0)
	{
		meta->entryBlkno = ItemPointerGetBlockNumber(&etids[g->entry]);
		meta->entryOffno = ItemPointerGetOffsetNumber(&etids[g->entry]);
		meta->entryLevel = g->entryLevel;
	}
	meta->insertPage = nplaced > 0 ? pp.blk : HNSW_METAPAGE_BLKNO;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	/* What the walk of HnswGraphOrder missed, for HnswLinkUnreachable */
	bs->nunreached = (int) (nplaced - nreached);
	bs->unreached = palloc(sizeof(ItemPointerData) * Max(bs->nunreached, 1));
	for (int64 k = nreached; k < nplaced; k++)
		bs->unreached[k - nreached] = etids[order[k]];
	pfree(etids);
	pfree(ntids);
	pfree(order);
	pfree(tupbuf);
}

/* Say that the graph no longer fits and goes to disk (pgvector's words) */
static void
NoticeSpill(double tuples)
{
	ereport(NOTICE,
			(errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f tuples", tuples),
			 errdetail("Building will take significantly more time."),
			 errhint("Increase maintenance_work_mem to speed up builds.")));
}

/* Serial build: write the graph out and go on inserting on disk */
static void
SpillGraph(HnswBuildState * bs)
{
	NoticeSpill(bs->indtuples);
	FlushGraph(bs);
	bs->onDisk = true;
	bs->nunreached = -1;
	MemoryContextDelete(bs->graphCtx);
	bs->graphCtx = NULL;
}

/* Raise an error if a value has the wrong or too many dimensions */
static void
CheckBuildDim(HnswBuildState * bs, int dim)
{
	if (bs->dim == 0)
	{
		int			maxdim = bs->info.type->maxDimensions;

		if (dim > maxdim)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s cannot have more than %d dimensions for hnsw index",
							bs->info.type->name, maxdim)));
		bs->dim = dim;
	}
	else if (dim != bs->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", bs->dim, dim)));
}

/* The first value of a serial build: size the graph's value slots by it */
static void
StartLocalGraph(HnswBuildState * bs)
{
	MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);

	HnswGraphInit(&bs->graph, &bs->info.metric, bs->info.m, bs->info.efConstruction,
				  FixedValueSize(&bs->info, bs->dim));
	MemoryContextSwitchTo(old);
}

/*
 * Parallel build: add a row to the shared graph unless it is full or on
 * disk.  The first participant to find it full writes it out, while the
 * flush lock keeps every other from adding to it; then all insert on disk.
 */
static void
AddShared(HnswBuildState * bs, const char *value, ItemPointer tid, int level)
{
	HnswBuildShared *sh = bs->shared;
	bool		added = false;

	LWLockAcquire(&sh->flushLock, LW_SHARED);
	if (!sh->flushed)
		added = HnswGraphAdd(&bs->graph, value, tid, level, bs->info.efConstruction);
	LWLockRelease(&sh->flushLock);
	if (!added)
	{
		LWLockAcquire(&sh->flushLock, LW_EXCLUSIVE);
		if (!sh->flushed)
		{
			NoticeSpill((double) pg_atomic_read_u64(&sh->tuplesDone));
			LWLockAcquire(&sh->graph.entryLock, LW_SHARED);
			bs->graph.entry = sh->graph.entry;
			bs->graph.entryLevel = sh->graph.entryLevel;
			LWLockRelease(&sh->graph.entryLock);
			FlushGraph(bs);
			bs->nunreached = -1;
			sh->flushed = true;
		}
		LWLockRelease(&sh->flushLock);
		HnswInsertOnDisk(bs->index, &bs->info, value, bs->dim, tid, true, false);
	}
	bs->indtuples = (double) pg_atomic_add_fetch_u64(&sh->tuplesDone, 1);
}

/* Add one heap tuple to the graph */
static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *state)
{
	HnswBuildState *bs = (HnswBuildState *) state;
	MemoryContext oldCtx;
	char	   *value;
	int			dim;

	CHECK_FOR_INTERRUPTS();
	if (isnull[0])
		return;

	oldCtx = MemoryContextSwitchTo(bs->tmpCtx);
	value = HnswPrepareValue(index, &bs->info, values[0], false, &dim);
	if (value != NULL)
	{
		int			level = HnswRandomLevel(bs->info.m, bs->maxLevel, pg_prng_double(&bs->prng));
		bool		first = bs->dim == 0;

		CheckBuildDim(bs, dim);
		if (bs->shared)
			AddShared(bs, value, tid, level);
		else
		{
			if (first)
				StartLocalGraph(bs);
			if (bs->onDisk)
				HnswInsertOnDisk(index, &bs->info, value, dim, tid, true, false);
			else
				(void) HnswGraphAdd(&bs->graph, value, tid, level, bs->info.efConstruction);
			bs->indtuples++;
		}
		if (bs->progress)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);

	if (!bs->shared && !bs->onDisk && bs->dim > 0 && bs->graph.memUsed > bs->memLimit)
		SpillGraph(bs);
}

/* Lay out the shared chunk of a parallel build; returns its size */
static Size
SharedLayout(HnswBuildShared * sh, Size scanSize, int m)
{
	Size		off = CACHELINEALIGN(sizeof(HnswBuildShared));
	int64		cap = sh->cap;

#define HNSW_TAKE(field, bytes) (sh->field = off, off = CACHELINEALIGN(off + (bytes)))
	HNSW_TAKE(scanOff, scanSize);
	HNSW_TAKE(valuesOff, (sh->valueSize > 0 ? sh->valueSize : sizeof(int64)) * cap);
	HNSW_TAKE(tidsOff, sizeof(ItemPointerData) * HNSW_HEAPTIDS * cap);
	HNSW_TAKE(ntidsOff, cap);
	HNSW_TAKE(levelsOff, cap);
	HNSW_TAKE(linkOffOff, sizeof(int64) * cap);
	HNSW_TAKE(l0Off, sizeof(int32) * HNSW_L0_RUN(m) * cap);
	HNSW_TAKE(locksOff, sizeof(LWLock) * cap);
	HNSW_TAKE(linkAreaOff, sh->linkCap);
	HNSW_TAKE(valueAreaOff, sh->valueCap);
#undef HNSW_TAKE
	return off;
}

/* Point a participant's graph at the shared arrays; local visited tags */
static void
AttachSharedGraph(HnswBuildState * bs, HnswBuildShared * sh)
{
	HnswMemGraph *g = &bs->graph;
	char	   *base = (char *) sh;
	MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);

	HnswGraphInit(g, &bs->info.metric, bs->info.m, bs->info.efConstruction, sh->valueSize);
	bs->shared = sh;
	g->shared = &sh->graph;
	g->cap = sh->cap;
	if (sh->valueSize > 0)
		g->values = base + sh->valuesOff;
	else
		g->valueOff = (int64 *) (base + sh->valuesOff);
	g->heaptids = (ItemPointerData *) (base + sh->tidsOff);
	g->nheaptids = (uint8 *) (base + sh->ntidsOff);
	g->levels = (uint8 *) (base + sh->levelsOff);
	g->linkOff = (int64 *) (base + sh->linkOffOff);
	g->l0 = (int32 *) (base + sh->l0Off);
	g->locks = (LWLock *) (base + sh->locksOff);
	g->linkArea = base + sh->linkAreaOff;
	g->linkCap = sh->linkCap;
	g->valueArea = base + sh->valueAreaOff;
	g->valueCap = sh->valueCap;
	g->visited = MemoryContextAllocHuge(bs->graphCtx, sizeof(uint32) * Max(sh->cap, 1));
	memset(g->visited, 0, sizeof(uint32) * Max(sh->cap, 1));
	MemoryContextSwitchTo(old);
}

/* Fill in what the serial and parallel participants share */
static void
InitBuildState(HnswBuildState * bs, Relation heap, Relation index)
{
	memset(bs, 0, sizeof(*bs));
	bs->nunreached = -1;
	bs->heap = heap;
	bs->index = index;
	HnswGetIndexInfo(index, &bs->info);
	bs->maxLevel = HnswMaxLevelFor(bs->info.m);
	bs->memLimit = (Size) maintenance_work_mem * 1024;
	pg_prng_seed(&bs->prng, UINT64CONST(0x5eed5eed));
	bs->graphCtx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build graph",
										 ALLOCSET_DEFAULT_SIZES);
	bs->tmpCtx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build temporary",
									   ALLOCSET_DEFAULT_SIZES);
}

/* One participant's share of a parallel build: scan blocks, insert */
static void
ParallelParticipate(HnswBuildShared * sh, Relation heap, Relation index, bool progress)
{
	HnswBuildState bs;
	IndexInfo  *indexInfo;
	TableScanDesc scan;
	double		reltuples;

	InitBuildState(&bs, heap, index);
	bs.progress = progress;
	/* Each participant draws its own levels */
	pg_prng_seed(&bs.prng, sh->seed + (uint64) (ParallelWorkerNumber + 1));
	LWLockRegisterTranche(sh->trancheId, "hnsw build");
	AttachSharedGraph(&bs, sh);
	bs.dim = Max(bs.info.typmodDim, 0);

	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = sh->isconcurrent;
	scan = table_beginscan_parallel(heap, (ParallelTableScanDesc) ((char *) sh + sh->scanOff));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, progress,
									   BuildCallback, (void *) &bs, scan);

	SpinLockAcquire(&sh->mutex);
	sh->reltuples += reltuples;
	SpinLockRelease(&sh->mutex);
	MemoryContextDelete(bs.graphCtx);
	MemoryContextDelete(bs.tmpCtx);
}

/* Entry point of a parallel build worker (found by name by the launcher) */
void
HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	HnswBuildShared *sh = shm_toc_lookup(toc, HNSW_SHARED_KEY, false);
	LOCKMODE	heapLock = sh->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	indexLock = sh->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	Relation	heap = table_open(sh->heaprelid, heapLock);
	Relation	index = index_open(sh->indexrelid, indexLock);

	ParallelParticipate(sh, heap, index, false);
	index_close(index, indexLock);
	table_close(heap, heapLock);
}

/*
 * The most rows the heap can hold, had its rows nothing but the value
 * (when the value is a column; an expression's value is not stored, so
 * then any row).  A value that may be stored out of line (the type's
 * storage is external) can take as little as a TOAST pointer in the row.
 * This bound, not the row estimate, sizes a parallel build: an estimate
 * made before rows were added would leave the graph short of room.
 */
static int64
ParallelRowsBound(Relation heap, IndexInfo *indexInfo, Size valueSize)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	AttrNumber	attnum = indexInfo->ii_IndexAttrNumbers[0];
	Size		datum = valueSize > 0 ? valueSize : TOAST_POINTER_SIZE;
	Size		minRow;
	double		perPage;

	if (attnum > 0 && TupleDescAttr(RelationGetDescr(heap), attnum - 1)->attstorage != TYPSTORAGE_PLAIN)
		datum = Min(datum, TOAST_POINTER_SIZE);
	minRow = MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData) + MAXALIGN(datum);
	perPage = attnum == 0 ? MaxHeapTuplesPerPage :
		Min((double) (BLCKSZ - SizeOfPageHeaderData) / minRow, MaxHeapTuplesPerPage);
	return (int64) Min((double) nblocks * perPage + 1024, (double) PG_INT32_MAX);
}

/*
 * Size the shared graph: as many element slots as the heap can hold rows,
 * or as fit in the shared area (maintenance_work_mem less what the rest of
 * the DSM segment needs), whichever is less.  Values of varying size take half
 * the area.  Sets sh->cap, linkCap, valueCap and valueSize.
 */
static void
SizeSharedGraph(HnswBuildShared * sh, HnswBuildState * bs, Relation heap, IndexInfo *indexInfo)
{
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		valueSize = FixedValueSize(&bs->info, bs->info.typmodDim);
	int			m = bs->info.m;
	double		perElement;
	int64		cap;

	if (budget > HNSW_PARALLEL_OTHER_BYTES)
		budget -= HNSW_PARALLEL_OTHER_BYTES;
	sh->valueSize = valueSize > 0 ? MAXALIGN(valueSize) : 0;
	sh->valueCap = valueSize > 0 ? 0 : budget / 2;
	if (valueSize == 0)
		budget -= sh->valueCap;
	perElement = HnswGraphElementBytes(m, valueSize) +
		(double) (HnswGraphLinkAreaFor(1024 * 1024, m) - 64 * 1024) / (1024 * 1024);
	cap = Min(ParallelRowsBound(heap, indexInfo, valueSize), (int64) (budget / perElement));
	cap = Min(Max(cap, 0), PG_INT32_MAX);
	sh->linkCap = HnswGraphLinkAreaFor(cap, m);
	while (cap > 0 && cap * HnswGraphElementBytes(m, valueSize) + sh->linkCap > budget)
	{
		cap -= Max(cap / 64, 1);
		sh->linkCap = HnswGraphLinkAreaFor(cap, m);
	}
	if (cap == 0)
		sh->linkCap = 0;
	sh->cap = cap;
}

/*
 * Build the graph with parallel workers (pgvector does the same): the
 * graph lives in the parallel context's shared memory, the participants
 * share the heap scan and insert into one graph, with an LWLock per
 * element's lists, and the leader writes it out unless a participant did
 * when it ran out of room.  Returns false, having done nothing, when no
 * dynamic shared memory could be had.
 */
static bool
BuildParallel(HnswBuildState * bs, Relation heap, Relation index, IndexInfo *indexInfo,
			  int nworkers, double *reltuples)
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		scanSize;
	Size		total;
	HnswBuildShared layout;
	HnswBuildShared *sh;
	char	   *base;

	EnterParallelMode();
	pcxt = CreateParallelContext("semvec", "HnswParallelBuildMain", nworkers);
	snapshot = indexInfo->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	scanSize = table_parallelscan_estimate(heap, snapshot);
	memset(&layout, 0, sizeof(layout));
	SizeSharedGraph(&layout, bs, heap, indexInfo);
	total = SharedLayout(&layout, scanSize, bs->info.m);
	shm_toc_estimate_chunk(&pcxt->estimator, total);
	shm_toc_estimate_keys(&pcxt->estimator, 1);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}

	sh = shm_toc_allocate(pcxt->toc, total);
	base = (char *) sh;
	memcpy(sh, &layout, sizeof(HnswBuildShared));
	sh->heaprelid = RelationGetRelid(heap);
	sh->indexrelid = RelationGetRelid(index);
	sh->isconcurrent = indexInfo->ii_Concurrent;
	sh->seed = UINT64CONST(0x5eed5eed);
	sh->trancheId = LWLockNewTrancheId();
	LWLockRegisterTranche(sh->trancheId, "hnsw build");
	pg_atomic_init_u64(&sh->tuplesDone, 0);
	pg_atomic_init_u64(&sh->graph.next, 0);
	pg_atomic_init_u64(&sh->graph.linkUsed, 0);
	pg_atomic_init_u64(&sh->graph.valueUsed, 0);
	pg_atomic_init_u32(&sh->graph.full, 0);
	LWLockInitialize(&sh->graph.entryLock, sh->trancheId);
	sh->graph.entry = -1;
	sh->graph.entryLevel = -1;
	LWLockInitialize(&sh->flushLock, sh->trancheId);
	sh->flushed = false;
	SpinLockInit(&sh->mutex);
	sh->reltuples = 0;
	for (int64 i = 0; i < sh->cap; i++)
		LWLockInitialize(&((LWLock *) (base + sh->locksOff))[i], sh->trancheId);
	table_parallelscan_initialize(heap, (ParallelTableScanDesc) (base + sh->scanOff), snapshot);
	shm_toc_insert(pcxt->toc, HNSW_SHARED_KEY, sh);

	LaunchParallelWorkers(pcxt);
	ereport(DEBUG1,
			(errmsg("using %d parallel workers", pcxt->nworkers_launched)));
	ereport(DEBUG1,
			(errmsg_internal("hnsw build of \"%s\": %d parallel workers requested, room for " INT64_FORMAT " elements",
							 RelationGetRelationName(index), nworkers, sh->cap)));
	ParallelParticipate(sh, heap, index, true);
	WaitForParallelWorkersToFinish(pcxt);

	if (!sh->flushed)
	{
		MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);

		AttachSharedGraph(bs, sh);
		bs->dim = Max(bs->info.typmodDim, 0);
		bs->graph.entry = sh->graph.entry;
		bs->graph.entryLevel = sh->graph.entryLevel;
		MemoryContextSwitchTo(old);
		FlushGraph(bs);
	}
	bs->indtuples = (double) pg_atomic_read_u64(&sh->tuplesDone);
	*reltuples = sh->reltuples;
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return true;
}

/* How many parallel workers to use */
static int
ParallelWorkersFor(HnswBuildState * bs, Relation heap, Relation index)
{
	int			nworkers;

	nworkers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	if (nworkers <= 0)
	{
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\" is serial: no parallel workers planned",
								 RelationGetRelationName(index))));
		return 0;
	}
	/* Value slots of a fixed-size type are sized by the column's dimensions */
	if ((bs->info.type->fixedSize != NULL && bs->info.typmodDim <= 0) ||
		!IsNormalProcessingMode() || IsInParallelMode())
	{
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\" is serial: %s", RelationGetRelationName(index),
								 bs->info.typmodDim <= 0 ? "the column has no dimensions" :
								 "not in normal processing")));
		return 0;
	}
	return nworkers;
}

/* Build the index from the heap */
IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	HnswBuildState bs;
	Buffer		metabuf;
	double		reltuples = 0;
	int			nworkers;
	bool		built = false;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	InitBuildState(&bs, heap, index);
	bs.progress = true;
	if (TupleDescAttr(RelationGetDescr(index), 0)->atttypid == VARBITOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type not supported for hnsw index")));
	if (bs.info.typmodDim > bs.info.type->maxDimensions)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for hnsw index",
						bs.info.type->maxDimensions)));
	if (bs.info.efConstruction < 2 * bs.info.m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m")));

	/* The metapage is block 0 */
	metabuf = AmExtendIndex(index, MAIN_FORKNUM);
	if (BufferGetBlockNumber(metabuf) != HNSW_METAPAGE_BLKNO)
		elog(ERROR, "hnsw metapage is not block 0");
	HnswInitMetaPage(BufferGetPage(metabuf), bs.info.m, bs.info.efConstruction,
					 Max(bs.info.typmodDim, 0));
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_HNSW_PHASE_LOAD);
	if (heap->rd_rel->reltuples > 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
									 (int64) heap->rd_rel->reltuples);

	nworkers = ParallelWorkersFor(&bs, heap, index);
	if (nworkers > 0)
		built = BuildParallel(&bs, heap, index, indexInfo, nworkers, &reltuples);
	if (!built)
	{
		reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
										   BuildCallback, (void *) &bs, NULL);
		if (!bs.onDisk && bs.dim > 0)
			FlushGraph(&bs);
	}
	if (bs.graphCtx)
		MemoryContextDelete(bs.graphCtx);
	MemoryContextDelete(bs.tmpCtx);

	/*
	 * Give the index its free space map now, empty: inserts look there for
	 * slots VACUUM freed, and without the fork each lookup would ask the
	 * file system whether it exists (a failed open() per insert)
	 */
	RecordPageWithFreeSpace(index, HNSW_METAPAGE_BLKNO, 0);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

	/* WAL-logged like any change from here on, so after the pages' images */
	HnswLinkUnreachable(index, bs.unreached, bs.nunreached);

	result = (IndexBuildResult *) palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/* Write the metapage of an empty unlogged index's init fork */
void
hnswbuildempty(Relation index)
{
	HnswIndexInfo info;
	Buffer		buf;
	GenericXLogState *state;
	Page		page;

	HnswGetIndexInfo(index, &info);
	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	HnswInitMetaPage(page, info.m, info.efConstruction, Max(info.typmodDim, 0));
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}
