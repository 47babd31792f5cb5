/*-------------------------------------------------------------------------
 *
 * bm25utils.c
 *	  Shared bm25 helpers: pages, the metapage, owners, freeing pages,
 *	  per-index facts, scoring formulas
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "amcommon/ambuffer.h"
#include "bm25/bm25.h"

/* Initialise a page of the given type and owner */
void
Bm25InitPage(Page page, uint16 type, uint64 owner)
{
	Bm25PageOpaque op;

	PageInit(page, BLCKSZ, sizeof(Bm25PageOpaqueData));
	op = Bm25PageGetOpaque(page);
	op->owner = owner;
	op->nextOwner = 0;
	op->next = InvalidBlockNumber;
	op->type = type;
	op->page_id = BM25_PAGE_ID;
}

/* Is this a page of ours of the given type and owner? */
bool
Bm25PageIs(Page page, uint16 type, uint64 owner)
{
	Bm25PageOpaque op;

	if (PageIsNew(page) || ((PageHeader) page)->pd_special != BLCKSZ - MAXALIGN(sizeof(Bm25PageOpaqueData)))
		return false;
	op = Bm25PageGetOpaque(page);
	return op->page_id == BM25_PAGE_ID && op->type == type && op->owner == owner;
}

/* Initialise the metapage */
void
Bm25InitMetaPage(Page page, Oid textConfig)
{
	Bm25MetaPage meta;

	Bm25InitPage(page, BM25_PAGE_META, 0);
	meta = Bm25PageGetMeta(page);
	memset(meta, 0, sizeof(Bm25MetaPageData));
	meta->magic = BM25_MAGIC;
	meta->version = BM25_VERSION;
	meta->textConfig = textConfig;
	meta->nextOwner = 1;
	meta->active.head = meta->active.tail = InvalidBlockNumber;
	meta->sealed.head = meta->sealed.tail = InvalidBlockNumber;
	((PageHeader) page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + sizeof(Bm25MetaPageData);
}

/* Copy the metapage's contents (under a share lock) */
void
Bm25ReadMeta(Relation index, Bm25MetaPageData * meta)
{
	Buffer		buf = ReadBuffer(index, BM25_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (!Bm25PageIs(page, BM25_PAGE_META, 0) || Bm25PageGetMeta(page)->magic != BM25_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a bm25 index", RelationGetRelationName(index))));
	if (Bm25PageGetMeta(page)->version != BM25_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("bm25 index \"%s\" has version %u, this build reads version %u",
						RelationGetRelationName(index), Bm25PageGetMeta(page)->version, BM25_VERSION),
				 errhint("REINDEX the index.")));
	memcpy(meta, Bm25PageGetMeta(page), sizeof(Bm25MetaPageData));
	UnlockReleaseBuffer(buf);
}

/*
 * A new page, exclusively locked: a free page from the free space map
 * (checked: the map is not crash-safe, and two backends can be handed the
 * same page) or a new block at the end of the relation.
 */
Buffer
Bm25NewBuffer(Relation index, bool building)
{
	Buffer		buf;

	for (;;)
	{
		BlockNumber blkno = GetFreeIndexPage(index);

		if (blkno == InvalidBlockNumber)
			break;
		buf = ReadBuffer(index, blkno);
		if (ConditionalLockBuffer(buf))
		{
			Page		page = BufferGetPage(buf);

			if (PageIsNew(page) || Bm25PageIs(page, BM25_PAGE_FREE, 0))
				return buf;
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		}
		ReleaseBuffer(buf);
	}

	return AmExtendIndex(index, MAIN_FORKNUM);
}

/*
 * WAL-log a page written from scratch (a full image), unless CREATE INDEX
 * is building (the whole relation is logged at the end).  Called in a
 * critical section after MarkBufferDirty.
 */
void
Bm25LogPage(Relation index, Buffer buf, bool building)
{
	if (!building && RelationNeedsWAL(index))
		log_newpage_buffer(buf, true);
}

/*
 * Take n owner numbers from the metapage's counter (WAL-logged before any
 * page carries them, so that a number is never handed out twice, even
 * after a crash).
 */
uint64
Bm25TakeOwner(Relation index, int n, bool building)
{
	Buffer		buf = ReadBuffer(index, BM25_METAPAGE_BLKNO);
	GenericXLogState *state = NULL;
	Page		page;
	uint64		owner;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (building)
		page = BufferGetPage(buf);
	else
	{
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
	}
	owner = Bm25PageGetMeta(page)->nextOwner;
	Bm25PageGetMeta(page)->nextOwner += n;
	if (building)
		MarkBufferDirty(buf);
	else
		GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	return owner;
}

/*
 * Make a page a free page (no owner, no next page); its contents stay as
 * they are until the page is reused.  The caller WAL-logs the change.
 */
void
Bm25MarkPageFree(Page page)
{
	Bm25PageOpaque op;

	if (PageIsNew(page))
		Bm25InitPage(page, BM25_PAGE_FREE, 0);
	op = Bm25PageGetOpaque(page);
	op->type = BM25_PAGE_FREE;
	op->owner = 0;
	op->next = InvalidBlockNumber;
	op->nextOwner = 0;
}

/*
 * Mark pages free (WAL-logged, a few bytes each) and give them to the free
 * space map.  Callers make sure no reader on the primary can still use them
 * (BM25_READ_LOCK's grace period); standby readers notice the change of
 * owner.
 */
void
Bm25FreePages(Relation index, BlockNumber *blocks, int n, bool building)
{
	int			i = 0;
	BlockNumber lo = InvalidBlockNumber;
	BlockNumber hi = 0;

	while (i < n)
	{
		GenericXLogState *state = NULL;
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		int			nb = 0;

		CHECK_FOR_INTERRUPTS();
		if (!building)
			state = GenericXLogStart(index);
		while (i < n && nb < MAX_GENERIC_XLOG_PAGES)
		{
			Buffer		buf = ReadBuffer(index, blocks[i++]);
			Page		page;

			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			page = building ? BufferGetPage(buf) :
				GenericXLogRegisterBuffer(state, buf,
										  PageIsNew(BufferGetPage(buf)) ? GENERIC_XLOG_FULL_IMAGE : 0);
			Bm25MarkPageFree(page);
			if (building)
				MarkBufferDirty(buf);
			bufs[nb++] = buf;
		}
		if (!building)
			GenericXLogFinish(state);
		for (int j = 0; j < nb; j++)
		{
			BlockNumber blk = BufferGetBlockNumber(bufs[j]);

			RecordFreeIndexPage(index, blk);
			lo = Min(lo, blk);
			hi = Max(hi, blk);
			UnlockReleaseBuffer(bufs[j]);
		}
	}
	/* make them findable now: the map's upper levels are not updated above */
	if (n > 0)
		FreeSpaceMapVacuumRange(index, lo, hi + 1);
}

/* BM25's inverse document frequency, Lucene's variant (never negative) */
double
Bm25Idf(double ndocs, double df)
{
	return log(1.0 + (ndocs - df + 0.5) / (df + 0.5));
}

/* Score of a document from its per-query-term frequencies (terms in query order) */
double
Bm25ScoreDoc(const Bm25Stats * st, const uint32 *tfs, uint32 len)
{
	double		score = 0;

	for (int t = 0; t < st->nterms; t++)
	{
		if (tfs[t] > 0)
			score += Bm25TermScore(st, st->terms[t].weight, tfs[t], len);
	}
	return score;
}
