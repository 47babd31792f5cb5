/*-------------------------------------------------------------------------
 *
 * hnswvacuum.c
 *	  Remove dead rows from an hnsw index and repair the graph
 *
 * Pass 1 drops the heap TIDs of dead rows from every element; an element
 * left with none is marked deleted.  Scans stop returning it at once, and
 * inserts stop choosing it as a neighbour.  Then one exclusive acquisition
 * of HNSW_UPDATE_LOCK waits for inserts that may have read it as live
 * before it was marked; if the entry point was deleted, a new one (the
 * live element of the highest level) is chosen while that lock is held.
 *
 * Pass 2 repairs every live element whose neighbour list names a deleted
 * element (HnswRepairElement, hnswinsert.c): live neighbours stay, and the
 * freed slots go to live neighbours of the deleted ones (two-hop
 * reconnection), picked with the neighbour heuristic of the search core.
 * When this VACUUM finds at least as many deleted elements as live ones,
 * each damaged element is also searched for afresh from the entry point,
 * as an insert is (deleted elements passed through but not counted towards
 * ef), and elements left with fewer than m live level-0 links are repaired
 * too: after such deletes two-hop candidates are mostly deleted themselves.
 * If a concurrent insert changed that list meanwhile, the deleted links are
 * just cleared.
 *
 * Deleted elements stay on their pages as tombstones (their lists still
 * let in-flight scans move on).  All tombstones, old ones too, count as
 * deleted for the repair.  Each repair round starts with a read-only census
 * of the pages; rounds repeat until a census finds nothing to repair (or
 * HNSW_REPAIR_ROUNDS have run).  With the last census, live elements left
 * with no incoming level-0 link get one (orphan rescue), so do those that
 * no path from the entry point reaches (island rescue), and pass 3 marks
 * free every tombstone no live list named: none can gain a link again
 * (inserts and repairs link live elements only), so inserts may reuse
 * their slots and neighbour tuples, found through the free space map.  A
 * tombstone still named waits for the next VACUUM.  Free slots themselves
 * are not deleted elements for the repair: an insert may reuse one at any
 * time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw/hnsw.h"

/* Repair rounds before VACUUM settles for what is left (see hnswbulkdelete) */
#define HNSW_REPAIR_ROUNDS	3

/* Reachable elements an island element may take its link from, nearest first */
#define HNSW_ISLAND_LINKERS	16

/*
 * One read-only pass over the pages: what a repair round must fix and what
 * the orphan rescue and pass 3 need to know.
 */
typedef struct HnswCensus
{
	ItemPointerData *live;		/* every live element */
	int			nlive;
	int			caplive;
	HnswKeySet	indeg;			/* TID -> incoming level-0 links from live lists */
	ItemPointerData *todo;		/* live elements whose lists name a deleted one */
	int			ntodo;
	int			captodo;
	HnswKeySet	named;			/* deleted elements some live list names */
	int			minLinks;		/* also repair lists with fewer live level-0 links */
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
PushTid(ItemPointerData **arr, int *n, int *cap, ItemPointer tid)
{
	if (*n == *cap)
	{
		*cap *= 2;
		*arr = repalloc_huge(*arr, sizeof(ItemPointerData) * *cap);
	}
	(*arr)[(*n)++] = *tid;
}

/* Count a live element's links: what it names that is deleted, its level-0 links */
static void
CountLinks(HnswCensus * c, HnswKeySet * deleted, ItemPointer etid, HnswNeighborTuple ntup)
{
	int			m = ntup->nslots / (ntup->level + 2);
	bool		needsRepair = false;
	int			nlive0 = 0;

	for (int i = 0; i < ntup->nslots; i++)
	{
		uint64		key;

		if (!ItemPointerIsValid(&ntup->tids[i]))
			continue;
		key = HnswTidKey(&ntup->tids[i]);
		if (HnswKeySetContains(deleted, key))
		{
			needsRepair = true;
			HnswKeySetAdd(&c->named, key);
		}
		if (i < HnswLevelSlots(m, 0))
		{
			(*HnswKeyMapRef(&c->indeg, key))++;
			if (!HnswKeySetContains(deleted, key))
				nlive0++;
		}
	}
	if (needsRepair || nlive0 < c->minLinks)
		PushTid(&c->todo, &c->ntodo, &c->captodo, etid);
}

/*
 * Count live elements, incoming links, elements to repair, named
 * tombstones.  A neighbour tuple on its element's page is read there; one
 * on another page after the element's page is released (hnsw.h: readers
 * hold one data page lock at a time).
 */
static void
TakeCensus(Relation index, BufferAccessStrategy strategy, HnswKeySet * deleted,
		   HnswCensus * c)
{
	ItemPointerData *later = palloc(sizeof(ItemPointerData) * 2 * MaxOffsetNumber);

	c->nlive = 0;
	c->ntodo = 0;
	c->caplive = 1024;
	c->captodo = 64;
	c->live = palloc(sizeof(ItemPointerData) * c->caplive);
	c->todo = palloc(sizeof(ItemPointerData) * c->captodo);
	HnswKeySetInit(&c->indeg, 1024);
	HnswKeySetInit(&c->named, 64);
	c->nblocks = RelationGetNumberOfBlocks(index);
	c->withDeleted = palloc0(sizeof(bool) * c->nblocks);
	for (BlockNumber blk = 1; blk < c->nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		Page		page;
		int			nlater = 0;

		vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup;
			ItemPointerData etid;

			if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
				continue;
			etup = HnswGetElementTuple(index, page, off);
			if (etup->state != HNSW_ELEMENT_LIVE)
			{
				c->withDeleted[blk] = true;
				continue;
			}
			ItemPointerSet(&etid, blk, off);
			PushTid(&c->live, &c->nlive, &c->caplive, &etid);
			if (ItemPointerGetBlockNumber(&etup->neighbortid) == blk)
				CountLinks(c, deleted, &etid,
						   HnswGetNeighborTuple(index, page,
												ItemPointerGetOffsetNumber(&etup->neighbortid)));
			else
			{
				later[nlater++] = etid;
				later[nlater++] = etup->neighbortid;
			}
		}
		UnlockReleaseBuffer(buf);

		for (int i = 0; i < nlater; i += 2)
		{
			ItemPointer ntid = &later[i + 1];

			HnswCheckLink(index, ntid);
			buf = ReadBufferExtended(index, MAIN_FORKNUM, ItemPointerGetBlockNumber(ntid),
									 RBM_NORMAL, strategy);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			CountLinks(c, deleted, &later[i],
					   HnswGetNeighborTuple(index, BufferGetPage(buf),
											ItemPointerGetOffsetNumber(ntid)));
			UnlockReleaseBuffer(buf);
		}
	}
	pfree(later);
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
			HnswElementTuple etup;

			if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
				continue;
			etup = HnswGetElementTuple(index, page, off);
			if (etup->state == HNSW_ELEMENT_LIVE && etup->level > *bestLevel)
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
 * The elements that the level-0 lists of the live elements of list[] name:
 * a path from the list's owner to one of them can go through that live
 * element instead of a direct link (no list names its own owner).  Each
 * list is read once.
 */
static void
NamedAround(Relation index, HnswIndexInfo * info, int dim, HnswKeySet * deleted,
			ItemPointerData *list, int nslots, HnswKeySet * named)
{
	HnswKeySetInit(named, nslots * nslots);
	for (int k = 0; k < nslots; k++)
	{
		ItemPointerData nb[2 * HNSW_MAX_M];
		HnswNode	y;
		int			nn;

		if (!ItemPointerIsValid(&list[k]) ||
			HnswKeySetContains(deleted, HnswTidKey(&list[k])) ||
			!HnswReadElement(index, info, &list[k], dim, &y, false))
			continue;
		nn = HnswReadNeighbors(index, &y.neighbortid, 0, nb, true);
		for (int j = 0; j < nn; j++)
			(void) HnswKeySetAdd(named, HnswTidKey(&nb[j]));
	}
}

/*
 * Add a level-0 link from live element z to live element u: into a free
 * slot of z's list if there is one, else in place of a link to another
 * element t, the farthest that qualifies: a deleted one, or with keepReach
 * one that another element of z's list links to, so that what z reached
 * it still reaches, else one with other incoming links (indeg, kept up to
 * date when given).  False when no slot qualifies, z's list already names
 * u, or z is gone.
 */
static bool
LinkFrom(Relation index, HnswIndexInfo * info, int dim, HnswKeySet * deleted, HnswKeySet * indeg,
		 ItemPointer ztid, ItemPointer utid, bool keepReach)
{
	HnswNode	z;
	ItemPointerData slots[2 * HNSW_MAX_M];
	int			nslots;
	Buffer		buf;
	HnswPageWrite pw;
	HnswNeighborTuple ntup;
	ItemPointer list;
	int			idx = -1;
	uint64		ukey = HnswTidKey(utid);
	bool		same;
	HnswKeySet	around = {0};

	if (!HnswReadElement(index, info, ztid, dim, &z, false))
		return false;

	/* Choose the slot on a copy of the list: the choice may read other pages */
	nslots = HnswReadNeighbors(index, &z.neighbortid, 0, slots, false);
	for (int j = 0; j < nslots; j++)
		if (HnswTidKey(&slots[j]) == ukey)
			return false;
	for (int j = 0; j < nslots && idx < 0; j++)
		if (!ItemPointerIsValid(&slots[j]))
			idx = j;
	if (idx < 0 && keepReach)
		NamedAround(index, info, dim, deleted, slots, nslots, &around);
	for (int j = nslots - 1; j >= 0 && idx < 0; j--)
	{
		uint64		tkey = HnswTidKey(&slots[j]);

		if (HnswKeySetContains(deleted, tkey) ||
			(keepReach ? HnswKeySetContains(&around, tkey) : HnswKeyMapGet(indeg, tkey) > 1))
			idx = j;
	}
	if (around.ents != NULL)
		pfree(around.ents);
	if (idx < 0)
		return false;

	/* Write it, unless the list changed meanwhile */
	buf = ReadBuffer(index, ItemPointerGetBlockNumber(&z.neighbortid));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriteStart(&pw, index, false);
	ntup = HnswGetNeighborTuple(index, HnswWriteRegister(&pw, buf, false),
								ItemPointerGetOffsetNumber(&z.neighbortid));
	list = ntup->tids;
	same = ntup->level == z.level;
	for (int j = 0; j < nslots && same; j++)
		same = HnswTidKey(&list[j]) == HnswTidKey(&slots[j]) &&
			ItemPointerIsValid(&list[j]) == ItemPointerIsValid(&slots[j]);
	if (!same)
	{
		HnswWriteAbort(&pw);
		UnlockReleaseBuffer(buf);
		return false;
	}
	if (indeg != NULL && ItemPointerIsValid(&list[idx]))
		(*HnswKeyMapRef(indeg, HnswTidKey(&list[idx])))--;
	list[idx] = *utid;
	if (indeg != NULL)
		(*HnswKeyMapRef(indeg, ukey))++;
	HnswWriteFinish(&pw);
	UnlockReleaseBuffer(buf);
	return true;
}

/*
 * Give every live element without an incoming level-0 link one, from its
 * nearest live neighbour (the first in its own list).  Repairs can leave
 * such orphans, and nothing could reach them.
 */
static void
RescueOrphans(Relation index, HnswIndexInfo * info, HnswKeySet * deleted, HnswCensus * c)
{
	HnswMetaPageData meta = HnswReadMeta(index);
	ItemPointerData ep;

	ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
	for (int i = 0; i < c->nlive; i++)
	{
		ItemPointerData slots[2 * HNSW_MAX_M];
		HnswNode	y;
		int			nslots;

		CHECK_FOR_INTERRUPTS();
		if (HnswKeyMapGet(&c->indeg, HnswTidKey(&c->live[i])) > 0 ||
			HnswTidKey(&c->live[i]) == HnswTidKey(&ep))
			continue;
		if (!HnswReadElement(index, info, &c->live[i], meta.dimensions, &y, false))
			continue;
		nslots = HnswReadNeighbors(index, &y.neighbortid, 0, slots, true);
		for (int j = 0; j < nslots; j++)
		{
			if (!HnswKeySetContains(deleted, HnswTidKey(&slots[j])))
			{
				(void) LinkFrom(index, info, meta.dimensions, deleted, &c->indeg, &slots[j], &c->live[i],
								 false);
				break;
			}
		}
	}
}

/*
 * A walk over live level-0 links: what it has reached, what it has yet to
 * read.  When a build already knows which elements a walk from the entry
 * point misses (unreached), every other element counts as reached and
 * reached holds only those of unreached walked in since.
 */
typedef struct IslandWalk
{
	HnswKeySet	reached;
	HnswKeySet *unreached;		/* NULL: reached is the whole story */
	ItemPointerData *stack;
	int			top;
	int			cap;
}			IslandWalk;

static bool
WalkReached(IslandWalk * w, ItemPointer tid)
{
	uint64		key = HnswTidKey(tid);

	if (w->unreached && !HnswKeySetContains(w->unreached, key))
		return true;
	return HnswKeySetContains(&w->reached, key);
}

static void
WalkPush(IslandWalk * w, ItemPointer tid)
{
	if (w->unreached && !HnswKeySetContains(w->unreached, HnswTidKey(tid)))
		return;					/* reached before the walk began */
	if (!HnswKeySetAdd(&w->reached, HnswTidKey(tid)))
		return;
	if (w->top == w->cap)
	{
		w->cap *= 2;
		w->stack = repalloc(w->stack, sizeof(ItemPointerData) * w->cap);
	}
	w->stack[w->top++] = *tid;
}

/* Read the elements pushed, and push what their level-0 lists name, until none is left */
static void
WalkOn(Relation index, HnswIndexInfo * info, int dim, HnswKeySet * deleted, IslandWalk * w)
{
	while (w->top > 0)
	{
		ItemPointerData tid = w->stack[--w->top];
		ItemPointerData slots[2 * HNSW_MAX_M];
		HnswNode	e;
		int			nslots;

		CHECK_FOR_INTERRUPTS();
		if (!HnswReadElement(index, info, &tid, dim, &e, false))
			continue;
		nslots = HnswReadNeighbors(index, &e.neighbortid, 0, slots, true);
		for (int j = 0; j < nslots; j++)
			if (!HnswKeySetContains(deleted, HnswTidKey(&slots[j])))
				WalkPush(w, &slots[j]);
	}
}

/*
 * Link in the live elements that no path of live level-0 links reaches
 * from the entry point: a scan could never return them.  The orphan
 * rescue gives every element an incoming link, but after heavy deletes a
 * few can still form islands that link only to each other (pgvector's
 * test 022's shape: 177 of 200 seeds left some, 4.5 elements of 2,500 on
 * average).  A walk from the entry point marks what is reachable; each
 * element it missed gets a link from the nearest element that a search
 * from the entry point finds for it and the walk reached, and the walk
 * goes on from it, so the rest of its island needs nothing more.  The
 * link only takes the place of one its list can spare (LinkFrom's
 * keepReach), so what the walk reached stays reachable and one walk is
 * enough.  It reads each live element once: a fraction of what the repair
 * before it costs.
 *
 * Not for inner product: there nearness is no metric, and the elements of
 * small norm, which are no query's nearest, are commonly unreachable by
 * design (4,514 of 10,000 random 10-d halfvecs after a build); linking
 * them in took the links the graph needs (pgvector's test 024: recall
 * 0.95 against its bound 0.98).
 *
 * With liveUnreached, live lists exactly the elements that the walk from
 * the entry point would miss (a build knows them: HnswGraphOrder), and
 * that walk is skipped.
 */
static int
RescueIslands(Relation index, HnswIndexInfo * info, HnswKeySet * deleted, ItemPointer live,
			  int nlive, bool liveUnreached, MemoryContext tmp)
{
	int			nlinked = 0;
	HnswMetaPageData meta = HnswReadMeta(index);
	ItemPointerData ep;
	IslandWalk	w;
	HnswKeySet	unreached;

	if (meta.entryBlkno == InvalidBlockNumber || nlive == 0 || info->metric.nonMetric)
		return 0;
	ItemPointerSet(&ep, meta.entryBlkno, meta.entryOffno);
	HnswKeySetInit(&w.reached, nlive + 1);
	w.unreached = NULL;
	w.cap = 1024;
	w.top = 0;
	w.stack = palloc(sizeof(ItemPointerData) * w.cap);
	if (liveUnreached)
	{
		HnswKeySetInit(&unreached, nlive + 1);
		for (int i = 0; i < nlive; i++)
			(void) HnswKeySetAdd(&unreached, HnswTidKey(&live[i]));
		w.unreached = &unreached;
	}
	else
	{
		WalkPush(&w, &ep);
		WalkOn(index, info, meta.dimensions, deleted, &w);
	}

	for (int i = 0; i < nlive; i++)
	{
		ItemPointerData near[HNSW_ISLAND_LINKERS];
		int			nnear;
		bool		linked = false;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (WalkReached(&w, &live[i]))
			continue;
		old = MemoryContextSwitchTo(tmp);
		nnear = HnswSearchNearestLive(index, info, meta.dimensions, &live[i], near,
									  HNSW_ISLAND_LINKERS);
		MemoryContextSwitchTo(old);
		for (int j = 0; j < nnear && !linked; j++)
			linked = WalkReached(&w, &near[j]) &&
				LinkFrom(index, info, meta.dimensions, deleted, NULL, &near[j], &live[i],
						 true);
		MemoryContextReset(tmp);
		if (linked)
		{
			nlinked++;
			WalkPush(&w, &live[i]);
			WalkOn(index, info, meta.dimensions, deleted, &w);
		}
	}
	pfree(w.reached.ents);
	if (w.unreached)
		pfree(unreached.ents);
	pfree(w.stack);
	return nlinked;
}

/* The live elements of an index, by a scan of its pages (in page order) */
static ItemPointerData *
ListLiveElements(Relation index, int *nlive)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	int			caplive = 1024;
	ItemPointerData *live = palloc(sizeof(ItemPointerData) * caplive);

	*nlive = 0;
	for (BlockNumber blk = 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBuffer(index, blk);
		Page		page;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			ItemPointerData etid;

			if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE ||
				HnswGetElementTuple(index, page, off)->state != HNSW_ELEMENT_LIVE)
				continue;
			ItemPointerSet(&etid, blk, off);
			PushTid(&live, nlive, &caplive, &etid);
		}
		UnlockReleaseBuffer(buf);
	}
	return live;
}

/*
 * After a build: link in the elements no path from the entry point reaches
 * (RescueIslands).  The graph a build makes is not fully connected either
 * (6 of 100,000 wink vectors at the defaults, 2026-12-06): rows no scan
 * could return, not even for their own value.  A build that wrote its
 * whole graph from memory knows them (unreached, nunreached >= 0; the walk
 * of HnswGraphOrder).  Otherwise (rows were inserted on disk) a page scan
 * lists the elements, none deleted yet, and RescueIslands walks the pages;
 * skipped when that walk's set of reached elements (up to 4 entries an
 * element) would not fit in maintenance_work_mem, which bounded the
 * build's graph too.
 */
void
HnswLinkUnreachable(Relation index, const ItemPointerData *unreached, int nunreached)
{
	HnswIndexInfo info;
	MemoryContext ctx;
	MemoryContext tmp;
	MemoryContext old;
	HnswKeySet	none;
	ItemPointerData *live = (ItemPointerData *) unreached;
	int			nlive = nunreached;
	instr_time	start;
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(start);
	HnswGetIndexInfo(index, &info);
	if (info.metric.nonMetric || nunreached == 0)
		return;					/* RescueIslands would do nothing: see there */
	ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw island rescue",
								ALLOCSET_DEFAULT_SIZES);
	tmp = AllocSetContextCreate(ctx, "hnsw island search", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(ctx);
	HnswKeySetInit(&none, 1);
	if (nunreached < 0)
		live = ListLiveElements(index, &nlive);

	/* The page walk's set of reached elements must fit where the graph did */
	if (nunreached < 0 &&
		(double) nlive * 4 * sizeof(HnswKeyEntry) > (double) maintenance_work_mem * 1024)
		ereport(DEBUG1,
				(errmsg_internal("hnsw build of \"%s\": %d elements are too many to look for unreachable ones in maintenance_work_mem",
								 RelationGetRelationName(index), nlive)));
	else
	{
		int			nlinked = RescueIslands(index, &info, &none, live, nlive, nunreached > 0,
											tmp);

		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		ereport(DEBUG2,
				(errmsg_internal("hnsw build of \"%s\": linked in %d unreachable elements (of %d %s) in %.1f ms",
								 RelationGetRelationName(index), nlinked, nlive,
								 nunreached > 0 ? "the graph left unreachable" : "live ones",
								 INSTR_TIME_GET_MILLISEC(elapsed))));
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
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
		bool		anyFreeable = false;
		int			maxLevel = -1;

		if (!c->withDeleted[blk])
			continue;
		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup;
			bool		freeable;

			if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
				continue;
			etup = HnswGetElementTuple(index, page, off);
			freeable = etup->state == HNSW_ELEMENT_DELETED &&
				!HnswKeySetContains(&c->named, TidKeyOf(blk, off));

			/* Tombstones about to be freed count as free slots already */
			if (etup->state == HNSW_ELEMENT_FREE || freeable)
				maxLevel = Max(maxLevel, etup->level);
			anyFreeable |= freeable;
		}
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (anyFreeable)
		{
			HnswPageWrite pw;

			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			HnswWriteStart(&pw, index, false);
			page = HnswWriteRegister(&pw, buf, false);
			for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
			{
				HnswElementTuple etup;

				if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
					continue;
				etup = HnswGetElementTuple(index, page, off);
				if (etup->state == HNSW_ELEMENT_DELETED &&
					!HnswKeySetContains(&c->named, TidKeyOf(blk, off)))
					etup->state = HNSW_ELEMENT_FREE;
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

/*
 * Pass 1 on one page: drop dead rows' heap TIDs, mark elements left with
 * none deleted, collect the page's tombstones.  Adds the rows kept to
 * *live and the elements kept to *liveElements; returns the rows removed.
 */
static int
MarkDeadOnPage(Relation index, Buffer buf, IndexBulkDeleteCallback callback,
			   void *callback_state, HnswKeySet * deleted, double *live,
			   int *liveElements)
{
	Page		page = BufferGetPage(buf);
	BlockNumber blk = BufferGetBlockNumber(buf);
	OffsetNumber dead[MaxOffsetNumber];
	int			ndead = 0;
	int			removed = 0;
	HnswPageWrite pw;

	for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
	{
		HnswElementTuple etup;
		int			keep = 0;

		if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
			continue;
		etup = HnswGetElementTuple(index, page, off);

		/* Old tombstones too: any link to one is repaired below */
		if (etup->state == HNSW_ELEMENT_DELETED)
			HnswKeySetAdd(deleted, TidKeyOf(blk, off));

		/*
		 * A free slot is named by no live list, and an insert may reuse it at
		 * any moment: it must not count as deleted, or the links to the
		 * element that takes it would be "repaired" away
		 */
		if (etup->state != HNSW_ELEMENT_LIVE)
			continue;
		for (int i = 0; i < etup->nheaptids; i++)
			if (!callback(HnswElementHeapTid(etup, i), callback_state))
				keep++;
		if (keep < etup->nheaptids)
			dead[ndead++] = off;
		if (keep > 0)
			(*liveElements)++;
		*live += keep;
	}
	if (ndead == 0)
		return 0;

	HnswWriteStart(&pw, index, false);
	page = HnswWriteRegister(&pw, buf, false);
	for (int i = 0; i < ndead; i++)
	{
		HnswElementTuple etup = HnswGetElementTuple(index, page, dead[i]);
		int			keep = 0;

		for (int j = 0; j < etup->nheaptids; j++)
		{
			ItemPointerData tid = *HnswElementHeapTid(etup, j);

			if (!callback(&tid, callback_state))
				*HnswElementHeapTid(etup, keep++) = tid;
		}
		removed += etup->nheaptids - keep;
		for (int j = keep; j < etup->nheaptids; j++)
			ItemPointerSetInvalid(HnswElementHeapTid(etup, j));
		etup->nheaptids = keep;
		if (keep == 0)
		{
			etup->state = HNSW_ELEMENT_DELETED;
			HnswKeySetAdd(deleted, TidKeyOf(blk, dead[i]));
		}
	}
	HnswWriteFinish(&pw);
	return removed;
}

/* ambulkdelete: drop dead rows, then repair the graph around deleted elements */
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
	int			liveElements = 0;
	HnswIndexInfo hinfo;
	HnswMetaPageData meta = HnswReadMeta(index);

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) MemoryContextAllocZero(old, sizeof(IndexBulkDeleteResult));
	HnswGetIndexInfo(index, &hinfo);
	HnswKeySetInit(&deleted, 1024);

	/* Pass 1: drop dead rows */
	stats->num_index_tuples = 0;
	for (BlockNumber blk = 1; blk < nblocks; blk++)
	{
		Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);

		vacuum_delay_point();
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		stats->tuples_removed += MarkDeadOnPage(index, buf, callback, callback_state, &deleted,
												&stats->num_index_tuples, &liveElements);
		UnlockReleaseBuffer(buf);
	}

	if (deleted.count > 0)
	{
		MemoryContext rctx = AllocSetContextCreate(ctx, "hnsw repair", ALLOCSET_SMALL_SIZES);
		HnswCensus	census;

		/*
		 * Most of the index deleted: two-hop candidates are mostly deleted
		 * themselves, so the first round searches for every damaged list,
		 * thin ones (fewer than m live level-0 links) included
		 */
		bool		search = deleted.count >= liveElements;

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
			census.minLinks = search && round == 0 ? hinfo.m : 0;
			TakeCensus(index, info->strategy, &deleted, &census);
			if (census.ntodo == 0 || round == HNSW_REPAIR_ROUNDS)
				break;
			for (int i = 0; i < census.ntodo; i++)
			{
				MemoryContext rold = MemoryContextSwitchTo(rctx);

				CHECK_FOR_INTERRUPTS();
				HnswRepairElement(index, &hinfo, meta.dimensions, &census.todo[i], &deleted,
								  census.minLinks, search);
				MemoryContextSwitchTo(rold);
				MemoryContextReset(rctx);
			}
			FreeCensus(&census);
		}
		RescueOrphans(index, &hinfo, &deleted, &census);
		RescueIslands(index, &hinfo, &deleted, census.live, census.nlive, false, rctx);
		MarkFree(index, info->strategy, &census);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

/* amvacuumcleanup: report the index size and the rows it holds */
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
			{
				HnswElementTuple etup;

				if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
					continue;
				etup = HnswGetElementTuple(index, page, off);
				if (etup->state == HNSW_ELEMENT_LIVE)
					stats->num_index_tuples += etup->nheaptids;
			}
			UnlockReleaseBuffer(buf);
		}
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->estimated_count = false;
	return stats;
}
