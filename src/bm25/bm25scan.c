/*-------------------------------------------------------------------------
 *
 * bm25scan.c
 *	  Scan a bm25 index: the exact top-k by BM25 with Block-Max WAND,
 *	  returned in batches
 *
 * A scan ranks a batch of rows before returning the first: the best
 * bm25.first_batch at first, four times as many each time the executor
 * wants more (a LIMIT above it, rows that a filter or visibility removed).
 * Batches are ordered by (score descending, heap TID ascending), a total
 * order on rows that does not depend on how the index is laid out, so
 * each batch continues strictly after the last row returned even if
 * segments were merged or spilled in between.  The statistics (N, average
 * length, document frequencies) are captured by the first batch and kept
 * for the whole scan, so scores never change within a scan.
 *
 * Within a batch: the pending lists are scored exhaustively (they are
 * small), then each segment is searched with Block-Max WAND (Ding & Suel,
 * SIGIR 2011).  Cursors over the query terms' posting lists are kept
 * sorted by current document; the pivot is the first document whose
 * terms' list-wide bounds could beat the k-th best score so far; the
 * bounds of the blocks holding the pivot are then checked, and when even
 * they cannot beat it, every cursor jumps past the end of the shortest of
 * those blocks without decoding them.  Bounds are the term's score at the
 * block's largest frequency and smallest document length; since every
 * floating-point operation of the score is monotone, a bound is never
 * below a document's score (a relative slack of 1e-9 covers summation
 * order), so skipping is exact.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "bm25/bm25.h"
#include "bm25/bm25query.h"
#include "bm25/bm25querystats.h"

/* A bound must fall this clearly below the threshold to skip */
#define BM25_SLACK		(1.0 + 1e-9)
/* Standby readers start over at most this many times */
#define BM25_MAX_RETRIES	1000

/* A ranked candidate */
typedef struct Candidate
{
	double		score;
	int			seg;			/* segment of the batch, -1 for a pending document */
	uint32		doc;
	ItemPointerData tid;
	bool		tidKnown;
	uint64		textHash;		/* set for the results of a batch */
}			Candidate;

/* The k best candidates so far: a heap with the worst on top */
typedef struct TopK
{
	Candidate  *items;
	int			n;
	int			k;
	Bm25Segment *segs;
	/* only rows strictly after this one (the last row returned) */
	bool		haveCursor;
	double		cursorScore;
	ItemPointerData cursorTid;
	/* what the batch did, for a DEBUG1 line */
	uint64		postings;		/* of the query terms, in the segments */
	uint64		blocks;			/* of those lists */
	uint64		decoded;		/* blocks decoded */
	uint64		scored;			/* documents scored in full */
}			TopK;

/* A cursor over one query term's postings in one segment */
typedef struct TermCursor
{
	TopK	   *tk;				/* for its counters */
	int			term;
	double		weight;
	double		ub;				/* bound over the whole list */
	Bm25BlockHeader *hdrs;
	uint32		nblocks;
	uint64		postOffset;
	Bm25StreamReader post;
	uint32		blk;			/* block of the current document */
	int64		decoded;		/* block held in docs/tfs, or -1 */
	int			pos;
	uint32		doc;			/* current document, BM25_NO_DOC when done */
	uint32		sblk;			/* block of the last bound lookup */
	double		sbound;			/* and its bound */
	uint32		docs[BM25_BLOCK_SIZE];
	uint32		tfs[BM25_BLOCK_SIZE];
}			TermCursor;

/* A scan's state */
typedef struct Bm25ScanOpaqueData Bm25ScanOpaqueData;
typedef Bm25ScanOpaqueData * Bm25ScanOpaque;
struct Bm25ScanOpaqueData
{
	MemoryContext queryCtx;		/* reset by rescan */
	MemoryContext batchCtx;		/* reset by every batch */
	Bm25IndexInfo info;
	bool		haveQuery;
	char	   *query;			/* the payload: text, then any statistics */
	int			queryLen;
	bool		haveQueryStats; /* it carries statistics: they score */
	Bm25QueryStats queryStats;
	Bm25Terms	qterms;
	bool		haveStats;
	Bm25Stats	stats;
	Candidate  *results;		/* the current batch, best first */
	int			nresults;
	int			next;
	int			batchSize;
	bool		exhausted;
	bool		haveCursor;
	double		cursorScore;
	ItemPointerData cursorTid;
	bool		counted;		/* pgstat_count_index_scan done */
};

/* ---------------------------------------------------------------------
 * Scans whose statistics the <@> operator can reuse
 * ---------------------------------------------------------------------
 */

typedef struct ActiveScan
{
	Oid			index;
	Bm25ScanOpaque so;
	struct ActiveScan *next;
	MemoryContextCallback cb;
}			ActiveScan;

static ActiveScan *activeScans = NULL;

static void
ForgetActiveScan(void *arg)
{
	ActiveScan **p = &activeScans;

	while (*p != NULL)
	{
		if (*p == arg)
		{
			*p = (*p)->next;
			return;
		}
		p = &(*p)->next;
	}
}

/* Called once a scan has its statistics; forgotten when queryCtx goes */
static void
RememberActiveScan(Oid index, Bm25ScanOpaque so)
{
	ActiveScan *as = MemoryContextAlloc(so->queryCtx, sizeof(ActiveScan));

	as->index = index;
	as->so = so;
	as->next = activeScans;
	as->cb.func = ForgetActiveScan;
	as->cb.arg = as;
	MemoryContextRegisterResetCallback(so->queryCtx, &as->cb);
	activeScans = as;
}

/*
 * What a running scan of this index for this query knows about a text:
 * returns true with its score when the text is (by its hash) one of the
 * rows of the scan's current batch (the operator evaluated for the row the
 * scan just returned: no need to tokenise it again); otherwise sets *stats
 * to the scan's statistics, or to NULL when no such scan runs.
 */
bool
Bm25ScanScoreFor(Oid index, const char *query, int len, uint64 textHash,
				 double *score, Bm25Stats * *stats)
{
	*stats = NULL;
	for (ActiveScan *as = activeScans; as != NULL; as = as->next)
	{
		Bm25ScanOpaque so = as->so;

		if (as->index != index || so->queryLen != len || memcmp(so->query, query, len) != 0)
			continue;
		if (so->next > 0 && so->next <= so->nresults &&
			so->results[so->next - 1].textHash == textHash)
		{
			*score = so->results[so->next - 1].score;
			return true;
		}
		for (int i = 0; i < so->nresults; i++)
			if (so->results[i].textHash == textHash)
			{
				*score = so->results[i].score;
				return true;
			}
		*stats = &so->stats;
		return false;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Snapshots and statistics
 * ---------------------------------------------------------------------
 */

typedef struct PendingVisitState
{
	Bm25Terms  *query;
	Bm25Snapshot *snap;
}			PendingVisitState;

/* Keep a pending document if it holds a query term (both lists are sorted) */
static void
PendingVisit(const Bm25PendingDoc * doc, void *arg)
{
	PendingVisitState *pv = arg;
	Bm25Snapshot *snap = pv->snap;
	const Bm25Terms *q = pv->query;
	uint32	   *tfs = NULL;
	int			i = 0,
				j = 0;

	while (i < doc->terms.nterms && j < q->nterms)
	{
		const Bm25Term *a = &doc->terms.terms[i];
		const Bm25Term *b = &q->terms[j];
		int			c = Bm25CompareLexemes(a->lexeme, a->len, b->lexeme, b->len);

		if (c < 0)
			i++;
		else if (c > 0)
			j++;
		else
		{
			if (tfs == NULL)
				tfs = palloc0(sizeof(uint32) * q->nterms);
			tfs[j] = a->tf;
			snap->pendingDf[j]++;
			i++;
			j++;
		}
	}
	if (tfs == NULL)
		return;
	if (snap->nhits == snap->hitsCap)
	{
		snap->hitsCap = Max(64, snap->hitsCap * 2);
		snap->hits = snap->hits == NULL ? palloc(sizeof(Bm25PendingHit) * snap->hitsCap)
			: repalloc(snap->hits, sizeof(Bm25PendingHit) * snap->hitsCap);
	}
	snap->hits[snap->nhits].tid = doc->tid;
	snap->hits[snap->nhits].len = doc->terms.length;
	snap->hits[snap->nhits].textHash = doc->terms.textHash;
	snap->hits[snap->nhits].tfs = tfs;
	snap->nhits++;
}

/*
 * Read the metapage and the pending lists' documents that hold a query
 * term.  Returns false when a standby reader was overtaken by recovery.
 */
bool
Bm25TakeSnapshot(Relation index, Bm25Terms * query, Bm25Snapshot * snap)
{
	PendingVisitState pv;

	memset(snap, 0, sizeof(*snap));
	Bm25ReadMeta(index, &snap->meta);
	snap->pendingDf = palloc0(sizeof(uint64) * Max(query->nterms, 1));
	snap->segDf = palloc0(sizeof(uint64) * Max(query->nterms, 1));
	pv.query = query;
	pv.snap = snap;
	if (query->nterms == 0)
		return true;
	return Bm25ReadPending(index, &snap->meta.sealed, PendingVisit, &pv) &&
		Bm25ReadPending(index, &snap->meta.active, PendingVisit, &pv);
}

/* Statistics from a snapshot whose segDf and pendingDf are filled in */
void
Bm25StatsFromSnapshot(Relation index, Bm25Terms * query, Bm25Snapshot * snap, Bm25Stats * st)
{
	Bm25IndexInfo info;

	Bm25GetIndexInfo(index, &info);
	st->ndocs = (double) snap->meta.totalDocs;
	st->totalLen = (double) snap->meta.totalLen;
	st->avgdl = snap->meta.totalDocs > 0 ?
		(double) snap->meta.totalLen / (double) snap->meta.totalDocs : 1.0;
	if (st->avgdl <= 0)
		st->avgdl = 1.0;
	st->k1 = info.k1;
	st->b = info.b;
	st->nterms = query->nterms;
	st->terms = palloc(sizeof(Bm25QueryTerm) * Max(query->nterms, 1));
	for (int t = 0; t < query->nterms; t++)
	{
		Bm25QueryTerm *qt = &st->terms[t];
		uint64		df = snap->segDf[t] + snap->pendingDf[t];

		qt->term = query->terms[t];
		qt->df = Min(df, snap->meta.totalDocs);
		qt->idf = Bm25Idf(st->ndocs, (double) qt->df);
		qt->weight = qt->idf * query->terms[t].tf;
	}
}

/* ---------------------------------------------------------------------
 * Top-k
 * ---------------------------------------------------------------------
 */

static void
CandidateTid(TopK * tk, Candidate * c)
{
	if (!c->tidKnown)
	{
		Bm25SegmentDocTid(&tk->segs[c->seg], c->doc, &c->tid);
		c->tidKnown = true;
	}
}

/* Does a rank below b (worse score, or equal score and later TID)? */
static bool
Worse(TopK * tk, Candidate * a, Candidate * b)
{
	if (a->score != b->score)
		return a->score < b->score;
	if (a->seg >= 0 && a->seg == b->seg)
		return a->doc > b->doc;		/* a segment's documents are in TID order */
	CandidateTid(tk, a);
	CandidateTid(tk, b);
	return ItemPointerCompare(&a->tid, &b->tid) > 0;
}

static void
SiftDown(TopK * tk, int i)
{
	for (;;)
	{
		int			c = 2 * i + 1;
		Candidate	tmp;

		if (c >= tk->n)
			break;
		if (c + 1 < tk->n && Worse(tk, &tk->items[c + 1], &tk->items[c]))
			c++;
		if (!Worse(tk, &tk->items[c], &tk->items[i]))
			break;
		tmp = tk->items[i];
		tk->items[i] = tk->items[c];
		tk->items[c] = tmp;
		i = c;
	}
}

static void
SiftUp(TopK * tk, int i)
{
	while (i > 0)
	{
		int			p = (i - 1) / 2;
		Candidate	tmp;

		if (!Worse(tk, &tk->items[i], &tk->items[p]))
			break;
		tmp = tk->items[i];
		tk->items[i] = tk->items[p];
		tk->items[p] = tmp;
		i = p;
	}
}

/* The score a candidate must reach to enter (0 until k are held) */
static inline double
Threshold(TopK * tk)
{
	return tk->n < tk->k ? 0 : tk->items[0].score;
}

/* Offer a candidate */
static void
Consider(TopK * tk, Candidate * c)
{
	/* only rows after the last one returned */
	if (tk->haveCursor)
	{
		if (c->score > tk->cursorScore)
			return;
		if (c->score == tk->cursorScore)
		{
			CandidateTid(tk, c);
			if (ItemPointerCompare(&c->tid, &tk->cursorTid) <= 0)
				return;
		}
	}
	if (tk->n < tk->k)
	{
		tk->items[tk->n++] = *c;
		SiftUp(tk, tk->n - 1);
	}
	else if (c->score >= tk->items[0].score && Worse(tk, &tk->items[0], c))
	{
		tk->items[0] = *c;
		SiftDown(tk, 0);
	}
}

/* ---------------------------------------------------------------------
 * Block-Max WAND over one segment
 * ---------------------------------------------------------------------
 */

static bool
DecodeBlock(TermCursor * c, uint32 b)
{
	Bm25BlockHeader *h = &c->hdrs[b];
	uint8		data[BM25_BLOCK_MAX_BYTES];

	if (h->count == 0 || h->count > BM25_BLOCK_SIZE || h->docBits > 32 || h->tfBits > 32)
	{
		*c->post.stale = true;
		return false;
	}
	if (!Bm25StreamRead(&c->post, c->postOffset + h->dataOff, data, Bm25BlockBytes(h)))
		return false;
	Bm25DecodeBlock(data, h, b > 0 ? c->hdrs[b - 1].lastDoc : BM25_NO_DOC, c->docs, c->tfs);
	c->decoded = b;
	c->tk->decoded++;
	c->pos = 0;
	return true;
}

/* Move to the first document >= target */
static void
SeekGEQ(TermCursor * c, uint32 target)
{
	uint32		b = c->blk;

	if (c->doc != BM25_NO_DOC && c->doc >= target)
		return;
	while (b < c->nblocks && c->hdrs[b].lastDoc < target)
		b++;
	if (b >= c->nblocks)
	{
		c->doc = BM25_NO_DOC;
		return;
	}
	if (c->decoded != b && !DecodeBlock(c, b))
	{
		c->doc = BM25_NO_DOC;
		return;
	}
	c->blk = b;
	while (c->pos < c->hdrs[b].count - 1 && c->docs[c->pos] < target)
		c->pos++;
	c->doc = c->docs[c->pos];
}

/* Bound of the block that would hold target; its last document in *last */
static inline double
BlockBound(const Bm25Stats * st, TermCursor * c, uint32 target, uint32 *last)
{
	uint32		b = c->sblk != PG_UINT32_MAX ? Max(c->sblk, c->blk) : c->blk;

	while (b < c->nblocks && c->hdrs[b].lastDoc < target)
		b++;
	if (b >= c->nblocks)
	{
		*last = BM25_NO_DOC;
		return 0;
	}
	if (b != c->sblk)
	{
		c->sblk = b;
		c->sbound = Bm25TermScore(st, c->weight, c->hdrs[b].maxTf, c->hdrs[b].minLen);
	}
	*last = c->hdrs[b].lastDoc;
	return c->sbound;
}

/*
 * Of the first n cursors, the one with the largest bound among those
 * before doc (Ding & Suel move one cursor at a time: the others may never
 * need to decode the blocks in between)
 */
static int
StrongestBefore(TermCursor * *cur, int n, uint32 doc)
{
	int			best = -1;

	for (int i = 0; i < n; i++)
		if (cur[i]->doc < doc && (best < 0 || cur[i]->ub > cur[best]->ub))
			best = i;
	return best < 0 ? 0 : best;
}

/*
 * Advance cursor i to target and put it back in document order (it only
 * moves right; an exhausted cursor leaves the array)
 */
static void
Advance(TermCursor * *cur, int *ncur, int i, uint32 target)
{
	TermCursor *c = cur[i];

	SeekGEQ(c, target);
	if (c->doc == BM25_NO_DOC)
	{
		memmove(&cur[i], &cur[i + 1], sizeof(TermCursor *) * (*ncur - i - 1));
		(*ncur)--;
		return;
	}
	while (i + 1 < *ncur && cur[i + 1]->doc < c->doc)
	{
		cur[i] = cur[i + 1];
		i++;
	}
	cur[i] = c;
}

static void
SortCursors(TermCursor * *cur, int *ncur)
{
	int			n = 0;

	for (int i = 0; i < *ncur; i++)
		if (cur[i]->doc != BM25_NO_DOC)
			cur[n++] = cur[i];
	for (int i = 1; i < n; i++)
	{
		TermCursor *x = cur[i];
		int			j = i - 1;

		while (j >= 0 && cur[j]->doc > x->doc)
		{
			cur[j + 1] = cur[j];
			j--;
		}
		cur[j + 1] = x;
	}
	*ncur = n;
}

/* Search one segment, offering every document that could enter the top k */
static void
SearchSegment(const Bm25Stats * st, TopK * tk, int segNo, Bm25TermEntry * entries,
			  uint32 *tfs)
{
	Bm25Segment *seg = &tk->segs[segNo];
	TermCursor *cursors = palloc(sizeof(TermCursor) * st->nterms);
	TermCursor **cur = palloc(sizeof(TermCursor *) * st->nterms);
	int			ncur = 0;
	int			ninit = 0;
	uint64		iter = 0;

	for (int t = 0; t < st->nterms; t++)
	{
		TermCursor *c;

		if (entries[t].df == 0)
			continue;
		c = &cursors[ninit++];
		c->tk = tk;
		c->term = t;
		c->weight = st->terms[t].weight;
		c->ub = Bm25TermScore(st, c->weight, entries[t].maxTf, entries[t].minLen);
		c->nblocks = entries[t].nblocks;
		c->postOffset = entries[t].postOffset;
		tk->postings += entries[t].df;
		tk->blocks += c->nblocks;
		c->hdrs = palloc(sizeof(Bm25BlockHeader) * Max(c->nblocks, 1));
		Bm25StreamReaderInit(&c->post, seg, BM25_STREAM_POST);
		c->blk = 0;
		c->sblk = PG_UINT32_MAX;
		c->decoded = -1;
		c->pos = 0;
		c->doc = BM25_NO_DOC;
		if (!Bm25StreamRead(&c->post, c->postOffset, c->hdrs,
							sizeof(Bm25BlockHeader) * c->nblocks))
			goto done;
		SeekGEQ(c, 0);
		cur[ncur++] = c;
	}
	SortCursors(cur, &ncur);

	while (ncur > 0 && !seg->stale)
	{
		double		theta = Threshold(tk);
		double		acc = 0;
		double		bsum = 0;
		uint32		minLast = BM25_NO_DOC;
		uint32		pivot;
		int			p = -1;

		if ((++iter & 4095) == 0)
			CHECK_FOR_INTERRUPTS();

		/* pivot: the first document the list bounds let beat theta */
		for (int i = 0; i < ncur; i++)
		{
			acc += cur[i]->ub;
			if (acc * BM25_SLACK >= theta)
			{
				p = i;
				break;
			}
		}
		if (p < 0)
			break;
		pivot = cur[p]->doc;
		while (p + 1 < ncur && cur[p + 1]->doc == pivot)
			p++;

		/* the bounds of the blocks that hold the pivot */
		for (int i = 0; i <= p; i++)
		{
			uint32		last;

			bsum += BlockBound(st, cur[i], pivot, &last);
			minLast = Min(minLast, last);
		}
		if (bsum * BM25_SLACK < theta)
		{
			/* nothing up to the end of the shortest block can win */
			uint32		next = minLast + 1;

			if (p + 1 < ncur && cur[p + 1]->doc < next)
				next = cur[p + 1]->doc;
			Advance(cur, &ncur, StrongestBefore(cur, p + 1, next), next);
		}
		else if (cur[0]->doc == pivot)
		{
			Candidate	cand;

			for (int i = 0; i <= p; i++)
				tfs[cur[i]->term] = cur[i]->tfs[cur[i]->pos];
			cand.score = Bm25ScoreDoc(st, tfs, Bm25SegmentDocLen(seg, pivot));
			tk->scored++;
			cand.seg = segNo;
			cand.doc = pivot;
			cand.tidKnown = false;
			for (int i = 0; i <= p; i++)
				tfs[cur[i]->term] = 0;
			if (!seg->stale)
				Consider(tk, &cand);
			/* the cursors at the pivot are cur[0..p]; advance from the right */
			for (int i = p; i >= 0; i--)
				Advance(cur, &ncur, i, pivot + 1);
		}
		else
		{
			/* bring one cursor before the pivot up to it */
			Advance(cur, &ncur, StrongestBefore(cur, p, pivot), pivot);
		}
	}

done:
	for (int i = 0; i < ninit; i++)
		Bm25StreamReaderRelease(&cursors[i].post);
}

/* ---------------------------------------------------------------------
 * Batches
 * ---------------------------------------------------------------------
 */

/*
 * Rank one batch: the best k rows after the cursor.  Returns false when a
 * standby reader was overtaken by recovery (the caller starts over).
 */
static bool
TryBatch(Relation index, Bm25ScanOpaque so, int k, Candidate **out, int *nout)
{
	Bm25Snapshot snap;
	TopK		tk;
	Bm25Segment *segs;
	Bm25TermEntry *entries;
	int			nseg;
	int			nterms = so->qterms.nterms;
	uint32	   *tfs;
	bool		ok = true;

	if (!Bm25TakeSnapshot(index, &so->qterms, &snap))
		return false;
	nseg = snap.meta.nsegments;
	segs = palloc0(sizeof(Bm25Segment) * Max(nseg, 1));
	entries = palloc0(sizeof(Bm25TermEntry) * Max(nseg * nterms, 1));
	for (int s = 0; s < nseg && ok; s++)
	{
		ok = Bm25SegmentOpen(index, &snap.meta.segs[s], &segs[s]);
		for (int t = 0; t < nterms && ok; t++)
		{
			Bm25Term   *qt = &so->qterms.terms[t];

			if (Bm25SegmentLookup(&segs[s], qt->lexeme, qt->len, qt->hash, &entries[s * nterms + t]))
				snap.segDf[t] += entries[s * nterms + t].df;
			else
				memset(&entries[s * nterms + t], 0, sizeof(Bm25TermEntry));
			ok = !segs[s].stale;
		}
	}
	if (ok && !so->haveStats)
	{
		MemoryContext old = MemoryContextSwitchTo(so->queryCtx);

		Bm25StatsFromSnapshot(index, &so->qterms, &snap, &so->stats);
		if (so->haveQueryStats)
			Bm25QueryStatsApply(&so->queryStats, &so->stats);
		so->haveStats = true;
		RememberActiveScan(RelationGetRelid(index), so);
		MemoryContextSwitchTo(old);
	}

	/* never more than the documents there are (a scan that reads everything) */
	if ((uint64) k > Max(snap.meta.totalDocs, 1))
		k = (int) Max(snap.meta.totalDocs, 1);
	memset(&tk, 0, sizeof(tk));
	tk.k = k;
	tk.items = palloc(sizeof(Candidate) * k);
	tk.segs = segs;
	tk.haveCursor = so->haveCursor;
	tk.cursorScore = so->cursorScore;
	tk.cursorTid = so->cursorTid;
	tfs = palloc0(sizeof(uint32) * Max(nterms, 1));

	if (ok && so->stats.ndocs > 0)
	{
		for (int h = 0; h < snap.nhits; h++)
		{
			Candidate	c;

			c.score = Bm25ScoreDoc(&so->stats, snap.hits[h].tfs, snap.hits[h].len);
			c.seg = -1;
			c.doc = 0;
			c.tid = snap.hits[h].tid;
			c.tidKnown = true;
			c.textHash = snap.hits[h].textHash;
			Consider(&tk, &c);
		}
		for (int s = 0; s < nseg && ok; s++)
		{
			SearchSegment(&so->stats, &tk, s, &entries[s * nterms], tfs);
			ok = !segs[s].stale;
		}
	}

	/* best first, with their heap TIDs */
	if (ok)
	{
		Candidate  *res = MemoryContextAlloc(so->queryCtx, sizeof(Candidate) * Max(tk.n, 1));
		int			n = tk.n;

		for (int i = 0; i < tk.n; i++)
		{
			CandidateTid(&tk, &tk.items[i]);
			if (tk.items[i].seg >= 0)
				tk.items[i].textHash = Bm25SegmentDocHash(&segs[tk.items[i].seg], tk.items[i].doc);
		}
		for (int s = 0; s < nseg; s++)
			ok = ok && !segs[s].stale;
		for (int i = n - 1; i >= 0; i--)
		{
			res[i] = tk.items[0];
			tk.items[0] = tk.items[--tk.n];
			SiftDown(&tk, 0);
		}
		*out = res;
		*nout = n;
		elog(DEBUG1, "bm25 scan of \"%s\": batch of %d rows: %d pending documents and " UINT64_FORMAT
			 " of " UINT64_FORMAT " postings scored in %d segments, " UINT64_FORMAT " of " UINT64_FORMAT
			 " blocks decoded",
			 RelationGetRelationName(index), k, snap.nhits, tk.scored, tk.postings, nseg,
			 tk.decoded, tk.blocks);
	}
	for (int s = 0; s < nseg; s++)
		Bm25SegmentClose(&segs[s]);
	return ok;
}

/* Rank the next batch, starting over when a standby reader is overtaken */
static void
ComputeBatch(IndexScanDesc scan)
{
	Bm25ScanOpaque so = (Bm25ScanOpaque) scan->opaque;
	int			k = so->batchSize;

	if (so->results)
		pfree(so->results);
	so->results = NULL;
	so->nresults = 0;
	so->next = 0;
	for (int attempt = 0;; attempt++)
	{
		MemoryContext old = MemoryContextSwitchTo(so->batchCtx);
		bool		locked = !RecoveryInProgress();
		bool		ok;

		if (locked)
			LockPage(scan->indexRelation, BM25_READ_LOCK, ShareLock);
		ok = TryBatch(scan->indexRelation, so, k, &so->results, &so->nresults);
		if (locked)
			UnlockPage(scan->indexRelation, BM25_READ_LOCK, ShareLock);
		MemoryContextSwitchTo(old);
		MemoryContextReset(so->batchCtx);
		if (ok)
			break;
		if (locked)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("bm25 index \"%s\" is corrupted: a page is not what the metapage says",
							RelationGetRelationName(scan->indexRelation)),
					 errhint("Run bm25_check() on it, then REINDEX it.")));
		if (attempt >= BM25_MAX_RETRIES)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not read a consistent state of bm25 index \"%s\" during recovery",
							RelationGetRelationName(scan->indexRelation)),
					 errhint("Retry the query.")));
		elog(DEBUG1, "bm25 scan of \"%s\": a page was freed by recovery under the reader, starting over",
			 RelationGetRelationName(scan->indexRelation));
		CHECK_FOR_INTERRUPTS();
		pg_usleep(1000);
	}
	if (so->nresults < k)
		so->exhausted = true;
	if (so->batchSize <= INT_MAX / 4)
		so->batchSize *= 4;
}

/*
 * Statistics for a query over the index as it is now (the <@> operator
 * when no scan of the same query runs in this backend), or the ones the
 * query payload carries.
 */
void
Bm25StatsFor(Relation index, const char *payload, int len, Bm25Stats * st)
{
	Bm25IndexInfo info;
	Bm25Terms	qterms;
	Bm25QueryStats qs;
	bool		haveQs = Bm25PayloadStats(payload, len, &qs);

	Bm25GetIndexInfo(index, &info);
	Bm25Tokenize(info.textConfig, payload, Bm25PayloadTextLen(payload, len), &qterms);
	for (int attempt = 0;; attempt++)
	{
		Bm25Snapshot snap;
		bool		locked = !RecoveryInProgress();
		bool		ok;

		if (locked)
			LockPage(index, BM25_READ_LOCK, ShareLock);
		ok = Bm25TakeSnapshot(index, &qterms, &snap);
		for (int s = 0; s < (int) snap.meta.nsegments && ok; s++)
		{
			Bm25Segment seg;

			ok = Bm25SegmentOpen(index, &snap.meta.segs[s], &seg);
			for (int t = 0; t < qterms.nterms && ok; t++)
			{
				Bm25TermEntry e;

				if (Bm25SegmentLookup(&seg, qterms.terms[t].lexeme, qterms.terms[t].len,
									  qterms.terms[t].hash, &e))
					snap.segDf[t] += e.df;
				ok = !seg.stale;
			}
			Bm25SegmentClose(&seg);
		}
		if (ok)
			Bm25StatsFromSnapshot(index, &qterms, &snap, st);
		if (ok && haveQs)
			Bm25QueryStatsApply(&qs, st);
		if (locked)
			UnlockPage(index, BM25_READ_LOCK, ShareLock);
		if (ok)
			return;
		if (locked || attempt >= BM25_MAX_RETRIES)
			ereport(ERROR,
					(errcode(locked ? ERRCODE_INDEX_CORRUPTED : ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not read a consistent state of bm25 index \"%s\"",
							RelationGetRelationName(index))));
		CHECK_FOR_INTERRUPTS();
		pg_usleep(1000);
	}
}

/* ---------------------------------------------------------------------
 * Access method callbacks
 * ---------------------------------------------------------------------
 */

IndexScanDesc
bm25beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	Bm25ScanOpaque so = palloc0(sizeof(Bm25ScanOpaqueData));

	so->queryCtx = AllocSetContextCreate(CurrentMemoryContext, "bm25 scan",
										 ALLOCSET_DEFAULT_SIZES);
	so->batchCtx = AllocSetContextCreate(CurrentMemoryContext, "bm25 scan batch",
										 ALLOCSET_DEFAULT_SIZES);
	Bm25GetIndexInfo(index, &so->info);
	scan->xs_orderbyvals = palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = palloc(sizeof(bool) * Max(norderbys, 1));
	memset(scan->xs_orderbynulls, true, sizeof(bool) * Max(norderbys, 1));
	scan->opaque = so;
	return scan;
}

void
bm25rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	Bm25ScanOpaque so = (Bm25ScanOpaque) scan->opaque;
	MemoryContext old;

	MemoryContextReset(so->queryCtx);
	so->haveQuery = false;
	so->haveStats = false;
	so->results = NULL;
	so->nresults = 0;
	so->next = 0;
	so->batchSize = bm25_first_batch;
	so->exhausted = false;
	so->haveCursor = false;
	so->counted = false;

	if (norderbys < 1 || (orderbys[0].sk_flags & SK_ISNULL))
		return;
	old = MemoryContextSwitchTo(so->queryCtx);
	Bm25QueryPayload(orderbys[0].sk_argument, &so->query, &so->queryLen);
	so->haveQueryStats = Bm25PayloadStats(so->query, so->queryLen, &so->queryStats);
	Bm25Tokenize(so->info.textConfig, so->query, Bm25PayloadTextLen(so->query, so->queryLen),
				 &so->qterms);
	MemoryContextSwitchTo(old);
	so->haveQuery = so->qterms.nterms > 0;
}

bool
bm25gettuple(IndexScanDesc scan, ScanDirection dir)
{
	Bm25ScanOpaque so = (Bm25ScanOpaque) scan->opaque;
	Candidate  *r;

	if (!so->haveQuery)
		return false;
	while (so->next >= so->nresults)
	{
		if (so->exhausted)
			return false;
		if (!so->counted)
			pgstat_count_index_scan(scan->indexRelation);
		so->counted = true;
		ComputeBatch(scan);
	}
	r = &so->results[so->next++];
	scan->xs_heaptid = r->tid;
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	scan->xs_orderbyvals[0] = Float8GetDatum(-r->score);
	scan->xs_orderbynulls[0] = false;
	so->haveCursor = true;
	so->cursorScore = r->score;
	so->cursorTid = r->tid;
	return true;
}

void
bm25endscan(IndexScanDesc scan)
{
	Bm25ScanOpaque so = (Bm25ScanOpaque) scan->opaque;

	MemoryContextDelete(so->queryCtx);
	MemoryContextDelete(so->batchCtx);
	pfree(so);
	scan->opaque = NULL;
}
