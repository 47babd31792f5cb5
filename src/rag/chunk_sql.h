/*-------------------------------------------------------------------------
 *
 * chunk_sql.h
 *	  Helpers shared by the SQL-callable chunkers
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_CHUNKFUNCS_H
#define SEMVEC_CHUNKFUNCS_H

#include "postgres.h"

#include "rag/chunk.h"
#include "fmgr.h"

extern char *ChunkInputUtf8(text *doc, int *len);
extern char *ChunkLocaleArg(text *t);
extern void ChunkCheckSizes(const char *maxname, int max, const char *ovname,
							int overlap);
extern void ChunkReturnRows(FunctionCallInfo fcinfo, const char *utf8,
							ChunkSpan *spans, int n, bool with_tokens);

#endif							/* SEMVEC_CHUNKFUNCS_H */
