/*-------------------------------------------------------------------------
 *
 * hnswgraph.c
 *	  Insert into the in-memory graph of an index build
 *
 * The layout is described in hnswgraph.h.  Inserts follow Algorithm 1 of
 * Malkov & Yashunin through the search core (hnswsearch.c); this file is
 * the core's access to the graph: expanding an element reads its list (in
 * a parallel build, a copy checked against the list's version word, see
 * hnswgraph.h) and measures the neighbours not yet visited, after
 * prefetching their values; a visited "tag" array replaces a hash set.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "hnsw/hnswgraph.h"

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

/*
 * Writers (holding element i's LWLock exclusively) bracket a change of a
 * list with these; see HnswListCount.  A serial build has no readers to
 * warn and keeps the version at 0.
 */
static inline void
ListWriteBegin(HnswMemGraph * g, int32 *list)
{
	if (g->locks)
	{
		*(volatile int32 *) list = (int32) ((uint32) list[0] + HNSW_LIST_VERSION_ONE);
		pg_write_barrier();
	}
}

static inline void
ListWriteEnd(HnswMemGraph * g, int32 *list, int cnt)
{
	uint32		version = (uint32) list[0] & ~HNSW_LIST_COUNT_MASK;

	if (g->locks)
	{
		pg_write_barrier();
		version += HNSW_LIST_VERSION_ONE;
	}
	*(volatile int32 *) list = (int32) (version | (uint32) cnt);
}

/*
 * Copy element i's list at a level in a parallel build; returns the count.
 * Optimistic: copy, then check that no writer came by (the copy is used
 * only then).  After a few failed tries, perhaps behind a writer that the
 * scheduler stopped mid-change, wait on the element's lock instead.
 */
static int
GraphCopyList(HnswMemGraph * g, int64 i, int level, int32 *out)
{
	int32	   *list = HnswGraphList(g, i, level);
	volatile int32 *word = list;
	int			cnt;

	for (int tries = 0; tries < 64; tries++)
	{
		uint32		before = (uint32) *word;

		if ((before & HNSW_LIST_VERSION_ONE) == 0)
		{
			cnt = HnswListCount((int32) before);
			pg_read_barrier();
			memcpy(out, list + 1, sizeof(int32) * cnt);
			pg_read_barrier();
			if ((uint32) *word == before)
				return cnt;
		}
		pg_spin_delay();
	}
	GraphLock(g, i, LW_SHARED);
	cnt = HnswListCount(list[0]);
	memcpy(out, list + 1, sizeof(int32) * cnt);
	GraphUnlock(g, i);
	return cnt;
}

/*
 * The search core's access to the graph: expand element key at a level.
 * Unvisited neighbours are marked, their values prefetched, then measured;
 * the next candidate's list is fetched meanwhile, as it is likely next.
 */
static int
GraphExpand(HnswSearch *s, HnswKey key, int level, HnswPair *out)
{
	HnswMemGraph *g = (HnswMemGraph *) s->graph;
	int32		copy[2 * HNSW_MAX_M];
	const int32 *list;
	int			cnt;
	int			nnew = 0;
	Size		prefetchBytes = g->valueSize > 0 ? Min(g->valueSize, 8 * 64) : 64;

	/* Serially no one else writes the list: read it in place */
	if (g->locks == NULL)
	{
		const int32 *run = HnswGraphList(g, (int64) key, level);

		cnt = HnswListCount(run[0]);
		list = run + 1;
	}
	else
	{
		cnt = GraphCopyList(g, (int64) key, level, copy);
		list = copy;
	}

	/* The whole list of the next candidate: 1 + 2m int32s span a few lines */
	if (s->cand.n > 0)
	{
		const char *next = (const char *) HnswGraphList(g, s->cand.items[0].key, level);

		for (Size b = 0; b < sizeof(int32) * (1 + HnswLevelSlots(g->m, level)); b += 64)
			__builtin_prefetch(next + b);
	}
	for (int i = 0; i < cnt; i++)
		__builtin_prefetch(&g->visited[list[i]]);
	for (int i = 0; i < cnt; i++)
	{
		int32		e = list[i];

		if (g->visited[e] == g->visitTag)
			continue;
		g->visited[e] = g->visitTag;
		out[nnew++].key = e;
		for (Size b = 0; b < prefetchBytes; b += 64)
			__builtin_prefetch(HnswGraphValue(g, e) + b);
	}
	for (int i = 0; i < nnew; i++)
		out[i].dist = HnswDistance(&g->metric, g->q, HnswGraphValue(g, out[i].key));
	return nnew;
}

/* A new layer search: a fresh tag marks its visits */
static void
GraphForget(HnswSearch *s, int level)
{
	HnswMemGraph *g = (HnswMemGraph *) s->graph;

	if (++g->visitTag == 0)
	{
		memset(g->visited, 0, sizeof(uint32) * g->cap);
		g->visitTag = 1;
	}
}

static void
GraphVisit(HnswSearch *s, HnswKey key)
{
	HnswMemGraph *g = (HnswMemGraph *) s->graph;

	g->visited[key] = g->visitTag;
}

static const HnswGraphAccess GraphAccess = {GraphExpand, GraphForget, GraphVisit};

/*
 * Set up an empty graph (a parallel build then points its arrays at shared
 * memory).  valueSize is the bytes of every value, or 0 when they vary.
 * A serial graph grows in the current memory context.
 */
void
HnswGraphInit(HnswMemGraph * g, const HnswMetric *metric, int m, int efConstruction,
			  Size valueSize)
{
	memset(g, 0, sizeof(*g));
	g->metric = *metric;
	g->m = m;
	g->valueSize = valueSize > 0 ? MAXALIGN(valueSize) : 0;
	g->keepsCover = !metric->nonMetric && 2 * m <= 64;
	g->entry = -1;
	g->entryLevel = -1;
	g->ctx = CurrentMemoryContext;
	HnswSearchInit(&g->search, &GraphAccess, g, efConstruction, false);
}

/* Bytes of link area to reserve for cap elements (3x the expected need) */
Size
HnswGraphLinkAreaFor(int64 cap, int m)
{
	Size		perLevel = MAXALIGN(sizeof(int32) * (1 + m) + sizeof(float) * m);

	/* An element has 1/(m-1) upper levels on average (P(level >= l) = m^-l) */
	return (Size) (3.0 * cap * perLevel / (m - 1)) + 64 * 1024;
}

/* Bytes per element in shared memory, besides the link and value areas */
Size
HnswGraphElementBytes(int m, Size valueSize)
{
	return (valueSize > 0 ? MAXALIGN(valueSize) : sizeof(int64)) +
		sizeof(ItemPointerData) * HNSW_HEAPTIDS + 2 + sizeof(int64) +
		sizeof(int32) * HNSW_L0_RUN(m) +
		sizeof(LWLock);
}

/*
 * Ask for transparent huge pages behind a serial graph's large arrays.  A
 * search touches values and lists at random, and with 4 kB pages nearly
 * every touch also misses the TLB (100,000 100-d vectors are 40 MB of
 * values, ten thousand pages).  Only the whole pages inside the chunk are
 * advised; a kernel with huge pages off ignores the advice.  Called on a
 * fresh chunk before anything is written to it (GrowArray).  A parallel
 * build's arrays are in dynamic shared memory, which gets huge pages only
 * where the kernel gives them to shared memory (Debian's default: never).
 */
static void
AdviseHugePages(void *p, Size bytes)
{
#ifdef MADV_HUGEPAGE
	static uintptr_t pageSize = 0;
	uintptr_t	start;
	uintptr_t	end;

	/* madvise wants page-aligned ranges: 4 kB here, 16 or 64 kB elsewhere */
	if (pageSize == 0)
	{
		long		ps = sysconf(_SC_PAGESIZE);

		pageSize = ps > 0 ? (uintptr_t) ps : 4096;
	}
	start = TYPEALIGN(pageSize, (uintptr_t) p);
	end = TYPEALIGN_DOWN(pageSize, (uintptr_t) p + bytes);
	if (bytes >= 2 * 1024 * 1024 && end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

/*
 * Grow a per-element array to newcap entries.  A fresh chunk, advised for
 * huge pages before anything is written to it, and a copy: repalloc would
 * move the pages already written as they are, small ones, so that only the
 * part added by the last doubling could get huge pages (8 MB of the 35 MB
 * of values a build of 100,000 wink vectors had written, 2026-12-06).
 */
static void *
GrowArray(HnswMemGraph * g, void *old, Size entryBytes, int64 oldcap, int64 newcap)
{
	void	   *p = MemoryContextAllocHuge(g->ctx, entryBytes * newcap);

	AdviseHugePages(p, entryBytes * newcap);
	if (old != NULL)
	{
		memcpy(p, old, entryBytes * oldcap);
		pfree(old);
	}
	return p;
}

/* Make room for one more element (serial build) */
static void
GraphGrow(HnswMemGraph * g)
{
	int64		newcap = g->cap == 0 ? 1024 : g->cap * 2;
	int64		grow = newcap - g->cap;

#define HNSW_GROW(field, bytes) \
	(g->field = GrowArray(g, g->field, (bytes), g->cap, newcap), g->memUsed += (bytes) * grow)
	if (g->valueSize > 0)
		HNSW_GROW(values, g->valueSize);
	else
		HNSW_GROW(valueOff, sizeof(int64));
	HNSW_GROW(heaptids, sizeof(ItemPointerData) * HNSW_HEAPTIDS);
	HNSW_GROW(nheaptids, 1);
	HNSW_GROW(levels, 1);
	HNSW_GROW(linkOff, sizeof(int64));
	HNSW_GROW(l0, sizeof(int32) * HNSW_L0_RUN(g->m));
	HNSW_GROW(visited, sizeof(uint32));
#undef HNSW_GROW
	memset(g->visited + g->cap, 0, sizeof(uint32) * grow);
	g->cap = newcap;
}

/*
 * Take size bytes of a growable area (serial build) or of a shared one
 * (parallel build); false when a shared area is full.
 */
static bool
TakeArea(HnswMemGraph * g, char **area, Size *cap, Size *used, pg_atomic_uint64 *sharedUsed,
		 Size size, Size *off)
{
	if (g->shared)
	{
		*off = pg_atomic_fetch_add_u64(sharedUsed, size);
		return *off + size <= *cap;
	}
	if (*used + size > *cap)
	{
		Size		newcap = Max(Max(*cap * 2, 64 * 1024), *used + size);

		*area = GrowArray(g, *area, 1, *used, newcap);
		g->memUsed += newcap - *cap;
		*cap = newcap;
	}
	*off = *used;
	*used += size;
	return true;
}

/* Set up element i's empty lists; false when a shared link area is full */
static bool
GraphInitLinks(HnswMemGraph * g, int64 i, int level)
{
	Size		size = MAXALIGN(sizeof(int32) * level * (1 + g->m) + sizeof(float) * level * g->m);
	Size		off = 0;

	g->l0[i * HNSW_L0_RUN(g->m)] = 0;
	if (g->keepsCover)
		HnswGraphCover(g, i)->known = 0;
	if (level > 0)
	{
		if (!TakeArea(g, &g->linkArea, &g->linkCap, &g->linkUsed,
					  g->shared ? &g->shared->linkUsed : NULL, size, &off))
			return false;
		for (int l = 1; l <= level; l++)
			((int32 *) (g->linkArea + off))[(l - 1) * (1 + g->m)] = 0;
	}
	g->linkOff[i] = off;
	return true;
}

/*
 * A level-0 list keeps the answers of the neighbour heuristic's test
 * (HnswCoverBits), so that a full list meeting its next newcomer measures
 * only what it has not measured before.  An answer holds as long as the
 * list's first HNSW_COVER_NEAREST slots stay: it depends on nothing else
 * (see HNSW_COVER_NEAREST).  The decisions, and so the graph, are the same
 * as without them; on 100,000 100-d word vectors at m = 16 the distances
 * these tests took were about an eighth of a serial build's time.
 */

/* e went in at slot pos of a list with room */
static void
CoverBitsInsert(HnswCoverBits *bits, int pos)
{
	uint64		low = (UINT64CONST(1) << pos) - 1;

	if (pos < HNSW_COVER_NEAREST)
	{
		bits->known = 0;
		return;
	}
	bits->known = (bits->known & low) | ((bits->known & ~low) << 1);
	bits->covered = (bits->covered & low) | ((bits->covered & ~low) << 1);
}

/* The list is now the ncand candidates of a decision but the one at dropped */
static void
CoverBitsKeep(HnswCoverBits *bits, const int8 *cover, int ncand, int dropped)
{
	int			j = 0;

	bits->known = 0;
	bits->covered = 0;
	if (dropped < HNSW_COVER_NEAREST)
		return;
	for (int i = 0; i < ncand; i++)
	{
		if (i == dropped)
			continue;
		if (cover[i] != HNSW_COVER_UNKNOWN)
		{
			bits->known |= UINT64CONST(1) << j;
			if (cover[i])
				bits->covered |= UINT64CONST(1) << j;
		}
		j++;
	}
}

/*
 * Add a link n -> e at a level; when n's list is full, HnswFullListVictim
 * says which neighbour e replaces, if any.  Lists are kept sorted by
 * distance to their owner (they start so: the chosen neighbours come in
 * search order), so the candidates of that decision come by merging e in,
 * not by sorting the list at every link.
 */
static void
GraphAddLink(HnswMemGraph * g, int64 n, int64 e, int level, float dist)
{
	int32	   *list;
	float	   *dists;
	int			cap = HnswLevelSlots(g->m, level);
	int			cnt;
	int			pos;
	HnswPair	cand[2 * HNSW_MAX_M + 1];
	const char *values[2 * HNSW_MAX_M + 1];
	int8		cover[2 * HNSW_MAX_M + 1];
	HnswCoverBits *bits = level == 0 && g->keepsCover ? HnswGraphCover(g, n) : NULL;
	int			gone = -1;

	GraphLock(g, n, LW_EXCLUSIVE);
	list = HnswGraphList(g, n, level);
	dists = HnswGraphDists(g, n, level);
	cnt = HnswListCount(list[0]);

	/* e's place: after every neighbour at most as far */
	for (pos = cnt; pos > 0 && dists[pos - 1] > dist; pos--)
		;
	if (cnt == cap)
	{
		int			victim;

		for (int i = 0; i <= cnt; i++)
		{
			int			slot = i < pos ? i : i - 1;

			cand[i].key = i == pos ? (HnswKey) cnt : (HnswKey) slot;
			cand[i].dist = i == pos ? dist : dists[slot];
			values[i] = HnswGraphValue(g, i == pos ? e : list[1 + slot]);
			cover[i] = HNSW_COVER_UNKNOWN;
			if (bits && pos >= HNSW_COVER_NEAREST && i != pos &&
				(bits->known >> slot) & 1)
				cover[i] = (int8) ((bits->covered >> slot) & 1);
		}
		victim = HnswFullListVictim(&g->metric, cand, cnt + 1, values, (HnswKey) cnt, false,
									bits ? cover : NULL);
		if (bits)
			CoverBitsKeep(bits, cover, cnt + 1, victim < 0 ? pos : victim);
		if (victim < 0)
		{
			GraphUnlock(g, n);
			return;
		}
		gone = (int) cand[victim].key;
	}
	else if (bits)
		CoverBitsInsert(bits, pos);

	/* Take the victim out, if any; e then goes where it belongs among the rest */
	ListWriteBegin(g, list);
	if (gone >= 0)
	{
		cnt--;
		memmove(dists + gone, dists + gone + 1, sizeof(float) * (cnt - gone));
		memmove(list + 1 + gone, list + 2 + gone, sizeof(int32) * (cnt - gone));
		if (gone < pos)
			pos--;
	}
	memmove(dists + pos + 1, dists + pos, sizeof(float) * (cnt - pos));
	memmove(list + 2 + pos, list + 1 + pos, sizeof(int32) * (cnt - pos));
	dists[pos] = dist;
	list[1 + pos] = (int32) e;
	ListWriteEnd(g, list, cnt + 1);
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

/*
 * If one of the nearest elements found holds the same value and has room
 * for another heap TID, give it element i's row and mark i merged.  Equal
 * values are at equal distances from q, so only the nearest ones are
 * compared.
 */
static bool
GraphMergeDuplicate(HnswMemGraph * g, int64 i, HnswPair *w, int nw)
{
	const char *q = HnswGraphValue(g, i);
	Size		size = VARSIZE(q);

	for (int j = 0; j < nw && w[j].dist <= w[0].dist; j++)
	{
		int64		d = (int64) w[j].key;
		const char *v = HnswGraphValue(g, d);
		bool		merged = false;

		if (VARSIZE(v) != size || memcmp(v, q, size) != 0)
			continue;
		GraphLock(g, d, LW_EXCLUSIVE);
		if (g->nheaptids[d] < HNSW_HEAPTIDS)
		{
			g->heaptids[d * HNSW_HEAPTIDS + g->nheaptids[d]] = g->heaptids[i * HNSW_HEAPTIDS];
			g->nheaptids[d]++;
			merged = true;
		}
		GraphUnlock(g, d);
		if (merged)
		{
			g->levels[i] = HNSW_GRAPH_MERGED;
			return true;
		}
	}
	return false;
}

/* Insert element i into the graph (Algorithm 1) */
static void
GraphInsert(HnswMemGraph * g, int64 i)
{
	HnswSearch *s = &g->search;
	int			level = g->levels[i];
	int			m = g->m;
	HnswPair	ep;
	HnswPair   *w;
	const char **values;
	bool	   *selected;
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

	g->q = HnswGraphValue(g, i);
	ep.key = entry;
	ep.dist = HnswDistance(&g->metric, g->q, HnswGraphValue(g, entry));
	ep = HnswSearchDescend(s, ep, entryLevel, level);

	w = palloc(sizeof(HnswPair) * (s->ef + 1));
	values = palloc(sizeof(char *) * (s->ef + 1));
	selected = palloc(sizeof(bool) * (s->ef + 1));
	top = Min(level, entryLevel);
	chosen = palloc(sizeof(HnswPair) * (top + 1) * 2 * m);
	nchosen = palloc(sizeof(int) * (top + 1));

	/* Choose the neighbours at every level, top down */
	HnswSearchStart(s, top, &ep, 1);
	for (int l = top; l >= 0; l--)
	{
		int			nw;
		int			k = 0;
		int			want = HnswLevelSlots(m, l);

		HnswSearchLayer(s, l);
		nw = HnswSearchResults(s, w);
		if (l == 0 && GraphMergeDuplicate(g, i, w, nw))
			return;
		for (int j = 0; j < nw; j++)
			values[j] = HnswGraphValue(g, w[j].key);
		HnswSelectNeighbors(&g->metric, w, nw, values, want, true, selected);
		for (int j = 0; j < nw && k < want; j++)
			if (selected[j])
				chosen[l * 2 * m + k++] = w[j];
		nchosen[l] = k;
		if (l > 0)
			HnswSearchStart(s, l - 1, w, nw);
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
		HnswPair   *c = chosen + l * 2 * m;

		GraphLock(g, i, LW_EXCLUSIVE);
		ListWriteBegin(g, list);
		if (l == 0 && g->keepsCover)
			HnswGraphCover(g, i)->known = 0;
		for (int j = 0; j < nchosen[l]; j++)
		{
			HnswGraphDists(g, i, l)[j] = c[j].dist;
			list[1 + j] = (int32) c[j].key;
		}
		ListWriteEnd(g, list, nchosen[l]);
		GraphUnlock(g, i);
		for (int j = 0; j < nchosen[l]; j++)
			GraphAddLink(g, c[j].key, i, l, c[j].dist);
	}

	pfree(w);
	pfree(values);
	pfree(selected);
	pfree(chosen);
	pfree(nchosen);

	if (level > entryLevel)
		(void) GraphOfferEntry(g, i, level);
}

/*
 * Add a row to the graph: a new element of the given level, or a heap TID
 * of an element with the same value.  False, with nothing added, when a
 * parallel build's shared arrays have no room left (and then none will
 * have: every later call says the same).  A serial graph grows; its
 * caller watches memUsed.
 */
bool
HnswGraphAdd(HnswMemGraph * g, const char *value, ItemPointer heaptid, int level,
			 int efConstruction)
{
	Size		vsize = VARSIZE(value);
	int64		i;

	if (g->shared)
	{
		Size		off = 0;

		if (pg_atomic_read_u32(&g->shared->full))
			return false;
		i = (int64) pg_atomic_fetch_add_u64(&g->shared->next, 1);
		if (i < g->cap)
			g->levels[i] = HNSW_GRAPH_MERGED;	/* until it is complete */
		if (i >= g->cap || !GraphInitLinks(g, i, level) ||
			(g->valueSize == 0 &&
			 !TakeArea(g, &g->valueArea, &g->valueCap, &g->valueUsed,
					   &g->shared->valueUsed, MAXALIGN(vsize), &off)))
		{
			pg_atomic_write_u32(&g->shared->full, 1);
			return false;
		}
		if (g->valueSize == 0)
			g->valueOff[i] = off;
	}
	else
	{
		if (g->n == g->cap)
			GraphGrow(g);
		i = g->n++;
		(void) GraphInitLinks(g, i, level);
		if (g->valueSize == 0)
		{
			Size		off;

			(void) TakeArea(g, &g->valueArea, &g->valueCap, &g->valueUsed, NULL,
							MAXALIGN(vsize), &off);
			g->valueOff[i] = off;
		}
	}

	/* Nobody reaches element i before GraphInsert links it */
	memcpy(HnswGraphValue(g, i), value, vsize);
	g->heaptids[i * HNSW_HEAPTIDS] = *heaptid;
	g->nheaptids[i] = 1;
	g->levels[i] = level;
	GraphInsert(g, i);
	return true;
}

/* Slots taken so far (merged ones included) */
int64
HnswGraphCount(HnswMemGraph * g)
{
	if (g->shared)
		return Min((int64) pg_atomic_read_u64(&g->shared->next), g->cap);
	return g->n;
}

/*
 * Order elements for writing: breadth-first over level 0 from the entry
 * point, so that an element's neighbours tend to share its page or the
 * next ones.  A search then touches fewer pages (fewer pins, fewer cache
 * misses on buffer headers).  Elements not reached come last; merged and
 * unfinished slots are left out.  Sets *nplaced, and *nreached to how many
 * of them the walk from the entry point reached (the first *nreached):
 * the others no search can find.
 */
int64 *
HnswGraphOrder(HnswMemGraph * g, int64 *nplaced, int64 *nreached)
{
	int64		n = HnswGraphCount(g);
	int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(n, 1));
	bool	   *placed = MemoryContextAllocHuge(CurrentMemoryContext, Max(n, 1));
	int64		head = 0;
	int64		tail = 0;
	int64		total = 0;

	for (int64 i = 0; i < n; i++)
	{
		placed[i] = g->levels[i] == HNSW_GRAPH_MERGED;
		total += !placed[i];
	}
	*nreached = -1;
	if (g->entry >= 0)
	{
		order[tail++] = g->entry;
		placed[g->entry] = true;
	}
	for (int64 next = 0; tail < total;)
	{
		if (head == tail)
		{
			if (*nreached < 0)
				*nreached = tail;
			/* Not reachable: start again from the next unplaced element */
			while (placed[next])
				next++;
			order[tail++] = next;
			placed[next] = true;
		}
		while (head < tail)
		{
			int32	   *list = HnswGraphList(g, order[head++], 0);
			int			cnt = HnswListCount(list[0]);

			CHECK_FOR_INTERRUPTS();
			for (int j = 1; j <= cnt; j++)
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
	*nplaced = tail;
	if (*nreached < 0)
		*nreached = tail;
	return order;
}
