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
 * Visiting an element (measuring its distance) reads its page without a
 * pin when possible: see PeekElement.  Expanding an element (reading its
 * neighbour list) always pins and share-locks its page, and confirms the
 * heap TID and distance the visit saw, so every row returned was read
 * under a pin.
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

#include "hnsw/hnsw.h"

/* A visited element */
typedef struct ScanNode
{
	ItemPointerData tid;
	ItemPointerData heaptid;
	float		dist;
	bool		deleted;
	bool		expanded;
	bool		verified;		/* heap TID and distance read under a pin */
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

/* Append a visited element to the node array; returns its index */
static int
NewNodeRaw(HnswScanOpaque so, ItemPointer tid, ItemPointer heaptid, bool deleted,
		   float dist, bool verified)
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
	n->heaptid = *heaptid;
	n->dist = dist;
	n->deleted = deleted;
	n->expanded = false;
	n->verified = verified;
	n->nnbrs = -1;
	return idx;
}

/* Append an element read from a pinned page */
static int
NewNode(HnswScanOpaque so, ItemPointer tid, HnswElementTuple etup, float dist)
{
	return NewNodeRaw(so, tid, &etup->heaptid, etup->deleted != 0, dist, true);
}

/* Add a visited element and mark it visited; returns its index */
static int
AddNode(HnswScanOpaque so, ItemPointer tid, HnswElementTuple etup, float dist)
{
	int			idx = NewNode(so, tid, etup, dist);

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

/* An element of a pinned page, checked for the scan's dimension */
static HnswElementTuple
ScanElement(Relation index, HnswScanOpaque so, Buffer buf, ItemPointer tid)
{
	HnswElementTuple etup = HnswGetElementTuple(index, BufferGetPage(buf),
												ItemPointerGetOffsetNumber(tid));

	if (etup->dim != so->dim)
		elog(ERROR, "hnsw element has %d dimensions, expected %d", etup->dim, so->dim);
	return etup;
}

/* Pin an element's block, refusing links to the metapage */
static Buffer
PinElement(Relation index, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);

	if (blk == HNSW_METAPAGE_BLKNO)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a link to its metapage",
						RelationGetRelationName(index))));
	return HnswReadBuffer(index, blk);
}

/* Line pointers that can exist on a page */
#define HNSW_MAX_ITEMS	((BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))

/* The shared buffer that last held an element's block here, or 0 */
static inline Buffer
HintFor(HnswRelCache *rc, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);

	if (rc == NULL || blk >= rc->nrecent || rc->recent[blk] <= 0 ||
		ItemPointerGetOffsetNumber(tid) > HNSW_MAX_ITEMS)
		return InvalidBuffer;
	return rc->recent[blk];
}

/*
 * Start fetching what reading n elements touches, in two rounds so that
 * the cache misses of each round overlap (the trick hnswlib uses): first
 * the buffer headers and line pointers, then the tuples the line pointers
 * point at.  Addresses come from the per-backend buffer hints and are not
 * checked: shared buffers stay mapped, so a stale hint only wastes a
 * prefetch.
 *
 * Always inlined: a separate function that only prefetches looks free of
 * side effects to GCC, which then deletes the calls (seen with GCC 12).
 */
static pg_attribute_always_inline void
PrefetchElements(HnswRelCache *rc, HnswScanOpaque so, ItemPointer tids, int n)
{
	Size		vecbytes = offsetof(HnswElementTupleData, x) + sizeof(float) * so->dim;

	for (int j = 0; j < n; j++)
	{
		Buffer		hint = HintFor(rc, &tids[j]);

		if (hint == InvalidBuffer)
			continue;
		__builtin_prefetch(GetBufferDescriptor(hint - 1));
		__builtin_prefetch(PageGetItemId((Page) BufferGetBlock(hint),
										 ItemPointerGetOffsetNumber(&tids[j])));
	}
	for (int j = 0; j < n; j++)
	{
		Buffer		hint = HintFor(rc, &tids[j]);
		Page		page;
		Size		start;

		if (hint == InvalidBuffer)
			continue;
		page = (Page) BufferGetBlock(hint);
		start = ItemIdGetOffset(PageGetItemId(page, ItemPointerGetOffsetNumber(&tids[j])));
		for (Size b = start & ~(Size) 63; b < start + vecbytes && b < BLCKSZ; b += 64)
			__builtin_prefetch((char *) page + b);
	}
}

/* Is this buffer header valid, not being changed, and tagged with blk? */
static inline bool
HeaderHolds(volatile BufferDesc *desc, Relation index, BlockNumber blk)
{
	uint32		state = pg_atomic_read_u32((pg_atomic_uint32 *) &desc->state);

	if ((state & (BM_VALID | BM_TAG_VALID | BM_LOCKED | BM_IO_IN_PROGRESS)) !=
		(BM_VALID | BM_TAG_VALID))
		return false;
	pg_read_barrier();
	return desc->tag.blockNum == blk && desc->tag.forkNum == MAIN_FORKNUM &&
		desc->tag.rnode.relNode == index->rd_node.relNode &&
		desc->tag.rnode.dbNode == index->rd_node.dbNode &&
		desc->tag.rnode.spcNode == index->rd_node.spcNode;
}

/*
 * Measure an element without pinning its page: the hot path of a search,
 * where taking and dropping a pin per visited element (two atomic
 * operations on a buffer header that is usually a cache miss) was a third
 * of the time in profiles.
 *
 * It reads the buffer this backend last found the block in, and trusts
 * what it read only if the buffer header says, before and after, that the
 * buffer holds the block and is valid.  This is safe because shared
 * buffers are always mapped (a stale read cannot fault), every offset is
 * bounds-checked before use, and what is read does not change under a
 * live element or tombstone: its vector, heap TID and position stay (the
 * deleted flag may be seen a moment late, as with any read).  What the
 * header check cannot see (the buffer evicted and re-read twice while this
 * process was descheduled mid-read), and an insert reusing a freed slot
 * mid-read, could only mislead the traversal: every element that ends up
 * in a result is expanded, and expanding pins and locks the page and
 * re-reads its heap TID and distance (ReadForExpand).
 *
 * Returns false (and the caller pins) when there is no hint, the buffer
 * moved, or anything looks wrong; the pinned path reports real corruption.
 */
static bool
PeekElement(Relation index, HnswRelCache *rc, HnswScanOpaque so, ItemPointer tid,
			float *dist, ItemPointer heaptid, bool *deleted, char **where)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		hint = HintFor(rc, tid);
	volatile BufferDesc *desc;
	Page		page;
	ItemIdData	iid;
	HnswElementTuple etup;
	Size		need = offsetof(HnswElementTupleData, x) + sizeof(float) * so->dim;

	if (hint == InvalidBuffer || blk == HNSW_METAPAGE_BLKNO || off < FirstOffsetNumber)
		return false;
	desc = GetBufferDescriptor(hint - 1);
	if (!HeaderHolds(desc, index, blk))
		return false;
	pg_read_barrier();

	page = (Page) BufferGetBlock(hint);
	iid = *PageGetItemId(page, off);
	if (!ItemIdIsNormal(&iid) || ItemIdGetOffset(&iid) < SizeOfPageHeaderData ||
		ItemIdGetLength(&iid) < need ||
		ItemIdGetOffset(&iid) + ItemIdGetLength(&iid) > BLCKSZ)
		return false;
	etup = (HnswElementTuple) ((char *) page + ItemIdGetOffset(&iid));
	if (etup->type != HNSW_ELEMENT_TUPLE || etup->dim != so->dim)
		return false;
	*dist = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
	*heaptid = etup->heaptid;
	*deleted = etup->deleted != 0;
	*where = (char *) etup;

	pg_read_barrier();
	return HeaderHolds(desc, index, blk);
}

/*
 * Pin and share-lock a node's page (*buf, for the caller to release) and
 * confirm what its visit may have read without a pin: the heap TID, the
 * deleted flag and the distance.  Returns the element.
 */
static HnswElementTuple
LockAndConfirm(Relation index, HnswScanOpaque so, ScanNode *node, Buffer *buf)
{
	HnswElementTuple etup;

	*buf = PinElement(index, &node->tid);
	LockBuffer(*buf, BUFFER_LOCK_SHARE);
	etup = ScanElement(index, so, *buf, &node->tid);
	if (!node->verified)
	{
		node->heaptid = etup->heaptid;
		node->dist = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
		node->verified = true;
	}
	node->deleted = etup->deleted != 0;
	return etup;
}

/* Read a node's level-0 neighbours into out, confirming it; returns the count */
static int
ReadForExpand(Relation index, HnswScanOpaque so, ScanNode *node, ItemPointer out)
{
	Buffer		buf;
	HnswElementTuple etup = LockAndConfirm(index, so, node, &buf);
	ItemPointer slots;
	int			nslots;
	int			n = 0;

	slots = HnswTupleNeighbors(etup);
	nslots = HnswLevelSlots(etup->m, 0);
	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&slots[i]))
			out[n++] = slots[i];
	UnlockReleaseBuffer(buf);
	return n;
}

/* Distance to an element read from its pinned page (the fallback path) */
static float
PinnedDistance(Relation index, HnswScanOpaque so, ItemPointer tid)
{
	Buffer		buf = PinElement(index, tid);
	HnswElementTuple etup;
	float		d;

	etup = ScanElement(index, so, buf, tid);
	d = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
	ReleaseBuffer(buf);
	return d;
}

/* Greedy descent from the entry point to the nearest element at level 1 */
static void
DescendUpperLevels(Relation index, HnswScanOpaque so, ItemPointer ep, int entryLevel)
{
	float		epd = PinnedDistance(index, so, ep);
	ItemPointerData nbrs[HNSW_MAX_M];
	HnswNode	info;

	for (int l = entryLevel; l > 0; l--)
	{
		bool		changed = true;

		while (changed)
		{
			int			nn = ReadNeighbors(index, so, ep, l, nbrs, &info);
			HnswRelCache *rc = (HnswRelCache *) index->rd_amcache;
			ItemPointerData best = *ep;

			CHECK_FOR_INTERRUPTS();
			changed = false;
			PrefetchElements(rc, so, nbrs, nn);
			for (int i = 0; i < nn; i++)
			{
				ItemPointerData heaptid;
				bool		deleted;
				char	   *where;
				float		d;

				/* Only the path depends on these; level 0 starts pinned */
				if (!PeekElement(index, rc, so, &nbrs[i], &d, &heaptid, &deleted, &where))
				{
					d = PinnedDistance(index, so, &nbrs[i]);
					rc = (HnswRelCache *) index->rd_amcache;
				}
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
 * Visit an element from its pinned page, when PeekElement could not: the
 * first time this backend meets its block, or after the buffer moved.  An
 * element that may join the result set has its neighbours copied while the
 * page is locked anyway, so expanding it needs no second visit.
 */
static int
VisitPinned(Relation index, HnswScanOpaque so, ItemPointer tid, int ef)
{
	Buffer		buf = PinElement(index, tid);
	HnswElementTuple etup;
	float		bound;
	float		d;
	int			n;

	/* Locked: what is read here counts as verified (see VerifyBatch) */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	etup = ScanElement(index, so, buf, tid);
	d = HnswDistance(so->info.kind, so->dim, so->q, etup->x);
	n = NewNode(so, tid, etup, d);
	bound = so->res.n < ef ? get_float4_infinity() : -so->res.items[0].dist;
	if (d < bound)
		CacheNeighbors(so, n, etup);
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Expand one element: read its level-0 neighbours (pinned and locked, see
 * ReadForExpand) and visit the unvisited ones.  They are marked visited in
 * one probe each, their pages are prefetched, and then they are measured.
 */
static void
Expand(Relation index, HnswScanOpaque so, int idx, int ef, bool keepDiscarded)
{
	ItemPointerData nbrs[2 * HNSW_MAX_M];
	int32	   *slots[2 * HNSW_MAX_M];
	int			added[2 * HNSW_MAX_M];
	HnswRelCache *rc;
	Size		vecbytes = offsetof(HnswElementTupleData, x) + sizeof(float) * so->dim;
	Size		nbrbytes = sizeof(ItemPointerData) * HnswLevelSlots(so->info.m, 0);
	int			nn;
	int			nnew = 0;

	so->nodes[idx].expanded = true;
	if (so->nodes[idx].nnbrs >= 0)
	{
		nn = so->nodes[idx].nnbrs;
		memcpy(nbrs, so->arena + so->nodes[idx].nbrOff, sizeof(ItemPointerData) * nn);
	}
	else
		nn = ReadForExpand(index, so, &so->nodes[idx], nbrs);

	/* Room first, so the slot pointers stay valid until filled in below */
	HnswKeySetReserve(&so->visited, nn);
	for (int j = 0; j < nn; j++)
	{
		uint32		before = so->visited.count;
		int32	   *slot = HnswKeyMapRef(&so->visited, HnswTidKey(&nbrs[j]));

		/* New to the set: unvisited, and not listed twice */
		if (so->visited.count != before)
		{
			slots[nnew] = slot;
			nbrs[nnew++] = nbrs[j];
		}
	}
	if (nnew == 0)
		return;

	rc = (HnswRelCache *) index->rd_amcache;
	PrefetchElements(rc, so, nbrs, nnew);

	/*
	 * Distances are computed from the page without its content lock (see
	 * PeekElement): an element's vector, heap TID and position do not
	 * change while it is live or a tombstone (writers only add items, flip
	 * the deleted flag or rewrite neighbour slots, and a GenericXLog or redo
	 * page copy rewrites unchanged bytes with the same values).  Only a slot
	 * that VACUUM freed is overwritten, by an insert that reuses it; a visit
	 * racing with that may read a torn vector, which can only mislead the
	 * traversal, because expanding re-reads under the lock.
	 */
	for (int i = 0; i < nnew; i++)
	{
		ItemPointerData heaptid;
		bool		deleted;
		char	   *where;
		float		d;
		int			n;

		if (PeekElement(index, rc, so, &nbrs[i], &d, &heaptid, &deleted, &where))
		{
			n = NewNodeRaw(so, &nbrs[i], &heaptid, deleted, d, false);

			/*
			 * Near enough to become a candidate: start fetching its
			 * neighbour slots, which expanding it will read under a lock
			 */
			if (so->res.n < ef || d < -so->res.items[0].dist)
			{
				char	   *slots = where + vecbytes;

				for (Size b = 0; b < nbrbytes; b += 64)
					__builtin_prefetch(slots + b);
			}
		}
		else
		{
			n = VisitPinned(index, so, &nbrs[i], ef);
			rc = (HnswRelCache *) index->rd_amcache;
		}
		*slots[i] = n;
		added[i] = n;
	}
	for (int j = 0; j < nnew; j++)
		Offer(so, added[j], ef, keepDiscarded);
}

/*
 * Make sure every node of a finished batch was read under a pin, and that
 * the batch is in order of the distances so read.  Expanded nodes already
 * are (ReadForExpand); the others, rare (an iterative batch seeded with
 * discarded nodes), are read here.
 */
static void
VerifyBatch(Relation index, HnswScanOpaque so)
{
	for (int i = 0; i < so->nbatch; i++)
	{
		ScanNode   *node = &so->nodes[so->batch[i]];

		if (!node->verified)
		{
			Buffer		buf;

			(void) LockAndConfirm(index, so, node, &buf);
			UnlockReleaseBuffer(buf);
		}
	}

	/* Already sorted unless a re-read changed a distance: insertion sort */
	for (int i = 1; i < so->nbatch; i++)
	{
		int			key = so->batch[i];
		float		d = so->nodes[key].dist;
		int			j = i - 1;

		while (j >= 0 && so->nodes[so->batch[j]].dist > d)
		{
			so->batch[j + 1] = so->batch[j];
			j--;
		}
		so->batch[j + 1] = key;
	}
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
	VerifyBatch(index, so);
}

/*
 * The three large arrays of a scan (nodes, visited set, neighbour arena,
 * a few hundred kB at ef_search 100-200) are kept per backend between
 * scans: fresh ones were big enough for malloc to map and unmap them on
 * every query, and the page faults showed up in profiles.  One scan at a
 * time borrows them; the callback on its memory context hands them back
 * when the scan is reset, ends or is aborted.
 */
typedef struct HnswScanSpare
{
	bool		inuse;
	ScanNode   *nodes;
	int			capnodes;
	HnswKeyEntry *ents;
	uint32		nents;
	ItemPointerData *arena;
	int32		caparena;
}			HnswScanSpare;

static HnswScanSpare spare;

/* Largest arrays kept between scans; an iterative scan may grow far past */
#define HNSW_SPARE_MAX_BYTES	(8 * 1024 * 1024)

/* Take back the arrays a scan borrowed, unless they grew too large */
static void
ReturnArrays(void *arg)
{
	HnswScanOpaque so = (HnswScanOpaque) arg;
	Size		bytes = (Size) so->capnodes * sizeof(ScanNode) +
		(Size) (so->visited.mask + 1) * sizeof(HnswKeyEntry) +
		(Size) so->caparena * sizeof(ItemPointerData);

	if (bytes > HNSW_SPARE_MAX_BYTES)
	{
		pfree(so->nodes);
		pfree(so->visited.ents);
		pfree(so->arena);
		spare.nodes = NULL;
		spare.ents = NULL;
		spare.arena = NULL;
		spare.capnodes = spare.nents = spare.caparena = 0;
	}
	else
	{
		/* Sizes as allocated: a scan sees only what it asked for */
		if (spare.nodes != so->nodes)
		{
			spare.nodes = so->nodes;
			spare.capnodes = so->capnodes;
		}
		if (spare.ents != so->visited.ents)
		{
			spare.ents = so->visited.ents;
			spare.nents = so->visited.mask + 1;
		}
		if (spare.arena != so->arena)
		{
			spare.arena = so->arena;
			spare.caparena = so->caparena;
		}
	}
	spare.inuse = false;
}

/* Give the scan its nodes, visited set and arena, borrowed when possible */
static void
SetUpArrays(HnswScanOpaque so, int ef)
{
	int			capnodes = Max(ef * 16, 1024);
	uint32		nents = 64;
	int32		caparena = ef * 8 * 2 * so->info.m;
	MemoryContextCallback *cb;

	while (nents < (uint32) capnodes * 2)
		nents <<= 1;
	if (spare.inuse)
	{
		/* Another scan of this backend holds them (a nested query) */
		so->capnodes = capnodes;
		so->nodes = palloc(sizeof(ScanNode) * capnodes);
		HnswKeySetInit(&so->visited, capnodes);
		so->caparena = caparena;
		so->arena = palloc(sizeof(ItemPointerData) * caparena);
		return;
	}

	if (spare.capnodes < capnodes)
	{
		if (spare.nodes)
			pfree(spare.nodes);
		spare.nodes = MemoryContextAllocHuge(TopMemoryContext, sizeof(ScanNode) * capnodes);
		spare.capnodes = capnodes;
	}
	if (spare.nents < nents)
	{
		if (spare.ents)
			pfree(spare.ents);
		spare.ents = MemoryContextAllocHuge(TopMemoryContext, sizeof(HnswKeyEntry) * nents);
		spare.nents = nents;
	}
	if (spare.caparena < caparena)
	{
		if (spare.arena)
			pfree(spare.arena);
		spare.arena = MemoryContextAllocHuge(TopMemoryContext, sizeof(ItemPointerData) * caparena);
		spare.caparena = caparena;
	}

	/*
	 * The scan sees the sizes it asked for, not what an earlier scan grew
	 * the arrays to: NextBatch's memory limit counts them.  Growing
	 * reallocates, which works on a larger chunk too.
	 */
	so->nodes = spare.nodes;
	so->capnodes = capnodes;
	so->arena = spare.arena;
	so->caparena = caparena;
	so->visited.ents = spare.ents;
	so->visited.mask = nents - 1;
	so->visited.count = 0;
	memset(so->visited.ents, 0, sizeof(HnswKeyEntry) * nents);

	spare.inuse = true;
	cb = MemoryContextAlloc(so->ctx, sizeof(MemoryContextCallback));
	cb->func = ReturnArrays;
	cb->arg = so;
	MemoryContextRegisterResetCallback(so->ctx, cb);
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

	so->nnodes = 0;
	so->narena = 0;
	SetUpArrays(so, ef);
	HnswHeapInit(&so->cand, ef * 4);
	HnswHeapInit(&so->res, ef + 2);
	HnswHeapInit(&so->discarded, iterative ? ef * 8 : 16);
	so->batch = palloc(sizeof(int) * (ef + 1));

	ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
	DescendUpperLevels(index, so, &ep, meta.entryLevel);

	/* The entry element starts the level-0 search */
	{
		Buffer		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&ep));
		HnswElementTuple etup;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		etup = ScanElement(index, so, buf, &ep);
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
