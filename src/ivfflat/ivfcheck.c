/*-------------------------------------------------------------------------
 *
 * ivfcheck.c
 *	  ivfflat_check(regclass): verify the structural invariants of an index
 *
 * Checked, with a share lock that keeps inserts and VACUUM out (on a
 * standby, where only recovery writes, an access share lock):
 *	 - the metapage is ours, with lists and dimensions in range;
 *	 - the list pages hold exactly `lists` list tuples, each with a centre
 *	   of the index's dimension (finite, for float types);
 *	 - each list's chain starts at its start page, visits only data pages,
 *	   with growing block numbers, and contains its insert page; no page
 *	   is in two chains;
 *	 - every data tuple holds a value of the index's dimension and a valid
 *	   heap TID, and sits in the list of its nearest centre (the rule of
 *	   build, insert and scan alike; a near-tie that another distance
 *	   kernel could break the other way is accepted);
 *	 - every other block is an all-zero page (an extension that a crash
 *	   cut off before its WAL record), never an initialised page that no
 *	   chain reaches.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "amcommon/indexcheck.h"
#include "ivfflat/ivfflat.h"

/* What a block turned out to be */
#define BLOCK_UNSEEN	0
#define BLOCK_META		1
#define BLOCK_LIST		2
#define BLOCK_DATA		3

typedef struct CheckState
{
	Relation	index;
	IvfflatIndexInfo info;
	BlockNumber nblocks;
	uint8	   *role;			/* per block */
	int			dim;
	Size		valsize;
	AmCheckReport report;		/* problems found */
}			CheckState;

/* Record one violated invariant (amcommon/indexcheck.c) */
#define Problem(cs, ...) AmCheckProblem(&(cs)->report, __VA_ARGS__)

/* Is a page one of ours with these flags? */
static bool
PageIs(Page page, uint16 flag)
{
	IvfflatPageOpaque opaque;

	if (PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(IvfflatPageOpaqueData)))
		return false;
	opaque = IvfflatPageGetOpaque(page);
	return opaque->page_id == IVFFLAT_PAGE_ID && (opaque->flags & flag) != 0;
}

/* Is a value of the right size, dimension and, for floats, finite? */
static bool
ValueOk(CheckState * cs, const void *value, float *row)
{
	if (VARSIZE(value) != cs->valsize || cs->info.ops->valueDim(value) != cs->dim)
		return false;
	if (!cs->info.ops->isBits)
	{
		cs->info.ops->toRow(value, (char *) row);
		for (int i = 0; i < cs->dim; i++)
		{
			if (!isfinite(row[i]))
				return false;
		}
	}
	return true;
}

/* The list tuples: centres and chain heads, in list order */
static IvfflatCenters *
CheckLists(CheckState * cs, IvfflatMetaPageData * meta, BlockNumber **starts, BlockNumber **inserts)
{
	IvfflatCenters *c = palloc0(sizeof(IvfflatCenters));
	BlockNumber blkno = IVFFLAT_HEAD_BLKNO;
	BlockNumber prev = IVFFLAT_METAPAGE_BLKNO;
	float	   *row = palloc(sizeof(float) * cs->dim + sizeof(uint64));
	int			n = 0;

	c->lists = meta->lists;
	c->dim = cs->dim;
	c->itemSize = MAXALIGN(cs->valsize);
	c->items = palloc_extended(c->itemSize * meta->lists, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	*starts = palloc(sizeof(BlockNumber) * meta->lists);
	*inserts = palloc(sizeof(BlockNumber) * meta->lists);

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		if (blkno <= prev || blkno >= cs->nblocks || cs->role[blkno] != BLOCK_UNSEEN)
		{
			Problem(cs, "The list pages lead from block %u to block %u.", prev, blkno);
			break;
		}
		buf = ReadBuffer(cs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		cs->role[blkno] = BLOCK_LIST;
		if (!PageIs(page, IVFFLAT_LIST_PAGE))
		{
			Problem(cs, "Block %u is not a list page.", blkno);
			UnlockReleaseBuffer(buf);
			break;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			IvfflatListTuple lt = (IvfflatListTuple) PageGetItem(page, iid);

			if (n >= (int) meta->lists)
			{
				Problem(cs, "Block %u holds more list tuples than the %u lists.", blkno, meta->lists);
				break;
			}
			if (ItemIdGetLength(iid) != IVFFLAT_LIST_TUPLE_SIZE(cs->valsize) ||
				!ValueOk(cs, lt->center, row))
			{
				Problem(cs, "The centre of list %d (block %u) is malformed.", n, blkno);
				n++;
				continue;
			}
			memcpy(IvfflatCenter(c, n), lt->center, cs->valsize);
			(*starts)[n] = lt->startPage;
			(*inserts)[n] = lt->insertPage;
			if (BlockNumberIsValid(lt->startPage) != BlockNumberIsValid(lt->insertPage))
				Problem(cs, "List %d has start page %u but insert page %u.", n,
						lt->startPage, lt->insertPage);
			n++;
		}
		prev = blkno;
		blkno = IvfflatPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
	if (n != (int) meta->lists)
		Problem(cs, "The list pages hold %d lists, the metapage says %u.", n, meta->lists);
	c->lists = Min(n, (int) meta->lists);
	return c;
}

/* One list's chain: pages, tuples and their lists */
static int64
CheckChain(CheckState * cs, IvfflatCenters * c, int list, BlockNumber start, BlockNumber insert)
{
	BlockNumber blkno = start;
	BlockNumber prev = InvalidBlockNumber;
	bool		sawInsert = !BlockNumberIsValid(insert);
	float	   *row = palloc(sizeof(float) * cs->dim + sizeof(uint64));
	int64		ntuples = 0;

	while (BlockNumberIsValid(blkno))
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		if (blkno >= cs->nblocks || (BlockNumberIsValid(prev) && blkno <= prev) ||
			cs->role[blkno] != BLOCK_UNSEEN)
		{
			Problem(cs, "The chain of list %d leads from block %u to block %u.", list, prev, blkno);
			break;
		}
		cs->role[blkno] = BLOCK_DATA;
		if (blkno == insert)
			sawInsert = true;

		buf = ReadBuffer(cs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIs(page, IVFFLAT_DATA_PAGE))
		{
			Problem(cs, "Block %u of list %d is not a data page.", blkno, list);
			UnlockReleaseBuffer(buf);
			break;
		}
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			IvfflatTuple tup = (IvfflatTuple) PageGetItem(page, iid);
			int			nearest;

			ntuples++;
			if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) != IVFFLAT_TUPLE_SIZE(cs->valsize) ||
				!ValueOk(cs, tup->value, row))
			{
				Problem(cs, "The tuple at (%u,%u) is malformed.", blkno, off);
				continue;
			}
			if (!ItemPointerIsValid(&tup->heaptid))
				Problem(cs, "The tuple at (%u,%u) has an invalid heap TID.", blkno, off);
			nearest = IvfflatNearestList(&cs->info, c, tup->value);
			if (nearest != list)
			{
				float		own = IvfflatDistance(&cs->info, cs->dim, tup->value, IvfflatCenter(c, list));
				float		best = IvfflatDistance(&cs->info, cs->dim, tup->value, IvfflatCenter(c, nearest));

				if (own - best > 1e-5 * Max(fabsf(own), fabsf(best)) + 1e-30)
					Problem(cs, "The tuple at (%u,%u) is in list %d, but list %d is nearer.",
							blkno, off, list, nearest);
			}
		}
		prev = blkno;
		blkno = IvfflatPageGetOpaque(page)->nextblkno;
		UnlockReleaseBuffer(buf);
	}
	if (!sawInsert)
		Problem(cs, "The insert page %u of list %d is not in its chain.", insert, list);
	pfree(row);
	return ntuples;
}

/* Blocks no chain reached must be all zeros */
static void
CheckStrays(CheckState * cs)
{
	for (BlockNumber blkno = 0; blkno < cs->nblocks; blkno++)
	{
		Buffer		buf;

		if (cs->role[blkno] != BLOCK_UNSEEN)
			continue;
		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(cs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		if (!PageIsNew(BufferGetPage(buf)))
			Problem(cs, "Block %u is in no list.", blkno);
		UnlockReleaseBuffer(buf);
	}
}

PG_FUNCTION_INFO_V1(ivfflat_check);
Datum
ivfflat_check(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index;
	IvfflatMetaPageData meta;
	IvfflatCenters *centers;
	BlockNumber *starts;
	BlockNumber *inserts;
	CheckState	cs;
	MemoryContext ctx;
	MemoryContext old;
	LOCKMODE	lockmode;

	index = AmCheckOpen(indexoid, ivfflatbuild, "an ivfflat index", &lockmode);

	ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat check", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(ctx);

	memset(&cs, 0, sizeof(cs));
	cs.index = index;
	IvfflatGetIndexInfo(index, &cs.info);
	meta = IvfflatReadMeta(index);
	cs.nblocks = RelationGetNumberOfBlocks(index);
	cs.role = palloc_extended(Max(cs.nblocks, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	cs.role[IVFFLAT_METAPAGE_BLKNO] = BLOCK_META;
	cs.dim = (int) meta.dimensions;

	if (meta.lists < IVFFLAT_MIN_LISTS || meta.lists > IVFFLAT_MAX_LISTS)
		Problem(&cs, "The metapage has %u lists.", meta.lists);
	else if (cs.dim < 1 || cs.dim > cs.info.ops->maxDim)
		Problem(&cs, "The metapage has %d dimensions.", cs.dim);
	else
	{
		cs.valsize = cs.info.ops->valueSize(cs.dim);
		centers = CheckLists(&cs, &meta, &starts, &inserts);
		if (cs.report.nproblems == 0)
		{
			for (int i = 0; i < centers->lists; i++)
				CheckChain(&cs, centers, i, starts[i], inserts[i]);
			CheckStrays(&cs);
		}
	}

	AmCheckRaise(index, "ivfflat", &cs.report);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	relation_close(index, lockmode);
	PG_RETURN_BOOL(true);
}
