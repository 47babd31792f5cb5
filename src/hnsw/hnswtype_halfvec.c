/*-------------------------------------------------------------------------
 *
 * hnswtype_halfvec.c
 *	  The halfvec element type of hnsw indexes (halfvec_*_ops)
 *
 * Stored values are HalfVectors, half the size of vectors; cosine indexes
 * store them at unit length, normalised in double precision and rounded
 * to half once.  The kernels are the F16C ones of src/vector/distance_half.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "hnsw/hnswtype.h"
#include "vector/distance_half.h"
#include "vector/halfvec.h"

/* halfvec's C functions, recognised as support function 1 */
extern Datum halfvec_l2_squared_distance(PG_FUNCTION_ARGS);
extern Datum halfvec_l2_distance(PG_FUNCTION_ARGS);
extern Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS);
extern Datum halfvec_cosine_distance(PG_FUNCTION_ARGS);
extern Datum halfvec_l1_distance(PG_FUNCTION_ARGS);

static float
HalfvecL2(const HnswMetric *metric, const char *a, const char *b)
{
	const HalfVector *x = (const HalfVector *) a;

	return HalfDistanceL2Squared(x->dim, x->x, ((const HalfVector *) b)->x);
}

static float
HalfvecNegativeIp(const HnswMetric *metric, const char *a, const char *b)
{
	const HalfVector *x = (const HalfVector *) a;

	return -HalfDistanceInnerProduct(x->dim, x->x, ((const HalfVector *) b)->x);
}

static float
HalfvecL1(const HnswMetric *metric, const char *a, const char *b)
{
	const HalfVector *x = (const HalfVector *) a;

	return HalfDistanceL1(x->dim, x->x, ((const HalfVector *) b)->x);
}

static int
HalfvecDimensions(const char *value)
{
	return ((const HalfVector *) value)->dim;
}

static Size
HalfvecFixedSize(int dim)
{
	return HALFVEC_SIZE(dim);
}

/* Unit-length copy; NULL when the norm is zero or not finite */
static char *
HalfvecNormalize(const char *value)
{
	const HalfVector *v = (const HalfVector *) value;
	HalfVector *out;
	double		norm = 0;

	for (int i = 0; i < v->dim; i++)
	{
		double		x = HalfToFloat4(v->x[i]);

		norm += x * x;
	}
	norm = sqrt(norm);
	if (norm == 0 || isnan(norm) || isinf(norm))
		return NULL;
	out = InitHalfVector(v->dim);
	for (int i = 0; i < v->dim; i++)
		out->x[i] = Float4ToHalf((float) (HalfToFloat4(v->x[i]) / norm));
	return (char *) out;
}

static const HnswKernel HalfvecKernels[] = {
	{.fn = halfvec_l2_squared_distance, .distance = HalfvecL2,
	.halfKernel = &HalfDistanceL2Squared, .sign = 1},
	{.fn = halfvec_l2_distance, .distance = HalfvecL2,
	.halfKernel = &HalfDistanceL2Squared, .sign = 1},
	{.fn = halfvec_negative_inner_product, .distance = HalfvecNegativeIp,
	.halfKernel = &HalfDistanceInnerProduct, .sign = -1, .nonMetric = true},
	{.fn = halfvec_cosine_distance, .distance = HalfvecNegativeIp,
	.halfKernel = &HalfDistanceInnerProduct, .sign = -1, .unitValues = true},
	{.fn = halfvec_l1_distance, .distance = HalfvecL1,
	.halfKernel = &HalfDistanceL1, .sign = 1},
	{.fn = NULL}
};

static const HnswTypeInfo HnswHalfvecType = {
	.name = "halfvec",
	.maxDimensions = HALFVEC_MAX_INDEX_DIM,
	.dimensions = HalfvecDimensions,
	.fixedSize = HalfvecFixedSize,
	.normalize = HalfvecNormalize,
	.checkValue = NULL,
	.kernels = HalfvecKernels
};

/* Support function 3 of halfvec_*_ops */
PG_FUNCTION_INFO_V1(hnsw_halfvec_support);
Datum
hnsw_halfvec_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&HnswHalfvecType);
}
