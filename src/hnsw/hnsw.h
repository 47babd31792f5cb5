/*-------------------------------------------------------------------------
 *
 * hnsw.h
 *	  The hnsw index access method: page layout, limits and prototypes
 *
 * Block 0 is the metapage; every other block holds element tuples and
 * neighbour tuples.  Each element (one distinct indexed value) has an
 * element tuple, with the value and the heap TIDs of up to HNSW_HEAPTIDS
 * rows holding it, and a neighbour tuple with all of its neighbour lists.
 * The two are separate so that a value may take almost a whole page (2,000
 * float4 dimensions, as in pgvector); they share a page when both fit.
 * Neighbour lists have fixed capacity and are updated in place, and no
 * tuple ever changes size.
 *
 * Metapage contents (HnswMetaPageData, at PageGetContents):
 *
 *	 OFFSET  SIZE  DESCRIPTION
 *	    0     4    magic (HNSW_MAGIC)
 *	    4     4    version (HNSW_VERSION)
 *	    8     4    dimensions (0 until the first value is indexed)
 *	   12     2    m
 *	   14     2    ef_construction
 *	   16     4    entry point block (InvalidBlockNumber when empty)
 *	   20     2    entry point offset
 *	   22     2    entry point level (-1 when empty)
 *	   24     4    insert page: last block, where inserts look for room
 *	   28     4    unused, 0
 *
 * Element tuple (HnswElementTupleData):
 *
 *	 OFFSET  SIZE       DESCRIPTION
 *	    0     1         type (HNSW_ELEMENT_TUPLE)
 *	    1     1         level (0..HNSW_MAX_LEVEL)
 *	    2     1         state: HNSW_ELEMENT_LIVE; _DELETED once VACUUM found
 *	                    all its heap rows dead; _FREE once no live list names
 *	                    it (an insert may then reuse the slot and its
 *	                    neighbour tuple; the free space map records pages
 *	                    with free slots)
 *	    3     1         number of heap TIDs (1..HNSW_HEAPTIDS while live)
 *	    4     6         TID of the element's neighbour tuple
 *	   10     6         first heap TID
 *	   16   VARSIZE     the value, a varlena of the column's type as the
 *	                    element type stores it (unit length for cosine)
 *	   ..     6*9       heap TIDs 2..HNSW_HEAPTIDS (2-byte aligned): rarely
 *	                    used, so kept after the value where a search that
 *	                    only measures the element never touches them
 *
 * Neighbour tuple (HnswNeighborTupleData):
 *
 *	    0     1         type (HNSW_NEIGHBOR_TUPLE)
 *	    1     1         level of the element
 *	    2     2         number of slots, (level + 2) * m
 *	    4   6*slots     neighbour element TIDs: level 0 has 2m slots,
 *	                    levels 1..L have m each; an empty slot is invalid
 *
 * Special space (HnswPageOpaqueData): unused block number, flags, page id.
 *
 * Lock order: readers hold at most one data page lock at a time.  A writer
 * that changes two data pages in one WAL record (an element and its
 * neighbour tuple) locks the lower block first; the metapage, locked last,
 * is never held while waiting for a data page.
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

#include "amcommon/ambuffer.h"
#include "hnsw/hnswsearch.h"
#include "hnsw/hnswtype.h"

/* Reloption and GUC limits (pgvector's values) */
#define HNSW_DEFAULT_M				16
#define HNSW_MIN_M					2
/* HNSW_MAX_M (100) is in hnswsearch.h: the core sizes its buffers by it */
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
#define HNSW_HEAPTIDS				10	/* rows sharing one element (duplicates) */

/* Page and tuple identification */
#define HNSW_MAGIC					0x53564853	/* "SHVS" */
#define HNSW_VERSION				2
#define HNSW_PAGE_ID				0xFF91
#define HNSW_METAPAGE_BLKNO			0
#define HNSW_ELEMENT_TUPLE			1
#define HNSW_NEIGHBOR_TUPLE			2

/* Element states (the tuple's state byte) */
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

/* Support function numbers */
#define HNSW_DISTANCE_PROC			1
#define HNSW_NORM_PROC				2
#define HNSW_TYPE_INFO_PROC			3

/* Progress sub-phase reported while tuples are loaded */
#define PROGRESS_HNSW_PHASE_LOAD	2

/* Iterative scan modes (hnsw.iterative_scan) */
typedef enum HnswIterativeScan
{
	HNSW_ITERATIVE_SCAN_OFF,
	HNSW_ITERATIVE_SCAN_RELAXED,
	HNSW_ITERATIVE_SCAN_STRICT
}			HnswIterativeScan;

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
	uint32		unused;
}			HnswMetaPageData;

typedef HnswMetaPageData * HnswMetaPage;

typedef struct HnswElementTupleData
{
	uint8		type;
	uint8		level;
	uint8		state;
	uint8		nheaptids;
	ItemPointerData neighbortid;
	ItemPointerData heaptid;	/* the first heap TID */
	char		value[FLEXIBLE_ARRAY_MEMBER];	/* then heap TIDs 2.. */
}			HnswElementTupleData;

typedef HnswElementTupleData * HnswElementTuple;

typedef struct HnswNeighborTupleData
{
	uint8		type;
	uint8		level;
	uint16		nslots;
	ItemPointerData tids[FLEXIBLE_ARRAY_MEMBER];
}			HnswNeighborTupleData;

typedef HnswNeighborTupleData * HnswNeighborTuple;

#define HnswPageGetOpaque(page)	((HnswPageOpaque) PageGetSpecialPointer(page))
#define HnswPageGetMeta(page)	((HnswMetaPage) PageGetContents(page))

/* Neighbour slots of a level: level 0 has 2m, the others m */
#define HnswLevelSlots(m, lvl)	((lvl) == 0 ? 2 * (m) : (m))
/* First slot of a level in a neighbour tuple */
#define HnswLevelStart(m, lvl)	((lvl) == 0 ? 0 : ((lvl) + 1) * (m))
/* Total slots of an element of the given top level */
#define HnswTotalSlots(m, lvl)	(((lvl) + 2) * (m))

/* Where the extra heap TIDs start, after a value of vsize bytes */
#define HNSW_EXTRA_TIDS_OFFSET(vsize) \
	TYPEALIGN(2, offsetof(HnswElementTupleData, value) + (vsize))

/* Bytes of an element tuple holding a value of vsize bytes */
#define HNSW_ELEMENT_TUPLE_SIZE(vsize) \
	MAXALIGN(HNSW_EXTRA_TIDS_OFFSET(vsize) + sizeof(ItemPointerData) * (HNSW_HEAPTIDS - 1))

/* Bytes of the neighbour tuple of an element of a level */
#define HNSW_NEIGHBOR_TUPLE_SIZE(lvl, m) \
	MAXALIGN(offsetof(HnswNeighborTupleData, tids) + sizeof(ItemPointerData) * HnswTotalSlots(m, lvl))

/* Room for one tuple on an empty data page */
#define HNSW_PAGE_ROOM \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData)) - sizeof(ItemIdData))

/* Heap TID i (0-based) of an element */
static inline ItemPointer
HnswElementHeapTid(HnswElementTuple etup, int i)
{
	if (i == 0)
		return &etup->heaptid;
	return (ItemPointer) ((char *) etup + HNSW_EXTRA_TIDS_OFFSET(VARSIZE(etup->value))) + (i - 1);
}

/*
 * The kind of an item (HNSW_ELEMENT_TUPLE or HNSW_NEIGHBOR_TUPLE), or 0
 * for one that is neither: what page-by-page passes check before reading
 * an item as either.  Items of hnsw pages are all normal.
 */
static inline uint8
HnswItemKind(Page page, OffsetNumber off)
{
	ItemId		iid = PageGetItemId(page, off);

	if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < 1)
		return 0;
	return *(uint8 *) PageGetItem(page, iid);
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

/* ---- open-addressing hash set of uint64 keys, with a payload slot ---- */

/* Mix a key into a well-spread hash (HnswKeySet's) */
static inline uint32
HnswKeyHash(uint64 key)
{
	key ^= key >> 33;
	key *= UINT64CONST(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return (uint32) key;
}

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
extern void HnswKeySetClear(HnswKeySet * s);
extern bool HnswKeySetAdd(HnswKeySet * s, uint64 key);
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
	const HnswTypeInfo *type;	/* the element type (support function 3) */
	HnswMetric	metric;			/* the distance (support function 1) */
	bool		normalize;		/* cosine: index unit vectors (support function 2) */
	int			m;
	int			efConstruction;
	int			typmodDim;		/* column dimension, or -1 */
}			HnswIndexInfo;

/* What rd_amcache holds: the facts plus a block -> buffer hint table */
typedef struct HnswRelCache
{
	HnswIndexInfo info;
	AmBufferHints hints;		/* last: grows in place (amcommon/ambuffer.h) */
}			HnswRelCache;

/* Pin a block of the main fork through the hint table */
static inline Buffer
HnswReadBuffer(Relation index, BlockNumber blkno)
{
	return AmReadBufferHinted(index, offsetof(HnswRelCache, hints), blkno);
}

/* ---- an element read from disk (insert and vacuum) ---- */
typedef struct HnswNode
{
	ItemPointerData tid;
	ItemPointerData neighbortid;
	float		dist;
	int			level;
	bool		deleted;		/* not live */
	int			nheaptids;
	char	   *value;			/* palloc'd copy, when asked for */
}			HnswNode;

/* GUCs */
extern int	hnsw_ef_search;
extern int	hnsw_iterative_scan;
extern int	hnsw_max_scan_tuples;
extern double hnsw_scan_mem_multiplier;
extern bool hnsw_unpinned_reads;	/* semvec.hnsw_unpinned_reads, see hnswpeek.h */

/* hnsw.c */
extern void HnswInit(void);
extern void HnswGetIndexInfo(Relation index, HnswIndexInfo * info);
extern int	HnswMaxLevelFor(int m);

/* hnswutils.c */
extern void HnswInitPage(Page page);
extern void HnswInitMetaPage(Page page, int m, int efConstruction, int dim);
extern HnswMetaPageData HnswReadMeta(Relation index);
extern char *HnswPrepareValue(Relation index, HnswIndexInfo * info, Datum value, bool query,
							  int *dim);
extern int	HnswRandomLevel(int m, int maxLevel, double r);
extern HnswElementTuple HnswGetElementTuple(Relation index, Page page, OffsetNumber off);
extern HnswNeighborTuple HnswGetNeighborTuple(Relation index, Page page, OffsetNumber off);
extern void HnswCheckLink(Relation index, ItemPointer tid);
extern void HnswCheckElementDim(Relation index, HnswIndexInfo * info, HnswElementTuple etup,
								int dim);
extern bool HnswReadElement(Relation index, HnswIndexInfo * info, ItemPointer tid, int dim,
							HnswNode * node, bool wantValue);
extern int	HnswReadNeighbors(Relation index, ItemPointer ntid, int level, ItemPointer out,
							  bool validOnly);
extern void HnswFormElement(char *buf, int level, ItemPointer heaptids, int nheaptids,
							ItemPointer neighbortid, const char *value);
extern void HnswFormNeighbors(char *buf, int level, int m);

/* hnswinsert.c */
extern bool hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
					   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
					   IndexInfo *indexInfo);
extern void HnswInsertOnDisk(Relation index, HnswIndexInfo * info, const char *value, int dim,
							 ItemPointer heaptid, bool building, bool valueIndexed);
extern void HnswRepairElement(Relation index, HnswIndexInfo * info, int dim, ItemPointer etid,
							  HnswKeySet * deleted, int minLinks, bool search);
extern int	HnswSearchNearestLive(Relation index, HnswIndexInfo * info, int dim,
								  ItemPointer etid, ItemPointer out, int max);

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
extern void HnswLinkUnreachable(Relation index, const ItemPointerData *unreached, int nunreached);

#endif							/* SEMVEC_HNSW_H */
