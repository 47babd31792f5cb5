/*-------------------------------------------------------------------------
 *
 * hnswtype_vector.c
 *	  The vector element type of hnsw indexes
 *
 * Stored values are Vectors; cosine indexes store them at unit length.
 * The kernels are the SIMD ones of src/vector/distance.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "hnsw/hnswtype.h"
#include "vector/distance.h"
#include "vector/vector.h"

/* The most dimensions a vector index takes (pgvector's limit) */
#define HNSW_VECTOR_MAX_DIM		2000

/* The vector type's C functions, recognised as support function 1 */
extern Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum l2_distance(PG_FUNCTION_ARGS);
extern Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum cosine_distance(PG_FUNCTION_ARGS);
extern Datum l1_distance(PG_FUNCTION_ARGS);

static float
VectorL2(const HnswMetric *metric, const char *a, const char *b)
{
	const Vector *x = (const Vector *) a;

	return DistanceL2Squared(x->dim, x->x, ((const Vector *) b)->x);
}

/* Negative inner product; on unit vectors, the order of cosine distance */
static float
VectorNegativeIp(const HnswMetric *metric, const char *a, const char *b)
{
	const Vector *x = (const Vector *) a;

	return -DistanceInnerProduct(x->dim, x->x, ((const Vector *) b)->x);
}

static float
VectorL1(const HnswMetric *metric, const char *a, const char *b)
{
	const Vector *x = (const Vector *) a;

	return DistanceL1(x->dim, x->x, ((const Vector *) b)->x);
}

static int
VectorDimensions(const char *value)
{
	return ((const Vector *) value)->dim;
}

static Size
VectorFixedSize(int dim)
{
	return VECTOR_SIZE(dim);
}

/* Unit-length copy, computed in double precision; NULL for zero vectors */
static char *
VectorNormalize(const char *value)
{
	const Vector *v = (const Vector *) value;
	Vector	   *out;
	double		norm = 0;

	for (int i = 0; i < v->dim; i++)
		norm += (double) v->x[i] * v->x[i];
	norm = sqrt(norm);
	if (norm == 0 || isnan(norm) || isinf(norm))
		return NULL;
	out = InitVector(v->dim);
	for (int i = 0; i < v->dim; i++)
		out->x[i] = (float) (v->x[i] / norm);
	return (char *) out;
}

static const HnswKernel VectorKernels[] = {
	{.fn = vector_l2_squared_distance, .distance = VectorL2,
	.floatKernel = &DistanceL2Squared, .sign = 1},
	{.fn = l2_distance, .distance = VectorL2,	/* same order as its square */
	.floatKernel = &DistanceL2Squared, .sign = 1},
	{.fn = vector_negative_inner_product, .distance = VectorNegativeIp,
	.floatKernel = &DistanceInnerProduct, .sign = -1, .nonMetric = true},
	{.fn = cosine_distance, .distance = VectorNegativeIp,
	.floatKernel = &DistanceInnerProduct, .sign = -1, .unitValues = true},
	{.fn = l1_distance, .distance = VectorL1,
	.floatKernel = &DistanceL1, .sign = 1},
	{.fn = NULL}
};

const HnswTypeInfo HnswVectorType = {
	.name = "vector",
	.maxDimensions = HNSW_VECTOR_MAX_DIM,
	.dimensions = VectorDimensions,
	.fixedSize = VectorFixedSize,
	.normalize = VectorNormalize,
	.checkValue = NULL,
	.kernels = VectorKernels
};
