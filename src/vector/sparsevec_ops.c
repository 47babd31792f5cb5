/*-------------------------------------------------------------------------
 *
 * sparsevec_ops.c
 *	  Distances, norms, normalisation and comparison of sparsevecs
 *	  (pgvector-compatible names, results and errors)
 *
 * Both operands keep their indices sorted, so every two-operand function
 * is one merge of the two index lists: O(nnz(a) + nnz(b)), whatever the
 * dimension.  Sums are float4, like pgvector's and like vector's, so a
 * sparsevec and the vector with the same elements give the same distances
 * (up to the order of the additions; exactly for small integers).
 *
 * Comparison is vector's order on the dense values (element by element up
 * to the shorter dimension, then the shorter first), so the btree operator
 * class sorts sparsevecs as it would sort their vector forms.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/float.h"
#include "vector/distance.h"
#include "vector/sparsevec_ops.h"

/* Raise an error unless two sparsevecs have the same dimension */
static void
CheckSparsevecSameDim(const SparseVector *a, const SparseVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different sparsevec dimensions %d and %d", a->dim, b->dim)));
}

/* ----------------------------------------------------------------
 *		Kernels (merges of the sorted index lists)
 * ----------------------------------------------------------------
 */
float
SparsevecL2SquaredDistance(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	float		sum = 0.0f;
	int			i = 0;
	int			j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		float		d;

		if (a->indices[i] == b->indices[j])
			d = ax[i++] - bx[j++];
		else if (a->indices[i] < b->indices[j])
			d = ax[i++];
		else
			d = bx[j++];
		sum += d * d;
	}
	for (; i < a->nnz; i++)
		sum += ax[i] * ax[i];
	for (; j < b->nnz; j++)
		sum += bx[j] * bx[j];
	return sum;
}

float
SparsevecInnerProduct(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	float		sum = 0.0f;
	int			i = 0;
	int			j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] == b->indices[j])
			sum += ax[i++] * bx[j++];
		else if (a->indices[i] < b->indices[j])
			i++;
		else
			j++;
	}
	return sum;
}

float
SparsevecL1Distance(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	float		sum = 0.0f;
	int			i = 0;
	int			j = 0;

	while (i < a->nnz && j < b->nnz)
	{
		if (a->indices[i] == b->indices[j])
			sum += fabsf(ax[i++] - bx[j++]);
		else if (a->indices[i] < b->indices[j])
			sum += fabsf(ax[i++]);
		else
			sum += fabsf(bx[j++]);
	}
	for (; i < a->nnz; i++)
		sum += fabsf(ax[i]);
	for (; j < b->nnz; j++)
		sum += fabsf(bx[j]);
	return sum;
}

float
SparsevecSquaredNorm(const SparseVector *a)
{
	const float *ax = SPARSEVEC_VALUES(a);
	float		sum = 0.0f;

	for (int i = 0; i < a->nnz; i++)
		sum += ax[i] * ax[i];
	return sum;
}

/* Euclidean norm in double precision */
static double
SparsevecNorm(const SparseVector *a)
{
	const float *ax = SPARSEVEC_VALUES(a);
	double		norm = 0.0;

	for (int i = 0; i < a->nnz; i++)
		norm += (double) ax[i] * (double) ax[i];
	return sqrt(norm);
}

/* ----------------------------------------------------------------
 *		SQL functions
 * ----------------------------------------------------------------
 */

/* Fetch two sparsevecs of the same dimension */
#define SPARSEVEC_PAIR(a, b) \
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0); \
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1); \
	CheckSparsevecSameDim(a, b)

/* Euclidean distance: the <-> operator */
PG_FUNCTION_INFO_V1(sparsevec_l2_distance);
Datum
sparsevec_l2_distance(PG_FUNCTION_ARGS)
{
	SPARSEVEC_PAIR(a, b);
	PG_RETURN_FLOAT8(sqrt((double) SparsevecL2SquaredDistance(a, b)));
}

/* Squared L2 distance (index support) */
PG_FUNCTION_INFO_V1(sparsevec_l2_squared_distance);
Datum
sparsevec_l2_squared_distance(PG_FUNCTION_ARGS)
{
	SPARSEVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) SparsevecL2SquaredDistance(a, b));
}

/* Inner product (positive; <#> negates it) */
PG_FUNCTION_INFO_V1(sparsevec_inner_product);
Datum
sparsevec_inner_product(PG_FUNCTION_ARGS)
{
	SPARSEVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) SparsevecInnerProduct(a, b));
}

/* Negative inner product: the <#> operator */
PG_FUNCTION_INFO_V1(sparsevec_negative_inner_product);
Datum
sparsevec_negative_inner_product(PG_FUNCTION_ARGS)
{
	SPARSEVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) -SparsevecInnerProduct(a, b));
}

/*
 * Cosine distance, clamped to [0, 2]; NaN when either vector is zero (or
 * a float norm overflows), as pgvector
 */
PG_FUNCTION_INFO_V1(sparsevec_cosine_distance);
Datum
sparsevec_cosine_distance(PG_FUNCTION_ARGS)
{
	double		similarity;

	SPARSEVEC_PAIR(a, b);
	similarity = (double) SparsevecInnerProduct(a, b) /
		sqrt((double) SparsevecSquaredNorm(a) * (double) SparsevecSquaredNorm(b));
	PG_RETURN_FLOAT8(DistanceCosineFromSimilarity(similarity));
}

/* Manhattan distance: the <+> operator */
PG_FUNCTION_INFO_V1(sparsevec_l1_distance);
Datum
sparsevec_l1_distance(PG_FUNCTION_ARGS)
{
	SPARSEVEC_PAIR(a, b);
	PG_RETURN_FLOAT8((double) SparsevecL1Distance(a, b));
}

/* l2_norm(sparsevec) */
PG_FUNCTION_INFO_V1(sparsevec_l2_norm);
Datum
sparsevec_l2_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(SparsevecNorm(PG_GETARG_SPARSEVEC_P(0)));
}

/*
 * Scale to unit Euclidean length; a zero vector stays zero.  Elements that
 * become 0 in float4 are dropped, since a sparsevec stores no zeros.
 */
PG_FUNCTION_INFO_V1(sparsevec_l2_normalize);
Datum
sparsevec_l2_normalize(PG_FUNCTION_ARGS)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	const float *ax = SPARSEVEC_VALUES(a);
	double		norm = SparsevecNorm(a);
	float	   *scaled;
	int			nnz = 0;
	SparseVector *result;
	float	   *rx;

	if (norm == 0)
		PG_RETURN_SPARSEVEC_P(InitSparseVector(a->dim, 0));

	scaled = (float *) palloc(sizeof(float) * Max(a->nnz, 1));
	for (int i = 0; i < a->nnz; i++)
	{
		scaled[i] = (float) (ax[i] / norm);
		if (isinf(scaled[i]))
			float_overflow_error();
		if (scaled[i] != 0)
			nnz++;
	}

	result = InitSparseVector(a->dim, nnz);
	rx = SPARSEVEC_VALUES(result);
	for (int i = 0, j = 0; i < a->nnz; i++)
	{
		if (scaled[i] != 0)
		{
			result->indices[j] = a->indices[i];
			rx[j++] = scaled[i];
		}
	}
	pfree(scaled);
	PG_RETURN_SPARSEVEC_P(result);
}

/* ----------------------------------------------------------------
 *		Comparison (btree support)
 * ----------------------------------------------------------------
 */

/*
 * vector's order on the dense forms: walk the union of the two index lists
 * below the shorter dimension; the first index where the values differ
 * (a missing entry is 0) decides, else the shorter dimension sorts first.
 */
static int
SparsevecCompare(const SparseVector *a, const SparseVector *b)
{
	const float *ax = SPARSEVEC_VALUES(a);
	const float *bx = SPARSEVEC_VALUES(b);
	int			dim = Min(a->dim, b->dim);
	int			i = 0;
	int			j = 0;

	for (;;)
	{
		int32		ia = i < a->nnz ? a->indices[i] : INT32_MAX;
		int32		ib = j < b->nnz ? b->indices[j] : INT32_MAX;
		int32		k = Min(ia, ib);
		float		x = 0;
		float		y = 0;

		if (k >= dim)
			break;
		if (ia == k)
			x = ax[i++];
		if (ib == k)
			y = bx[j++];
		if (x < y)
			return -1;
		if (x > y)
			return 1;
	}
	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}

static int
SparsevecCompareArgs(FunctionCallInfo fcinfo)
{
	SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
	SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
	int			cmp = SparsevecCompare(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return cmp;
}

PG_FUNCTION_INFO_V1(sparsevec_cmp);
Datum
sparsevec_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(SparsevecCompareArgs(fcinfo));
}

PG_FUNCTION_INFO_V1(sparsevec_lt);
Datum
sparsevec_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SparsevecCompareArgs(fcinfo) < 0);
}

PG_FUNCTION_INFO_V1(sparsevec_le);
Datum
sparsevec_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SparsevecCompareArgs(fcinfo) <= 0);
}

PG_FUNCTION_INFO_V1(sparsevec_eq);
Datum
sparsevec_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SparsevecCompareArgs(fcinfo) == 0);
}

PG_FUNCTION_INFO_V1(sparsevec_ne);
Datum
sparsevec_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SparsevecCompareArgs(fcinfo) != 0);
}

PG_FUNCTION_INFO_V1(sparsevec_ge);
Datum
sparsevec_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SparsevecCompareArgs(fcinfo) >= 0);
}

PG_FUNCTION_INFO_V1(sparsevec_gt);
Datum
sparsevec_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(SparsevecCompareArgs(fcinfo) > 0);
}
