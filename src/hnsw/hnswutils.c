/*-------------------------------------------------------------------------
 *
 * hnswutils.c
 *	  Shared hnsw helpers: hash sets, pages, the metapage, values, and
 *	  reading and forming element and neighbour tuples
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
#include "pgcompat.h"

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

/* Empty a set, keeping its table */
void
HnswKeySetClear(HnswKeySet * s)
{
	memset(s->ents, 0, sizeof(HnswKeyEntry) * (s->mask + 1));
	s->count = 0;
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
HnswInitMetaPage(Page page, int m, int efConstruction, int dim)
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
	meta->unused = 0;
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
	if (meta.magic != HNSW_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid hnsw index", RelationGetRelationName(index)),
				 errdetail("The metapage has magic %08x.", meta.magic)));
	if (meta.version != HNSW_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hnsw index \"%s\" has page layout version %u, this build of semvec reads version %u",
						RelationGetRelationName(index), meta.version, HNSW_VERSION),
				 errhint("REINDEX the index.")));
	return meta;
}

/*
 * Turn an indexed or query value into what the index stores: a detoasted
 * copy with a 4-byte header, at unit length when the index normalises.
 * Returns NULL for a value to leave out of the index (no direction to
 * normalise); a query without one stays as it is.  Values to index are
 * also checked against the type's limits.  Sets *dim.
 */
char *
HnswPrepareValue(Relation index, HnswIndexInfo * info, Datum value, bool query, int *dim)
{
	struct varlena *v = PG_DETOAST_DATUM(value);
	char	   *out;

	*dim = info->type->dimensions((char *) v);
	if (info->normalize)
	{
		out = info->type->normalize((char *) v);
		if (out == NULL)
		{
			if (!query)
				return NULL;
			out = palloc(VARSIZE(v));
			memcpy(out, v, VARSIZE(v));
		}
	}
	else
	{
		out = palloc(VARSIZE(v));
		memcpy(out, v, VARSIZE(v));
	}
	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);
	if (!query && info->type->checkValue)
		info->type->checkValue(out);
	return out;
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

/* Report a link to an offset past the last item of its page */
static void
pg_attribute_noreturn()
HnswMissingItem(Relation index, Page page, OffsetNumber off)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" refers to a missing tuple",
					RelationGetRelationName(index)),
			 errdetail("Offset %u is beyond the last item %u.", off,
					   (unsigned) PageGetMaxOffsetNumber(page))));
}

/* Report an item that is not a well-formed tuple of the expected kind */
static void
pg_attribute_noreturn()
HnswMalformed(Relation index, ItemId iid, OffsetNumber off, const char *kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" contains a malformed %s tuple",
					RelationGetRelationName(index), kind),
			 errdetail("Item %u has length %u.", off, ItemIdGetLength(iid))));
}

/*
 * The line pointer of an item, checked to be a normal one within the page.
 * The line pointer is checked before the page header: items are only ever
 * appended to zeroed pages, so a slot past the last item is all zeros and
 * fails ItemIdIsNormal, and a search then touches the page header only on
 * the error path (one cache miss less per visited element).
 */
static inline ItemId
CheckedItem(Relation index, Page page, OffsetNumber off, const char *kind)
{
	ItemId		iid;

	if (off < FirstOffsetNumber ||
		off > (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))
		HnswMissingItem(index, page, off);
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid))
	{
		if (off > PageGetMaxOffsetNumber(page))
			HnswMissingItem(index, page, off);
		HnswMalformed(index, iid, off, kind);
	}
	if (ItemIdGetOffset(iid) + ItemIdGetLength(iid) > BLCKSZ)
		HnswMalformed(index, iid, off, kind);
	return iid;
}

/* The element tuple at an offset; an error if it is missing or malformed */
HnswElementTuple
HnswGetElementTuple(Relation index, Page page, OffsetNumber off)
{
	ItemId		iid = CheckedItem(index, page, off, "element");
	HnswElementTuple etup;
	Size		len = ItemIdGetLength(iid);

	if (len < offsetof(HnswElementTupleData, value) + VARHDRSZ)
		HnswMalformed(index, iid, off, "element");
	etup = (HnswElementTuple) PageGetItem(page, iid);
	if (etup->type != HNSW_ELEMENT_TUPLE || etup->level > HNSW_MAX_LEVEL ||
		etup->state > HNSW_ELEMENT_FREE || etup->nheaptids > HNSW_HEAPTIDS ||
		VARSIZE(etup->value) < VARHDRSZ ||
		HNSW_ELEMENT_TUPLE_SIZE(VARSIZE(etup->value)) > len)
		HnswMalformed(index, iid, off, "element");
	return etup;
}

/* The neighbour tuple at an offset; an error if it is missing or malformed */
HnswNeighborTuple
HnswGetNeighborTuple(Relation index, Page page, OffsetNumber off)
{
	ItemId		iid = CheckedItem(index, page, off, "neighbor");
	HnswNeighborTuple ntup;
	Size		len = ItemIdGetLength(iid);

	if (len < offsetof(HnswNeighborTupleData, tids))
		HnswMalformed(index, iid, off, "neighbor");
	ntup = (HnswNeighborTuple) PageGetItem(page, iid);
	if (ntup->type != HNSW_NEIGHBOR_TUPLE || ntup->level > HNSW_MAX_LEVEL ||
		ntup->nslots % (ntup->level + 2) != 0 ||
		ntup->nslots / (ntup->level + 2) < HNSW_MIN_M ||
		ntup->nslots / (ntup->level + 2) > HNSW_MAX_M ||
		offsetof(HnswNeighborTupleData, tids) + sizeof(ItemPointerData) * ntup->nslots > len)
		HnswMalformed(index, iid, off, "neighbor");
	return ntup;
}

/* Raise an error for a link that cannot name a tuple */
void
HnswCheckLink(Relation index, ItemPointer tid)
{
	if (!ItemPointerIsValid(tid) || ItemPointerGetBlockNumber(tid) == HNSW_METAPAGE_BLKNO)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a link to a nonexistent block",
						RelationGetRelationName(index)),
				 errdetail("The link points at (%u,%u).", ItemPointerGetBlockNumberNoCheck(tid),
						   ItemPointerGetOffsetNumberNoCheck(tid))));
}

/* Raise an error for an element whose value has other dimensions than the index */
void
HnswCheckElementDim(Relation index, HnswIndexInfo * info, HnswElementTuple etup, int dim)
{
	int			edim = info->type->dimensions(etup->value);

	if (edim != dim)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has an element with %d dimensions, expected %d",
						RelationGetRelationName(index), edim, dim)));
}

/*
 * Copy what a caller needs of one element: level, state, heap TID count,
 * neighbour tuple TID and, when asked, the value.  Returns false when the
 * element is not live.
 */
bool
HnswReadElement(Relation index, HnswIndexInfo * info, ItemPointer tid, int dim,
				HnswNode * node, bool wantValue)
{
	Buffer		buf;
	HnswElementTuple etup;

	HnswCheckLink(index, tid);
	buf = HnswReadBuffer(index, ItemPointerGetBlockNumber(tid));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	etup = HnswGetElementTuple(index, BufferGetPage(buf), ItemPointerGetOffsetNumber(tid));
	HnswCheckElementDim(index, info, etup, dim);
	node->tid = *tid;
	node->level = etup->level;
	node->deleted = etup->state != HNSW_ELEMENT_LIVE;
	node->nheaptids = etup->nheaptids;
	node->neighbortid = etup->neighbortid;
	node->value = NULL;
	if (wantValue)
	{
		node->value = palloc(VARSIZE(etup->value));
		memcpy(node->value, etup->value, VARSIZE(etup->value));
	}
	UnlockReleaseBuffer(buf);
	return !node->deleted;
}

/*
 * Copy the slots of one level of a neighbour tuple into out (room for
 * 2 * HNSW_MAX_M): all of them, or with validOnly just the valid links.
 * Returns how many it copied; 0 when the element has no such level.
 */
int
HnswReadNeighbors(Relation index, ItemPointer ntid, int level, ItemPointer out, bool validOnly)
{
	Buffer		buf;
	HnswNeighborTuple ntup;
	int			n = 0;

	HnswCheckLink(index, ntid);
	buf = HnswReadBuffer(index, ItemPointerGetBlockNumber(ntid));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	ntup = HnswGetNeighborTuple(index, BufferGetPage(buf), ItemPointerGetOffsetNumber(ntid));
	if (level <= ntup->level)
	{
		int			m = ntup->nslots / (ntup->level + 2);
		ItemPointer slots = ntup->tids + HnswLevelStart(m, level);
		int			nslots = HnswLevelSlots(m, level);

		for (int i = 0; i < nslots; i++)
			if (!validOnly || ItemPointerIsValid(&slots[i]))
				out[n++] = slots[i];
	}
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Write an element tuple into buf (HNSW_ELEMENT_TUPLE_SIZE of the value's
 * size, zeroed first): live, with the given heap TIDs.
 */
void
HnswFormElement(char *buf, int level, ItemPointer heaptids, int nheaptids,
				ItemPointer neighbortid, const char *value)
{
	HnswElementTuple etup = (HnswElementTuple) buf;
	Size		vsize = VARSIZE(value);

	memset(buf, 0, HNSW_ELEMENT_TUPLE_SIZE(vsize));
	etup->type = HNSW_ELEMENT_TUPLE;
	etup->level = level;
	etup->state = HNSW_ELEMENT_LIVE;
	etup->nheaptids = nheaptids;
	etup->neighbortid = *neighbortid;
	memcpy(etup->value, value, vsize);
	for (int i = 0; i < HNSW_HEAPTIDS; i++)
	{
		if (i < nheaptids)
			*HnswElementHeapTid(etup, i) = heaptids[i];
		else
			ItemPointerSetInvalid(HnswElementHeapTid(etup, i));
	}
}

/* Write an empty neighbour tuple for an element of a level into buf */
void
HnswFormNeighbors(char *buf, int level, int m)
{
	HnswNeighborTuple ntup = (HnswNeighborTuple) buf;

	memset(buf, 0, HNSW_NEIGHBOR_TUPLE_SIZE(level, m));
	ntup->type = HNSW_NEIGHBOR_TUPLE;
	ntup->level = level;
	ntup->nslots = HnswTotalSlots(m, level);
	for (int i = 0; i < ntup->nslots; i++)
		ItemPointerSetInvalid(&ntup->tids[i]);
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
