/*-------------------------------------------------------------------------
 *
 * bm25tokenize.c
 *	  Turn a text into lexemes with counts, through a text search
 *	  configuration
 *
 * Documents and queries go through the same path as to_tsvector(): the
 * configuration's parser and dictionaries (parsetext()).  Unlike a
 * tsvector, nothing is capped: a tsvector keeps at most 256 positions per
 * lexeme, while BM25 needs the true term frequency.  A document's length
 * is its number of lexeme occurrences, i.e. what to_tsvector() would give
 * positions for (stop words do not count, as in Lucene's analyzers).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "tsearch/ts_utils.h"

#include "bm25/bm25.h"

/* Byte order of lexemes, shorter first on a common prefix */
int
Bm25CompareLexemes(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* 64-bit hash of a document's text (see DOCHASH in bm25.h) */
uint64
Bm25TextHash(const char *text, int len)
{
	return hash_bytes_extended((const unsigned char *) text, len, 0x62326d35);
}

static int
CompareWords(const void *a, const void *b)
{
	const ParsedWord *x = (const ParsedWord *) a;
	const ParsedWord *y = (const ParsedWord *) b;

	return Bm25CompareLexemes(x->word, x->len, y->word, y->len);
}

/*
 * Tokenise len bytes of text with configuration cfg.  The lexemes are
 * palloc'd in the current memory context.
 */
void
Bm25Tokenize(Oid cfg, const char *text, int len, Bm25Terms * out)
{
	ParsedText	prs;
	int			n = 0;

	out->nterms = 0;
	out->terms = NULL;
	out->length = 0;
	out->textHash = Bm25TextHash(text, len);
	if (len <= 0)
		return;

	prs.lenwords = Max(len / 6, 2);
	if (prs.lenwords > (int32) (MaxAllocSize / sizeof(ParsedWord)))
		prs.lenwords = MaxAllocSize / sizeof(ParsedWord);
	prs.curwords = 0;
	prs.pos = 0;
	prs.words = palloc(sizeof(ParsedWord) * prs.lenwords);
	parsetext(cfg, &prs, (char *) text, len);

	if (prs.curwords > 0)
	{
		qsort(prs.words, prs.curwords, sizeof(ParsedWord), CompareWords);
		out->terms = palloc(sizeof(Bm25Term) * prs.curwords);
		for (int i = 0; i < prs.curwords; i++)
		{
			ParsedWord *w = &prs.words[i];

			if (n > 0 && out->terms[n - 1].len == w->len &&
				memcmp(out->terms[n - 1].lexeme, w->word, w->len) == 0)
			{
				out->terms[n - 1].tf++;
				pfree(w->word);
				continue;
			}
			out->terms[n].lexeme = w->word;
			out->terms[n].len = w->len;
			out->terms[n].tf = 1;
			out->terms[n].hash = hash_bytes((const unsigned char *) w->word, w->len);
			n++;
		}
	}
	out->nterms = n;
	out->length = prs.curwords;
	pfree(prs.words);
}
