/*-------------------------------------------------------------------------
 *
 * halfvec.c
 *	  The halfvec type: text and binary I/O, typmod, length coercion
 *
 * A halfvec is a vector of IEEE binary16 elements: half the storage of a
 * vector, about 3 significant decimal digits, magnitudes up to 65504.
 * Formats and errors follow pgvector 0.8.6 byte for byte:
 *
 *	 text	 "[1,2.5,-0.33325195]": input as for vector (each element read
 *			 as a float4, then rounded to the nearest half; finite values
 *			 that round to infinity are out of range), output the shortest
 *			 float4 text of each widened element
 *	 binary	 int16 dim, int16 unused = 0, dim half bit patterns (big-endian)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "vector/halfvec.h"
#include "vector/vecparse.h"
#include "vector/vectypes.h"

/* Raise an error unless dim is within 1..HALFVEC_MAX_DIM */
void
CheckHalfvecDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("halfvec must have at least 1 dimension")));
	if (dim > HALFVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("halfvec cannot have more than %d dimensions", HALFVEC_MAX_DIM)));
}

/* Raise an error unless two halfvecs have the same dimension */
void
CheckHalfvecSameDim(const HalfVector *a, const HalfVector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different halfvec dimensions %d and %d", a->dim, b->dim)));
}

/* Raise an error if an element is NaN or infinite */
void
CheckHalfvecElement(half value)
{
	if (HalfIsNan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in halfvec")));
	if (HalfIsInf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in halfvec")));
}

/* Round to a half; a finite value too large for one is out of range */
half
Float4ToHalfChecked(float value)
{
	half		result = Float4ToHalf(value);

	if (HalfIsInf(result) && !isinf(value))
	{
		char		buf[FLOAT_SHORTEST_DECIMAL_LEN];

		float_to_shortest_decimal_buf(value, buf);
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("\"%s\" is out of range for type halfvec", buf)));
	}
	return result;
}

/* Allocate a zeroed halfvec */
HalfVector *
InitHalfVector(int dim)
{
	Size		size = HALFVEC_SIZE(dim);
	HalfVector *result = (HalfVector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

/* Parse the text form [x1,x2,...] */
PG_FUNCTION_INFO_V1(halfvec_in);
Datum
halfvec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	half		x[HALFVEC_MAX_DIM];
	int			dim;
	VecError	err;
	HalfVector *result;

	if (VecParseDense(lit, VEC_ELEM_HALF, typmod, x, &dim, &err) != VEC_OK)
		VecReportError(&err, "halfvec", lit);

	result = InitHalfVector(dim);
	memcpy(result->x, x, sizeof(half) * dim);
	PG_RETURN_HALFVEC_P(result);
}

/* Print [x1,x2,...]: the shortest float4 text of each element */
PG_FUNCTION_INFO_V1(halfvec_out);
Datum
halfvec_out(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	char	   *buf = (char *) palloc(FLOAT_SHORTEST_DECIMAL_LEN * vec->dim + 2);
	char	   *ptr = buf;

	*ptr++ = '[';
	for (int i = 0; i < vec->dim; i++)
	{
		if (i > 0)
			*ptr++ = ',';
		ptr += float_to_shortest_decimal_bufn(HalfToFloat4(vec->x[i]), ptr);
	}
	*ptr++ = ']';
	*ptr = '\0';

	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_CSTRING(buf);
}

/* Parse the n of halfvec(n) */
PG_FUNCTION_INFO_V1(halfvec_typmod_in);
Datum
halfvec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VecTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "halfvec", HALFVEC_MAX_DIM));
}

/* Read the binary form: int16 dim, int16 unused = 0, dim halves */
PG_FUNCTION_INFO_V1(halfvec_recv);
Datum
halfvec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	half		x[HALFVEC_MAX_DIM];
	int			dim;
	VecError	err;
	HalfVector *result;

	if (VecRecvDense(buf->data, buf->len, &buf->cursor, VEC_ELEM_HALF, typmod,
					 x, &dim, &err) != VEC_OK)
		VecReportError(&err, "halfvec", NULL);

	result = InitHalfVector(dim);
	memcpy(result->x, x, sizeof(half) * dim);
	PG_RETURN_HALFVEC_P(result);
}

/* Write the binary form read by halfvec_recv */
PG_FUNCTION_INFO_V1(halfvec_send);
Datum
halfvec_send(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, vec->dim);
	pq_sendint16(&buf, vec->unused);
	for (int i = 0; i < vec->dim; i++)
		pq_sendint16(&buf, vec->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Length-coercion cast halfvec -> halfvec(n) */
PG_FUNCTION_INFO_V1(halfvec);
Datum
halfvec(PG_FUNCTION_ARGS)
{
	HalfVector *vec = PG_GETARG_HALFVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), vec->dim);
	PG_RETURN_POINTER(vec);
}
