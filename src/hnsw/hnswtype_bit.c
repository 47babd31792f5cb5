/*-------------------------------------------------------------------------
 *
 * hnswtype_bit.c
 *	  The bit element type of hnsw indexes (bit_hamming_ops,
 *	  bit_jaccard_ops)
 *
 * Stored values are PostgreSQL's VarBits: up to 64,000 bits in an index
 * (pgvector's limit), the usual use being binary_quantize(embedding)::bit(n)
 * with the rows re-ranked by the full vector.  Neither distance has a unit
 * length to normalise to.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/varbit.h"

#include "hnsw/hnswtype.h"
#include "vector/bitvec.h"

/* The most bits an index takes (pgvector's limit) */
#define HNSW_BIT_MAX_DIM	64000

/* bit's C functions, recognised as support function 1 */
extern Datum hamming_distance(PG_FUNCTION_ARGS);
extern Datum jaccard_distance(PG_FUNCTION_ARGS);

static float
BitHamming(const HnswMetric *metric, const char *a, const char *b)
{
	const VarBit *x = (const VarBit *) a;

	return (float) BitHammingDistance(VARBITBYTES(x), VARBITS(x), VARBITS((const VarBit *) b));
}

static float
BitJaccard(const HnswMetric *metric, const char *a, const char *b)
{
	const VarBit *x = (const VarBit *) a;

	return (float) BitJaccardDistance(VARBITBYTES(x), VARBITS(x), VARBITS((const VarBit *) b));
}

static int
BitDimensions(const char *value)
{
	return VARBITLEN((const VarBit *) value);
}

static Size
BitFixedSize(int dim)
{
	return VARBITTOTALLEN(dim);
}

static const HnswKernel BitKernels[] = {
	{.fn = hamming_distance, .distance = BitHamming},
	{.fn = jaccard_distance, .distance = BitJaccard},
	{.fn = NULL}
};

static const HnswTypeInfo HnswBitType = {
	.name = "bit",
	.maxDimensions = HNSW_BIT_MAX_DIM,
	.dimensions = BitDimensions,
	.fixedSize = BitFixedSize,
	.normalize = NULL,
	.checkValue = NULL,
	.kernels = BitKernels
};

/* Support function 3 of bit_hamming_ops and bit_jaccard_ops */
PG_FUNCTION_INFO_V1(hnsw_bit_support);
Datum
hnsw_bit_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&HnswBitType);
}
