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

#include "hnsw/hnsw.h"

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
	int64	   *linkOff;		/* levels 1..: offset of the element's lists */
	char	   *linkArea;		/* ... in this area: per level [count, m slots] */
	Size		linkCap;
	Size		linkUsed;		/* serial build; a parallel one counts in shared */
	int64		entry;			/* -1 when empty (serial build) */
	int			entryLevel;
	uint32	   *visited;		/* tag per element (per participant) */
	uint32		visitTag;
	Size		memUsed;
	HnswHeap	cand;
	HnswHeap	res;
	LWLock	   *locks;			/* parallel build: one per element's lists */
	struct HnswBuildShared *shared; /* parallel build, else NULL */
}			HnswMemGraph;

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
	pg_atomic_uint64 linkUsed;	/* bytes of the link area handed out */
	pg_atomic_uint64 tuplesDone;
	pg_atomic_uint32 full;		/* the estimate was short: build serially */
	LWLock		entryLock;		/* protects entry and entryLevel */
	int64		entry;
	int			entryLevel;
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
	return (int32 *) (g->linkArea + g->linkOff[i]) + (level - 1) * (1 + g->m);
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
	return (float *) ((int32 *) (g->linkArea + g->linkOff[i]) + g->levels[i] * (1 + g->m)) +
		(level - 1) * g->m;
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
 * carved from the link area.  False when a parallel build's area is full.
 */
static bool
GraphInitLinks(HnswMemGraph * g, int64 i, int level)
{
	Size		size = MAXALIGN(sizeof(int32) * level * (1 + g->m) + sizeof(float) * level * g->m);
	Size		off = 0;

	g->l0[i * (1 + 2 * g->m)] = 0;
	if (level > 0)
	{
		if (g->shared)
		{
			off = pg_atomic_fetch_add_u64(&g->shared->linkUsed, size);
			if (off + size > g->linkCap)
				return false;
		}
		else
		{
			if (g->linkUsed + size > g->linkCap)
			{
				Size		newcap = Max(g->linkCap * 2, 64 * 1024);

				g->linkArea = g->linkArea ? repalloc_huge(g->linkArea, newcap) :
					MemoryContextAllocHuge(CurrentMemoryContext, newcap);
				g->memUsed += newcap - g->linkCap;
				g->linkCap = newcap;
			}
			off = g->linkUsed;
			g->linkUsed += size;
		}
		for (int l = 1; l <= level; l++)
			((int32 *) (g->linkArea + off))[(l - 1) * (1 + g->m)] = 0;
	}
	g->linkOff[i] = off;
	return true;
}

/* Lock element i's lists (a no-op in a serial build) */
static inline void
GraphLock(HnswMemGraph * g, int64 i, LWLockMode mode)
{
	if (g->locks)
		LWLockAcquire(&g->locks[i], mode);
}

static inline void
GraphUnlock(HnswMemGraph * g, int64 i)
{
	if (g->locks)
		LWLockRelease(&g->locks[i]);
}

/* Copy element i's list at a level (under its lock); returns the count */
static inline int
GraphCopyList(HnswMemGraph * g, int64 i, int level, int32 *out)
{
	int32	   *list = GraphList(g, i, level);
	int			cnt;

	GraphLock(g, i, LW_SHARED);
	cnt = list[0];
	memcpy(out, list + 1, sizeof(int32) * cnt);
	GraphUnlock(g, i);
	return cnt;
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
		g->linkOff = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * newcap);
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
		g->linkOff = repalloc_huge(g->linkOff, sizeof(int64) * newcap);
		g->l0 = repalloc_huge(g->l0, sizeof(int32) * (1 + 2 * g->m) * newcap);
		g->l0d = repalloc_huge(g->l0d, sizeof(float) * 2 * g->m * newcap);
		g->visited = repalloc_huge(g->visited, sizeof(uint32) * newcap);
	}
	memset(g->visited + g->cap, 0, sizeof(uint32) * (newcap - g->cap));
	g->memUsed += (sizeof(float) * g->dim + sizeof(ItemPointerData) + 1 +
				   sizeof(int64) + sizeof(int32) * (1 + 2 * g->m) +
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
		int32		list[2 * HNSW_MAX_M];
		int			cnt;

		if (res->n >= ef && c.dist > -res->items[0].dist)
			break;
		cnt = GraphCopyList(g, c.key, level, list);
		/* The next candidate's list is likely needed next: fetch it now */
		if (cand->n > 0)
			__builtin_prefetch(GraphList(g, cand->items[0].key, level));

		/* Gather unvisited neighbours and prefetch their vectors first */
		nnew = 0;
		for (int i = 0; i < cnt; i++)
			__builtin_prefetch(&g->visited[list[i]]);
		for (int i = 0; i < cnt; i++)
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

/* Add a link n -> e at a level, pruning n's list with the heuristic when full */
static void
GraphAddLinkLocked(HnswMemGraph * g, int64 n, int64 e, int level, float dist)
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
	qsort(cand, cnt + 1, sizeof(HnswPair), HnswComparePairs);
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

static void
GraphAddLink(HnswMemGraph * g, int64 n, int64 e, int level, float dist)
{
	GraphLock(g, n, LW_EXCLUSIVE);
	GraphAddLinkLocked(g, n, e, level, dist);
	GraphUnlock(g, n);
}

/* The entry point and its level, as they are now */
static void
GraphGetEntry(HnswMemGraph * g, int64 *entry, int *entryLevel)
{
	if (g->shared)
	{
		LWLockAcquire(&g->shared->entryLock, LW_SHARED);
		*entry = g->shared->entry;
		*entryLevel = g->shared->entryLevel;
		LWLockRelease(&g->shared->entryLock);
	}
	else
	{
		*entry = g->entry;
		*entryLevel = g->entryLevel;
	}
}

/*
 * Make element i the entry point if its level is above the current one's
 * (or there is none).  Returns true if it did.  In a parallel build two
 * elements above the old entry level can race; the higher one wins, and the
 * other is linked at the levels it was searched at (both were inserted
 * against the old entry point).
 */
static bool
GraphOfferEntry(HnswMemGraph * g, int64 i, int level)
{
	bool		took = false;

	if (g->shared)
	{
		LWLockAcquire(&g->shared->entryLock, LW_EXCLUSIVE);
		if (g->shared->entry < 0 || level > g->shared->entryLevel)
		{
			g->shared->entry = i;
			g->shared->entryLevel = level;
			took = true;
		}
		LWLockRelease(&g->shared->entryLock);
	}
	else if (g->entry < 0 || level > g->entryLevel)
	{
		g->entry = i;
		g->entryLevel = level;
		took = true;
	}
	return took;
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
	int64		entry;
	int			entryLevel;
	int			top;
	HnswPair   *chosen;
	int		   *nchosen;

	GraphGetEntry(g, &entry, &entryLevel);
	if (entry < 0)
	{
		if (GraphOfferEntry(g, i, level))
			return;
		/* Another participant's element got there first */
		GraphGetEntry(g, &entry, &entryLevel);
	}

	ep.key = entry;
	ep.dist = HnswDistance(g->kind, g->dim, q, GraphVec(g, entry));

	/* Greedy descent through the levels above the new element's */
	for (int l = entryLevel; l > level; l--)
	{
		bool		changed = true;

		while (changed)
		{
			int32		list[HNSW_MAX_M];
			int			cnt = GraphCopyList(g, ep.key, l, list);

			changed = false;
			for (int j = 0; j < cnt; j++)
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
	top = Min(level, entryLevel);
	chosen = palloc(sizeof(HnswPair) * (top + 1) * g->m);
	nchosen = palloc(sizeof(int) * (top + 1));
	eps[0] = ep;

	/* Choose the neighbours at every level, top down */
	for (int l = top; l >= 0; l--)
	{
		int			nw = GraphSearchLevel(g, q, eps, neps, efConstruction, l, w);
		int			k = 0;

		for (int j = 0; j < nw; j++)
			vecs[j] = GraphVec(g, w[j].key);
		/* The new element gets m links per level, as in hnswlib */
		HnswSelectNeighbors(g->kind, g->dim, w, nw, vecs, g->m, selected);
		for (int j = 0; j < nw && k < g->m; j++)
			if (selected[j])
				chosen[l * g->m + k++] = w[j];
		nchosen[l] = k;
		memcpy(eps, w, sizeof(HnswPair) * nw);
		neps = nw;
	}

	/*
	 * Then link, bottom up, each level's own list before the links to it:
	 * in a parallel build, whoever reaches the new element at some level
	 * finds its lists there and below complete (linked top down, a search
	 * that entered it from an upper level could find its level-0 list still
	 * empty and link a newcomer to it alone).  Serially it makes no
	 * difference: the searches above never reach the new element.
	 */
	for (int l = 0; l <= top; l++)
	{
		int32	   *list = GraphList(g, i, l);
		HnswPair   *c = chosen + l * g->m;

		GraphLock(g, i, LW_EXCLUSIVE);
		for (int j = 0; j < nchosen[l]; j++)
		{
			GraphDists(g, i, l)[j] = c[j].dist;
			list[1 + j] = (int32) c[j].key;
		}
		list[0] = nchosen[l];
		GraphUnlock(g, i);
		for (int j = 0; j < nchosen[l]; j++)
			GraphAddLink(g, c[j].key, i, l, c[j].dist);
	}

	pfree(w);
	pfree(eps);
	pfree(vecs);
	pfree(selected);
	pfree(chosen);
	pfree(nchosen);

	if (level > entryLevel)
		(void) GraphOfferEntry(g, i, level);
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

/* Add one vector to the local graph (serial build) */
static void
AddLocalElement(HnswBuildState * bs, float *vec, int dim, ItemPointer tid)
{
	HnswMemGraph *g = &bs->graph;
	MemoryContext old = MemoryContextSwitchTo(bs->graphCtx);
	int64		i;
	int			level;

	if (g->n == g->cap)
		GraphGrow(g);
	i = g->n++;
	memcpy(GraphVec(g, i), vec, sizeof(float) * dim);
	g->heaptids[i] = *tid;
	level = HnswRandomLevel(bs->info.m, bs->maxLevel, pg_prng_double(&bs->prng));
	g->levels[i] = level;
	(void) GraphInitLinks(g, i, level);
	MemoryContextSwitchTo(old);
	GraphInsert(g, i, bs->info.efConstruction);
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
	HnswBuildShared *shared = g->shared;
	int64		i;
	int			level;

	if (pg_atomic_read_u32(&shared->full))
		return;
	i = (int64) pg_atomic_fetch_add_u64(&shared->next, 1);
	level = HnswRandomLevel(bs->info.m, bs->maxLevel, pg_prng_double(&bs->prng));
	if (i < g->cap)
		g->levels[i] = level;
	if (i >= g->cap || !GraphInitLinks(g, i, level))
	{
		pg_atomic_write_u32(&shared->full, 1);
		return;
	}
	/* Nobody reaches element i before GraphInsert links it */
	memcpy(GraphVec(g, i), vec, sizeof(float) * dim);
	g->heaptids[i] = *tid;
	GraphInsert(g, i, bs->info.efConstruction);
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

/* Bytes of link area to reserve for cap elements (3x the expected need) */
static Size
LinkAreaFor(int64 cap, int m)
{
	Size		perLevel = MAXALIGN(sizeof(int32) * (1 + m) + sizeof(float) * m);

	/* An element has 1/(m-1) upper levels on average (P(level >= l) = m^-l) */
	return (Size) (3.0 * cap * perLevel / (m - 1)) + 64 * 1024;
}

/* Shared memory a parallel build's graph of cap elements takes */
static double
ParallelGraphBytes(int64 cap, int dim, int m)
{
	return (double) cap * (sizeof(float) * dim + sizeof(ItemPointerData) + 1 + sizeof(int64) +
						   sizeof(int32) * (1 + 2 * m) + sizeof(float) * 2 * m + sizeof(LWLock)) +
		LinkAreaFor(cap, m);
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
	HNSW_TAKE(linkAreaOff, LinkAreaFor(cap, m));
#undef HNSW_TAKE
	return off;
}

/* Point a participant's graph at the shared arrays; local visited tags */
static void
AttachSharedGraph(HnswBuildState * bs, HnswBuildShared * sh)
{
	HnswMemGraph *g = &bs->graph;
	char	   *base = (char *) sh;

	g->shared = sh;
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
	sh->linkCap = LinkAreaFor(cap, bs->info.m);
	sh->seed = UINT64CONST(0x5eed5eed);
	sh->trancheId = LWLockNewTrancheId();
	pg_atomic_init_u64(&sh->next, 0);
	pg_atomic_init_u64(&sh->linkUsed, 0);
	pg_atomic_init_u64(&sh->tuplesDone, 0);
	pg_atomic_init_u32(&sh->full, 0);
	LWLockInitialize(&sh->entryLock, sh->trancheId);
	sh->entry = -1;
	sh->entryLevel = -1;
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
		bs->graph.entry = sh->entry;
		bs->graph.entryLevel = sh->entryLevel;
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
	bytes = ParallelGraphBytes(*cap, dim, m);

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
		while (*cap > 1024 && ParallelGraphBytes(*cap, dim, m) > (double) bs->memLimit)
			*cap -= *cap / 64;
		bytes = ParallelGraphBytes(*cap, dim, m);
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
