/*-------------------------------------------------------------------------
 *
 * vector_ops.c
 *	  Element-wise arithmetic, normalisation, slicing and comparison of
 *	  vectors (pgvector-compatible names, results and errors)
 *
 * Arithmetic is done in float4 like pgvector: a result that overflows to
 * infinity is an error ("value out of range: overflow", 22003), and so is
 * a product of two non-zero elements that underflows to zero.
 *
 * Comparison is pgvector's total order: element by element over the common
 * prefix, then the shorter vector first.  It backs the default btree
 * operator class, so ORDER BY, DISTINCT, GROUP BY and UNIQUE work.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "vector/distance.h"
#include "fmgr.h"
#include "utils/float.h"
#include "utils/varbit.h"
#include "vector/bitvec.h"
#include "vector/vector.h"
#include "vector/vectypes.h"

/* ----------------------------------------------------------------
 *		Arithmetic
 * ----------------------------------------------------------------
 */

/* Raise the float overflow error if any element is infinite */
static void
CheckNoOverflow(const Vector *v)
{
	for (int i = 0; i < v->dim; i++)
	{
		if (isinf(v->x[i]))
			float_overflow_error();
	}
}

/* Element-wise sum: the + operator and the sum() aggregate's step */
PG_FUNCTION_INFO_V1(vector_add);
Datum
vector_add(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	CheckVectorSameDim(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] + b->x[i];
	CheckNoOverflow(result);
	PG_RETURN_VECTOR_P(result);
}

/* Element-wise difference: the - operator */
PG_FUNCTION_INFO_V1(vector_sub);
Datum
vector_sub(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	CheckVectorSameDim(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] - b->x[i];
	CheckNoOverflow(result);
	PG_RETURN_VECTOR_P(result);
}

/* Element-wise product: the * operator */
PG_FUNCTION_INFO_V1(vector_mul);
Datum
vector_mul(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	CheckVectorSameDim(a, b);
	result = InitVector(a->dim);
	for (int i = 0; i < a->dim; i++)
		result->x[i] = a->x[i] * b->x[i];
	CheckNoOverflow(result);

	/* Non-zero times non-zero must not silently become zero */
	for (int i = 0; i < a->dim; i++)
	{
		if (result->x[i] == 0 && a->x[i] != 0 && b->x[i] != 0)
			float_underflow_error();
	}
	PG_RETURN_VECTOR_P(result);
}

/* Concatenation: the || operator */
PG_FUNCTION_INFO_V1(vector_concat);
Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	CheckVectorDim(a->dim + b->dim);
	result = InitVector(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_VECTOR_P(result);
}

/* Scale to unit Euclidean length; a zero vector stays zero */
PG_FUNCTION_INFO_V1(l2_normalize);
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *result = InitVector(a->dim);
	double		norm = 0.0;

	for (int i = 0; i < a->dim; i++)
		norm += (double) a->x[i] * (double) a->x[i];
	norm = sqrt(norm);

	/*
	 * |x[i]| <= norm, so no quotient exceeds 1 and no overflow check is
	 * needed (the norm is computed in double, so even subnormal inputs have
	 * a non-zero norm).
	 */
	if (norm > 0)
	{
		for (int i = 0; i < a->dim; i++)
			result->x[i] = (float) (a->x[i] / norm);
	}
	PG_RETURN_VECTOR_P(result);
}

/*
 * Slice of count elements starting at 1-based position start, clipped to
 * the vector like substring(); an empty slice is an error, since a vector
 * has at least one dimension.
 */
PG_FUNCTION_INFO_V1(subvector);
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	int			first;
	int			dim;
	Vector	   *result;

	VecSliceBounds("vector", a->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), &first, &dim);
	result = InitVector(dim);
	memcpy(result->x, a->x + first, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}

/* One bit per element: 1 where the element is positive */
PG_FUNCTION_INFO_V1(binary_quantize);
Datum
binary_quantize(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	VarBit	   *result = InitBitVector(a->dim);
	bits8	   *bits = VARBITS(result);

	for (int i = 0; i < a->dim; i++)
	{
		if (a->x[i] > 0)
			bits[i / 8] |= (bits8) (0x80 >> (i % 8));
	}
	PG_RETURN_VARBIT_P(result);
}

/*
 * Angular distance in [0, 1] for unit vectors: acos(a . b) / pi.  Used as
 * an index support function for cosine on normalised data, as in pgvector.
 */
PG_FUNCTION_INFO_V1(vector_spherical_distance);
Datum
vector_spherical_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		dot;

	CheckVectorSameDim(a, b);
	dot = (double) DistanceInnerProduct(a->dim, a->x, b->x);

	/* Rounding can push the product of unit vectors just outside [-1, 1] */
	if (dot > 1)
		dot = 1;
	else if (dot < -1)
		dot = -1;
	PG_RETURN_FLOAT8(acos(dot) / M_PI);
}

/* ----------------------------------------------------------------
 *		Comparison (btree support)
 * ----------------------------------------------------------------
 */

/* Compare element-wise over the common prefix, then by dimension */
static int
VectorCompare(const Vector *a, const Vector *b)
{
	int			dim = Min(a->dim, b->dim);

	for (int i = 0; i < dim; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

/*
 * Fetch both arguments, compare and free detoasted copies (sorts and index
 * builds call this millions of times in one memory context).
 */
static int
VectorCompareArgs(FunctionCallInfo fcinfo)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	int			cmp = VectorCompare(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return cmp;
}

/* btree support function 1 */
PG_FUNCTION_INFO_V1(vector_cmp);
Datum
vector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VectorCompareArgs(fcinfo));
}

/* The < operator */
PG_FUNCTION_INFO_V1(vector_lt);
Datum
vector_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(VectorCompareArgs(fcinfo) < 0);
}

/* The <= operator */
PG_FUNCTION_INFO_V1(vector_le);
Datum
vector_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(VectorCompareArgs(fcinfo) <= 0);
}

/* The = operator */
PG_FUNCTION_INFO_V1(vector_eq);
Datum
vector_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(VectorCompareArgs(fcinfo) == 0);
}

/* The <> operator */
PG_FUNCTION_INFO_V1(vector_ne);
Datum
vector_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(VectorCompareArgs(fcinfo) != 0);
}

/* The >= operator */
PG_FUNCTION_INFO_V1(vector_ge);
Datum
vector_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(VectorCompareArgs(fcinfo) >= 0);
}

/* The > operator */
PG_FUNCTION_INFO_V1(vector_gt);
Datum
vector_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(VectorCompareArgs(fcinfo) > 0);
}
