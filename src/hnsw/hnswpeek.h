/*-------------------------------------------------------------------------
 *
 * hnswpeek.h
 *	  The scan's unpinned reads: the one place hnsw reads PostgreSQL 15's
 *	  buffer headers (storage/buf_internals.h)
 *
 * A search measures each element it visits straight from the page, and
 * pinning and unpinning a buffer per visit (two atomic operations on a
 * header that is usually a cache miss) was a third of a search's time.  So
 * a visit reads the page in the buffer where this backend last found the
 * block (the hint table of HnswReadBuffer) without a pin, and trusts what
 * it read only if the buffer header says, before and after the read, that
 * the buffer is valid and still holds that block.
 *
 * Why this is sound: shared buffers are always mapped, so a stale read
 * cannot fault; every offset is bounds-checked before use; and what a
 * visit reads (value, heap TID, state) does not change while an element is
 * live or a tombstone.  Only a freed slot is overwritten, by an insert
 * reusing it, and the header check cannot see a buffer evicted and read
 * back twice while this process was descheduled mid-read: either can only
 * mislead the traversal, because the scan returns no row it has not read
 * again under a pin and share lock (hnswscan.c: expanding an element, or
 * VerifyBatch).
 *
 * The setting semvec.hnsw_unpinned_reads (on by default) turns all of it
 * off: HnswPeekElement then always declines and HnswPrefetchElements does
 * nothing, and every visit pins.  The regression and TAP suites of hnsw
 * run both ways (test/run_all.sh).
 *
 * Only hnswscan.c reads without a pin; hnswinsert.c uses the prefetch
 * alone (HnswPrefetchElements), which cannot be wrong.  The functions are
 * inline, as they run once per visited element.  The buffer tag test is pgcompat.h's
 * (BufferDesc's tag layout changed in 16); the rest of the buffer header
 * read here (state bits, the atomic state word) is the same in 15 and 16.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HNSWPEEK_H
#define SEMVEC_HNSWPEEK_H

#include "postgres.h"

#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "hnsw/hnsw.h"
#include "pgcompat.h"

/* Line pointers that can exist on a page */
#define HNSW_MAX_ITEMS	((BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))

/* The shared buffer that last held an element's block here, or 0 */
static inline Buffer
HnswHintFor(HnswRelCache *rc, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);

	if (rc == NULL || blk >= rc->hints.nrecent || rc->hints.recent[blk] <= 0 ||
		ItemPointerGetOffsetNumber(tid) > HNSW_MAX_ITEMS)
		return InvalidBuffer;
	return rc->hints.recent[blk];
}

/*
 * Start fetching what reading n elements touches, in two rounds so that
 * the cache misses of each round overlap (the trick hnswlib uses): first
 * the buffer headers and line pointers, then the first bytes bytes of the
 * tuples the line pointers point at.  Addresses come from the hints and
 * are not checked: shared buffers stay mapped, so a stale hint only wastes
 * a prefetch.
 *
 * Always inlined: a separate function that only prefetches looks free of
 * side effects to GCC, which then deletes the calls (seen with GCC 12).
 */
static pg_attribute_always_inline void
HnswPrefetchElements(HnswRelCache *rc, ItemPointer tids, int n, Size bytes)
{
	if (!hnsw_unpinned_reads)
		return;
	for (int j = 0; j < n; j++)
	{
		Buffer		hint = HnswHintFor(rc, &tids[j]);

		if (hint == InvalidBuffer)
			continue;
		__builtin_prefetch(GetBufferDescriptor(hint - 1));
		__builtin_prefetch(PageGetItemId((Page) BufferGetBlock(hint),
										 ItemPointerGetOffsetNumber(&tids[j])));
	}
	for (int j = 0; j < n; j++)
	{
		Buffer		hint = HnswHintFor(rc, &tids[j]);
		Page		page;
		Size		start;

		if (hint == InvalidBuffer)
			continue;
		page = (Page) BufferGetBlock(hint);
		start = ItemIdGetOffset(PageGetItemId(page, ItemPointerGetOffsetNumber(&tids[j])));
		for (Size b = start & ~(Size) 63; b < start + bytes && b < BLCKSZ; b += 64)
			__builtin_prefetch((char *) page + b);
	}
}

/* Is this buffer header valid, not being changed, and tagged with blk? */
static inline bool
HnswHeaderHolds(volatile BufferDesc *desc, Relation index, BlockNumber blk)
{
	uint32		state = pg_atomic_read_u32((pg_atomic_uint32 *) &desc->state);

	if ((state & (BM_VALID | BM_TAG_VALID | BM_LOCKED | BM_IO_IN_PROGRESS)) !=
		(BM_VALID | BM_TAG_VALID))
		return false;
	pg_read_barrier();
	return SemvecBufferTagIs(desc->tag, index, MAIN_FORKNUM, blk);
}

/* What a visit read without a pin */
typedef struct HnswPeekResult
{
	float		dist;
	ItemPointerData heaptid;	/* the first */
	uint8		nheaptids;
	bool		deleted;
	char	   *neighbors;		/* where the neighbour tuple is, if on this page */
}			HnswPeekResult;

/*
 * Measure an element against q without pinning its page.  Returns false
 * (and the caller pins) when unpinned reads are off, there is no hint, the
 * buffer moved, or anything looks wrong; the pinned path reports real
 * corruption.  valueSize is the size every value of the index has.
 */
static inline bool
HnswPeekElement(Relation index, HnswRelCache *rc, const HnswMetric *metric, const char *q,
				Size valueSize, ItemPointer tid, HnswPeekResult * out)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		hint;
	volatile BufferDesc *desc;
	Page		page;
	ItemIdData	iid;
	HnswElementTuple etup;
	Size		need = offsetof(HnswElementTupleData, value) + valueSize;

	if (!hnsw_unpinned_reads)
		return false;
	hint = HnswHintFor(rc, tid);
	if (hint == InvalidBuffer || blk == HNSW_METAPAGE_BLKNO || off < FirstOffsetNumber ||
		valueSize == 0)
		return false;
	desc = GetBufferDescriptor(hint - 1);
	if (!HnswHeaderHolds(desc, index, blk))
		return false;
	pg_read_barrier();

	page = (Page) BufferGetBlock(hint);
	iid = *PageGetItemId(page, off);
	if (!ItemIdIsNormal(&iid) || ItemIdGetOffset(&iid) < SizeOfPageHeaderData ||
		ItemIdGetLength(&iid) < need ||
		ItemIdGetOffset(&iid) + ItemIdGetLength(&iid) > BLCKSZ)
		return false;
	etup = (HnswElementTuple) ((char *) page + ItemIdGetOffset(&iid));
	if (etup->type != HNSW_ELEMENT_TUPLE || VARSIZE(etup->value) != valueSize)
		return false;
	out->dist = HnswDistance(metric, q, etup->value);
	out->heaptid = etup->heaptid;
	out->nheaptids = etup->nheaptids;
	out->deleted = etup->state != HNSW_ELEMENT_LIVE;
	out->neighbors = NULL;
	if (ItemPointerGetBlockNumberNoCheck(&etup->neighbortid) == blk)
	{
		OffsetNumber noff = ItemPointerGetOffsetNumberNoCheck(&etup->neighbortid);

		if (noff >= FirstOffsetNumber && noff <= HNSW_MAX_ITEMS)
		{
			ItemIdData	niid = *PageGetItemId(page, noff);

			if (ItemIdGetOffset(&niid) < BLCKSZ)
				out->neighbors = (char *) page + ItemIdGetOffset(&niid);
		}
	}

	pg_read_barrier();
	return HnswHeaderHolds(desc, index, blk);
}

#endif							/* SEMVEC_HNSWPEEK_H */
