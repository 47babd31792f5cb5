/*-------------------------------------------------------------------------
 *
 * bm25vacuum.c
 *	  VACUUM of a bm25 index: drop dead documents, take them out of the
 *	  statistics, reclaim their pages
 *
 * Under BM25_MAINT_LOCK (no spill or merge runs meanwhile; inserts and
 * queries go on):
 *	 1. the pending lists are spilled into a segment, without the dead
 *	    documents;
 *	 2. every segment that holds a dead document is rewritten without them
 *	    (a merge of one segment), published, and its old pages freed after
 *	    a grace period for readers;
 *	 3. N and the total length lose the removed documents in the same
 *	    metapage update that publishes the rewritten segment; document
 *	    frequencies are recomputed by the rewrite.
 * Until VACUUM has removed them, deleted (and updated-away) rows still
 * count in N, the total length and document frequencies, as deleted
 * documents do in Lucene until a merge: the index cannot see MVCC.
 *
 * The cleanup pass also spills the pending lists (so an insert-only table
 * ends up with segments after autovacuum) and frees pages that nothing
 * reaches: what a crash between writing and publishing (or publishing and
 * freeing) leaves behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "bm25/bm25.h"

typedef struct DeadState
{
	IndexBulkDeleteCallback callback;
	void	   *callbackState;
}			DeadState;

static bool
IsDead(ItemPointer tid, void *arg)
{
	DeadState  *ds = arg;

	return ds->callback(tid, ds->callbackState);
}

/* Does a segment hold a document the callback calls dead? */
static bool
SegmentHasDead(Relation index, const Bm25SegmentRef * ref, DeadState * ds)
{
	Bm25Segment seg;
	ItemPointerData *tids;
	bool		found = false;

	if (!Bm25SegmentOpen(index, ref, &seg))
		elog(ERROR, "bm25: segment at block %u is not what the metapage says", ref->head);
	tids = palloc_extended(sizeof(ItemPointerData) * Max(ref->ndocs, 1), MCXT_ALLOC_HUGE);
	if (!Bm25StreamRead(&seg.doctid, 0, tids, (uint64) BM25_TID_SIZE * ref->ndocs))
		elog(ERROR, "bm25: segment at block %u cannot be read", ref->head);
	for (uint32 d = 0; d < ref->ndocs && !found; d++)
	{
		if ((d & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		found = IsDead(&tids[d], ds);
	}
	pfree(tids);
	Bm25SegmentClose(&seg);
	return found;
}

IndexBulkDeleteResult *
bm25bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	DeadState	ds;
	uint64		removed = 0;
	uint64		rd,
				rl;
	Bm25MetaPageData meta;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	ds.callback = callback;
	ds.callbackState = callback_state;

	LockPage(index, BM25_MAINT_LOCK, ExclusiveLock);

	Bm25SpillPending(index, true, IsDead, &ds, &rd, &rl);
	removed += rd;

	Bm25ReadMeta(index, &meta);
	for (uint32 i = 0; i < meta.nsegments; i++)
	{
		Bm25SegmentRef rewritten;

		if (!SegmentHasDead(index, &meta.segs[i], &ds))
			continue;
		rewritten = Bm25MergeSegments(index, &meta.segs[i], 1, IsDead, &ds, false, &rd, &rl);
		Bm25Publish(index, &meta.segs[i], 1, &rewritten, false, rd, rl, false);
		Bm25FreeSegments(index, &meta.segs[i], 1, false);
		removed += rd;
	}
	Bm25MergeTiers(index, false);

	UnlockPage(index, BM25_MAINT_LOCK, ExclusiveLock);

	Bm25ReadMeta(index, &meta);
	stats->tuples_removed += removed;
	stats->num_index_tuples = meta.totalDocs;
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

/* What FreeUnreachable knows about the reachable pages */
typedef struct Reachable
{
	Bm25MetaPageData meta;
	uint64	   *pendingOwners;
	int			npending;
}			Reachable;

/* Is a page (locked) one that nothing reaches? */
static bool
Unreachable(Reachable * r, Page page)
{
	Bm25PageOpaque op;

	if (PageIsNew(page))
		return true;
	op = Bm25PageGetOpaque(page);
	if (op->page_id != BM25_PAGE_ID || op->type == BM25_PAGE_FREE || op->type == BM25_PAGE_META)
		return false;
	if (op->owner >= r->meta.nextOwner)
		return false;			/* newer than our look at the metapage */
	if (op->type == BM25_PAGE_PENDING)
	{
		for (int i = 0; i < r->npending; i++)
			if (r->pendingOwners[i] == op->owner)
				return false;
		return true;
	}
	for (uint32 i = 0; i < r->meta.nsegments; i++)
		if (r->meta.segs[i].owner == op->owner)
			return false;
	return true;
}

/*
 * Free pages that nothing reaches (under BM25_MAINT_LOCK).  A page is
 * reachable when it belongs to a published segment or to a pending list;
 * pages with an owner number taken after we read the metapage belong to
 * inserts running meanwhile.  Each page is checked again under an
 * exclusive lock just before it is freed.  Returns the number of free
 * pages.
 */
static BlockNumber
FreeUnreachable(Relation index)
{
	Reachable	r;
	BlockNumber nblocks;
	BlockNumber nfree = 0;

	Bm25ReadMeta(index, &r.meta);
	r.npending = 0;
	r.pendingOwners = palloc(sizeof(uint64) * (r.meta.active.npages + r.meta.sealed.npages + 1));
	for (int l = 0; l < 2; l++)
	{
		Bm25PendingList *list = l == 0 ? &r.meta.active : &r.meta.sealed;
		BlockNumber blk = list->head;
		uint64		owner = list->headOwner;

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
			r.pendingOwners[r.npending++] = owner;
			blk = Bm25PageGetOpaque(page)->next;
			owner = Bm25PageGetOpaque(page)->nextOwner;
			UnlockReleaseBuffer(buf);
		}
	}

	nblocks = RelationGetNumberOfBlocks(index);
	for (BlockNumber blk = BM25_METAPAGE_BLKNO + 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		bool		dead;

		if ((blk & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && Bm25PageIs(page, BM25_PAGE_FREE, 0))
		{
			/* the free space map is not crash-safe: tell it again */
			RecordFreeIndexPage(index, blk);
			nfree++;
		}
		dead = Unreachable(&r, page);
		UnlockReleaseBuffer(buf);
		if (dead)
		{
			GenericXLogState *state;

			buf = ReadBuffer(index, blk);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			if (Unreachable(&r, BufferGetPage(buf)))
			{
				state = GenericXLogStart(index);
				page = GenericXLogRegisterBuffer(state, buf,
												 PageIsNew(BufferGetPage(buf)) ? GENERIC_XLOG_FULL_IMAGE : 0);
				Bm25MarkPageFree(page);
				GenericXLogFinish(state);
				RecordFreeIndexPage(index, blk);
				nfree++;
			}
			UnlockReleaseBuffer(buf);
		}
	}
	pfree(r.pendingOwners);
	return nfree;
}

IndexBulkDeleteResult *
bm25vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	Bm25MetaPageData meta;
	BlockNumber nfree;

	if (info->analyze_only)
		return stats;

	LockPage(index, BM25_MAINT_LOCK, ExclusiveLock);
	if (stats == NULL)
	{
		uint64		rd,
					rl;

		/* no bulkdelete this time: still turn pending documents into a segment */
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		Bm25SpillPending(index, true, NULL, NULL, &rd, &rl);
		Bm25MergeTiers(index, false);
	}
	nfree = FreeUnreachable(index);
	UnlockPage(index, BM25_MAINT_LOCK, ExclusiveLock);

	IndexFreeSpaceMapVacuum(index);
	Bm25ReadMeta(index, &meta);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->pages_free = nfree;
	stats->num_index_tuples = meta.totalDocs;
	stats->estimated_count = false;
	return stats;
}
