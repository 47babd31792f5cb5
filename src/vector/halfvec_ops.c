/*-------------------------------------------------------------------------
 *
 * halfvec_ops.c
 *	  Distances, norms, element-wise arithmetic, slicing and comparison of
 *	  halfvecs (pgvector-compatible names, results and errors)
 *
 * Distances are float sums over the widened elements (distance_half.c),
 * returned as float8 like vector's.  Arithmetic widens each pair of
 * elements to float4, computes once and rounds the result to a half (a
 * correctly rounded half operation, since float4 holds the exact sum or
 * product of two halves before that one rounding); a result that overflows
 * the half range is "value out of range: overflow" and a product of
 * non-zero elements that becomes zero is "...: underflow", as in pgvector.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/float.h"
#include "utils/varbit.h"
#include "vector/bitvec.h"
#include "vector/distance.h"
#include "vector/distance_half.h"
#include "vector/halfvec.h"
#include "vector/vectypes.h"

/* ----------------------------------------------------------------
 *		Distances and norms
 * ----------------------------------------------------------------
 */

/* Fetch two halfvecs of the same dimension */
#define HALFVEC_PAIR(a, b) \
	HalfVector *a = PG_GETARG_HALFVEC_P(0); \
	HalfVector *b = PG_GETARG_HALFVEC_P(1); \
	CheckHalfvecSameDim(a, b)

/* Euclidean distance: the <-> operator */
PG_FUNCTION_INFO_V1(halfvec_l2_distance);
Datum
halfvec_l2_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b);
	PG_RETURN_FLOAT8(sqrt((double) HalfDistanceL2Squared(a->dim, a->x, b->x)));
}

/* Squared L2 distance (index support: same order, no square root) */
PG_FUNCTION_INFO_V1(halfvec_l2_squared_distance);
Datum
halfvec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) HalfDistanceL2Squared(a->dim, a->x, b->x));
}

/* Inner product (positive; <#> negates it) */
PG_FUNCTION_INFO_V1(halfvec_inner_product);
Datum
halfvec_inner_product(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) HalfDistanceInnerProduct(a->dim, a->x, b->x));
}

/* Negative inner product: the <#> operator, so smaller is closer */
PG_FUNCTION_INFO_V1(halfvec_negative_inner_product);
Datum
halfvec_negative_inner_product(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) -HalfDistanceInnerProduct(a->dim, a->x, b->x));
}

/* Cosine distance, clamped to [0, 2]; NaN when either vector is zero */
PG_FUNCTION_INFO_V1(halfvec_cosine_distance);
Datum
halfvec_cosine_distance(PG_FUNCTION_ARGS)
{
	double		similarity;

	HALFVEC_PAIR(a, b);
	similarity = HalfDistanceCosineSimilarity(a->dim, a->x, b->x);
	PG_RETURN_FLOAT8(DistanceCosineFromSimilarity(similarity));
}

/* acos(a . b) / pi for unit vectors (ivfflat support, as for vector) */
PG_FUNCTION_INFO_V1(halfvec_spherical_distance);
Datum
halfvec_spherical_distance(PG_FUNCTION_ARGS)
{
	double		dot;

	HALFVEC_PAIR(a, b);
	dot = (double) HalfDistanceInnerProduct(a->dim, a->x, b->x);
	if (dot > 1)
		dot = 1;
	else if (dot < -1)
		dot = -1;
	PG_RETURN_FLOAT8(acos(dot) / M_PI);
}

/* Manhattan distance: the <+> operator */
PG_FUNCTION_INFO_V1(halfvec_l1_distance);
Datum
halfvec_l1_distance(PG_FUNCTION_ARGS)
{
	HALFVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) HalfDistanceL1(a->dim, a->x, b->x));
}

/* vector_dims(halfvec) */
PG_FUNCTION_INFO_V1(halfvec_vector_dims);
Datum
halfvec_vector_dims(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);

	PG_RETURN_INT32(a->dim);
}

/* Euclidean norm of the widened elements, in double precision */
static double
HalfvecNorm(const HalfVector *a)
{
	double		norm = 0.0;

	for (int i = 0; i < a->dim; i++)
	{
		double		x = HalfToFloat4(a->x[i]);

		norm += x * x;
	}
	return sqrt(norm);
}

/* l2_norm(halfvec) */
PG_FUNCTION_INFO_V1(halfvec_l2_norm);
Datum
halfvec_l2_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(HalfvecNorm(PG_GETARG_HALFVEC_P(0)));
}

/* Scale to unit Euclidean length; a zero vector stays zero */
PG_FUNCTION_INFO_V1(halfvec_l2_normalize);
Datum
halfvec_l2_normalize(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *result = InitHalfVector(a->dim);
	double		norm = HalfvecNorm(a);

	if (norm > 0)
	{
		for (int i = 0; i < a->dim; i++)
		{
			result->x[i] = Float4ToHalf((float) (HalfToFloat4(a->x[i]) / norm));
			if (HalfIsInf(result->x[i]))
				float_overflow_error();
		}
	}
	PG_RETURN_HALFVEC_P(result);
}

/* One bit per element: 1 where the element is positive */
PG_FUNCTION_INFO_V1(halfvec_binary_quantize);
Datum
halfvec_binary_quantize(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	VarBit	   *result = InitBitVector(a->dim);
	bits8	   *bits = VARBITS(result);

	for (int i = 0; i < a->dim; i++)
	{
		if (HalfToFloat4(a->x[i]) > 0)
			bits[i / 8] |= (bits8) (0x80 >> (i % 8));
	}
	PG_RETURN_VARBIT_P(result);
}

/* count elements from 1-based position start, clipped like substring() */
PG_FUNCTION_INFO_V1(halfvec_subvector);
Datum
halfvec_subvector(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	int			first;
	int			dim;
	HalfVector *result;

	VecSliceBounds("halfvec", a->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), &first, &dim);
	result = InitHalfVector(dim);
	memcpy(result->x, a->x + first, sizeof(half) * dim);
	PG_RETURN_HALFVEC_P(result);
}

/* ----------------------------------------------------------------
 *		Arithmetic
 * ----------------------------------------------------------------
 */

typedef enum HalfOp
{
	HALF_ADD,
	HALF_SUB,
	HALF_MUL
} HalfOp;

/* Element-wise a op b, rounded once to half, with pgvector's range checks */
static HalfVector *
HalfvecArith(FunctionCallInfo fcinfo, HalfOp op)
{
	HalfVector *result;

	HALFVEC_PAIR(a, b);
	result = InitHalfVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float		x = HalfToFloat4(a->x[i]);
		float		y = HalfToFloat4(b->x[i]);
		float		r = op == HALF_ADD ? x + y : op == HALF_SUB ? x - y : x * y;

		result->x[i] = Float4ToHalf(r);
	}
	for (int i = 0; i < a->dim; i++)
	{
		if (HalfIsInf(result->x[i]))
			float_overflow_error();
	}
	if (op == HALF_MUL)
	{
		/* Non-zero times non-zero must not silently become zero */
		for (int i = 0; i < a->dim; i++)
		{
			if (HalfIsZero(result->x[i]) &&
				!HalfIsZero(a->x[i]) && !HalfIsZero(b->x[i]))
				float_underflow_error();
		}
	}
	return result;
}

/* The + operator and the sum() aggregate's step */
PG_FUNCTION_INFO_V1(halfvec_add);
Datum
halfvec_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_HALFVEC_P(HalfvecArith(fcinfo, HALF_ADD));
}

/* The - operator */
PG_FUNCTION_INFO_V1(halfvec_sub);
Datum
halfvec_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_HALFVEC_P(HalfvecArith(fcinfo, HALF_SUB));
}

/* The * operator */
PG_FUNCTION_INFO_V1(halfvec_mul);
Datum
halfvec_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_HALFVEC_P(HalfvecArith(fcinfo, HALF_MUL));
}

/* The || operator */
PG_FUNCTION_INFO_V1(halfvec_concat);
Datum
halfvec_concat(PG_FUNCTION_ARGS)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	HalfVector *result;

	CheckHalfvecDim(a->dim + b->dim);
	result = InitHalfVector(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(half) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(half) * b->dim);
	PG_RETURN_HALFVEC_P(result);
}

/* ----------------------------------------------------------------
 *		Comparison (btree support): vector's order, on the widened values
 * ----------------------------------------------------------------
 */
static int
HalfvecCompareArgs(FunctionCallInfo fcinfo)
{
	HalfVector *a = PG_GETARG_HALFVEC_P(0);
	HalfVector *b = PG_GETARG_HALFVEC_P(1);
	int			dim = Min(a->dim, b->dim);
	int			cmp = 0;

	for (int i = 0; i < dim && cmp == 0; i++)
	{
		float		x = HalfToFloat4(a->x[i]);
		float		y = HalfToFloat4(b->x[i]);

		cmp = x < y ? -1 : x > y ? 1 : 0;
	}
	if (cmp == 0)
		cmp = a->dim < b->dim ? -1 : a->dim > b->dim ? 1 : 0;

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return cmp;
}

PG_FUNCTION_INFO_V1(halfvec_cmp);
Datum
halfvec_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(HalfvecCompareArgs(fcinfo));
}

PG_FUNCTION_INFO_V1(halfvec_lt);
Datum
halfvec_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HalfvecCompareArgs(fcinfo) < 0);
}

PG_FUNCTION_INFO_V1(halfvec_le);
Datum
halfvec_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HalfvecCompareArgs(fcinfo) <= 0);
}

PG_FUNCTION_INFO_V1(halfvec_eq);
Datum
halfvec_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HalfvecCompareArgs(fcinfo) == 0);
}

PG_FUNCTION_INFO_V1(halfvec_ne);
Datum
halfvec_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HalfvecCompareArgs(fcinfo) != 0);
}

PG_FUNCTION_INFO_V1(halfvec_ge);
Datum
halfvec_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HalfvecCompareArgs(fcinfo) >= 0);
}

PG_FUNCTION_INFO_V1(halfvec_gt);
Datum
halfvec_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HalfvecCompareArgs(fcinfo) > 0);
}
