/*-------------------------------------------------------------------------
 *
 * ivfvacuum.c
 *	  VACUUM for ivfflat: remove the index tuples of dead rows
 *
 * Every list's chain is walked page by page under an exclusive lock; the
 * tuples whose heap rows are dead are removed (one generic WAL record per
 * page), which compacts the page.  The list's insert page then moves back
 * to the first page that gained room, so inserts fill the freed space
 * before the list grows: an index under a steady delete/insert load keeps
 * its size.  Centres never change; REINDEX recomputes them.
 *
 * Scans copy what they read and hold no pins between rows (see
 * ivfscan.c), so VACUUM needs no cleanup locks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "ivfflat/ivfflat.h"

/* A list as VACUUM sees it */
typedef struct VacuumList
{
	IvfflatListLoc loc;
	BlockNumber startPage;
}			VacuumList;

static void
RecordList(void *arg, int list, BlockNumber blkno, OffsetNumber offno, IvfflatListTuple lt)
{
	VacuumList *lists = arg;

	lists[list].loc.blkno = blkno;
	lists[list].loc.offno = offno;
	lists[list].startPage = lt->startPage;
}

/* Where every list tuple is and where its chain starts */
static VacuumList *
ReadLists(Relation index, int *nlists)
{
	IvfflatMetaPageData meta = IvfflatReadMeta(index);
	VacuumList *lists = palloc(sizeof(VacuumList) * meta.lists);

	IvfflatWalkLists(index, meta.lists, RecordList, lists);
	*nlists = (int) meta.lists;
	return lists;
}

/* Point a list's inserts at blkno if that is earlier in its chain */
static void
RewindInsertPage(Relation index, IvfflatListLoc loc, BlockNumber blkno)
{
	Buffer		buf = ReadBuffer(index, loc.blkno);
	Page		page;
	IvfflatListTuple lt;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	lt = (IvfflatListTuple) PageGetItem(page, PageGetItemId(page, loc.offno));

	/* Block numbers grow along a chain (it only ever gains new blocks) */
	if (!BlockNumberIsValid(lt->insertPage) || blkno < lt->insertPage)
	{
		GenericXLogState *state = GenericXLogStart(index);

		page = GenericXLogRegisterBuffer(state, buf, 0);
		lt = (IvfflatListTuple) PageGetItem(page, PageGetItemId(page, loc.offno));
		lt->insertPage = blkno;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/* Remove the index tuples of the rows callback says are dead */
IndexBulkDeleteResult *
ivfflatbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	BufferAccessStrategy bas = info->strategy;
	VacuumList *lists;
	int			nlists;
	OffsetNumber deletable[MaxOffsetNumber];

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	/* Counted afresh by each pass */
	stats->num_index_tuples = 0;

	lists = ReadLists(index, &nlists);
	for (int i = 0; i < nlists; i++)
	{
		BlockNumber blkno = lists[i].startPage;
		BlockNumber firstFreed = InvalidBlockNumber;

		while (BlockNumberIsValid(blkno))
		{
			Buffer		buf;
			Page		page;
			OffsetNumber maxoff;
			int			ndeletable = 0;
			BlockNumber next;

			vacuum_delay_point();

			buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, bas);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			page = BufferGetPage(buf);
			maxoff = PageGetMaxOffsetNumber(page);
			for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
			{
				IvfflatTuple tup = (IvfflatTuple) PageGetItem(page, PageGetItemId(page, off));

				if (callback(&tup->heaptid, callback_state))
					deletable[ndeletable++] = off;
				else
					stats->num_index_tuples++;
			}
			if (ndeletable > 0)
			{
				GenericXLogState *state = GenericXLogStart(index);

				page = GenericXLogRegisterBuffer(state, buf, 0);
				PageIndexMultiDelete(page, deletable, ndeletable);
				GenericXLogFinish(state);
				stats->tuples_removed += ndeletable;
				if (!BlockNumberIsValid(firstFreed))
					firstFreed = blkno;
			}
			next = IvfflatPageGetOpaque(BufferGetPage(buf))->nextblkno;
			UnlockReleaseBuffer(buf);
			blkno = next;
		}

		if (BlockNumberIsValid(firstFreed))
			RewindInsertPage(index, lists[i].loc, firstFreed);
	}

	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	pfree(lists);
	return stats;
}

/* After VACUUM: report the index's size */
IndexBulkDeleteResult *
ivfflatvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;

	/* No bulk delete ran: the heap's count stands in for the tuple count */
	if (stats == NULL)
	{
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_index_tuples = info->num_heap_tuples;
		stats->estimated_count = info->estimated_count;
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
