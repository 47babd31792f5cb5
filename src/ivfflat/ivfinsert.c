/*-------------------------------------------------------------------------
 *
 * ivfinsert.c
 *	  Insert a row into an ivfflat index
 *
 * The row goes to the list of its nearest centre (IvfflatNearestList's
 * rule, so a query equal to the row probes that list first).  Within the
 * list it goes to the first page with room, starting at the list's insert
 * page and following the chain; at the end of the chain a new page is
 * added and linked while the old last page is still locked, so two
 * inserters never both extend a list.  The insert page is a hint kept in
 * the list tuple: an inserter that had to move past it moves it along,
 * unless VACUUM (which moves it back to the first page it freed space on)
 * or another inserter changed it meanwhile.  Every page change is one
 * generic WAL record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ivfflat/ivfflat.h"

/* The list a value belongs to, read from the list pages */
typedef struct ListChoice
{
	IvfflatIndexInfo *info;
	int			dim;
	const void *value;
	float		bestDist;
	IvfflatListLoc loc;
	BlockNumber insertPage;
}			ListChoice;

/* As IvfflatNearestList: the first list, until one is strictly nearer */
static void
ConsiderList(void *arg, int list, BlockNumber blkno, OffsetNumber offno, IvfflatListTuple lt)
{
	ListChoice *c = arg;
	float		d = IvfflatDistance(c->info, c->dim, c->value, lt->center);

	if (list == 0)
		c->bestDist = INFINITY;
	if (list == 0 || d < c->bestDist)
	{
		if (d < c->bestDist)
			c->bestDist = d;
		c->loc.blkno = blkno;
		c->loc.offno = offno;
		c->insertPage = lt->insertPage;
	}
}

/* Find the nearest list of a prepared value */
static ListChoice
ChooseList(Relation index, IvfflatIndexInfo * info, IvfflatMetaPageData * meta, const void *value)
{
	ListChoice	c;

	c.info = info;
	c.dim = (int) meta->dimensions;
	c.value = value;
	c.bestDist = INFINITY;
	IvfflatWalkLists(index, meta->lists, ConsiderList, &c);
	return c;
}

/* Add a tuple to a page through a WAL record of its own */
static void
AddToPage(Relation index, Buffer buf, IvfflatTuple tup, Size size)
{
	GenericXLogState *state = GenericXLogStart(index);
	Page		page = GenericXLogRegisterBuffer(state, buf, 0);

	if (PageAddItem(page, (Item) tup, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
		elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
	GenericXLogFinish(state);
}

/*
 * Give an empty list its first page, holding the tuple.  Returns false
 * (and does nothing) if another backend gave it one first; *insertPage is
 * then that backend's page.
 */
static bool
StartList(Relation index, IvfflatListLoc loc, IvfflatTuple tup, Size size, BlockNumber *insertPage)
{
	Buffer		listbuf = ReadBuffer(index, loc.blkno);
	Buffer		newbuf;
	GenericXLogState *state;
	Page		listpage;
	Page		newpage;
	IvfflatListTuple lt;
	BlockNumber newblkno;

	LockBuffer(listbuf, BUFFER_LOCK_EXCLUSIVE);
	listpage = BufferGetPage(listbuf);
	lt = (IvfflatListTuple) PageGetItem(listpage, PageGetItemId(listpage, loc.offno));
	if (BlockNumberIsValid(lt->insertPage))
	{
		*insertPage = lt->insertPage;
		UnlockReleaseBuffer(listbuf);
		return false;
	}

	newbuf = AmExtendIndex(index, MAIN_FORKNUM);
	newblkno = BufferGetBlockNumber(newbuf);
	state = GenericXLogStart(index);
	listpage = GenericXLogRegisterBuffer(state, listbuf, 0);
	newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
	IvfflatInitPage(newpage, IVFFLAT_DATA_PAGE);
	if (PageAddItem(newpage, (Item) tup, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
		elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
	lt = (IvfflatListTuple) PageGetItem(listpage, PageGetItemId(listpage, loc.offno));
	lt->startPage = newblkno;
	lt->insertPage = newblkno;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(newbuf);
	UnlockReleaseBuffer(listbuf);
	return true;
}

/* Move a list's insert page from orig to blkno, unless it changed meanwhile */
static void
AdvanceInsertPage(Relation index, IvfflatListLoc loc, BlockNumber orig, BlockNumber blkno)
{
	Buffer		buf = ReadBuffer(index, loc.blkno);
	Page		page;
	IvfflatListTuple lt;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	lt = (IvfflatListTuple) PageGetItem(page, PageGetItemId(page, loc.offno));
	if (lt->insertPage == orig)
	{
		GenericXLogState *state = GenericXLogStart(index);

		page = GenericXLogRegisterBuffer(state, buf, 0);
		lt = (IvfflatListTuple) PageGetItem(page, PageGetItemId(page, loc.offno));
		lt->insertPage = blkno;
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/* Put a tuple into a list: the first page with room from the insert page on */
static void
InsertIntoList(Relation index, ListChoice choice, IvfflatTuple tup, Size size)
{
	BlockNumber orig = choice.insertPage;
	BlockNumber blkno;

	if (!BlockNumberIsValid(orig) &&
		StartList(index, choice.loc, tup, size, &orig))
		return;

	blkno = orig;
	for (;;)
	{
		Buffer		buf = IvfflatReadBuffer(index, blkno);
		Page		page;
		BlockNumber next;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (PageGetFreeSpace(page) >= size)
		{
			AddToPage(index, buf, tup, size);
			UnlockReleaseBuffer(buf);
			break;
		}
		next = IvfflatPageGetOpaque(page)->nextblkno;
		if (BlockNumberIsValid(next))
		{
			UnlockReleaseBuffer(buf);
			blkno = next;
			continue;
		}

		/* The end of the chain: link a new page while this one is locked */
		{
			Buffer		newbuf = AmExtendIndex(index, MAIN_FORKNUM);
			GenericXLogState *state = GenericXLogStart(index);
			Page		newpage;

			page = GenericXLogRegisterBuffer(state, buf, 0);
			newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
			IvfflatInitPage(newpage, IVFFLAT_DATA_PAGE);
			if (PageAddItem(newpage, (Item) tup, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
				elog(ERROR, "failed to add index item to \"%s\"", RelationGetRelationName(index));
			IvfflatPageGetOpaque(page)->nextblkno = BufferGetBlockNumber(newbuf);
			GenericXLogFinish(state);
			blkno = BufferGetBlockNumber(newbuf);
			UnlockReleaseBuffer(newbuf);
			UnlockReleaseBuffer(buf);
			break;
		}
	}

	if (blkno != orig)
		AdvanceInsertPage(index, choice.loc, orig, blkno);
}

/* Index one row */
bool
ivfflatinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			  Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
			  IndexInfo *indexInfo)
{
	IvfflatIndexInfo info;
	IvfflatMetaPageData meta;
	MemoryContext ctx;
	MemoryContext oldCtx;
	void	   *value;

	if (isnull[0])
		return false;

	ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat insert temporary context",
								ALLOCSET_DEFAULT_SIZES);
	oldCtx = MemoryContextSwitchTo(ctx);

	IvfflatGetIndexInfo(index, &info);
	value = IvfflatPrepareValue(&info, values[0], false);
	if (value != NULL)
	{
		int			dim = info.ops->valueDim(value);
		Size		valsize;
		Size		size;
		IvfflatTuple tup;

		meta = IvfflatReadMeta(index);
		if (dim != (int) meta.dimensions)
			info.ops->dimMismatch((int) meta.dimensions, dim);
		valsize = VARSIZE(value);
		size = IVFFLAT_TUPLE_SIZE(valsize);
		tup = palloc0(size);
		tup->heaptid = *heap_tid;
		memcpy(tup->value, value, valsize);

		InsertIntoList(index, ChooseList(index, &info, &meta, value), tup, size);
	}

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(ctx);
	return false;
}
