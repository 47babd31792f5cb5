/*-------------------------------------------------------------------------
 *
 * ivftypes.c
 *	  The element types an ivfflat index can hold, and how it measures them
 *
 * An opclass names its element type through support function 5, which
 * returns a pointer to one of the IvfflatTypeOps below (pgvector's layout:
 * ivfflat_halfvec_support, ivfflat_bit_support); an opclass without it
 * indexes vector.  Distances go through the shared kernels of
 * vector/distance.h, vector/distance_half.h and vector/bitvec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/rel.h"
#include "utils/varbit.h"

#include "ivfflat/ivfflat.h"
#include "vector/bitvec.h"
#include "vector/distance.h"
#include "vector/distance_half.h"
#include "vector/halfvec.h"
#include "vector/vector.h"

extern Datum vector_norm(PG_FUNCTION_ARGS);
extern Datum l2_normalize(PG_FUNCTION_ARGS);
extern Datum halfvec_l2_norm(PG_FUNCTION_ARGS);
extern Datum halfvec_l2_normalize(PG_FUNCTION_ARGS);

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

/* ---- halfvec: clustered as float4 rows, centres rounded back to half ---- */

static Size
HalfvecValueSize(int dim)
{
	return HALFVEC_SIZE(dim);
}

static int
HalfvecValueDim(const void *value)
{
	return ((const HalfVector *) value)->dim;
}

static void
HalfvecToRow(const void *value, char *row)
{
	const HalfVector *v = value;

	HalfToFloat4Array(v->x, (float *) row, v->dim);
}

static void
HalfvecFromRow(const char *row, int dim, void *value)
{
	HalfVector *v = value;
	const float *x = (const float *) row;

	SET_VARSIZE(v, HALFVEC_SIZE(dim));
	v->dim = dim;
	v->unused = 0;
	for (int i = 0; i < dim; i++)
		v->x[i] = Float4ToHalf(x[i]);
}

static float
HalfvecDistance(IvfflatKind kind, int dim, const void *a, const void *b)
{
	const HalfVector *va = a;
	const HalfVector *vb = b;

	if (kind == IVFFLAT_KIND_L2)
		return HalfDistanceL2Squared(dim, va->x, vb->x);
	return -HalfDistanceInnerProduct(dim, va->x, vb->x);
}

static void
HalfvecDimMismatch(int a, int b)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("different halfvec dimensions %d and %d", a, b)));
}

const IvfflatTypeOps IvfflatHalfvecOps = {
	.name = "halfvec",
	.maxDim = HALFVEC_MAX_INDEX_DIM,
	.isBits = false,
	.valueSize = HalfvecValueSize,
	.valueDim = HalfvecValueDim,
	.toRow = HalfvecToRow,
	.fromRow = HalfvecFromRow,
	.distance = HalfvecDistance,
	.dimMismatch = HalfvecDimMismatch,
	.normFn = halfvec_l2_norm,
	.normalizeFn = halfvec_l2_normalize,
};

/* ---- bit: clustered as packed bits by Hamming distance ---- */

static Size
BitValueSize(int dim)
{
	return VARBITTOTALLEN(dim);
}

static int
BitValueDim(const void *value)
{
	return VARBITLEN((const VarBit *) value);
}

static void
BitToRow(const void *value, char *row)
{
	const VarBit *v = value;

	memcpy(row, VARBITS(v), VARBITBYTES(v));
}

static void
BitFromRow(const char *row, int dim, void *value)
{
	VarBit	   *v = value;

	SET_VARSIZE(v, VARBITTOTALLEN(dim));
	VARBITLEN(v) = dim;
	memcpy(VARBITS(v), row, VARBITBYTES(v));
}

static float
BitDistance(IvfflatKind kind, int dim, const void *a, const void *b)
{
	const VarBit *va = a;

	return (float) BitHammingDistance(VARBITBYTES(va), VARBITS(va), VARBITS((const VarBit *) b));
}

static void
BitDimMismatch(int a, int b)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("different bit lengths %u and %u", (uint32) a, (uint32) b)));
}

const IvfflatTypeOps IvfflatBitOps = {
	.name = "bit",
	.maxDim = 64000,
	.isBits = true,
	.valueSize = BitValueSize,
	.valueDim = BitValueDim,
	.toRow = BitToRow,
	.fromRow = BitFromRow,
	.distance = BitDistance,
	.dimMismatch = BitDimMismatch,
	.normFn = NULL,
	.normalizeFn = NULL,
};

/* Support function 5 of the halfvec opclasses */
PG_FUNCTION_INFO_V1(ivfflat_halfvec_support);
Datum
ivfflat_halfvec_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&IvfflatHalfvecOps);
}

/* Support function 5 of the bit opclass */
PG_FUNCTION_INFO_V1(ivfflat_bit_support);
Datum
ivfflat_bit_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&IvfflatBitOps);
}

/* The element type of an index, from its opclass's support function 5 */
const IvfflatTypeOps *
IvfflatTypeOpsFor(Relation index)
{
	FmgrInfo   *procinfo;
	const IvfflatTypeOps *ops;

	if (!OidIsValid(index_getprocid(index, 1, IVFFLAT_TYPE_INFO_PROC)))
		return &IvfflatVectorOps;
	procinfo = index_getprocinfo(index, 1, IVFFLAT_TYPE_INFO_PROC);
	ops = (const IvfflatTypeOps *) DatumGetPointer(FunctionCall1(procinfo, PointerGetDatum(NULL)));
	if (ops != &IvfflatHalfvecOps && ops != &IvfflatBitOps)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ivfflat support function 5 must be ivfflat_halfvec_support or ivfflat_bit_support")));
	return ops;
}
