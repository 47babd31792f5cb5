/*-------------------------------------------------------------------------
 *
 * bm25.h
 *	  The bm25 index access method: page layout, limits and prototypes
 *
 * A bm25 index is an inverted index scored with Okapi BM25.  Its state is
 * kept entirely in the index relation (so that it works per shard, on
 * standbys and after a crash):
 *
 *	 - block 0, the metapage: corpus statistics (documents, total length),
 *	   the list of segments and two pending lists;
 *	 - pending lists: recently inserted documents, one item per document
 *	   (or several parts for a very long one) holding its heap TID, length
 *	   and (term, frequency) pairs.  Inserts append to the "active" list; a
 *	   spill "seals" it (a new active list starts) and turns the sealed list
 *	   into a segment;
 *	 - segments: immutable inverted indexes written by CREATE INDEX, a spill,
 *	   a merge or a VACUUM rewrite.  Documents are numbered 0..n-1 in heap
 *	   TID order.  Each segment is five byte streams (below) spread over
 *	   pages that a directory lists, so a segment can use any free pages.
 *
 * Every page carries its owner in the special space: a number drawn from
 * the metapage's counter when the page was (re)initialised, never reused.
 * Segment pages carry the segment's owner, pending pages their own.  A
 * reader that finds a different owner than it expects has met a page that
 * was freed and reused under it (on a standby, where readers take no
 * locks) and starts over from the metapage.
 *
 * Concurrency (docs/bm25.md has the long version):
 *	 - inserts append to the active pending list under the metapage's
 *	   buffer lock (one WAL record: metapage, tail page, maybe a new page);
 *	 - spills, merges and VACUUM's rewrites are serialised by a heavyweight
 *	   lock (BM25_MAINT_LOCK); they write new pages that nobody can see yet,
 *	   publish them in one metapage update, wait for readers that might still
 *	   use the old pages (a grace period on BM25_READ_LOCK), then free them;
 *	 - readers hold BM25_READ_LOCK in share mode while they compute a batch
 *	   of results (not between batches).
 *
 * Segment streams (byte offsets within a stream are what the code passes
 * around; page i of a stream is found through the directory):
 *	 DOCLEN  uint32 length of each document
 *	 DOCTID  6-byte heap TID of each document, ascending
 *	 TERMS   term entries in byte order: BM25_TERM_ENTRY_SIZE bytes of
 *	         fixed fields (df, nblocks, posting offset, maxTf, minLen,
 *	         length), then the lexeme
 *	 HASH    uint32 slots (a power of two), each 1 + the TERMS offset of an
 *	         entry or 0; linear probing on hash_bytes(lexeme)
 *	 POST    per term: nblocks block headers (Bm25BlockHeader), then the
 *	         blocks' packed data (bm25codec.h)
 *	 DOCHASH uint64 hash of each document's text: when the <@> operator is
 *	         evaluated for a row an index scan just returned, a matching
 *	         hash gives it the scan's score without tokenising the text
 *	         again (a document's score depends on its text only)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_BM25_H
#define SEMVEC_BM25_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#include "bm25/bm25codec.h"

/* Reloption defaults and limits */
#define BM25_DEFAULT_TEXT_CONFIG	"english"
#define BM25_DEFAULT_K1				1.2
#define BM25_MIN_K1					0.0
#define BM25_MAX_K1					100.0
#define BM25_DEFAULT_B				0.75

/* GUC defaults */
#define BM25_DEFAULT_PENDING_LIMIT	2048	/* kB */
#define BM25_DEFAULT_FIRST_BATCH	10

/* Page identification */
#define BM25_MAGIC					0x35324d42	/* "BM25" */
#define BM25_VERSION				1
#define BM25_PAGE_ID				0xFF93
#define BM25_METAPAGE_BLKNO			0

/* Page types (special space) */
#define BM25_PAGE_META				1
#define BM25_PAGE_PENDING			2
#define BM25_PAGE_SEGHEAD			3
#define BM25_PAGE_SEGDIR			4
#define BM25_PAGE_SEGDATA			5
#define BM25_PAGE_FREE				6

/*
 * Heavyweight page-lock tags (LockPage on the index).  No other code takes
 * page locks on a bm25 index, so the numbers only need to differ.
 */
#define BM25_MAINT_LOCK				0	/* spill, merge, VACUUM: one at a time */
#define BM25_READ_LOCK				1	/* readers share, writers' grace period */

/* Segments */
#define BM25_MAX_SEGMENTS			64
#define BM25_MERGE_FACTOR			8	/* merge this many segments of one tier */
#define BM25_NSTREAMS				6
#define BM25_STREAM_DOCLEN			0
#define BM25_STREAM_DOCTID			1
#define BM25_STREAM_TERMS			2
#define BM25_STREAM_HASH			3
#define BM25_STREAM_POST			4
#define BM25_STREAM_DOCHASH			5

#define BM25_TID_SIZE				6	/* a packed ItemPointerData */
#define BM25_TERM_ENTRY_SIZE		26	/* df 4, nblocks 4, post 8, maxTf 4, minLen 4, len 2 */
#define BM25_MAX_TERM_LEN			2047	/* tsearch's MAXSTRLEN */

/* Progress sub-phases of CREATE INDEX (pg_stat_progress_create_index) */
#define PROGRESS_BM25_PHASE_TOKENIZE	2
#define PROGRESS_BM25_PHASE_WRITE		3
#define PROGRESS_BM25_PHASE_MERGE		4

typedef struct Bm25PageOpaqueData
{
	uint64		owner;			/* who the page belongs to; 0: metapage, free */
	uint64		nextOwner;		/* pending: owner of the next page */
	BlockNumber next;			/* pending: next page of the list */
	uint16		type;			/* BM25_PAGE_* */
	uint16		page_id;		/* BM25_PAGE_ID, for pg_filedump & co */
}			Bm25PageOpaqueData;

typedef Bm25PageOpaqueData * Bm25PageOpaque;

#define Bm25PageGetOpaque(page)	((Bm25PageOpaque) PageGetSpecialPointer(page))

/* Bytes of stream data a segment page holds, and block numbers a directory page */
#define BM25_PAGE_DATA \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(Bm25PageOpaqueData)))
#define BM25_STREAM_PAGE_BYTES		BM25_PAGE_DATA
#define BM25_DIR_ENTRIES			((int) (BM25_PAGE_DATA / sizeof(BlockNumber)))

/* A pending list: pages linked by (next, nextOwner) */
typedef struct Bm25PendingList
{
	BlockNumber head;			/* InvalidBlockNumber when empty */
	BlockNumber tail;
	uint64		headOwner;
	uint64		tailOwner;
	uint32		npages;
	uint32		ndocs;			/* complete documents */
	uint64		nbytes;			/* bytes of items */
	uint64		totalLen;		/* summed length of its documents */
	uint16		tailItems;		/* items on the tail page */
	uint16		unused;
}			Bm25PendingList;

/* A segment as the metapage lists it */
typedef struct Bm25SegmentRef
{
	BlockNumber head;			/* the header page */
	uint32		ndocs;
	uint64		owner;
	uint64		totalLen;		/* summed length of its documents */
	uint32		npages;			/* header, directory and stream pages */
	uint32		unused;
}			Bm25SegmentRef;

typedef struct Bm25MetaPageData
{
	uint32		magic;
	uint32		version;
	Oid			textConfig;		/* regconfig the documents were parsed with */
	uint32		nsegments;
	uint64		totalDocs;		/* N: indexed rows not yet removed by VACUUM */
	uint64		totalLen;		/* their summed length */
	uint64		nextOwner;		/* owner counter, never reused */
	Bm25PendingList active;		/* inserts append here */
	Bm25PendingList sealed;		/* being turned into a segment */
	Bm25SegmentRef segs[BM25_MAX_SEGMENTS];
}			Bm25MetaPageData;

typedef Bm25MetaPageData * Bm25MetaPage;

#define Bm25PageGetMeta(page)	((Bm25MetaPage) PageGetContents(page))

/* One stream of a segment */
typedef struct Bm25StreamInfo
{
	uint64		nbytes;
	uint32		npages;
	uint32		firstDir;		/* its entries in the header: dirs[firstDir ..] */
	uint32		ndirs;			/* directory pages (0 when direct) */
	uint32		direct;			/* 1: the entries are its data pages themselves */
}			Bm25StreamInfo;

/* A stream of at most this many pages lists them in the header itself */
#define BM25_DIRECT_PAGES			32

/* Contents of a segment's header page */
typedef struct Bm25SegHeaderData
{
	uint64		owner;
	uint32		ndocs;
	uint32		nterms;
	uint64		totalLen;
	uint32		hashSlots;		/* a power of two */
	uint32		ndirs;			/* entries used in dirs[] */
	Bm25StreamInfo streams[BM25_NSTREAMS];
	BlockNumber dirs[FLEXIBLE_ARRAY_MEMBER];
}			Bm25SegHeaderData;

#define BM25_MAX_DIRS \
	((int) ((BM25_PAGE_DATA - offsetof(Bm25SegHeaderData, dirs)) / sizeof(BlockNumber)))

/* A term entry of the TERMS stream, decoded */
typedef struct Bm25TermEntry
{
	uint32		df;
	uint32		nblocks;
	uint64		postOffset;		/* POST offset of its block headers */
	uint32		maxTf;
	uint32		minLen;
	uint16		len;
}			Bm25TermEntry;

/*
 * A pending item: one document (or one part of a long one).  Fixed fields,
 * then nterms times (uint16 length, uint32 tf, lexeme bytes), unaligned.
 */
typedef struct Bm25PendingItemData
{
	ItemPointerData tid;
	uint16		flags;			/* BM25_PENDING_LAST on a document's last part */
	uint32		doclen;
	uint32		nterms;			/* terms in this part */
	uint64		textHash;		/* Bm25TextHash of the document */
}			Bm25PendingItemData;

#define BM25_PENDING_LAST			0x0001
#define BM25_PENDING_ITEM_HDR		MAXALIGN(sizeof(Bm25PendingItemData))
#define BM25_PENDING_TERM_HDR		6	/* uint16 length, uint32 tf */
#define BM25_PENDING_ITEM_MAX \
	MAXALIGN_DOWN(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - \
				  MAXALIGN(sizeof(Bm25PageOpaqueData)) - sizeof(ItemIdData))

typedef struct Bm25Options
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			textConfigOffset;	/* text_config string */
	double		k1;
	double		b;
}			Bm25Options;

/* ---- tokens ---- */

/* One lexeme of a document or query, with its count */
typedef struct Bm25Term
{
	char	   *lexeme;			/* not NUL-terminated */
	uint16		len;
	uint32		tf;
	uint32		hash;			/* hash_bytes(lexeme) */
}			Bm25Term;

/* A tokenised text: distinct lexemes in byte order and the token count */
typedef struct Bm25Terms
{
	int			nterms;
	Bm25Term   *terms;
	uint32		length;			/* tokens (all lexemes, repeats counted) */
	uint64		textHash;		/* Bm25TextHash of the text */
}			Bm25Terms;

extern void Bm25Tokenize(Oid cfg, const char *text, int len, Bm25Terms * out);
extern uint64 Bm25TextHash(const char *text, int len);
extern int	Bm25CompareLexemes(const char *a, int alen, const char *b, int blen);

/* ---- per-index facts ---- */
typedef struct Bm25IndexInfo
{
	Oid			textConfig;		/* from the metapage (what was indexed) */
	double		k1;
	double		b;
}			Bm25IndexInfo;

/* ---- scoring ---- */

/* A query term with its statistics over a snapshot of the index */
typedef struct Bm25QueryTerm
{
	Bm25Term	term;
	uint64		df;
	double		idf;			/* ln(1 + (N - df + 0.5) / (df + 0.5)) */
	double		weight;			/* idf * query tf */
}			Bm25QueryTerm;

/* What a score depends on: captured once per scan */
typedef struct Bm25Stats
{
	double		ndocs;			/* N */
	double		totalLen;		/* sum of the documents' lengths */
	double		avgdl;
	double		k1;
	double		b;
	int			nterms;
	Bm25QueryTerm *terms;
}			Bm25Stats;

/*
 * The contribution of one term: weight * tf * (k1 + 1) / (tf + k1 * (1 - b
 * + b * len / avgdl)).  Every operation is monotone, so evaluated at a
 * block's (max tf, min length) it bounds every document of the block.
 */
static inline double
Bm25TermScore(const Bm25Stats * st, double weight, double tf, double len)
{
	double		norm = st->k1 * (1.0 - st->b + st->b * len / st->avgdl);

	return weight * tf * (st->k1 + 1.0) / (tf + norm);
}

/* Full score of a document from its per-term frequencies (0 = absent) */
extern double Bm25ScoreDoc(const Bm25Stats * st, const uint32 *tfs, uint32 len);
extern double Bm25Idf(double ndocs, double df);

/* ---- page helpers (bm25utils.c) ---- */
extern Buffer Bm25NewBuffer(Relation index, bool building);
extern void Bm25InitPage(Page page, uint16 type, uint64 owner);
extern void Bm25InitMetaPage(Page page, Oid textConfig);
extern void Bm25ReadMeta(Relation index, Bm25MetaPageData * meta);
extern bool Bm25PageIs(Page page, uint16 type, uint64 owner);
extern void Bm25MarkPageFree(Page page);
extern void Bm25FreePages(Relation index, BlockNumber *blocks, int n, bool building);
extern void Bm25GetIndexInfo(Relation index, Bm25IndexInfo * info);
extern void Bm25LogPage(Relation index, Buffer buf, bool building);
extern uint64 Bm25TakeOwner(Relation index, int n, bool building);

/* ---- segments (bm25segment.c) ---- */

/* Sequential/random reader of one stream; caches one page and one directory page */
typedef struct Bm25StreamReader
{
	Relation	index;
	uint64		owner;
	const Bm25SegHeaderData *hdr;
	int			stream;
	int			curDir;			/* directory page cached in dirBlocks, or -1 */
	BlockNumber *dirBlocks;
	int64		curPage;		/* stream page pinned in buf, or -1 */
	Buffer		buf;
	bool	   *stale;			/* set when a page is not what we expected */
}			Bm25StreamReader;

/* An open segment */
typedef struct Bm25Segment
{
	Relation	index;
	Bm25SegmentRef ref;
	Bm25SegHeaderData *hdr;		/* copy of the header page's contents */
	Bm25StreamReader doclen;
	Bm25StreamReader doctid;
	Bm25StreamReader terms;
	Bm25StreamReader hash;
	Bm25StreamReader dochash;
	bool		stale;
}			Bm25Segment;

/* Writer of a new segment */
typedef struct Bm25StreamWriter
{
	uint64		nbytes;
	char	   *page;			/* data of the page being filled */
	int			used;
	BlockNumber *blocks;
	int			nblocks;
	int			cap;
}			Bm25StreamWriter;

typedef struct Bm25SegWriter
{
	Relation	index;
	bool		building;		/* CREATE INDEX: WAL-logged at the end */
	uint64		owner;
	Bm25StreamWriter streams[BM25_NSTREAMS];
	uint32		ndocs;
	uint32		*lens;			/* lengths of the documents added so far */
	uint32		lensCap;
	uint64		totalLen;
	uint32		nterms;
	uint32	   *termOffsets;	/* TERMS offset of each term */
	uint32	   *termHashes;
	uint32		termsCap;
	char	   *lastTerm;		/* to check byte order */
	int			lastTermLen;
	uint32		blockDocs[BM25_BLOCK_SIZE];
	uint32		blockTfs[BM25_BLOCK_SIZE];
}			Bm25SegWriter;

extern void Bm25SegWriterInit(Bm25SegWriter * w, Relation index, bool building);
extern void Bm25SegWriterAddDoc(Bm25SegWriter * w, ItemPointer tid, uint32 len, uint64 textHash);
extern void Bm25SegWriterAddTerm(Bm25SegWriter * w, const char *lexeme, int len,
								 const uint32 *docs, const uint32 *tfs, uint32 n);
extern Bm25SegmentRef Bm25SegWriterFinish(Bm25SegWriter * w);

extern bool Bm25SegmentOpen(Relation index, const Bm25SegmentRef * ref, Bm25Segment * seg);
extern void Bm25SegmentClose(Bm25Segment * seg);
extern void Bm25StreamReaderInit(Bm25StreamReader * r, Bm25Segment * seg, int stream);
extern void Bm25StreamReaderRelease(Bm25StreamReader * r);
extern bool Bm25StreamRead(Bm25StreamReader * r, uint64 offset, void *dst, uint32 len);
extern bool Bm25SegmentLookup(Bm25Segment * seg, const char *lexeme, int len, uint32 hash,
							  Bm25TermEntry * entry);
extern bool Bm25ReadTermEntry(Bm25StreamReader * r, uint64 offset, Bm25TermEntry * e,
							  char *lexeme);
extern uint32 Bm25SegmentDocLen(Bm25Segment * seg, uint32 doc);
extern void Bm25SegmentDocTid(Bm25Segment * seg, uint32 doc, ItemPointer tid);
extern uint64 Bm25SegmentDocHash(Bm25Segment * seg, uint32 doc);
extern int	Bm25SegmentBlocks(Relation index, const Bm25SegmentRef * ref, BlockNumber **blocks);

/* Merging segments (and dropping dead documents) */
typedef bool (*Bm25DeadCallback) (ItemPointer tid, void *state);
extern Bm25SegmentRef Bm25MergeSegments(Relation index, const Bm25SegmentRef * inputs, int n,
										Bm25DeadCallback dead, void *deadState,
										bool building, uint64 *removedDocs,
										uint64 *removedLen);

/* ---- in-memory inverted index (build and spill) ---- */
typedef struct Bm25MemIndex Bm25MemIndex;
extern Bm25MemIndex *Bm25MemCreate(void);
extern void Bm25MemAddDoc(Bm25MemIndex * mi, ItemPointer tid, const Bm25Terms * dt);
extern Size Bm25MemUsed(Bm25MemIndex * mi);
extern uint32 Bm25MemDocs(Bm25MemIndex * mi);
extern Bm25SegmentRef Bm25MemWrite(Bm25MemIndex * mi, Relation index, bool building);
extern void Bm25MemReset(Bm25MemIndex * mi);

/* ---- pending lists and maintenance (bm25insert.c) ---- */

/* A pending document read back, with its terms */
typedef struct Bm25PendingDoc
{
	ItemPointerData tid;
	Bm25Terms	terms;
}			Bm25PendingDoc;

typedef void (*Bm25PendingVisitor) (const Bm25PendingDoc * doc, void *arg);
extern bool Bm25ReadPending(Relation index, const Bm25PendingList * list,
							Bm25PendingVisitor visit, void *arg);
extern void Bm25Publish(Relation index, const Bm25SegmentRef * remove, int nremove,
						const Bm25SegmentRef * add, bool clearSealed,
						uint64 removedDocs, uint64 removedLen, bool building);
extern void Bm25SpillPending(Relation index, bool force, Bm25DeadCallback dead,
							 void *deadState, uint64 *removedDocs, uint64 *removedLen);
extern void Bm25MergeTiers(Relation index, bool building);
extern void Bm25FreeSegments(Relation index, const Bm25SegmentRef * segs, int n, bool building);

/* ---- query snapshot and scoring (bm25scan.c) ---- */

/* Pending documents that contain a query term */
typedef struct Bm25PendingHit
{
	ItemPointerData tid;
	uint32		len;
	uint64		textHash;
	uint32	   *tfs;			/* per query term */
}			Bm25PendingHit;

typedef struct Bm25Snapshot
{
	Bm25MetaPageData meta;
	Bm25PendingHit *hits;
	int			nhits;
	int			hitsCap;
	uint64	   *pendingDf;		/* per query term, over the pending lists */
	uint64	   *segDf;			/* per query term, over the segments */
}			Bm25Snapshot;

extern bool Bm25TakeSnapshot(Relation index, Bm25Terms * query, Bm25Snapshot * snap);
extern void Bm25StatsFromSnapshot(Relation index, Bm25Terms * query, Bm25Snapshot * snap,
								  Bm25Stats * st);
extern void Bm25StatsFor(Relation index, const char *payload, int len, Bm25Stats * st);

/* ---- GUCs ---- */
extern int	bm25_pending_limit;
extern int	bm25_first_batch;
extern bool bm25_global_stats;

/* bm25.c */
extern void Bm25Init(void);
extern Oid	Bm25ConfigFromOptions(Relation index);

/* bm25build.c */
extern IndexBuildResult *bm25build(Relation heap, Relation index, IndexInfo *indexInfo);
extern void bm25buildempty(Relation index);

/* bm25insert.c */
extern bool bm25insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
					   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
					   IndexInfo *indexInfo);
extern void Bm25AppendPending(Relation index, ItemPointer tid, const Bm25Terms * dt);

/* bm25scan.c */
/* One row's score for the <@> operator outside an index scan (bm25query.c) */
extern bool Bm25ScanScoreFor(Oid index, const char *query, int len, uint64 textHash,
							 double *score, Bm25Stats * *stats);
extern IndexScanDesc bm25beginscan(Relation index, int nkeys, int norderbys);
extern void bm25rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool bm25gettuple(IndexScanDesc scan, ScanDirection dir);
extern void bm25endscan(IndexScanDesc scan);

/* bm25vacuum.c */
extern IndexBulkDeleteResult *bm25bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
											 IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *bm25vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

#endif							/* SEMVEC_BM25_H */
