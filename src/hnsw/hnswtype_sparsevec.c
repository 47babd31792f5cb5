/*-------------------------------------------------------------------------
 *
 * hnswtype_sparsevec.c
 *	  The sparsevec element type of hnsw indexes (sparsevec_*_ops)
 *
 * Stored values are SparseVectors, their size set by their non-zero
 * elements: an index takes up to 1,000 of them (pgvector's limit, so that
 * an element fits a page), of any number of dimensions.  Cosine indexes
 * store them at unit length.  Values of varying size are always read
 * under a pin (hnswpeek.h reads only fixed-size values).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "hnsw/hnswtype.h"
#include "vector/sparsevec_ops.h"
#include "vector/vecparse.h"

/* sparsevec's C functions, recognised as support function 1 */
extern Datum sparsevec_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum sparsevec_l2_distance(PG_FUNCTION_ARGS);
extern Datum sparsevec_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum sparsevec_cosine_distance(PG_FUNCTION_ARGS);
extern Datum sparsevec_l1_distance(PG_FUNCTION_ARGS);

static float
SparsevecL2(const HnswMetric *metric, const char *a, const char *b)
{
	return SparsevecL2SquaredDistance((const SparseVector *) a, (const SparseVector *) b);
}

static float
SparsevecNegativeIp(const HnswMetric *metric, const char *a, const char *b)
{
	return -SparsevecInnerProduct((const SparseVector *) a, (const SparseVector *) b);
}

static float
SparsevecL1(const HnswMetric *metric, const char *a, const char *b)
{
	return SparsevecL1Distance((const SparseVector *) a, (const SparseVector *) b);
}

static int
SparsevecDimensions(const char *value)
{
	return ((const SparseVector *) value)->dim;
}

/* Unit-length copy; NULL when the norm is zero or not finite */
static char *
SparsevecNormalize(const char *value)
{
	const SparseVector *v = (const SparseVector *) value;
	const float *x = SPARSEVEC_VALUES(v);
	SparseVector *out;
	float	   *y;
	double		norm = 0;

	for (int i = 0; i < v->nnz; i++)
		norm += (double) x[i] * x[i];
	norm = sqrt(norm);
	if (norm == 0 || isnan(norm) || isinf(norm))
		return NULL;
	out = InitSparseVector(v->dim, v->nnz);
	y = SPARSEVEC_VALUES(out);
	for (int i = 0; i < v->nnz; i++)
	{
		out->indices[i] = v->indices[i];
		y[i] = (float) (x[i] / norm);
	}
	return (char *) out;
}

/* pgvector's limit on the non-zero elements of an indexed sparsevec */
static void
SparsevecCheckValue(const char *value)
{
	const SparseVector *v = (const SparseVector *) value;

	if (v->nnz > SPARSEVEC_MAX_INDEX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements for hnsw index",
						SPARSEVEC_MAX_INDEX_NNZ)));
}

static const HnswKernel SparsevecKernels[] = {
	{.fn = sparsevec_l2_squared_distance, .distance = SparsevecL2},
	{.fn = sparsevec_l2_distance, .distance = SparsevecL2},
	{.fn = sparsevec_negative_inner_product, .distance = SparsevecNegativeIp, .nonMetric = true},
	{.fn = sparsevec_cosine_distance, .distance = SparsevecNegativeIp, .unitValues = true},
	{.fn = sparsevec_l1_distance, .distance = SparsevecL1},
	{.fn = NULL}
};

static const HnswTypeInfo HnswSparsevecType = {
	.name = "sparsevec",
	.maxDimensions = SPARSEVEC_MAX_DIM,
	.dimensions = SparsevecDimensions,
	.fixedSize = NULL,
	.normalize = SparsevecNormalize,
	.checkValue = SparsevecCheckValue,
	.kernels = SparsevecKernels
};

/* Support function 3 of sparsevec_*_ops */
PG_FUNCTION_INFO_V1(hnsw_sparsevec_support);
Datum
hnsw_sparsevec_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&HnswSparsevecType);
}
