/*-------------------------------------------------------------------------
 *
 * hnswgraph.c
 *	  Insert into the in-memory graph of an index build
 *
 * The layout is described in hnswgraph.h.  Inserts follow Algorithm 1 of
 * Malkov & Yashunin; a visited "tag" array replaces a hash set.  In a
 * parallel build each element's lists are read and changed under its own
 * LWLock, and the entry point under the shared entry lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "hnsw/hnswgraph.h"

/*
 * Set up element i's empty lists.  Level 0 lives in the flat array (its
 * address needs no pointer load, so it can be prefetched); upper levels are
 * carved from the link area.  False when a parallel build's area is full.
 */
bool
HnswGraphInitLinks(HnswMemGraph * g, int64 i, int level)
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
	int32	   *list = HnswGraphList(g, i, level);
	int			cnt;

	GraphLock(g, i, LW_SHARED);
	cnt = list[0];
	memcpy(out, list + 1, sizeof(int32) * cnt);
	GraphUnlock(g, i);
	return cnt;
}

/* Make room for one more element */
void
HnswGraphGrow(HnswMemGraph * g)
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
			__builtin_prefetch(HnswGraphList(g, cand->items[0].key, level));

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
				__builtin_prefetch((char *) HnswGraphVec(g, e) + b);
		}
		for (int i = 0; i < nnew; i++)
		{
			int32		e = fresh[i];
			float		d;

			d = HnswDistance(g->kind, g->dim, q, HnswGraphVec(g, e));
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
	int32	   *list = HnswGraphList(g, n, level);
	float	   *dists = HnswGraphDists(g, n, level);
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
		vecs[i] = HnswGraphVec(g, cand[i].key == (uint64) cnt ? e : list[1 + cand[i].key]);
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
void
HnswGraphInsert(HnswMemGraph * g, int64 i, int efConstruction)
{
	const float *q = HnswGraphVec(g, i);
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
	ep.dist = HnswDistance(g->kind, g->dim, q, HnswGraphVec(g, entry));

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
				float		d = HnswDistance(g->kind, g->dim, q, HnswGraphVec(g, list[j]));

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
			vecs[j] = HnswGraphVec(g, w[j].key);
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
		int32	   *list = HnswGraphList(g, i, l);
		HnswPair   *c = chosen + l * g->m;

		GraphLock(g, i, LW_EXCLUSIVE);
		for (int j = 0; j < nchosen[l]; j++)
		{
			HnswGraphDists(g, i, l)[j] = c[j].dist;
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

/*
 * Order elements for writing: breadth-first over level 0 from the entry
 * point, so that an element's neighbours tend to share its page or the
 * next ones.  A search then touches fewer pages (fewer pins, fewer cache
 * misses on buffer headers).  Elements not reached come last.
 */
int64 *
HnswGraphOrder(HnswMemGraph * g)
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
			int32	   *list = HnswGraphList(g, order[head++], 0);

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

/* Bytes of link area to reserve for cap elements (3x the expected need) */
Size
HnswGraphLinkAreaFor(int64 cap, int m)
{
	Size		perLevel = MAXALIGN(sizeof(int32) * (1 + m) + sizeof(float) * m);

	/* An element has 1/(m-1) upper levels on average (P(level >= l) = m^-l) */
	return (Size) (3.0 * cap * perLevel / (m - 1)) + 64 * 1024;
}

/* Shared memory a parallel build's graph of cap elements takes */
double
HnswGraphSharedBytes(int64 cap, int dim, int m)
{
	return (double) cap * (sizeof(float) * dim + sizeof(ItemPointerData) + 1 + sizeof(int64) +
						   sizeof(int32) * (1 + 2 * m) + sizeof(float) * 2 * m + sizeof(LWLock)) +
		HnswGraphLinkAreaFor(cap, m);
}
