/*-------------------------------------------------------------------------
 *
 * hnswgraph.h
 *	  The in-memory graph an index build inserts into before writing pages
 *
 * Elements are numbered in arrival order.  Values live in one array (at a
 * fixed stride when the type's values all have one size, else in a value
 * area at recorded offsets), neighbour lists in int32 arrays, so the inner
 * loops touch no buffers and no pallocs.  Level 0 lists sit in one flat
 * array (their address needs no pointer load, so they can be prefetched);
 * the lists of levels 1 and up are carved from a link area.  Each list
 * keeps, slot by slot, the distance to the element it names, so that
 * pruning a full list need not recompute them.  A row whose value equals
 * an element's joins that element's heap TIDs (up to HNSW_HEAPTIDS); its
 * own slot is then marked merged and never written out.
 *
 * A serial build owns the graph in local memory and grows it.  A parallel
 * build puts fixed-size arrays in the parallel context's shared memory
 * (hnswbuild.c lays them out), with one LWLock per element's lists for
 * writers (readers check the list's version word instead: HnswListCount)
 * and HnswGraphShared for what the participants update together; when the
 * room runs out, HnswGraphAdd says so and the build goes on on disk.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HNSWGRAPH_H
#define SEMVEC_HNSWGRAPH_H

#include "port/atomics.h"
#include "storage/lwlock.h"

#include "hnsw/hnsw.h"

/* levels[] of a slot whose row joined another element's heap TIDs */
#define HNSW_GRAPH_MERGED			0xFF

/* What the participants of a parallel build update together */
typedef struct HnswGraphShared
{
	pg_atomic_uint64 next;		/* next free element slot */
	pg_atomic_uint64 linkUsed;	/* bytes of the link area handed out */
	pg_atomic_uint64 valueUsed; /* bytes of the value area handed out */
	pg_atomic_uint32 full;		/* a participant found no room */
	LWLock		entryLock;		/* protects entry and entryLevel */
	int64		entry;
	int			entryLevel;
}			HnswGraphShared;

/*
 * What a level-0 list knows of the neighbour heuristic's test on its slots
 * (HNSW_COVER_NEAREST): bit i of known says slot i's answer was measured,
 * bit i of covered gives it.  Only for metric opclasses with 2m <= 64.
 */
typedef struct HnswCoverBits
{
	uint64		known;
	uint64		covered;
}			HnswCoverBits;

typedef struct HnswMemGraph
{
	HnswMetric	metric;
	int			m;
	int64		n;				/* slots in use (a parallel build: see shared) */
	int64		cap;
	Size		valueSize;		/* bytes per value slot, or 0: variable sizes */
	char	   *values;			/* fixed sizes: slot i at i * valueSize */
	int64	   *valueOff;		/* variable sizes: offset in valueArea */
	char	   *valueArea;
	Size		valueCap;
	Size		valueUsed;		/* serial build; a parallel one counts in shared */
	ItemPointerData *heaptids;	/* HNSW_HEAPTIDS per element */
	uint8	   *nheaptids;
	uint8	   *levels;
	int32	   *l0;				/* level 0: HNSW_L0_RUN(m) int32s per element, flat */
	bool		keepsCover;		/* level-0 runs keep HnswCoverBits (metrics, 2m <= 64) */
	int64	   *linkOff;		/* levels 1..: offset of the element's lists */
	char	   *linkArea;		/* ... in this area: per level [count, m slots] */
	Size		linkCap;
	Size		linkUsed;		/* serial build; a parallel one counts in shared */
	int64		entry;			/* -1 when empty (serial build) */
	int			entryLevel;
	uint32	   *visited;		/* tag per element (per participant) */
	uint32		visitTag;
	Size		memUsed;
	MemoryContext ctx;			/* where a serial graph grows */
	LWLock	   *locks;			/* parallel build: one per element's lists */
	HnswGraphShared *shared;	/* parallel build, else NULL */
	HnswSearch	search;			/* this participant's search state */
	const char *q;				/* the value being inserted */
}			HnswMemGraph;

/*
 * A list's first word: the number of slots in use (the low 8 bits) and a
 * version above them.  In a parallel build a writer, holding the element's
 * LWLock, makes the version odd before it changes the list and even again
 * after, so that readers copy the list without touching the lock's cache
 * line (a sequence lock: the copy is good if the word did not change
 * meanwhile).  Serially the version stays 0 and the word is the count.
 */
#define HNSW_LIST_COUNT_MASK		0xFF
#define HNSW_LIST_VERSION_ONE		0x100	/* set: a write is in progress */
StaticAssertDecl(2 * HNSW_MAX_M <= HNSW_LIST_COUNT_MASK, "list counts must fit the count bits");

static inline int
HnswListCount(int32 word)
{
	return (int) ((uint32) word & HNSW_LIST_COUNT_MASK);
}

/*
 * Level 0's run of an element, in int32s: the count word, 2m slots, the
 * distance of each slot's element, a pad word and the list's
 * HnswCoverBits (8-byte aligned: 1 + 4m is odd).  The distances and the
 * bits sit next to the list because a link to an element reads all three,
 * and the list is then usually in cache already (the new element's search
 * expanded its nearest neighbours); in arrays of their own, their lines
 * were fresh misses at every link (on 100,000 wink vectors, 2026-12-06,
 * the distances' half of GraphAddLink's time, then the bits' third).
 */
#define HNSW_L0_RUN(m)				(6 + 4 * (m))

/* The [count word, slots...] run of element i at a level */
static inline int32 *
HnswGraphList(HnswMemGraph * g, int64 i, int level)
{
	if (level == 0)
		return g->l0 + i * HNSW_L0_RUN(g->m);
	return (int32 *) (g->linkArea + g->linkOff[i]) + (level - 1) * (1 + g->m);
}

/*
 * Distances from element i to the elements in its list at a level, slot by
 * slot.  Upper levels keep them after the element's [count, slots] runs.
 */
static inline float *
HnswGraphDists(HnswMemGraph * g, int64 i, int level)
{
	if (level == 0)
		return (float *) (g->l0 + i * HNSW_L0_RUN(g->m) + 1 + 2 * g->m);
	return (float *) ((int32 *) (g->linkArea + g->linkOff[i]) + g->levels[i] * (1 + g->m)) +
		(level - 1) * g->m;
}

/* What element i's level-0 list knows (only when g->keepsCover) */
static inline HnswCoverBits *
HnswGraphCover(HnswMemGraph * g, int64 i)
{
	return (HnswCoverBits *) (g->l0 + i * HNSW_L0_RUN(g->m) + 2 + 4 * g->m);
}

/* Value of element i */
static inline char *
HnswGraphValue(HnswMemGraph * g, int64 i)
{
	if (g->valueSize > 0)
		return g->values + i * g->valueSize;
	return g->valueArea + g->valueOff[i];
}

extern void HnswGraphInit(HnswMemGraph * g, const HnswMetric *metric, int m, int efConstruction,
						  Size valueSize);
extern Size HnswGraphLinkAreaFor(int64 cap, int m);
extern Size HnswGraphElementBytes(int m, Size valueSize);
extern bool HnswGraphAdd(HnswMemGraph * g, const char *value, ItemPointer heaptid, int level,
						 int efConstruction);
extern int64 HnswGraphCount(HnswMemGraph * g);
extern int64 *HnswGraphOrder(HnswMemGraph * g, int64 *nplaced, int64 *nreached);

#endif							/* SEMVEC_HNSWGRAPH_H */
