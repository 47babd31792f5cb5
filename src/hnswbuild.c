/*-------------------------------------------------------------------------
 *
 * hnswbuild.c
 *	  Build an hnsw index
 *
 * The graph is first built in local memory, with elements numbered in
 * arrival order, vectors in one contiguous array and neighbour lists as
 * int32 arrays carved from large chunks, so the inner loops touch no
 * buffers, locks or pallocs.  A visited "tag" array replaces a hash set.
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

#include "access/generic_xlog.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

#define HNSW_LINK_CHUNK		(128 * 1024)

/* The in-memory graph */
typedef struct HnswMemGraph
{
	int			dim;
	int			m;
	HnswDistKind kind;
	int64		n;
	int64		cap;
	float	   *vecs;			/* n * dim floats */
	ItemPointerData *heaptids;
	uint8	   *levels;
	int32	   *l0;				/* level 0: [count, 2m slots] per element, flat */
	float	   *l0d;			/* level 0: distance of each slot's element */
	int32	  **links;			/* levels 1..: per level [count, m slots] */
	int64		entry;			/* -1 when empty */
	int			entryLevel;
	uint32	   *visited;		/* tag per element */
	uint32		visitTag;
	char	   *chunk;			/* bump allocator for link arrays */
	Size		chunkLeft;
	Size		memUsed;
	HnswHeap	cand;
	HnswHeap	res;
}			HnswMemGraph;

typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	HnswIndexInfo info;
	int			maxLevel;
	double		indtuples;
	bool		onDisk;			/* graph no longer fits: insert on disk */
	Size		memLimit;
	pg_prng_state prng;
	HnswMemGraph graph;
	MemoryContext graphCtx;
	MemoryContext tmpCtx;
}			HnswBuildState;

/* Largest dimension whose level-0 element tuple fits a page */
int
HnswMaxDimFor(int m)
{
	int			dim = (HNSW_PAGE_ROOM - offsetof(HnswElementTupleData, x)) / sizeof(float);

	while (dim > 0 && HNSW_ELEMENT_TUPLE_SIZE(dim, 0, m) > HNSW_PAGE_ROOM)
		dim--;
	return Min(dim, VECTOR_MAX_DIM);
}

/* The [count, slots...] run of element i at a level */
static inline int32 *
GraphList(HnswMemGraph * g, int64 i, int level)
{
	if (level == 0)
		return g->l0 + i * (1 + 2 * g->m);
	return g->links[i] + (level - 1) * (1 + g->m);
}

/*
 * Distances from element i to the elements in its list at a level, slot by
 * slot: kept so that pruning a full list need not recompute them.  Upper
 * levels keep them after the element's [count, slots] runs.
 */
static inline float *
GraphDists(HnswMemGraph * g, int64 i, int level)
{
	if (level == 0)
		return g->l0d + i * 2 * g->m;
	return (float *) (g->links[i] + g->levels[i] * (1 + g->m)) + (level - 1) * g->m;
}

/* Vector of element i */
static inline float *
GraphVec(HnswMemGraph * g, int64 i)
{
	return g->vecs + i * g->dim;
}

/*
 * Set up element i's empty lists.  Level 0 lives in the flat array (its
 * address needs no pointer load, so it can be prefetched); upper levels are
 * carved from the current chunk.
 */
static void
GraphInitLinks(HnswMemGraph * g, int64 i, int level)
{
	Size		size = MAXALIGN(sizeof(int32) * level * (1 + g->m) + sizeof(float) * level * g->m);
	int32	   *p = NULL;

	g->l0[i * (1 + 2 * g->m)] = 0;
	if (level > 0)
	{
		if (g->chunkLeft < size)
		{
			g->chunk = palloc(HNSW_LINK_CHUNK);
			g->chunkLeft = HNSW_LINK_CHUNK;
			g->memUsed += HNSW_LINK_CHUNK;
		}
		p = (int32 *) g->chunk;
		g->chunk += size;
		g->chunkLeft -= size;
		for (int l = 1; l <= level; l++)
			p[(l - 1) * (1 + g->m)] = 0;
	}
	g->links[i] = p;
}

/* Make room for one more element */
static void
GraphGrow(HnswMemGraph * g)
{
	int64		newcap = g->cap == 0 ? 1024 : g->cap * 2;

	if (g->cap == 0)
	{
		g->vecs = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * g->dim * newcap);
		g->heaptids = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * newcap);
		g->levels = MemoryContextAllocHuge(CurrentMemoryContext, newcap);
		g->links = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32 *) * newcap);
		g->l0 = MemoryContextAllocHuge(CurrentMemoryContext,
									   sizeof(int32) * (1 + 2 * g->m) * newcap);
		g->l0d = MemoryContextAllocHuge(CurrentMemoryContext,
										sizeof(float) * 2 * g->m * newcap);
		g->visited = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * newcap);
	}
	else
	{
		g->vecs = repalloc_huge(g->vecs, sizeof(float) * g->dim * newcap);
		g->heaptids = repalloc_huge(g->heaptids, sizeof(ItemPointerData) * newcap);
		g->levels = repalloc_huge(g->levels, newcap);
		g->links = repalloc_huge(g->links, sizeof(int32 *) * newcap);
		g->l0 = repalloc_huge(g->l0, sizeof(int32) * (1 + 2 * g->m) * newcap);
		g->l0d = repalloc_huge(g->l0d, sizeof(float) * 2 * g->m * newcap);
		g->visited = repalloc_huge(g->visited, sizeof(uint32) * newcap);
	}
	memset(g->visited + g->cap, 0, sizeof(uint32) * (newcap - g->cap));
	g->memUsed += (sizeof(float) * g->dim + sizeof(ItemPointerData) + 1 +
				   sizeof(int32 *) + sizeof(int32) * (1 + 2 * g->m) +
				   sizeof(float) * 2 * g->m +
				   sizeof(uint32)) * (newcap - g->cap);
	g->cap = newcap;
}

/*
 * Search one level for the ef nearest elements to q (Algorithm 2), starting
 * from eps.  Writes them to out sorted nearest first; returns how many.
 */
static int
GraphSearchLevel(HnswMemGraph * g, const float *q, HnswPair * eps, int neps,
				 int ef, int level, HnswPair * out)
{
	HnswHeap   *cand = &g->cand;
	HnswHeap   *res = &g->res;	/* max-heap via negated distances */
	int			n;
	int32		fresh[2 * HNSW_MAX_M];
	int			nnew;
	Size		vecbytes = Min(sizeof(float) * g->dim, 8 * 64);

	if (++g->visitTag == 0)
	{
		memset(g->visited, 0, sizeof(uint32) * g->cap);
		g->visitTag = 1;
	}
	cand->n = 0;
	res->n = 0;
	for (int i = 0; i < neps; i++)
	{
		g->visited[eps[i].key] = g->visitTag;
		HnswHeapPush(cand, eps[i].dist, eps[i].key);
		HnswHeapPush(res, -eps[i].dist, eps[i].key);
	}
	while (res->n > ef)
		HnswHeapPop(res);

	while (cand->n > 0)
	{
		HnswPair	c = HnswHeapPop(cand);
		int32	   *list;
		int			cnt;

		if (res->n >= ef && c.dist > -res->items[0].dist)
			break;
		list = GraphList(g, c.key, level);
		/* The next candidate's list is likely needed next: fetch it now */
		if (cand->n > 0)
			__builtin_prefetch(GraphList(g, cand->items[0].key, level));
		cnt = list[0];

		/* Gather unvisited neighbours and prefetch their vectors first */
		nnew = 0;
		for (int i = 1; i <= cnt; i++)
			__builtin_prefetch(&g->visited[list[i]]);
		for (int i = 1; i <= cnt; i++)
		{
			int32		e = list[i];

			if (g->visited[e] == g->visitTag)
				continue;
			g->visited[e] = g->visitTag;
			fresh[nnew++] = e;
			for (Size b = 0; b < vecbytes; b += 64)
				__builtin_prefetch((char *) GraphVec(g, e) + b);
		}
		for (int i = 0; i < nnew; i++)
		{
			int32		e = fresh[i];
			float		d;

			d = HnswDistance(g->kind, g->dim, q, GraphVec(g, e));
			if (res->n < ef || d < -res->items[0].dist)
			{
				HnswHeapPush(cand, d, e);
				HnswHeapPush(res, -d, e);
				if (res->n > ef)
					HnswHeapPop(res);
			}
		}
	}

	n = res->n;
	for (int i = n - 1; i >= 0; i--)
	{
		HnswPair	p = HnswHeapPop(res);

		out[i].dist = -p.dist;
		out[i].key = p.key;
	}
	return n;
}

/* Order pairs by distance, then key (for determinism) */
static int
ComparePairs(const void *a, const void *b)
{
	const HnswPair *pa = a;
	const HnswPair *pb = b;

	if (pa->dist < pb->dist)
		return -1;
	if (pa->dist > pb->dist)
		return 1;
	return (pa->key > pb->key) - (pa->key < pb->key);
}

/* Add a link n -> e at a level, pruning n's list with the heuristic when full */
static void
GraphAddLink(HnswMemGraph * g, int64 n, int64 e, int level, float dist)
{
	int32	   *list = GraphList(g, n, level);
	float	   *dists = GraphDists(g, n, level);
	int			cap = HnswLevelSlots(g->m, level);
	int			cnt = list[0];
	HnswPair	cand[2 * HNSW_MAX_M + 1];
	float	   *vecs[2 * HNSW_MAX_M + 1];
	bool		selected[2 * HNSW_MAX_M + 1];

	if (cnt < cap)
	{
		list[1 + cnt] = (int32) e;
		dists[cnt] = dist;
		list[0] = cnt + 1;
		return;
	}
	for (int i = 1; i <= cnt; i++)
	{
		cand[i - 1].key = i - 1;	/* slot number */
		cand[i - 1].dist = dists[i - 1];
	}
	cand[cnt].key = cnt;		/* the new element */
	cand[cnt].dist = dist;
	qsort(cand, cnt + 1, sizeof(HnswPair), ComparePairs);
	for (int i = 0; i <= cnt; i++)
		vecs[i] = GraphVec(g, cand[i].key == (uint64) cnt ? e : list[1 + cand[i].key]);
	HnswSelectNeighbors(g->kind, g->dim, cand, cnt + 1, vecs, cap, selected);

	/*
	 * Like pgvector, replace just one neighbour (the nearest one the
	 * heuristic drops) rather than shrinking the list to the selection:
	 * full lists cost a little more per hop and give better recall per
	 * ef_search.  The new element only goes in if the heuristic keeps it.
	 */
	for (int i = 0; i <= cnt; i++)
		if (cand[i].key == (uint64) cnt && !selected[i])
			return;
	for (int i = 0; i <= cnt; i++)
	{
		if (!selected[i])
		{
			list[1 + cand[i].key] = (int32) e;
			dists[cand[i].key] = dist;
			break;
		}
	}
}

/* Insert element i into the in-memory graph (Algorithm 1) */
static void
GraphInsert(HnswMemGraph * g, int64 i, int efConstruction)
{
	const float *q = GraphVec(g, i);
	int			level = g->levels[i];
	HnswPair	ep;
	HnswPair   *w;
	HnswPair   *eps;
	float	  **vecs;
	bool	   *selected;
	int			neps = 1;

	if (g->entry < 0)
	{
		g->entry = i;
		g->entryLevel = level;
		return;
	}

	ep.key = g->entry;
	ep.dist = HnswDistance(g->kind, g->dim, q, GraphVec(g, g->entry));

	/* Greedy descent through the levels above the new element's */
	for (int l = g->entryLevel; l > level; l--)
	{
		bool		changed = true;

		while (changed)
		{
			int32	   *list = GraphList(g, ep.key, l);

			changed = false;
			for (int j = 1; j <= list[0]; j++)
			{
				float		d = HnswDistance(g->kind, g->dim, q, GraphVec(g, list[j]));

				if (d < ep.dist)
				{
					ep.dist = d;
					ep.key = list[j];
					changed = true;
				}
			}
		}
	}

	w = palloc(sizeof(HnswPair) * (efConstruction + 1));
	eps = palloc(sizeof(HnswPair) * (efConstruction + 1));
	vecs = palloc(sizeof(float *) * (efConstruction + 1));
	selected = palloc(sizeof(bool) * (efConstruction + 1));
	eps[0] = ep;

	for (int l = Min(level, g->entryLevel); l >= 0; l--)
	{
		int			nw = GraphSearchLevel(g, q, eps, neps, efConstruction, l, w);
		int32	   *list = GraphList(g, i, l);
		int			k = 0;

		for (int j = 0; j < nw; j++)
			vecs[j] = GraphVec(g, w[j].key);
		/* The new element gets m links per level, as in hnswlib */
		HnswSelectNeighbors(g->kind, g->dim, w, nw, vecs, g->m, selected);
		for (int j = 0; j < nw; j++)
		{
			if (!selected[j])
				continue;
			GraphDists(g, i, l)[k] = w[j].dist;
			list[1 + k++] = (int32) w[j].key;
			GraphAddLink(g, w[j].key, i, l, w[j].dist);
		}
		list[0] = k;
		memcpy(eps, w, sizeof(HnswPair) * nw);
		neps = nw;
	}

	pfree(w);
	pfree(eps);
	pfree(vecs);
	pfree(selected);

	if (level > g->entryLevel)
	{
		g->entry = i;
		g->entryLevel = level;
	}
}

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
	memcpy(etup->x, GraphVec(g, i), sizeof(float) * g->dim);
	nbrs = HnswTupleNeighbors(etup);
	for (int l = 0; l <= level; l++)
	{
		int32	   *list = GraphList(g, i, l);
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
 * Order elements for writing: breadth-first over level 0 from the entry
 * point, so that an element's neighbours tend to share its page or the
 * next ones.  A search then touches fewer pages (fewer pins, fewer cache
 * misses on buffer headers).  Elements not reached come last.
 */
static int64 *
GraphOrder(HnswMemGraph * g)
{
	int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(g->n, 1));
	bool	   *placed = MemoryContextAllocHuge(CurrentMemoryContext, Max(g->n, 1));
	int64		head = 0;
	int64		tail = 0;

	memset(placed, 0, Max(g->n, 1));
	if (g->entry >= 0)
	{
		order[tail++] = g->entry;
		placed[g->entry] = true;
	}
	for (int64 next = 0; tail < g->n;)
	{
		if (head == tail)
		{
			/* Not reachable: start again from the next unplaced element */
			while (placed[next])
				next++;
			order[tail++] = next;
			placed[next] = true;
		}
		while (head < tail)
		{
			int32	   *list = GraphList(g, order[head++], 0);

			CHECK_FOR_INTERRUPTS();
			for (int j = 1; j <= list[0]; j++)
			{
				if (!placed[list[j]])
				{
					placed[list[j]] = true;
					order[tail++] = list[j];
				}
			}
		}
	}
	pfree(placed);
	return order;
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
	order = GraphOrder(g);
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
	if (!HnswPrepareValue(&bs->info, values[0], &vec, &dim))
	{
		MemoryContextSwitchTo(oldCtx);
		MemoryContextReset(bs->tmpCtx);
		return;
	}
	CheckBuildDim(bs, dim);

	if (bs->onDisk)
		HnswInsertOnDisk(index, &bs->info, vec, dim, tid, true);
	else
	{
		int64		i;
		int			level;

		MemoryContextSwitchTo(bs->graphCtx);
		if (g->n == g->cap)
			GraphGrow(g);
		i = g->n++;
		memcpy(GraphVec(g, i), vec, sizeof(float) * dim);
		g->heaptids[i] = *tid;
		level = HnswRandomLevel(bs->info.m, bs->maxLevel, pg_prng_double(&bs->prng));
		g->levels[i] = level;
		GraphInitLinks(g, i, level);
		MemoryContextSwitchTo(bs->tmpCtx);
		GraphInsert(g, i, bs->info.efConstruction);
	}
	MemoryContextSwitchTo(oldCtx);
	MemoryContextReset(bs->tmpCtx);

	bs->indtuples++;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);

	if (!bs->onDisk && g->memUsed > bs->memLimit)
		SpillGraph(bs);
}

/* Build the index from the heap */
IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	HnswBuildState bs;
	Buffer		metabuf;
	double		reltuples;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	memset(&bs, 0, sizeof(bs));
	bs.heap = heap;
	bs.index = index;
	HnswGetIndexInfo(index, &bs.info);
	if (bs.info.typmodDim > HnswMaxDimFor(bs.info.m))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("column cannot have more than %d dimensions for hnsw index with m = %d",
						HnswMaxDimFor(bs.info.m), bs.info.m),
				 errdetail("An element and its neighbour lists must fit in one page.")));
	bs.memLimit = (Size) maintenance_work_mem * 1024;
	pg_prng_seed(&bs.prng, UINT64CONST(0x5eed5eed));
	bs.graph.m = bs.info.m;
	bs.graph.kind = bs.info.kind;
	bs.graph.entry = -1;
	bs.graph.entryLevel = -1;
	bs.graphCtx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build graph",
										ALLOCSET_DEFAULT_SIZES);
	bs.tmpCtx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build temporary",
									  ALLOCSET_DEFAULT_SIZES);
	{
		MemoryContext old = MemoryContextSwitchTo(bs.graphCtx);

		HnswHeapInit(&bs.graph.cand, bs.info.efConstruction * 4);
		HnswHeapInit(&bs.graph.res, bs.info.efConstruction + 2);
		MemoryContextSwitchTo(old);
	}

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

	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   BuildCallback, (void *) &bs, NULL);

	if (!bs.onDisk)
	{
		FlushGraph(&bs);
		MemoryContextDelete(bs.graphCtx);
	}
	MemoryContextDelete(bs.tmpCtx);

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
