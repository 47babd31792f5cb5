/*-------------------------------------------------------------------------
 *
 * bm25querystats.h
 *	  Corpus statistics carried by a bm25query (a distributed table's
 *	  global ones): encoding in the value, text form, scoring with them
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_BM25QUERYSTATS_H
#define SEMVEC_BM25QUERYSTATS_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "bm25/bm25.h"

/* Corpus statistics a query carries (a distributed table's global ones) */
typedef struct Bm25QueryStats
{
	int64		ndocs;			/* documents */
	int64		totalLen;		/* sum of their lengths */
	int			nterms;
	char	  **lexemes;		/* not NUL-terminated */
	int		   *lens;
	int64	   *dfs;
}			Bm25QueryStats;

extern int	Bm25PayloadTextLen(const char *payload, int len);
extern bool Bm25PayloadStats(const char *payload, int len, Bm25QueryStats * qs);
extern void Bm25QueryStatsCheck(const Bm25QueryStats * qs);
extern void Bm25QueryStatsEncode(StringInfo buf, const Bm25QueryStats * qs);
extern bool Bm25QueryStatsParse(const char *s, Bm25QueryStats * qs, const char **rest);
extern void Bm25QueryStatsPrint(StringInfo buf, const Bm25QueryStats * qs);
extern void Bm25QueryStatsApply(const Bm25QueryStats * qs, Bm25Stats * st);

#endif							/* SEMVEC_BM25QUERYSTATS_H */
