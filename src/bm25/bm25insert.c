/*-------------------------------------------------------------------------
 *
 * bm25insert.c
 *	  Insert into a bm25 index: append to the pending list; turn a full
 *	  pending list into a segment (a spill); merge segments of one size
 *
 * An insert tokenises the row and appends one item per document to the
 * active pending list, under the metapage's buffer lock, in one WAL record
 * with the metapage (which counts the document into N and the total
 * length).  A document whose lexemes do not fit one page is written as
 * several items ("parts"), the last one flagged; readers ignore a
 * document whose last part is missing (a crash in between).
 *
 * When the active list passes bm25.pending_list_limit, the inserting
 * backend spills it, if no other backend is doing maintenance
 * (BM25_MAINT_LOCK): it seals the list (one metapage update: it becomes
 * the sealed list, an empty active list starts), builds a segment from it
 * without blocking inserts or queries (which read the sealed list
 * meanwhile), publishes the segment and empties the sealed list in one
 * metapage update, waits for readers that may still use the list's pages,
 * and frees them.  It then merges segments: whenever BM25_MERGE_FACTOR
 * segments fall in one size tier (powers of BM25_MERGE_FACTOR documents),
 * they are merged into one, so a query meets O(log N) segments.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "bm25/bm25.h"

/* ---------------------------------------------------------------------
 * Appending
 * ---------------------------------------------------------------------
 */

/* Serialise a document into items that each fit a page */
static int
BuildItems(ItemPointer tid, const Bm25Terms * dt, char ***items, Size **sizes)
{
	int			cap = 4;
	int			n = 0;
	int			t = 0;

	*items = palloc(sizeof(char *) * cap);
	*sizes = palloc(sizeof(Size) * cap);
	do
	{
		char	   *item = palloc0(BM25_PENDING_ITEM_MAX);
		Bm25PendingItemData *hdr = (Bm25PendingItemData *) item;
		Size		used = BM25_PENDING_ITEM_HDR;

		hdr->tid = *tid;
		hdr->doclen = dt->length;
		hdr->textHash = dt->textHash;
		hdr->nterms = 0;
		while (t < dt->nterms &&
			   used + BM25_PENDING_TERM_HDR + dt->terms[t].len <= BM25_PENDING_ITEM_MAX)
		{
			const Bm25Term *term = &dt->terms[t];

			memcpy(item + used, &term->len, 2);
			memcpy(item + used + 2, &term->tf, 4);
			memcpy(item + used + BM25_PENDING_TERM_HDR, term->lexeme, term->len);
			used += BM25_PENDING_TERM_HDR + term->len;
			hdr->nterms++;
			t++;
		}
		if (t == dt->nterms)
			hdr->flags |= BM25_PENDING_LAST;
		if (n == cap)
		{
			cap *= 2;
			*items = repalloc(*items, sizeof(char *) * cap);
			*sizes = repalloc(*sizes, sizeof(Size) * cap);
		}
		(*items)[n] = item;
		(*sizes)[n] = MAXALIGN(used);
		n++;
	} while (t < dt->nterms);
	return n;
}

/*
 * Append a tokenised document to the active pending list.  Returns the
 * list's size in bytes afterwards.
 */
static uint64
AppendPending(Relation index, ItemPointer tid, const Bm25Terms * dt)
{
	char	  **items;
	Size	   *sizes;
	int			nitems = BuildItems(tid, dt, &items, &sizes);
	Buffer		metabuf = ReadBuffer(index, BM25_METAPAGE_BLKNO);
	uint64		nbytes;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	for (int i = 0; i < nitems; i++)
	{
		GenericXLogState *state = GenericXLogStart(index);
		Page		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
		Bm25MetaPage meta = Bm25PageGetMeta(metapage);
		Bm25PendingList *list = &meta->active;
		Buffer		tailbuf = InvalidBuffer;
		Buffer		newbuf = InvalidBuffer;
		Page		tailpage = NULL;
		Page		target;

		if (list->tail != InvalidBlockNumber)
		{
			tailbuf = ReadBuffer(index, list->tail);
			LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
			tailpage = GenericXLogRegisterBuffer(state, tailbuf, 0);
			if (!Bm25PageIs(tailpage, BM25_PAGE_PENDING, list->tailOwner))
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("bm25 index \"%s\": pending list tail %u is not a pending page",
								RelationGetRelationName(index), list->tail)));
		}
		if (tailpage != NULL && PageGetFreeSpace(tailpage) >= sizes[i])
			target = tailpage;
		else
		{
			uint64		owner = meta->nextOwner++;

			newbuf = Bm25NewBuffer(index, false);
			target = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
			Bm25InitPage(target, BM25_PAGE_PENDING, owner);
			if (tailpage != NULL)
			{
				Bm25PageGetOpaque(tailpage)->next = BufferGetBlockNumber(newbuf);
				Bm25PageGetOpaque(tailpage)->nextOwner = owner;
			}
			else
			{
				list->head = BufferGetBlockNumber(newbuf);
				list->headOwner = owner;
			}
			list->tail = BufferGetBlockNumber(newbuf);
			list->tailOwner = owner;
			list->npages++;
		}
		if (PageAddItem(target, (Item) items[i], sizes[i], InvalidOffsetNumber, false, false) ==
			InvalidOffsetNumber)
			elog(ERROR, "bm25: could not add a pending item of %zu bytes", sizes[i]);
		list->tailItems = PageGetMaxOffsetNumber(target);
		list->nbytes += sizes[i];
		if (i == nitems - 1)
		{
			list->ndocs++;
			list->totalLen += dt->length;
			meta->totalDocs++;
			meta->totalLen += dt->length;
		}
		GenericXLogFinish(state);
		if (BufferIsValid(newbuf))
			UnlockReleaseBuffer(newbuf);
		if (BufferIsValid(tailbuf))
			UnlockReleaseBuffer(tailbuf);
	}
	nbytes = Bm25PageGetMeta(BufferGetPage(metabuf))->active.nbytes;
	UnlockReleaseBuffer(metabuf);
	for (int i = 0; i < nitems; i++)
		pfree(items[i]);
	pfree(items);
	pfree(sizes);
	return nbytes;
}

/* Insert a row */
bool
bm25insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		   IndexInfo *indexInfo)
{
	MemoryContext ctx;
	MemoryContext old;
	Bm25IndexInfo info;
	text	   *doc;
	Bm25Terms	dt;
	uint64		pending = 0;

	if (isnull[0])
		return false;
	ctx = AllocSetContextCreate(CurrentMemoryContext, "bm25 insert", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(ctx);
	Bm25GetIndexInfo(index, &info);
	doc = DatumGetTextPP(values[0]);
	Bm25Tokenize(info.textConfig, VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc), &dt);
	if (dt.length > 0)
		pending = AppendPending(index, heap_tid, &dt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);

	/*
	 * Spill when the list is full and nobody else is doing maintenance; if
	 * somebody is, the list grows a little longer until the next insert.
	 */
	if (pending >= (uint64) bm25_pending_limit * 1024 &&
		ConditionalLockPage(index, BM25_MAINT_LOCK, ExclusiveLock))
	{
		uint64		rd,
					rl;

		Bm25SpillPending(index, false, NULL, NULL, &rd, &rl);
		Bm25MergeTiers(index, false);
		UnlockPage(index, BM25_MAINT_LOCK, ExclusiveLock);
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Reading pending lists
 * ---------------------------------------------------------------------
 */

/*
 * Call visit for every complete document of a pending list, in list order.
 * Pages are copied, so visit runs without a lock.  Returns false when a
 * page is not the list's any more (a standby reader overtaken by recovery).
 */
bool
Bm25ReadPending(Relation index, const Bm25PendingList * list,
				Bm25PendingVisitor visit, void *arg)
{
	PGAlignedBlock copy;
	BlockNumber blk = list->head;
	uint64		owner = list->headOwner;
	Bm25PendingDoc doc;
	int			cap = 64;
	bool		inDoc = false;
	MemoryContext ctx;
	MemoryContext old;

	if (list->head == InvalidBlockNumber || list->npages == 0)
		return true;
	ctx = AllocSetContextCreate(CurrentMemoryContext, "bm25 pending doc", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(ctx);
	doc.terms.terms = palloc(sizeof(Bm25Term) * cap);
	doc.terms.nterms = 0;

	for (uint32 p = 0; p < list->npages; p++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;
		bool		isTail = (p == list->npages - 1);

		CHECK_FOR_INTERRUPTS();
		if (blk == InvalidBlockNumber)
			goto stale;
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!Bm25PageIs(page, BM25_PAGE_PENDING, owner))
		{
			UnlockReleaseBuffer(buf);
			goto stale;
		}
		memcpy(copy.data, page, BLCKSZ);
		UnlockReleaseBuffer(buf);
		if (isTail && (blk != list->tail || owner != list->tailOwner))
			goto stale;

		/* on the tail, only the items the snapshot counted */
		maxoff = isTail ? Min(list->tailItems, PageGetMaxOffsetNumber(copy.data))
			: PageGetMaxOffsetNumber(copy.data);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(copy.data, off);
			char	   *item = PageGetItem(copy.data, iid);
			Bm25PendingItemData *hdr = (Bm25PendingItemData *) item;
			Size		isize = ItemIdGetLength(iid);
			Size		pos = BM25_PENDING_ITEM_HDR;

			/* a part of another document: the previous one never finished */
			if (inDoc && !ItemPointerEquals(&doc.tid, &hdr->tid))
				doc.terms.nterms = 0;
			if (!inDoc || doc.terms.nterms == 0)
			{
				MemoryContextReset(ctx);
				cap = 64;
				doc.terms.terms = palloc(sizeof(Bm25Term) * cap);
				doc.terms.nterms = 0;
			}
			inDoc = true;
			doc.tid = hdr->tid;
			doc.terms.length = hdr->doclen;
			doc.terms.textHash = hdr->textHash;
			for (uint32 t = 0; t < hdr->nterms; t++)
			{
				Bm25Term   *term;
				uint16		len;

				if (pos + BM25_PENDING_TERM_HDR > isize)
					goto stale;
				memcpy(&len, item + pos, 2);
				if (len == 0 || len > BM25_MAX_TERM_LEN || pos + BM25_PENDING_TERM_HDR + len > isize)
					goto stale;
				if (doc.terms.nterms == cap)
				{
					cap *= 2;
					doc.terms.terms = repalloc(doc.terms.terms, sizeof(Bm25Term) * cap);
				}
				term = &doc.terms.terms[doc.terms.nterms++];
				term->len = len;
				memcpy(&term->tf, item + pos + 2, 4);
				term->lexeme = palloc(len);
				memcpy(term->lexeme, item + pos + BM25_PENDING_TERM_HDR, len);
				term->hash = hash_bytes((const unsigned char *) term->lexeme, len);
				pos += BM25_PENDING_TERM_HDR + len;
			}
			if (hdr->flags & BM25_PENDING_LAST)
			{
				MemoryContextSwitchTo(old);
				visit(&doc, arg);
				MemoryContextSwitchTo(ctx);
				inDoc = false;
				doc.terms.nterms = 0;
			}
		}
		blk = Bm25PageGetOpaque(copy.data)->next;
		owner = Bm25PageGetOpaque(copy.data)->nextOwner;
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return true;

stale:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return false;
}

/* The blocks of a pending list (under BM25_MAINT_LOCK: nothing frees them) */
static int
PendingBlocks(Relation index, const Bm25PendingList * list, BlockNumber **blocks)
{
	BlockNumber blk = list->head;
	uint64		owner = list->headOwner;
	int			n = 0;

	*blocks = palloc(sizeof(BlockNumber) * Max(list->npages, 1));
	for (uint32 p = 0; p < list->npages && blk != InvalidBlockNumber; p++)
	{
		Buffer		buf = ReadBuffer(index, blk);
		Page		page;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!Bm25PageIs(page, BM25_PAGE_PENDING, owner))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		(*blocks)[n++] = blk;
		blk = Bm25PageGetOpaque(page)->next;
		owner = Bm25PageGetOpaque(page)->nextOwner;
		UnlockReleaseBuffer(buf);
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Publishing and freeing
 * ---------------------------------------------------------------------
 */

/*
 * Replace segments in the metapage in one WAL record: remove the listed
 * ones, add one (unless it is empty), optionally empty the sealed list, and
 * take removed documents out of the statistics.
 */
void
Bm25Publish(Relation index, const Bm25SegmentRef * remove, int nremove,
			const Bm25SegmentRef * add, bool clearSealed,
			uint64 removedDocs, uint64 removedLen, bool building)
{
	Buffer		metabuf = ReadBuffer(index, BM25_METAPAGE_BLKNO);
	GenericXLogState *state = NULL;
	Page		page;
	Bm25MetaPage meta;
	uint32		n = 0;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	if (building)
		page = BufferGetPage(metabuf);
	else
	{
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, metabuf, 0);
	}
	meta = Bm25PageGetMeta(page);
	for (uint32 i = 0; i < meta->nsegments; i++)
	{
		bool		drop = false;

		for (int j = 0; j < nremove; j++)
			if (meta->segs[i].owner == remove[j].owner)
				drop = true;
		if (!drop)
			meta->segs[n++] = meta->segs[i];
	}
	if (add != NULL && add->ndocs > 0)
	{
		if (n >= BM25_MAX_SEGMENTS)
			elog(ERROR, "bm25: too many segments");
		meta->segs[n++] = *add;
	}
	for (uint32 i = n; i < meta->nsegments; i++)
		memset(&meta->segs[i], 0, sizeof(Bm25SegmentRef));
	meta->nsegments = n;
	if (clearSealed)
	{
		memset(&meta->sealed, 0, sizeof(Bm25PendingList));
		meta->sealed.head = meta->sealed.tail = InvalidBlockNumber;
	}
	meta->totalDocs -= Min(removedDocs, meta->totalDocs);
	meta->totalLen -= Min(removedLen, meta->totalLen);
	if (building)
		MarkBufferDirty(metabuf);
	else
		GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);
}

/*
 * Wait until no reader can still use pages that the metapage no longer
 * reaches: readers hold BM25_READ_LOCK while they use a snapshot, and any
 * reader that takes it after this point reads the new metapage.
 */
static void
GracePeriod(Relation index, bool building)
{
	if (building)
		return;
	LockPage(index, BM25_READ_LOCK, ExclusiveLock);
	UnlockPage(index, BM25_READ_LOCK, ExclusiveLock);
}

/* Free the pages of segments that are no longer published */
void
Bm25FreeSegments(Relation index, const Bm25SegmentRef * segs, int n, bool building)
{
	GracePeriod(index, building);
	for (int i = 0; i < n; i++)
	{
		BlockNumber *blocks;
		int			nb = Bm25SegmentBlocks(index, &segs[i], &blocks);

		if (nb < 0)
			elog(ERROR, "bm25: segment at block %u changed before it was freed", segs[i].head);
		Bm25FreePages(index, blocks, nb, building);
		pfree(blocks);
	}
}

/* ---------------------------------------------------------------------
 * Spilling
 * ---------------------------------------------------------------------
 */

typedef struct SpillState
{
	Bm25MemIndex *mem;
	Bm25DeadCallback dead;
	void	   *deadState;
	uint64		removedDocs;
	uint64		removedLen;
}			SpillState;

static void
SpillVisit(const Bm25PendingDoc * doc, void *arg)
{
	SpillState *ss = arg;
	ItemPointerData tid = doc->tid;

	if (ss->dead && ss->dead(&tid, ss->deadState))
	{
		ss->removedDocs++;
		ss->removedLen += doc->terms.length;
		return;
	}
	Bm25MemAddDoc(ss->mem, &tid, &doc->terms);
}

/* Make the active list the sealed one (an empty active list starts) */
static void
Seal(Relation index)
{
	Buffer		metabuf = ReadBuffer(index, BM25_METAPAGE_BLKNO);
	GenericXLogState *state;
	Bm25MetaPage meta;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	meta = Bm25PageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0));
	meta->sealed = meta->active;
	memset(&meta->active, 0, sizeof(Bm25PendingList));
	meta->active.head = meta->active.tail = InvalidBlockNumber;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);
}

/* Turn the sealed list into a segment, publish it, free the list's pages */
static void
SpillSealed(Relation index, Bm25DeadCallback dead, void *deadState,
			uint64 *removedDocs, uint64 *removedLen)
{
	Bm25MetaPageData meta;
	SpillState	ss;
	Bm25SegmentRef ref;
	BlockNumber *blocks;
	int			nb;

	Bm25ReadMeta(index, &meta);
	if (meta.sealed.head == InvalidBlockNumber)
		return;
	if (meta.nsegments >= BM25_MAX_SEGMENTS - 1)
		Bm25MergeTiers(index, false);

	memset(&ss, 0, sizeof(ss));
	ss.mem = Bm25MemCreate();
	ss.dead = dead;
	ss.deadState = deadState;
	if (!Bm25ReadPending(index, &meta.sealed, SpillVisit, &ss))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("bm25 index \"%s\": sealed pending list is broken",
						RelationGetRelationName(index)),
				 errhint("REINDEX the index.")));
	ref = Bm25MemWrite(ss.mem, index, false);
	nb = PendingBlocks(index, &meta.sealed, &blocks);
	Bm25Publish(index, NULL, 0, &ref, true, ss.removedDocs, ss.removedLen, false);
	GracePeriod(index, false);
	Bm25FreePages(index, blocks, nb, false);
	*removedDocs += ss.removedDocs;
	*removedLen += ss.removedLen;
}

/*
 * Spill pending documents into a segment.  The caller holds BM25_MAINT_LOCK.
 * A sealed list left by an earlier spill that did not finish (a crash) goes
 * first; then the active list, if it is over the limit or force is set.
 * With a callback (VACUUM), dead documents are dropped and counted.
 */
void
Bm25SpillPending(Relation index, bool force, Bm25DeadCallback dead, void *deadState,
				 uint64 *removedDocs, uint64 *removedLen)
{
	Bm25MetaPageData meta;

	*removedDocs = 0;
	*removedLen = 0;
	SpillSealed(index, dead, deadState, removedDocs, removedLen);
	Bm25ReadMeta(index, &meta);
	if (meta.active.head != InvalidBlockNumber &&
		(force || meta.active.nbytes >= (uint64) bm25_pending_limit * 1024))
	{
		Seal(index);
		SpillSealed(index, dead, deadState, removedDocs, removedLen);
	}
}

/* ---------------------------------------------------------------------
 * Merging
 * ---------------------------------------------------------------------
 */

/* Size tier of a segment: floor(log_MERGE_FACTOR(ndocs)) */
static int
Tier(uint32 ndocs)
{
	int			t = 0;

	while (ndocs >= BM25_MERGE_FACTOR)
	{
		ndocs /= BM25_MERGE_FACTOR;
		t++;
	}
	return t;
}

/*
 * Merge segments while some tier holds BM25_MERGE_FACTOR of them (or the
 * metapage is running out of room).  The caller holds BM25_MAINT_LOCK.
 */
void
Bm25MergeTiers(Relation index, bool building)
{
	for (;;)
	{
		Bm25MetaPageData meta;
		Bm25SegmentRef inputs[BM25_MAX_SEGMENTS];
		int			ninputs = 0;
		int			counts[33] = {0};
		int			tier = -1;
		uint64		rd,
					rl;
		Bm25SegmentRef merged;

		CHECK_FOR_INTERRUPTS();
		Bm25ReadMeta(index, &meta);
		for (uint32 i = 0; i < meta.nsegments; i++)
			counts[Tier(meta.segs[i].ndocs)]++;
		for (int t = 0; t < 33; t++)
			if (counts[t] >= BM25_MERGE_FACTOR)
			{
				tier = t;
				break;
			}
		if (tier >= 0)
		{
			for (uint32 i = 0; i < meta.nsegments; i++)
				if (Tier(meta.segs[i].ndocs) == tier)
					inputs[ninputs++] = meta.segs[i];
		}
		else if (meta.nsegments > BM25_MAX_SEGMENTS / 2)
		{
			/* many tiers of a few segments each: merge the smallest */
			bool		used[BM25_MAX_SEGMENTS] = {0};

			while (ninputs < BM25_MERGE_FACTOR)
			{
				int			best = -1;

				for (uint32 i = 0; i < meta.nsegments; i++)
					if (!used[i] && (best < 0 || meta.segs[i].ndocs < meta.segs[best].ndocs))
						best = i;
				used[best] = true;
				inputs[ninputs++] = meta.segs[best];
			}
		}
		else
			break;

		merged = Bm25MergeSegments(index, inputs, ninputs, NULL, NULL, building, &rd, &rl);
		Bm25Publish(index, inputs, ninputs, &merged, false, 0, 0, building);
		Bm25FreeSegments(index, inputs, ninputs, building);
	}
}
