/*-------------------------------------------------------------------------
 *
 * hnswutils.c
 *	  Shared hnsw helpers: heaps, hash sets, pages, metapage, neighbour
 *	  selection
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw/hnsw.h"

/* Start an empty min-heap with room for cap items */
void
HnswHeapInit(HnswHeap * h, int cap)
{
	h->cap = Max(cap, 16);
	h->n = 0;
	h->items = palloc(sizeof(HnswPair) * h->cap);
}

/* Add an item, growing the array when full */
void
HnswHeapPush(HnswHeap * h, float dist, uint64 key)
{
	int			i;

	if (h->n == h->cap)
	{
		h->cap *= 2;
		h->items = repalloc_huge(h->items, sizeof(HnswPair) * h->cap);
	}
	i = h->n++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (h->items[parent].dist <= dist)
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i].dist = dist;
	h->items[i].key = key;
}

/* Remove and return the smallest item (caller checks n > 0) */
HnswPair
HnswHeapPop(HnswHeap * h)
{
	HnswPair	top = h->items[0];
	HnswPair	last = h->items[--h->n];
	int			i = 0;

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->items[c + 1].dist < h->items[c].dist)
			c++;
		if (last.dist <= h->items[c].dist)
			break;
		h->items[i] = h->items[c];
		i = c;
	}
	if (h->n > 0)
		h->items[i] = last;
	return top;
}

/* Start an empty hash set sized for about expected keys */
void
HnswKeySetInit(HnswKeySet * s, uint32 expected)
{
	uint32		size = 64;

	while (size < expected * 2)
		size <<= 1;
	s->ents = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(HnswKeyEntry) * size);
	memset(s->ents, 0, sizeof(HnswKeyEntry) * size);
	s->mask = size - 1;
	s->count = 0;
}

/* Mix a key into a well-spread hash */
static inline uint32
HnswKeyHash(uint64 key)
{
	key ^= key >> 33;
	key *= UINT64CONST(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return (uint32) key;
}

/* Double the table and rehash */
static void
HnswKeySetGrow(HnswKeySet * s)
{
	HnswKeyEntry *old = s->ents;
	uint32		oldsize = s->mask + 1;

	s->ents = MemoryContextAllocHuge(GetMemoryChunkContext(old),
									 sizeof(HnswKeyEntry) * oldsize * 2);
	memset(s->ents, 0, sizeof(HnswKeyEntry) * oldsize * 2);
	s->mask = oldsize * 2 - 1;
	for (uint32 i = 0; i < oldsize; i++)
	{
		if (old[i].key != 0)
		{
			uint32		j = HnswKeyHash(old[i].key - 1) & s->mask;

			while (s->ents[j].key != 0)
				j = (j + 1) & s->mask;
			s->ents[j] = old[i];
		}
	}
	pfree(old);
}

/* Make room for extra more keys, so that pointers into the table stay put */
void
HnswKeySetReserve(HnswKeySet * s, uint32 extra)
{
	while ((s->count + extra) * 2 > s->mask + 1)
		HnswKeySetGrow(s);
}

/* Add a key with a value; returns false (keeping the old value) if present */
bool
HnswKeyMapPut(HnswKeySet * s, uint64 key, int32 val)
{
	uint32		before = s->count;
	int32	   *slot = HnswKeyMapRef(s, key);

	if (s->count == before)
		return false;
	*slot = val;
	return true;
}

/* qsort order for pairs: by distance, then key (so that ties are deterministic) */
int
HnswComparePairs(const void *a, const void *b)
{
	const HnswPair *pa = a;
	const HnswPair *pb = b;

	if (pa->dist < pb->dist)
		return -1;
	if (pa->dist > pb->dist)
		return 1;
	return (pa->key > pb->key) - (pa->key < pb->key);
}

/* Add a key; returns false if it was already there */
bool
HnswKeySetAdd(HnswKeySet * s, uint64 key)
{
	return HnswKeyMapPut(s, key, 0);
}

/* The value stored with a key, or -1 when absent */
int32
HnswKeyMapGet(HnswKeySet * s, uint64 key)
{
	uint32		j = HnswKeyHash(key) & s->mask;

	while (s->ents[j].key != 0)
	{
		if (s->ents[j].key == key + 1)
			return s->ents[j].val;
		j = (j + 1) & s->mask;
	}
	return -1;
}

/* Pointer to the value of a key, inserted with value 0 when absent */
int32 *
HnswKeyMapRef(HnswKeySet * s, uint64 key)
{
	uint32		j;

	if ((s->count + 1) * 2 > s->mask + 1)
		HnswKeySetGrow(s);
	j = HnswKeyHash(key) & s->mask;
	while (s->ents[j].key != 0)
	{
		if (s->ents[j].key == key + 1)
			return &s->ents[j].val;
		j = (j + 1) & s->mask;
	}
	s->ents[j].key = key + 1;
	s->ents[j].val = 0;
	s->count++;
	return &s->ents[j].val;
}

/* Is the key in the set? */
bool
HnswKeySetContains(HnswKeySet * s, uint64 key)
{
	return HnswKeyMapGet(s, key) >= 0;
}

/* Extend the relation by one locked, initialised page */
Buffer
HnswNewBuffer(Relation index, ForkNumber forkNum)
{
	Buffer		buf;

	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, forkNum, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

/*
 * Pin a block of the main fork.  The buffer that held it last time is
 * remembered per backend, and ReadRecentBuffer re-pins it without a
 * buffer-mapping lookup when it still holds the block: searches touch
 * thousands of random blocks, and that lookup was a large share of a scan.
 */
Buffer
HnswReadBuffer(Relation index, BlockNumber blkno)
{
	HnswRelCache *rc = (HnswRelCache *) index->rd_amcache;
	Buffer		buf;

	if (rc == NULL)
		return ReadBuffer(index, blkno);
	if (blkno < rc->nrecent && BufferIsValid(rc->recent[blkno]) &&
		ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blkno, rc->recent[blkno]))
		return rc->recent[blkno];
	buf = ReadBuffer(index, blkno);
	if (blkno >= rc->nrecent)
	{
		/* One chunk, so a relcache flush frees the hints with the facts */
		BlockNumber n = Max(Max(rc->nrecent * 2, blkno + 1), 1024);

		rc = repalloc(rc, offsetof(HnswRelCache, recent) + sizeof(Buffer) * n);
		memset(rc->recent + rc->nrecent, 0, sizeof(Buffer) * (n - rc->nrecent));
		rc->nrecent = n;
		index->rd_amcache = rc;
	}
	rc->recent[blkno] = buf;
	return buf;
}

/* Initialise an empty data page */
void
HnswInitPage(Page page)
{
	HnswPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(HnswPageOpaqueData));
	opaque = HnswPageGetOpaque(page);
	opaque->unused = InvalidBlockNumber;
	opaque->flags = 0;
	opaque->page_id = HNSW_PAGE_ID;
}

/* Initialise the metapage of an empty index */
void
HnswInitMetaPage(Page page, int m, int efConstruction, int dim, HnswDistKind kind)
{
	HnswMetaPage meta;

	HnswInitPage(page);
	meta = HnswPageGetMeta(page);
	meta->magic = HNSW_MAGIC;
	meta->version = HNSW_VERSION;
	meta->dimensions = dim;
	meta->m = m;
	meta->efConstruction = efConstruction;
	meta->entryBlkno = InvalidBlockNumber;
	meta->entryOffno = InvalidOffsetNumber;
	meta->entryLevel = -1;
	meta->insertPage = HNSW_METAPAGE_BLKNO;
	meta->distKind = kind;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(HnswMetaPageData)) - (char *) page;
}

/* Copy the metapage, checking that it is ours */
HnswMetaPageData
HnswReadMeta(Relation index)
{
	Buffer		buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	HnswMetaPageData meta;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = *HnswPageGetMeta(BufferGetPage(buf));
	UnlockReleaseBuffer(buf);
	if (meta.magic != HNSW_MAGIC || meta.version != HNSW_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid hnsw index", RelationGetRelationName(index)),
				 errdetail("The metapage has magic %08x and version %u.", meta.magic, meta.version)));
	return meta;
}

/*
 * Turn an indexed or query value into a float array ready for the kernel.
 * Cosine indexes store unit vectors; a zero vector has no direction, so it
 * is not indexed (returns false) and, as a query, stays zero.
 */
bool
HnswPrepareValue(HnswIndexInfo * info, Datum value, float **out, int *dim)
{
	Vector	   *v = DatumGetVector(value);
	float	   *x = palloc(sizeof(float) * v->dim);

	memcpy(x, v->x, sizeof(float) * v->dim);
	*dim = v->dim;
	*out = x;
	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);

	if (info->normalize)
	{
		double		norm = sqrt((double) DistanceInnerProduct(*dim, x, x));

		if (norm == 0 || isnan(norm) || isinf(norm))
			return false;
		for (int i = 0; i < *dim; i++)
			x[i] = (float) (x[i] / norm);
	}
	return true;
}

/* Draw a level with P(level >= l) = m^-l, capped (Malkov & Yashunin, sec. 4) */
int
HnswRandomLevel(int m, int maxLevel, double r)
{
	double		ml = 1.0 / log((double) m);
	int			level;

	if (r <= 0)
		r = 1e-12;
	level = (int) floor(-log(r) * ml);
	return Min(level, maxLevel);
}

/*
 * Choose neighbours with the heuristic of Algorithm 4 (Malkov & Yashunin):
 * walk candidates nearest first and keep one only if it is closer to the
 * base than to every neighbour kept so far, which spreads links across
 * directions.  cand must be sorted by distance to the base.  As in hnswlib,
 * when there are no more candidates than wanted they are all kept.
 */
int
HnswSelectNeighbors(HnswDistKind kind, int dim, HnswPair * cand, int ncand,
					float **vecs, int want, bool *selected)
{
	int			nsel = 0;
	int		   *kept;

	if (ncand <= want)
	{
		for (int i = 0; i < ncand; i++)
			selected[i] = true;
		return ncand;
	}

	kept = palloc(sizeof(int) * want);
	for (int i = 0; i < ncand; i++)
	{
		bool		good = true;

		selected[i] = false;
		if (nsel >= want)
			continue;
		for (int j = 0; j < nsel; j++)
		{
			if (HnswDistance(kind, dim, vecs[i], vecs[kept[j]]) < cand[i].dist)
			{
				good = false;
				break;
			}
		}
		if (good)
		{
			selected[i] = true;
			kept[nsel++] = i;
		}
	}
	pfree(kept);
	return nsel;
}

/* Report a link to an offset past the last item of its page */
static void
pg_attribute_noreturn()
HnswMissingElement(Relation index, Page page, OffsetNumber off)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" refers to a missing element tuple",
					RelationGetRelationName(index)),
			 errdetail("Offset %u is beyond the last item %u.", off,
					   (unsigned) PageGetMaxOffsetNumber(page))));
}

/* Report an item that is not a well-formed element tuple */
static void
pg_attribute_noreturn()
HnswMalformedElement(Relation index, ItemId iid, OffsetNumber off)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" contains a malformed element tuple",
					RelationGetRelationName(index)),
			 errdetail("Item %u has length %u.", off, ItemIdGetLength(iid))));
}

/*
 * Return the element tuple at an offset, raising an error if it is missing
 * or malformed.  The line pointer is checked before the page header: items
 * are only ever appended to zeroed pages, so a slot past the last item is
 * all zeros and fails ItemIdIsNormal, and a search then touches the page
 * header only on the error path (one cache miss less per visited element).
 */
HnswElementTuple
HnswGetElementTuple(Relation index, Page page, OffsetNumber off)
{
	ItemId		iid;
	HnswElementTuple etup;

	if (off < FirstOffsetNumber ||
		off > (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))
		HnswMissingElement(index, page, off);
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid))
	{
		if (off > PageGetMaxOffsetNumber(page))
			HnswMissingElement(index, page, off);
		HnswMalformedElement(index, iid, off);
	}
	if (ItemIdGetLength(iid) < offsetof(HnswElementTupleData, x) ||
		ItemIdGetOffset(iid) + ItemIdGetLength(iid) > BLCKSZ)
		HnswMalformedElement(index, iid, off);
	etup = (HnswElementTuple) PageGetItem(page, iid);
	if (etup->type != HNSW_ELEMENT_TUPLE || etup->level > HNSW_MAX_LEVEL ||
		etup->m < HNSW_MIN_M || etup->m > HNSW_MAX_M ||
		ItemIdGetLength(iid) < HNSW_ELEMENT_TUPLE_SIZE(etup->dim, etup->level, etup->m))
		HnswMalformedElement(index, iid, off);
	return etup;
}

/* Begin a set of page changes: WAL-logged, or plain while building */
void
HnswWriteStart(HnswPageWrite * pw, Relation index, bool building)
{
	pw->building = building;
	pw->nbufs = 0;
	pw->state = building ? NULL : GenericXLogStart(index);
}

/* Register a locked buffer and return the page to modify */
Page
HnswWriteRegister(HnswPageWrite * pw, Buffer buf, bool isNew)
{
	if (pw->nbufs >= MAX_GENERIC_XLOG_PAGES)
		elog(ERROR, "too many pages in one hnsw change");
	pw->bufs[pw->nbufs++] = buf;
	if (pw->building)
		return BufferGetPage(buf);
	return GenericXLogRegisterBuffer(pw->state, buf, isNew ? GENERIC_XLOG_FULL_IMAGE : 0);
}

/* Apply the changes: one WAL record for all pages, or just mark dirty */
void
HnswWriteFinish(HnswPageWrite * pw)
{
	if (pw->building)
	{
		for (int i = 0; i < pw->nbufs; i++)
			MarkBufferDirty(pw->bufs[i]);
	}
	else
		GenericXLogFinish(pw->state);
}

/* Drop the changes */
void
HnswWriteAbort(HnswPageWrite * pw)
{
	if (!pw->building)
		GenericXLogAbort(pw->state);
}

/*
 * Copy what a caller needs of one element: level, deleted flag, heap TID,
 * optionally the vector, and optionally all slots of one level's neighbour
 * list (invalid TIDs included).  Returns the number of slots copied, 0 when
 * the element has no such level.
 */
int
HnswReadElement(Relation index, ItemPointer tid, int dim, HnswNode * node,
				bool wantVec, int nbrLevel, ItemPointer nbrs)
{
	Buffer		buf;
	Page		page;
	HnswElementTuple etup;
	int			nslots = 0;

	if (!ItemPointerIsValid(tid) || ItemPointerGetBlockNumber(tid) == HNSW_METAPAGE_BLKNO)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a link to a nonexistent block",
						RelationGetRelationName(index)),
				 errdetail("The link points at (%u,%u).", ItemPointerGetBlockNumberNoCheck(tid),
						   ItemPointerGetOffsetNumberNoCheck(tid))));
	buf = HnswReadBuffer(index, ItemPointerGetBlockNumber(tid));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	etup = HnswGetElementTuple(index, page, ItemPointerGetOffsetNumber(tid));
	if (etup->dim != dim)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an element with %d dimensions, expected %d",
						RelationGetRelationName(index), etup->dim, dim)));
	node->tid = *tid;
	node->level = etup->level;
	node->deleted = etup->deleted != 0;
	node->heaptid = etup->heaptid;
	if (wantVec)
	{
		node->vec = palloc(sizeof(float) * dim);
		memcpy(node->vec, etup->x, sizeof(float) * dim);
	}
	if (nbrLevel >= 0 && nbrLevel <= etup->level)
	{
		nslots = HnswLevelSlots(etup->m, nbrLevel);
		memcpy(nbrs, HnswTupleNeighbors(etup) + HnswLevelStart(etup->m, nbrLevel),
			   sizeof(ItemPointerData) * nslots);
	}
	UnlockReleaseBuffer(buf);
	return nslots;
}
