/*-------------------------------------------------------------------------
 *
 * bm25build.c
 *	  Build a bm25 index: tokenise every row into an in-memory inverted
 *	  index, write it out as segments, merge them into one
 *
 * The in-memory index keeps, per distinct lexeme, its postings as
 * variable-byte (document gap, frequency) pairs, so a build holds about
 * two bytes per posting.  When it outgrows maintenance_work_mem it is
 * written out as a segment and emptied; at the end the segments are
 * merged into one.  Pages are written without WAL while building; the
 * whole relation is WAL-logged at the end with log_newpage_range (as
 * hnsw does).  Spills of the pending list reuse the in-memory index.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_ts_config.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "bm25/bm25.h"

/* ---------------------------------------------------------------------
 * In-memory inverted index
 * ---------------------------------------------------------------------
 */

typedef struct MemTerm
{
	char	   *lexeme;
	uint16		len;
	uint32		hash;
	uint32		df;
	uint32		lastDoc;		/* BM25_NO_DOC before the first posting */
	uint8	   *buf;			/* varbyte (gap, tf) pairs */
	uint32		used;
	uint32		cap;
}			MemTerm;

struct Bm25MemIndex
{
	MemoryContext ctx;
	ItemPointerData *tids;
	uint32	   *lens;
	uint64	   *hashes;
	uint32		ndocs;
	uint32		docsCap;
	MemTerm    *terms;
	uint32		nterms;
	uint32		termsCap;
	uint32	   *slots;			/* 1 + index into terms, 0 = empty */
	uint32		nslots;
	char	   *arena;			/* lexeme bytes */
	Size		arenaLeft;
	Size		used;			/* bytes allocated, for the memory budget */
};

#define ARENA_CHUNK		(64 * 1024)

static void
MemInit(Bm25MemIndex * mi)
{
	MemoryContext old = MemoryContextSwitchTo(mi->ctx);

	mi->docsCap = 1024;
	mi->tids = palloc(sizeof(ItemPointerData) * mi->docsCap);
	mi->lens = palloc(sizeof(uint32) * mi->docsCap);
	mi->hashes = palloc(sizeof(uint64) * mi->docsCap);
	mi->ndocs = 0;
	mi->termsCap = 1024;
	mi->terms = palloc(sizeof(MemTerm) * mi->termsCap);
	mi->nterms = 0;
	mi->nslots = 2048;
	mi->slots = palloc0(sizeof(uint32) * mi->nslots);
	mi->arena = NULL;
	mi->arenaLeft = 0;
	mi->used = mi->docsCap * (sizeof(ItemPointerData) + sizeof(uint32) + sizeof(uint64)) +
		mi->termsCap * sizeof(MemTerm) + mi->nslots * sizeof(uint32);
	MemoryContextSwitchTo(old);
}

Bm25MemIndex *
Bm25MemCreate(void)
{
	Bm25MemIndex *mi = palloc0(sizeof(Bm25MemIndex));

	mi->ctx = AllocSetContextCreate(CurrentMemoryContext, "bm25 in-memory index",
									ALLOCSET_DEFAULT_SIZES);
	MemInit(mi);
	return mi;
}

void
Bm25MemReset(Bm25MemIndex * mi)
{
	MemoryContextReset(mi->ctx);
	MemInit(mi);
}

Size
Bm25MemUsed(Bm25MemIndex * mi)
{
	return mi->used;
}

uint32
Bm25MemDocs(Bm25MemIndex * mi)
{
	return mi->ndocs;
}

static void
GrowSlots(Bm25MemIndex * mi)
{
	uint32		nslots = mi->nslots * 2;
	uint32	   *slots = MemoryContextAllocZero(mi->ctx, sizeof(uint32) * nslots);

	for (uint32 t = 0; t < mi->nterms; t++)
	{
		uint32		s = mi->terms[t].hash & (nslots - 1);

		while (slots[s] != 0)
			s = (s + 1) & (nslots - 1);
		slots[s] = t + 1;
	}
	pfree(mi->slots);
	mi->used += sizeof(uint32) * (nslots - mi->nslots);
	mi->slots = slots;
	mi->nslots = nslots;
}

/* Find or add a lexeme */
static MemTerm *
MemTermFor(Bm25MemIndex * mi, const Bm25Term * t)
{
	uint32		s = t->hash & (mi->nslots - 1);
	MemTerm    *mt;

	while (mi->slots[s] != 0)
	{
		mt = &mi->terms[mi->slots[s] - 1];
		if (mt->hash == t->hash && mt->len == t->len && memcmp(mt->lexeme, t->lexeme, t->len) == 0)
			return mt;
		s = (s + 1) & (mi->nslots - 1);
	}
	if (mi->nterms == mi->termsCap)
	{
		mi->used += sizeof(MemTerm) * mi->termsCap;
		mi->termsCap *= 2;
		mi->terms = repalloc_huge(mi->terms, sizeof(MemTerm) * mi->termsCap);
	}
	if (mi->arenaLeft < t->len)
	{
		mi->arena = MemoryContextAlloc(mi->ctx, ARENA_CHUNK);
		mi->arenaLeft = ARENA_CHUNK;
		mi->used += ARENA_CHUNK;
	}
	mt = &mi->terms[mi->nterms];
	mt->lexeme = mi->arena;
	memcpy(mt->lexeme, t->lexeme, t->len);
	mi->arena += t->len;
	mi->arenaLeft -= t->len;
	mt->len = t->len;
	mt->hash = t->hash;
	mt->df = 0;
	mt->lastDoc = BM25_NO_DOC;
	mt->buf = NULL;
	mt->used = mt->cap = 0;
	mi->slots[s] = ++mi->nterms;
	if (mi->nterms * 2 > mi->nslots)
		GrowSlots(mi);
	return mt;
}

static inline void
PutVarByte(MemTerm * mt, uint32 v)
{
	while (v >= 0x80)
	{
		mt->buf[mt->used++] = (uint8) (v | 0x80);
		v >>= 7;
	}
	mt->buf[mt->used++] = (uint8) v;
}

static inline uint32
GetVarByte(const uint8 **p)
{
	uint32		v = 0;
	int			shift = 0;

	for (;;)
	{
		uint8		b = *(*p)++;

		v |= (uint32) (b & 0x7F) << shift;
		if (b < 0x80)
			return v;
		shift += 7;
	}
}

/* Add a document: its heap TID and its lexemes */
void
Bm25MemAddDoc(Bm25MemIndex * mi, ItemPointer tid, const Bm25Terms * dt)
{
	uint32		doc = mi->ndocs;

	if (doc == PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many documents for one bm25 segment")));
	if (doc == mi->docsCap)
	{
		mi->used += mi->docsCap * (sizeof(ItemPointerData) + sizeof(uint32) + sizeof(uint64));
		mi->docsCap *= 2;
		mi->tids = repalloc_huge(mi->tids, sizeof(ItemPointerData) * mi->docsCap);
		mi->lens = repalloc_huge(mi->lens, sizeof(uint32) * mi->docsCap);
		mi->hashes = repalloc_huge(mi->hashes, sizeof(uint64) * mi->docsCap);
	}
	mi->tids[doc] = *tid;
	mi->lens[doc] = dt->length;
	mi->hashes[doc] = dt->textHash;
	mi->ndocs++;

	for (int i = 0; i < dt->nterms; i++)
	{
		MemTerm    *mt = MemTermFor(mi, &dt->terms[i]);

		if (mt->cap - mt->used < 10)
		{
			uint32		cap = mt->cap == 0 ? 16 : mt->cap * 2;

			mt->buf = mt->buf == NULL ? MemoryContextAlloc(mi->ctx, cap) : repalloc_huge(mt->buf, cap);
			mi->used += cap - mt->cap;
			mt->cap = cap;
		}
		/* the first gap is doc + 1 (BM25_NO_DOC + 1 wraps to 0) */
		PutVarByte(mt, doc - mt->lastDoc);
		PutVarByte(mt, dt->terms[i].tf);
		mt->lastDoc = doc;
		mt->df++;
	}
}

/* Sorting helpers */
static Bm25MemIndex *sortIndex;

static int
CompareDocsByTid(const void *a, const void *b)
{
	return ItemPointerCompare(&sortIndex->tids[*(const uint32 *) a],
							  &sortIndex->tids[*(const uint32 *) b]);
}

static int
CompareTermsByLexeme(const void *a, const void *b)
{
	const MemTerm *x = &sortIndex->terms[*(const uint32 *) a];
	const MemTerm *y = &sortIndex->terms[*(const uint32 *) b];

	return Bm25CompareLexemes(x->lexeme, x->len, y->lexeme, y->len);
}

typedef struct DocTf
{
	uint32		doc;
	uint32		tf;
}			DocTf;

static int
CompareDocTf(const void *a, const void *b)
{
	const DocTf *x = a;
	const DocTf *y = b;

	return (x->doc > y->doc) - (x->doc < y->doc);
}

/*
 * Write the in-memory index as a segment.  Documents are renumbered in heap
 * TID order (a build scan may start mid-table, and HOT chains report their
 * root), so each posting list is remapped and, if needed, re-sorted.
 * Returns a segment with ndocs = 0 when there is nothing to write.
 */
Bm25SegmentRef
Bm25MemWrite(Bm25MemIndex * mi, Relation index, bool building)
{
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "bm25 segment write",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	uint32	   *order;
	uint32	   *newId;
	uint32	   *torder;
	uint32	   *docs = NULL;
	uint32	   *tfs = NULL;
	DocTf	   *pairs = NULL;
	uint32		cap = 0;
	Bm25SegWriter w;
	Bm25SegmentRef ref;

	memset(&ref, 0, sizeof(ref));
	if (mi->ndocs == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(ctx);
		return ref;
	}

	order = palloc_extended(sizeof(uint32) * mi->ndocs, MCXT_ALLOC_HUGE);
	newId = palloc_extended(sizeof(uint32) * mi->ndocs, MCXT_ALLOC_HUGE);
	for (uint32 d = 0; d < mi->ndocs; d++)
		order[d] = d;
	sortIndex = mi;
	qsort(order, mi->ndocs, sizeof(uint32), CompareDocsByTid);
	torder = palloc_extended(sizeof(uint32) * Max(mi->nterms, 1), MCXT_ALLOC_HUGE);
	for (uint32 t = 0; t < mi->nterms; t++)
		torder[t] = t;
	qsort(torder, mi->nterms, sizeof(uint32), CompareTermsByLexeme);
	sortIndex = NULL;

	Bm25SegWriterInit(&w, index, building);
	for (uint32 j = 0; j < mi->ndocs; j++)
	{
		newId[order[j]] = j;
		Bm25SegWriterAddDoc(&w, &mi->tids[order[j]], mi->lens[order[j]], mi->hashes[order[j]]);
	}

	for (uint32 j = 0; j < mi->nterms; j++)
	{
		MemTerm    *mt = &mi->terms[torder[j]];
		const uint8 *p = mt->buf;
		uint32		doc = BM25_NO_DOC;
		bool		sorted = true;

		if ((j & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (mt->df > cap)
		{
			cap = Max(mt->df, cap * 2);
			if (docs)
			{
				pfree(docs);
				pfree(tfs);
				pfree(pairs);
			}
			docs = palloc_extended(sizeof(uint32) * cap, MCXT_ALLOC_HUGE);
			tfs = palloc_extended(sizeof(uint32) * cap, MCXT_ALLOC_HUGE);
			pairs = palloc_extended(sizeof(DocTf) * cap, MCXT_ALLOC_HUGE);
		}
		for (uint32 i = 0; i < mt->df; i++)
		{
			doc += GetVarByte(&p);
			pairs[i].doc = newId[doc];
			pairs[i].tf = GetVarByte(&p);
			if (i > 0 && pairs[i].doc < pairs[i - 1].doc)
				sorted = false;
		}
		if (!sorted)
			qsort(pairs, mt->df, sizeof(DocTf), CompareDocTf);
		for (uint32 i = 0; i < mt->df; i++)
		{
			docs[i] = pairs[i].doc;
			tfs[i] = pairs[i].tf;
		}
		Bm25SegWriterAddTerm(&w, mt->lexeme, mt->len, docs, tfs, mt->df);
	}
	ref = Bm25SegWriterFinish(&w);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return ref;
}

/* ---------------------------------------------------------------------
 * CREATE INDEX
 * ---------------------------------------------------------------------
 */

typedef struct Bm25BuildState
{
	Relation	index;
	Oid			cfg;
	Bm25MemIndex *mem;
	MemoryContext rowCtx;
	double		indtuples;
	Size		budget;
	Bm25SegmentRef *segs;
	int			nsegs;
	int			segsCap;
	uint64		totalLen;
}			Bm25BuildState;

static void
FlushMem(Bm25BuildState * bs)
{
	Bm25SegmentRef ref;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_BM25_PHASE_WRITE);
	ref = Bm25MemWrite(bs->mem, bs->index, true);
	Bm25MemReset(bs->mem);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_BM25_PHASE_TOKENIZE);
	if (ref.ndocs == 0)
		return;
	if (bs->nsegs == bs->segsCap)
	{
		bs->segsCap *= 2;
		bs->segs = repalloc(bs->segs, sizeof(Bm25SegmentRef) * bs->segsCap);
	}
	bs->segs[bs->nsegs++] = ref;
}

static void
BuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *state)
{
	Bm25BuildState *bs = state;
	MemoryContext old;
	text	   *doc;
	Bm25Terms	dt;

	if (isnull[0])
		return;
	old = MemoryContextSwitchTo(bs->rowCtx);
	doc = DatumGetTextPP(values[0]);
	Bm25Tokenize(bs->cfg, VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc), &dt);
	MemoryContextSwitchTo(old);
	/* a document without a single lexeme is not indexed (like a NULL) */
	if (dt.length > 0)
	{
		Bm25MemAddDoc(bs->mem, tid, &dt);
		bs->totalLen += dt.length;
		bs->indtuples++;
		if (((uint64) bs->indtuples & 255) == 0)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
	}
	MemoryContextReset(bs->rowCtx);
	if (Bm25MemUsed(bs->mem) > bs->budget)
		FlushMem(bs);
}

/* Record that the index depends on its text search configuration */
static void
RecordConfigDependency(Relation index, Oid cfg)
{
	ObjectAddress myself;
	ObjectAddress referenced;

	ObjectAddressSet(myself, RelationRelationId, RelationGetRelid(index));
	ObjectAddressSet(referenced, TSConfigRelationId, cfg);
	/* REINDEX keeps the index's OID: do not record it twice */
	deleteDependencyRecordsForClass(RelationRelationId, RelationGetRelid(index),
									TSConfigRelationId, DEPENDENCY_NORMAL);
	recordDependencyOn(&myself, &referenced, DEPENDENCY_NORMAL);
}

/* Build the index */
IndexBuildResult *
bm25build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	Bm25BuildState bs;
	Buffer		metabuf;
	double		reltuples;
	Page		page;
	Bm25MetaPage meta;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	if (TupleDescAttr(RelationGetDescr(index), 0)->atttypid != TEXTOID &&
		TupleDescAttr(RelationGetDescr(index), 0)->atttypid != VARCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a bm25 index needs a text column or expression")));

	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	bs.cfg = Bm25ConfigFromOptions(index);
	RecordConfigDependency(index, bs.cfg);

	/* The metapage is block 0 */
	metabuf = Bm25NewBuffer(index, true);
	Assert(BufferGetBlockNumber(metabuf) == BM25_METAPAGE_BLKNO);
	Bm25InitMetaPage(BufferGetPage(metabuf), bs.cfg);
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	bs.mem = Bm25MemCreate();
	bs.rowCtx = AllocSetContextCreate(CurrentMemoryContext, "bm25 build row",
									  ALLOCSET_DEFAULT_SIZES);
	bs.budget = Max((Size) maintenance_work_mem * 1024L, 1024 * 1024);
	bs.segsCap = 8;
	bs.segs = palloc(sizeof(Bm25SegmentRef) * bs.segsCap);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_BM25_PHASE_TOKENIZE);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   BuildCallback, &bs, NULL);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs.indtuples);
	FlushMem(&bs);

	/* Merge the segments, at most 16 at a time */
	if (bs.nsegs > 1)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_BM25_PHASE_MERGE);
	while (bs.nsegs > 1)
	{
		int			take = Min(bs.nsegs, 16);
		uint64		rd,
					rl;
		Bm25SegmentRef merged;

		merged = Bm25MergeSegments(index, bs.segs, take, NULL, NULL, true, &rd, &rl);
		Bm25FreeSegments(index, bs.segs, take, true);
		memmove(bs.segs, bs.segs + take, sizeof(Bm25SegmentRef) * (bs.nsegs - take));
		bs.nsegs -= take;
		bs.segs[bs.nsegs++] = merged;
	}

	metabuf = ReadBuffer(index, BM25_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(metabuf);
	meta = Bm25PageGetMeta(page);
	meta->nsegments = bs.nsegs;
	if (bs.nsegs == 1)
		meta->segs[0] = bs.segs[0];
	meta->totalDocs = (uint64) bs.indtuples;
	meta->totalLen = bs.totalLen;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

	MemoryContextDelete(bs.rowCtx);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/* The init fork of an unlogged index: an empty metapage */
void
bm25buildempty(Relation index)
{
	Buffer		buf;

	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	Bm25InitMetaPage(BufferGetPage(buf), Bm25ConfigFromOptions(index));
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
}
