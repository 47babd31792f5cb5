/*-------------------------------------------------------------------------
 *
 * ivfutils.c
 *	  Shared ivfflat helpers: per-index facts, pages, metapage, values and
 *	  the choice of a row's list
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/regproc.h"

#include "ivfflat/ivfflat.h"
#include "pgcompat.h"

/* The C functions behind the distance support functions of the opclasses */
extern Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum halfvec_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum hamming_distance(PG_FUNCTION_ARGS);

/*
 * Which kind of distance support function 1 computes; it must measure the
 * element type that support function 5 names.
 */
static IvfflatKind
KindOfDistanceProc(Relation index, const IvfflatTypeOps * ops, bool normalize)
{
	FmgrInfo   *dist = index_getprocinfo(index, 1, IVFFLAT_DISTANCE_PROC);
	PGFunction	fn = dist->fn_addr;

	if (ops == &IvfflatVectorOps)
	{
		if (fn == vector_l2_squared_distance)
			return IVFFLAT_KIND_L2;
		if (fn == vector_negative_inner_product)
			return normalize ? IVFFLAT_KIND_COSINE : IVFFLAT_KIND_IP;
	}
	else if (ops == &IvfflatHalfvecOps)
	{
		if (fn == halfvec_l2_squared_distance)
			return IVFFLAT_KIND_L2;
		if (fn == halfvec_negative_inner_product)
			return normalize ? IVFFLAT_KIND_COSINE : IVFFLAT_KIND_IP;
	}
	else if (ops == &IvfflatBitOps && fn == hamming_distance && !normalize)
		return IVFFLAT_KIND_HAMMING;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ivfflat distance support function %s is not supported",
					format_procedure(dist->fn_oid)),
			 errdetail("Support function 1 must be one of the distance functions of semvec's ivfflat operator classes.")));
	return IVFFLAT_KIND_L2;		/* keep the compiler quiet */
}

/* Work out the element type, distance and options of an index (cached) */
void
IvfflatGetIndexInfo(Relation index, IvfflatIndexInfo * info)
{
	if (index->rd_amcache == NULL)
	{
		IvfflatIndexInfo tmp;
		IvfflatOptions *opts = (IvfflatOptions *) index->rd_options;

		tmp.ops = IvfflatTypeOpsFor(index);
		tmp.normalize = OidIsValid(index_getprocid(index, 1, IVFFLAT_NORM_PROC));
		tmp.kind = KindOfDistanceProc(index, tmp.ops, tmp.normalize);
		tmp.lists = opts ? opts->lists : IVFFLAT_DEFAULT_LISTS;
		tmp.typmodDim = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
		AmCacheCreate(index, &tmp, sizeof(tmp), offsetof(IvfflatRelCache, hints));
	}
	memcpy(info, index->rd_amcache, sizeof(IvfflatIndexInfo));
}

/* Initialise an empty page with ivfflat's special space */
void
IvfflatInitPage(Page page, uint16 flags)
{
	IvfflatPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(IvfflatPageOpaqueData));
	opaque = IvfflatPageGetOpaque(page);
	opaque->nextblkno = InvalidBlockNumber;
	opaque->flags = flags;
	opaque->page_id = IVFFLAT_PAGE_ID;
}

/* A copy of the metapage, checked */
IvfflatMetaPageData
IvfflatReadMeta(Relation index)
{
	Buffer		buf;
	Page		page;
	IvfflatMetaPageData meta;

	buf = IvfflatReadBuffer(index, IVFFLAT_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	meta = *IvfflatPageGetMeta(page);
	UnlockReleaseBuffer(buf);

	if (meta.magic != IVFFLAT_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not an ivfflat index",
						RelationGetRelationName(index))));
	if (meta.version != IVFFLAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfflat index \"%s\" has version %u, expected %u",
						RelationGetRelationName(index), meta.version, IVFFLAT_VERSION),
				 errhint("REINDEX the index.")));
	return meta;
}

/*
 * A value as the index stores and compares it: detoasted (4-byte header),
 * and for cosine scaled to unit length.  Returns NULL for a value the
 * index skips (a zero vector under cosine has no direction), unless it is
 * a query, which is then used as it is.  The result may be the input's
 * own memory when nothing had to change.
 */
void *
IvfflatPrepareValue(IvfflatIndexInfo * info, Datum value, bool forQuery)
{
	struct varlena *v = PG_DETOAST_DATUM(value);

	if (info->normalize)
	{
		double		norm = DatumGetFloat8(DirectFunctionCall1(info->ops->normFn, PointerGetDatum(v)));

		if (!(norm > 0) || isinf(norm))
			return forQuery ? v : NULL;
		return DatumGetPointer(DirectFunctionCall1(info->ops->normalizeFn, PointerGetDatum(v)));
	}
	return v;
}

/* Distance between two prepared values of the same dimension */
float
IvfflatDistance(IvfflatIndexInfo * info, int dim, const void *a, const void *b)
{
	return info->ops->distance(info->kind, dim, a, b);
}

/*
 * The list of a value: the nearest centre, the lowest list number among
 * equally near ones.  Build, insert and scan all choose with this.
 */
int
IvfflatNearestList(IvfflatIndexInfo * info, IvfflatCenters * centers, const void *value)
{
	int			best = 0;
	float		bestDist = INFINITY;

	for (int i = 0; i < centers->lists; i++)
	{
		float		d = IvfflatDistance(info, centers->dim, value, IvfflatCenter(centers, i));

		if (d < bestDist)
		{
			bestDist = d;
			best = i;
		}
	}
	return best;
}

/*
 * Visit every list tuple in list order, each under a share lock on its
 * page: build the list pages once, read them everywhere (insert, scan,
 * VACUUM).  A list page that is not one, or a chain that does not move
 * forward, is corruption.
 */
void
IvfflatWalkLists(Relation index, uint32 lists, IvfflatListVisitor visit, void *arg)
{
	BlockNumber blkno = IVFFLAT_HEAD_BLKNO;
	BlockNumber prev = IVFFLAT_METAPAGE_BLKNO;
	int			n = 0;

	while (BlockNumberIsValid(blkno) && n < (int) lists)
	{
		Buffer		buf;
		Page		page;
		IvfflatPageOpaque opaque;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		if (blkno <= prev)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("ivfflat index \"%s\" has a list page chain going back from block %u to %u",
							RelationGetRelationName(index), prev, blkno)));
		buf = IvfflatReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		opaque = IvfflatPageGetOpaque(page);
		if (PageIsNew(page) || opaque->page_id != IVFFLAT_PAGE_ID ||
			(opaque->flags & IVFFLAT_LIST_PAGE) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("ivfflat index \"%s\" has no list page at block %u",
							RelationGetRelationName(index), blkno)));
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff && n < (int) lists; off++)
		{
			IvfflatListTuple lt = (IvfflatListTuple) PageGetItem(page, PageGetItemId(page, off));

			visit(arg, n++, blkno, off, lt);
		}
		prev = blkno;
		blkno = opaque->nextblkno;
		UnlockReleaseBuffer(buf);
	}
	if (n != (int) lists)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ivfflat index \"%s\" has %d lists on its list pages, expected %u",
						RelationGetRelationName(index), n, lists)));
}
