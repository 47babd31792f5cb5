/*-------------------------------------------------------------------------
 *
 * bm25querystats.c
 *	  Corpus statistics carried by a bm25query
 *
 * On a Citus distributed table each shard has its own bm25 index, so each
 * shard would score with its own N, average length and document
 * frequencies.  A query can instead carry the statistics of the whole
 * table (summed over the shards by bm25_corpus_stats()): every shard then
 * scores a row exactly as one node holding all rows would, so the merged
 * top k is one node's top k.
 *
 * In a bm25query value the statistics follow the query text after a NUL:
 * ndocs, total length, the number of terms, then each term's df, length
 * and bytes (int64/int32 copied unaligned).  Their text form is a prefix
 *
 *	  bm25stats(docs=1000, length=52000, 'cat':12, 'dog':3) query text
 *
 * which the binary form (send/recv) uses too, so both forms of a query
 * without statistics are what they always were.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "bm25/bm25.h"
#include "bm25/bm25querystats.h"

#define BM25STATS_PREFIX	"bm25stats("

/* Length of the query text in a payload (the statistics follow a NUL) */
int
Bm25PayloadTextLen(const char *payload, int len)
{
	const char *nul = memchr(payload, '\0', len);

	return nul ? (int) (nul - payload) : len;
}

static void
ReadBytes(const char **p, const char *end, void *dst, int n)
{
	if (*p + n > end)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("bm25query statistics are truncated")));
	memcpy(dst, *p, n);
	*p += n;
}

/* The statistics a payload carries; false when it carries none */
bool
Bm25PayloadStats(const char *payload, int len, Bm25QueryStats * qs)
{
	int			textLen = Bm25PayloadTextLen(payload, len);
	const char *p = payload + textLen + 1;
	const char *end = payload + len;
	int32		n;

	memset(qs, 0, sizeof(*qs));
	if (textLen >= len)
		return false;
	ReadBytes(&p, end, &qs->ndocs, sizeof(int64));
	ReadBytes(&p, end, &qs->totalLen, sizeof(int64));
	ReadBytes(&p, end, &n, sizeof(int32));
	if (n < 0 || n > (end - p) / (int) (sizeof(int64) + sizeof(int32)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("bm25query statistics are truncated")));
	qs->nterms = n;
	qs->lexemes = palloc(sizeof(char *) * Max(n, 1));
	qs->lens = palloc(sizeof(int) * Max(n, 1));
	qs->dfs = palloc(sizeof(int64) * Max(n, 1));
	for (int t = 0; t < n; t++)
	{
		int32		l;

		ReadBytes(&p, end, &qs->dfs[t], sizeof(int64));
		ReadBytes(&p, end, &l, sizeof(int32));
		if (l < 0 || l > end - p)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("bm25query statistics are truncated")));
		qs->lens[t] = l;
		qs->lexemes[t] = (char *) p;
		p += l;
	}
	return true;
}

/* Reject statistics no corpus can have */
void
Bm25QueryStatsCheck(const Bm25QueryStats * qs)
{
	if (qs->ndocs < 0 || qs->totalLen < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bm25 corpus statistics must not be negative"),
				 errdetail("Got docs = " INT64_FORMAT " and length = " INT64_FORMAT ".",
						   qs->ndocs, qs->totalLen)));
	for (int t = 0; t < qs->nterms; t++)
	{
		if (qs->lens[t] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bm25 corpus statistics name an empty term")));
		if (memchr(qs->lexemes[t], '\0', qs->lens[t]) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bm25 corpus statistics name a term with a NUL character")));
		if (qs->dfs[t] < 0 || qs->dfs[t] > qs->ndocs)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("document frequency " INT64_FORMAT " of term \"%.*s\" is out of range",
							qs->dfs[t], qs->lens[t], qs->lexemes[t]),
					 errdetail("A document frequency is between 0 and the number of documents (" INT64_FORMAT ").",
							   qs->ndocs)));
		for (int u = 0; u < t; u++)
			if (qs->lens[u] == qs->lens[t] && memcmp(qs->lexemes[u], qs->lexemes[t], qs->lens[t]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("bm25 corpus statistics name term \"%.*s\" twice",
								qs->lens[t], qs->lexemes[t])));
	}
}

/* Append the statistics (after the NUL the caller wrote) */
void
Bm25QueryStatsEncode(StringInfo buf, const Bm25QueryStats * qs)
{
	int32		n = qs->nterms;

	appendBinaryStringInfo(buf, (const char *) &qs->ndocs, sizeof(int64));
	appendBinaryStringInfo(buf, (const char *) &qs->totalLen, sizeof(int64));
	appendBinaryStringInfo(buf, (const char *) &n, sizeof(int32));
	for (int t = 0; t < n; t++)
	{
		int32		l = qs->lens[t];

		appendBinaryStringInfo(buf, (const char *) &qs->dfs[t], sizeof(int64));
		appendBinaryStringInfo(buf, (const char *) &l, sizeof(int32));
		appendBinaryStringInfo(buf, qs->lexemes[t], l);
	}
}

/* ---- text form ---- */

static void
SyntaxError(const char *s, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", "bm25query", s),
			 errdetail("Expected %s in the bm25stats(...) prefix.", what),
			 errhint("The prefix is bm25stats(docs=N, length=L, 'term':df, ...) followed by the query text.")));
}

static void
SkipSpace(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static int64
ParseCount(const char *s, const char **p, const char *what)
{
	int64		v = 0;

	SkipSpace(p);
	if (!isdigit((unsigned char) **p))
		SyntaxError(s, what);
	while (isdigit((unsigned char) **p))
	{
		int			d = **p - '0';

		if (v > (PG_INT64_MAX - d) / 10)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range in bm25query statistics: \"%s\"", s)));
		v = v * 10 + d;
		(*p)++;
	}
	return v;
}

static void
Expect(const char *s, const char **p, const char *word, const char *what)
{
	SkipSpace(p);
	if (strncmp(*p, word, strlen(word)) != 0)
		SyntaxError(s, what);
	*p += strlen(word);
}

/*
 * Parse a bm25stats(...) prefix of s; false when s does not start with
 * one (a plain query text).  *rest is the query text after it.
 */
bool
Bm25QueryStatsParse(const char *s, Bm25QueryStats * qs, const char **rest)
{
	const char *p = s;
	int			cap = 8;

	if (strncmp(s, BM25STATS_PREFIX, strlen(BM25STATS_PREFIX)) != 0)
		return false;
	p += strlen(BM25STATS_PREFIX);
	memset(qs, 0, sizeof(*qs));
	qs->lexemes = palloc(sizeof(char *) * cap);
	qs->lens = palloc(sizeof(int) * cap);
	qs->dfs = palloc(sizeof(int64) * cap);
	Expect(s, &p, "docs", "\"docs=\"");
	Expect(s, &p, "=", "\"docs=\"");
	qs->ndocs = ParseCount(s, &p, "a number of documents");
	Expect(s, &p, ",", "\", length=\"");
	Expect(s, &p, "length", "\"length=\"");
	Expect(s, &p, "=", "\"length=\"");
	qs->totalLen = ParseCount(s, &p, "a total length");
	for (;;)
	{
		StringInfoData lex;

		SkipSpace(&p);
		if (*p == ')')
			break;
		Expect(s, &p, ",", "\",\" or \")\"");
		Expect(s, &p, "'", "a quoted term");
		initStringInfo(&lex);
		for (;;)
		{
			if (*p == '\0')
				SyntaxError(s, "a closing quote");
			if (*p == '\'')
			{
				if (p[1] != '\'')
					break;
				p++;
			}
			appendStringInfoChar(&lex, *p++);
		}
		p++;
		Expect(s, &p, ":", "\":\" and a document frequency after a term");
		if (qs->nterms == cap)
		{
			cap *= 2;
			qs->lexemes = repalloc(qs->lexemes, sizeof(char *) * cap);
			qs->lens = repalloc(qs->lens, sizeof(int) * cap);
			qs->dfs = repalloc(qs->dfs, sizeof(int64) * cap);
		}
		qs->lexemes[qs->nterms] = lex.data;
		qs->lens[qs->nterms] = lex.len;
		qs->dfs[qs->nterms] = ParseCount(s, &p, "a document frequency");
		qs->nterms++;
		CHECK_FOR_INTERRUPTS();
	}
	p++;
	/* one separating space belongs to the prefix */
	if (*p == ' ')
		p++;
	*rest = p;
	Bm25QueryStatsCheck(qs);
	return true;
}

void
Bm25QueryStatsPrint(StringInfo buf, const Bm25QueryStats * qs)
{
	appendStringInfo(buf, BM25STATS_PREFIX "docs=" INT64_FORMAT ", length=" INT64_FORMAT,
					 qs->ndocs, qs->totalLen);
	for (int t = 0; t < qs->nterms; t++)
	{
		appendStringInfoString(buf, ", '");
		for (int i = 0; i < qs->lens[t]; i++)
		{
			if (qs->lexemes[t][i] == '\'')
				appendStringInfoChar(buf, '\'');
			appendStringInfoChar(buf, qs->lexemes[t][i]);
		}
		appendStringInfo(buf, "':" INT64_FORMAT, qs->dfs[t]);
	}
	appendStringInfoString(buf, ") ");
}

/*
 * Score with the carried statistics instead of the index's own: N, the
 * average length and each query term's df (and so idf and weight).  The
 * same formulas on the same numbers give the same doubles as an index
 * holding the whole corpus.
 */
void
Bm25QueryStatsApply(const Bm25QueryStats * qs, Bm25Stats * st)
{
	st->ndocs = (double) qs->ndocs;
	st->totalLen = (double) qs->totalLen;
	st->avgdl = qs->ndocs > 0 ? (double) qs->totalLen / (double) qs->ndocs : 1.0;
	if (st->avgdl <= 0)
		st->avgdl = 1.0;
	for (int t = 0; t < st->nterms; t++)
	{
		Bm25QueryTerm *qt = &st->terms[t];
		int			found = -1;

		for (int u = 0; u < qs->nterms && found < 0; u++)
			if (qs->lens[u] == qt->term.len &&
				memcmp(qs->lexemes[u], qt->term.lexeme, qt->term.len) == 0)
				found = u;
		if (found < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bm25 query statistics have no document frequency for term \"%.*s\"",
							qt->term.len, qt->term.lexeme),
					 errdetail("The statistics a query carries must cover every lexeme of its text as the index tokenizes it."),
					 errhint("Build the query with bm25_corpus_query() or from bm25_corpus_stats() of the same index.")));
		qt->df = (uint64) Min(qs->dfs[found], qs->ndocs);
		qt->idf = Bm25Idf(st->ndocs, (double) qt->df);
		qt->weight = qt->idf * qt->term.tf;
	}
}
