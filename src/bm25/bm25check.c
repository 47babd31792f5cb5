/*-------------------------------------------------------------------------
 *
 * bm25check.c
 *	  bm25_check(regclass): verify the structural invariants of an index
 *
 * Checked, with a share lock that keeps inserts and VACUUM out (on a
 * standby, where only recovery writes, an access share lock):
 *	 - the metapage is ours and its text search configuration exists;
 *	 - each pending list is a chain of pending pages of the right owners,
 *	   as long as the metapage says, whose items parse, whose documents
 *	   (and lengths and bytes) add up to the list's counts;
 *	 - each segment's header, directories and stream pages carry its
 *	   owner; its documents are in strictly ascending heap TID order with
 *	   lengths >= 1 adding up to its total; its terms are in strictly
 *	   ascending byte order, each found through the hash table; each posting
 *	   list decodes to df ascending documents of the segment with
 *	   frequencies >= 1; each block header's last document, largest
 *	   frequency and smallest length are exact, and the term's bounds are
 *	   those of its blocks; posting lists follow each other in term order;
 *	 - N and the total length are the sums over segments and pending
 *	   lists; no heap TID is indexed twice; no page belongs to two
 *	   structures.
 * Pages that nothing reaches (what a crash between writing and publishing
 * leaves) are reported in a NOTICE: VACUUM frees them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "amcommon/indexcheck.h"
#include "bm25/bm25.h"

typedef struct CheckState
{
	Relation	index;
	AmCheckReport report;		/* problems found */
	uint8	   *claimed;		/* per block: reached by a structure */
	BlockNumber nblocks;
	ItemPointerData *tids;		/* every indexed TID */
	uint64		ntids;
	uint64		tidsCap;
}			CheckState;

/* Record one violated invariant (amcommon/indexcheck.c) */
#define Problem(cs, ...) AmCheckProblem(&(cs)->report, __VA_ARGS__)

static void
Claim(CheckState * cs, BlockNumber blk, const char *what)
{
	if (blk == BM25_METAPAGE_BLKNO || blk >= cs->nblocks)
		Problem(cs, "%s names block %u, which is not a data page.", what, blk);
	else if (cs->claimed[blk])
		Problem(cs, "Block %u belongs to two structures (the second: %s).", blk, what);
	else
		cs->claimed[blk] = 1;
}

static void
AddTid(CheckState * cs, ItemPointer tid)
{
	if (cs->ntids == cs->tidsCap)
	{
		cs->tidsCap = Max(1024, cs->tidsCap * 2);
		cs->tids = repalloc_huge(cs->tids, sizeof(ItemPointerData) * cs->tidsCap);
	}
	cs->tids[cs->ntids++] = *tid;
}

/* ---- pending lists ---- */

typedef struct PendingCount
{
	CheckState *cs;
	uint64		ndocs;
	uint64		totalLen;
}			PendingCount;

static void
CountPending(const Bm25PendingDoc * doc, void *arg)
{
	PendingCount *pc = arg;
	ItemPointerData tid = doc->tid;
	uint64		sum = 0;

	pc->ndocs++;
	pc->totalLen += doc->terms.length;
	AddTid(pc->cs, &tid);
	for (int t = 0; t < doc->terms.nterms; t++)
	{
		sum += doc->terms.terms[t].tf;
		if (doc->terms.terms[t].tf == 0)
			Problem(pc->cs, "A pending document (%u,%u) has a lexeme with frequency 0.",
					ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid));
		if (t > 0 && Bm25CompareLexemes(doc->terms.terms[t - 1].lexeme, doc->terms.terms[t - 1].len,
										doc->terms.terms[t].lexeme, doc->terms.terms[t].len) >= 0)
			Problem(pc->cs, "The lexemes of pending document (%u,%u) are not in order.",
					ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid));
	}
	if (sum != doc->terms.length)
		Problem(pc->cs, "Pending document (%u,%u) has length %u but its frequencies add up to " UINT64_FORMAT ".",
				ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid),
				doc->terms.length, sum);
}

static void
CheckPending(CheckState * cs, const Bm25PendingList * list, const char *name)
{
	BlockNumber blk = list->head;
	uint64		owner = list->headOwner;
	uint64		nbytes = 0;
	uint32		npages = 0;
	PendingCount pc;

	if (list->head == InvalidBlockNumber)
	{
		if (list->npages != 0 || list->ndocs != 0 || list->nbytes != 0)
			Problem(cs, "The %s pending list is empty but counts %u pages and %u documents.",
					name, list->npages, list->ndocs);
		return;
	}
	while (npages < list->npages)
	{
		Buffer		buf;
		Page		page;

		if (blk == InvalidBlockNumber || blk >= cs->nblocks)
		{
			Problem(cs, "The %s pending list ends after %u of %u pages.", name, npages, list->npages);
			return;
		}
		buf = ReadBuffer(cs->index, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!Bm25PageIs(page, BM25_PAGE_PENDING, owner))
		{
			UnlockReleaseBuffer(buf);
			Problem(cs, "Page %u of the %s pending list is not a pending page of owner " UINT64_FORMAT ".",
					blk, name, owner);
			return;
		}
		Claim(cs, blk, "a pending list");
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
			nbytes += ItemIdGetLength(PageGetItemId(page, off));
		npages++;
		if (npages == list->npages)
		{
			if (blk != list->tail || owner != list->tailOwner)
				Problem(cs, "The %s pending list's last page is %u, the metapage says %u.",
						name, blk, list->tail);
			if (PageGetMaxOffsetNumber(page) != list->tailItems)
				Problem(cs, "The %s pending list's tail has %u items, the metapage says %u.",
						name, (unsigned) PageGetMaxOffsetNumber(page), list->tailItems);
		}
		blk = Bm25PageGetOpaque(page)->next;
		owner = Bm25PageGetOpaque(page)->nextOwner;
		UnlockReleaseBuffer(buf);
	}
	if (nbytes != list->nbytes)
		Problem(cs, "The %s pending list holds " UINT64_FORMAT " bytes, the metapage says " UINT64_FORMAT ".",
				name, nbytes, list->nbytes);

	memset(&pc, 0, sizeof(pc));
	pc.cs = cs;
	if (!Bm25ReadPending(cs->index, list, CountPending, &pc))
		Problem(cs, "The %s pending list cannot be read.", name);
	else if (pc.ndocs != list->ndocs || pc.totalLen != list->totalLen)
		Problem(cs, "The %s pending list holds " UINT64_FORMAT " documents of total length " UINT64_FORMAT
				", the metapage says %u and " UINT64_FORMAT ".",
				name, pc.ndocs, pc.totalLen, list->ndocs, list->totalLen);
}

/* ---- segments ---- */

static void
CheckSegment(CheckState * cs, const Bm25SegmentRef * ref, int segNo)
{
	Bm25Segment seg;
	BlockNumber *blocks;
	int			nb;
	uint32	   *lens;
	ItemPointerData *tids;
	uint64		sumLen = 0;
	uint64		termOff = 0;
	uint64		postOff = 0;
	char		prev[BM25_MAX_TERM_LEN];
	int			prevLen = -1;
	char		lexeme[BM25_MAX_TERM_LEN];
	Bm25StreamReader post;
	uint32		nslotsUsed = 0;

	nb = Bm25SegmentBlocks(cs->index, ref, &blocks);
	if (nb < 0)
	{
		Problem(cs, "Segment %d (header %u) has a page of another owner.", segNo, ref->head);
		return;
	}
	if ((uint32) nb != ref->npages)
		Problem(cs, "Segment %d has %d pages, the metapage says %u.", segNo, nb, ref->npages);
	for (int i = 0; i < nb; i++)
		Claim(cs, blocks[i], "a segment");
	if (!Bm25SegmentOpen(cs->index, ref, &seg))
	{
		Problem(cs, "Segment %d's header is not the segment's.", segNo);
		return;
	}
	if (seg.hdr->totalLen != ref->totalLen)
		Problem(cs, "Segment %d's header says total length " UINT64_FORMAT ", the metapage " UINT64_FORMAT ".",
				segNo, seg.hdr->totalLen, ref->totalLen);
	if (seg.hdr->streams[BM25_STREAM_DOCLEN].nbytes != (uint64) ref->ndocs * 4 ||
		seg.hdr->streams[BM25_STREAM_DOCTID].nbytes != (uint64) ref->ndocs * BM25_TID_SIZE ||
		seg.hdr->streams[BM25_STREAM_HASH].nbytes != (uint64) seg.hdr->hashSlots * 4)
	{
		Problem(cs, "Segment %d's streams have the wrong sizes.", segNo);
		Bm25SegmentClose(&seg);
		return;
	}

	/* documents */
	lens = palloc_extended(sizeof(uint32) * Max(ref->ndocs, 1), MCXT_ALLOC_HUGE);
	tids = palloc_extended(sizeof(ItemPointerData) * Max(ref->ndocs, 1), MCXT_ALLOC_HUGE);
	if (!Bm25StreamRead(&seg.doclen, 0, lens, sizeof(uint32) * ref->ndocs) ||
		!Bm25StreamRead(&seg.doctid, 0, tids, (uint64) BM25_TID_SIZE * ref->ndocs))
	{
		Problem(cs, "Segment %d's documents cannot be read.", segNo);
		Bm25SegmentClose(&seg);
		return;
	}
	for (uint32 d = 0; d < ref->ndocs; d++)
	{
		if (!ItemPointerIsValid(&tids[d]) || (d > 0 && ItemPointerCompare(&tids[d - 1], &tids[d]) >= 0))
			Problem(cs, "Segment %d's document %u has TID (%u,%u), not after the previous one.",
					segNo, d, ItemPointerGetBlockNumberNoCheck(&tids[d]),
					ItemPointerGetOffsetNumberNoCheck(&tids[d]));
		if (lens[d] == 0)
			Problem(cs, "Segment %d's document %u has length 0.", segNo, d);
		sumLen += lens[d];
		AddTid(cs, &tids[d]);
	}
	if (sumLen != seg.hdr->totalLen)
		Problem(cs, "Segment %d's document lengths add up to " UINT64_FORMAT ", its header says " UINT64_FORMAT ".",
				segNo, sumLen, seg.hdr->totalLen);

	/* terms and postings */
	Bm25StreamReaderInit(&post, &seg, BM25_STREAM_POST);
	for (uint32 t = 0; t < seg.hdr->nterms && cs->report.nproblems < 100; t++)
	{
		Bm25TermEntry e;
		Bm25TermEntry found;
		Bm25BlockHeader *hdrs;
		uint32		prevDoc = BM25_NO_DOC;
		uint32		maxTf = 0;
		uint32		minLen = PG_UINT32_MAX;
		uint64		dataOff;
		uint64		count = 0;

		CHECK_FOR_INTERRUPTS();
		if (!Bm25ReadTermEntry(&seg.terms, termOff, &e, lexeme))
		{
			Problem(cs, "Segment %d's term %u cannot be read.", segNo, t);
			break;
		}
		if (prevLen >= 0 && Bm25CompareLexemes(prev, prevLen, lexeme, e.len) >= 0)
			Problem(cs, "Segment %d's term %u is not after the previous one.", segNo, t);
		memcpy(prev, lexeme, e.len);
		prevLen = e.len;
		if (e.df == 0 || e.df > ref->ndocs)
			Problem(cs, "Segment %d's term %u has df %u.", segNo, t, e.df);
		if (e.postOffset != postOff)
			Problem(cs, "Segment %d's term %u's postings start at " UINT64_FORMAT ", expected " UINT64_FORMAT ".",
					segNo, t, e.postOffset, postOff);
		if (!Bm25SegmentLookup(&seg, lexeme, e.len,
							   hash_bytes((const unsigned char *) lexeme, e.len), &found) ||
			found.postOffset != e.postOffset)
			Problem(cs, "Segment %d's term %u is not found through the hash table.", segNo, t);
		else
			nslotsUsed++;

		hdrs = palloc(sizeof(Bm25BlockHeader) * Max(e.nblocks, 1));
		if (!Bm25StreamRead(&post, e.postOffset, hdrs, sizeof(Bm25BlockHeader) * e.nblocks))
		{
			Problem(cs, "Segment %d's term %u's block headers cannot be read.", segNo, t);
			break;
		}
		dataOff = sizeof(Bm25BlockHeader) * (uint64) e.nblocks;
		for (uint32 b = 0; b < e.nblocks; b++)
		{
			Bm25BlockHeader *h = &hdrs[b];
			uint8		data[BM25_BLOCK_MAX_BYTES];
			uint32		docs[BM25_BLOCK_SIZE];
			uint32		tfs[BM25_BLOCK_SIZE];
			uint32		bMaxTf = 0;
			uint32		bMinLen = PG_UINT32_MAX;
			int			expect = (b + 1 < e.nblocks) ? BM25_BLOCK_SIZE :
				(int) (e.df - (uint64) b * BM25_BLOCK_SIZE);

			if (h->count != expect || h->docBits > 32 || h->tfBits > 32 || h->dataOff != dataOff)
			{
				Problem(cs, "Segment %d's term %u's block %u has a bad header.", segNo, t, b);
				break;
			}
			if (!Bm25StreamRead(&post, e.postOffset + h->dataOff, data, Bm25BlockBytes(h)))
			{
				Problem(cs, "Segment %d's term %u's block %u cannot be read.", segNo, t, b);
				break;
			}
			dataOff += Bm25BlockBytes(h);
			Bm25DecodeBlock(data, h, prevDoc, docs, tfs);
			for (int i = 0; i < h->count; i++)
			{
				if (docs[i] >= ref->ndocs || (prevDoc != BM25_NO_DOC && docs[i] <= prevDoc))
				{
					Problem(cs, "Segment %d's term %u has document %u out of order or range.",
							segNo, t, docs[i]);
					break;
				}
				if (tfs[i] == 0)
					Problem(cs, "Segment %d's term %u has frequency 0.", segNo, t);
				prevDoc = docs[i];
				bMaxTf = Max(bMaxTf, tfs[i]);
				bMinLen = Min(bMinLen, lens[docs[i]]);
				count++;
			}
			if (h->lastDoc != prevDoc || h->maxTf != bMaxTf || h->minLen != bMinLen)
				Problem(cs, "Segment %d's term %u's block %u says last %u, max tf %u, min length %u; it holds %u, %u, %u.",
						segNo, t, b, h->lastDoc, h->maxTf, h->minLen, prevDoc, bMaxTf, bMinLen);
			maxTf = Max(maxTf, bMaxTf);
			minLen = Min(minLen, bMinLen);
		}
		if (count != e.df)
			Problem(cs, "Segment %d's term %u has df %u but %llu postings.", segNo, t, e.df,
					(unsigned long long) count);
		if (e.maxTf != maxTf || e.minLen != minLen)
			Problem(cs, "Segment %d's term %u's bounds (%u, %u) are not its blocks' (%u, %u).",
					segNo, t, e.maxTf, e.minLen, maxTf, minLen);
		pfree(hdrs);
		postOff = e.postOffset + dataOff;
		termOff += BM25_TERM_ENTRY_SIZE + e.len;
	}
	if (cs->report.nproblems == 0)
	{
		if (termOff != seg.hdr->streams[BM25_STREAM_TERMS].nbytes)
			Problem(cs, "Segment %d's terms end at " UINT64_FORMAT " of " UINT64_FORMAT " bytes.",
					segNo, termOff, seg.hdr->streams[BM25_STREAM_TERMS].nbytes);
		if (postOff != seg.hdr->streams[BM25_STREAM_POST].nbytes)
			Problem(cs, "Segment %d's postings end at " UINT64_FORMAT " of " UINT64_FORMAT " bytes.",
					segNo, postOff, seg.hdr->streams[BM25_STREAM_POST].nbytes);
	}
	Bm25StreamReaderRelease(&post);
	pfree(lens);
	pfree(tids);
	Bm25SegmentClose(&seg);
}

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

PG_FUNCTION_INFO_V1(bm25_check);
Datum
bm25_check(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	LOCKMODE	lockmode;
	Relation	index;
	MemoryContext ctx;
	MemoryContext old;
	CheckState	cs;
	Bm25MetaPageData meta;
	uint64		docs = 0;
	uint64		len = 0;
	BlockNumber unreached = 0;

	index = AmCheckOpen(indexoid, bm25build, "a bm25 index", &lockmode);

	ctx = AllocSetContextCreate(CurrentMemoryContext, "bm25_check", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(ctx);
	memset(&cs, 0, sizeof(cs));
	cs.index = index;
	cs.nblocks = RelationGetNumberOfBlocks(index);
	cs.claimed = palloc0(Max(cs.nblocks, 1));
	cs.tidsCap = 1024;
	cs.tids = palloc(sizeof(ItemPointerData) * cs.tidsCap);

	Bm25ReadMeta(index, &meta);
	if (!SearchSysCacheExists1(TSCONFIGOID, ObjectIdGetDatum(meta.textConfig)))
		Problem(&cs, "The text search configuration %u does not exist.", meta.textConfig);
	if (meta.nsegments > BM25_MAX_SEGMENTS)
		Problem(&cs, "The metapage lists %u segments.", meta.nsegments);
	else
	{
		CheckPending(&cs, &meta.active, "active");
		CheckPending(&cs, &meta.sealed, "sealed");
		docs = (uint64) meta.active.ndocs + meta.sealed.ndocs;
		len = meta.active.totalLen + meta.sealed.totalLen;
		for (uint32 i = 0; i < meta.nsegments; i++)
		{
			if (meta.segs[i].owner >= meta.nextOwner)
				Problem(&cs, "Segment %u's owner " UINT64_FORMAT " was never handed out.", i, meta.segs[i].owner);
			CheckSegment(&cs, &meta.segs[i], i);
			docs += meta.segs[i].ndocs;
			len += meta.segs[i].totalLen;
		}
		if (docs != meta.totalDocs || len != meta.totalLen)
			Problem(&cs, "The metapage counts " UINT64_FORMAT " documents of total length " UINT64_FORMAT
					"; its segments and pending lists hold " UINT64_FORMAT " and " UINT64_FORMAT ".",
					meta.totalDocs, meta.totalLen, docs, len);
	}

	/* no row twice */
	qsort(cs.tids, cs.ntids, sizeof(ItemPointerData), CompareTids);
	for (uint64 i = 1; i < cs.ntids; i++)
		if (ItemPointerEquals(&cs.tids[i - 1], &cs.tids[i]))
		{
			Problem(&cs, "Heap TID (%u,%u) is indexed twice.",
					ItemPointerGetBlockNumber(&cs.tids[i]), ItemPointerGetOffsetNumber(&cs.tids[i]));
			break;
		}

	/* pages nothing reaches */
	for (BlockNumber blk = 1; blk < cs.nblocks; blk++)
	{
		Buffer		buf;
		Page		page;

		if (cs.claimed[blk])
			continue;
		buf = ReadBuffer(index, blk);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !Bm25PageIs(page, BM25_PAGE_FREE, 0))
			unreached++;
		UnlockReleaseBuffer(buf);
	}

	AmCheckRaise(index, "bm25", &cs.report);
	if (unreached > 0)
		ereport(NOTICE,
				(errmsg("%u pages of bm25 index \"%s\" are neither used nor free",
						unreached, RelationGetRelationName(index)),
				 errdetail("A crash between writing a segment and publishing or freeing it leaves such pages."),
				 errhint("VACUUM frees them.")));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	relation_close(index, lockmode);
	PG_RETURN_BOOL(true);
}
