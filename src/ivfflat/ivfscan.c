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
 * A batch lives in memory as a binary heap of (distance, heap TID), popped
 * one row per call, so LIMIT k pays for k pops rather than a full sort.  A
 * batch larger than work_mem goes to a tuplesort instead, which spills to
 * disk.  A NULL query (ORDER BY v <-> NULL) returns every row of every
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

/* A row of the current batch */
typedef struct ScanItem
{
	float		dist;
	ItemPointerData tid;
}			ScanItem;

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

	/* The current batch: a heap in memory, or a sort past work_mem */
	ScanItem   *items;
	int64		nitems;
	int64		capitems;
	Size		memLimit;
	Tuplesortstate *sort;
	TupleDesc	sortdesc;
	TupleTableSlot *slot;		/* rows into the sort */
	TupleTableSlot *mslot;		/* rows out of it */
}			IvfflatScanOpaqueData;

typedef IvfflatScanOpaqueData * IvfflatScanOpaque;

/* Heap order: nearer first, then by heap TID (a stable order for equals) */
static inline bool
ItemBefore(const ScanItem * a, const ScanItem * b)
{
	if (a->dist != b->dist)
		return a->dist < b->dist;
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid) < 0;
}

static void
SiftDown(ScanItem * items, int64 n, int64 i)
{
	ScanItem	x = items[i];

	for (;;)
	{
		int64		c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ItemBefore(&items[c + 1], &items[c]))
			c++;
		if (!ItemBefore(&items[c], &x))
			break;
		items[i] = items[c];
		i = c;
	}
	items[i] = x;
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
	so->sort = NULL;
	so->slot = NULL;
	so->mslot = NULL;
	so->sortdesc = NULL;
	so->items = NULL;
	so->nitems = so->capitems = 0;
	so->lists = NULL;
	so->query = NULL;
	so->started = false;
	MemoryContextReset(so->ctx);
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
	Oid			sortOperators[] = {Float8LessOperator, TIDLessOperator};
	Oid			sortCollations[] = {InvalidOid, InvalidOid};
	bool		nullsFirstFlags[] = {false, false};
	MemoryContext oldCtx = MemoryContextSwitchTo(so->ctx);

	if (so->sortdesc == NULL)
	{
		so->sortdesc = CreateTemplateTupleDesc(2);
		TupleDescInitEntry(so->sortdesc, (AttrNumber) 1, "distance", FLOAT8OID, -1, 0);
		TupleDescInitEntry(so->sortdesc, (AttrNumber) 2, "heaptid", TIDOID, -1, 0);
		so->slot = MakeSingleTupleTableSlot(so->sortdesc, &TTSOpsVirtual);
		so->mslot = MakeSingleTupleTableSlot(so->sortdesc, &TTSOpsMinimalTuple);
	}
	so->sort = tuplesort_begin_heap(so->sortdesc, 2, attNums, sortOperators, sortCollations,
									nullsFirstFlags, work_mem, NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(oldCtx);
}

/* Add a row to the batch */
static inline void
AddItem(IvfflatScanOpaque so, float dist, ItemPointer tid)
{
	if (so->sort != NULL)
	{
		TupleTableSlot *slot = so->slot;

		ExecClearTuple(slot);
		slot->tts_values[0] = Float8GetDatum(dist);
		slot->tts_values[1] = PointerGetDatum(tid);
		slot->tts_isnull[0] = slot->tts_isnull[1] = false;
		ExecStoreVirtualTuple(slot);
		tuplesort_puttupleslot(so->sort, slot);
		return;
	}
	if (so->nitems == so->capitems)
	{
		Size		bytes;

		so->capitems = Max(so->capitems * 2, 1024);
		bytes = sizeof(ScanItem) * so->capitems;
		if (bytes > so->memLimit && so->nitems > 0)
		{
			/* Past work_mem: this batch goes through a sort */
			SpillToSort(so);
			for (int64 i = 0; i < so->nitems; i++)
				AddItem(so, so->items[i].dist, &so->items[i].tid);
			pfree(so->items);
			so->items = NULL;
			so->nitems = so->capitems = 0;
			AddItem(so, dist, tid);
			return;
		}
		if (so->items == NULL)
			so->items = MemoryContextAllocHuge(so->ctx, bytes);
		else
			so->items = repalloc_huge(so->items, bytes);
	}
	so->items[so->nitems].dist = dist;
	so->items[so->nitems].tid = *tid;
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
		Buffer		buf = ReadBuffer(index, blkno);
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
	for (; so->nextList < end; so->nextList++)
		ReadList(scan, so->lists[so->nextList].startPage);

	if (so->sort != NULL)
		tuplesort_performsort(so->sort);
	else
	{
		/* Heapify: popping k rows then costs O(k log n) */
		for (int64 i = so->nitems / 2 - 1; i >= 0; i--)
			SiftDown(so->items, so->nitems, i);
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
	so->memLimit = (Size) work_mem * 1024L;

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
		*tid = *(ItemPointer) DatumGetPointer(slot_getattr(so->mslot, 2, &isnull));
		return true;
	}
	if (so->nitems == 0)
		return false;
	*tid = so->items[0].tid;
	so->nitems--;
	if (so->nitems > 0)
	{
		so->items[0] = so->items[so->nitems];
		SiftDown(so->items, so->nitems, 0);
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
