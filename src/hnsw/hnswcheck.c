/*-------------------------------------------------------------------------
 *
 * hnswcheck.c
 *	  hnsw_check(regclass): verify the structural invariants of an index
 *
 * Checked, with a share lock that keeps inserts and VACUUM out (on a
 * standby, where only recovery writes, an access share lock):
 *	 - the metapage is ours; every item on a data page is an element tuple
 *	   of the index's dimensions or a neighbour tuple; every element names
 *	   a neighbour tuple of its level and the index's m that no other
 *	   element names, and a live one has 1..HNSW_HEAPTIDS heap TIDs;
 *	 - every link of a live element points at an existing element that is
 *	   live or a tombstone (not itself, not twice in one list) whose level
 *	   is at least the link's level, and never at a freed slot, which an
 *	   insert may reuse at any moment;
 *	 - the entry point is an element of the highest live level that is not
 *	   free, and is unset only when there is no live element.
 * Links to tombstones, and a tombstone entry point, are what a VACUUM
 * leaves between marking rows deleted and repairing the lists (also when
 * it was cancelled or crashed in between); scans step over tombstones, and
 * the next VACUUM finishes the repair.  Live elements that no path from the
 * entry point reaches (through live elements and tombstones, as a scan
 * goes) are reported in a NOTICE: HNSW does not promise full reachability.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "amcommon/indexcheck.h"
#include "hnsw/hnsw.h"

typedef struct CheckState
{
	Relation	index;
	HnswIndexInfo info;
	HnswKeySet	map;			/* TID -> element number */
	HnswKeySet	ntups;			/* neighbour tuple TID -> elements naming it */
	ItemPointerData *tids;
	ItemPointerData *ntids;		/* each element's neighbour tuple */
	uint8	   *levels;
	uint8	   *state;			/* HNSW_ELEMENT_LIVE, _DELETED or _FREE */
	int			n;
	int			cap;
	AmCheckReport report;		/* problems found */
}			CheckState;

/* Record one violated invariant (amcommon/indexcheck.c) */
#define Problem(cs, ...) AmCheckProblem(&(cs)->report, __VA_ARGS__)

/* Pass 1: catalogue every element and neighbour tuple */
static void
CollectElements(CheckState * cs, HnswMetaPageData * meta, BlockNumber nblocks)
{
	for (BlockNumber blk = 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBuffer(cs->index, blk);
		Page		page;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			/*
			 * All zeros (ReadBuffer verified that): a relation extension
			 * whose WAL record was lost in a crash.  Nothing can point into
			 * it, as the element and the links to it are logged together;
			 * dangling links would show up in pass 2.  Core AMs treat such
			 * pages as free, and so does hnsw.
			 */
		}
		else if (HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID)
			Problem(cs, "Block %u is not an hnsw data page.", blk);
		else
		{
			for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
			{
				uint8		kind = HnswItemKind(page, off);
				HnswElementTuple etup;
				int			dim;

				if (kind == HNSW_NEIGHBOR_TUPLE)
				{
					ItemPointerData tid;

					(void) HnswGetNeighborTuple(cs->index, page, off);
					ItemPointerSet(&tid, blk, off);
					HnswKeyMapPut(&cs->ntups, HnswTidKey(&tid), 0);
					continue;
				}
				if (kind != HNSW_ELEMENT_TUPLE)
				{
					Problem(cs, "Item (%u,%u) is of kind %u.", blk, off, kind);
					continue;
				}
				etup = HnswGetElementTuple(cs->index, page, off);
				dim = cs->info.type->dimensions(etup->value);
				if (dim != (int) meta->dimensions)
				{
					Problem(cs, "Element (%u,%u) has %d dimensions; the index has %u.",
							blk, off, dim, meta->dimensions);
					continue;
				}
				if (etup->state == HNSW_ELEMENT_LIVE && etup->nheaptids == 0)
					Problem(cs, "Live element (%u,%u) has no heap TID.", blk, off);
				if (cs->n == cs->cap)
				{
					cs->cap *= 2;
					cs->tids = repalloc_huge(cs->tids, sizeof(ItemPointerData) * cs->cap);
					cs->ntids = repalloc_huge(cs->ntids, sizeof(ItemPointerData) * cs->cap);
					cs->levels = repalloc_huge(cs->levels, cs->cap);
					cs->state = repalloc_huge(cs->state, cs->cap);
				}
				ItemPointerSet(&cs->tids[cs->n], blk, off);
				cs->ntids[cs->n] = etup->neighbortid;
				cs->levels[cs->n] = etup->level;
				cs->state[cs->n] = etup->state;
				HnswKeyMapPut(&cs->map, HnswTidKey(&cs->tids[cs->n]), cs->n);
				cs->n++;
			}
		}
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Pass 2: every element's neighbour tuple; every link of every live
 * element; the level-0 adjacency for the reachability count
 */
static void
CheckLinks(CheckState * cs, HnswMetaPageData * meta, int32 **adj, int *nadj)
{
	for (int me = 0; me < cs->n; me++)
	{
		ItemPointer etid = &cs->tids[me];
		ItemPointer ntid = &cs->ntids[me];
		BlockNumber blk = ItemPointerGetBlockNumber(etid);
		OffsetNumber off = ItemPointerGetOffsetNumber(etid);
		int32	   *owners;
		Buffer		buf;
		HnswNeighborTuple ntup;

		CHECK_FOR_INTERRUPTS();
		if (!ItemPointerIsValid(ntid) || HnswKeyMapGet(&cs->ntups, HnswTidKey(ntid)) < 0)
		{
			Problem(cs, "Element (%u,%u) names (%u,%u), which is no neighbor tuple.",
					blk, off, ItemPointerGetBlockNumberNoCheck(ntid), ItemPointerGetOffsetNumberNoCheck(ntid));
			continue;
		}
		owners = HnswKeyMapRef(&cs->ntups, HnswTidKey(ntid));
		if (++(*owners) > 1)
			Problem(cs, "Element (%u,%u) names neighbor tuple (%u,%u), as another element does.",
					blk, off, ItemPointerGetBlockNumber(ntid), ItemPointerGetOffsetNumber(ntid));
		buf = ReadBuffer(cs->index, ItemPointerGetBlockNumber(ntid));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		ntup = HnswGetNeighborTuple(cs->index, BufferGetPage(buf), ItemPointerGetOffsetNumber(ntid));
		if (ntup->level != cs->levels[me] || ntup->nslots != HnswTotalSlots(meta->m, ntup->level))
		{
			Problem(cs, "Element (%u,%u) of level %d has a neighbor tuple of level %d with %d slots.",
					blk, off, cs->levels[me], ntup->level, ntup->nslots);
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (cs->state[me] == HNSW_ELEMENT_FREE)
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		for (int l = 0; l <= ntup->level; l++)
		{
			ItemPointer list = ntup->tids + HnswLevelStart(meta->m, l);
			int			nslots = HnswLevelSlots(meta->m, l);

			for (int i = 0; i < nslots; i++)
			{
				int32		t;

				if (!ItemPointerIsValid(&list[i]))
					continue;
				t = HnswKeyMapGet(&cs->map, HnswTidKey(&list[i]));
				if (t < 0)
					Problem(cs, "Element (%u,%u) level %d links to (%u,%u), which is no element.",
							blk, off, l, ItemPointerGetBlockNumberNoCheck(&list[i]),
							ItemPointerGetOffsetNumberNoCheck(&list[i]));
				else if (t == me)
					Problem(cs, "Element (%u,%u) level %d links to itself.", blk, off, l);
				else if (cs->state[me] != HNSW_ELEMENT_LIVE)
				{
					/*
					 * A tombstone's list is only a way through for scans:
					 * it can name an element freed (even reused) by a
					 * VACUUM that crashed before it freed the tombstone
					 */
				}
				else if (cs->state[t] == HNSW_ELEMENT_FREE)
					Problem(cs, "Element (%u,%u) level %d links to freed element (%u,%u).",
							blk, off, l, ItemPointerGetBlockNumber(&list[i]),
							ItemPointerGetOffsetNumber(&list[i]));
				else if (cs->levels[t] < l)
					Problem(cs, "Element (%u,%u) level %d links to (%u,%u) of level %d.",
							blk, off, l, ItemPointerGetBlockNumber(&list[i]),
							ItemPointerGetOffsetNumber(&list[i]), cs->levels[t]);
				for (int j = 0; j < i; j++)
					if (HnswTidKey(&list[j]) == HnswTidKey(&list[i]))
						Problem(cs, "Element (%u,%u) level %d lists (%u,%u) twice.",
								blk, off, l, ItemPointerGetBlockNumber(&list[i]),
								ItemPointerGetOffsetNumber(&list[i]));
				if (t >= 0 && cs->state[t] != HNSW_ELEMENT_FREE)
				{
					if (nadj[me] % 16 == 0)
						adj[me] = adj[me] ? repalloc(adj[me], sizeof(int32) * (nadj[me] + 16))
							: palloc(sizeof(int32) * 16);
					adj[me][nadj[me]++] = t;
				}
			}
		}
		UnlockReleaseBuffer(buf);
	}
}

/* Count live elements that no path from the entry point reaches */
static int
CountUnreachable(CheckState * cs, int32 entry, int32 **adj, int *nadj)
{
	bool	   *seen = palloc0(sizeof(bool) * Max(cs->n, 1));
	int32	   *stack = palloc(sizeof(int32) * Max(cs->n, 1));
	int			top = 0;
	int			unreachable = 0;

	seen[entry] = true;
	stack[top++] = entry;
	while (top > 0)
	{
		int32		e = stack[--top];

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < nadj[e]; i++)
		{
			if (!seen[adj[e][i]])
			{
				seen[adj[e][i]] = true;
				stack[top++] = adj[e][i];
			}
		}
	}
	for (int i = 0; i < cs->n; i++)
		if (cs->state[i] == HNSW_ELEMENT_LIVE && !seen[i])
			unreachable++;
	return unreachable;
}

/* Verify an hnsw index; raise an error describing what is wrong, else true */
PG_FUNCTION_INFO_V1(hnsw_check);
Datum
hnsw_check(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index;
	HnswMetaPageData meta;
	BlockNumber nblocks;
	CheckState	cs;
	int32	  **adj;
	int		   *nadj;
	int			maxLive = -1;
	int			nlive = 0;
	MemoryContext ctx;
	MemoryContext old;
	LOCKMODE	lockmode;

	index = AmCheckOpen(indexoid, hnswbuild, "an hnsw index", &lockmode);

	ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw check", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(ctx);

	meta = HnswReadMeta(index);
	nblocks = RelationGetNumberOfBlocks(index);
	memset(&cs, 0, sizeof(cs));
	cs.index = index;
	cs.cap = 1024;
	cs.tids = palloc(sizeof(ItemPointerData) * cs.cap);
	cs.ntids = palloc(sizeof(ItemPointerData) * cs.cap);
	cs.levels = palloc(cs.cap);
	cs.state = palloc(cs.cap);
	HnswKeySetInit(&cs.map, 1024);
	HnswKeySetInit(&cs.ntups, 1024);
	HnswGetIndexInfo(index, &cs.info);

	if (meta.m < HNSW_MIN_M || meta.m > HNSW_MAX_M)
		Problem(&cs, "The metapage has m = %u.", meta.m);
	if (meta.insertPage >= Max(nblocks, 1))
		Problem(&cs, "The insert page %u is beyond the last block %u.", meta.insertPage, nblocks - 1);

	CollectElements(&cs, &meta, nblocks);
	adj = palloc0(sizeof(int32 *) * Max(cs.n, 1));
	nadj = palloc0(sizeof(int) * Max(cs.n, 1));
	CheckLinks(&cs, &meta, adj, nadj);
	for (uint32 i = 0; i <= cs.ntups.mask; i++)
		if (cs.ntups.ents[i].key != 0 && cs.ntups.ents[i].val == 0)
		{
			ItemPointerData tid;

			HnswKeyTid(cs.ntups.ents[i].key - 1, &tid);
			Problem(&cs, "Neighbor tuple (%u,%u) belongs to no element.",
					ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid));
		}

	for (int i = 0; i < cs.n; i++)
	{
		if (cs.state[i] == HNSW_ELEMENT_LIVE)
		{
			nlive++;
			maxLive = Max(maxLive, cs.levels[i]);
		}
	}

	if (meta.entryBlkno == InvalidBlockNumber)
	{
		if (nlive > 0)
			Problem(&cs, "The entry point is unset but there are %d live elements.", nlive);
	}
	else
	{
		ItemPointerData ep;
		int32		e;

		ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
		e = HnswKeyMapGet(&cs.map, HnswTidKey(&ep));
		if (e < 0)
			Problem(&cs, "The entry point (%u,%u) is no element.", meta.entryBlkno, meta.entryOffno);
		else if (cs.state[e] == HNSW_ELEMENT_FREE && nlive > 0)
			Problem(&cs, "The entry point (%u,%u) is a freed slot.", meta.entryBlkno, meta.entryOffno);
		else if (cs.levels[e] != meta.entryLevel)
			Problem(&cs, "The entry point has level %d but the metapage says %d.",
					cs.levels[e], meta.entryLevel);
		else if (nlive > 0 && meta.entryLevel < maxLive)
			Problem(&cs, "The entry point has level %d but a live element has level %d.",
					meta.entryLevel, maxLive);
		else if (cs.report.nproblems == 0 && nlive > 0)
		{
			int			unreachable = CountUnreachable(&cs, e, adj, nadj);

			if (unreachable > 0)
				ereport(NOTICE,
						(errmsg("%d of %d live elements of \"%s\" are not reachable from the entry point",
								unreachable, nlive, RelationGetRelationName(index))));
		}
	}

	AmCheckRaise(index, "hnsw", &cs.report);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	relation_close(index, lockmode);
	PG_RETURN_BOOL(true);
}
