/*-------------------------------------------------------------------------
 *
 * vector_cast.c
 *	  Casts between vector and SQL arrays (pgvector-compatible)
 *
 * integer[], real[], double precision[] and numeric[] convert to vector
 * (assignment casts); vector converts to real[] (implicit cast).  Values
 * are checked exactly as in text input: dimension limits, the column's
 * typmod, and no NaN or infinity (a double too large for float4 becomes
 * infinity and is rejected there).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "vector/vector.h"

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
			/* Unreachable: the caller checked the type */
			elog(ERROR, "unexpected array element type %u", elemtype);
	}
	return 0.0f;				/* keep compiler quiet */
}

/* Cast integer[], real[], double precision[] or numeric[] to vector */
PG_FUNCTION_INFO_V1(array_to_vector);
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			nelems;
	Vector	   *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));

	if (ARR_HASNULL(array) && array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	if (elemtype != INT4OID && elemtype != FLOAT4OID &&
		elemtype != FLOAT8OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unsupported array type")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, &nelems);

	CheckVectorDim(nelems);
	CheckVectorExpectedDim(typmod, nelems);

	result = InitVector(nelems);
	for (int i = 0; i < nelems; i++)
	{
		result->x[i] = ArrayElementToFloat(elemtype, elems[i]);
		CheckVectorElement(result->x[i]);
	}

	pfree(elems);
	PG_FREE_IF_COPY(array, 0);
	PG_RETURN_VECTOR_P(result);
}

/* Cast vector to real[] */
PG_FUNCTION_INFO_V1(vector_to_float4);
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	Datum	   *datums = (Datum *) palloc(sizeof(Datum) * vec->dim);
	ArrayType  *result;

	for (int i = 0; i < vec->dim; i++)
		datums[i] = Float4GetDatum(vec->x[i]);

	/* float4 is pass-by-value since PostgreSQL 13 */
	result = construct_array(datums, vec->dim, FLOAT4OID, sizeof(float4),
							 true, TYPALIGN_INT);
	pfree(datums);
	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_POINTER(result);
}
