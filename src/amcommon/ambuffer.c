/*-------------------------------------------------------------------------
 *
 * ambuffer.c
 *	  Reading and extending the pages of an index, for every access method
 *	  of semvec
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "amcommon/ambuffer.h"
#include "pgcompat.h"

/* Bytes of an rd_amcache whose hint table has n entries */
#define CACHE_SIZE(hintsOffset, n) \
	((hintsOffset) + offsetof(AmBufferHints, recent) + sizeof(Buffer) * (Size) (n))

/*
 * Make an index's rd_amcache: factsSize bytes of the access method's
 * cached facts, then at hintsOffset an empty hint table.  One chunk in the
 * relcache entry's context, so a relcache flush frees the hints with the
 * facts.
 */
void *
AmCacheCreate(Relation index, const void *facts, Size factsSize, Size hintsOffset)
{
	void	   *cache;

	Assert(factsSize <= hintsOffset);
	cache = MemoryContextAllocZero(index->rd_indexcxt, CACHE_SIZE(hintsOffset, 0));
	memcpy(cache, facts, factsSize);
	index->rd_amcache = cache;
	return cache;
}

/*
 * Pin a block of the main fork.  The buffer that held it last time is
 * remembered per backend (in the hint table at hintsOffset of rd_amcache),
 * and ReadRecentBuffer re-pins it without a buffer-mapping lookup when it
 * still holds the block: an hnsw search touches thousands of random
 * blocks and an ivfflat probe hundreds, and that lookup was a large share
 * of a scan's time.  Without an rd_amcache this is ReadBuffer.
 */
Buffer
AmReadBufferHinted(Relation index, Size hintsOffset, BlockNumber blkno)
{
	AmBufferHints *h;
	Buffer		buf;

	if (index->rd_amcache == NULL)
		return ReadBuffer(index, blkno);
	h = (AmBufferHints *) ((char *) index->rd_amcache + hintsOffset);
	if (blkno < h->nrecent && BufferIsValid(h->recent[blkno]) &&
		ReadRecentBuffer(SemvecRelLocator(index), MAIN_FORKNUM, blkno, h->recent[blkno]))
		return h->recent[blkno];
	buf = ReadBuffer(index, blkno);
	if (blkno >= h->nrecent)
	{
		BlockNumber old = h->nrecent;
		BlockNumber n = Max(Max(old * 2, blkno + 1), 1024);
		char	   *cache = repalloc_huge(index->rd_amcache, CACHE_SIZE(hintsOffset, n));

		h = (AmBufferHints *) (cache + hintsOffset);
		memset(h->recent + old, 0, sizeof(Buffer) * (Size) (n - old));
		h->nrecent = n;
		index->rd_amcache = cache;
	}
	h->recent[blkno] = buf;
	return buf;
}

/*
 * Extend a fork by one exclusively locked page (the caller initialises
 * it).  The extension lock keeps two backends from getting the same new
 * block.  It is taken even for an index this transaction created (bm25
 * once skipped it there): one rule for every caller, whatever backends a
 * build involves, and a lock per new page is little beside writing it.
 */
Buffer
AmExtendIndex(Relation index, ForkNumber forkNum)
{
	Buffer		buf;

	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, forkNum, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}
