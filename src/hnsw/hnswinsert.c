/*-------------------------------------------------------------------------
 *
 * hnswinsert.c
 *	  Insert into an hnsw index on disk
 *
 * The search runs through the core (hnswsearch.c); this file is the core's
 * access to the pages: an element met for the first time is read (value
 * copied, distance measured) and kept by TID for the rest of the insert.
 *
 * Concurrency.  Every insert holds the heavyweight page lock
 * HNSW_UPDATE_LOCK: in share mode normally, in exclusive mode when it will
 * become the new entry point (empty index, or a level above the current
 * entry's).  So the entry point only changes while no other insert runs,
 * and VACUUM can wait for all inserts in flight by taking the lock once.
 * (The on-disk part of a parallel build takes no heavyweight lock, which
 * would not conflict between its participants anyway: the metapage is
 * then only changed under its buffer lock, and an entry point only ever
 * moves to a higher level.)
 *
 * Buffer locks are held only while copying one tuple or changing one
 * element, never while reading another page, so there is no lock ordering
 * between data pages beyond the rule in hnsw.h.
 *
 * The new element and its neighbour tuple are written complete (with its
 * own neighbour lists) before any neighbour links to it, so a concurrent
 * search never meets a half-written element.  A neighbour's list is
 * re-read under an exclusive lock before one slot in it is replaced, so
 * concurrent inserts that update the same neighbour cannot lose each
 * other's links.  A row whose value equals a live element's found by the
 * search joins that element's heap TIDs when it has room.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw/hnsw.h"
#include "hnsw/hnswpeek.h"

/*
 * How wide the search is that looks for the element of a value already
 * indexed (HnswInsertOnDisk's valueIndexed)
 */
#define HNSW_DUPLICATE_EF			16

/* Per-insert search state: elements read so far, by TID */
typedef struct InsertState
{
	Relation	index;
	HnswIndexInfo *info;
	int			dim;
	const char *q;
	Size		valueSize;		/* bytes of a value, or 0 when sizes vary */
	HnswNode   *nodes;
	int			nnodes;
	int			capnodes;
	HnswKeySet	map;			/* TID -> node index */
	HnswKeySet	visited;		/* TIDs the current search visited */
	HnswSearch	search;
	uint64		self;			/* a repair: the element repaired (else 0) */
}			InsertState;

/* Return the node index of a TID, reading it (value and distance to q) */
static int
GetNode(InsertState * st, ItemPointer tid)
{
	uint64		key = HnswTidKey(tid);
	int32		idx = HnswKeyMapGet(&st->map, key);
	HnswNode   *node;

	if (idx >= 0)
		return idx;
	if (st->nnodes == st->capnodes)
	{
		st->capnodes *= 2;
		st->nodes = repalloc_huge(st->nodes, sizeof(HnswNode) * st->capnodes);
	}
	idx = st->nnodes++;
	node = &st->nodes[idx];
	(void) HnswReadElement(st->index, st->info, tid, st->dim, node, true);
	node->dist = HnswDistance(&st->info->metric, st->q, node->value);
	HnswKeyMapPut(&st->map, key, idx);
	return idx;
}

/*
 * Start fetching the elements of up to 2 * HNSW_MAX_M tids that are about
 * to be read (GetNode), all together, so that their cache misses overlap
 * instead of coming one read at a time: those valid and not read before.
 * Only a prefetch (the scan's HnswPrefetchElements): it cannot change what
 * is read.
 */
static void
PrefetchUnread(InsertState * st, ItemPointer tids, int n)
{
	ItemPointerData unread[2 * HNSW_MAX_M];
	int			nunread = 0;

	for (int i = 0; i < n; i++)
		if (ItemPointerIsValid(&tids[i]) && HnswKeyMapGet(&st->map, HnswTidKey(&tids[i])) < 0)
			unread[nunread++] = tids[i];
	HnswPrefetchElements((HnswRelCache *) st->index->rd_amcache, unread, nunread,
						 offsetof(HnswElementTupleData, value) + st->valueSize);
}

/* The core's access: unvisited neighbours of node key at a level */
static int
DiskExpand(HnswSearch *s, HnswKey key, int level, HnswPair *out)
{
	InsertState *st = (InsertState *) s->graph;
	ItemPointerData nbrs[2 * HNSW_MAX_M];
	int			nn = HnswReadNeighbors(st->index, &st->nodes[key].neighbortid, level, nbrs, true);
	int			nvisit = 0;

	for (int i = 0; i < nn; i++)
		if (HnswKeySetAdd(&st->visited, HnswTidKey(&nbrs[i])))
			nbrs[nvisit++] = nbrs[i];
	PrefetchUnread(st, nbrs, nvisit);
	for (int i = 0; i < nvisit; i++)
	{
		int			e = GetNode(st, &nbrs[i]);

		out[i].key = e;
		out[i].dist = st->nodes[e].dist;
	}
	return nvisit;
}

static void
DiskForget(HnswSearch *s, int level)
{
	HnswKeySetClear(&((InsertState *) s->graph)->visited);
}

static void
DiskVisit(HnswSearch *s, HnswKey key)
{
	InsertState *st = (InsertState *) s->graph;

	HnswKeySetAdd(&st->visited, HnswTidKey(&st->nodes[key].tid));
}

static const HnswGraphAccess DiskAccess = {DiskExpand, DiskForget, DiskVisit, NULL};

/*
 * A repair's search counts only live elements other than the one repaired
 * towards ef: deleted ones are still passed through (their lists are the
 * graph's paths until VACUUM frees them), but after heavy deletes most of
 * what a search meets is deleted, and counting those would leave a handful
 * of live candidates.
 */
static bool
RepairCounts(HnswSearch *s, HnswKey key)
{
	InsertState *st = (InsertState *) s->graph;

	return !st->nodes[key].deleted && HnswTidKey(&st->nodes[key].tid) != st->self;
}

static const HnswGraphAccess RepairAccess = {DiskExpand, DiskForget, DiskVisit, RepairCounts};

/* Start a search for q: no nodes read yet */
static void
InitInsertState(InsertState * st, Relation index, HnswIndexInfo * info, const char *q, int dim)
{
	memset(st, 0, sizeof(*st));
	st->index = index;
	st->info = info;
	st->dim = dim;
	st->q = q;
	st->valueSize = info->type->fixedSize ? info->type->fixedSize(dim) : 0;
	st->capnodes = 256;
	st->nodes = palloc(sizeof(HnswNode) * st->capnodes);
	/*
	 * Sized for what an insert reads: the search visits about
	 * ef_construction expanded elements' lists of up to 2m, and linking
	 * reads the lists of up to 2m neighbours (grown from 512 entries, the
	 * map's rehashes were 6% of an insert's time at m = 16)
	 */
	HnswKeySetInit(&st->map, info->efConstruction * 2 * info->m);
	HnswKeySetInit(&st->visited, info->efConstruction * info->m);
	HnswSearchInit(&st->search, &DiskAccess, st, info->efConstruction, false);
}

/*
 * Descend from the entry point to the given level and start a layer search
 * there; returns false for an empty index.
 */
static bool
StartSearch(InsertState * st, HnswMetaPageData * meta, int level)
{
	ItemPointerData eptid;
	HnswPair	ep;

	if (meta->entryBlkno == InvalidBlockNumber || meta->entryLevel < level)
		return false;
	ItemPointerSet(&eptid, meta->entryBlkno, meta->entryOffno);
	ep.key = GetNode(st, &eptid);
	ep.dist = st->nodes[ep.key].dist;
	ep = HnswSearchDescend(&st->search, ep, meta->entryLevel, level);
	HnswSearchStart(&st->search, level, &ep, 1);
	return true;
}

/*
 * Link neighbour n back to the new element at a level.  Picks a free slot,
 * a slot of a deleted element, or the slot HnswFullListVictim names (with
 * force, there always is one, so that the new element gets at least one
 * incoming link); then re-checks that slot under an exclusive lock before
 * writing it.  Returns whether it linked.
 */
static bool
UpdateNeighbor(InsertState * st, int nidx, ItemPointer newtid, int level, bool building,
			   bool force)
{
	ItemPointerData ntid = st->nodes[nidx].neighbortid;
	const char *nvalue = st->nodes[nidx].value;
	ItemPointerData slots[2 * HNSW_MAX_M];
	int			nslots;
	int			idx = -1;
	ItemPointerData expect;
	Buffer		buf;
	HnswNeighborTuple ntup;
	ItemPointer list;
	HnswPageWrite pw;

	nslots = HnswReadNeighbors(st->index, &ntid, level, slots, false);
	if (nslots == 0)
		return false;
	for (int i = 0; i < nslots && idx < 0; i++)
		if (!ItemPointerIsValid(&slots[i]))
			idx = i;
	if (idx < 0)
	{
		HnswPair	cand[2 * HNSW_MAX_M + 1];
		const char *values[2 * HNSW_MAX_M + 1];
		const char *sorted[2 * HNSW_MAX_M + 1];
		int			victim;

		for (int i = 0; i < nslots; i++)
		{
			int			e = GetNode(st, &slots[i]);

			if (st->nodes[e].deleted)
			{
				idx = i;
				break;
			}
			cand[i].key = i;
			cand[i].dist = HnswDistance(&st->info->metric, nvalue, st->nodes[e].value);
			values[i] = st->nodes[e].value;
		}
		if (idx < 0)
		{
			cand[nslots].key = nslots;
			cand[nslots].dist = HnswDistance(&st->info->metric, nvalue, st->q);
			values[nslots] = st->q;
			qsort(cand, nslots + 1, sizeof(HnswPair), HnswComparePairs);
			for (int i = 0; i <= nslots; i++)
				sorted[i] = values[cand[i].key];
			victim = HnswFullListVictim(&st->info->metric, cand, nslots + 1, sorted,
										(HnswKey) nslots, force, NULL);
			if (victim < 0)
				return false;
			idx = (int) cand[victim].key;
		}
	}
	expect = slots[idx];

	buf = ReadBuffer(st->index, ItemPointerGetBlockNumber(&ntid));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriteStart(&pw, st->index, building);
	ntup = HnswGetNeighborTuple(st->index, HnswWriteRegister(&pw, buf, false),
								ItemPointerGetOffsetNumber(&ntid));
	if (ntup->level < level)
		idx = -1;				/* the slot was freed and reused meanwhile */
	else
	{
		int			m = ntup->nslots / (ntup->level + 2);

		list = ntup->tids + HnswLevelStart(m, level);
		nslots = HnswLevelSlots(m, level);
		if (idx >= nslots || HnswTidKey(&list[idx]) != HnswTidKey(&expect))
		{
			/* Someone changed the list meanwhile: settle for any free slot */
			idx = -1;
			for (int i = 0; i < nslots && idx < 0; i++)
				if (!ItemPointerIsValid(&list[i]))
					idx = i;
		}
		for (int i = 0; i < nslots && idx >= 0; i++)
			if (HnswTidKey(&list[i]) == HnswTidKey(newtid))
				idx = -1;
	}
	if (idx >= 0)
	{
		list[idx] = *newtid;
		HnswWriteFinish(&pw);
	}
	else
		HnswWriteAbort(&pw);
	UnlockReleaseBuffer(buf);
	return idx >= 0;
}

/*
 * Give a live element with the same value the new row's heap TID, if it
 * has room (checked again under the lock).  Returns whether it did.
 */
static bool
AddToDuplicate(InsertState * st, int didx, ItemPointer heaptid, bool building)
{
	ItemPointerData tid = st->nodes[didx].tid;
	Buffer		buf = ReadBuffer(st->index, ItemPointerGetBlockNumber(&tid));
	HnswPageWrite pw;
	HnswElementTuple etup;
	bool		added = false;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriteStart(&pw, st->index, building);
	etup = HnswGetElementTuple(st->index, HnswWriteRegister(&pw, buf, false),
							   ItemPointerGetOffsetNumber(&tid));
	if (etup->state == HNSW_ELEMENT_LIVE && etup->nheaptids < HNSW_HEAPTIDS &&
		VARSIZE(etup->value) == VARSIZE(st->q) &&
		memcmp(etup->value, st->q, VARSIZE(st->q)) == 0)
	{
		*HnswElementHeapTid(etup, etup->nheaptids) = *heaptid;
		etup->nheaptids++;
		added = true;
		HnswWriteFinish(&pw);
	}
	else
		HnswWriteAbort(&pw);
	UnlockReleaseBuffer(buf);
	return added;
}

/* Is one of the nearest elements found a live one with the same value? */
static bool
JoinDuplicate(InsertState * st, HnswPair *w, int nw, ItemPointer heaptid, bool building)
{
	Size		size = VARSIZE(st->q);

	for (int j = 0; j < nw && w[j].dist <= w[0].dist; j++)
	{
		HnswNode   *node = &st->nodes[w[j].key];

		if (node->deleted || node->nheaptids >= HNSW_HEAPTIDS || VARSIZE(node->value) != size ||
			memcmp(node->value, st->q, size) != 0)
			continue;
		if (AddToDuplicate(st, (int) w[j].key, heaptid, building))
			return true;
	}
	return false;
}

/*
 * Finish the write that placed an element.  The metapage goes in the same
 * record when it changes: a new insert page (newPage valid and past the
 * recorded one), a new entry point (the element is above the current one,
 * checked again here under the metapage's lock), or the first dimensions.
 */
static void
FinishPlacement(HnswPageWrite * pw, Relation index, BlockNumber newPage,
				bool setEntry, ItemPointer tid, int level, int dim)
{
	Buffer		metabuf;
	HnswMetaPage m;

	if (newPage == InvalidBlockNumber && !setEntry)
	{
		HnswWriteFinish(pw);
		return;
	}
	metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	m = HnswPageGetMeta(HnswWriteRegister(pw, metabuf, false));
	if (newPage != InvalidBlockNumber && newPage > m->insertPage)
		m->insertPage = newPage;
	if (setEntry && (m->entryBlkno == InvalidBlockNumber || level > m->entryLevel))
	{
		m->entryBlkno = ItemPointerGetBlockNumber(tid);
		m->entryOffno = ItemPointerGetOffsetNumber(tid);
		m->entryLevel = level;
	}
	if (m->dimensions == 0)
		m->dimensions = dim;
	HnswWriteFinish(pw);
	UnlockReleaseBuffer(metabuf);
}

/* Pages the free space map may offer an insert before it appends */
#define HNSW_FREE_TRIES		4

/* A new element's tuples, formed before they are placed */
typedef struct NewElement
{
	char	   *etup;
	Size		esize;
	char	   *ntup;
	Size		nsize;
	int			level;
	int			dim;
	bool		setEntry;
}			NewElement;

/*
 * Write the new element over a free slot (and its neighbour tuple over the
 * slot's) on a page the free space map offers.  The best fit is taken: the
 * free element of the lowest level that can hold the new one's lists, then
 * the shortest.  Slots of higher levels are kept for elements of higher
 * levels (one spent on a level-0 element would leave a later high-level
 * element nowhere to go but a new page).  Both items are overwritten in
 * place, their tails zeroed.  The map is told what the page has left; a
 * page that turns out to have nothing (the map is only a hint) is
 * corrected and the next one tried.  Returns false when none had room.
 */
static bool
ReuseFreeSlot(Relation index, NewElement * ne, ItemPointer newtid)
{
	Size		need = (Size) (ne->level + 1) * HNSW_FSM_UNIT;
	BlockNumber blk = GetPageWithFreeSpace(index, need);

	for (int tries = 0; tries < HNSW_FREE_TRIES && blk != InvalidBlockNumber; tries++)
	{
		Buffer		buf;
		Buffer		nbuf = InvalidBuffer;
		Page		page;
		OffsetNumber found = InvalidOffsetNumber;
		int			foundLevel = 0;
		Size		foundLen = 0;
		ItemPointerData ntid;
		int			leftLevel = -1;

		if (blk == HNSW_METAPAGE_BLKNO || blk >= RelationGetNumberOfBlocks(index))
		{
			/* A stale map entry (the index was rebuilt or truncated) */
			blk = RecordAndGetPageWithFreeSpace(index, blk, 0, need);
			continue;
		}
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup;
			Size		len = ItemIdGetLength(PageGetItemId(page, off));

			if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE)
				continue;
			etup = HnswGetElementTuple(index, page, off);
			if (etup->state != HNSW_ELEMENT_FREE || etup->level < ne->level || len < ne->esize)
				continue;
			if (found == InvalidOffsetNumber || etup->level < foundLevel ||
				(etup->level == foundLevel && len < foundLen))
			{
				found = off;
				foundLevel = etup->level;
				foundLen = len;
			}
		}

		if (found != InvalidOffsetNumber)
		{
			ntid = HnswGetElementTuple(index, page, found)->neighbortid;
			HnswCheckLink(index, &ntid);
			if (ItemPointerGetBlockNumber(&ntid) != blk)
			{
				/* Lock the other page too, the lower block first */
				if (ItemPointerGetBlockNumber(&ntid) < blk)
				{
					LockBuffer(buf, BUFFER_LOCK_UNLOCK);
					nbuf = ReadBuffer(index, ItemPointerGetBlockNumber(&ntid));
					LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
					LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
					/* Still free, with the same neighbour tuple? */
					if (found > PageGetMaxOffsetNumber(page) ||
						HnswGetElementTuple(index, page, found)->state != HNSW_ELEMENT_FREE ||
						HnswTidKey(&HnswGetElementTuple(index, page, found)->neighbortid) !=
						HnswTidKey(&ntid))
					{
						UnlockReleaseBuffer(nbuf);
						UnlockReleaseBuffer(buf);
						blk = GetPageWithFreeSpace(index, need);
						continue;
					}
				}
				else
				{
					nbuf = ReadBuffer(index, ItemPointerGetBlockNumber(&ntid));
					LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
				}
			}
		}

		/* What the page offers once the slot is taken */
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup;

			if (HnswItemKind(page, off) != HNSW_ELEMENT_TUPLE || off == found)
				continue;
			etup = HnswGetElementTuple(index, page, off);
			if (etup->state == HNSW_ELEMENT_FREE && etup->level > leftLevel)
				leftLevel = etup->level;
		}

		if (found != InvalidOffsetNumber)
		{
			HnswPageWrite pw;
			Page		wpage;
			Page		npage;
			char	   *slot;
			Size		nlen;
			HnswNeighborTuple old;

			HnswWriteStart(&pw, index, false);
			wpage = HnswWriteRegister(&pw, buf, false);
			npage = BufferIsValid(nbuf) ? HnswWriteRegister(&pw, nbuf, false) : wpage;
			old = HnswGetNeighborTuple(index, npage, ItemPointerGetOffsetNumber(&ntid));
			nlen = ItemIdGetLength(PageGetItemId(npage, ItemPointerGetOffsetNumber(&ntid)));
			if (nlen < ne->nsize)
				elog(ERROR, "hnsw free slot (%u,%u) of level %d has a neighbor tuple of %zu bytes",
					 blk, found, foundLevel, nlen);
			slot = (char *) old;
			memcpy(slot, ne->ntup, ne->nsize);
			memset(slot + ne->nsize, 0, nlen - ne->nsize);

			((HnswElementTuple) ne->etup)->neighbortid = ntid;
			slot = (char *) PageGetItem(wpage, PageGetItemId(wpage, found));
			memcpy(slot, ne->etup, ne->esize);
			memset(slot + ne->esize, 0, foundLen - ne->esize);
			ItemPointerSet(newtid, blk, found);
			FinishPlacement(&pw, index, InvalidBlockNumber, ne->setEntry, newtid, ne->level,
							ne->dim);
			if (BufferIsValid(nbuf))
				UnlockReleaseBuffer(nbuf);
			UnlockReleaseBuffer(buf);
			RecordPageWithFreeSpace(index, blk, (leftLevel + 1) * HNSW_FSM_UNIT);
			return true;
		}
		UnlockReleaseBuffer(buf);
		blk = RecordAndGetPageWithFreeSpace(index, blk, (leftLevel + 1) * HNSW_FSM_UNIT, need);
	}
	return false;
}

/* Add a tuple to a page; its offset must be the one expected */
static OffsetNumber
AddTuple(Relation index, Page page, char *tup, Size size)
{
	OffsetNumber off = PageAddItem(page, tup, size, InvalidOffsetNumber, false, false);

	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add hnsw tuple to \"%s\"", RelationGetRelationName(index));
	return off;
}

/*
 * Place the new element: in a free slot if VACUUM left one, else with its
 * neighbour tuple on the insert page if both fit, else on a new page (the
 * neighbour tuple on another new page when a large value leaves no room
 * for it).  The metapage is logged in the same record when the insert page
 * or the entry point changes.  Sets *newtid.
 */
static void
WriteElement(Relation index, NewElement * ne, bool building, ItemPointer newtid)
{
	Buffer		buf = InvalidBuffer;
	Buffer		nbuf = InvalidBuffer;
	bool		isNew = false;
	HnswPageWrite pw;
	Page		page;
	Page		npage;
	Size		both = ne->esize + ne->nsize + 2 * sizeof(ItemIdData);
	ItemPointerData ntid;
	BlockNumber blkno;

	if (!building && ReuseFreeSlot(index, ne, newtid))
		return;

	blkno = HnswReadMeta(index).insertPage;
	if (blkno != HNSW_METAPAGE_BLKNO)
	{
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (PageGetExactFreeSpace(BufferGetPage(buf)) < both)
		{
			UnlockReleaseBuffer(buf);
			buf = InvalidBuffer;
		}
	}
	if (!BufferIsValid(buf))
	{
		buf = AmExtendIndex(index, MAIN_FORKNUM);
		isNew = true;
		if (both > HNSW_PAGE_ROOM + sizeof(ItemIdData))
			nbuf = AmExtendIndex(index, MAIN_FORKNUM);
	}

	HnswWriteStart(&pw, index, building);
	page = HnswWriteRegister(&pw, buf, isNew);
	if (isNew)
		HnswInitPage(page);
	npage = page;
	if (BufferIsValid(nbuf))
	{
		npage = HnswWriteRegister(&pw, nbuf, true);
		HnswInitPage(npage);
	}
	/* The neighbour tuple first: the element tuple names it */
	ItemPointerSet(&ntid, BufferGetBlockNumber(BufferIsValid(nbuf) ? nbuf : buf),
				   AddTuple(index, npage, ne->ntup, ne->nsize));
	((HnswElementTuple) ne->etup)->neighbortid = ntid;
	ItemPointerSet(newtid, BufferGetBlockNumber(buf), AddTuple(index, page, ne->etup, ne->esize));
	FinishPlacement(&pw, index,
					isNew ? BufferGetBlockNumber(BufferIsValid(nbuf) ? nbuf : buf) : InvalidBlockNumber,
					ne->setEntry, newtid, ne->level, ne->dim);
	if (BufferIsValid(nbuf))
		UnlockReleaseBuffer(nbuf);
	UnlockReleaseBuffer(buf);
}

/*
 * Insert one value into the on-disk graph (Algorithm 1), or, when a live
 * element holds the same value and has room, add the row to it
 */
void
HnswInsertOnDisk(Relation index, HnswIndexInfo * info, const char *value, int dim,
				 ItemPointer heaptid, bool building, bool valueIndexed)
{
	int			m = info->m;
	int			level = HnswRandomLevel(m, HnswMaxLevelFor(m), pg_prng_double(&pg_global_prng_state));
	LOCKMODE	lockmode = ShareLock;
	HnswMetaPageData meta;
	InsertState st;
	int		  **chosen;
	int		   *nchosen;
	NewElement	ne;
	ItemPointerData newtid;
	ItemPointerData none;

	if (dim > info->type->maxDimensions)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot have more than %d dimensions for hnsw index",
						info->type->name, info->type->maxDimensions)));

	if (!building)
		LockPage(index, HNSW_UPDATE_LOCK, lockmode);
	meta = HnswReadMeta(index);
	if (!building && (meta.entryBlkno == InvalidBlockNumber || level > meta.entryLevel))
	{
		UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
		lockmode = ExclusiveLock;
		LockPage(index, HNSW_UPDATE_LOCK, lockmode);
		meta = HnswReadMeta(index);
	}
	if (meta.dimensions != 0 && meta.dimensions != (uint32) dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %d", meta.dimensions, dim)));

	InitInsertState(&st, index, info, value, dim);

	/*
	 * The value is most likely an element's already (an UPDATE that kept
	 * it: the old row's).  A narrow search finds that element at distance
	 * 0 and the row joins its heap TIDs; only when that fails does the
	 * insert search as wide as ef_construction.
	 */
	if (valueIndexed && StartSearch(&st, &meta, 0))
	{
		HnswPair	w[HNSW_DUPLICATE_EF];
		int			nw;

		st.search.ef = Min(HNSW_DUPLICATE_EF, info->efConstruction);
		HnswSearchLayer(&st.search, 0);
		nw = HnswSearchResults(&st.search, w);
		if (JoinDuplicate(&st, w, nw, heaptid, building))
		{
			if (!building)
				UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
			return;
		}
		st.search.ef = info->efConstruction;
	}

	chosen = palloc0(sizeof(int *) * (level + 1));
	nchosen = palloc0(sizeof(int) * (level + 1));

	if (StartSearch(&st, &meta, Min(level, meta.entryLevel)))
	{
		HnswPair   *w = palloc(sizeof(HnswPair) * (info->efConstruction + 1));

		for (int l = Min(level, meta.entryLevel); l >= 0; l--)
		{
			int			nw;
			HnswPair   *cand;
			const char **values;
			bool	   *selected;
			int			nlive = 0;
			int			want = HnswLevelSlots(m, l);

			HnswSearchLayer(&st.search, l);
			nw = HnswSearchResults(&st.search, w);
			if (l == 0 && JoinDuplicate(&st, w, nw, heaptid, building))
			{
				if (!building)
					UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
				return;
			}
			cand = palloc(sizeof(HnswPair) * Max(nw, 1));
			values = palloc(sizeof(char *) * Max(nw, 1));
			selected = palloc(sizeof(bool) * Max(nw, 1));

			/* Elements VACUUM is removing must not gain new links */
			for (int i = 0; i < nw; i++)
			{
				if (st.nodes[w[i].key].deleted)
					continue;
				cand[nlive] = w[i];
				values[nlive] = st.nodes[w[i].key].value;
				nlive++;
			}
			HnswSelectNeighbors(&info->metric, cand, nlive, values, want, true, selected);
			chosen[l] = palloc(sizeof(int) * want);
			for (int i = 0; i < nlive; i++)
				if (selected[i] && nchosen[l] < want)
					chosen[l][nchosen[l]++] = (int) cand[i].key;
			if (l > 0)
				HnswSearchStart(&st.search, l - 1, w, nw);
		}
	}

	/* Form the element and neighbour tuples, the lists complete */
	ne.level = level;
	ne.dim = dim;
	ne.esize = HNSW_ELEMENT_TUPLE_SIZE(VARSIZE(value));
	ne.nsize = HNSW_NEIGHBOR_TUPLE_SIZE(level, m);
	if (ne.esize > HNSW_PAGE_ROOM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("index row size %zu exceeds hnsw maximum, %zu", ne.esize,
						(Size) HNSW_PAGE_ROOM),
				 errhint("Values larger than a page cannot be indexed.")));
	ne.etup = palloc(ne.esize);
	ItemPointerSetInvalid(&none);
	HnswFormElement(ne.etup, level, heaptid, 1, &none, value);
	ne.ntup = palloc(ne.nsize);
	HnswFormNeighbors(ne.ntup, level, m);
	for (int l = 0; l <= level; l++)
	{
		ItemPointer slot = ((HnswNeighborTuple) ne.ntup)->tids + HnswLevelStart(m, l);

		for (int j = 0; j < nchosen[l]; j++)
			slot[j] = st.nodes[chosen[l][j]].tid;
	}
	ne.setEntry = meta.entryBlkno == InvalidBlockNumber || level > meta.entryLevel;
	WriteElement(index, &ne, building, &newtid);

	/*
	 * Now link the chosen neighbours back.  If none takes the new element at
	 * level 0, nothing could reach it, so the nearest one must.
	 */
	for (int l = 0; l <= level; l++)
	{
		bool		linked = false;

		for (int j = 0; j < nchosen[l]; j++)
			linked |= UpdateNeighbor(&st, chosen[l][j], &newtid, l, building, false);
		if (l == 0 && !linked && nchosen[0] > 0)
			UpdateNeighbor(&st, chosen[0][0], &newtid, 0, building, true);
	}

	if (!building)
		UnlockPage(index, HNSW_UPDATE_LOCK, lockmode);
}

/* aminsert: index one new heap tuple */
bool
hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		   IndexInfo *indexInfo)
{
	MemoryContext ctx;
	MemoryContext old;
	HnswIndexInfo info;
	char	   *value;
	int			dim;

	if (isnull[0])
		return false;

	/*
	 * One scratch context per statement (kept in ii_AmCache), reset after
	 * each row: creating a context per row cost page faults on every insert.
	 */
	if (indexInfo->ii_AmCache == NULL)
		indexInfo->ii_AmCache = AllocSetContextCreate(indexInfo->ii_Context,
													  "hnsw insert temporary",
													  ALLOCSET_DEFAULT_SIZES);
	ctx = (MemoryContext) indexInfo->ii_AmCache;
	old = MemoryContextSwitchTo(ctx);
	HnswGetIndexInfo(index, &info);
	value = HnswPrepareValue(index, &info, values[0], false, &dim);
	if (value != NULL)
		HnswInsertOnDisk(index, &info, value, dim, heap_tid, false, indexUnchanged);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ctx);
	return false;
}

/* Append a candidate to a growable array */
static void
PushCandidate(HnswPair **cand, int *ncand, int *capcand, HnswKey key, float dist)
{
	if (*ncand == *capcand)
	{
		*capcand *= 2;
		*cand = repalloc(*cand, sizeof(HnswPair) * *capcand);
	}
	(*cand)[*ncand].key = key;
	(*cand)[*ncand].dist = dist;
	(*ncand)++;
}

/*
 * Whether a list of a live element needs repair: it names a deleted element,
 * or has fewer than minLinks live links.  nlive: its live links.
 */
static bool
ListToRepair(ItemPointer slots, int nslots, HnswKeySet * deleted, int minLinks, int *nlive)
{
	bool		any = false;

	*nlive = 0;
	for (int i = 0; i < nslots; i++)
	{
		if (!ItemPointerIsValid(&slots[i]))
			continue;
		if (HnswKeySetContains(deleted, HnswTidKey(&slots[i])))
			any = true;
		else
			(*nlive)++;
	}
	return any || *nlive < minLinks;
}

/* How many live elements a repair's search looks for: see HnswRepairElement */
static int
RepairEf(HnswIndexInfo * info)
{
	return Max(Max(info->efConstruction, 2 * HnswLevelSlots(info->m, 0)),
			   HNSW_DEFAULT_EF_CONSTRUCTION);
}

/* A search for live element e on VACUUM's behalf (RepairCounts, RepairEf) */
static void
InitRepairState(InsertState * st, Relation index, HnswIndexInfo * info, HnswNode * e, int dim)
{
	InitInsertState(st, index, info, e->value, dim);
	st->search.access = &RepairAccess;
	st->search.ef = RepairEf(info);
	st->self = HnswTidKey(&e->tid);
}

/*
 * VACUUM's repair of live element etid, whose lists name deleted elements
 * (deleted: their TIDs) or whose level-0 list has fewer than minLinks live
 * links.  Live neighbours stay: dropping one could leave it with no
 * incoming link.  The other slots of each list to repair are chosen among
 * the live neighbours of the deleted neighbours (they lost an incoming
 * link, and they carry the graph's long links: a search near the element
 * may find its own cluster only) and, with search, what a search for the
 * element from the entry point finds, as for an insert: ef_construction
 * live elements at each level (RepairCounts), at least twice the level-0
 * capacity, so that the heuristic has a choice when ef_construction is as
 * small as pgvector allows (2m), and at least the default ef_construction:
 * an index built with a smaller one is repaired as if built with the
 * default, because the repair starts from a graph that lost most of its
 * links, where a narrow search stays in the first region it finds
 * (pgvector's test 022, m = 4, ef_construction = 8, 1,000 seeds: recall@20
 * after VACUUM 0.907 on average and none below the test's bound 0.80,
 * against 0.886 and 5 below with 4m; docs/hnsw.md).  At the defaults it
 * changes nothing.  The heuristic's picks go first, then the
 * nearest of the rest, up to the level's capacity.  The new neighbours link
 * back to the element where their lists' rule lets them.
 *
 * hnswbulkdelete asks for the search when most of the index was deleted:
 * then the lists left are mostly links to tombstones and what the deleted
 * neighbours linked to is mostly deleted too, so patching from them leaves
 * lists that no longer lead to the element's neighbourhood (pgvector's test
 * 022, 75% of bit(52) rows deleted at m = 4: recall@20 0.75 with patching,
 * 0.89 with the search; docs/hnsw.md).  pgvector re-searches every damaged
 * element; after light deletes semvec patches, at a small fraction of the
 * cost (the search is about an insert's work per damaged element, and
 * nearly every element names one of 10% deleted rows at m = 16).
 *
 * If a concurrent insert changed a list meanwhile, its links to deleted
 * elements are just cleared (the next repair round finds the element
 * again).  Runs under no heavyweight lock, concurrently with inserts, which
 * never link deleted elements (VACUUM marked all of them before repairing).
 */
void
HnswRepairElement(Relation index, HnswIndexInfo * info, int dim, ItemPointer etid,
				  HnswKeySet * deleted, int minLinks, bool search)
{
	HnswMetaPageData meta = HnswReadMeta(index);
	HnswNode	e;
	InsertState st;
	int			top;

	if (!HnswReadElement(index, info, etid, dim, &e, true))
		return;
	InitRepairState(&st, index, info, &e, dim);
	top = Min(e.level, meta.entryLevel);

	/* An element that lost every link of a level is searched for in any case */
	for (int l = top; l >= 0 && !search; l--)
	{
		ItemPointerData slots[2 * HNSW_MAX_M];
		int			nslots = HnswReadNeighbors(index, &e.neighbortid, l, slots, false);
		int			nlive;

		if (ListToRepair(slots, nslots, deleted, l == 0 ? minLinks : 0, &nlive) && nlive == 0)
			search = true;
	}
	if (search && !StartSearch(&st, &meta, top))
		search = false;

	for (int l = top; l >= 0; l--)
	{
		ItemPointerData slots[2 * HNSW_MAX_M];
		int			nslots = HnswReadNeighbors(index, &e.neighbortid, l, slots, false);
		HnswPair   *w = NULL;
		int			nw = 0;
		int			nlive;
		bool		any = ListToRepair(slots, nslots, deleted, l == 0 ? minLinks : 0, &nlive);

		if (search)
		{
			HnswSearchLayer(&st.search, l);
			w = palloc(sizeof(HnswPair) * Max(st.search.res.n, 1));
			nw = HnswSearchResults(&st.search, w);
		}

		if (any)
		{
			int			capcand = 2 * (nw + nslots + 1);
			HnswPair   *cand = palloc(sizeof(HnswPair) * capcand);
			const char **values;
			bool	   *selected;
			int		   *chosen = palloc(sizeof(int) * nslots);
			int			nchosen = 0;
			int			nkept;
			int			ncand = 0;
			HnswKeySet	seen;
			ItemPointerData newlist[2 * HNSW_MAX_M];
			Buffer		buf;
			HnswPageWrite pw;
			HnswNeighborTuple ntup;
			ItemPointer list;
			bool		same;
			bool		linked = false;

			/*
			 * Live neighbours stay: dropping one could leave it with no
			 * incoming link.  The other slots go to what the search found:
			 * the heuristic's picks first (judged with the kept neighbours
			 * among the candidates), then the nearest of the rest.
			 */
			HnswKeySetInit(&seen, nw + nslots + 1);
			HnswKeySetAdd(&seen, st.self);
			PrefetchUnread(&st, slots, nslots);
			for (int i = 0; i < nslots; i++)
			{
				int			k;

				if (!ItemPointerIsValid(&slots[i]) ||
					HnswKeySetContains(deleted, HnswTidKey(&slots[i])) ||
					!HnswKeySetAdd(&seen, HnswTidKey(&slots[i])))
					continue;
				k = GetNode(&st, &slots[i]);
				if (st.nodes[k].deleted)
					continue;
				chosen[nchosen++] = k;
				PushCandidate(&cand, &ncand, &capcand, k, st.nodes[k].dist);
			}
			nkept = nchosen;

			/*
			 * Live neighbours of the deleted neighbours: they lost an incoming
			 * link, and they carry the graph's long links (a search near the
			 * element finds its own cluster only)
			 */
			for (int i = 0; i < nslots; i++)
			{
				HnswNode	dn;
				ItemPointerData nb[2 * HNSW_MAX_M];
				int			nn;

				if (!ItemPointerIsValid(&slots[i]) ||
					!HnswKeySetContains(deleted, HnswTidKey(&slots[i])))
					continue;
				(void) HnswReadElement(index, info, &slots[i], dim, &dn, false);
				nn = HnswReadNeighbors(index, &dn.neighbortid, l, nb, true);
				PrefetchUnread(&st, nb, nn);
				for (int j = 0; j < nn; j++)
				{
					int			k;

					if (HnswKeySetContains(deleted, HnswTidKey(&nb[j])) ||
						!HnswKeySetAdd(&seen, HnswTidKey(&nb[j])))
						continue;
					k = GetNode(&st, &nb[j]);
					if (st.nodes[k].deleted || st.nodes[k].level < l)
						continue;
					PushCandidate(&cand, &ncand, &capcand, k, st.nodes[k].dist);
				}
			}
			for (int i = 0; i < nw; i++)
			{
				HnswNode   *node = &st.nodes[w[i].key];

				if (node->deleted || node->level < l || !HnswKeySetAdd(&seen, HnswTidKey(&node->tid)))
					continue;
				PushCandidate(&cand, &ncand, &capcand, w[i].key, w[i].dist);
			}
			qsort(cand, ncand, sizeof(HnswPair), HnswComparePairs);
			values = palloc(sizeof(char *) * Max(ncand, 1));
			selected = palloc(sizeof(bool) * Max(ncand, 1));
			for (int i = 0; i < ncand; i++)
				values[i] = st.nodes[cand[i].key].value;
			HnswSelectNeighbors(&info->metric, cand, ncand, values, nslots, false, selected);
			for (int pass = 0; pass < 2; pass++)
			{
				for (int i = 0; i < ncand && nchosen < nslots; i++)
				{
					bool		kept = false;

					if (selected[i] != (pass == 0))
						continue;
					for (int j = 0; j < nkept && !kept; j++)
						kept = chosen[j] == (int) cand[i].key;
					if (!kept)
						chosen[nchosen++] = (int) cand[i].key;
				}
			}
			for (int i = 0; i < nslots; i++)
			{
				if (i < nchosen)
					newlist[i] = st.nodes[chosen[i]].tid;
				else
					ItemPointerSetInvalid(&newlist[i]);
			}

			/* Write the list, unless an insert changed it meanwhile */
			buf = ReadBuffer(index, ItemPointerGetBlockNumber(&e.neighbortid));
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			HnswWriteStart(&pw, index, false);
			ntup = HnswGetNeighborTuple(index, HnswWriteRegister(&pw, buf, false),
										ItemPointerGetOffsetNumber(&e.neighbortid));
			same = ntup->level == e.level;
			list = ntup->tids + HnswLevelStart(ntup->nslots / (ntup->level + 2), l);
			for (int i = 0; i < nslots && same; i++)
				if (HnswTidKey(&list[i]) != HnswTidKey(&slots[i]))
					same = false;
			if (same)
				memcpy(list, newlist, sizeof(ItemPointerData) * nslots);
			else if (ntup->level >= l)
			{
				int			n = HnswLevelSlots(ntup->nslots / (ntup->level + 2), l);

				for (int i = 0; i < n; i++)
					if (ItemPointerIsValid(&list[i]) &&
						HnswKeySetContains(deleted, HnswTidKey(&list[i])))
						ItemPointerSetInvalid(&list[i]);
				nchosen = 0;
			}
			HnswWriteFinish(&pw);
			UnlockReleaseBuffer(buf);

			/* The new neighbours link back, the nearest one at least at level 0 */
			for (int j = nkept; j < nchosen; j++)
				linked |= UpdateNeighbor(&st, chosen[j], etid, l, false, false);
			if (l == 0 && !linked && nchosen > nkept)
				UpdateNeighbor(&st, chosen[nkept], etid, 0, false, true);
		}
		if (search && l > 0)
			HnswSearchStart(&st.search, l - 1, w, nw);
	}
}

/*
 * VACUUM's island rescue: the live elements that a search for etid's value
 * from the entry point finds at level 0, nearest first, at most max of
 * them, etid left out.  The search reached each of them from the entry
 * point.  Returns how many; 0 if etid is not live or the index is empty.
 */
int
HnswSearchNearestLive(Relation index, HnswIndexInfo * info, int dim, ItemPointer etid,
					  ItemPointer out, int max)
{
	HnswMetaPageData meta = HnswReadMeta(index);
	HnswNode	e;
	InsertState st;
	HnswPair   *w;
	int			nw;
	int			n = 0;

	if (!HnswReadElement(index, info, etid, dim, &e, true))
		return 0;
	InitRepairState(&st, index, info, &e, dim);
	if (!StartSearch(&st, &meta, 0))
		return 0;
	HnswSearchLayer(&st.search, 0);
	w = palloc(sizeof(HnswPair) * Max(st.search.res.n, 1));
	nw = HnswSearchResults(&st.search, w);
	for (int i = 0; i < nw && n < max; i++)
	{
		HnswNode   *node = &st.nodes[w[i].key];

		if (!node->deleted && HnswTidKey(&node->tid) != st.self)
			out[n++] = node->tid;
	}
	return n;
}
