/*-------------------------------------------------------------------------
 *
 * chunk_sentences.c
 *	  Sentence-aware chunking under a token budget, with ICU break iterators
 *
 * The text is cut into units, then units are packed greedily into chunks:
 *
 * 1. Units.  ICU's sentence break iterator gives sentences (with the
 *    locale's abbreviation suppressions, "en@ss=standard", so "Dr. Smith"
 *    is one sentence).  A sentence whose token count exceeds the budget is
 *    split at word starts from ICU's word break iterator (a word keeps its
 *    trailing punctuation), and a word that still exceeds it is cut
 *    between tokens, using the tokenizer's token end offsets.  Units are
 *    trimmed of white space and never split a UTF-8 character.
 * 2. Packing.  A chunk takes units while the estimated total (sum of unit
 *    counts plus the model's special tokens) fits max_tokens; when the
 *    estimate is over by at most CHUNK_PROBE_SLACK, the exact count of
 *    the candidate decides (counts are not quite additive).  The
 *    final chunk is always counted exactly and shrunk until it fits, so
 *    n_tokens <= max_tokens holds for every chunk (the one exception: a
 *    single character that alone exceeds it, with a byte-level tokenizer
 *    and a tiny max_tokens, becomes a chunk of its own).
 * 3. Overlap.  The next chunk starts with the longest run of whole
 *    trailing units of the previous chunk that fits overlap_tokens; if
 *    not even the last unit fits, with the longest run of trailing words
 *    of the last unit that does.  The overlap is reduced so that it never
 *    prevents the next unit from fitting.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>

#include "rag/chunk_sentences.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"

/*
 * Unit counts are almost additive (a joined "▁" or [CLS]/[SEP] makes the
 * difference), so an estimate this far over max_tokens is not worth an
 * exact count: tokenizing is most of chunk()'s cost.
 */
#define CHUNK_PROBE_SLACK 2

/* A piece of the input that is never split once packed */
typedef struct ChunkUnit
{
	int			start;			/* first byte */
	int			end;			/* one past the last byte */
	int			tokens;			/* count() of the unit alone */
} ChunkUnit;

typedef struct ChunkState
{
	const char *text;
	int			len;
	int			max_tokens;
	int			budget;			/* max_tokens minus the special tokens */
	int			overlap;		/* overlap_tokens */
	ChunkCounter *ctr;
	char		locale[CHUNK_MAX_LOCALE + 16];
	ChunkUnit  *units;
	int			nunits;
	int			maxunits;
	ChunkSpan  *out;
	int			nout;
	int			maxout;
} ChunkState;

/* Tell whether the character at p (of at most len bytes) is white space */
bool
ChunkIsSpace(const char *p, int len, int *charlen)
{
	int			clen = pg_utf_mblen((const unsigned char *) p);
	pg_wchar	cp;

	if (clen > len || clen < 1)
		clen = 1;
	*charlen = clen;
	if ((unsigned char) *p < 0x80)
		return *p == ' ' || (*p >= '\t' && *p <= '\r');
	cp = utf8_to_unicode((const unsigned char *) p);
	return u_isUWhiteSpace((UChar32) cp);
}

/* Start of the character that ends just before byte pos */
static int
PrevCharStart(const char *text, int lo, int pos)
{
	pos--;
	while (pos > lo && ((unsigned char) text[pos] & 0xC0) == 0x80)
		pos--;
	return pos;
}

/* Shrink [*s, *e) so that it neither starts nor ends with white space */
static void
TrimSpan(const char *text, int *s, int *e)
{
	int			clen;

	while (*s < *e && ChunkIsSpace(text + *s, *e - *s, &clen))
		*s += clen;
	while (*e > *s)
	{
		int			p = PrevCharStart(text, *s, *e);

		if (!ChunkIsSpace(text + p, *e - p, &clen))
			break;
		*e = p;
	}
}

/* Raise an error for a failed ICU call */
static void
CheckIcu(UErrorCode status, const char *what)
{
	if (U_FAILURE(status))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s failed: %s", what, u_errorName(status))));
}

/* Open a break iterator of the given type over bytes [s, e) */
static UBreakIterator *
OpenBreakIterator(ChunkState *st, UBreakIteratorType type, UText **ut,
				  int s, int e)
{
	UErrorCode	status = U_ZERO_ERROR;
	UBreakIterator *bi;

	bi = ubrk_open(type, st->locale, NULL, 0, &status);
	CheckIcu(status, "ubrk_open");
	*ut = utext_openUTF8(NULL, st->text + s, e - s, &status);
	if (U_FAILURE(status))
	{
		ubrk_close(bi);
		CheckIcu(status, "utext_openUTF8");
	}
	ubrk_setUText(bi, *ut, &status);
	if (U_FAILURE(status))
	{
		ubrk_close(bi);
		utext_close(*ut);
		CheckIcu(status, "ubrk_setUText");
	}
	return bi;
}

/*
 * Return the byte positions in [s, e) where a word begins (ICU word
 * segments with a letter, number, kana or ideograph rule status), always
 * including s itself.  Punctuation and spaces stay with the preceding word.
 */
static int *
WordStarts(ChunkState *st, int s, int e, int *n)
{
	UText	   *ut = NULL;
	UBreakIterator *bi;

	/* volatile: changed inside PG_TRY and read after it */
	int		   *volatile pos;
	volatile int npos = 0;
	volatile int maxpos = 16;

	pos = palloc(maxpos * sizeof(int));
	pos[npos++] = s;
	bi = OpenBreakIterator(st, UBRK_WORD, &ut, s, e);
	PG_TRY();
	{
		int32		b = ubrk_first(bi);

		while (b != UBRK_DONE && s + b < e)
		{
			int32		next = ubrk_next(bi);

			/* the rule status describes the segment [b, next) */
			int32		status = ubrk_getRuleStatus(bi);

			CHECK_FOR_INTERRUPTS();
			if (next != UBRK_DONE && status >= UBRK_WORD_NONE_LIMIT &&
				s + b > pos[npos - 1])
			{
				if (npos == maxpos)
				{
					maxpos *= 2;
					pos = repalloc(pos, maxpos * sizeof(int));
				}
				pos[npos++] = s + b;
			}
			b = next;
		}
	}
	PG_FINALLY();
	{
		ubrk_close(bi);
		utext_close(ut);
	}
	PG_END_TRY();
	*n = npos;
	return pos;
}

/* Insert a unit at position at (trimmed; empty units are dropped) */
static void
InsertUnit(ChunkState *st, int at, int s, int e)
{
	ChunkUnit  *u;

	TrimSpan(st->text, &s, &e);
	if (s >= e)
		return;
	if (st->nunits == st->maxunits)
	{
		st->maxunits *= 2;
		st->units = repalloc(st->units, st->maxunits * sizeof(ChunkUnit));
	}
	if (at < st->nunits)
		memmove(&st->units[at + 1], &st->units[at],
				(st->nunits - at) * sizeof(ChunkUnit));
	u = &st->units[at];
	u->start = s;
	u->end = e;
	u->tokens = st->ctr->count(st->ctr->arg, st->text + s, e - s, NULL);
	st->nunits++;
}

/*
 * Find where to cut bytes [s, e) so that the head is as many whole tokens
 * as fit max_tokens (counted exactly).  Returns a character boundary in
 * (s, e); at worst right after the first character.
 */
static int
CutBetweenTokens(ChunkState *st, int s, int e)
{
	int		   *ends = NULL;
	int			n = st->ctr->count(st->ctr->arg, st->text + s, e - s, &ends);
	int			k;
	int			clen;

	for (k = Min(st->budget, n); k >= 1; k--)
	{
		int			pos;

		CHECK_FOR_INTERRUPTS();
		if (ends == NULL || ends[k - 1] <= 0 || ends[k - 1] >= e - s)
			continue;
		/* never cut inside a UTF-8 character */
		pos = s + ends[k - 1];
		while (pos > s && ((unsigned char) st->text[pos] & 0xC0) == 0x80)
			pos--;
		if (pos <= s)
			continue;
		if (st->ctr->count_full(st->ctr->arg, st->text + s, pos - s) <=
			st->max_tokens)
		{
			pfree(ends);
			return pos;
		}
	}
	if (ends)
		pfree(ends);
	ChunkIsSpace(st->text + s, e - s, &clen);
	return Min(s + clen, e);
}

/* Bytes of a long word tokenized per cut: ample for budget tokens */
#define CUT_WINDOW(st) ((st)->budget * 64 + 64)

/* Append units for bytes [s, e), splitting until each fits the budget */
static void
AddUnits(ChunkState *st, int s, int e, bool sentence)
{
	int			count;

	TrimSpan(st->text, &s, &e);
	if (s >= e)
		return;
	count = st->ctr->count(st->ctr->arg, st->text + s, e - s, NULL);
	if (count <= st->budget)
	{
		InsertUnit(st, st->nunits, s, e);
		return;
	}

	if (sentence)
	{
		/* too long: one unit per word, each with its trailing punctuation */
		int			nw;
		int		   *w = WordStarts(st, s, e, &nw);

		if (nw > 1)
		{
			for (int i = 0; i < nw; i++)
				AddUnits(st, w[i], i + 1 < nw ? w[i + 1] : e, false);
			pfree(w);
			return;
		}
		pfree(w);
	}

	/*
	 * A single word over the budget: cut it between tokens.  Only a window
	 * of the rest is tokenized per cut, so that an enormous word costs
	 * linear rather than quadratic time; the cut is still checked exactly.
	 */
	while (s < e)
	{
		int			cut;
		int			we = e;

		CHECK_FOR_INTERRUPTS();
		if (e - s > CUT_WINDOW(st))
		{
			we = s + CUT_WINDOW(st);
			while (we > s + 1 && ((unsigned char) st->text[we] & 0xC0) == 0x80)
				we--;
		}
		else
		{
			count = st->ctr->count(st->ctr->arg, st->text + s, e - s, NULL);
			if (count <= st->budget)
			{
				InsertUnit(st, st->nunits, s, e);
				break;
			}
		}
		cut = CutBetweenTokens(st, s, we);
		InsertUnit(st, st->nunits, s, cut);
		s = cut;
		TrimSpan(st->text, &s, &e);
	}
}

/* Split the text into sentence units (and smaller where needed) */
static void
BuildUnits(ChunkState *st)
{
	UText	   *ut = NULL;
	UBreakIterator *bi;
	char		sentloc[CHUNK_MAX_LOCALE + 16];

	/* abbreviation-aware sentence breaks unless the caller chose keywords */
	if (strchr(st->locale, '@') == NULL)
		snprintf(sentloc, sizeof(sentloc), "%s@ss=standard", st->locale);
	else
		strlcpy(sentloc, st->locale, sizeof(sentloc));

	{
		UErrorCode	status = U_ZERO_ERROR;

		bi = ubrk_open(UBRK_SENTENCE, sentloc, NULL, 0, &status);
		CheckIcu(status, "ubrk_open");
		ut = utext_openUTF8(NULL, st->text, st->len, &status);
		if (!U_FAILURE(status))
			ubrk_setUText(bi, ut, &status);
		if (U_FAILURE(status))
		{
			ubrk_close(bi);
			if (ut)
				utext_close(ut);
			CheckIcu(status, "ubrk_setUText");
		}
	}

	PG_TRY();
	{
		int32		s = ubrk_first(bi);
		int32		e;

		while ((e = ubrk_next(bi)) != UBRK_DONE)
		{
			CHECK_FOR_INTERRUPTS();
			AddUnits(st, s, e, true);
			s = e;
		}
	}
	PG_FINALLY();
	{
		ubrk_close(bi);
		utext_close(ut);
	}
	PG_END_TRY();
}

/* Record one finished chunk */
static void
EmitChunk(ChunkState *st, int s, int e, int n_tokens)
{
	if (st->nout == st->maxout)
	{
		st->maxout *= 2;
		st->out = repalloc(st->out, st->maxout * sizeof(ChunkSpan));
	}
	st->out[st->nout].start = s;
	st->out[st->nout].end = e;
	st->out[st->nout].n_tokens = n_tokens;
	st->nout++;
}

/*
 * Choose where the chunk after units [first, next) starts: the longest run
 * of whole trailing units within budget, else the longest run of trailing
 * words of the last unit.  Returns -1 for no overlap; *tokens gets the
 * overlap's estimated token count.
 */
static int
OverlapStart(ChunkState *st, int first, int next, int budget, int *tokens)
{
	ChunkUnit  *last = &st->units[next - 1];
	int			k = next;
	int			total = 0;
	int			best = -1;
	int			nw;
	int		   *w;

	*tokens = 0;
	if (budget <= 0)
		return -1;
	while (k - 1 >= first && total + st->units[k - 1].tokens <= budget)
	{
		k--;
		total += st->units[k].tokens;
	}
	if (k < next)
	{
		*tokens = total;
		return st->units[k].start;
	}

	/* the last unit alone is too long: take its trailing words */
	w = WordStarts(st, last->start, last->end, &nw);
	for (int i = nw - 1; i >= 1; i--)
	{
		int			n = st->ctr->count(st->ctr->arg, st->text + w[i],
									   last->end - w[i], NULL);

		CHECK_FOR_INTERRUPTS();
		if (n > budget)
			break;
		best = w[i];
		*tokens = n;
	}
	pfree(w);
	return best;
}

/* Pack the units into chunks, see the file header */
static void
PackUnits(ChunkState *st)
{
	ChunkCounter *ctr = st->ctr;
	int			i = 0;
	int			ov_start = -1;
	int			ov_tokens = 0;

	while (i < st->nunits)
	{
		int			start = ov_start >= 0 ? ov_start : st->units[i].start;
		int			total = ctr->specials + ov_tokens + st->units[i].tokens;
		int			j = i + 1;
		int			full;

		CHECK_FOR_INTERRUPTS();

		/* greedy: estimates first, the exact count when they say no */
		while (j < st->nunits)
		{
			int			est = total + st->units[j].tokens;

			CHECK_FOR_INTERRUPTS();
			if (est > st->max_tokens + CHUNK_PROBE_SLACK)
				break;
			if (est > st->max_tokens)
			{
				est = ctr->count_full(ctr->arg, st->text + start,
									  st->units[j].end - start);
				if (est > st->max_tokens)
					break;
			}
			total = est;
			j++;
		}

		/* exact count of the chunk; shrink until it fits */
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			full = ctr->count_full(ctr->arg, st->text + start,
								   st->units[j - 1].end - start);
			if (full <= st->max_tokens)
				break;
			if (j - 1 > i)
				j--;
			else if (ov_start >= 0)
			{
				ov_start = -1;
				ov_tokens = 0;
				start = st->units[i].start;
			}
			else
			{
				/* one unit that the estimate let through: cut it */
				ChunkUnit	u = st->units[i];
				int			clen;
				int			cut;

				/* a single character over the limit cannot be cut further */
				ChunkIsSpace(st->text + u.start, u.end - u.start, &clen);
				if (u.start + clen >= u.end)
					break;
				cut = CutBetweenTokens(st, u.start, u.end);

				st->nunits--;
				memmove(&st->units[i], &st->units[i + 1],
						(st->nunits - i) * sizeof(ChunkUnit));
				InsertUnit(st, i, cut, u.end);
				InsertUnit(st, i, u.start, cut);
				start = st->units[i].start;
				j = i + 1;
			}
		}
		EmitChunk(st, start, st->units[j - 1].end, full);
		if (j >= st->nunits)
			break;

		/* the overlap must leave room for the next unit */
		ov_start = OverlapStart(st, i, j,
								Min(st->overlap, st->max_tokens - ctr->specials -
									st->units[j].tokens),
								&ov_tokens);
		i = j;
	}
}

/*
 * Split len bytes of UTF-8 text into chunks of at most max_tokens tokens
 * (as counted by counter, special tokens included), overlapping by at most
 * overlap_tokens.  Returns the chunks in order; *nchunks may be 0.
 */
ChunkSpan *
ChunkText(const char *text, int len, int max_tokens, int overlap_tokens,
		  const char *locale, ChunkCounter *counter, int *nchunks)
{
	ChunkState	st;

	memset(&st, 0, sizeof(st));
	st.text = text;
	st.len = len;
	st.max_tokens = max_tokens;
	st.budget = max_tokens - counter->specials;
	st.ctr = counter;
	strlcpy(st.locale, locale, sizeof(st.locale));
	if (st.budget < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tokens must be greater than %d", counter->specials),
				 errdetail("The model adds %d special tokens to every input.",
						   counter->specials)));

	st.maxunits = 64;
	st.units = palloc(st.maxunits * sizeof(ChunkUnit));
	st.maxout = 16;
	st.out = palloc(st.maxout * sizeof(ChunkSpan));

	st.overlap = overlap_tokens;
	BuildUnits(&st);
	PackUnits(&st);

	pfree(st.units);
	*nchunks = st.nout;
	return st.out;
}
