/*-------------------------------------------------------------------------
 *
 * vector_agg.c
 *	  avg(vector) and avg(halfvec): transition, combine and final functions
 *
 * The state is pgvector's float8[]: element 0 is the number of values
 * accumulated, elements 1..dim the running sums in double precision.  The
 * initial state is '{0}' (no values yet, dimension unknown), so one
 * aggregate works for every dimension, and a plain array type needs no
 * serialisation functions for parallel aggregation.  Both types share the
 * state and the combine function (halfvec_combine is vector_combine, as in
 * pgvector); sum() needs no code here: it is vector_add / halfvec_add as
 * both transition and combine function.
 *
 * The functions are callable from SQL, so they check the state they are
 * given and answer exactly as pgvector 0.8.6 does ("vector_avg: expected
 * state array", dimension errors), with one deliberate difference: inside
 * an aggregate, two empty partial states (two parallel workers that saw no
 * rows) combine to an empty state, where pgvector 0.8.6 raises "vector must
 * have at least 1 dimension" (docs/conformance.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/float.h"
#include "vector/halfvec.h"
#include "vector/vector.h"
#include "vector/vectypes.h"

/* Number of dimensions a state array accumulates (0: none yet) */
#define STATE_DIMS(arr) (ARR_DIMS(arr)[0] - 1)

/*
 * Return the values of a state array after making sure it is one: a
 * one-dimensional float8 array without nulls, of at least one element.
 */
static float8 *
CheckStateArray(ArrayType *statearray, const char *caller)
{
	if (ARR_NDIM(statearray) != 1 ||
		ARR_DIMS(statearray)[0] < 1 ||
		ARR_HASNULL(statearray) ||
		ARR_ELEMTYPE(statearray) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: expected state array", caller)));
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

/*
 * Add one value (its elements widened to double) to a state.  The first
 * value gives the state its dimension; later ones must match it.  Inside an
 * aggregate the state belongs to us and is updated in place (as
 * float8_accum does); called directly, a new array is built.
 */
static ArrayType *
Accumulate(FunctionCallInfo fcinfo, ArrayType *statearray, const char *caller,
		   const float8 *x, int dim)
{
	float8	   *state = CheckStateArray(statearray, caller);
	int			statedim = STATE_DIMS(statearray);
	float8	   *sums;

	if (statedim == 0)
		return MakeStateArray(state[0] + 1, x, dim);

	CheckExpectedDim(statedim, dim);

	if (AggCheckCallContext(fcinfo, NULL))
	{
		state[0] += 1;
		for (int i = 0; i < dim; i++)
			state[i + 1] += x[i];
		CheckSums(state + 1, dim);
		return statearray;
	}

	sums = (float8 *) palloc(sizeof(float8) * dim);
	for (int i = 0; i < dim; i++)
		sums[i] = state[i + 1] + x[i];
	CheckSums(sums, dim);
	return MakeStateArray(state[0] + 1, sums, dim);
}

/* Transition function of avg(vector) */
PG_FUNCTION_INFO_V1(vector_accum);
Datum
vector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *statearray = PG_GETARG_ARRAYTYPE_P(0);
	Vector	   *newval = PG_GETARG_VECTOR_P(1);
	float8	   *x = (float8 *) palloc(sizeof(float8) * newval->dim);

	for (int i = 0; i < newval->dim; i++)
		x[i] = newval->x[i];
	PG_RETURN_ARRAYTYPE_P(Accumulate(fcinfo, statearray, "vector_accum", x, newval->dim));
}

/* Transition function of avg(halfvec) */
PG_FUNCTION_INFO_V1(halfvec_accum);
Datum
halfvec_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *statearray = PG_GETARG_ARRAYTYPE_P(0);
	HalfVector *newval = PG_GETARG_HALFVEC_P(1);
	float8	   *x = (float8 *) palloc(sizeof(float8) * newval->dim);

	for (int i = 0; i < newval->dim; i++)
		x[i] = HalfToFloat4(newval->x[i]);
	PG_RETURN_ARRAYTYPE_P(Accumulate(fcinfo, statearray, "halfvec_accum", x, newval->dim));
}

/*
 * Combine function of both avg aggregates: merge two partial states.  A
 * side that counted no values contributes nothing; the result takes the
 * other side's dimension, which must be a valid one.
 */
PG_FUNCTION_INFO_V1(vector_combine);
Datum
vector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *statearray1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *statearray2 = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *state1 = CheckStateArray(statearray1, "vector_combine");
	float8	   *state2 = CheckStateArray(statearray2, "vector_combine");
	int			dim1 = STATE_DIMS(statearray1);
	int			dim2 = STATE_DIMS(statearray2);
	float8	   *sums;

	/*
	 * In an aggregate, two partial states without values (workers that saw
	 * no rows) are a normal case: the result is still empty.
	 */
	if (dim1 == 0 && dim2 == 0 && AggCheckCallContext(fcinfo, NULL))
		PG_RETURN_ARRAYTYPE_P(MakeStateArray(state1[0] + state2[0], NULL, 0));

	if (state1[0] == 0)
	{
		CheckVectorDim(dim2);
		PG_RETURN_ARRAYTYPE_P(MakeStateArray(state2[0], state2 + 1, dim2));
	}
	if (state2[0] == 0)
	{
		CheckVectorDim(dim1);
		PG_RETURN_ARRAYTYPE_P(MakeStateArray(state1[0], state1 + 1, dim1));
	}

	CheckVectorDim(dim1);
	CheckExpectedDim(dim1, dim2);
	sums = (float8 *) palloc(sizeof(float8) * dim1);
	for (int i = 0; i < dim1; i++)
		sums[i] = state1[i + 1] + state2[i + 1];
	CheckSums(sums, dim1);
	PG_RETURN_ARRAYTYPE_P(MakeStateArray(state1[0] + state2[0], sums, dim1));
}

/*
 * The state's count and dimension for a final function, after checks;
 * returns false when no values were aggregated (avg is then NULL).
 */
static bool
FinalState(ArrayType *statearray, const char *caller, float8 **state, int *dim)
{
	*state = CheckStateArray(statearray, caller);
	*dim = STATE_DIMS(statearray);
	return (*state)[0] != 0;
}

/* Final function of avg(vector): the mean, or NULL without values */
PG_FUNCTION_INFO_V1(vector_avg);
Datum
vector_avg(PG_FUNCTION_ARGS)
{
	float8	   *state;
	int			dim;
	Vector	   *result;

	if (!FinalState(PG_GETARG_ARRAYTYPE_P(0), "vector_avg", &state, &dim))
		PG_RETURN_NULL();

	CheckVectorDim(dim);
	result = InitVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (float) (state[i + 1] / state[0]);
		CheckVectorElement(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

/* Final function of avg(halfvec): the mean, or NULL without values */
PG_FUNCTION_INFO_V1(halfvec_avg);
Datum
halfvec_avg(PG_FUNCTION_ARGS)
{
	float8	   *state;
	int			dim;
	HalfVector *result;

	if (!FinalState(PG_GETARG_ARRAYTYPE_P(0), "halfvec_avg", &state, &dim))
		PG_RETURN_NULL();

	CheckHalfvecDim(dim);
	result = InitHalfVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = Float4ToHalfChecked((float) (state[i + 1] / state[0]));
		CheckHalfvecElement(result->x[i]);
	}
	PG_RETURN_HALFVEC_P(result);
}
