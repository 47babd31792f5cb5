/*-------------------------------------------------------------------------
 *
 * hnsw.h
 *	  The hnsw index access method: page layout, limits and prototypes
 *
 * Block 0 is the metapage; every other block holds element tuples.  One
 * element tuple per indexed heap row stores the vector and all of its
 * neighbour lists, so a search reads one item per graph node and never
 * follows a second pointer.  Neighbour lists have fixed capacity and are
 * updated in place (the tuple never changes size).
 *
 * Metapage contents (HnswMetaPageData, at PageGetContents):
 *
 *	 OFFSET  SIZE  DESCRIPTION
 *	    0     4    magic (HNSW_MAGIC)
 *	    4     4    version (HNSW_VERSION)
 *	    8     4    dimensions (0 until the first vector is indexed)
 *	   12     2    m
 *	   14     2    ef_construction
 *	   16     4    entry point block (InvalidBlockNumber when empty)
 *	   20     2    entry point offset
 *	   22     2    entry point level (-1 when empty)
 *	   24     4    insert page: last block, where inserts look for room
 *	   28     4    distance kind (HnswDistKind, informational)
 *
 * Element tuple (HnswElementTupleData, one line pointer each):
 *
 *	 OFFSET  SIZE       DESCRIPTION
 *	    0     1         type (HNSW_ELEMENT_TUPLE)
 *	    1     1         level (0..HNSW_MAX_LEVEL)
 *	    2     1         deleted: HNSW_ELEMENT_DELETED once VACUUM found the
 *	                    heap row dead, HNSW_ELEMENT_FREE once no live list
 *	                    names it (an insert may then reuse the slot; the
 *	                    free space map records pages with free slots)
 *	    3     1         unused, 0
 *	    4     2         dim
 *	    6     2         m the lists were sized with
 *	    8     6         heap TID
 *	   14     2         unused, 0
 *	   16   4*dim       float4 vector (normalised for cosine)
 *	   ..   6*(L+2)*m   neighbour TIDs: level 0 has 2m slots, levels
 *	                    1..L have m each; an empty slot is an invalid TID
 *
 * Special space (HnswPageOpaqueData): unused block number, flags, page id.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HNSW_H
#define SEMVEC_HNSW_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/dsm.h"
#include "storage/shm_toc.h"
#include "utils/relcache.h"

#include "vector/distance.h"
#include "vector/vector.h"

/* Reloption and GUC limits (pgvector's values) */
#define HNSW_DEFAULT_M				16
#define HNSW_MIN_M					2
#define HNSW_MAX_M					100
#define HNSW_DEFAULT_EF_CONSTRUCTION	64
#define HNSW_MIN_EF_CONSTRUCTION	4
#define HNSW_MAX_EF_CONSTRUCTION	1000
#define HNSW_DEFAULT_EF_SEARCH		40
#define HNSW_MIN_EF_SEARCH			1
#define HNSW_MAX_EF_SEARCH			1000
#define HNSW_DEFAULT_MAX_SCAN_TUPLES	20000
#define HNSW_DEFAULT_SCAN_MEM_MULTIPLIER	1.0

/* Graph limits */
#define HNSW_MAX_LEVEL				16

/* Page and tuple identification */
#define HNSW_MAGIC					0x53564853	/* "SHVS" */
#define HNSW_VERSION				1
#define HNSW_PAGE_ID				0xFF91
#define HNSW_METAPAGE_BLKNO			0
#define HNSW_ELEMENT_TUPLE			1

/* Element states (the tuple's deleted byte) */
#define HNSW_ELEMENT_LIVE			0
#define HNSW_ELEMENT_DELETED		1	/* tombstone: lists may still name it */
#define HNSW_ELEMENT_FREE			2	/* no live list names it: reusable */

/*
 * The free space map records, for a page with free slots, the highest
 * element level one of them can take, as (level + 1) * this many bytes
 * (the map's unit): a new element of level L asks for (L + 1) units.
 */
#define HNSW_FSM_UNIT				32

/* Heavyweight page-lock tag (no real block has this number) */
#define HNSW_UPDATE_LOCK			0

/* Progress sub-phase reported while tuples are loaded */
#define PROGRESS_HNSW_PHASE_LOAD	2

/* Support function numbers */
#define HNSW_DISTANCE_PROC			1
#define HNSW_NORM_PROC				2

/* Iterative scan modes (hnsw.iterative_scan) */
typedef enum HnswIterativeScan
{
	HNSW_ITERATIVE_SCAN_OFF,
	HNSW_ITERATIVE_SCAN_RELAXED,
	HNSW_ITERATIVE_SCAN_STRICT
}			HnswIterativeScan;

/* Which kernel the opclass's distance support function corresponds to */
typedef enum HnswDistKind
{
	HNSW_DIST_L2 = 1,			/* squared L2 */
	HNSW_DIST_IP = 2,			/* negative inner product */
	HNSW_DIST_COSINE = 3,		/* negative inner product of unit vectors */
	HNSW_DIST_L1 = 4
}			HnswDistKind;

typedef struct HnswOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			efConstruction;
}			HnswOptions;

typedef struct HnswPageOpaqueData
{
	BlockNumber unused;
	uint16		flags;
	uint16		page_id;		/* HNSW_PAGE_ID, for pg_filedump & co */
}			HnswPageOpaqueData;

typedef HnswPageOpaqueData * HnswPageOpaque;

typedef struct HnswMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dimensions;
	uint16		m;
	uint16		efConstruction;
	BlockNumber entryBlkno;
	OffsetNumber entryOffno;
	int16		entryLevel;
	BlockNumber insertPage;
	uint32		distKind;
}			HnswMetaPageData;

typedef HnswMetaPageData * HnswMetaPage;

typedef struct HnswElementTupleData
{
	uint8		type;
	uint8		level;
	uint8		deleted;
	uint8		unused;
	uint16		dim;
	uint16		m;
	ItemPointerData heaptid;
	uint16		unused2;
	float		x[FLEXIBLE_ARRAY_MEMBER];	/* then the neighbour TIDs */
}			HnswElementTupleData;

typedef HnswElementTupleData * HnswElementTuple;

#define HnswPageGetOpaque(page)	((HnswPageOpaque) PageGetSpecialPointer(page))
#define HnswPageGetMeta(page)	((HnswMetaPage) PageGetContents(page))

/* Neighbour slots of a level: level 0 has 2m, the others m */
#define HnswLevelSlots(m, lvl)	((lvl) == 0 ? 2 * (m) : (m))
/* First slot of a level in the tuple's neighbour array */
#define HnswLevelStart(m, lvl)	((lvl) == 0 ? 0 : ((lvl) + 1) * (m))
/* Total slots of an element of the given top level */
#define HnswTotalSlots(m, lvl)	(((lvl) + 2) * (m))

/* Bytes of an element tuple */
#define HNSW_ELEMENT_TUPLE_SIZE(dim, lvl, m) \
	MAXALIGN(offsetof(HnswElementTupleData, x) + sizeof(float) * (dim) + \
			 sizeof(ItemPointerData) * HnswTotalSlots(m, lvl))

/* Room for element tuples on a data page */
#define HNSW_PAGE_ROOM \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData)) - sizeof(ItemIdData))

/* The neighbour array of an element tuple */
static inline ItemPointer
HnswTupleNeighbors(HnswElementTuple etup)
{
	return (ItemPointer) ((char *) etup->x + sizeof(float) * etup->dim);
}

/* Pack a TID into an integer key (for hash sets and sorting) */
static inline uint64
HnswTidKey(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

/* Unpack an integer key into a TID */
static inline void
HnswKeyTid(uint64 key, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (key >> 16), (OffsetNumber) (key & 0xFFFF));
}

/* Distance between two raw float arrays for a distance kind */
static inline float
HnswDistance(HnswDistKind kind, int dim, const float *a, const float *b)
{
	switch (kind)
	{
		case HNSW_DIST_L2:
			return DistanceL2Squared(dim, a, b);
		case HNSW_DIST_L1:
			return DistanceL1(dim, a, b);
		default:
			return -DistanceInnerProduct(dim, a, b);
	}
}

/* ---- binary heap of (distance, key) pairs: a min-heap ---- */
typedef struct HnswPair
{
	float		dist;
	uint64		key;
}			HnswPair;

typedef struct HnswHeap
{
	HnswPair   *items;
	int			n;
	int			cap;
}			HnswHeap;

extern void HnswHeapInit(HnswHeap * h, int cap);
extern void HnswHeapPush(HnswHeap * h, float dist, uint64 key);
extern HnswPair HnswHeapPop(HnswHeap * h);

/* ---- open-addressing hash set of uint64 keys, with a payload slot ---- */
typedef struct HnswKeyEntry
{
	uint64		key;			/* 0 = empty, so keys are stored + 1 */
	int32		val;
}			HnswKeyEntry;

typedef struct HnswKeySet
{
	HnswKeyEntry *ents;			/* key and value side by side: one miss */
	uint32		mask;
	uint32		count;
}			HnswKeySet;

extern void HnswKeySetInit(HnswKeySet * s, uint32 expected);
extern bool HnswKeySetAdd(HnswKeySet * s, uint64 key);
extern int	HnswComparePairs(const void *a, const void *b);
extern bool HnswKeySetContains(HnswKeySet * s, uint64 key);
extern bool HnswKeyMapPut(HnswKeySet * s, uint64 key, int32 val);
extern int32 HnswKeyMapGet(HnswKeySet * s, uint64 key);
extern int32 *HnswKeyMapRef(HnswKeySet * s, uint64 key);
extern void HnswKeySetReserve(HnswKeySet * s, uint32 extra);

/* ---- a set of page changes, WAL-logged unless building ---- */
typedef struct HnswPageWrite
{
	GenericXLogState *state;
	bool		building;
	int			nbufs;
	Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
}			HnswPageWrite;

extern void HnswWriteStart(HnswPageWrite * pw, Relation index, bool building);
extern Page HnswWriteRegister(HnswPageWrite * pw, Buffer buf, bool isNew);
extern void HnswWriteFinish(HnswPageWrite * pw);
extern void HnswWriteAbort(HnswPageWrite * pw);

/* ---- per-index cached facts ---- */
typedef struct HnswIndexInfo
{
	HnswDistKind kind;
	bool		normalize;		/* cosine: index unit vectors */
	int			m;
	int			efConstruction;
	int			typmodDim;		/* column dimension, or -1 */
}			HnswIndexInfo;

/* What rd_amcache holds: the facts plus a block -> buffer hint table */
typedef struct HnswRelCache
{
	HnswIndexInfo info;
	BlockNumber nrecent;
	Buffer		recent[FLEXIBLE_ARRAY_MEMBER];
}			HnswRelCache;

/* ---- a graph node loaded from disk (insert and vacuum) ---- */
typedef struct HnswNode
{
	ItemPointerData tid;
	float		dist;
	int			level;
	bool		deleted;
	ItemPointerData heaptid;
	float	   *vec;
}			HnswNode;

/* GUCs */
extern int	hnsw_ef_search;
extern int	hnsw_iterative_scan;
extern int	hnsw_max_scan_tuples;
extern double hnsw_scan_mem_multiplier;

/* hnsw.c */
extern void HnswInit(void);
extern void HnswGetIndexInfo(Relation index, HnswIndexInfo * info);
extern int	HnswMaxLevelFor(int dim, int m);
extern int	HnswMaxDimFor(int m);

/* hnswutils.c */
extern Buffer HnswNewBuffer(Relation index, ForkNumber forkNum);
extern Buffer HnswReadBuffer(Relation index, BlockNumber blkno);
extern void HnswInitPage(Page page);
extern void HnswInitMetaPage(Page page, int m, int efConstruction, int dim, HnswDistKind kind);
extern HnswMetaPageData HnswReadMeta(Relation index);
extern bool HnswPrepareValue(HnswIndexInfo * info, Datum value, float **out, int *dim);
extern int	HnswRandomLevel(int m, int maxLevel, double r);
extern int	HnswSelectNeighbors(HnswDistKind kind, int dim, HnswPair * cand, int ncand,
								float **vecs, int want, bool *selected);
extern HnswElementTuple HnswGetElementTuple(Relation index, Page page, OffsetNumber off);
extern int	HnswReadElement(Relation index, ItemPointer tid, int dim, HnswNode * node,
							bool wantVec, int nbrLevel, ItemPointer nbrs);

/* hnswinsert.c */
extern bool hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
					   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
					   IndexInfo *indexInfo);
extern void HnswInsertOnDisk(Relation index, HnswIndexInfo * info, float *vec, int dim,
							 ItemPointer heaptid, bool building);
extern int	HnswSearchNear(Relation index, HnswIndexInfo * info, const float *q, int dim,
						   int level, HnswPair * out, int max);


/* hnswbuild.c */
extern IndexBuildResult *hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void hnswbuildempty(Relation index);
extern PGDLLEXPORT void HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc);

/* hnswscan.c */
extern IndexScanDesc hnswbeginscan(Relation index, int nkeys, int norderbys);
extern void hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool hnswgettuple(IndexScanDesc scan, ScanDirection dir);
extern void hnswendscan(IndexScanDesc scan);

/* hnswvacuum.c */
extern IndexBulkDeleteResult *hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
											 IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

#endif							/* SEMVEC_HNSW_H */
