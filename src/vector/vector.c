/*-------------------------------------------------------------------------
 *
 * vector.c
 *	  The vector type: text and binary I/O, typmod, distance functions
 *
 * Formats and error codes follow pgvector byte for byte, so that every
 * pgvector client library reads and writes semvec vectors unchanged.  The
 * parsing and decoding themselves are vector/vecparse.c's (pure C, fuzzed).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "vector/distance.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "vector/vector.h"
#include "vector/vectypes.h"

/* Raise an error unless dim is within 1..VECTOR_MAX_DIM */
void
CheckVectorDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions", VECTOR_MAX_DIM)));
}

/* Raise an error unless typmod is -1 or equal to dim */
void
CheckVectorExpectedDim(int32 typmod, int dim)
{
	CheckExpectedDim(typmod, dim);
}

/* Raise an error unless two vectors have the same dimension */
void
CheckVectorSameDim(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

/* Raise an error if an element is NaN or infinite */
void
CheckVectorElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}

/* Allocate a zeroed vector */
Vector *
InitVector(int dim)
{
	Size		size = VECTOR_SIZE(dim);
	Vector	   *result = (Vector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

/* ----------------------------------------------------------------
 *		Input/Output routines
 * ----------------------------------------------------------------
 */

/* Parse the text form [x1,x2,...] (pgvector's grammar and errors) */
PG_FUNCTION_INFO_V1(vector_in);
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	float		x[VECTOR_MAX_DIM];
	int			dim;
	VecError	err;
	Vector	   *result;

	if (VecParseDense(lit, VEC_ELEM_FLOAT4, typmod, x, &dim, &err) != VEC_OK)
		VecReportError(&err, "vector", lit);

	result = InitVector(dim);
	memcpy(result->x, x, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}

/* Print [x1,x2,...] with the shortest round-tripping decimal per element */
PG_FUNCTION_INFO_V1(vector_out);
Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *vector = PG_GETARG_VECTOR_P(0);
	int			dim = vector->dim;
	char	   *buf;
	char	   *ptr;

	/*
	 * Each element needs at most FLOAT_SHORTEST_DECIMAL_LEN - 1 characters,
	 * plus one separator; add the brackets and the terminator.
	 */
	buf = (char *) palloc(FLOAT_SHORTEST_DECIMAL_LEN * dim + 2);
	ptr = buf;

	*ptr++ = '[';
	for (int i = 0; i < dim; i++)
	{
		if (i > 0)
			*ptr++ = ',';
		ptr += float_to_shortest_decimal_bufn(vector->x[i], ptr);
	}
	*ptr++ = ']';
	*ptr = '\0';

	PG_FREE_IF_COPY(vector, 0);
	PG_RETURN_CSTRING(buf);
}

/* Parse the n of vector(n): the typmod is the dimension itself */
PG_FUNCTION_INFO_V1(vector_typmod_in);
Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VecTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "vector", VECTOR_MAX_DIM));
}

/* Read the binary form: int16 dim, int16 unused = 0, dim float4s */
PG_FUNCTION_INFO_V1(vector_recv);
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	float		x[VECTOR_MAX_DIM];
	int			dim;
	VecError	err;
	Vector	   *result;

	if (VecRecvDense(buf->data, buf->len, &buf->cursor, VEC_ELEM_FLOAT4, typmod,
					 x, &dim, &err) != VEC_OK)
		VecReportError(&err, "vector", NULL);

	result = InitVector(dim);
	memcpy(result->x, x, sizeof(float) * dim);
	PG_RETURN_VECTOR_P(result);
}

/* Write the binary form read by vector_recv */
PG_FUNCTION_INFO_V1(vector_send);
Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint(&buf, vec->dim, sizeof(int16));
	pq_sendint(&buf, vec->unused, sizeof(int16));
	for (int i = 0; i < vec->dim; i++)
		pq_sendfloat4(&buf, vec->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Length-coercion cast vector -> vector(n) */
PG_FUNCTION_INFO_V1(vector);
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	int32		typmod = PG_GETARG_INT32(1);

	CheckVectorExpectedDim(typmod, vec->dim);
	PG_RETURN_POINTER(vec);
}

/* ----------------------------------------------------------------
 *		Distance functions
 * ----------------------------------------------------------------
 */

/* Euclidean distance: the <-> operator */
PG_FUNCTION_INFO_V1(l2_distance);
Datum
l2_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckVectorSameDim(a, b);
	PG_RETURN_FLOAT8(sqrt((double) DistanceL2Squared(a->dim, a->x, b->x)));
}

/* Squared L2 distance: the hnsw l2 support function (cheaper, same order) */
PG_FUNCTION_INFO_V1(vector_l2_squared_distance);
Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckVectorSameDim(a, b);
	PG_RETURN_FLOAT8((double) DistanceL2Squared(a->dim, a->x, b->x));
}

/* Inner product (positive; <#> negates it) */
PG_FUNCTION_INFO_V1(inner_product);
Datum
inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckVectorSameDim(a, b);
	PG_RETURN_FLOAT8((double) DistanceInnerProduct(a->dim, a->x, b->x));
}

/* Negative inner product: the <#> operator, so smaller is closer */
PG_FUNCTION_INFO_V1(vector_negative_inner_product);
Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckVectorSameDim(a, b);
	PG_RETURN_FLOAT8((double) -DistanceInnerProduct(a->dim, a->x, b->x));
}

/* Cosine distance; NaN when either vector is zero, as in pgvector */
PG_FUNCTION_INFO_V1(cosine_distance);
Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	double		similarity;

	CheckVectorSameDim(a, b);
	similarity = DistanceCosineSimilarity(a->dim, a->x, b->x);
	PG_RETURN_FLOAT8(DistanceCosineFromSimilarity(similarity));
}

/* Manhattan distance: the <+> operator */
PG_FUNCTION_INFO_V1(l1_distance);
Datum
l1_distance(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);

	CheckVectorSameDim(a, b);
	PG_RETURN_FLOAT8((double) DistanceL1(a->dim, a->x, b->x));
}

/* Number of dimensions */
PG_FUNCTION_INFO_V1(vector_dims);
Datum
vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);

	PG_RETURN_INT32(a->dim);
}

/* Euclidean norm, accumulated in double precision as pgvector does */
PG_FUNCTION_INFO_V1(vector_norm);
Datum
vector_norm(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	double		norm = 0.0;

	for (int i = 0; i < a->dim; i++)
		norm += (double) a->x[i] * (double) a->x[i];
	PG_RETURN_FLOAT8(sqrt(norm));
}
