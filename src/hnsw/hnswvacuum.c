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
 * deleted for the repair.  Each repair round starts with a read-only census
 * of the pages; rounds repeat until a census finds nothing to repair (or
 * HNSW_REPAIR_ROUNDS have run).  With the last census, live elements left
 * with no incoming level-0 link get one (orphan rescue), and pass 3 marks
 * free every tombstone no live list named: none can gain a link again
 * (inserts and repairs link live elements only), so inserts may reuse
 * their slots, found through the free space map.  A tombstone still named
 * waits for the next VACUUM.  Free slots themselves are not deleted
 * elements for the repair: an insert may reuse one at any time.
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

/* Repair rounds before VACUUM settles for what is left (see hnswbulkdelete) */
#define HNSW_REPAIR_ROUNDS	3

/*
 * One read-only pass over the pages: what a repair round must fix and what
 * the orphan rescue and pass 3 need to know.
 */
typedef struct HnswCensus
{
	ItemPointerData *live;		/* every live element */
	int			nlive;
	HnswKeySet	indeg;			/* TID -> incoming level-0 links from live lists */
	ItemPointerData *todo;		/* live elements whose lists name a deleted one */
	int			ntodo;
	HnswKeySet	named;			/* deleted elements some live list names */
	bool	   *withDeleted;	/* pages holding tombstones or free slots */
	BlockNumber nblocks;
}			HnswCensus;

/* The set key of the element at (blk, off) */
static inline uint64
TidKeyOf(BlockNumber blk, OffsetNumber off)
{
	ItemPointerData tid;

	ItemPointerSet(&tid, blk, off);
	return HnswTidKey(&tid);
}

/* Append a TID to a growing array */
static void
PushTid(ItemPointerData **arr, int *n, int *cap, BlockNumber blk, OffsetNumber off)
{
	if (*n == *cap)
	{
		*cap *= 2;
		*arr = repalloc_huge(*arr, sizeof(ItemPointerData) * *cap);
	}
	ItemPointerSet(&(*arr)[*n], blk, off);
	(*n)++;
}

/* Count live elements, incoming links, elements to repair, named tombstones */
static void
TakeCensus(Relation index, BufferAccessStrategy strategy, HnswKeySet * deleted,
		   HnswCensus * c)
{
	int			caplive = 1024;
	int			captodo = 64;

	c->nlive = 0;
	c->ntodo = 0;
	c->live = palloc(sizeof(ItemPointerData) * caplive);
	c->todo = palloc(sizeof(ItemPointerData) * captodo);
	HnswKeySetInit(&c->indeg, 1024);
	HnswKeySetInit(&c->named, 64);
	c->nblocks = RelationGetNumberOfBlocks(index);
	c->withDeleted = palloc0(sizeof(bool) * c->nblocks);
	for (BlockNumber blk = 1; blk < c->nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		Page		page;

		vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);
			ItemPointer nbrs = HnswTupleNeighbors(etup);
			int			total = HnswTotalSlots(etup->m, etup->level);
			bool		needsRepair = false;

			if (etup->deleted)
			{
				c->withDeleted[blk] = true;
				continue;
			}
			for (int i = 0; i < total; i++)
			{
				uint64		key;

				if (!ItemPointerIsValid(&nbrs[i]))
					continue;
				key = HnswTidKey(&nbrs[i]);
				if (HnswKeySetContains(deleted, key))
				{
					needsRepair = true;
					HnswKeySetAdd(&c->named, key);
				}
				if (i < HnswLevelSlots(etup->m, 0))
					(*HnswKeyMapRef(&c->indeg, key))++;
			}
			if (needsRepair)
				PushTid(&c->todo, &c->ntodo, &captodo, blk, off);
			PushTid(&c->live, &c->nlive, &caplive, blk, off);
		}
		UnlockReleaseBuffer(buf);
	}
}

static void
FreeCensus(HnswCensus * c)
{
	pfree(c->live);
	pfree(c->todo);
	pfree(c->indeg.ents);
	pfree(c->named.ents);
	pfree(c->withDeleted);
}

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
 * Pass 3: on the pages the last census found tombstones or free slots on,
 * mark free the tombstones no live list names, and record in the free space
 * map the highest element level one of the page's free slots can take.
 * Lists only ever lose links to tombstones (inserts and repairs link live
 * elements only), so what the census saw unnamed stays unnamed.
 */
static void
MarkFree(Relation index, BufferAccessStrategy strategy, HnswCensus * c)
{
	for (BlockNumber blk = 1; blk < c->nblocks; blk++)
	{
		Buffer		buf;
		Page		page;
		bool		anyDeleted = false;
		int			maxLevel = -1;

		if (!c->withDeleted[blk])
			continue;
		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);
			bool		freeable = etup->deleted == HNSW_ELEMENT_DELETED &&
				!HnswKeySetContains(&c->named, TidKeyOf(blk, off));

			/* Tombstones about to be freed count as free slots already */
			if (etup->deleted == HNSW_ELEMENT_FREE || freeable)
				maxLevel = Max(maxLevel, etup->level);
			anyDeleted |= freeable;
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

				if (etup->deleted == HNSW_ELEMENT_DELETED &&
					!HnswKeySetContains(&c->named, TidKeyOf(blk, off)))
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
		MemoryContext rctx = AllocSetContextCreate(ctx, "hnsw repair", ALLOCSET_SMALL_SIZES);
		HnswCensus	census;

		/* Wait for inserts that saw the elements live; fix the entry point */
		RepairEntryPoint(index, info->strategy, &deleted);

		/*
		 * Pass 2: repair lists that name deleted elements (new pages too).
		 * A round that had to repair something is followed by another, so
		 * that nothing a concurrent change slipped past survives.  Rounds are
		 * capped; the census the last one takes is what the orphan rescue
		 * and pass 3 go by, whether or not it found more to repair.
		 */
		for (int round = 0;; round++)
		{
			TakeCensus(index, info->strategy, &deleted, &census);
			if (census.ntodo == 0 || round == HNSW_REPAIR_ROUNDS)
				break;
			for (int i = 0; i < census.ntodo; i++)
			{
				MemoryContext rold = MemoryContextSwitchTo(rctx);

				CHECK_FOR_INTERRUPTS();
				RepairElement(index, &hinfo, meta.dimensions, &census.todo[i], &deleted);
				MemoryContextSwitchTo(rold);
				MemoryContextReset(rctx);
			}
			FreeCensus(&census);
		}
		RescueOrphans(index, &deleted, &census.indeg, census.live, census.nlive);
		MarkFree(index, info->strategy, &census);
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
