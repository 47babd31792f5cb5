/*-------------------------------------------------------------------------
 *
 * vector_agg.c
 *	  avg(vector): transition, combine and final functions
 *
 * The state is pgvector's float8[]: element 0 is the number of vectors
 * accumulated, elements 1..dim the running sums in double precision.  The
 * initial state is '{0}' (no vectors yet, dimension unknown), so one
 * aggregate works for every dimension, and a plain array type needs no
 * serialisation functions for parallel aggregation.  sum(vector) needs no
 * code here: it is vector_add as both transition and combine function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/float.h"
#include "vector/vector.h"

/* Number of dimensions a state array accumulates (0: none yet) */
#define STATE_DIMS(arr) (ARR_DIMS(arr)[0] - 1)

/*
 * Return the values of a state array after making sure it is one: the
 * functions are callable from SQL, so a bad array must be an error, not a
 * crash.
 */
static float8 *
CheckStateArray(ArrayType *statearray)
{
	if (ARR_NDIM(statearray) != 1 ||
		ARR_DIMS(statearray)[0] < 1 ||
		ARR_DIMS(statearray)[0] > VECTOR_MAX_DIM + 1 ||
		ARR_HASNULL(statearray) ||
		ARR_ELEMTYPE(statearray) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid vector aggregate state"),
				 errdetail("The state must be a one-dimensional float8 array without nulls of at most %d elements.",
						   VECTOR_MAX_DIM + 1)));
	return (float8 *) ARR_DATA_PTR(statearray);
}

/* Build a new state array from n and dim sums */
static ArrayType *
MakeStateArray(float8 n, const float8 *sums, int dim)
{
	Datum	   *datums = (Datum *) palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *result;

	datums[0] = Float8GetDatum(n);
	for (int i = 0; i < dim; i++)
		datums[i + 1] = Float8GetDatum(sums[i]);
	result = construct_array(datums, dim + 1, FLOAT8OID, sizeof(float8),
							 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(datums);
	return result;
}

/* Raise the float overflow error if a running sum became infinite */
static void
CheckSums(const float8 *sums, int dim)
{
	for (int i = 0; i < dim; i++)
	{
		if (isinf(sums[i]))
			float_overflow_error();
	}
}

/* Transition function: add one vector to the state */
PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *statearray = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *newval = PG_GETARG_VECTOR_P(1);
	float8	   *state = CheckStateArray(statearray);
	int			dim = newval->dim;
	float8	   *sums;

	if (STATE_DIMS(statearray) == 0)
	{
		/* First vector: the state takes its dimension */
		sums = (float8 *) palloc(sizeof(float8) * dim);
		for (int i = 0; i < dim; i++)
			sums[i] = newval->x[i];
		PG_RETURN_ARRAYTYPE_P(MakeStateArray(state[0] + 1, sums, dim));
	}

	CheckVectorExpectedDim(STATE_DIMS(statearray), dim);

	/*
	 * Inside an aggregate the state belongs to us and can be updated in
	 * place (as float8_accum does); called directly, build a new array.
	 */
	if (AggCheckCallContext(fcinfo, NULL))
	{
		state[0] += 1;
		for (int i = 0; i < dim; i++)
			state[i + 1] += newval->x[i];
		CheckSums(state + 1, dim);
		PG_RETURN_ARRAYTYPE_P(statearray);
	}

	sums = (float8 *) palloc(sizeof(float8) * dim);
	for (int i = 0; i < dim; i++)
		sums[i] = state[i + 1] + newval->x[i];
	CheckSums(sums, dim);
	PG_RETURN_ARRAYTYPE_P(MakeStateArray(state[0] + 1, sums, dim));
}

/* Combine function: merge two partial states (parallel aggregation) */
PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *statearray1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *statearray2 = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *state1 = CheckStateArray(statearray1);
	float8	   *state2 = CheckStateArray(statearray2);
	int			dim1 = STATE_DIMS(statearray1);
	int			dim2 = STATE_DIMS(statearray2);
	float8	   *sums;

	/* An empty side contributes nothing; return a copy of the other */
	if (state2[0] == 0 || dim2 == 0)
		PG_RETURN_ARRAYTYPE_P(MakeStateArray(state1[0], state1 + 1, dim1));
	if (state1[0] == 0 || dim1 == 0)
		PG_RETURN_ARRAYTYPE_P(MakeStateArray(state2[0], state2 + 1, dim2));

	CheckVectorExpectedDim(dim1, dim2);
	sums = (float8 *) palloc(sizeof(float8) * dim1);
	for (int i = 0; i < dim1; i++)
		sums[i] = state1[i + 1] + state2[i + 1];
	CheckSums(sums, dim1);
	PG_RETURN_ARRAYTYPE_P(MakeStateArray(state1[0] + state2[0], sums, dim1));
}

/* Final function: the mean vector, or NULL when no rows were aggregated */
PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *statearray = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *state = CheckStateArray(statearray);
	int			dim = STATE_DIMS(statearray);
	float8		n = state[0];
	Vector	   *result;

	if (n == 0 || dim == 0)
		PG_RETURN_NULL();

	CheckVectorDim(dim);
	result = InitVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (float) (state[i + 1] / n);
		CheckVectorElement(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}
