/*-------------------------------------------------------------------------
 *
 * chunk_recursive_chars.c
 *	  Recursive character splitter, as LangChain's RecursiveCharacterTextSplitter
 *
 * For users migrating from LangChain: the same algorithm with the same
 * parameters (chunk_size and chunk_overlap in characters, separators kept
 * at the start of the following piece, chunks stripped of white space),
 * with one extra separator level, the end of a sentence:
 *
 *	 level 0  "\n\n"       paragraphs
 *	 level 1  "\n"         lines
 *	 level 2  [.!?] + space  sentence ends (the punctuation stays behind)
 *	 level 3  " "          words
 *	 level 4  ""           single characters
 *
 * A text is split at the first level that occurs in it; pieces shorter
 * than size are merged greedily (with LangChain's overlap rule: keep
 * trailing pieces while they total at most overlap characters), longer
 * pieces are split again at the next level.  Lengths are in characters,
 * like Python's len().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "rag/chunk_recursive_chars.h"
#include "rag/chunk_sentences.h"
#include "miscadmin.h"

#define CHUNK_LEVELS 5

typedef struct CharPiece
{
	int			start;
	int			end;
	int			nchars;
} CharPiece;

typedef struct CharState
{
	const char *text;
	int			size;
	int			overlap;
	ChunkSpan  *out;
	int			nout;
	int			maxout;
} CharState;

/* Number of characters in bytes [s, e) of UTF-8 text */
static int
CharCount(const char *text, int s, int e)
{
	int			n = 0;

	for (int i = s; i < e; i++)
		if (((unsigned char) text[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* Tell whether a sentence ends at byte p (punctuation followed by space) */
static bool
IsSentenceEnd(const char *text, int p, int e)
{
	int			clen;

	return (text[p] == '.' || text[p] == '!' || text[p] == '?') &&
		p + 1 < e && ChunkIsSpace(text + p + 1, e - p - 1, &clen);
}

/*
 * Return the cut positions in (s, e) for a separator level, in order;
 * *n = 0 when the separator does not occur.
 */
static int *
CutPositions(const char *text, int s, int e, int level, int *n)
{
	int		   *cuts = palloc((e - s + 1) * sizeof(int));
	int			ncuts = 0;
	int			p = s;

	while (p < e)
	{
		int			step = 1;

		if ((p & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		switch (level)
		{
			case 0:
				if (text[p] == '\n' && p + 1 < e && text[p + 1] == '\n')
				{
					if (p > s)
						cuts[ncuts++] = p;
					step = 2;
				}
				break;
			case 1:
			case 3:
				if (text[p] == (level == 1 ? '\n' : ' ') && p > s)
					cuts[ncuts++] = p;
				break;
			case 2:
				if (IsSentenceEnd(text, p, e))
					cuts[ncuts++] = p + 1;
				break;
			default:
				if (p > s && ((unsigned char) text[p] & 0xC0) != 0x80)
					cuts[ncuts++] = p;
				break;
		}
		p += step;
	}
	*n = ncuts;
	return cuts;
}

/* Record a chunk for bytes [s, e), stripped of white space */
static void
EmitChars(CharState *st, int s, int e)
{
	int			clen;

	while (s < e && ChunkIsSpace(st->text + s, e - s, &clen))
		s += clen;
	while (e > s)
	{
		int			p = e - 1;

		while (p > s && ((unsigned char) st->text[p] & 0xC0) == 0x80)
			p--;
		if (!ChunkIsSpace(st->text + p, e - p, &clen))
			break;
		e = p;
	}
	if (s >= e)
		return;
	if (st->nout == st->maxout)
	{
		st->maxout *= 2;
		st->out = repalloc(st->out, st->maxout * sizeof(ChunkSpan));
	}
	st->out[st->nout].start = s;
	st->out[st->nout].end = e;
	st->out[st->nout].n_tokens = -1;
	st->nout++;
}

/* Merge consecutive short pieces into chunks (LangChain's _merge_splits) */
static void
MergePieces(CharState *st, CharPiece *pieces, int n)
{
	int			first = 0;		/* first piece of the current chunk */
	int			total = 0;		/* characters in pieces[first..i) */

	for (int i = 0; i < n; i++)
	{
		int			len = pieces[i].nchars;

		CHECK_FOR_INTERRUPTS();
		if (total + len > st->size && i > first)
		{
			EmitChars(st, pieces[first].start, pieces[i - 1].end);
			/* keep a tail of at most overlap characters that leaves room */
			while (first < i &&
				   (total > st->overlap || (total + len > st->size && total > 0)))
			{
				total -= pieces[first].nchars;
				first++;
			}
		}
		total += len;
	}
	if (first < n)
		EmitChars(st, pieces[first].start, pieces[n - 1].end);
}

/* Split bytes [s, e) starting at separator level (LangChain's _split_text) */
static void
SplitRecursive(CharState *st, int s, int e, int level)
{
	int		   *cuts = NULL;
	int			ncuts = 0;
	CharPiece  *good;
	int			ngood = 0;

	check_stack_depth();

	/* the first separator that occurs; level 4 always does */
	for (; level < CHUNK_LEVELS - 1; level++)
	{
		cuts = CutPositions(st->text, s, e, level, &ncuts);
		if (ncuts > 0)
			break;
		pfree(cuts);
		cuts = NULL;
	}
	if (cuts == NULL)
		cuts = CutPositions(st->text, s, e, level, &ncuts);

	good = palloc((ncuts + 1) * sizeof(CharPiece));
	for (int i = 0; i <= ncuts; i++)
	{
		int			ps = i == 0 ? s : cuts[i - 1];
		int			pe = i == ncuts ? e : cuts[i];
		int			nchars = CharCount(st->text, ps, pe);

		if (ps >= pe)
			continue;
		if (nchars < st->size)
		{
			good[ngood].start = ps;
			good[ngood].end = pe;
			good[ngood].nchars = nchars;
			ngood++;
			continue;
		}
		if (ngood > 0)
		{
			MergePieces(st, good, ngood);
			ngood = 0;
		}
		if (level >= CHUNK_LEVELS - 1)
			EmitChars(st, ps, pe);
		else
			SplitRecursive(st, ps, pe, level + 1);
	}
	if (ngood > 0)
		MergePieces(st, good, ngood);
	pfree(good);
	pfree(cuts);
}

/*
 * Split len bytes of UTF-8 text into chunks of at most size characters
 * (longer only where LangChain's algorithm also allows it: never, since the
 * last level splits single characters), overlapping by at most overlap.
 */
ChunkSpan *
ChunkChars(const char *text, int len, int size, int overlap, int *nchunks)
{
	CharState	st;

	memset(&st, 0, sizeof(st));
	st.text = text;
	st.size = size;
	st.overlap = overlap;
	st.maxout = 16;
	st.out = palloc(st.maxout * sizeof(ChunkSpan));
	if (len > 0)
		SplitRecursive(&st, 0, len, 0);
	*nchunks = st.nout;
	return st.out;
}
