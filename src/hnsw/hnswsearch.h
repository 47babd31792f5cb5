/*-------------------------------------------------------------------------
 *
 * hnswsearch.h
 *	  The search core of hnsw: one layer search, one greedy descent and one
 *	  neighbour selection, for every graph the index works on
 *
 * The build's in-memory graph (hnswgraph.c), an insert's and VACUUM's view
 * of the pages (hnswinsert.c) and a scan (hnswscan.c) each describe their
 * graph with an HnswGraphAccess: how to expand an element (its unvisited
 * neighbours at a level, with their distances to the query) and how to
 * track what was visited.  Elements are named by a key that only the
 * access layer interprets.  What the core owns is the algorithm:
 * candidate and result heaps, the stopping rule, the greedy descent
 * through the upper levels, the discarded heap that lets an iterative
 * scan go on, and the heuristic that picks neighbours (Malkov & Yashunin,
 * Algorithms 2, 4 and 5).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HNSWSEARCH_H
#define SEMVEC_HNSWSEARCH_H

#include "postgres.h"

#include "hnsw/hnswtype.h"

/*
 * Largest m (pgvector's limit; a reloption bound in hnsw.c): an element has
 * at most 2 * HNSW_MAX_M neighbours, at level 0, which sizes the core's
 * per-expansion buffers
 */
#define HNSW_MAX_M					100

/*
 * An element as the core knows it: a key the access layer hands out (an
 * index into its own arrays; 32 bits keep the heaps of long iterative
 * scans small)
 */
typedef uint32 HnswKey;

/* A graph element at a distance */
typedef struct HnswPair
{
	float		dist;
	HnswKey		key;
}			HnswPair;

/* Binary min-heap of pairs (a max-heap stores negated distances) */
typedef struct HnswHeap
{
	HnswPair   *items;
	int			n;
	int			cap;
}			HnswHeap;

extern void HnswHeapInit(HnswHeap * h, int cap);
extern void HnswHeapPush(HnswHeap * h, float dist, HnswKey key);
extern HnswPair HnswHeapPop(HnswHeap * h);
extern HnswPair HnswHeapReplaceTop(HnswHeap * h, float dist, HnswKey key);
extern int	HnswComparePairs(const void *a, const void *b);

typedef struct HnswSearch HnswSearch;

typedef struct HnswGraphAccess
{
	/*
	 * The neighbours of element key at a level that this search has not
	 * visited, now marked visited, each with its distance to the query.
	 * Returns how many it wrote to out (room for 2 * HNSW_MAX_M); 0 also
	 * when the element was expanded before (an iterative scan resumes).
	 */
	int			(*expand) (HnswSearch *s, HnswKey key, int level, HnswPair *out);
	/* A search at this level starts: forget what earlier ones visited */
	void		(*forget) (HnswSearch *s, int level);
	/* Mark an entry point visited */
	void		(*visit) (HnswSearch *s, HnswKey key);

	/*
	 * Optional (NULL: every element counts): whether an element counts
	 * towards ef.  VACUUM's repair searches through the deleted elements
	 * without counting them, so that it finds ef live ones however many
	 * rows were deleted (as pgvector's repair does).
	 */
	bool		(*counts) (HnswSearch *s, HnswKey key);
}			HnswGraphAccess;

struct HnswSearch
{
	const HnswGraphAccess *access;
	void	   *graph;			/* the access layer's state */
	int			ef;
	HnswHeap	cand;			/* to expand, nearest on top */
	HnswHeap	res;			/* the ef nearest, farthest on top (negated) */
	int			uncounted;		/* elements in res that do not count (see counts) */
	HnswHeap	discarded;		/* visited, pushed out of res (iterative scans) */
	bool		keepDiscarded;
};

extern void HnswSearchInit(HnswSearch *s, const HnswGraphAccess *access, void *graph,
						   int ef, bool keepDiscarded);
extern void HnswSearchStart(HnswSearch *s, int level, const HnswPair *eps, int neps);
extern void HnswSearchLayer(HnswSearch *s, int level);
extern int	HnswSearchResults(HnswSearch *s, HnswPair *out);
extern bool HnswSearchResume(HnswSearch *s);
extern HnswPair HnswSearchDescend(HnswSearch *s, HnswPair ep, int fromLevel, int toLevel);

extern int	HnswSelectNeighbors(const HnswMetric *metric, const HnswPair *cand, int ncand,
								const char *const *values, int want, bool keepPruned,
								bool *selected);
/*
 * The heuristic's test measured on a list's candidates (HnswFullListVictim's
 * cover argument): per candidate, HNSW_COVER_UNKNOWN or whether one of the
 * HNSW_COVER_NEAREST nearest candidates before it covers it.  A metric's
 * answer for a candidate depends only on itself, the list's owner and those
 * nearest candidates, so a caller that keeps a list's answers can hand them
 * back as long as its first HNSW_COVER_NEAREST slots stay the same.
 */
#define HNSW_COVER_NEAREST			4
#define HNSW_COVER_UNKNOWN			(-1)

extern int	HnswFullListVictim(const HnswMetric *metric, const HnswPair *cand, int ncand,
							   const char *const *values, HnswKey newKey, bool force,
							   int8 *cover);

#endif							/* SEMVEC_HNSWSEARCH_H */
