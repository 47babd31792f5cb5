/*-------------------------------------------------------------------------
 *
 * pgcompat.h
 *	  The one place for code that depends on the PostgreSQL major version
 *
 * semvec is built and tested against PostgreSQL 15.  What the server's
 * internal API renamed or reshaped in later majors is named here once, so
 * the rest of the code is written against these names and a port to
 * another major touches this file only:
 *
 *	 SemvecRelLocator(rel)    the relation's physical identity, for
 *	                          ReadRecentBuffer (rd_node; rd_locator in 16)
 *	 SemvecBufferTagIs(tag, rel, fork, blk)
 *	                          does a buffer header's tag name that block
 *	                          (BufferTag's fields changed in 16)
 *	 SemvecJsonSemResult,     the return type of a JSON parser semantic
 *	 SEMVEC_JSON_SEM_RETURN   callback (void in 15, an error code in 16)
 *
 * Only macros: including this header pulls in nothing, so each user keeps
 * its own includes of the server headers it needs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_PGCOMPAT_H
#define SEMVEC_PGCOMPAT_H

#if PG_VERSION_NUM >= 160000

#define SemvecRelLocator(rel) ((rel)->rd_locator)
#define SemvecBufferTagIs(tag, rel, fork, blk) \
	((tag).blockNum == (blk) && BufTagGetForkNum(&(tag)) == (fork) && \
	 BufTagMatchesRelFileLocator(&(tag), &(rel)->rd_locator))

#define SemvecJsonSemResult JsonParseErrorType
#define SEMVEC_JSON_SEM_RETURN return JSON_SUCCESS

#else

#define SemvecRelLocator(rel) ((rel)->rd_node)
#define SemvecBufferTagIs(tag, rel, fork, blk) \
	((tag).blockNum == (blk) && (tag).forkNum == (fork) && \
	 (tag).rnode.relNode == (rel)->rd_node.relNode && \
	 (tag).rnode.dbNode == (rel)->rd_node.dbNode && \
	 (tag).rnode.spcNode == (rel)->rd_node.spcNode)

#define SemvecJsonSemResult void
#define SEMVEC_JSON_SEM_RETURN return

#endif

#endif							/* SEMVEC_PGCOMPAT_H */
