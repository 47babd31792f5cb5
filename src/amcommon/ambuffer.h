/*-------------------------------------------------------------------------
 *
 * ambuffer.h
 *	  Reading and extending the pages of an index, for every access method
 *	  of semvec (hnsw, ivfflat, bm25)
 *
 * AmReadBufferHinted pins a block of the main fork through a per-backend
 * block -> buffer hint table that the access method keeps as the last
 * member of its rd_amcache (after its own cached facts):
 *
 *		typedef struct HnswRelCache
 *		{
 *			HnswIndexInfo info;
 *			AmBufferHints hints;	(last: its table grows in place)
 *		} HnswRelCache;
 *
 * and AmExtendIndex adds one exclusively locked page to a fork.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_AMBUFFER_H
#define SEMVEC_AMBUFFER_H

#include "postgres.h"

#include "storage/bufmgr.h"
#include "utils/relcache.h"

/*
 * The buffer that last held each block here (0: none yet).  Only a hint:
 * ReadRecentBuffer checks the buffer still holds the block before using it.
 */
typedef struct AmBufferHints
{
	BlockNumber nrecent;		/* entries in recent[] */
	Buffer		recent[FLEXIBLE_ARRAY_MEMBER];
}			AmBufferHints;

extern void *AmCacheCreate(Relation index, const void *facts, Size factsSize, Size hintsOffset);
extern Buffer AmReadBufferHinted(Relation index, Size hintsOffset, BlockNumber blkno);
extern Buffer AmExtendIndex(Relation index, ForkNumber forkNum);

#endif							/* SEMVEC_AMBUFFER_H */
