/*-------------------------------------------------------------------------
 *
 * bm25segment.c
 *	  Segments of the bm25 index: writing one, reading one, merging several
 *
 * A segment is immutable once written.  Its five streams (bm25.h) are
 * filled page by page as data arrives, each page taken from the free space
 * map or by extending the relation, and WAL-logged as a full image (unless
 * CREATE INDEX is building, which logs the whole relation at the end).
 * The directory pages and the header page come last: until the metapage
 * lists the header, nobody can reach any of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "bm25/bm25.h"

/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

/* Write one finished page of data to a new buffer, WAL-logged */
static BlockNumber
WriteDataPage(Bm25SegWriter * w, uint16 type, const char *data, int used)
{
	PGAlignedBlock local;
	Buffer		buf;
	BlockNumber blkno;

	Bm25InitPage(local.data, type, w->owner);
	memcpy(PageGetContents(local.data), data, used);
	((PageHeader) local.data)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + used;

	buf = Bm25NewBuffer(w->index, w->building);
	blkno = BufferGetBlockNumber(buf);
	START_CRIT_SECTION();
	memcpy(BufferGetPage(buf), local.data, BLCKSZ);
	MarkBufferDirty(buf);
	Bm25LogPage(w->index, buf, w->building);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
	return blkno;
}

static void
FlushStreamPage(Bm25SegWriter * w, Bm25StreamWriter * sw)
{
	if (sw->nblocks == sw->cap)
	{
		sw->cap = Max(16, sw->cap * 2);
		sw->blocks = repalloc_huge(sw->blocks, sizeof(BlockNumber) * sw->cap);
	}
	sw->blocks[sw->nblocks++] = WriteDataPage(w, BM25_PAGE_SEGDATA, sw->page, sw->used);
	sw->used = 0;
}

/* Append bytes to a stream */
static void
StreamWrite(Bm25SegWriter * w, int s, const void *data, size_t len)
{
	Bm25StreamWriter *sw = &w->streams[s];
	const char *p = data;

	while (len > 0)
	{
		size_t		chunk = Min(len, BM25_STREAM_PAGE_BYTES - sw->used);

		memcpy(sw->page + sw->used, p, chunk);
		sw->used += chunk;
		sw->nbytes += chunk;
		p += chunk;
		len -= chunk;
		if (sw->used == BM25_STREAM_PAGE_BYTES)
			FlushStreamPage(w, sw);
	}
}

/* Start a segment: takes a new owner number for its pages */
void
Bm25SegWriterInit(Bm25SegWriter * w, Relation index, bool building)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	w->building = building;
	w->owner = Bm25TakeOwner(index, 1, building);
	for (int s = 0; s < BM25_NSTREAMS; s++)
	{
		w->streams[s].page = palloc(BM25_STREAM_PAGE_BYTES);
		w->streams[s].cap = 16;
		w->streams[s].blocks = palloc(sizeof(BlockNumber) * 16);
	}
	w->lensCap = 1024;
	w->lens = palloc(sizeof(uint32) * w->lensCap);
	w->termsCap = 1024;
	w->termOffsets = palloc(sizeof(uint32) * w->termsCap);
	w->termHashes = palloc(sizeof(uint32) * w->termsCap);
	w->lastTerm = palloc(BM25_MAX_TERM_LEN + 1);
	w->lastTermLen = -1;
}

/* Add the next document (documents come in heap TID order, before terms) */
void
Bm25SegWriterAddDoc(Bm25SegWriter * w, ItemPointer tid, uint32 len, uint64 textHash)
{
	if (w->nterms > 0)
		elog(ERROR, "bm25: document added after terms");
	if (w->ndocs == PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bm25 segment cannot hold more than %u documents", PG_UINT32_MAX - 1)));
	if (w->ndocs == w->lensCap)
	{
		w->lensCap *= 2;
		w->lens = repalloc_huge(w->lens, sizeof(uint32) * w->lensCap);
	}
	w->lens[w->ndocs++] = len;
	w->totalLen += len;
	StreamWrite(w, BM25_STREAM_DOCLEN, &len, sizeof(uint32));
	StreamWrite(w, BM25_STREAM_DOCTID, tid, BM25_TID_SIZE);
	StreamWrite(w, BM25_STREAM_DOCHASH, &textHash, sizeof(uint64));
}

/*
 * Add a term with its n postings: documents ascending, frequencies >= 1.
 * Terms come in byte order.
 */
void
Bm25SegWriterAddTerm(Bm25SegWriter * w, const char *lexeme, int len,
					 const uint32 *docs, const uint32 *tfs, uint32 n)
{
	uint32		nblocks = (n + BM25_BLOCK_SIZE - 1) / BM25_BLOCK_SIZE;
	Bm25BlockHeader *hdrs;
	uint8	   *data;
	size_t		dataLen = 0;
	uint32		prev = BM25_NO_DOC;
	uint32		maxTf = 0;
	uint32		minLen = PG_UINT32_MAX;
	uint64		postOffset = w->streams[BM25_STREAM_POST].nbytes;
	uint64		termOffset = w->streams[BM25_STREAM_TERMS].nbytes;
	char		fixed[BM25_TERM_ENTRY_SIZE];
	uint16		len16 = (uint16) len;

	if (n == 0)
		return;
	if (len <= 0 || len > BM25_MAX_TERM_LEN)
		elog(ERROR, "bm25: lexeme of %d bytes", len);
	if (w->lastTermLen >= 0 &&
		Bm25CompareLexemes(w->lastTerm, w->lastTermLen, lexeme, len) >= 0)
		elog(ERROR, "bm25: terms out of order");
	memcpy(w->lastTerm, lexeme, len);
	w->lastTermLen = len;
	if (termOffset >= PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bm25 segment has too many distinct terms")));

	hdrs = palloc(sizeof(Bm25BlockHeader) * nblocks);
	data = palloc((Size) nblocks * BM25_BLOCK_MAX_BYTES);
	for (uint32 b = 0; b < nblocks; b++)
	{
		uint32		first = b * BM25_BLOCK_SIZE;
		int			cnt = Min(BM25_BLOCK_SIZE, n - first);
		uint32		blockMinLen = PG_UINT32_MAX;

		for (int i = 0; i < cnt; i++)
		{
			uint32		d = docs[first + i];

			if (d >= w->ndocs || (i > 0 || b > 0 ? d <= docs[first + i - 1] : false))
				elog(ERROR, "bm25: posting %u out of order or range", d);
			if (tfs[first + i] == 0)
				elog(ERROR, "bm25: posting with frequency 0");
			blockMinLen = Min(blockMinLen, w->lens[d]);
		}
		hdrs[b].dataOff = (uint32) (sizeof(Bm25BlockHeader) * nblocks + dataLen);
		dataLen += Bm25EncodeBlock(docs + first, tfs + first, cnt, prev, &hdrs[b], data + dataLen);
		hdrs[b].minLen = blockMinLen;
		prev = hdrs[b].lastDoc;
		maxTf = Max(maxTf, hdrs[b].maxTf);
		minLen = Min(minLen, blockMinLen);
	}
	if (sizeof(Bm25BlockHeader) * (Size) nblocks + dataLen >= PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bm25 posting list too long")));
	StreamWrite(w, BM25_STREAM_POST, hdrs, sizeof(Bm25BlockHeader) * nblocks);
	StreamWrite(w, BM25_STREAM_POST, data, dataLen);
	pfree(hdrs);
	pfree(data);

	memcpy(fixed, &n, 4);
	memcpy(fixed + 4, &nblocks, 4);
	memcpy(fixed + 8, &postOffset, 8);
	memcpy(fixed + 16, &maxTf, 4);
	memcpy(fixed + 20, &minLen, 4);
	memcpy(fixed + 24, &len16, 2);
	StreamWrite(w, BM25_STREAM_TERMS, fixed, BM25_TERM_ENTRY_SIZE);
	StreamWrite(w, BM25_STREAM_TERMS, lexeme, len);

	if (w->nterms == w->termsCap)
	{
		w->termsCap *= 2;
		w->termOffsets = repalloc_huge(w->termOffsets, sizeof(uint32) * w->termsCap);
		w->termHashes = repalloc_huge(w->termHashes, sizeof(uint32) * w->termsCap);
	}
	w->termOffsets[w->nterms] = (uint32) termOffset;
	w->termHashes[w->nterms] = hash_bytes((const unsigned char *) lexeme, len);
	w->nterms++;
}

/* Write the hash table, the directories and the header; returns the segment */
Bm25SegmentRef
Bm25SegWriterFinish(Bm25SegWriter * w)
{
	uint32		nslots = 8;
	uint32	   *slots;
	PGAlignedBlock hdrpage;
	Bm25SegHeaderData *hdr;
	Bm25SegmentRef ref;
	uint32		ndirs = 0;
	uint32		npages = 1;
	Buffer		buf;

	while (nslots < (uint64) w->nterms * 2)
		nslots <<= 1;
	slots = palloc_extended(sizeof(uint32) * (Size) nslots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (uint32 t = 0; t < w->nterms; t++)
	{
		uint32		s = w->termHashes[t] & (nslots - 1);

		while (slots[s] != 0)
			s = (s + 1) & (nslots - 1);
		slots[s] = w->termOffsets[t] + 1;
	}
	StreamWrite(w, BM25_STREAM_HASH, slots, sizeof(uint32) * (Size) nslots);
	pfree(slots);

	Bm25InitPage(hdrpage.data, BM25_PAGE_SEGHEAD, w->owner);
	hdr = (Bm25SegHeaderData *) PageGetContents(hdrpage.data);
	memset(hdr, 0, offsetof(Bm25SegHeaderData, dirs));
	hdr->owner = w->owner;
	hdr->ndocs = w->ndocs;
	hdr->nterms = w->nterms;
	hdr->totalLen = w->totalLen;
	hdr->hashSlots = nslots;

	for (int s = 0; s < BM25_NSTREAMS; s++)
	{
		Bm25StreamWriter *sw = &w->streams[s];

		if (sw->used > 0)
			FlushStreamPage(w, sw);
		hdr->streams[s].nbytes = sw->nbytes;
		hdr->streams[s].npages = sw->nblocks;
		hdr->streams[s].firstDir = ndirs;
		if (sw->nblocks <= BM25_DIRECT_PAGES)
		{
			/* few pages: list them in the header, no directory page */
			hdr->streams[s].direct = 1;
			hdr->streams[s].ndirs = 0;
			memcpy(&hdr->dirs[ndirs], sw->blocks, sizeof(BlockNumber) * sw->nblocks);
			ndirs += sw->nblocks;
			npages += sw->nblocks;
			continue;
		}
		hdr->streams[s].ndirs = (sw->nblocks + BM25_DIR_ENTRIES - 1) / BM25_DIR_ENTRIES;
		if (ndirs + hdr->streams[s].ndirs > BM25_MAX_DIRS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("bm25 segment too large")));
		for (uint32 d = 0; d < hdr->streams[s].ndirs; d++)
		{
			int			first = d * BM25_DIR_ENTRIES;
			int			cnt = Min(BM25_DIR_ENTRIES, sw->nblocks - first);

			hdr->dirs[ndirs++] = WriteDataPage(w, BM25_PAGE_SEGDIR, (char *) (sw->blocks + first),
											   cnt * sizeof(BlockNumber));
		}
		npages += sw->nblocks + hdr->streams[s].ndirs;
	}
	hdr->ndirs = ndirs;
	((PageHeader) hdrpage.data)->pd_lower =
		MAXALIGN(SizeOfPageHeaderData) + offsetof(Bm25SegHeaderData, dirs) + ndirs * sizeof(BlockNumber);

	buf = Bm25NewBuffer(w->index, w->building);
	START_CRIT_SECTION();
	memcpy(BufferGetPage(buf), hdrpage.data, BLCKSZ);
	MarkBufferDirty(buf);
	Bm25LogPage(w->index, buf, w->building);
	END_CRIT_SECTION();

	memset(&ref, 0, sizeof(ref));
	ref.head = BufferGetBlockNumber(buf);
	ref.ndocs = w->ndocs;
	ref.owner = w->owner;
	ref.totalLen = w->totalLen;
	ref.npages = npages;
	UnlockReleaseBuffer(buf);

	for (int s = 0; s < BM25_NSTREAMS; s++)
	{
		pfree(w->streams[s].page);
		pfree(w->streams[s].blocks);
	}
	pfree(w->lens);
	pfree(w->termOffsets);
	pfree(w->termHashes);
	pfree(w->lastTerm);
	return ref;
}

/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */

/*
 * Open a segment: copy its header page.  Returns false (and marks the
 * segment stale) when the header is not the segment's any more.
 */
bool
Bm25SegmentOpen(Relation index, const Bm25SegmentRef * ref, Bm25Segment * seg)
{
	Buffer		buf;
	Page		page;
	bool		ok;

	memset(seg, 0, sizeof(*seg));
	seg->index = index;
	seg->ref = *ref;
	seg->hdr = palloc(BM25_PAGE_DATA);
	buf = ReadBuffer(index, ref->head);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	ok = Bm25PageIs(page, BM25_PAGE_SEGHEAD, ref->owner);
	if (ok)
		memcpy(seg->hdr, PageGetContents(page), BM25_PAGE_DATA);
	UnlockReleaseBuffer(buf);
	if (ok && (seg->hdr->ndocs != ref->ndocs || seg->hdr->ndirs > BM25_MAX_DIRS))
		ok = false;
	if (!ok)
	{
		memset(seg->hdr, 0, BM25_PAGE_DATA);
		seg->stale = true;
	}
	Bm25StreamReaderInit(&seg->doclen, seg, BM25_STREAM_DOCLEN);
	Bm25StreamReaderInit(&seg->doctid, seg, BM25_STREAM_DOCTID);
	Bm25StreamReaderInit(&seg->terms, seg, BM25_STREAM_TERMS);
	Bm25StreamReaderInit(&seg->hash, seg, BM25_STREAM_HASH);
	Bm25StreamReaderInit(&seg->dochash, seg, BM25_STREAM_DOCHASH);
	return ok;
}

void
Bm25SegmentClose(Bm25Segment * seg)
{
	Bm25StreamReaderRelease(&seg->doclen);
	Bm25StreamReaderRelease(&seg->doctid);
	Bm25StreamReaderRelease(&seg->terms);
	Bm25StreamReaderRelease(&seg->hash);
	Bm25StreamReaderRelease(&seg->dochash);
	if (seg->hdr)
		pfree(seg->hdr);
	seg->hdr = NULL;
}

void
Bm25StreamReaderInit(Bm25StreamReader * r, Bm25Segment * seg, int stream)
{
	r->index = seg->index;
	r->owner = seg->ref.owner;
	r->hdr = seg->hdr;
	r->stream = stream;
	r->curDir = -1;
	r->dirBlocks = NULL;
	r->curPage = -1;
	r->buf = InvalidBuffer;
	r->stale = &seg->stale;
}

void
Bm25StreamReaderRelease(Bm25StreamReader * r)
{
	if (BufferIsValid(r->buf))
		ReleaseBuffer(r->buf);
	r->buf = InvalidBuffer;
	r->curPage = -1;
	if (r->dirBlocks)
		pfree(r->dirBlocks);
	r->dirBlocks = NULL;
	r->curDir = -1;
}

/* Block number of a stream page, through the directory */
static BlockNumber
DirLookup(Bm25StreamReader * r, uint32 pageNo)
{
	const Bm25StreamInfo *si = &r->hdr->streams[r->stream];
	int			dir = pageNo / BM25_DIR_ENTRIES;

	if (si->direct)
		return si->firstDir + pageNo < (uint32) BM25_MAX_DIRS ?
			r->hdr->dirs[si->firstDir + pageNo] : InvalidBlockNumber;
	if (dir != r->curDir)
	{
		Buffer		buf;
		Page		page;
		bool		ok;

		if (r->dirBlocks == NULL)
			r->dirBlocks = MemoryContextAlloc(GetMemoryChunkContext((void *) r->hdr),
											  sizeof(BlockNumber) * BM25_DIR_ENTRIES);
		buf = ReadBuffer(r->index, r->hdr->dirs[si->firstDir + dir]);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		ok = Bm25PageIs(page, BM25_PAGE_SEGDIR, r->owner);
		if (ok)
			memcpy(r->dirBlocks, PageGetContents(page), sizeof(BlockNumber) * BM25_DIR_ENTRIES);
		UnlockReleaseBuffer(buf);
		if (!ok)
		{
			*r->stale = true;
			return InvalidBlockNumber;
		}
		r->curDir = dir;
	}
	return r->dirBlocks[pageNo % BM25_DIR_ENTRIES];
}

/*
 * Copy len bytes at offset of the stream into dst.  On a page that is not
 * the segment's (freed and reused under a standby reader, or corruption)
 * marks the segment stale, zeroes dst and returns false.
 */
bool
Bm25StreamRead(Bm25StreamReader * r, uint64 offset, void *dst, uint32 len)
{
	const Bm25StreamInfo *si = &r->hdr->streams[r->stream];
	char	   *out = dst;

	if (*r->stale || offset + len > si->nbytes)
		goto fail;
	while (len > 0)
	{
		uint32		pageNo = offset / BM25_STREAM_PAGE_BYTES;
		uint32		inPage = offset % BM25_STREAM_PAGE_BYTES;
		uint32		chunk = Min(len, BM25_STREAM_PAGE_BYTES - inPage);
		Page		page;
		bool		ok;

		if (pageNo != r->curPage)
		{
			BlockNumber blk;

			if (BufferIsValid(r->buf))
				ReleaseBuffer(r->buf);
			r->buf = InvalidBuffer;
			r->curPage = -1;
			if (pageNo >= si->npages)
				goto fail;
			blk = DirLookup(r, pageNo);
			if (blk == InvalidBlockNumber)
				goto fail;
			r->buf = ReadBuffer(r->index, blk);
			r->curPage = pageNo;
		}
		LockBuffer(r->buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(r->buf);
		ok = Bm25PageIs(page, BM25_PAGE_SEGDATA, r->owner);
		if (ok)
			memcpy(out, PageGetContents(page) + inPage, chunk);
		LockBuffer(r->buf, BUFFER_LOCK_UNLOCK);
		if (!ok)
			goto fail;
		out += chunk;
		offset += chunk;
		len -= chunk;
	}
	return true;

fail:
	*r->stale = true;
	memset(out, 0, len);
	return false;
}

/* Read the term entry at a TERMS offset (and its lexeme, when asked) */
bool
Bm25ReadTermEntry(Bm25StreamReader * r, uint64 offset, Bm25TermEntry * e, char *lexeme)
{
	char		fixed[BM25_TERM_ENTRY_SIZE];

	if (!Bm25StreamRead(r, offset, fixed, BM25_TERM_ENTRY_SIZE))
	{
		memset(e, 0, sizeof(*e));
		return false;
	}
	memcpy(&e->df, fixed, 4);
	memcpy(&e->nblocks, fixed + 4, 4);
	memcpy(&e->postOffset, fixed + 8, 8);
	memcpy(&e->maxTf, fixed + 16, 4);
	memcpy(&e->minLen, fixed + 20, 4);
	memcpy(&e->len, fixed + 24, 2);
	if (e->len == 0 || e->len > BM25_MAX_TERM_LEN ||
		e->nblocks != (e->df + BM25_BLOCK_SIZE - 1) / BM25_BLOCK_SIZE)
	{
		*r->stale = true;
		memset(e, 0, sizeof(*e));
		return false;
	}
	if (lexeme && !Bm25StreamRead(r, offset + BM25_TERM_ENTRY_SIZE, lexeme, e->len))
	{
		memset(e, 0, sizeof(*e));
		return false;
	}
	return true;
}

/* Find a term through the hash table; false when absent (or stale) */
bool
Bm25SegmentLookup(Bm25Segment * seg, const char *lexeme, int len, uint32 hash,
				  Bm25TermEntry * entry)
{
	uint32		nslots = seg->hdr->hashSlots;
	uint32		s;
	char		buf[BM25_MAX_TERM_LEN];

	if (seg->stale || nslots == 0 || (nslots & (nslots - 1)) != 0)
		return false;
	s = hash & (nslots - 1);
	for (uint32 probe = 0; probe < nslots; probe++)
	{
		uint32		slot;

		if (!Bm25StreamRead(&seg->hash, (uint64) s * sizeof(uint32), &slot, sizeof(uint32)))
			return false;
		if (slot == 0)
			return false;
		if (!Bm25ReadTermEntry(&seg->terms, slot - 1, entry, NULL))
			return false;
		if (entry->len == len)
		{
			if (!Bm25StreamRead(&seg->terms, (uint64) slot - 1 + BM25_TERM_ENTRY_SIZE, buf, len))
				return false;
			if (memcmp(buf, lexeme, len) == 0)
				return true;
		}
		s = (s + 1) & (nslots - 1);
	}
	return false;
}

/* Length of a document (0 when stale) */
uint32
Bm25SegmentDocLen(Bm25Segment * seg, uint32 doc)
{
	uint32		len;

	Bm25StreamRead(&seg->doclen, (uint64) doc * sizeof(uint32), &len, sizeof(uint32));
	return len;
}

/* Heap TID of a document (invalid when stale) */
void
Bm25SegmentDocTid(Bm25Segment * seg, uint32 doc, ItemPointer tid)
{
	if (!Bm25StreamRead(&seg->doctid, (uint64) doc * BM25_TID_SIZE, tid, BM25_TID_SIZE))
		ItemPointerSetInvalid(tid);
}

/* Text hash of a document (0 when stale) */
uint64
Bm25SegmentDocHash(Bm25Segment * seg, uint32 doc)
{
	uint64		h;

	Bm25StreamRead(&seg->dochash, (uint64) doc * sizeof(uint64), &h, sizeof(uint64));
	return h;
}

/*
 * Every page of a segment (header, directories, stream pages), read from
 * its header and directories.  Used to free a segment and by the checker.
 * Returns -1 when the header is not the segment's.
 */
int
Bm25SegmentBlocks(Relation index, const Bm25SegmentRef * ref, BlockNumber **blocks)
{
	Bm25Segment seg;
	int			n = 0;
	int			cap;
	BlockNumber *out;

	if (!Bm25SegmentOpen(index, ref, &seg))
	{
		Bm25SegmentClose(&seg);
		*blocks = NULL;
		return -1;
	}
	cap = 1;
	for (int s = 0; s < BM25_NSTREAMS; s++)
		cap += seg.hdr->streams[s].npages + seg.hdr->streams[s].ndirs;
	out = palloc(sizeof(BlockNumber) * cap);
	out[n++] = ref->head;
	for (int s = 0; s < BM25_NSTREAMS; s++)
	{
		Bm25StreamReader r;
		const Bm25StreamInfo *si = &seg.hdr->streams[s];

		Bm25StreamReaderInit(&r, &seg, s);
		for (uint32 d = 0; d < si->ndirs; d++)
			out[n++] = seg.hdr->dirs[si->firstDir + d];
		for (uint32 p = 0; p < si->npages && !seg.stale; p++)
		{
			BlockNumber b = DirLookup(&r, p);

			if (b != InvalidBlockNumber)
				out[n++] = b;
		}
		Bm25StreamReaderRelease(&r);
	}
	Bm25SegmentClose(&seg);
	*blocks = out;
	return seg.stale ? -1 : n;
}

/* ---------------------------------------------------------------------
 * Merging
 * ---------------------------------------------------------------------
 */

/* Read every posting of a term entry; returns the count (-1 when stale) */
static int64
ReadPostings(Bm25Segment * seg, Bm25StreamReader * post, const Bm25TermEntry * e,
			 uint32 *docs, uint32 *tfs)
{
	Bm25BlockHeader *hdrs;
	uint8		data[BM25_BLOCK_MAX_BYTES];
	uint32		prev = BM25_NO_DOC;
	int64		n = 0;

	hdrs = palloc(sizeof(Bm25BlockHeader) * Max(e->nblocks, 1));
	if (!Bm25StreamRead(post, e->postOffset, hdrs, sizeof(Bm25BlockHeader) * e->nblocks))
		return -1;
	for (uint32 b = 0; b < e->nblocks; b++)
	{
		size_t		bytes = Bm25BlockBytes(&hdrs[b]);

		if (hdrs[b].count == 0 || hdrs[b].count > BM25_BLOCK_SIZE ||
			hdrs[b].docBits > 32 || hdrs[b].tfBits > 32 || n + hdrs[b].count > e->df ||
			!Bm25StreamRead(post, e->postOffset + hdrs[b].dataOff, data, bytes))
		{
			*post->stale = true;
			return -1;
		}
		Bm25DecodeBlock(data, &hdrs[b], prev, docs + n, tfs + n);
		prev = hdrs[b].lastDoc;
		n += hdrs[b].count;
	}
	pfree(hdrs);
	return n;
}

typedef struct MergeDoc
{
	uint64		key;			/* heap TID as an integer */
	uint32		input;
	uint32		doc;
}			MergeDoc;

static int
CompareMergeDocs(const void *a, const void *b)
{
	const MergeDoc *x = a;
	const MergeDoc *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->input != y->input)
		return x->input < y->input ? -1 : 1;
	return (x->doc > y->doc) - (x->doc < y->doc);
}

static inline uint64
TidKey(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

/* Per input of a merge */
typedef struct MergeInput
{
	Bm25Segment seg;
	Bm25StreamReader post;
	uint32	   *newId;			/* input document -> output document, or BM25_NO_DOC */
	uint64		termOff;		/* TERMS offset of the current entry */
	uint32		termNo;			/* entries read so far */
	Bm25TermEntry entry;
	char		lexeme[BM25_MAX_TERM_LEN];
	bool		done;
}			MergeInput;

static void
MergeNextTerm(MergeInput * in)
{
	if (in->termNo >= in->seg.hdr->nterms)
	{
		in->done = true;
		return;
	}
	if (in->termNo > 0)
		in->termOff += BM25_TERM_ENTRY_SIZE + in->entry.len;
	if (!Bm25ReadTermEntry(&in->seg.terms, in->termOff, &in->entry, in->lexeme))
		elog(ERROR, "bm25: segment changed while being merged");
	in->termNo++;
}

/*
 * Merge segments into one (or rewrite one), dropping the documents the
 * callback says are dead.  The caller holds BM25_MAINT_LOCK, so the inputs
 * cannot change.  Returns a segment with ndocs = 0 (and no pages) when
 * nothing survives.
 */
Bm25SegmentRef
Bm25MergeSegments(Relation index, const Bm25SegmentRef * inputs, int n,
				  Bm25DeadCallback dead, void *deadState, bool building,
				  uint64 *removedDocs, uint64 *removedLen)
{
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "bm25 merge",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	MergeInput *in = palloc0(sizeof(MergeInput) * n);
	MergeDoc   *all;
	uint64		total = 0;
	uint64		nlive = 0;
	Bm25SegWriter w;
	Bm25SegmentRef result;
	uint32	   *docs;
	uint32	   *tfs;
	uint32	  **lens = palloc(sizeof(uint32 *) * n);
	uint64	  **hashes = palloc(sizeof(uint64 *) * n);
	uint64		cap = 0;

	*removedDocs = 0;
	*removedLen = 0;
	for (int i = 0; i < n; i++)
	{
		if (!Bm25SegmentOpen(index, &inputs[i], &in[i].seg))
			elog(ERROR, "bm25: segment at block %u is not what the metapage says", inputs[i].head);
		total += in[i].seg.hdr->ndocs;
	}

	/* Documents: drop the dead ones, order the rest by heap TID */
	all = palloc_extended(sizeof(MergeDoc) * Max(total, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < n; i++)
	{
		uint32		nd = in[i].seg.hdr->ndocs;
		ItemPointerData *tids = palloc_extended(sizeof(ItemPointerData) * Max(nd, 1), MCXT_ALLOC_HUGE);

		lens[i] = palloc_extended(sizeof(uint32) * Max(nd, 1), MCXT_ALLOC_HUGE);
		hashes[i] = palloc_extended(sizeof(uint64) * Max(nd, 1), MCXT_ALLOC_HUGE);
		in[i].newId = palloc_extended(sizeof(uint32) * Max(nd, 1), MCXT_ALLOC_HUGE);
		StaticAssertStmt(sizeof(ItemPointerData) == BM25_TID_SIZE, "packed TIDs");
		if (!Bm25StreamRead(&in[i].seg.doclen, 0, lens[i], sizeof(uint32) * nd) ||
			!Bm25StreamRead(&in[i].seg.doctid, 0, tids, (uint64) BM25_TID_SIZE * nd) ||
			!Bm25StreamRead(&in[i].seg.dochash, 0, hashes[i], sizeof(uint64) * nd))
			elog(ERROR, "bm25: segment changed while being merged");
		for (uint32 d = 0; d < nd; d++)
		{
			if ((d & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			in[i].newId[d] = BM25_NO_DOC;
			if (dead && dead(&tids[d], deadState))
			{
				(*removedDocs)++;
				*removedLen += lens[i][d];
				continue;
			}
			all[nlive].key = TidKey(&tids[d]);
			all[nlive].input = i;
			all[nlive].doc = d;
			nlive++;
		}
		pfree(tids);
	}
	if (nlive == 0)
	{
		for (int i = 0; i < n; i++)
			Bm25SegmentClose(&in[i].seg);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(ctx);
		memset(&result, 0, sizeof(result));
		return result;
	}
	qsort(all, nlive, sizeof(MergeDoc), CompareMergeDocs);

	Bm25SegWriterInit(&w, index, building);
	for (uint64 j = 0; j < nlive; j++)
	{
		ItemPointerData tid;

		if ((j & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		ItemPointerSet(&tid, (BlockNumber) (all[j].key >> 16), (OffsetNumber) (all[j].key & 0xFFFF));
		in[all[j].input].newId[all[j].doc] = (uint32) j;
		Bm25SegWriterAddDoc(&w, &tid, lens[all[j].input][all[j].doc],
							hashes[all[j].input][all[j].doc]);
	}
	pfree(all);

	/* Terms: a k-way merge of the inputs' sorted entries */
	for (int i = 0; i < n; i++)
	{
		Bm25StreamReaderInit(&in[i].post, &in[i].seg, BM25_STREAM_POST);
		MergeNextTerm(&in[i]);
	}
	docs = NULL;
	tfs = NULL;
	for (;;)
	{
		int			min = -1;
		uint64		need = 0;
		uint64		m = 0;
		uint32	  **idocs;
		uint32	  **itfs;
		int64	   *icount;
		int64	   *ipos;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
		{
			if (in[i].done)
				continue;
			if (min < 0 || Bm25CompareLexemes(in[i].lexeme, in[i].entry.len,
											   in[min].lexeme, in[min].entry.len) < 0)
				min = i;
		}
		if (min < 0)
			break;

		/* Read the postings of every input holding this lexeme */
		idocs = palloc0(sizeof(uint32 *) * n);
		itfs = palloc0(sizeof(uint32 *) * n);
		icount = palloc0(sizeof(int64) * n);
		ipos = palloc0(sizeof(int64) * n);
		for (int i = 0; i < n; i++)
		{
			if (in[i].done || in[i].entry.len != in[min].entry.len ||
				memcmp(in[i].lexeme, in[min].lexeme, in[i].entry.len) != 0)
				continue;
			idocs[i] = palloc_extended(sizeof(uint32) * in[i].entry.df, MCXT_ALLOC_HUGE);
			itfs[i] = palloc_extended(sizeof(uint32) * in[i].entry.df, MCXT_ALLOC_HUGE);
			icount[i] = ReadPostings(&in[i].seg, &in[i].post, &in[i].entry, idocs[i], itfs[i]);
			if (icount[i] != in[i].entry.df)
				elog(ERROR, "bm25: segment changed while being merged");
			need += icount[i];
		}
		if (need > cap)
		{
			cap = Max(need, cap * 2);
			if (docs)
			{
				pfree(docs);
				pfree(tfs);
			}
			docs = palloc_extended(sizeof(uint32) * cap, MCXT_ALLOC_HUGE);
			tfs = palloc_extended(sizeof(uint32) * cap, MCXT_ALLOC_HUGE);
		}

		/* Map to output documents (monotone per input) and merge */
		for (;;)
		{
			int			best = -1;
			uint32		bestDoc = BM25_NO_DOC;

			for (int i = 0; i < n; i++)
			{
				while (ipos[i] < icount[i] && in[i].newId[idocs[i][ipos[i]]] == BM25_NO_DOC)
					ipos[i]++;
				if (ipos[i] < icount[i])
				{
					uint32		d = in[i].newId[idocs[i][ipos[i]]];

					if (best < 0 || d < bestDoc)
					{
						best = i;
						bestDoc = d;
					}
				}
			}
			if (best < 0)
				break;
			docs[m] = bestDoc;
			tfs[m] = itfs[best][ipos[best]];
			m++;
			ipos[best]++;
		}
		Bm25SegWriterAddTerm(&w, in[min].lexeme, in[min].entry.len, docs, tfs, (uint32) m);

		for (int i = n - 1; i >= 0; i--)
		{
			if (idocs[i] == NULL)
				continue;
			pfree(idocs[i]);
			pfree(itfs[i]);
			MergeNextTerm(&in[i]);
		}
		pfree(idocs);
		pfree(itfs);
		pfree(icount);
		pfree(ipos);
	}

	result = Bm25SegWriterFinish(&w);
	for (int i = 0; i < n; i++)
	{
		Bm25StreamReaderRelease(&in[i].post);
		Bm25SegmentClose(&in[i].seg);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return result;
}
