/*-------------------------------------------------------------------------
 *
 * ivftypes.c
 *	  The element types an ivfflat index can hold, and how it measures them
 *
 * An opclass names its element type through support function 5, which
 * returns a pointer to one of the IvfflatTypeOps below (pgvector's layout:
 * ivfflat_halfvec_support, ivfflat_bit_support); an opclass without it
 * indexes vector.  Distances go through the shared kernels of
 * vector/distance.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/rel.h"

#include "ivfflat/ivfflat.h"
#include "vector/distance.h"
#include "vector/vector.h"

extern Datum vector_norm(PG_FUNCTION_ARGS);
extern Datum l2_normalize(PG_FUNCTION_ARGS);

/* ---- vector ---- */

static Size
VectorValueSize(int dim)
{
	return VECTOR_SIZE(dim);
}

static int
VectorValueDim(const void *value)
{
	return ((const Vector *) value)->dim;
}

static void
VectorToRow(const void *value, char *row)
{
	const Vector *v = value;

	memcpy(row, v->x, sizeof(float) * v->dim);
}

static void
VectorFromRow(const char *row, int dim, void *value)
{
	Vector	   *v = value;

	SET_VARSIZE(v, VECTOR_SIZE(dim));
	v->dim = dim;
	v->unused = 0;
	memcpy(v->x, row, sizeof(float) * dim);
}

static float
VectorDistance(IvfflatKind kind, int dim, const void *a, const void *b)
{
	const Vector *va = a;
	const Vector *vb = b;

	if (kind == IVFFLAT_KIND_L2)
		return DistanceL2Squared(dim, va->x, vb->x);
	return -DistanceInnerProduct(dim, va->x, vb->x);
}

static void
VectorDimMismatch(int a, int b)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("different vector dimensions %d and %d", a, b)));
}

const IvfflatTypeOps IvfflatVectorOps = {
	.name = "vector",
	.maxDim = 2000,
	.isBits = false,
	.valueSize = VectorValueSize,
	.valueDim = VectorValueDim,
	.toRow = VectorToRow,
	.fromRow = VectorFromRow,
	.distance = VectorDistance,
	.dimMismatch = VectorDimMismatch,
	.normFn = vector_norm,
	.normalizeFn = l2_normalize,
};

/* The element type of an index, from its opclass's support function 5 */
const IvfflatTypeOps *
IvfflatTypeOpsFor(Relation index)
{
	FmgrInfo   *procinfo;

	if (!OidIsValid(index_getprocid(index, 1, IVFFLAT_TYPE_INFO_PROC)))
		return &IvfflatVectorOps;
	procinfo = index_getprocinfo(index, 1, IVFFLAT_TYPE_INFO_PROC);
	return (const IvfflatTypeOps *) DatumGetPointer(FunctionCall1(procinfo, PointerGetDatum(NULL)));
}
