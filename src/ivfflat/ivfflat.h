/*-------------------------------------------------------------------------
 *
 * ivfflat.h
 *	  The ivfflat index access method: page layout, limits and prototypes
 *
 * An inverted-file index: k-means on a sample of the table picks `lists`
 * centres, every row goes to the list of its nearest centre, and a search
 * reads only the `probes` lists whose centres are nearest to the query.
 *
 * Block 0 is the metapage.  Blocks 1..listPages hold the list tuples (one
 * per list: its centre and where its rows live), in list order.  Every
 * other block is a data page of one list; a list's data pages form a chain
 * through the special space's next pointer.  A chain is only ever extended
 * at its end by a new block of the relation, so block numbers increase
 * along a chain ("earlier in the chain" is "lower block number").
 *
 * Metapage contents (IvfflatMetaPageData, at PageGetContents):
 *
 *	 OFFSET  SIZE  DESCRIPTION
 *	    0     4    magic (IVFFLAT_MAGIC)
 *	    4     4    version (IVFFLAT_VERSION)
 *	    8     4    dimensions
 *	   12     4    lists
 *	   16     4    list pages (the list tuples fill blocks 1..listPages)
 *	   20     4    distance kind (IvfflatKind, informational)
 *
 * List tuple (IvfflatListTupleData):
 *
 *	 OFFSET  SIZE  DESCRIPTION
 *	    0     4    first data page of the list (InvalidBlockNumber: none yet)
 *	    4     4    insert page: where inserts start looking for room
 *	    8     n    centre, a value of the indexed type with a 4-byte
 *	               varlena header (for cosine, a unit vector)
 *
 * Data tuple (IvfflatTupleData), one per indexed row:
 *
 *	 OFFSET  SIZE  DESCRIPTION
 *	    0     6    heap TID
 *	    6     2    unused, 0
 *	    8     n    the row's value with a 4-byte varlena header, never
 *	               compressed (for cosine, normalised to unit length)
 *
 * Special space of every page (IvfflatPageOpaqueData): next block of the
 * chain, flags, page id.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_IVFFLAT_H
#define SEMVEC_IVFFLAT_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "common/pg_prng.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/dsm.h"
#include "storage/shm_toc.h"
#include "utils/relcache.h"

#include "amcommon/ambuffer.h"

/* Reloption and GUC limits (pgvector's values) */
#define IVFFLAT_DEFAULT_LISTS		100
#define IVFFLAT_MIN_LISTS			1
#define IVFFLAT_MAX_LISTS			32768
#define IVFFLAT_DEFAULT_PROBES		1

/* Support function numbers (pgvector's layout) */
#define IVFFLAT_DISTANCE_PROC		1
#define IVFFLAT_NORM_PROC			2
#define IVFFLAT_KMEANS_DISTANCE_PROC	3
#define IVFFLAT_KMEANS_NORM_PROC	4
#define IVFFLAT_TYPE_INFO_PROC		5

/* Page identification */
#define IVFFLAT_MAGIC				0x53564946	/* "FIVS" */
#define IVFFLAT_VERSION				1
#define IVFFLAT_PAGE_ID				0xFF92
#define IVFFLAT_METAPAGE_BLKNO		0
#define IVFFLAT_HEAD_BLKNO			1	/* first list page */

/* Build sub-phases for pg_stat_progress_create_index (1 is "initializing") */
#define PROGRESS_IVFFLAT_PHASE_KMEANS	2
#define PROGRESS_IVFFLAT_PHASE_ASSIGN	3
#define PROGRESS_IVFFLAT_PHASE_LOAD		4

/* Iterative scan modes (ivfflat.iterative_scan) */
typedef enum IvfflatIterativeScan
{
	IVFFLAT_ITERATIVE_SCAN_OFF,
	IVFFLAT_ITERATIVE_SCAN_RELAXED
}			IvfflatIterativeScan;

/*
 * The distance an index orders by, as the opclass's support functions say.
 * Scans and list choice use a monotone stand-in of the SQL operator: squared
 * L2 for <->, the negative dot product for <#> and (on unit vectors) <=>,
 * the Hamming distance for <~>.
 */
typedef enum IvfflatKind
{
	IVFFLAT_KIND_L2 = 1,
	IVFFLAT_KIND_IP = 2,
	IVFFLAT_KIND_COSINE = 3,
	IVFFLAT_KIND_HAMMING = 4
}			IvfflatKind;

/*
 * What the index needs to know about the element type (vector, halfvec,
 * bit).  Values are varlenas with a 4-byte header.  k-means works on
 * "rows" (see IvfflatKmeansData): float4 arrays for the float types
 * (vector, halfvec), packed bits for bit strings.  toRow converts a value
 * to a row exactly; fromRow builds a value from a centre's row.
 */
typedef struct IvfflatTypeOps
{
	const char *name;			/* SQL type name, for messages */
	int			maxDim;			/* most dimensions an index takes */
	bool		isBits;			/* bit strings, else float elements */
	Size		(*valueSize) (int dim);	/* bytes of a value, header included */
	int			(*valueDim) (const void *value);
	void		(*toRow) (const void *value, char *row);
	void		(*fromRow) (const char *row, int dim, void *value);
	/* distance between two values of the same dimension, by kind */
	float		(*distance) (IvfflatKind kind, int dim, const void *a, const void *b);
	/* raise the type's "different dimensions" error */
	void		(*dimMismatch) (int a, int b);
	PGFunction	normFn;			/* the type's *_norm function */
	PGFunction	normalizeFn;	/* the type's l2_normalize function */
}			IvfflatTypeOps;

extern const IvfflatTypeOps IvfflatVectorOps;
extern const IvfflatTypeOps IvfflatHalfvecOps;
extern const IvfflatTypeOps IvfflatBitOps;

typedef struct IvfflatOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			lists;
}			IvfflatOptions;

typedef struct IvfflatPageOpaqueData
{
	BlockNumber nextblkno;		/* next page of the chain, or invalid */
	uint16		flags;
	uint16		page_id;		/* IVFFLAT_PAGE_ID, for pg_filedump & co */
}			IvfflatPageOpaqueData;

typedef IvfflatPageOpaqueData * IvfflatPageOpaque;

/* Page flags */
#define IVFFLAT_META_PAGE			0x01
#define IVFFLAT_LIST_PAGE			0x02
#define IVFFLAT_DATA_PAGE			0x04

typedef struct IvfflatMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dimensions;
	uint32		lists;
	uint32		listPages;
	uint32		kind;
}			IvfflatMetaPageData;

typedef IvfflatMetaPageData * IvfflatMetaPage;

typedef struct IvfflatListTupleData
{
	BlockNumber startPage;
	BlockNumber insertPage;
	char		center[FLEXIBLE_ARRAY_MEMBER];
}			IvfflatListTupleData;

typedef IvfflatListTupleData * IvfflatListTuple;

typedef struct IvfflatTupleData
{
	ItemPointerData heaptid;
	uint16		unused;
	char		value[FLEXIBLE_ARRAY_MEMBER];
}			IvfflatTupleData;

typedef IvfflatTupleData * IvfflatTuple;

#define IvfflatPageGetOpaque(page)	((IvfflatPageOpaque) PageGetSpecialPointer(page))
#define IvfflatPageGetMeta(page)	((IvfflatMetaPage) PageGetContents(page))

#define IVFFLAT_LIST_TUPLE_SIZE(valsize)	MAXALIGN(offsetof(IvfflatListTupleData, center) + (valsize))
#define IVFFLAT_TUPLE_SIZE(valsize)			MAXALIGN(offsetof(IvfflatTupleData, value) + (valsize))

/* Room for tuples on a page */
#define IVFFLAT_PAGE_ROOM \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfflatPageOpaqueData)) - sizeof(ItemIdData))

/* Where a list tuple lives */
typedef struct IvfflatListLoc
{
	BlockNumber blkno;
	OffsetNumber offno;
}			IvfflatListLoc;

/* Per-index facts, worked out once per relcache entry */
typedef struct IvfflatIndexInfo
{
	const IvfflatTypeOps *ops;
	IvfflatKind kind;
	bool		normalize;		/* cosine: index unit vectors, skip zeros */
	int			lists;			/* the reloption */
	int			typmodDim;		/* column dimension, or -1 */
}			IvfflatIndexInfo;

/* What rd_amcache holds: the facts plus a block -> buffer hint table */
typedef struct IvfflatRelCache
{
	IvfflatIndexInfo info;
	AmBufferHints hints;		/* last: grows in place (amcommon/ambuffer.h) */
}			IvfflatRelCache;

/* Pin a block of the main fork through the hint table */
static inline Buffer
IvfflatReadBuffer(Relation index, BlockNumber blkno)
{
	return AmReadBufferHinted(index, offsetof(IvfflatRelCache, hints), blkno);
}

/*
 * The centres of an index in memory, in their stored form (values of the
 * indexed type, itemSize bytes apart), as build, insert and scan all
 * measure them: one routine picks the nearest list everywhere, so a row and
 * a query equal to it always agree on the list.
 */
typedef struct IvfflatCenters
{
	int			lists;
	int			dim;
	Size		itemSize;
	char	   *items;			/* lists * itemSize bytes */
	IvfflatListLoc *locs;		/* where each list tuple lives (or NULL) */
}			IvfflatCenters;

#define IvfflatCenter(c, i)		((void *) ((c)->items + (Size) (i) * (c)->itemSize))

/* Rows of a build waiting for their lists (ivfassign.c) */
typedef struct IvfflatAssigner
{
	IvfflatIndexInfo *info;
	IvfflatCenters *centers;
	bool		batched;		/* float rows through OpenBLAS products */
	int			cap;			/* rows per batch */
	int			n;				/* rows collected */
	Size		valueSize;
	char	   *values;			/* the prepared values */
	ItemPointerData *tids;
	int		   *lists;			/* their lists, once assigned */
	float	   *centerRows;		/* the stored centres as float rows */
	float	   *cn2;			/* their squared norms */
	float		cn2max;
	float	   *rows;			/* the batch as float rows */
	float	   *xn2;			/* their squared norms */
	float	   *dots;			/* rows x centres products */
}			IvfflatAssigner;

/* Called for each list tuple by IvfflatWalkLists, its page share-locked */
typedef void (*IvfflatListVisitor) (void *arg, int list, BlockNumber blkno,
									OffsetNumber offno, IvfflatListTuple lt);

/* GUCs */
extern int	ivfflat_probes;
extern int	ivfflat_iterative_scan;
extern int	ivfflat_max_probes;

/* ivfflat.c */
extern void IvfflatInit(void);

/* ivftypes.c */
extern const IvfflatTypeOps *IvfflatTypeOpsFor(Relation index);

/* ivfutils.c */
extern void IvfflatGetIndexInfo(Relation index, IvfflatIndexInfo * info);
extern void IvfflatInitPage(Page page, uint16 flags);
extern IvfflatMetaPageData IvfflatReadMeta(Relation index);
extern void *IvfflatPrepareValue(IvfflatIndexInfo * info, Datum value, bool forQuery);
extern int	IvfflatNearestList(IvfflatIndexInfo * info, IvfflatCenters * centers, const void *value);
extern void IvfflatWalkLists(Relation index, uint32 lists, IvfflatListVisitor visit, void *arg);
extern float IvfflatDistance(IvfflatIndexInfo * info, int dim, const void *a, const void *b);

/* ivfkmeans.c: clustering of samples held as rows of rowBytes bytes */
typedef struct IvfflatKmeansData
{
	int			dim;			/* floats per row, or bits per row */
	bool		isBits;			/* rows are bit strings (Hamming), else float4 */
	bool		spherical;		/* unit rows, centres kept at unit length */
	Size		rowBytes;		/* bytes per row (bit rows padded to 8 bytes) */
	int			nsamples;
	char	   *samples;		/* nsamples rows */
	int			k;
	char	   *centers;		/* k rows, filled in */
}			IvfflatKmeansData;

extern Size IvfflatKmeansRowBytes(int dim, bool isBits);
extern Size IvfflatKmeansMemory(int64 nsamples, int k, int dim, bool isBits);
extern void IvfflatKmeans(IvfflatKmeansData * km, pg_prng_state *prng);
extern void IvfflatRandomCenter(IvfflatKmeansData * km, char *row, pg_prng_state *prng);
extern bool IvfflatNormalizeRow(float *x, int dim);

/* ivfassign.c */
extern void IvfflatAssignInit(IvfflatAssigner * as, IvfflatIndexInfo * info,
							  IvfflatCenters * centers, MemoryContext ctx);
extern bool IvfflatAssignAdd(IvfflatAssigner * as, const void *value, ItemPointer tid);
extern void IvfflatAssignBatch(IvfflatAssigner * as);

/* ivfbuild.c */
extern IndexBuildResult *ivfflatbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void ivfflatbuildempty(Relation index);
extern PGDLLEXPORT void IvfflatParallelBuildMain(dsm_segment *seg, shm_toc *toc);

/* ivfinsert.c */
extern bool ivfflatinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						  Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
						  IndexInfo *indexInfo);

/* ivfscan.c */
extern IndexScanDesc ivfflatbeginscan(Relation index, int nkeys, int norderbys);
extern void ivfflatrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool ivfflatgettuple(IndexScanDesc scan, ScanDirection dir);
extern void ivfflatendscan(IndexScanDesc scan);

/* ivfvacuum.c */
extern IndexBulkDeleteResult *ivfflatbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
												IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *ivfflatvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

#endif							/* SEMVEC_IVFFLAT_H */
