/*-------------------------------------------------------------------------
 *
 * hnswgraph.h
 *	  The in-memory graph an index build inserts into before writing pages
 *
 * Elements are numbered in arrival order; vectors live in one contiguous
 * array and neighbour lists in int32 arrays, so the inner loops touch no
 * buffers, locks or pallocs.  Level 0 lists sit in one flat array (their
 * address needs no pointer load, so they can be prefetched); the lists of
 * levels 1 and up are carved from a link area.  Each list keeps, slot by
 * slot, the distance to the element it names, so that pruning a full list
 * need not recompute them.
 *
 * A serial build owns the graph in local memory.  A parallel build puts the
 * arrays in the parallel context's shared memory (hnswbuild.c lays them
 * out) with one LWLock per element's lists and HnswGraphShared for what the
 * participants update together.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HNSWGRAPH_H
#define SEMVEC_HNSWGRAPH_H

#include "port/atomics.h"
#include "storage/lwlock.h"

#include "hnsw/hnsw.h"

/* What the participants of a parallel build update together */
typedef struct HnswGraphShared
{
	pg_atomic_uint64 linkUsed;	/* bytes of the link area handed out */
	LWLock		entryLock;		/* protects entry and entryLevel */
	int64		entry;
	int			entryLevel;
}			HnswGraphShared;

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
	HnswGraphShared *shared;	/* parallel build, else NULL */
}			HnswMemGraph;

/* The [count, slots...] run of element i at a level */
static inline int32 *
HnswGraphList(HnswMemGraph * g, int64 i, int level)
{
	if (level == 0)
		return g->l0 + i * (1 + 2 * g->m);
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
		return g->l0d + i * 2 * g->m;
	return (float *) ((int32 *) (g->linkArea + g->linkOff[i]) + g->levels[i] * (1 + g->m)) +
		(level - 1) * g->m;
}

/* Vector of element i */
static inline float *
HnswGraphVec(HnswMemGraph * g, int64 i)
{
	return g->vecs + i * g->dim;
}

/* Bytes of link area to reserve for cap elements (3x the expected need) */
extern Size HnswGraphLinkAreaFor(int64 cap, int m);

/* Bytes a graph of cap elements takes in shared memory */
extern double HnswGraphSharedBytes(int64 cap, int dim, int m);

extern void HnswGraphGrow(HnswMemGraph * g);
extern bool HnswGraphInitLinks(HnswMemGraph * g, int64 i, int level);
extern void HnswGraphInsert(HnswMemGraph * g, int64 i, int efConstruction);
extern int64 *HnswGraphOrder(HnswMemGraph * g);

#endif							/* SEMVEC_HNSWGRAPH_H */
