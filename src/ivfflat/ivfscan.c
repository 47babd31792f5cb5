/*-------------------------------------------------------------------------
 *
 * ivfscan.c
 *	  Scan an ivfflat index: rows of the nearest lists in distance order
 *
 * The first call measures the query against every centre and orders the
 * lists by distance (the lowest list number first among equals, as the
 * build and inserts choose).  A batch reads every row of the next `probes`
 * lists, measures it, and returns the batch nearest first.  Without
 * iterative scans there is one batch.  With ivfflat.iterative_scan =
 * relaxed_order, an exhausted batch is followed by the next `probes` lists,
 * until ivfflat.max_probes lists have been read in all (or every list):
 * each batch is sorted, but a later batch can hold rows nearer than the
 * end of an earlier one.
 *
 * A batch lives in memory as a binary heap of (distance, position) keys,
 * popped one row per call, so LIMIT k pays for k pops rather than a full
 * sort.  A batch larger than work_mem goes to a tuplesort instead, which
 * spills to disk.  Either way rows of equal distance come out in the order
 * they were read (list order, then page order), which a standby reproduces.  A NULL query (ORDER BY v <-> NULL) returns every row of every
 * list, in list order.
 *
 * Rows are returned from memory, not from pinned pages, which is safe
 * because only MVCC snapshots are allowed: a heap TID that VACUUM frees
 * and an insert reuses meanwhile holds a row this snapshot cannot see.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "ivfflat/ivfflat.h"

/* A list, with its distance to the query */
typedef struct ScanList
{
	float		dist;
	int			list;
	BlockNumber startPage;
}			ScanList;

typedef struct IvfflatScanOpaqueData
{
	IvfflatIndexInfo info;
	MemoryContext ctx;			/* everything of the current query */
	bool		started;
	void	   *query;			/* prepared query, NULL for a NULL query */
	int			dim;

	/* Lists, nearest first, and how far the scan got */
	ScanList   *lists;
	int			nlists;
	int			nextList;
	int			maxLists;		/* lists the scan may read in all */
	int			batchLists;		/* lists per batch */

	/*
	 * The current batch: a min-heap of keys in memory, or a sort past
	 * work_mem.  A key is the distance's bits in an order-preserving form
	 * (high half) and the row's position in the batch (low half), which
	 * finds its heap TID and orders equal distances as the rows were read.
	 */
	uint64	   *keys;
	ItemPointerData *tids;
	bool		borrowed;		/* keys and tids are the backend's spares */
	uint32		nitems;			/* keys in the heap */
	uint32		capitems;
	uint32		nread;			/* rows read into this batch */
	uint32		maxItems;		/* rows a batch may hold in memory */
	Tuplesortstate *sort;
	TupleDesc	sortdesc;
	TupleTableSlot *slot;		/* rows into the sort */
	TupleTableSlot *mslot;		/* rows out of it */
}			IvfflatScanOpaqueData;

typedef IvfflatScanOpaqueData * IvfflatScanOpaque;

/*
 * The batch arrays of the last scan, kept for the next one in this backend
 * (up to IVFFLAT_SPARE_MAX bytes): allocating and page-faulting half a
 * megabyte per query was a fifth of a query's time at 32 probes.  One scan
 * at a time borrows them; a nested scan allocates its own.  They go back
 * when the borrowing scan's memory is reset, which also happens when a
 * query fails, so they are never lost.
 */
#define IVFFLAT_SPARE_MAX	(8 * 1024 * 1024)

static struct
{
	uint64	   *keys;
	ItemPointerData *tids;
	uint32		cap;
	bool		inuse;
}			spare;

/* Memory reset callback of a scan that borrowed the spare arrays */
static void
ReturnSpare(void *arg)
{
	IvfflatScanOpaque so = arg;

	if ((Size) so->capitems * (sizeof(uint64) + sizeof(ItemPointerData)) <= IVFFLAT_SPARE_MAX)
	{
		spare.keys = so->keys;
		spare.tids = so->tids;
		spare.cap = so->capitems;
	}
	else
	{
		pfree(so->keys);
		pfree(so->tids);
		spare.keys = NULL;
		spare.tids = NULL;
		spare.cap = 0;
	}
	spare.inuse = false;
	so->borrowed = false;
	so->keys = NULL;
	so->tids = NULL;
	so->capitems = 0;
}

/* Give a batch arrays for cap rows: the spares if free, else its own */
static void
GrowBatch(IvfflatScanOpaque so, uint32 cap)
{
	MemoryContext cxt = so->borrowed ? TopMemoryContext : so->ctx;

	if (so->keys == NULL && !spare.inuse)
	{
		MemoryContextCallback *cb = MemoryContextAlloc(so->ctx, sizeof(MemoryContextCallback));

		spare.inuse = true;
		so->borrowed = true;
		so->keys = spare.keys;
		so->tids = spare.tids;
		so->capitems = spare.cap;
		cb->func = ReturnSpare;
		cb->arg = so;
		MemoryContextRegisterResetCallback(so->ctx, cb);
		cxt = TopMemoryContext;
		if (so->capitems >= cap)
			return;
	}
	if (so->keys == NULL)
	{
		so->keys = MemoryContextAllocHuge(cxt, sizeof(uint64) * cap);
		so->tids = MemoryContextAllocHuge(cxt, sizeof(ItemPointerData) * cap);
	}
	else
	{
		so->keys = repalloc_huge(so->keys, sizeof(uint64) * cap);
		so->tids = repalloc_huge(so->tids, sizeof(ItemPointerData) * cap);
	}
	so->capitems = cap;
}

/* A float's bits as an unsigned integer with the same order */
static inline uint32
SortableFloat(float f)
{
	uint32		u;

	memcpy(&u, &f, sizeof(u));
	return (u & 0x80000000) ? ~u : (u | 0x80000000);
}

/* Restore the min-heap property below position i */
static void
SiftDown(uint64 *keys, uint32 n, uint32 i)
{
	uint64		x = keys[i];

	for (;;)
	{
		uint64		c = 2 * (uint64) i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && keys[c + 1] < keys[c])
			c++;
		if (keys[c] >= x)
			break;
		keys[i] = keys[c];
		i = (uint32) c;
	}
	keys[i] = x;
}

static int
CompareLists(const void *a, const void *b)
{
	const ScanList *la = a;
	const ScanList *lb = b;

	if (la->dist != lb->dist)
		return la->dist < lb->dist ? -1 : 1;
	return (la->list > lb->list) - (la->list < lb->list);
}

/* Start a scan */
IndexScanDesc
ivfflatbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IvfflatScanOpaque so = palloc0(sizeof(IvfflatScanOpaqueData));

	IvfflatGetIndexInfo(index, &so->info);
	so->ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat scan context",
									ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

/* Forget the current query */
static void
ResetScan(IvfflatScanOpaque so)
{
	if (so->sort != NULL)
		tuplesort_end(so->sort);
	/* (gives borrowed spare arrays back, see ReturnSpare) */
	MemoryContextReset(so->ctx);
	so->sort = NULL;
	so->slot = NULL;
	so->mslot = NULL;
	so->sortdesc = NULL;
	so->keys = NULL;
	so->tids = NULL;
	so->borrowed = false;
	so->nitems = so->capitems = so->nread = 0;
	so->lists = NULL;
	so->query = NULL;
	so->started = false;
}

/* Restart a scan with new keys */
void
ivfflatrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;

	ResetScan(so);
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/* Measure the query against one centre */
static void
MeasureList(void *arg, int list, BlockNumber blkno, OffsetNumber offno, IvfflatListTuple lt)
{
	IvfflatScanOpaque so = arg;
	float		d = 0;

	if (so->query != NULL)
	{
		d = IvfflatDistance(&so->info, so->dim, so->query, lt->center);
		if (isnan(d))
			d = INFINITY;
	}
	so->lists[list].dist = d;
	so->lists[list].list = list;
	so->lists[list].startPage = lt->startPage;
}

/* Measure the query against every centre and order the lists */
static void
OrderLists(IndexScanDesc scan, IvfflatMetaPageData * meta)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;

	so->lists = palloc(sizeof(ScanList) * meta->lists);
	IvfflatWalkLists(scan->indexRelation, meta->lists, MeasureList, so);
	so->nlists = (int) meta->lists;
	if (so->query != NULL)
		qsort(so->lists, so->nlists, sizeof(ScanList), CompareLists);
}

/* Move the batch from memory into a sort, which may spill to disk */
static void
SpillToSort(IvfflatScanOpaque so)
{
	AttrNumber	attNums[] = {1, 2};
	Oid			sortOperators[] = {Float8LessOperator, Int8LessOperator};
	Oid			sortCollations[] = {InvalidOid, InvalidOid};
	bool		nullsFirstFlags[] = {false, false};
	MemoryContext oldCtx = MemoryContextSwitchTo(so->ctx);

	if (so->sortdesc == NULL)
	{
		so->sortdesc = CreateTemplateTupleDesc(3);
		TupleDescInitEntry(so->sortdesc, (AttrNumber) 1, "distance", FLOAT8OID, -1, 0);
		TupleDescInitEntry(so->sortdesc, (AttrNumber) 2, "position", INT8OID, -1, 0);
		TupleDescInitEntry(so->sortdesc, (AttrNumber) 3, "heaptid", TIDOID, -1, 0);
		so->slot = MakeSingleTupleTableSlot(so->sortdesc, &TTSOpsVirtual);
		so->mslot = MakeSingleTupleTableSlot(so->sortdesc, &TTSOpsMinimalTuple);
	}
	so->sort = tuplesort_begin_heap(so->sortdesc, 2, attNums, sortOperators, sortCollations,
									nullsFirstFlags, work_mem, NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(oldCtx);
}

/* Put a row into the sort */
static void
SortItem(IvfflatScanOpaque so, float dist, int64 pos, ItemPointer tid)
{
	TupleTableSlot *slot = so->slot;

	ExecClearTuple(slot);
	slot->tts_values[0] = Float8GetDatum(dist);
	slot->tts_values[1] = Int64GetDatum(pos);
	slot->tts_values[2] = PointerGetDatum(tid);
	slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(so->sort, slot);
}

/* Add a row to the batch */
static inline void
AddItem(IvfflatScanOpaque so, float dist, ItemPointer tid)
{
	uint32		pos = so->nread++;

	if (so->sort != NULL)
	{
		SortItem(so, dist, pos, tid);
		return;
	}
	if (so->nitems == so->maxItems)
	{
		/* Past work_mem: this batch goes through a sort */
		SpillToSort(so);
		for (uint32 i = 0; i < so->nitems; i++)
		{
			uint32		p = (uint32) so->keys[i];
			uint32		bits = (uint32) (so->keys[i] >> 32);
			float		d;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			bits = (bits & 0x80000000) ? (bits & 0x7FFFFFFF) : ~bits;
			memcpy(&d, &bits, sizeof(d));
			SortItem(so, d, p, &so->tids[p]);
		}
		so->nitems = 0;
		SortItem(so, dist, pos, tid);
		return;
	}
	if (so->nitems == so->capitems)
		GrowBatch(so, Min(Max(so->capitems * 2, 1024), so->maxItems));
	so->keys[so->nitems] = ((uint64) SortableFloat(dist) << 32) | pos;
	so->tids[pos] = *tid;
	so->nitems++;
}

/* Read every row of one list into the batch */
static void
ReadList(IndexScanDesc scan, BlockNumber blkno)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf = IvfflatReadBuffer(index, blkno);
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			IvfflatTuple tup = (IvfflatTuple) PageGetItem(page, PageGetItemId(page, off));
			float		d = 0;

			/* The next tuple's first lines, while this one is measured */
			if (off < maxoff)
			{
				const char *next = PageGetItem(page, PageGetItemId(page, off + 1));

				__builtin_prefetch(next);
				__builtin_prefetch(next + 64);
				__builtin_prefetch(next + 128);
				__builtin_prefetch(next + 192);
			}
			if (so->query != NULL)
				d = IvfflatDistance(&so->info, so->dim, so->query, tup->value);
			AddItem(so, d, &tup->heaptid);
		}
		blkno = IvfflatPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
}

/* Read the next batch of lists; false when the scan may read no more */
static bool
NextBatch(IndexScanDesc scan)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;
	int			end;

	if (so->nextList >= so->maxLists)
		return false;
	end = Min(so->nextList + so->batchLists, so->maxLists);

	if (so->sort != NULL)
	{
		tuplesort_end(so->sort);
		so->sort = NULL;
	}
	so->nitems = 0;
	so->nread = 0;
	for (; so->nextList < end; so->nextList++)
		ReadList(scan, so->lists[so->nextList].startPage);

	if (so->sort != NULL)
		tuplesort_performsort(so->sort);
	else
	{
		/* Heapify: popping k rows then costs O(k log n) */
		for (int64 i = (int64) so->nitems / 2 - 1; i >= 0; i--)
			SiftDown(so->keys, so->nitems, (uint32) i);
	}
	return true;
}

/* Set up the query: prepare the value, order the lists, read the first batch */
static void
StartScan(IndexScanDesc scan)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	IvfflatMetaPageData meta;
	MemoryContext oldCtx;

	/* Rows come from memory: only an MVCC snapshot keeps their TIDs valid */
	if (scan->xs_snapshot == NULL || !IsMVCCSnapshot(scan->xs_snapshot))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("non-MVCC snapshots are not supported with ivfflat")));

	pgstat_count_index_scan(index);

	oldCtx = MemoryContextSwitchTo(so->ctx);
	meta = IvfflatReadMeta(index);
	so->dim = (int) meta.dimensions;
	/* work_mem, and positions must fit the low half of a key */
	so->maxItems = (uint32) Min((Size) work_mem * 1024L / (sizeof(uint64) + sizeof(ItemPointerData)),
								(Size) PG_UINT32_MAX / 2);

	if (scan->numberOfOrderBys == 0 || (scan->orderByData[0].sk_flags & SK_ISNULL))
		so->query = NULL;
	else
	{
		so->query = IvfflatPrepareValue(&so->info, scan->orderByData[0].sk_argument, true);
		if (so->info.ops->valueDim(so->query) != so->dim)
			so->info.ops->dimMismatch(so->dim, so->info.ops->valueDim(so->query));
	}

	OrderLists(scan, &meta);
	if (so->query == NULL)
	{
		/* Nothing to be near to: every row, in one batch */
		so->batchLists = so->maxLists = so->nlists;
	}
	else
	{
		so->batchLists = Min(ivfflat_probes, so->nlists);
		so->maxLists = so->batchLists;
		if (ivfflat_iterative_scan != IVFFLAT_ITERATIVE_SCAN_OFF)
			so->maxLists = Min(Max(ivfflat_max_probes, ivfflat_probes), so->nlists);
	}
	so->nextList = 0;
	NextBatch(scan);
	MemoryContextSwitchTo(oldCtx);
}

/* The next row of the current batch; false when it is exhausted */
static bool
PopItem(IvfflatScanOpaque so, ItemPointer tid)
{
	if (so->sort != NULL)
	{
		bool		isnull;

		if (!tuplesort_gettupleslot(so->sort, true, false, so->mslot, NULL))
			return false;
		*tid = *(ItemPointer) DatumGetPointer(slot_getattr(so->mslot, 3, &isnull));
		return true;
	}
	if (so->nitems == 0)
		return false;
	*tid = so->tids[(uint32) so->keys[0]];
	so->nitems--;
	if (so->nitems > 0)
	{
		so->keys[0] = so->keys[so->nitems];
		SiftDown(so->keys, so->nitems, 0);
	}
	return true;
}

/* Return the next row in distance order */
bool
ivfflatgettuple(IndexScanDesc scan, ScanDirection dir)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;
	ItemPointerData tid;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "ivfflat index scans only go forward");

	if (!so->started)
	{
		so->started = true;
		StartScan(scan);
	}

	for (;;)
	{
		MemoryContext oldCtx;
		bool		more;

		if (PopItem(so, &tid))
			break;
		oldCtx = MemoryContextSwitchTo(so->ctx);
		more = NextBatch(scan);
		MemoryContextSwitchTo(oldCtx);
		if (!more)
			return false;
	}

	scan->xs_heaptid = tid;
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	return true;
}

/* End a scan */
void
ivfflatendscan(IndexScanDesc scan)
{
	IvfflatScanOpaque so = (IvfflatScanOpaque) scan->opaque;

	ResetScan(so);
	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
