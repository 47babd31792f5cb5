/*-------------------------------------------------------------------------
 *
 * hnswinsert.c
 *	  Insert into an hnsw index on disk
 *
 * Concurrency.  Every insert holds the heavyweight page lock
 * HNSW_UPDATE_LOCK: in share mode normally, in exclusive mode when it will
 * become the new entry point (empty index, or a level above the current
 * entry's).  So the entry point only changes while no other insert runs,
 * and VACUUM can wait for all inserts in flight by taking the lock once.
 *
 * Buffer locks are held only while copying one element or changing one
 * page, never while reading another page, so there is no lock ordering
 * between data pages.  The only nesting is data page -> metapage, when a
 * new page or a new entry point is logged in the same WAL record as the
 * element tuple.
 *
 * The new element tuple is written complete (with its own neighbour
 * lists) before any neighbour links to it, so a concurrent search never
 * meets a half-written element.  A neighbour's list is re-read under an
 * exclusive lock before one slot in it is replaced, so concurrent inserts
 * that update the same neighbour cannot lose each other's links.
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

/* Per-insert search state: loaded nodes, keyed by TID */
typedef struct InsertState
{
	Relation	index;
	HnswIndexInfo *info;
	int			dim;
	const float *q;
	HnswNode   *nodes;
	int			nnodes;
	int			capnodes;
	HnswKeySet	map;
	ItemPointerData nbrs[2 * HNSW_MAX_M];
}			InsertState;

/* Return the node index of a TID, loading it (vector and distance to q) */
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
	HnswReadElement(st->index, tid, st->dim, node, true, -1, NULL);
	node->dist = HnswDistance(st->info->kind, st->dim, st->q, node->vec);
	HnswKeyMapPut(&st->map, key, idx);
	return idx;
}

/* Copy the valid neighbour TIDs of a node at a level; returns the count */
static int
GetNeighbors(InsertState * st, int idx, int level, ItemPointer out)
{
	HnswNode	tmp;
	int			nslots;
	int			n = 0;

	nslots = HnswReadElement(st->index, &st->nodes[idx].tid, st->dim, &tmp, false, level, out);
	for (int i = 0; i < nslots; i++)
		if (ItemPointerIsValid(&out[i]))
			out[n++] = out[i];
	return n;
}

/*
 * Search one level for the ef nearest nodes to q (Algorithm 2) from the
 * nodes in eps; writes node indexes nearest first to out, returns count.
 */
static int
SearchLevel(InsertState * st, int *eps, int neps, int ef, int level, int *out)
{
	HnswHeap	cand;
	HnswHeap	res;
	HnswKeySet	visited;
	int			n;

	HnswHeapInit(&cand, ef * 4);
	HnswHeapInit(&res, ef + 2);
	HnswKeySetInit(&visited, ef * 8);
	for (int i = 0; i < neps; i++)
	{
		HnswNode   *e = &st->nodes[eps[i]];

		HnswKeySetAdd(&visited, HnswTidKey(&e->tid));
		HnswHeapPush(&cand, e->dist, eps[i]);
		HnswHeapPush(&res, -e->dist, eps[i]);
	}
	while (res.n > ef)
		HnswHeapPop(&res);

	while (cand.n > 0)
	{
		HnswPair	c = HnswHeapPop(&cand);
		int			nn;

		CHECK_FOR_INTERRUPTS();
		if (res.n >= ef && c.dist > -res.items[0].dist)
			break;
		nn = GetNeighbors(st, (int) c.key, level, st->nbrs);
		for (int i = 0; i < nn; i++)
		{
			int			e;
			float		d;

			if (!HnswKeySetAdd(&visited, HnswTidKey(&st->nbrs[i])))
				continue;
			e = GetNode(st, &st->nbrs[i]);
			d = st->nodes[e].dist;
			if (res.n < ef || d < -res.items[0].dist)
			{
				HnswHeapPush(&cand, d, e);
				HnswHeapPush(&res, -d, e);
				if (res.n > ef)
					HnswHeapPop(&res);
			}
		}
	}

	n = res.n;
	for (int i = n - 1; i >= 0; i--)
		out[i] = (int) HnswHeapPop(&res).key;
	return n;
}

/* Start a search for q: no nodes loaded yet */
static void
InitInsertState(InsertState * st, Relation index, HnswIndexInfo * info, const float *q, int dim)
{
	memset(st, 0, sizeof(*st));
	st->index = index;
	st->info = info;
	st->dim = dim;
	st->q = q;
	st->capnodes = 256;
	st->nodes = palloc(sizeof(HnswNode) * st->capnodes);
	HnswKeySetInit(&st->map, 512);
}

/* Greedy descent from node ep through levels fromLevel down to toLevel + 1 */
static int
DescendGreedy(InsertState * st, int ep, int fromLevel, int toLevel)
{
	for (int l = fromLevel; l > toLevel; l--)
	{
		bool		changed = true;

		while (changed)
		{
			ItemPointerData nb[2 * HNSW_MAX_M];
			int			nn = GetNeighbors(st, ep, l, nb);

			CHECK_FOR_INTERRUPTS();
			changed = false;
			for (int i = 0; i < nn; i++)
			{
				int			e = GetNode(st, &nb[i]);

				if (st->nodes[e].dist < st->nodes[ep].dist)
				{
					ep = e;
					changed = true;
				}
			}
		}
	}
	return ep;
}

/*
 * Link neighbour n back to the new element at a level.  Picks a free slot,
 * a slot of a deleted element, or (when the heuristic keeps the new
 * element) the slot of the first neighbour the heuristic drops; then
 * re-checks that slot under an exclusive lock before writing it.  With
 * force, a rejected new element still replaces the farthest neighbour, so
 * that it gets at least one incoming link.  Returns whether it linked.
 */
static bool
UpdateNeighbor(InsertState * st, int nidx, ItemPointer newtid, int level, bool building,
			   bool force)
{
	ItemPointerData ntid = st->nodes[nidx].tid;
	float	   *nvec = st->nodes[nidx].vec;
	ItemPointerData slots[2 * HNSW_MAX_M];
	HnswNode	tmp;
	int			nslots;
	int			idx = -1;
	ItemPointerData expect;
	Buffer		buf;
	Page		page;
	HnswElementTuple etup;
	ItemPointer list;
	HnswPageWrite pw;
	float		newdist = HnswDistance(st->info->kind, st->dim, nvec, st->q);

	nslots = HnswReadElement(st->index, &ntid, st->dim, &tmp, false, level, slots);
	if (nslots == 0)
		return false;
	for (int i = 0; i < nslots && idx < 0; i++)
		if (!ItemPointerIsValid(&slots[i]))
			idx = i;
	if (idx < 0)
	{
		HnswPair	cand[2 * HNSW_MAX_M + 1];
		float	   *vecs[2 * HNSW_MAX_M + 1];
		bool		selected[2 * HNSW_MAX_M + 1];
		bool		keepsNew = false;

		for (int i = 0; i < nslots; i++)
		{
			int			e = GetNode(st, &slots[i]);

			if (st->nodes[e].deleted)
			{
				idx = i;
				break;
			}
			cand[i].key = i;
			cand[i].dist = HnswDistance(st->info->kind, st->dim, nvec, st->nodes[e].vec);
			vecs[i] = st->nodes[e].vec;
		}
		if (idx < 0)
		{
			float	   *sorted[2 * HNSW_MAX_M + 1];

			cand[nslots].key = nslots;
			cand[nslots].dist = newdist;
			vecs[nslots] = (float *) st->q;
			qsort(cand, nslots + 1, sizeof(HnswPair), HnswComparePairs);
			for (int i = 0; i <= nslots; i++)
				sorted[i] = vecs[cand[i].key];
			HnswSelectNeighbors(st->info->kind, st->dim, cand, nslots + 1, sorted,
								nslots, selected);
			for (int i = 0; i <= nslots; i++)
				if (selected[i] && cand[i].key == (uint64) nslots)
					keepsNew = true;
			if (!keepsNew && !force)
				return false;
			for (int i = nslots; i >= 0 && !keepsNew && idx < 0; i--)
				if (cand[i].key != (uint64) nslots)
					idx = (int) cand[i].key;	/* the farthest old neighbour */
			for (int i = 0; i <= nslots && idx < 0; i++)
				if (!selected[i])
					idx = (int) cand[i].key;
		}
	}
	expect = slots[idx];

	buf = ReadBuffer(st->index, ItemPointerGetBlockNumber(&ntid));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswWriteStart(&pw, st->index, building);
	page = HnswWriteRegister(&pw, buf, false);
	etup = HnswGetElementTuple(st->index, page, ItemPointerGetOffsetNumber(&ntid));
	list = HnswTupleNeighbors(etup) + HnswLevelStart(etup->m, level);
	if (etup->level < level || HnswTidKey(&list[idx]) != HnswTidKey(&expect))
	{
		/* Someone changed the list meanwhile: settle for any free slot */
		idx = -1;
		for (int i = 0; i < nslots && idx < 0 && etup->level >= level; i++)
			if (!ItemPointerIsValid(&list[i]))
				idx = i;
	}
	for (int i = 0; i < nslots && idx >= 0; i++)
		if (HnswTidKey(&list[i]) == HnswTidKey(newtid))
			idx = -1;
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

/* Make the metapage point at a new entry point */
static void
SetEntry(HnswMetaPage m, ItemPointer tid, int level, int dim)
{
	m->entryBlkno = ItemPointerGetBlockNumber(tid);
	m->entryOffno = ItemPointerGetOffsetNumber(tid);
	m->entryLevel = level;
	m->dimensions = dim;
}

/*
 * Finish the write that placed an element at tid.  The metapage goes in
 * the same record when it changes: a new insert page (newPage valid and
 * past the recorded one) or a new entry point.
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
	if (setEntry)
		SetEntry(m, tid, level, dim);
	HnswWriteFinish(pw);
	UnlockReleaseBuffer(metabuf);
}

/* Pages the free space map may offer an insert before it appends */
#define HNSW_FREE_TRIES		4

/*
 * Try to put an element tuple in a free slot (one VACUUM freed) on a page
 * the free space map offers.  The smallest free slot that fits is taken:
 * slots freed from elements of higher levels are larger, and one spent on
 * a level-0 element would leave a later high-level element nowhere to go
 * but a new page.  The slot is overwritten in place and the rest of it
 * zeroed (a larger slot than needed is fine for readers).  The map is told what the page has left; a page
 * that turns out to have nothing (the map is only a hint) is corrected and
 * the next one tried.  Returns false when none had room.
 */
static bool
ReuseFreeSlot(Relation index, char *tup, Size size, bool setEntry, int level, int dim,
			  ItemPointer newtid)
{
	Size		need = (Size) (level + 1) * HNSW_FSM_UNIT;
	BlockNumber blk = GetPageWithFreeSpace(index, need);

	for (int tries = 0; tries < HNSW_FREE_TRIES && blk != InvalidBlockNumber; tries++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber found = InvalidOffsetNumber;
		Size		foundLen = 0;
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
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);
			Size		len = ItemIdGetLength(PageGetItemId(page, off));

			if (etup->deleted != HNSW_ELEMENT_FREE || len < size)
				continue;
			if (found == InvalidOffsetNumber || len < foundLen)
			{
				found = off;
				foundLen = len;
			}
		}
		/* What the page offers once the slot is taken */
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElementTuple(index, page, off);

			if (etup->deleted == HNSW_ELEMENT_FREE && off != found && etup->level > leftLevel)
				leftLevel = etup->level;
		}
		if (found != InvalidOffsetNumber)
		{
			HnswPageWrite pw;
			Page		wpage;
			Size		len = ItemIdGetLength(PageGetItemId(page, found));
			char	   *slot;

			HnswWriteStart(&pw, index, false);
			wpage = HnswWriteRegister(&pw, buf, false);
			slot = (char *) PageGetItem(wpage, PageGetItemId(wpage, found));
			memcpy(slot, tup, size);
			memset(slot + size, 0, len - size);
			ItemPointerSet(newtid, blk, found);
			FinishPlacement(&pw, index, InvalidBlockNumber, setEntry, newtid, level, dim);
			UnlockReleaseBuffer(buf);
			RecordPageWithFreeSpace(index, blk, (leftLevel + 1) * HNSW_FSM_UNIT);
			return true;
		}
		UnlockReleaseBuffer(buf);
		blk = RecordAndGetPageWithFreeSpace(index, blk, (leftLevel + 1) * HNSW_FSM_UNIT, need);
	}
	return false;
}

/*
 * Place an element tuple: in a free slot if VACUUM left one, else on the
 * insert page if it has room, else on a new page.  The metapage is logged
 * in the same record when the insert page or the entry point changes.
 * Sets *newtid.
 */
static void
WriteElement(Relation index, char *tup, Size size, bool setEntry, int level, int dim,
			 bool building, ItemPointer newtid)
{
	BlockNumber blkno;
	Buffer		buf = InvalidBuffer;
	bool		isNew = false;
	HnswPageWrite pw;
	Page		page;
	OffsetNumber off;

	if (!building && ReuseFreeSlot(index, tup, size, setEntry, level, dim, newtid))
		return;

	blkno = HnswReadMeta(index).insertPage;
	if (blkno != HNSW_METAPAGE_BLKNO)
	{
		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (PageGetFreeSpace(BufferGetPage(buf)) < size)
		{
			UnlockReleaseBuffer(buf);
			buf = InvalidBuffer;
		}
	}
	if (!BufferIsValid(buf))
	{
		buf = HnswNewBuffer(index, MAIN_FORKNUM);
		isNew = true;
	}

	HnswWriteStart(&pw, index, building);
	page = HnswWriteRegister(&pw, buf, isNew);
	if (isNew)
		HnswInitPage(page);
	off = PageAddItem(page, tup, size, InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add hnsw element tuple to \"%s\"", RelationGetRelationName(index));
	ItemPointerSet(newtid, BufferGetBlockNumber(buf), off);
	FinishPlacement(&pw, index, isNew ? BufferGetBlockNumber(buf) : InvalidBlockNumber,
					setEntry, newtid, level, dim);
	UnlockReleaseBuffer(buf);
}

/* Insert one vector into the on-disk graph (Algorithm 1) */
void
HnswInsertOnDisk(Relation index, HnswIndexInfo * info, float *vec, int dim,
				 ItemPointer heaptid, bool building)
{
	int			m = info->m;
	int			maxLevel = HnswMaxLevelFor(dim, m);
	int			level;
	LOCKMODE	lockmode = ShareLock;
	HnswMetaPageData meta;
	InsertState st;
	int		  **chosen;
	int		   *nchosen;
	Size		size;
	char	   *tup;
	HnswElementTuple etup;
	ItemPointerData newtid;
	bool		setEntry;

	if (maxLevel < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions for hnsw index with m = %d",
						HnswMaxDimFor(m), m)));
	level = HnswRandomLevel(m, maxLevel, pg_prng_double(&pg_global_prng_state));

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

	InitInsertState(&st, index, info, vec, dim);
	chosen = palloc0(sizeof(int *) * (level + 1));
	nchosen = palloc0(sizeof(int) * (level + 1));

	if (meta.entryBlkno != InvalidBlockNumber)
	{
		ItemPointerData eptid;
		int			ep;
		int		   *eps;
		int			neps = 1;
		int		   *w = palloc(sizeof(int) * (info->efConstruction + 1));

		ItemPointerSet(&eptid, meta.entryBlkno, meta.entryOffno);
		/* Greedy descent through the levels above the new element's */
		ep = DescendGreedy(&st, GetNode(&st, &eptid), meta.entryLevel, level);

		eps = palloc(sizeof(int) * (info->efConstruction + 1));
		eps[0] = ep;
		for (int l = Min(level, meta.entryLevel); l >= 0; l--)
		{
			int			nw = SearchLevel(&st, eps, neps, info->efConstruction, l, w);
			HnswPair   *cand = palloc(sizeof(HnswPair) * nw);
			float	  **vecs = palloc(sizeof(float *) * nw);
			bool	   *selected = palloc(sizeof(bool) * nw);
			int			nlive = 0;

			/* Elements VACUUM is removing must not gain new links */
			for (int i = 0; i < nw; i++)
			{
				if (st.nodes[w[i]].deleted)
					continue;
				cand[nlive].key = w[i];
				cand[nlive].dist = st.nodes[w[i]].dist;
				vecs[nlive] = st.nodes[w[i]].vec;
				nlive++;
			}
			/* The new element gets m links per level, as in hnswlib */
			HnswSelectNeighbors(info->kind, dim, cand, nlive, vecs, m, selected);
			chosen[l] = palloc(sizeof(int) * m);
			for (int i = 0; i < nlive; i++)
				if (selected[i] && nchosen[l] < m)
					chosen[l][nchosen[l]++] = (int) cand[i].key;
			memcpy(eps, w, sizeof(int) * nw);
			neps = nw;
		}
	}

	/* Form the element tuple with its own lists complete */
	size = HNSW_ELEMENT_TUPLE_SIZE(dim, level, m);
	tup = palloc0(size);
	etup = (HnswElementTuple) tup;
	etup->type = HNSW_ELEMENT_TUPLE;
	etup->level = level;
	etup->dim = dim;
	etup->m = m;
	etup->heaptid = *heaptid;
	memcpy(etup->x, vec, sizeof(float) * dim);
	for (int l = 0; l <= level; l++)
	{
		ItemPointer slot = HnswTupleNeighbors(etup) + HnswLevelStart(m, l);

		for (int j = 0; j < HnswLevelSlots(m, l); j++)
		{
			if (j < nchosen[l])
				slot[j] = st.nodes[chosen[l][j]].tid;
			else
				ItemPointerSetInvalid(&slot[j]);
		}
	}

	setEntry = meta.entryBlkno == InvalidBlockNumber || level > meta.entryLevel;
	WriteElement(index, tup, size, setEntry, level, dim, building, &newtid);

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
	float	   *vec;
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
	if (HnswPrepareValue(&info, values[0], &vec, &dim))
		HnswInsertOnDisk(index, &info, vec, dim, heap_tid, false);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ctx);
	return false;
}

/*
 * Find up to max live elements near q at one level, by the same search an
 * insert does (greedy descent, then ef_construction at that level).  VACUUM
 * uses it to give elements that lost neighbours fresh candidates.  Returns
 * the count; out[i].key is a packed TID.
 */
int
HnswSearchNear(Relation index, HnswIndexInfo * info, const float *q, int dim,
			   int level, HnswPair * out, int max)
{
	HnswMetaPageData meta = HnswReadMeta(index);
	InsertState st;
	ItemPointerData eptid;
	int			ep;
	int		   *w;
	int			nw;
	int			n = 0;

	if (meta.entryBlkno == InvalidBlockNumber || meta.entryLevel < level)
		return 0;
	InitInsertState(&st, index, info, q, dim);

	ItemPointerSet(&eptid, meta.entryBlkno, meta.entryOffno);
	ep = DescendGreedy(&st, GetNode(&st, &eptid), meta.entryLevel, level);
	w = palloc(sizeof(int) * (info->efConstruction + 1));
	nw = SearchLevel(&st, &ep, 1, info->efConstruction, level, w);
	for (int i = 0; i < nw && n < max; i++)
	{
		if (st.nodes[w[i]].deleted)
			continue;
		out[n].key = HnswTidKey(&st.nodes[w[i]].tid);
		out[n].dist = st.nodes[w[i]].dist;
		n++;
	}
	return n;
}
