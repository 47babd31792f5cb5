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
 * When the graph would outgrow maintenance_work_mem it is written out as
 * it stands and the build continues with ordinary on-disk inserts (a
 * NOTICE says so, as pgvector does); that is slower but needs no memory.
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
	int			dim;
	int			trancheId;
	int64		cap;			/* element slots */
	Size		linkCap;		/* bytes of the upper-level link area */
	uint64		seed;
	Size		scanOff;
	Size		vecsOff;
	Size		tidsOff;
	Size		levelsOff;
	Size		linkOffOff;
	Size		l0Off;
	Size		l0dOff;
	Size		locksOff;
	Size		linkAreaOff;
	pg_atomic_uint64 next;		/* next free element slot */
	pg_atomic_uint64 tuplesDone;
	pg_atomic_uint32 full;		/* the estimate was short: build serially */
	HnswGraphShared graph;		/* link area use and the entry point */
	slock_t		mutex;			/* protects reltuples */
	double		reltuples;
}			HnswBuildShared;

#define HNSW_SHARED_KEY		UINT64CONST(0x5E4E5E4E00000001)

typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	HnswIndexInfo info;
	int			maxLevel;
	double		indtuples;
	bool		progress;		/* report progress (the leader) */
	bool		onDisk;			/* graph no longer fits: insert on disk */
	Size		memLimit;
	pg_prng_state prng;
	HnswMemGraph graph;
	HnswBuildShared *shared;	/* parallel build, else NULL */
	MemoryContext graphCtx;
	MemoryContext tmpCtx;
}			HnswBuildState;

/* Write one element tuple built from the in-memory graph into buf */
static Size
FormMemTuple(HnswMemGraph * g, int64 i, ItemPointerData *tids, char *buf)
{
	int			level = g->levels[i];
	Size		size = HNSW_ELEMENT_TUPLE_SIZE(g->dim, level, g->m);
	HnswElementTuple etup = (HnswElementTuple) buf;
	ItemPointer nbrs;

	memset(buf, 0, size);
	etup->type = HNSW_ELEMENT_TUPLE;
	etup->level = level;
	etup->dim = g->dim;
	etup->m = g->m;
	etup->heaptid = g->heaptids[i];
	memcpy(etup->x, HnswGraphVec(g, i), sizeof(float) * g->dim);
	nbrs = HnswTupleNeighbors(etup);
	for (int l = 0; l <= level; l++)
	{
		int32	   *list = HnswGraphList(g, i, l);
		ItemPointer slot = nbrs + HnswLevelStart(g->m, l);
		int			cap = HnswLevelSlots(g->m, l);

		for (int j = 0; j < cap; j++)
		{
			if (j < list[0])
				slot[j] = tids[list[j + 1]];
			else
				ItemPointerSetInvalid(&slot[j]);
		}
	}
	return size;
}

/*
 * Write the in-memory graph to pages.  TIDs are assigned first by
 * replaying the page-fill arithmetic of PageAddItem, so that neighbour
 * lists can be written complete in one pass.
 */
static void
FlushGraph(HnswBuildState * bs)
{
	HnswMemGraph *g = &bs->graph;
	ItemPointerData *tids;
	BlockNumber blk = 1;
	Size		lower = SizeOfPageHeaderData;
	Size		upper = BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData));
	OffsetNumber off = FirstOffsetNumber;
	char	   *tupbuf = palloc(BLCKSZ);
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	BlockNumber curblk = InvalidBlockNumber;
	Buffer		metabuf;
	HnswMetaPage meta;
	int64	   *order;

	tids = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * Max(g->n, 1));
	order = HnswGraphOrder(g);
	for (int64 k = 0; k < g->n; k++)
	{
		int64		i = order[k];
		Size		sz = HNSW_ELEMENT_TUPLE_SIZE(g->dim, g->levels[i], g->m);

		if (lower + sizeof(ItemIdData) + sz > upper)
		{
			blk++;
			lower = SizeOfPageHeaderData;
			upper = BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData));
			off = FirstOffsetNumber;
		}
		lower += sizeof(ItemIdData);
		upper -= sz;
		ItemPointerSet(&tids[i], blk, off);
		off++;
	}

	for (int64 k = 0; k < g->n; k++)
	{
		int64		i = order[k];
		Size		sz;

		CHECK_FOR_INTERRUPTS();
		if (ItemPointerGetBlockNumber(&tids[i]) != curblk)
		{
			if (BufferIsValid(buf))
			{
				MarkBufferDirty(buf);
				UnlockReleaseBuffer(buf);
			}
			buf = HnswNewBuffer(bs->index, MAIN_FORKNUM);
			curblk = BufferGetBlockNumber(buf);
			if (curblk != ItemPointerGetBlockNumber(&tids[i]))
				elog(ERROR, "hnsw build expected block %u, got %u",
					 ItemPointerGetBlockNumber(&tids[i]), curblk);
			page = BufferGetPage(buf);
			HnswInitPage(page);
		}
		sz = FormMemTuple(g, i, tids, tupbuf);
		off = PageAddItem(page, tupbuf, sz, InvalidOffsetNumber, false, false);
		if (off != ItemPointerGetOffsetNumber(&tids[i]))
			elog(ERROR, "hnsw build placed element at offset %u, expected %u (size %zu, free %zu)",
				 off, ItemPointerGetOffsetNumber(&tids[i]), sz, PageGetFreeSpace(page));
	}
	if (BufferIsValid(buf))
	{
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}

	metabuf = ReadBuffer(bs->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = HnswPageGetMeta(BufferGetPage(metabuf));
	meta->dimensions = g->dim;
	if (g->entry >= 0)
	{
		meta->entryBlkno = ItemPointerGetBlockNumber(&tids[g->entry]);
		meta->entryOffno = ItemPointerGetOffsetNumber(&tids[g->entry]);
		meta->entryLevel = g->entryLevel;
	}
	meta->insertPage = g->n > 0 ? blk : HNSW_METAPAGE_BLKNO;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);
	pfree(tids);
	pfree(order);
	pfree(tupbuf);
}

/* Raise an error if a vector has the wrong or too many dimensions */
static void
CheckBuildDim(HnswBuildState * bs, int dim)
{
	if (bs->graph.dim == 0)
	{
		int			maxdim = HnswMaxDimFor(bs->info.m);

		if (dim > maxdim)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector cannot have more than %d dimensions for hnsw index with m = %d",
							maxdim, bs->info.m),
					 errdetail("An element and its neighbour lists must fit in one page.")));
		bs->graph.dim = dim;
		bs->maxLevel = HnswMaxLevelFor(dim, bs->info.m);
	}
	else if (dim != bs->graph.dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", bs->graph.dim, dim)));
}

/* Switch to on-disk inserts once the graph outgrows maintenance_work_mem */
static void
SpillGraph(HnswBuildState * bs)
{
	ereport(NOTICE,
			(errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f tuples",
					bs->indtuples),
			 errdetail("Building will take significantly more time."),
			 errhint("Increase maintenance_work_mem to speed up builds.")));
	FlushGraph(bs);
	bs->onDisk = true;
	MemoryContextDelete(bs->graphCtx);
	bs->graphCtx = NULL;
}

/* Add one vector to the local graph (serial build) */
static void
AddLocalElement(HnswBuildState * bs, float *vec, int dim, ItemPointer tid)
{
	HnswMemGraph *g = &bs->graph;
	MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);
	int64		i;
	int			level;

	if (g->n == g->cap)
		HnswGraphGrow(g);
	i = g->n++;
	memcpy(HnswGraphVec(g, i), vec, sizeof(float) * dim);
	g->heaptids[i] = *tid;
	level = HnswRandomLevel(bs->info.m, bs->maxLevel, pg_prng_double(&bs->prng));
	g->levels[i] = level;
	(void) HnswGraphInitLinks(g, i, level);
	MemoryContextSwitchTo(old);
	HnswGraphInsert(g, i, bs->info.efConstruction);
}

/*
 * Add one vector to the shared graph (parallel build).  When the room
 * reserved runs out, it says so and adds nothing more: the build then
 * starts over serially.
 */
static void
AddSharedElement(HnswBuildState * bs, float *vec, int dim, ItemPointer tid)
{
	HnswMemGraph *g = &bs->graph;
	HnswBuildShared *shared = bs->shared;
	int64		i;
	int			level;

	if (pg_atomic_read_u32(&shared->full))
		return;
	i = (int64) pg_atomic_fetch_add_u64(&shared->next, 1);
	level = HnswRandomLevel(bs->info.m, bs->maxLevel, pg_prng_double(&bs->prng));
	if (i < g->cap)
		g->levels[i] = level;
	if (i >= g->cap || !HnswGraphInitLinks(g, i, level))
	{
		pg_atomic_write_u32(&shared->full, 1);
		return;
	}
	/* Nobody reaches element i before GraphInsert links it */
	memcpy(HnswGraphVec(g, i), vec, sizeof(float) * dim);
	g->heaptids[i] = *tid;
	HnswGraphInsert(g, i, bs->info.efConstruction);
	bs->indtuples = (double) pg_atomic_add_fetch_u64(&shared->tuplesDone, 1);
	if (bs->progress)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
}

/* Add one heap tuple to the graph */
static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *state)
{
	HnswBuildState *bs = (HnswBuildState *) state;
	HnswMemGraph *g = &bs->graph;
	MemoryContext oldCtx;
	float	   *vec;
	int			dim;

	CHECK_FOR_INTERRUPTS();
	if (isnull[0])
		return;

	oldCtx = MemoryContextSwitchTo(bs->tmpCtx);
	if (HnswPrepareValue(&bs->info, values[0], &vec, &dim))
	{
		CheckBuildDim(bs, dim);
		if (g->shared)
			AddSharedElement(bs, vec, dim, tid);
		else
		{
			if (bs->onDisk)
				HnswInsertOnDisk(index, &bs->info, vec, dim, tid, true);
			else
				AddLocalElement(bs, vec, dim, tid);
			bs->indtuples++;
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
		}
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);

	if (!g->shared && !bs->onDisk && g->memUsed > bs->memLimit)
		SpillGraph(bs);
}

/* Lay out the shared chunk of a parallel build; returns its size */
static Size
SharedLayout(HnswBuildShared * sh, Size scanSize, int64 cap, int dim, int m)
{
	Size		off = CACHELINEALIGN(sizeof(HnswBuildShared));

#define HNSW_TAKE(field, bytes) (sh->field = off, off = CACHELINEALIGN(off + (bytes)))
	HNSW_TAKE(scanOff, scanSize);
	HNSW_TAKE(vecsOff, sizeof(float) * dim * cap);
	HNSW_TAKE(tidsOff, sizeof(ItemPointerData) * cap);
	HNSW_TAKE(levelsOff, cap);
	HNSW_TAKE(linkOffOff, sizeof(int64) * cap);
	HNSW_TAKE(l0Off, sizeof(int32) * (1 + 2 * m) * cap);
	HNSW_TAKE(l0dOff, sizeof(float) * 2 * m * cap);
	HNSW_TAKE(locksOff, sizeof(LWLock) * cap);
	HNSW_TAKE(linkAreaOff, HnswGraphLinkAreaFor(cap, m));
#undef HNSW_TAKE
	return off;
}

/* Point a participant's graph at the shared arrays; local visited tags */
static void
AttachSharedGraph(HnswBuildState * bs, HnswBuildShared * sh)
{
	HnswMemGraph *g = &bs->graph;
	char	   *base = (char *) sh;

	bs->shared = sh;
	g->shared = &sh->graph;
	g->dim = sh->dim;
	g->cap = sh->cap;
	g->vecs = (float *) (base + sh->vecsOff);
	g->heaptids = (ItemPointerData *) (base + sh->tidsOff);
	g->levels = (uint8 *) (base + sh->levelsOff);
	g->linkOff = (int64 *) (base + sh->linkOffOff);
	g->l0 = (int32 *) (base + sh->l0Off);
	g->l0d = (float *) (base + sh->l0dOff);
	g->locks = (LWLock *) (base + sh->locksOff);
	g->linkArea = base + sh->linkAreaOff;
	g->linkCap = sh->linkCap;
	g->visited = MemoryContextAllocHuge(bs->graphCtx, sizeof(uint32) * Max(sh->cap, 1));
	memset(g->visited, 0, sizeof(uint32) * Max(sh->cap, 1));
	bs->maxLevel = HnswMaxLevelFor(sh->dim, bs->info.m);
}

/* Fill in what the serial and parallel participants share */
static void
InitBuildState(HnswBuildState * bs, Relation heap, Relation index)
{
	memset(bs, 0, sizeof(*bs));
	bs->heap = heap;
	bs->index = index;
	HnswGetIndexInfo(index, &bs->info);
	bs->memLimit = (Size) maintenance_work_mem * 1024;
	pg_prng_seed(&bs->prng, UINT64CONST(0x5eed5eed));
	bs->graph.m = bs->info.m;
	bs->graph.kind = bs->info.kind;
	bs->graph.entry = -1;
	bs->graph.entryLevel = -1;
	bs->graphCtx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build graph",
										 ALLOCSET_DEFAULT_SIZES);
	bs->tmpCtx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build temporary",
									   ALLOCSET_DEFAULT_SIZES);
	{
		MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);

		HnswHeapInit(&bs->graph.cand, bs->info.efConstruction * 4);
		HnswHeapInit(&bs->graph.res, bs->info.efConstruction + 2);
		MemoryContextSwitchTo(old);
	}
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
	AttachSharedGraph(&bs, sh);
	LWLockRegisterTranche(sh->trancheId, "hnsw build");

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
 * Element slots to reserve for a parallel build: the most rows the heap
 * can hold (if its rows were just the vector, when the vector is a column;
 * an expression's value is not stored, so then any row), or, when that is
 * far more, the row estimate with room to spare.  A vector that may be
 * stored out of line (the type's storage is external) can take as little
 * as a TOAST pointer in the row: a 512-d vector is over the TOAST
 * threshold, and counting it inline put the bound at 3 rows a page.
 */
static int64
ParallelCapacity(Relation heap, IndexInfo *indexInfo, int dim)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(heap);
	AttrNumber	attnum = indexInfo->ii_IndexAttrNumbers[0];
	Size		datum = VECTOR_SIZE(dim);
	Size		minRow;
	double		perPage;
	double		upper;
	double		est = heap->rd_rel->reltuples;

	if (attnum > 0 && TupleDescAttr(RelationGetDescr(heap), attnum - 1)->attstorage != TYPSTORAGE_PLAIN)
		datum = Min(datum, TOAST_POINTER_SIZE);
	minRow = MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData) + MAXALIGN(datum);
	perPage = attnum == 0 ? MaxHeapTuplesPerPage :
		Min((double) (BLCKSZ - SizeOfPageHeaderData) / minRow, MaxHeapTuplesPerPage);
	upper = (double) nblocks * perPage + 1024;
	if (est >= 0 && est * 1.25 + 1024 < upper)
		return (int64) (est * 1.25 + 1024);
	return (int64) upper;
}

/*
 * Build the graph with parallel workers (pgvector does the same): the
 * graph lives in the parallel context's shared memory, the participants
 * share the heap scan and insert into one graph, with an LWLock per
 * element's lists, and the leader writes it out.  Returns false, having
 * written nothing, when the graph turned out larger than the room reserved
 * (the row estimate was short); the caller then builds serially.
 */
static bool
BuildParallel(HnswBuildState * bs, Relation heap, Relation index, IndexInfo *indexInfo,
			  int nworkers, int64 cap, double *reltuples)
{
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		scanSize;
	Size		total;
	HnswBuildShared layout;
	HnswBuildShared *sh;
	char	   *base;
	bool		ok;
	int			dim = bs->info.typmodDim;

	EnterParallelMode();
	pcxt = CreateParallelContext("semvec", "HnswParallelBuildMain", nworkers);
	snapshot = indexInfo->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	scanSize = table_parallelscan_estimate(heap, snapshot);
	memset(&layout, 0, sizeof(layout));
	total = SharedLayout(&layout, scanSize, cap, dim, bs->info.m);
	shm_toc_estimate_chunk(&pcxt->estimator, total);
	shm_toc_estimate_keys(&pcxt->estimator, 1);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* No dynamic shared memory to be had: build serially */
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
	sh->dim = dim;
	sh->cap = cap;
	sh->linkCap = HnswGraphLinkAreaFor(cap, bs->info.m);
	sh->seed = UINT64CONST(0x5eed5eed);
	sh->trancheId = LWLockNewTrancheId();
	pg_atomic_init_u64(&sh->next, 0);
	pg_atomic_init_u64(&sh->graph.linkUsed, 0);
	pg_atomic_init_u64(&sh->tuplesDone, 0);
	pg_atomic_init_u32(&sh->full, 0);
	LWLockInitialize(&sh->graph.entryLock, sh->trancheId);
	sh->graph.entry = -1;
	sh->graph.entryLevel = -1;
	SpinLockInit(&sh->mutex);
	sh->reltuples = 0;
	for (int64 i = 0; i < cap; i++)
		LWLockInitialize(&((LWLock *) (base + sh->locksOff))[i], sh->trancheId);
	table_parallelscan_initialize(heap, (ParallelTableScanDesc) (base + sh->scanOff), snapshot);
	shm_toc_insert(pcxt->toc, HNSW_SHARED_KEY, sh);

	LaunchParallelWorkers(pcxt);
	ereport(DEBUG1,
			(errmsg_internal("hnsw build of \"%s\" with %d parallel workers (%d requested), room for " INT64_FORMAT " elements",
							 RelationGetRelationName(index), pcxt->nworkers_launched, nworkers, cap)));
	ParallelParticipate(sh, heap, index, true);
	WaitForParallelWorkersToFinish(pcxt);

	ok = pg_atomic_read_u32(&sh->full) == 0;
	if (ok)
	{
		MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);

		AttachSharedGraph(bs, sh);
		bs->graph.n = (int64) pg_atomic_read_u64(&sh->next);
		bs->graph.entry = sh->graph.entry;
		bs->graph.entryLevel = sh->graph.entryLevel;
		bs->indtuples = (double) bs->graph.n;
		*reltuples = sh->reltuples;
		MemoryContextSwitchTo(old);
		FlushGraph(bs);
	}
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return ok;
}

/* How many parallel workers to use, and for how many elements (*cap) */
static int
ParallelWorkersFor(HnswBuildState * bs, Relation heap, Relation index, IndexInfo *indexInfo,
				   int64 *cap)
{
	int			nworkers;
	int			m = bs->info.m;
	int			dim = bs->info.typmodDim;
	double		bytes;

	nworkers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	if (nworkers <= 0)
	{
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\" is serial: no parallel workers planned",
								 RelationGetRelationName(index))));
		return 0;
	}
	/* The shared arrays are sized up front, so the dimension must be known */
	if (dim <= 0 || !IsNormalProcessingMode() || IsInParallelMode())
	{
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\" is serial: %s", RelationGetRelationName(index),
								 dim <= 0 ? "the column has no dimensions" : "not in normal processing")));
		return 0;
	}
	*cap = ParallelCapacity(heap, indexInfo, dim);
	bytes = HnswGraphSharedBytes(*cap, dim, m);

	/*
	 * A table never analyzed has no row estimate, and the bound from its size
	 * counts every row at its smallest (a row with a TOASTed vector is a few
	 * dozen bytes): reserve what maintenance_work_mem holds instead.  If the
	 * rows turn out more, the graph would not have fit anyway; the build then
	 * starts over serially (with a NOTICE).
	 */
	if (bytes > (double) bs->memLimit && heap->rd_rel->reltuples < 0)
	{
		*cap = (int64) (*cap * ((double) bs->memLimit / bytes));
		while (*cap > 1024 && HnswGraphSharedBytes(*cap, dim, m) > (double) bs->memLimit)
			*cap -= *cap / 64;
		bytes = HnswGraphSharedBytes(*cap, dim, m);
	}
	/* Too big for maintenance_work_mem: the serial build writes out and goes on */
	if (bytes > (double) bs->memLimit || *cap > PG_INT32_MAX)
	{
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\" is serial: the graph for " INT64_FORMAT " elements needs %.0f kB, maintenance_work_mem is %d kB",
								 RelationGetRelationName(index), *cap, bytes / 1024, maintenance_work_mem)));
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
	int64		cap = 0;
	bool		built = false;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	InitBuildState(&bs, heap, index);
	bs.progress = true;
	if (bs.info.typmodDim > HnswMaxDimFor(bs.info.m))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for hnsw index with m = %d",
						HnswMaxDimFor(bs.info.m), bs.info.m),
				 errdetail("An element and its neighbour lists must fit in one page.")));

	/* The metapage is block 0 */
	metabuf = HnswNewBuffer(index, MAIN_FORKNUM);
	if (BufferGetBlockNumber(metabuf) != HNSW_METAPAGE_BLKNO)
		elog(ERROR, "hnsw metapage is not block 0");
	HnswInitMetaPage(BufferGetPage(metabuf), bs.info.m, bs.info.efConstruction,
					 Max(bs.info.typmodDim, 0), bs.info.kind);
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_HNSW_PHASE_LOAD);
	if (heap->rd_rel->reltuples > 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
									 (int64) heap->rd_rel->reltuples);

	nworkers = ParallelWorkersFor(&bs, heap, index, indexInfo, &cap);
	if (nworkers > 0)
	{
		built = BuildParallel(&bs, heap, index, indexInfo, nworkers, cap, &reltuples);
		if (!built)
		{
			ereport(NOTICE,
					(errmsg("hnsw parallel build needed more room than estimated, building serially"),
					 errhint("Run ANALYZE on the table before building the index.")));
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);
			MemoryContextDelete(bs.graphCtx);
			MemoryContextDelete(bs.tmpCtx);
			InitBuildState(&bs, heap, index);
			bs.progress = true;
		}
	}

	if (!built)
	{
		reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
										   BuildCallback, (void *) &bs, NULL);
		if (!bs.onDisk)
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
	HnswInitMetaPage(page, info.m, info.efConstruction, Max(info.typmodDim, 0), info.kind);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}
