/*-------------------------------------------------------------------------
 *
 * hnswscan.c
 *	  Scan an hnsw index: nearest neighbours in distance order
 *
 * The first batch is the classic search: greedy descent to level 0, then
 * a best-first search keeping the ef_search nearest elements.  With
 * hnsw.iterative_scan on, the search state survives the batch: elements
 * pushed out of the result set go to a "discarded" heap, unexpanded
 * candidates stay in the candidate heap, and the next batch seeds its
 * result set with the nearest discarded elements and carries on the same
 * best-first search.  Every visited element is returned at most once.
 * relaxed_order returns each batch sorted (batches may overlap in
 * distance); strict_order drops anything nearer than what was already
 * returned.  hnsw.max_scan_tuples and hnsw.scan_mem_multiplier bound the
 * work.
 *
 * Distances are computed straight from the page, under a share lock,
 * with the SIMD kernels; neighbours of an expanded element are grouped by
 * block so each page is locked once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "miscadmin.h"
#include "utils/float.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/* A visited element */
typedef struct ScanNode
{
	ItemPointerData tid;
	ItemPointerData heaptid;
	float		dist;
	bool		deleted;
	bool		expanded;
	int16		nnbrs;			/* cached level-0 neighbours, -1 if none */
	int32		nbrOff;			/* their offset in the arena */
}			ScanNode;

typedef struct HnswScanOpaqueData
{
	MemoryContext ctx;
	HnswIndexInfo info;
	int			dim;
	float	   *q;
	bool		started;
	bool		done;			/* no further batches */
	ScanNode   *nodes;
	int			nnodes;
	int			capnodes;
	HnswKeySet	visited;		/* TID -> node index */
	HnswHeap	cand;			/* unexpanded, nearest first */
	HnswHeap	res;			/* current batch, negated distances */
	HnswHeap	discarded;		/* visited, never returned */
	int		   *batch;			/* current batch, sorted */
	int			nbatch;
	int			batchpos;
	float		lastDist;
	Size		memLimit;
	ItemPointerData *arena;		/* cached neighbour lists */
	int32		narena;
	int32		caparena;
}			HnswScanOpaqueData;

typedef HnswScanOpaqueData * HnswScanOpaque;

/* Start a scan */
IndexScanDesc
hnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanOpaque so = palloc0(sizeof(HnswScanOpaqueData));

	so->ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan",
									ALLOCSET_DEFAULT_SIZES);
	HnswGetIndexInfo(index, &so->info);
	scan->opaque = so;
	return scan;
}

/* Remember the query vector and reset the search */
void
hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	MemoryContextReset(so->ctx);
	so->started = false;
	so->done = false;
	so->q = NULL;
}

/* Add a visited element to the node array; returns its index */
static int
AddNode(HnswScanOpaque so, ItemPointer tid, HnswElementTuple etup, float dist)
{
	ScanNode   *n;
	int			idx;

	if (so->nnodes == so->capnodes)
	{
		so->capnodes *= 2;
		so->nodes = repalloc_huge(so->nodes, sizeof(ScanNode) * so->capnodes);
	}
	idx = so->nnodes++;
	n = &so->nodes[idx];
	n->tid = *tid;
	n->heaptid = etup->heaptid;
	n->dist = dist;
	n->deleted = etup->deleted != 0;
	n->expanded = false;
	n->nnbrs = -1;
	HnswKeyMapPut(&so->visited, HnswTidKey(tid), idx);
	return idx;
}

/* Read one element tuple's neighbour slots at a level into out */
static int
ReadNeighbors(Relation index, HnswScanOpaque so, ItemPointer tid, int level,
			  ItemPointer out, HnswNode * info)
{
	int			nslots;
	int			n = 0;

	nslots = HnswReadElement(index, tid, so->dim, info, false, level, out);
	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&out[i]))
			out[n++] = out[i];
	return n;
}

/* Distance from the query to one element, read under a share lock */
static float
ElementDistance(Relation index, HnswScanOpaque so, ItemPointer tid)
{
	Buffer		buf = HnswReadBuffer(index, ItemPointerGetBlockNumber(tid));
	HnswElementTuple etup;
	float		d;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	etup = HnswGetElementTuple(index, BufferGetPage(buf), ItemPointerGetOffsetNumber(tid));
	if (etup->dim != so->dim)
		elog(ERROR, "hnsw element has %d dimensions, expected %d", etup->dim, so->dim);
	d = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
	UnlockReleaseBuffer(buf);
	return d;
}

/*
 * Pin the blocks of n elements and prefetch them in stages so that the
 * cache misses overlap: buffer headers, then (once pinned) page headers and
 * line pointers, then the tuples (the trick hnswlib uses).  The unlocked
 * reads here only compute prefetch addresses; a stale value is harmless.
 */
static void
PinAndPrefetch(Relation index, HnswScanOpaque so, ItemPointer nbrs, int nnew, Buffer *bufs)
{
	HnswRelCache *rc = (HnswRelCache *) index->rd_amcache;
	Size		vecbytes = offsetof(HnswElementTupleData, x) + sizeof(float) * so->dim;

	if (rc != NULL)
	{
		for (int j = 0; j < nnew; j++)
		{
			BlockNumber blk = ItemPointerGetBlockNumber(&nbrs[j]);

			if (blk < rc->nrecent && BufferIsValid(rc->recent[blk]) && rc->recent[blk] > 0)
			{
				Buffer		hint = rc->recent[blk];

				/* The hinted page's line pointer can be fetched before the pin */
				__builtin_prefetch(GetBufferDescriptor(hint - 1));
				__builtin_prefetch(PageGetItemId((Page) BufferGetBlock(hint),
												 ItemPointerGetOffsetNumber(&nbrs[j])));
			}
		}
	}
	for (int j = 0; j < nnew; j++)
	{
		BlockNumber blk = ItemPointerGetBlockNumber(&nbrs[j]);
		Page		page;

		if (blk == HNSW_METAPAGE_BLKNO)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" has a link to its metapage",
							RelationGetRelationName(index))));
		bufs[j] = HnswReadBuffer(index, blk);
		page = BufferGetPage(bufs[j]);
		__builtin_prefetch(page);
		__builtin_prefetch(PageGetItemId(page, ItemPointerGetOffsetNumber(&nbrs[j])));
	}
	for (int j = 0; j < nnew; j++)
	{
		Page		page = BufferGetPage(bufs[j]);
		OffsetNumber off = ItemPointerGetOffsetNumber(&nbrs[j]);
		ItemId		iid;
		char	   *p;

		if (off > MaxOffsetNumber)
			continue;
		iid = PageGetItemId(page, off);
		if (ItemIdGetOffset(iid) >= BLCKSZ)
			continue;
		p = (char *) page + ItemIdGetOffset(iid);
		for (Size b = 0; b < vecbytes && b < 8 * 64; b += 64)
			__builtin_prefetch(p + b);
	}
}

/* Greedy descent from the entry point to the nearest element at level 1 */
static void
DescendUpperLevels(Relation index, HnswScanOpaque so, ItemPointer ep, int entryLevel)
{
	float		epd = ElementDistance(index, so, ep);
	ItemPointerData nbrs[HNSW_MAX_M];
	Buffer		bufs[HNSW_MAX_M];
	HnswNode	info;

	for (int l = entryLevel; l > 0; l--)
	{
		bool		changed = true;

		while (changed)
		{
			int			nn = ReadNeighbors(index, so, ep, l, nbrs, &info);
			ItemPointerData best = *ep;

			CHECK_FOR_INTERRUPTS();
			changed = false;
			PinAndPrefetch(index, so, nbrs, nn, bufs);
			for (int i = 0; i < nn; i++)
			{
				HnswElementTuple etup;
				float		d;

				/* No content lock needed for the vector: see Expand */
				etup = HnswGetElementTuple(index, BufferGetPage(bufs[i]),
										   ItemPointerGetOffsetNumber(&nbrs[i]));
				if (etup->dim != so->dim)
					elog(ERROR, "hnsw element has %d dimensions, expected %d", etup->dim, so->dim);
				d = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
				ReleaseBuffer(bufs[i]);
				if (d < epd)
				{
					epd = d;
					best = nbrs[i];
					changed = true;
				}
			}
			*ep = best;
		}
	}
}

/* Offer a newly visited element to the current batch */
static void
Offer(HnswScanOpaque so, int idx, int ef, bool keepDiscarded)
{
	float		d = so->nodes[idx].dist;

	if (so->res.n < ef || d < -so->res.items[0].dist)
	{
		HnswHeapPush(&so->cand, d, idx);
		HnswHeapPush(&so->res, -d, idx);
		if (so->res.n > ef)
		{
			HnswPair	out = HnswHeapPop(&so->res);

			if (keepDiscarded)
				HnswHeapPush(&so->discarded, -out.dist, out.key);
		}
	}
	else if (keepDiscarded)
		HnswHeapPush(&so->discarded, d, idx);
}

/*
 * Copy an element's valid level-0 neighbours into the arena while its page
 * is locked anyway, so that expanding it later needs no second visit.
 */
static void
CacheNeighbors(HnswScanOpaque so, int idx, HnswElementTuple etup)
{
	ItemPointer nbrs = HnswTupleNeighbors(etup);
	int			nslots = HnswLevelSlots(etup->m, 0);
	int			n = 0;

	if (so->narena + nslots > so->caparena)
	{
		so->caparena = Max(so->caparena * 2, so->narena + nslots);
		so->arena = repalloc_huge(so->arena, sizeof(ItemPointerData) * so->caparena);
	}
	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&nbrs[i]))
			so->arena[so->narena + n++] = nbrs[i];
	so->nodes[idx].nbrOff = so->narena;
	so->nodes[idx].nnbrs = n;
	so->narena += n;
}

/*
 * Expand one element: visit its unvisited level-0 neighbours.  All their
 * buffers are pinned first and the line pointers, then the tuples, are
 * prefetched, so the cache misses of up to 2m random elements overlap
 * instead of being paid one after another (the trick hnswlib uses).
 */
static void
Expand(Relation index, HnswScanOpaque so, int idx, int ef, bool keepDiscarded)
{
	ItemPointerData nbrs[2 * HNSW_MAX_M];
	Buffer		bufs[2 * HNSW_MAX_M];
	int			added[2 * HNSW_MAX_M];
	int			nadded = 0;
	ItemPointerData tid = so->nodes[idx].tid;
	int			nn;
	int			nnew = 0;
	int			i = 0;

	so->nodes[idx].expanded = true;
	if (so->nodes[idx].nnbrs >= 0)
	{
		nn = so->nodes[idx].nnbrs;
		memcpy(nbrs, so->arena + so->nodes[idx].nbrOff, sizeof(ItemPointerData) * nn);
	}
	else
	{
		HnswNode	info;

		nn = ReadNeighbors(index, so, &tid, 0, nbrs, &info);
	}
	for (int j = 0; j < nn; j++)
		if (HnswKeyMapGet(&so->visited, HnswTidKey(&nbrs[j])) < 0)
			nbrs[nnew++] = nbrs[j];
	if (nnew == 0)
		return;

	PinAndPrefetch(index, so, nbrs, nnew, bufs);

	/*
	 * Distances are computed from the pinned page without its content lock:
	 * an element's vector, heap TID and position never change once written
	 * (writers only add items, flip the deleted flag or rewrite neighbour
	 * slots, and a GenericXLog or redo page copy rewrites unchanged bytes
	 * with the same values), and a link to an element is only written after
	 * the element itself, under locks that order the two.  Neighbour slots
	 * do change, so they are copied under the share lock.
	 */
	for (i = 0; i < nnew; i++)
	{
		HnswElementTuple etup;
		float		bound;
		float		d;
		int			n;

		etup = HnswGetElementTuple(index, BufferGetPage(bufs[i]),
								   ItemPointerGetOffsetNumber(&nbrs[i]));
		if (etup->dim != so->dim)
			elog(ERROR, "hnsw element has %d dimensions, expected %d", etup->dim, so->dim);
		if (HnswKeyMapGet(&so->visited, HnswTidKey(&nbrs[i])) >= 0)
		{
			/* listed twice */
			ReleaseBuffer(bufs[i]);
			continue;
		}
		d = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
		n = AddNode(so, &nbrs[i], etup, d);
		bound = so->res.n < ef ? get_float4_infinity() : -so->res.items[0].dist;
		if (d < bound)
		{
			LockBuffer(bufs[i], BUFFER_LOCK_SHARE);
			CacheNeighbors(so, n, etup);
			so->nodes[n].deleted = etup->deleted != 0;
			LockBuffer(bufs[i], BUFFER_LOCK_UNLOCK);
		}
		ReleaseBuffer(bufs[i]);
		added[nadded++] = n;
	}
	for (int j = 0; j < nadded; j++)
		Offer(so, added[j], ef, keepDiscarded);
}

/* Run the best-first search until the batch is final, then sort it out */
static void
RunBatch(Relation index, HnswScanOpaque so, int ef, bool keepDiscarded)
{
	int			n;

	while (so->cand.n > 0)
	{
		HnswPair	c = so->cand.items[0];

		CHECK_FOR_INTERRUPTS();
		if (so->res.n >= ef && c.dist > -so->res.items[0].dist)
			break;
		HnswHeapPop(&so->cand);
		if (so->nodes[c.key].expanded)
			continue;
		Expand(index, so, (int) c.key, ef, keepDiscarded);
	}

	n = so->res.n;
	so->batch = repalloc(so->batch, sizeof(int) * Max(n, 1));
	for (int i = n - 1; i >= 0; i--)
		so->batch[i] = (int) HnswHeapPop(&so->res).key;
	so->nbatch = n;
	so->batchpos = 0;
}

/* Set up the search: query vector, entry point, first batch */
static void
StartSearch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	HnswMetaPageData meta = HnswReadMeta(index);
	ItemPointerData ep;
	int			ef = hnsw_ef_search;
	bool		iterative = hnsw_iterative_scan != HNSW_ITERATIVE_SCAN_OFF;
	int			epidx;
	HnswElementTupleData dummy;

	so->started = true;
	so->lastDist = -get_float4_infinity();
	so->memLimit = (Size) (work_mem * 1024.0 * hnsw_scan_mem_multiplier);
	if (scan->numberOfOrderBys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot scan hnsw index without order"),
				 errdetail("An hnsw index can only answer ORDER BY distance.")));

	if (meta.entryBlkno == InvalidBlockNumber)
	{
		so->done = true;
		so->nbatch = 0;
		return;
	}
	so->dim = meta.dimensions;

	if (scan->orderByData[0].sk_flags & SK_ISNULL)
		so->q = palloc0(sizeof(float) * so->dim);
	else
	{
		int			dim;

		(void) HnswPrepareValue(&so->info, scan->orderByData[0].sk_argument, &so->q, &dim);
		if (dim != so->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("expected %d dimensions, not %d", so->dim, dim)));
	}

	so->capnodes = Max(ef * 16, 1024);
	so->nodes = palloc(sizeof(ScanNode) * so->capnodes);
	so->nnodes = 0;
	HnswKeySetInit(&so->visited, Max(ef * 16, 1024));
	HnswHeapInit(&so->cand, ef * 4);
	HnswHeapInit(&so->res, ef + 2);
	HnswHeapInit(&so->discarded, iterative ? ef * 8 : 16);
	so->batch = palloc(sizeof(int) * (ef + 1));
	so->caparena = ef * 8 * 2 * so->info.m;
	so->arena = palloc(sizeof(ItemPointerData) * so->caparena);
	so->narena = 0;

	ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
	DescendUpperLevels(index, so, &ep, meta.entryLevel);

	/* The entry element starts the level-0 search */
	{
		Buffer		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&ep));
		HnswElementTuple etup;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		etup = HnswGetElementTuple(index, BufferGetPage(buf), ItemPointerGetOffsetNumber(&ep));
		dummy.heaptid = etup->heaptid;
		dummy.deleted = etup->deleted;
		epidx = AddNode(so, &ep, &dummy,
						HnswDistance(so->info.kind, so->dim, so->q, etup->x));
		UnlockReleaseBuffer(buf);
	}
	HnswHeapPush(&so->cand, so->nodes[epidx].dist, epidx);
	HnswHeapPush(&so->res, -so->nodes[epidx].dist, epidx);
	RunBatch(index, so, ef, iterative);
	if (!iterative)
		so->done = true;
}

/* Start the next batch of an iterative scan; false when there is none */
static bool
NextBatch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	int			ef = hnsw_ef_search;
	Size		mem;

	if (so->done)
		return false;
	mem = (Size) so->capnodes * sizeof(ScanNode) + (Size) (so->visited.mask + 1) * sizeof(HnswKeyEntry) +
		(Size) (so->cand.cap + so->discarded.cap) * sizeof(HnswPair) +
		(Size) so->caparena * sizeof(ItemPointerData);
	if (so->nnodes >= hnsw_max_scan_tuples || mem > so->memLimit ||
		(so->cand.n == 0 && so->discarded.n == 0))
	{
		so->done = true;
		return false;
	}

	so->res.n = 0;
	while (so->res.n < ef && so->discarded.n > 0)
	{
		HnswPair	p = HnswHeapPop(&so->discarded);

		HnswHeapPush(&so->res, -p.dist, p.key);
		if (!so->nodes[p.key].expanded)
			HnswHeapPush(&so->cand, p.dist, p.key);
	}
	RunBatch(scan->indexRelation, so, ef, true);
	return true;
}

/* Return the next nearest heap TID */
bool
hnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(so->ctx);

	if (!so->started)
		StartSearch(scan);

	for (;;)
	{
		while (so->batchpos < so->nbatch)
		{
			ScanNode   *n = &so->nodes[so->batch[so->batchpos++]];

			if (n->deleted || !ItemPointerIsValid(&n->heaptid))
				continue;
			if (hnsw_iterative_scan == HNSW_ITERATIVE_SCAN_STRICT && n->dist < so->lastDist)
				continue;
			so->lastDist = n->dist;
			scan->xs_heaptid = n->heaptid;
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			MemoryContextSwitchTo(old);
			return true;
		}
		if (!NextBatch(scan))
			break;
	}
	MemoryContextSwitchTo(old);
	return false;
}

/* End a scan */
void
hnswendscan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
