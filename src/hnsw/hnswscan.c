/*-------------------------------------------------------------------------
 *
 * hnswscan.c
 *	  Scan an hnsw index: nearest neighbours in distance order
 *
 * The search is the core's (hnswsearch.c): greedy descent to level 0, then
 * a best-first search keeping the ef_search nearest elements.  With
 * hnsw.iterative_scan on, the search state survives the batch: elements
 * pushed out of the results go to the core's discarded heap, unexpanded
 * candidates stay in the candidate heap, and the next batch resumes from
 * the nearest discarded elements.  Every visited element is returned at
 * most once.  relaxed_order returns each batch sorted (batches may overlap
 * in distance); strict_order drops anything nearer than what was already
 * returned.  hnsw.max_scan_tuples and hnsw.scan_mem_multiplier bound the
 * exploration; once either is reached, the elements visited but not yet
 * returned still come out, nearest first (as in pgvector), and then the
 * scan ends.  An element returns each of its heap TIDs (rows with equal
 * values share an element).  A visited element costs the scan about 70
 * bytes (a 24-byte node, a 16-byte slot of the visited map at most half
 * full, an 8-byte heap entry), so a scan can visit ~100,000 elements in
 * 8 MB.
 *
 * This file is the core's access to the pages for a scan.  At level 0 an
 * element is a ScanNode, named by its index in the scan's node array.
 * Visiting an element (measuring it) reads its page without a pin when
 * hnswpeek.h allows; expanding an element (reading its neighbour list)
 * always pins and share-locks its page and confirms the heap TIDs and
 * distance the visit saw, so every row returned was read under a pin.
 * Above level 0 the descent measures elements the same way but keeps no
 * nodes: keys there are packed TIDs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw/hnsw.h"
#include "hnsw/hnswpeek.h"

bool		hnsw_unpinned_reads = true;

/* A visited element (24 bytes) */
typedef struct ScanNode
{
	ItemPointerData tid;
	ItemPointerData heaptid;	/* the first */
	float		dist;
	uint8		nheaptids;
	uint8		flags;			/* SCAN_* below */
	int16		nnbrs;			/* cached level-0 neighbours, -1 if none */
	int32		aux;			/* in the arena: cached neighbours, then heap TIDs 2.. */
}			ScanNode;

#define SCAN_DELETED	0x01
#define SCAN_EXPANDED	0x02
#define SCAN_VERIFIED	0x04	/* heap TIDs and distance read under a pin */

/*
 * The visited map is an HnswKeySet from TID keys (ScanTidKey) to node
 * indexes.  A packed 8-byte-slot map used to stand beside it; once the
 * scan prefetched the map's slots it was no faster (bench/ann A/B runs of
 * 2026-12-06, 0.987 and 0.940 queries per CPU second against HnswKeySet),
 * so the one hash set serves here too.  Node indexes stay below 2^23 (8M
 * visited elements, far more than hnsw.scan_mem_multiplier lets a scan
 * keep).
 */
#define SCAN_MAX_NODES	((1 << 23) - 1)

typedef struct HnswScanOpaqueData
{
	MemoryContext ctx;
	HnswIndexInfo info;
	int			dim;
	Size		valueSize;		/* of every value, or 0 when sizes vary */
	char	   *q;
	bool		started;
	bool		done;			/* no further batches */
	bool		draining;		/* a limit was hit: only return the discarded */
	bool		firstBatch;
	HnswSearch	search;
	bool		upper;			/* the descent is on (keys index upperTids) */
	HnswKeySet	upperVisited;
	ItemPointerData *upperTids;
	int			nupper;
	int			capupper;
	ScanNode   *nodes;
	int			nnodes;
	int			capnodes;
	HnswKeySet	visited;
	HnswPair   *batch;			/* current batch, sorted */
	int			nbatch;
	int			batchpos;
	int			tidpos;			/* heap TID of the current element */
	float		lastDist;
	Size		memLimit;
	ItemPointerData *arena;
	int32		narena;
	int32		caparena;
}			HnswScanOpaqueData;

typedef HnswScanOpaqueData * HnswScanOpaque;

/* A TID's key in the visited map, refusing offsets no page can have */
static inline uint64
ScanTidKey(Relation index, ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (off >= 512)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a link to offset %u", RelationGetRelationName(index), off)));
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 9) | off;
}

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

/* Remember the query and reset the search */
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

/* Room for n more TIDs in the arena */
static void
ArenaReserve(HnswScanOpaque so, int n)
{
	if (so->narena + n > so->caparena)
	{
		so->caparena = Max(so->caparena * 2, so->narena + n);
		so->arena = repalloc_huge(so->arena, sizeof(ItemPointerData) * so->caparena);
	}
}

/*
 * Keep an element's heap TIDs (read under a pin): the first in the node,
 * the rest in the arena, after its cached neighbours if it has them there.
 */
static void
KeepHeapTids(HnswScanOpaque so, ScanNode *node, HnswElementTuple etup)
{
	int			extra = etup->nheaptids - 1;

	node->heaptid = etup->heaptid;
	node->nheaptids = etup->nheaptids;
	if (extra <= 0)
		return;
	ArenaReserve(so, extra);
	if (node->nnbrs < 0)
		node->aux = so->narena;
	else if (node->aux + node->nnbrs != so->narena)
		elog(ERROR, "hnsw scan arena out of order");
	for (int i = 0; i < extra; i++)
		so->arena[so->narena++] = *HnswElementHeapTid(etup, i + 1);
}

/* Heap TID i (0-based) of a node whose TIDs were kept */
static inline ItemPointer
NodeHeapTid(HnswScanOpaque so, ScanNode *node, int i)
{
	if (i == 0)
		return &node->heaptid;
	return &so->arena[node->aux + Max(node->nnbrs, 0) + i - 1];
}

/* Append a visited element to the node array; returns its index */
static int
NewNode(HnswScanOpaque so, ItemPointer tid, float dist)
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
	n->dist = dist;
	n->flags = 0;
	n->nnbrs = -1;
	n->aux = -1;
	return idx;
}

/* An element of a locked page, checked for the scan's dimensions */
static HnswElementTuple
ScanElement(Relation index, HnswScanOpaque so, Buffer buf, ItemPointer tid)
{
	HnswElementTuple etup = HnswGetElementTuple(index, BufferGetPage(buf),
												ItemPointerGetOffsetNumber(tid));

	HnswCheckElementDim(index, &so->info, etup, so->dim);
	return etup;
}

/* Pin a tuple's block, refusing links that cannot name one */
static Buffer
PinTuple(Relation index, ItemPointer tid)
{
	HnswCheckLink(index, tid);
	return HnswReadBuffer(index, ItemPointerGetBlockNumber(tid));
}

/*
 * Pin and share-lock a node's page (*buf, for the caller to release) and
 * confirm what its visit may have read without a pin: the heap TIDs, the
 * state and the distance.  Returns the element.
 */
static HnswElementTuple
LockAndConfirm(Relation index, HnswScanOpaque so, ScanNode *node, Buffer *buf)
{
	HnswElementTuple etup;

	*buf = PinTuple(index, &node->tid);
	LockBuffer(*buf, BUFFER_LOCK_SHARE);
	etup = ScanElement(index, so, *buf, &node->tid);
	if (!(node->flags & SCAN_VERIFIED))
	{
		KeepHeapTids(so, node, etup);
		node->dist = HnswDistance(&so->info.metric, so->q, etup->value);
		node->flags |= SCAN_VERIFIED;
	}
	if (etup->state != HNSW_ELEMENT_LIVE)
		node->flags |= SCAN_DELETED;
	else
		node->flags &= ~SCAN_DELETED;
	return etup;
}

/* Copy the valid links of level 0 of a neighbour tuple into out */
static int
CopyLevel0(HnswNeighborTuple ntup, ItemPointer out)
{
	int			nslots = HnswLevelSlots(ntup->nslots / (ntup->level + 2), 0);
	int			n = 0;

	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&ntup->tids[i]))
			out[n++] = ntup->tids[i];
	return n;
}

/*
 * Read a node's level-0 neighbours into out, confirming it; returns the
 * count.  A neighbour tuple on the element's page is read under the same
 * lock, one on another page after it is released.
 */
static int
ReadForExpand(Relation index, HnswScanOpaque so, ScanNode *node, ItemPointer out)
{
	Buffer		buf;
	HnswElementTuple etup = LockAndConfirm(index, so, node, &buf);
	ItemPointerData ntid = etup->neighbortid;
	int			n;

	if (ItemPointerGetBlockNumberNoCheck(&ntid) == BufferGetBlockNumber(buf))
	{
		n = CopyLevel0(HnswGetNeighborTuple(index, BufferGetPage(buf),
											ItemPointerGetOffsetNumber(&ntid)), out);
		UnlockReleaseBuffer(buf);
		return n;
	}
	UnlockReleaseBuffer(buf);
	buf = PinTuple(index, &ntid);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	n = CopyLevel0(HnswGetNeighborTuple(index, BufferGetPage(buf),
										ItemPointerGetOffsetNumber(&ntid)), out);
	UnlockReleaseBuffer(buf);
	return n;
}

/* Distance to an element read from its pinned page (the fallback path) */
static float
PinnedDistance(Relation index, HnswScanOpaque so, ItemPointer tid)
{
	Buffer		buf = PinTuple(index, tid);
	HnswElementTuple etup;
	float		d;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	etup = ScanElement(index, so, buf, tid);
	d = HnswDistance(&so->info.metric, so->q, etup->value);
	UnlockReleaseBuffer(buf);
	return d;
}

/*
 * Copy an element's valid level-0 neighbours into the arena while its page
 * is locked anyway, so that expanding it later needs no second visit.
 */
static void
CacheNeighbors(HnswScanOpaque so, int idx, HnswNeighborTuple ntup)
{
	ArenaReserve(so, HnswLevelSlots(ntup->nslots / (ntup->level + 2), 0));
	so->nodes[idx].aux = so->narena;
	so->nodes[idx].nnbrs = CopyLevel0(ntup, so->arena + so->narena);
	so->narena += so->nodes[idx].nnbrs;
}

/*
 * Visit an element from its pinned page, when HnswPeekElement could not:
 * the first time this backend meets its block, after the buffer moved, or
 * with unpinned reads off.  An element that may join the results has its
 * neighbours copied while the page is locked anyway (when they are on it).
 */
static int
VisitPinned(Relation index, HnswScanOpaque so, ItemPointer tid)
{
	Buffer		buf = PinTuple(index, tid);
	HnswElementTuple etup;
	HnswSearch *s = &so->search;
	float		d;
	int			n;

	/* Locked: what is read here counts as verified (see VerifyBatch) */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	etup = ScanElement(index, so, buf, tid);
	d = HnswDistance(&so->info.metric, so->q, etup->value);
	n = NewNode(so, tid, d);
	if (so->firstBatch && (s->res.n < s->ef || d < -s->res.items[0].dist) &&
		ItemPointerGetBlockNumberNoCheck(&etup->neighbortid) == BufferGetBlockNumber(buf))
		CacheNeighbors(so, n, HnswGetNeighborTuple(index, BufferGetPage(buf),
												   ItemPointerGetOffsetNumber(&etup->neighbortid)));
	KeepHeapTids(so, &so->nodes[n], etup);
	if (etup->state != HNSW_ELEMENT_LIVE)
		so->nodes[n].flags |= SCAN_DELETED;
	so->nodes[n].flags |= SCAN_VERIFIED;
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Expand a level-0 node: read its neighbours (pinned and locked, see
 * ReadForExpand) and visit the unvisited ones.  They are marked visited in
 * one probe each, their pages are prefetched, then they are measured.
 */
static int
ExpandNode(Relation index, HnswScanOpaque so, int idx, HnswPair *out)
{
	HnswSearch *s = &so->search;
	ItemPointerData nbrs[2 * HNSW_MAX_M];
	uint64		keys[2 * HNSW_MAX_M];
	HnswRelCache *rc;
	Size		nbrbytes = offsetof(HnswNeighborTupleData, tids) +
		sizeof(ItemPointerData) * HnswLevelSlots(so->info.m, 0);
	int			nn;
	int			nnew = 0;

	if (so->nodes[idx].flags & SCAN_EXPANDED)
		return 0;
	so->nodes[idx].flags |= SCAN_EXPANDED;
	if (so->nodes[idx].nnbrs >= 0)
	{
		nn = so->nodes[idx].nnbrs;
		memcpy(nbrs, so->arena + so->nodes[idx].aux, sizeof(ItemPointerData) * nn);
	}
	else
		nn = ReadForExpand(index, so, &so->nodes[idx], nbrs);

	/*
	 * Mark the new ones visited in one probe each (not listed twice), with
	 * the node indexes they are about to get: each makes one node, in order
	 */
	for (int j = 0; j < nn; j++)
	{
		/* (should the map grow below, these only prefetched freed memory) */
		keys[j] = ScanTidKey(index, &nbrs[j]);
		__builtin_prefetch(&so->visited.ents[HnswKeyHash(keys[j]) & so->visited.mask]);
	}
	for (int j = 0; j < nn; j++)
		if (so->nnodes + nnew < SCAN_MAX_NODES &&
			HnswKeyMapPut(&so->visited, keys[j], so->nnodes + nnew))
			nbrs[nnew++] = nbrs[j];
	if (nnew == 0)
		return 0;

	rc = (HnswRelCache *) index->rd_amcache;
	HnswPrefetchElements(rc, nbrs, nnew, offsetof(HnswElementTupleData, value) + so->valueSize);
	for (int i = 0; i < nnew; i++)
	{
		HnswPeekResult peek;
		int			n;

		if (HnswPeekElement(index, rc, &so->info.metric, so->q, so->valueSize, &nbrs[i], &peek))
		{
			n = NewNode(so, &nbrs[i], peek.dist);
			so->nodes[n].heaptid = peek.heaptid;
			so->nodes[n].nheaptids = peek.nheaptids;
			if (peek.deleted)
				so->nodes[n].flags |= SCAN_DELETED;

			/*
			 * Near enough to become a candidate: start fetching its
			 * neighbour tuple, which expanding it will read under a lock
			 */
			if (peek.neighbors != NULL && (s->res.n < s->ef || peek.dist < -s->res.items[0].dist))
			{
				for (Size b = 0; b < nbrbytes; b += 64)
					__builtin_prefetch(peek.neighbors + b);
			}
		}
		else
		{
			n = VisitPinned(index, so, &nbrs[i]);
			rc = (HnswRelCache *) index->rd_amcache;
		}
		out[i].key = n;
		out[i].dist = so->nodes[n].dist;
	}
	return nnew;
}

/* A descent key: the TID's index in the scan's list of upper-level visits */
static HnswKey
UpperKey(HnswScanOpaque so, ItemPointer tid)
{
	if (so->nupper == so->capupper)
	{
		so->capupper = Max(so->capupper * 2, 64);
		so->upperTids = so->upperTids ? repalloc(so->upperTids, sizeof(ItemPointerData) * so->capupper) :
			palloc(sizeof(ItemPointerData) * so->capupper);
	}
	so->upperTids[so->nupper] = *tid;
	return so->nupper++;
}

/* Copy the valid links of a level of a neighbour tuple into out */
static int
CopyLevel(HnswNeighborTuple ntup, int level, ItemPointer out)
{
	int			m = ntup->nslots / (ntup->level + 2);
	ItemPointer slots = ntup->tids + HnswLevelStart(m, level);
	int			nslots = HnswLevelSlots(m, level);
	int			n = 0;

	if (level > ntup->level)
		return 0;
	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&slots[i]))
			out[n++] = slots[i];
	return n;
}

/*
 * An element's valid links at a level above 0, for the descent.  As in
 * ReadForExpand, a neighbour tuple on the element's page is read under the
 * same pin and lock: reading the element and then its neighbour tuple
 * apart pinned and locked the page twice per step of the descent, a
 * fixed cost of every query that the code before the search core did not
 * have (it kept the links in the element tuple).
 */
static int
ReadUpperNeighbors(Relation index, HnswScanOpaque so, ItemPointer tid, int level,
				   ItemPointer out)
{
	Buffer		buf = PinTuple(index, tid);
	HnswElementTuple etup;
	ItemPointerData ntid;
	int			n;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	etup = ScanElement(index, so, buf, tid);
	ntid = etup->neighbortid;
	if (ItemPointerGetBlockNumberNoCheck(&ntid) == BufferGetBlockNumber(buf))
	{
		n = CopyLevel(HnswGetNeighborTuple(index, BufferGetPage(buf),
										   ItemPointerGetOffsetNumber(&ntid)), level, out);
		UnlockReleaseBuffer(buf);
		return n;
	}
	UnlockReleaseBuffer(buf);
	return HnswReadNeighbors(index, &ntid, level, out, true);
}

/*
 * Expand an element above level 0 during the descent: its neighbours at
 * the level, measured (unpinned when possible: only the path depends on
 * these; level 0 starts from a pinned read), keyed by TID.
 */
static int
ExpandUpper(Relation index, HnswScanOpaque so, ItemPointer tid, int level, HnswPair *out)
{
	ItemPointerData nbrs[2 * HNSW_MAX_M];
	HnswRelCache *rc;
	int			nn;
	int			n = 0;

	nn = ReadUpperNeighbors(index, so, tid, level, nbrs);
	rc = (HnswRelCache *) index->rd_amcache;
	HnswPrefetchElements(rc, nbrs, nn, offsetof(HnswElementTupleData, value) + so->valueSize);
	for (int i = 0; i < nn; i++)
	{
		HnswPeekResult peek;

		if (!HnswKeySetAdd(&so->upperVisited, HnswTidKey(&nbrs[i])))
			continue;
		if (HnswPeekElement(index, rc, &so->info.metric, so->q, so->valueSize, &nbrs[i], &peek))
			out[n].dist = peek.dist;
		else
		{
			out[n].dist = PinnedDistance(index, so, &nbrs[i]);
			rc = (HnswRelCache *) index->rd_amcache;
		}
		out[n].key = UpperKey(so, &nbrs[i]);
		n++;
	}
	return n;
}

/* The search core's access to the pages for a scan */
static int
ScanExpand(HnswSearch *s, HnswKey key, int level, HnswPair *out)
{
	IndexScanDesc scan = (IndexScanDesc) s->graph;
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (level > 0)
	{
		ItemPointerData tid = so->upperTids[key];

		return ExpandUpper(scan->indexRelation, so, &tid, level, out);
	}
	return ExpandNode(scan->indexRelation, so, (int) key, out);
}

static void
ScanForget(HnswSearch *s, int level)
{
	HnswScanOpaque so = (HnswScanOpaque) ((IndexScanDesc) s->graph)->opaque;

	so->upper = level > 0;
	if (so->upper)
		HnswKeySetClear(&so->upperVisited);
}

/* Level-0 entries are in the node map already; the descent's are TIDs */
static void
ScanVisit(HnswSearch *s, HnswKey key)
{
	HnswScanOpaque so = (HnswScanOpaque) ((IndexScanDesc) s->graph)->opaque;

	if (so->upper)
		HnswKeySetAdd(&so->upperVisited, HnswTidKey(&so->upperTids[key]));
}

static const HnswGraphAccess ScanAccess = {ScanExpand, ScanForget, ScanVisit};

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
		ScanNode   *node = &so->nodes[so->batch[i].key];

		if (!(node->flags & SCAN_VERIFIED))
		{
			Buffer		buf;

			(void) LockAndConfirm(index, so, node, &buf);
			UnlockReleaseBuffer(buf);
		}
		so->batch[i].dist = node->dist;
	}

	/* Already sorted unless a re-read changed a distance: insertion sort */
	for (int i = 1; i < so->nbatch; i++)
	{
		HnswPair	p = so->batch[i];
		int			j = i - 1;

		while (j >= 0 && so->batch[j].dist > p.dist)
		{
			so->batch[j + 1] = so->batch[j];
			j--;
		}
		so->batch[j + 1] = p;
	}
}

/* Run the search until the batch is final, then sort it out */
static void
RunBatch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	HnswSearchLayer(&so->search, 0);
	so->batch = repalloc(so->batch, sizeof(HnswPair) * Max(so->search.res.n, 1));
	so->nbatch = HnswSearchResults(&so->search, so->batch);
	so->batchpos = 0;
	so->tidpos = 0;
	so->firstBatch = false;
	VerifyBatch(scan->indexRelation, so);
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
		so->visited.ents = palloc0(sizeof(HnswKeyEntry) * nents);
		so->visited.mask = nents - 1;
		so->visited.count = 0;
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

/* Set up the search: query, entry point, descent, first batch */
static void
StartSearch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	HnswMetaPageData meta;
	ItemPointerData eptid;
	int			ef = hnsw_ef_search;
	bool		iterative = hnsw_iterative_scan != HNSW_ITERATIVE_SCAN_OFF;
	HnswPair	ep;
	int			epidx;

	so->started = true;
	so->lastDist = -get_float4_infinity();
	so->memLimit = (Size) (work_mem * 1024.0 * hnsw_scan_mem_multiplier);
	if (scan->numberOfOrderBys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot scan hnsw index without order"),
				 errdetail("An hnsw index can only answer ORDER BY distance.")));

	/* Counted as pg_stat_user_indexes.idx_scan, as btree scans are */
	pgstat_count_index_scan(index);

	meta = HnswReadMeta(index);
	if (meta.entryBlkno == InvalidBlockNumber)
	{
		so->done = true;
		so->nbatch = 0;
		return;
	}
	so->dim = meta.dimensions;
	so->valueSize = so->info.type->fixedSize ? so->info.type->fixedSize(so->dim) : 0;
	ItemPointerSet(&eptid, meta.entryBlkno, meta.entryOffno);

	if (scan->orderByData[0].sk_flags & SK_ISNULL)
	{
		HnswNode	entry;

		/* No query: any order will do; measure from the entry point */
		(void) HnswReadElement(index, &so->info, &eptid, so->dim, &entry, true);
		so->q = entry.value;
	}
	else
	{
		int			dim;

		so->q = HnswPrepareValue(index, &so->info, scan->orderByData[0].sk_argument, true, &dim);
		if (dim != so->dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("expected %d dimensions, not %d", so->dim, dim)));
	}

	so->nnodes = 0;
	so->narena = 0;
	so->nupper = 0;
	so->capupper = 0;
	so->upperTids = NULL;
	so->draining = false;
	so->firstBatch = true;
	SetUpArrays(so, ef);
	/*
	 * Room for the descent's visits without growing: a few expansions of m
	 * links per level (growing it, a rehash per query, showed in profiles
	 * at low ef_search)
	 */
	HnswKeySetInit(&so->upperVisited, 4 * so->info.m * Max(meta.entryLevel, 1));
	HnswSearchInit(&so->search, &ScanAccess, scan, ef, iterative);
	so->batch = palloc(sizeof(HnswPair) * (ef + 1));

	ep.key = UpperKey(so, &eptid);
	ep.dist = PinnedDistance(index, so, &eptid);
	ep = HnswSearchDescend(&so->search, ep, meta.entryLevel, 0);

	/* The level-0 search starts from the element the descent ended at */
	eptid = so->upperTids[ep.key];
	epidx = NewNode(so, &eptid, ep.dist);
	{
		Buffer		buf;

		(void) LockAndConfirm(index, so, &so->nodes[epidx], &buf);
		UnlockReleaseBuffer(buf);
	}
	(void) HnswKeyMapPut(&so->visited, ScanTidKey(index, &eptid), epidx);
	ep.key = epidx;
	ep.dist = so->nodes[epidx].dist;
	HnswSearchStart(&so->search, 0, &ep, 1);
	RunBatch(scan);
	if (!iterative)
		so->done = true;
}

/*
 * Start the next batch of an iterative scan; false when there is none.
 * Once a limit is reached, the batches are the discarded elements, nearest
 * first, without exploring further.
 */
static bool
NextBatch(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswSearch *s = &so->search;
	Size		mem;

	if (so->done)
		return false;
	mem = (Size) so->capnodes * sizeof(ScanNode) + (Size) (so->visited.mask + 1) * sizeof(HnswKeyEntry) +
		(Size) (s->cand.cap + s->discarded.cap + s->res.cap) * sizeof(HnswPair) +
		(Size) so->caparena * sizeof(ItemPointerData);
	if (!so->draining &&
		(so->nnodes >= hnsw_max_scan_tuples || so->nnodes >= SCAN_MAX_NODES - 2 * HNSW_MAX_M ||
		 mem > so->memLimit))
		so->draining = true;
	if (so->draining)
	{
		int			n = 0;

		so->batch = repalloc(so->batch, sizeof(HnswPair) * s->ef);
		while (n < s->ef && s->discarded.n > 0)
			so->batch[n++] = HnswHeapPop(&s->discarded);
		if (n == 0)
		{
			so->done = true;
			return false;
		}
		so->nbatch = n;
		so->batchpos = 0;
		so->tidpos = 0;
		VerifyBatch(scan->indexRelation, so);
		return true;
	}
	if (!HnswSearchResume(s))
	{
		so->done = true;
		return false;
	}
	RunBatch(scan);
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
			ScanNode   *n = &so->nodes[so->batch[so->batchpos].key];

			if (so->tidpos == 0)
			{
				/* An element's first row: is it one to return at all? */
				if ((n->flags & SCAN_DELETED) || n->nheaptids == 0 ||
					(hnsw_iterative_scan == HNSW_ITERATIVE_SCAN_STRICT && n->dist < so->lastDist))
				{
					so->batchpos++;
					continue;
				}
				so->lastDist = n->dist;
			}
			scan->xs_heaptid = *NodeHeapTid(so, n, so->tidpos);
			if (++so->tidpos >= n->nheaptids)
			{
				so->tidpos = 0;
				so->batchpos++;
			}
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
