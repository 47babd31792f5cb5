/*-------------------------------------------------------------------------
 *
 * hnswvacuum.c
 *	  Remove dead rows from an hnsw index and repair the graph
 *
 * Pass 1 marks every element whose heap row is dead as deleted.  Scans
 * stop returning it at once, and inserts stop choosing it as a neighbour.
 * Then one exclusive acquisition of HNSW_UPDATE_LOCK waits for inserts
 * that may have read it as live before it was marked; if the entry point
 * was deleted, a new one (the live element of the highest level) is
 * chosen while that lock is held.
 *
 * Pass 2 repairs every live element whose neighbour list names a deleted
 * element: the new list is chosen with the usual heuristic among the
 * element's live neighbours and the live neighbours of its deleted ones
 * (two-hop reconnection), so the graph stays navigable after heavy
 * deletes.  If a concurrent insert changed that list meanwhile, the
 * deleted links are just cleared.
 *
 * Deleted elements stay on their pages as tombstones (their lists still
 * let in-flight scans move on).  All tombstones, old ones too, count as
 * deleted for the repair, and repair rounds repeat until one finds nothing
 * to do; then live elements left with no incoming level-0 link get one
 * (orphan rescue).  After such a clean round no live list names a
 * tombstone, and none can gain one (inserts never link to deleted
 * elements), so pass 3 marks them free: inserts then reuse their slots,
 * found through the free space map.  Free slots themselves are not
 * deleted elements for the repair: an insert may reuse one at any time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw/hnsw.h"

/* Find the live element of the highest level, by a full pass over the pages */
static bool
FindBestEntry(Relation index, BufferAccessStrategy strategy, ItemPointer best, int *bestLevel)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	*bestLevel = -1;
	for (BlockNumber blk = 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		Page		page;

		vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);

			if (!etup->deleted && etup->level > *bestLevel)
			{
				*bestLevel = etup->level;
				ItemPointerSet(best, blk, off);
			}
		}
		UnlockReleaseBuffer(buf);
	}
	return *bestLevel >= 0;
}

/* Point the metapage at a live entry if the current one was deleted */
static void
RepairEntryPoint(Relation index, BufferAccessStrategy strategy, HnswKeySet * deleted)
{
	HnswMetaPageData meta;

	LockPage(index, HNSW_UPDATE_LOCK, ExclusiveLock);
	meta = HnswReadMeta(index);
	if (meta.entryBlkno != InvalidBlockNumber)
	{
		ItemPointerData ep;

		ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
		if (HnswKeySetContains(deleted, HnswTidKey(&ep)))
		{
			ItemPointerData best;
			int			bestLevel;
			Buffer		metabuf;
			HnswPageWrite pw;
			HnswMetaPage m;

			if (!FindBestEntry(index, strategy, &best, &bestLevel))
				ItemPointerSetInvalid(&best);
			metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
			LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
			HnswWriteStart(&pw, index, false);
			m = HnswPageGetMeta(HnswWriteRegister(&pw, metabuf, false));
			m->entryBlkno = ItemPointerGetBlockNumberNoCheck(&best);
			m->entryOffno = ItemPointerGetOffsetNumberNoCheck(&best);
			m->entryLevel = bestLevel;
			HnswWriteFinish(&pw);
			UnlockReleaseBuffer(metabuf);
		}
	}
	UnlockPage(index, HNSW_UPDATE_LOCK, ExclusiveLock);
}

/*
 * Choose a new list for one level of element e, or return -1 if it names
 * no deleted element.  Live neighbours keep their slots (dropping one could
 * leave it with no incoming link at all); the freed slots go to the
 * nearest live neighbours of the deleted ones, which just lost an incoming
 * link (two-hop reconnection).  An element left with no candidates at all
 * searches afresh from the entry point.
 */
static int
RebuildList(Relation index, HnswIndexInfo * info, int dim, ItemPointer etid,
			float *evec, int level, ItemPointer slots, int nslots,
			HnswKeySet * deleted, ItemPointer newlist)
{
	HnswKeySet	seen;
	HnswPair   *cand;
	ItemPointerData *tids;
	int			ncand = 0;
	int			cap = nslots * nslots + info->efConstruction;
	int			k = 0;
	ItemPointerData nb[2 * HNSW_MAX_M];
	bool		any = false;

	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&slots[i]) && HnswKeySetContains(deleted, HnswTidKey(&slots[i])))
			any = true;
	if (!any)
		return -1;

	HnswKeySetInit(&seen, cap);
	HnswKeySetAdd(&seen, HnswTidKey(etid));
	cand = palloc(sizeof(HnswPair) * cap);
	tids = palloc(sizeof(ItemPointerData) * cap);

	/* Live neighbours stay */
	for (int i = 0; i < nslots; i++)
	{
		if (!ItemPointerIsValid(&slots[i]) || HnswKeySetContains(deleted, HnswTidKey(&slots[i])))
			continue;
		if (HnswKeySetAdd(&seen, HnswTidKey(&slots[i])))
			newlist[k++] = slots[i];
	}

	/* Candidates: live neighbours of the deleted neighbours */
	for (int i = 0; i < nslots; i++)
	{
		HnswNode	dn;
		int			nn;

		if (!ItemPointerIsValid(&slots[i]) || !HnswKeySetContains(deleted, HnswTidKey(&slots[i])))
			continue;
		nn = HnswReadElement(index, &slots[i], dim, &dn, false, level, nb);
		for (int j = 0; j < nn && ncand < cap; j++)
		{
			HnswNode	node;

			if (!ItemPointerIsValid(&nb[j]) || HnswKeySetContains(deleted, HnswTidKey(&nb[j])))
				continue;
			if (!HnswKeySetAdd(&seen, HnswTidKey(&nb[j])))
				continue;
			HnswReadElement(index, &nb[j], dim, &node, true, -1, NULL);
			if (node.deleted || node.level < level)
				continue;
			cand[ncand].key = ncand;
			cand[ncand].dist = HnswDistance(info->kind, dim, evec, node.vec);
			tids[ncand] = nb[j];
			ncand++;
		}
	}

	if (k == 0 && ncand == 0)
	{
		HnswPair   *near = palloc(sizeof(HnswPair) * info->efConstruction);
		int			nnear = HnswSearchNear(index, info, evec, dim, level, near,
										   info->efConstruction);

		for (int j = 0; j < nnear && ncand < cap; j++)
		{
			if (HnswKeySetContains(deleted, near[j].key) || !HnswKeySetAdd(&seen, near[j].key))
				continue;
			cand[ncand].key = ncand;
			cand[ncand].dist = near[j].dist;
			HnswKeyTid(near[j].key, &tids[ncand]);
			ncand++;
		}
	}

	qsort(cand, ncand, sizeof(HnswPair), HnswComparePairs);
	for (int i = 0; i < ncand && k < nslots; i++)
		newlist[k++] = tids[cand[i].key];
	for (int i = k; i < nslots; i++)
		ItemPointerSetInvalid(&newlist[i]);
	return k;
}

/* Repair every level of one element that links to a deleted element */
static void
RepairElement(Relation index, HnswIndexInfo * info, int dim, ItemPointer etid,
			  HnswKeySet * deleted)
{
	HnswNode	e;
	ItemPointerData slots[2 * HNSW_MAX_M];
	ItemPointerData newlist[2 * HNSW_MAX_M];

	HnswReadElement(index, etid, dim, &e, true, -1, NULL);
	for (int l = 0; l <= e.level; l++)
	{
		HnswNode	tmp;
		int			nslots = HnswReadElement(index, etid, dim, &tmp, false, l, slots);
		Buffer		buf;
		HnswPageWrite pw;
		HnswElementTuple etup;
		ItemPointer list;
		bool		same = true;

		if (RebuildList(index, info, dim, etid, e.vec, l, slots, nslots, deleted, newlist) < 0)
			continue;

		buf = ReadBuffer(index, ItemPointerGetBlockNumber(etid));
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		HnswWriteStart(&pw, index, false);
		etup = HnswGetElementTuple(index, HnswWriteRegister(&pw, buf, false),
								   ItemPointerGetOffsetNumber(etid));
		list = HnswTupleNeighbors(etup) + HnswLevelStart(etup->m, l);
		for (int i = 0; i < nslots; i++)
			if (HnswTidKey(&list[i]) != HnswTidKey(&slots[i]))
				same = false;
		if (same)
			memcpy(list, newlist, sizeof(ItemPointerData) * nslots);
		else
		{
			/* A concurrent insert changed the list: just drop dead links */
			for (int i = 0; i < nslots; i++)
				if (ItemPointerIsValid(&list[i]) &&
					HnswKeySetContains(deleted, HnswTidKey(&list[i])))
					ItemPointerSetInvalid(&list[i]);
		}
		HnswWriteFinish(&pw);
		UnlockReleaseBuffer(buf);
	}
}

/* Does any list of this element name a deleted element? */
static bool
NeedsRepair(HnswElementTuple etup, HnswKeySet * deleted)
{
	ItemPointer nbrs = HnswTupleNeighbors(etup);
	int			total = HnswTotalSlots(etup->m, etup->level);

	for (int i = 0; i < total; i++)
		if (ItemPointerIsValid(&nbrs[i]) && HnswKeySetContains(deleted, HnswTidKey(&nbrs[i])))
			return true;
	return false;
}

/*
 * Give every live element without an incoming level-0 link one, from its
 * nearest live neighbour (the first in its own list): a free slot if there
 * is one, else the slot of an element that has other incoming links.
 * Repairs can leave such orphans, and nothing could reach them.
 */
static void
RescueOrphans(Relation index, HnswKeySet * deleted, HnswKeySet * indeg,
			  ItemPointer live, int nlive)
{
	HnswMetaPageData meta = HnswReadMeta(index);
	ItemPointerData ep;

	ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
	for (int i = 0; i < nlive; i++)
	{
		ItemPointerData slots[2 * HNSW_MAX_M];
		HnswNode	y;
		int			nslots;
		ItemPointerData z;
		Buffer		buf;
		HnswPageWrite pw;
		HnswElementTuple etup;
		ItemPointer list;
		int			idx = -1;
		bool		found = false;

		CHECK_FOR_INTERRUPTS();
		if (HnswKeyMapGet(indeg, HnswTidKey(&live[i])) > 0 ||
			HnswTidKey(&live[i]) == HnswTidKey(&ep))
			continue;
		nslots = HnswReadElement(index, &live[i], meta.dimensions, &y, false, 0, slots);
		ItemPointerSetInvalid(&z);
		for (int j = 0; j < nslots && !found; j++)
		{
			if (ItemPointerIsValid(&slots[j]) && !HnswKeySetContains(deleted, HnswTidKey(&slots[j])))
			{
				z = slots[j];
				found = true;
			}
		}
		if (!found || y.deleted)
			continue;

		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&z));
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		HnswWriteStart(&pw, index, false);
		etup = HnswGetElementTuple(index, HnswWriteRegister(&pw, buf, false),
								   ItemPointerGetOffsetNumber(&z));
		list = HnswTupleNeighbors(etup);
		nslots = HnswLevelSlots(etup->m, 0);
		for (int j = 0; j < nslots && idx < 0; j++)
			if (!ItemPointerIsValid(&list[j]))
				idx = j;
		for (int j = nslots - 1; j >= 0 && idx < 0; j--)
			if (HnswKeyMapGet(indeg, HnswTidKey(&list[j])) > 1)
				idx = j;
		for (int j = 0; j < nslots && idx >= 0; j++)
			if (HnswTidKey(&list[j]) == HnswTidKey(&live[i]))
				idx = -1;
		if (idx >= 0 && !etup->deleted)
		{
			if (ItemPointerIsValid(&list[idx]))
				(*HnswKeyMapRef(indeg, HnswTidKey(&list[idx])))--;
			list[idx] = live[i];
			(*HnswKeyMapRef(indeg, HnswTidKey(&live[i])))++;
			HnswWriteFinish(&pw);
		}
		else
			HnswWriteAbort(&pw);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Pass 3: on the pages the clean round found tombstones or free slots on,
 * mark the tombstones free, and record in the free space map the highest
 * element level one of the page's free slots can take.
 */
static void
MarkFree(Relation index, BufferAccessStrategy strategy, bool *withDeleted, BlockNumber nblocks)
{
	for (BlockNumber blk = 1; blk < nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		bool		anyDeleted = false;
		int			maxLevel = -1;

		if (!withDeleted[blk])
			continue;
		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);

			/* Tombstones are about to be free slots too */
			if (etup->deleted != HNSW_ELEMENT_LIVE)
				maxLevel = Max(maxLevel, etup->level);
			anyDeleted |= etup->deleted == HNSW_ELEMENT_DELETED;
		}
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (anyDeleted)
		{
			HnswPageWrite pw;

			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			HnswWriteStart(&pw, index, false);
			page = HnswWriteRegister(&pw, buf, false);
			for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
			{
				HnswElementTuple etup = HnswGetElementTuple(index, page, off);

				if (etup->deleted == HNSW_ELEMENT_DELETED)
					etup->deleted = HNSW_ELEMENT_FREE;
			}
			HnswWriteFinish(&pw);
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		}
		ReleaseBuffer(buf);
		/* A hint: an insert that finds less corrects it */
		RecordPageWithFreeSpace(index, blk, (maxLevel + 1) * HNSW_FSM_UNIT);
	}
	FreeSpaceMapVacuum(index);
}

/* ambulkdelete: mark dead elements, then repair the graph around them */
IndexBulkDeleteResult *
hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	HnswKeySet	deleted;
	HnswIndexInfo hinfo;
	HnswMetaPageData meta = HnswReadMeta(index);

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) MemoryContextAllocZero(old, sizeof(IndexBulkDeleteResult));
	HnswGetIndexInfo(index, &hinfo);
	HnswKeySetInit(&deleted, 1024);

	/* Pass 1: mark dead elements */
	stats->num_index_tuples = 0;
	for (BlockNumber blk = 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
		Page		page;
		OffsetNumber dead[MaxOffsetNumber];
		int			ndead = 0;

		vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);

			if (etup->deleted == HNSW_ELEMENT_DELETED)
			{
				/* Old tombstones too: any link to one is repaired below */
				ItemPointerData tid;

				ItemPointerSet(&tid, blk, off);
				HnswKeySetAdd(&deleted, HnswTidKey(&tid));
				continue;
			}

			/*
			 * A free slot is named by no live list, and an insert may reuse
			 * it at any moment: it must not count as deleted, or the links
			 * to the element that takes it would be "repaired" away
			 */
			if (etup->deleted == HNSW_ELEMENT_FREE)
				continue;
			if (callback(&etup->heaptid, callback_state))
				dead[ndead++] = off;
			else
				stats->num_index_tuples++;
		}
		if (ndead > 0)
		{
			HnswPageWrite pw;
			Page		wpage;

			HnswWriteStart(&pw, index, false);
			wpage = HnswWriteRegister(&pw, buf, false);
			for (int i = 0; i < ndead; i++)
			{
				ItemPointerData tid;

				HnswGetElementTuple(index, wpage, dead[i])->deleted = HNSW_ELEMENT_DELETED;
				ItemPointerSet(&tid, blk, dead[i]);
				HnswKeySetAdd(&deleted, HnswTidKey(&tid));
			}
			HnswWriteFinish(&pw);
			stats->tuples_removed += ndead;
		}
		UnlockReleaseBuffer(buf);
	}

	if (deleted.count > 0)
	{
		/* Wait for inserts that saw the elements live; fix the entry point */
		RepairEntryPoint(index, info->strategy, &deleted);

		/*
		 * Pass 2: repair lists that name deleted elements (new pages too).
		 * A round that had to repair something is followed by another, so
		 * that nothing a concurrent change slipped past survives; the first
		 * clean round also counts incoming level-0 links for the orphan
		 * rescue.
		 */
		for (int round = 0; round < 3; round++)
		{
			HnswKeySet	indeg;
			ItemPointerData *live;
			int			nlive = 0;
			int			caplive = 1024;
			int			repaired = 0;
			bool	   *withDeleted;	/* pages holding tombstones or free slots */

			HnswKeySetInit(&indeg, 1024);
			live = palloc(sizeof(ItemPointerData) * caplive);
			nblocks = RelationGetNumberOfBlocks(index);
			withDeleted = palloc0(sizeof(bool) * nblocks);
			for (BlockNumber blk = 1; blk < nblocks; blk++)
			{
				Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
				Page		page;
				OffsetNumber todo[MaxOffsetNumber];
				int			ntodo = 0;

				vacuum_delay_point();
				LockBuffer(buf, BUFFER_LOCK_SHARE);
				page = BufferGetPage(buf);
				for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
				{
					HnswElementTuple etup = HnswGetElementTuple(index, page, off);
					ItemPointer nbrs = HnswTupleNeighbors(etup);

					if (etup->deleted)
					{
						withDeleted[blk] = true;
						continue;
					}
					if (NeedsRepair(etup, &deleted))
						todo[ntodo++] = off;
					if (nlive == caplive)
					{
						caplive *= 2;
						live = repalloc_huge(live, sizeof(ItemPointerData) * caplive);
					}
					ItemPointerSet(&live[nlive], blk, off);
					nlive++;
					for (int i = 0; i < HnswLevelSlots(etup->m, 0); i++)
						if (ItemPointerIsValid(&nbrs[i]))
							(*HnswKeyMapRef(&indeg, HnswTidKey(&nbrs[i])))++;
				}
				UnlockReleaseBuffer(buf);
				for (int i = 0; i < ntodo; i++)
				{
					ItemPointerData tid;
					MemoryContext rctx = AllocSetContextCreate(ctx, "hnsw repair",
															   ALLOCSET_SMALL_SIZES);
					MemoryContext rold = MemoryContextSwitchTo(rctx);

					CHECK_FOR_INTERRUPTS();
					ItemPointerSet(&tid, blk, todo[i]);
					RepairElement(index, &hinfo, meta.dimensions, &tid, &deleted);
					MemoryContextSwitchTo(rold);
					MemoryContextDelete(rctx);
					repaired++;
				}
			}
			if (repaired == 0)
			{
				RescueOrphans(index, &deleted, &indeg, live, nlive);
				MarkFree(index, info->strategy, withDeleted, nblocks);
				break;
			}
		}
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

/* amvacuumcleanup: report the index size and live element count */
IndexBulkDeleteResult *
hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		BlockNumber nblocks = RelationGetNumberOfBlocks(index);

		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
		for (BlockNumber blk = 1; blk < nblocks; blk++)
		{
			Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
			Page		page;

			vacuum_delay_point();
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
				if (!HnswGetElementTuple(index, page, off)->deleted)
					stats->num_index_tuples++;
			UnlockReleaseBuffer(buf);
		}
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	return stats;
}
