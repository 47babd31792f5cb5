/*-------------------------------------------------------------------------
 *
 * vector_cast.c
 *	  Casts between vector, halfvec, sparsevec and SQL arrays
 *	  (pgvector-compatible)
 *
 *	 integer[], real[], double precision[], numeric[] -> vector, halfvec,
 *		 sparsevec (assignment casts)
 *	 vector -> real[] (implicit), halfvec -> real[] (assignment)
 *	 vector -> halfvec, vector -> sparsevec, halfvec -> sparsevec (implicit)
 *	 halfvec -> vector, sparsevec -> vector, sparsevec -> halfvec (assignment)
 *
 * Every cast checks the target's dimension limits and the column's typmod
 * first, then the values exactly as text input would: no NaN or infinity
 * (a double too large for float4 becomes infinity and is rejected there), a
 * finite value too large for a half is out of range, and a sparsevec keeps
 * only the non-zero elements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "vector/halfvec.h"
#include "vector/sparsevec.h"
#include "vector/vector.h"
#include "vector/vectypes.h"

/* Convert one array element of a supported type to float4 */
static float
ArrayElementToFloat(Oid elemtype, Datum value)
{
	switch (elemtype)
	{
		case INT4OID:
			return (float) DatumGetInt32(value);
		case FLOAT4OID:
			return DatumGetFloat4(value);
		case FLOAT8OID:
			return (float) DatumGetFloat8(value);
		case NUMERICOID:
			return DatumGetFloat4(DirectFunctionCall1(numeric_float4, value));
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("unsupported array type")));
	}
	return 0.0f;				/* keep compiler quiet */
}

/*
 * The elements of a one-dimensional array without nulls: the checks every
 * array cast makes first.  The values are converted later (ArrayFloats),
 * after the target type has checked the number of elements.
 */
static Datum *
ArrayElements(ArrayType *array, int *nelems)
{
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));

	if (ARR_HASNULL(array) && array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, nelems);
	return elems;
}

/* The array's n elements as float4s */
static float *
ArrayFloats(ArrayType *array, Datum *elems, int n)
{
	float	   *x = (float *) palloc(sizeof(float) * Max(n, 1));

	for (int i = 0; i < n; i++)
		x[i] = ArrayElementToFloat(ARR_ELEMTYPE(array), elems[i]);
	return x;
}

/* Build a real[] from n floats */
static ArrayType *
Float4Array(const float *x, int n)
{
	Datum	   *datums = (Datum *) palloc(sizeof(Datum) * Max(n, 1));
	ArrayType  *result;

	for (int i = 0; i < n; i++)
		datums[i] = Float4GetDatum(x[i]);
	/* float4 is pass-by-value since PostgreSQL 13 */
	result = construct_array(datums, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(datums);
	return result;
}

/* ----------------------------------------------------------------
 *		Arrays -> vector types
 * ----------------------------------------------------------------
 */

/* integer[], real[], double precision[] or numeric[] to vector */
PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int			n;
	Datum	   *elems = ArrayElements(array, &n);
	float	   *x;
	Vector	   *result;

	CheckVectorDim(n);
	CheckVectorExpectedDim(PG_GETARG_INT32(1), n);

	x = ArrayFloats(array, elems, n);
	result = InitVector(n);
	for (int i = 0; i < n; i++)
	{
		result->x[i] = x[i];
		CheckVectorElement(x[i]);
	}
	PG_FREE_IF_COPY(array, 0);
	PG_RETURN_VECTOR_P(result);
}

/* integer[], real[], double precision[] or numeric[] to halfvec */
PG_FUNCTION_INFO_V1(array_to_halfvec);
Datum
array_to_halfvec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int			n;
	Datum	   *elems = ArrayElements(array, &n);
	float	   *x;
	HalfVector *result;

	CheckHalfvecDim(n);
	CheckExpectedDim(PG_GETARG_INT32(1), n);

	x = ArrayFloats(array, elems, n);
	result = InitHalfVector(n);
	for (int i = 0; i < n; i++)
		result->x[i] = Float4ToHalfChecked(x[i]);
	for (int i = 0; i < n; i++)
		CheckHalfvecElement(result->x[i]);
	PG_FREE_IF_COPY(array, 0);
	PG_RETURN_HALFVEC_P(result);
}

/* integer[], real[], double precision[] or numeric[] to sparsevec */
PG_FUNCTION_INFO_V1(array_to_sparsevec);
Datum
array_to_sparsevec(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int			n;
	Datum	   *elems = ArrayElements(array, &n);
	float	   *x;
	int			nnz = 0;
	SparseVector *result;
	float	   *values;

	CheckSparsevecDim(n);
	CheckExpectedDim(PG_GETARG_INT32(1), n);

	x = ArrayFloats(array, elems, n);
	/* NaN and infinity count as non-zero here and are rejected below */
	for (int i = 0; i < n; i++)
	{
		if (x[i] != 0)
			nnz++;
	}
	CheckSparsevecNnz(nnz, n);

	result = InitSparseVector(n, nnz);
	values = SPARSEVEC_VALUES(result);
	for (int i = 0, j = 0; i < n; i++)
	{
		if (x[i] != 0)
		{
			result->indices[j] = i;
			values[j++] = x[i];
		}
	}
	for (int j = 0; j < nnz; j++)
		CheckSparsevecElement(values[j]);
	PG_FREE_IF_COPY(array, 0);
	PG_RETURN_SPARSEVEC_P(result);
}

/* ----------------------------------------------------------------
 *		Vector types -> real[]
 * ----------------------------------------------------------------
 */

/* vector to real[] */
PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	ArrayType  *result = Float4Array(vec->x, vec->dim);

	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_POINTER(result);
}

/* halfvec to real[] */
PG_FUNCTION_INFO_V1(halfvec_to_float4);
Datum
halfvec_to_float4(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	float	   *x = (float *) palloc(sizeof(float) * vec->dim);

	for (int i = 0; i < vec->dim; i++)
		x[i] = HalfToFloat4(vec->x[i]);
	PG_RETURN_POINTER(Float4Array(x, vec->dim));
}

/* ----------------------------------------------------------------
 *		Between the vector types
 * ----------------------------------------------------------------
 */

/* vector to halfvec: each element rounded to the nearest half */
PG_FUNCTION_INFO_V1(vector_to_halfvec);
Datum
vector_to_halfvec(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	HalfVector *result;

	CheckHalfvecDim(vec->dim);
	CheckExpectedDim(PG_GETARG_INT32(1), vec->dim);
	result = InitHalfVector(vec->dim);
	for (int i = 0; i < vec->dim; i++)
		result->x[i] = Float4ToHalfChecked(vec->x[i]);
	PG_RETURN_HALFVEC_P(result);
}

/* halfvec to vector (exact) */
PG_FUNCTION_INFO_V1(halfvec_to_vector);
Datum
halfvec_to_vector(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	Vector	   *result;

	CheckVectorDim(vec->dim);
	CheckExpectedDim(PG_GETARG_INT32(1), vec->dim);
	result = InitVector(vec->dim);
	for (int i = 0; i < vec->dim; i++)
		result->x[i] = HalfToFloat4(vec->x[i]);
	PG_RETURN_VECTOR_P(result);
}

/* A sparsevec holding the non-zero elements of dim floats */
static SparseVector *
DenseToSparse(const float *x, int dim)
{
	int			nnz = 0;
	SparseVector *result;
	float	   *values;

	for (int i = 0; i < dim; i++)
	{
		if (x[i] != 0)
			nnz++;
	}
	CheckSparsevecNnz(nnz, dim);
	result = InitSparseVector(dim, nnz);
	values = SPARSEVEC_VALUES(result);
	for (int i = 0, j = 0; i < dim; i++)
	{
		if (x[i] != 0)
		{
			result->indices[j] = i;
			values[j++] = x[i];
		}
	}
	return result;
}

/* vector to sparsevec */
PG_FUNCTION_INFO_V1(vector_to_sparsevec);
Datum
vector_to_sparsevec(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);

	CheckSparsevecDim(vec->dim);
	CheckExpectedDim(PG_GETARG_INT32(1), vec->dim);
	PG_RETURN_SPARSEVEC_P(DenseToSparse(vec->x, vec->dim));
}

/* halfvec to sparsevec */
PG_FUNCTION_INFO_V1(halfvec_to_sparsevec);
Datum
halfvec_to_sparsevec(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	float	   *x = (float *) palloc(sizeof(float) * vec->dim);

	CheckSparsevecDim(vec->dim);
	CheckExpectedDim(PG_GETARG_INT32(1), vec->dim);
	for (int i = 0; i < vec->dim; i++)
		x[i] = HalfToFloat4(vec->x[i]);
	PG_RETURN_SPARSEVEC_P(DenseToSparse(x, vec->dim));
}

/*
 * Index i of a stored sparsevec, verified to lie within its dimension
 * before it is used to write into a dense result (input functions ensure
 * it; a damaged value must not write out of bounds)
 */
static int32
SparseIndexChecked(const SparseVector *svec, int i)
{
	if (svec->indices[i] < 0 || svec->indices[i] >= svec->dim)
		elog(ERROR, "sparsevec index %d out of bounds for dimension %d",
			 svec->indices[i], svec->dim);
	return svec->indices[i];
}

/* sparsevec to vector: the dimension must fit a vector */
PG_FUNCTION_INFO_V1(sparsevec_to_vector);
Datum
sparsevec_to_vector(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float	   *values = SPARSEVEC_VALUES(svec);
	Vector	   *result;

	CheckVectorDim(svec->dim);
	CheckExpectedDim(PG_GETARG_INT32(1), svec->dim);
	result = InitVector(svec->dim);
	for (int i = 0; i < svec->nnz; i++)
		result->x[SparseIndexChecked(svec, i)] = values[i];
	PG_RETURN_VECTOR_P(result);
}

/* sparsevec to halfvec: the dimension must fit, values are rounded */
PG_FUNCTION_INFO_V1(sparsevec_to_halfvec);
Datum
sparsevec_to_halfvec(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float	   *values = SPARSEVEC_VALUES(svec);
	HalfVector *result;

	CheckHalfvecDim(svec->dim);
	CheckExpectedDim(PG_GETARG_INT32(1), svec->dim);
	result = InitHalfVector(svec->dim);
	for (int i = 0; i < svec->nnz; i++)
		result->x[SparseIndexChecked(svec, i)] = Float4ToHalfChecked(values[i]);
	PG_RETURN_HALFVEC_P(result);
}
