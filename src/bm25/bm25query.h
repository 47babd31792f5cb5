/*-------------------------------------------------------------------------
 *
 * bm25query.h
 *	  The bm25query type: a query text, optionally bound to a bm25 index,
 *	  optionally carrying the corpus statistics that score it
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_BM25QUERY_H
#define SEMVEC_BM25QUERY_H

#include "postgres.h"

#include "bm25/bm25.h"

/*
 * The payload is the query text; a query that carries statistics has a NUL
 * after the text and then the encoded statistics (bm25querystats.c).  A
 * text never holds a NUL, so values stored before statistics existed read
 * as queries without them.
 */
typedef struct Bm25QueryData
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	Oid			index;			/* the bm25 index whose statistics score it, or 0 */
	char		query[FLEXIBLE_ARRAY_MEMBER];
}			Bm25QueryData;

#define BM25QUERY_HDRSZ		offsetof(Bm25QueryData, query)

extern void Bm25QueryText(Datum d, char **query, int *len);
extern void Bm25QueryPayload(Datum d, char **payload, int *len);

#endif							/* SEMVEC_BM25QUERY_H */
