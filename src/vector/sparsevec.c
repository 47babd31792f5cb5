/*-------------------------------------------------------------------------
 *
 * sparsevec.c
 *	  The sparsevec type: text and binary I/O, typmod, length coercion
 *
 * A sparsevec stores only its non-zero elements: up to 16,000 of them, in
 * up to 1,000,000,000 dimensions.  Formats and errors follow pgvector 0.8.6
 * byte for byte:
 *
 *	 text	 "{1:1.5,3:-2}/5": 1-based indices in any order (sorted on
 *			 input; duplicates are an error), zero values dropped, the
 *			 dimension after the slash; output sorted, shortest float4 text,
 *			 no spaces, "{}/5" when every element is zero
 *	 binary	 int32 dim, int32 nnz, int32 unused = 0, nnz 0-based int32
 *			 indices (ascending), nnz float4 values (non-zero), big-endian
 *
 * The parsing and decoding are vector/vecparse.c's (pure C, fuzzed).
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
#include "vector/sparsevec.h"
#include "vector/vectypes.h"

/* Raise an error unless dim is within 1..SPARSEVEC_MAX_DIM */
void
CheckSparsevecDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec must have at least 1 dimension")));
	if (dim > SPARSEVEC_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d dimensions", SPARSEVEC_MAX_DIM)));
}

/* Raise an error unless nnz fits the type and the dimension */
void
CheckSparsevecNnz(int nnz, int dim)
{
	if (nnz < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("sparsevec cannot have negative number of elements")));
	if (nnz > SPARSEVEC_MAX_NNZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more than %d non-zero elements", SPARSEVEC_MAX_NNZ)));
	if (nnz > dim)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparsevec cannot have more elements than dimensions")));
}

/* Raise an error if a value is NaN or infinite */
void
CheckSparsevecElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in sparsevec")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in sparsevec")));
}

/* Allocate a zeroed sparsevec */
SparseVector *
InitSparseVector(int dim, int nnz)
{
	Size		size = SPARSEVEC_SIZE(nnz);
	SparseVector *result = (SparseVector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	result->nnz = nnz;
	return result;
}

/* Parse the text form {i:x,...}/dim */
PG_FUNCTION_INFO_V1(sparsevec_in);
Datum
sparsevec_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			maxnnz = VecSparseMaxNnz(lit);
	int32	   *indices;
	float	   *values;
	int			nnz;
	int			dim;
	VecError	err;
	SparseVector *result;

	/* Too many entries is reported by the parser before it needs space */
	maxnnz = Min(maxnnz, SPARSEVEC_MAX_NNZ);
	indices = (int32 *) palloc(sizeof(int32) * maxnnz);
	values = (float *) palloc(sizeof(float) * maxnnz);

	if (VecParseSparse(lit, typmod, indices, values, &nnz, &dim, &err) != VEC_OK)
		VecReportError(&err, "sparsevec", lit);

	result = InitSparseVector(dim, nnz);
	memcpy(result->indices, indices, sizeof(int32) * nnz);
	memcpy(SPARSEVEC_VALUES(result), values, sizeof(float) * nnz);
	pfree(indices);
	pfree(values);
	PG_RETURN_SPARSEVEC_P(result);
}

/* Print {i:x,...}/dim with 1-based indices */
PG_FUNCTION_INFO_V1(sparsevec_out);
Datum
sparsevec_out(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float	   *values = SPARSEVEC_VALUES(svec);
	/* per entry: index (10 digits), ':', value, ','; then "{}/", dim, NUL */
	char	   *buf = (char *) palloc((12 + FLOAT_SHORTEST_DECIMAL_LEN) * (Size) svec->nnz + 16);
	char	   *ptr = buf;

	*ptr++ = '{';
	for (int i = 0; i < svec->nnz; i++)
	{
		if (i > 0)
			*ptr++ = ',';
		ptr += pg_ltoa(svec->indices[i] + 1, ptr);
		*ptr++ = ':';
		ptr += float_to_shortest_decimal_bufn(values[i], ptr);
	}
	*ptr++ = '}';
	*ptr++ = '/';
	ptr += pg_ltoa(svec->dim, ptr);
	*ptr = '\0';

	PG_FREE_IF_COPY(svec, 0);
	PG_RETURN_CSTRING(buf);
}

/* Parse the n of sparsevec(n) */
PG_FUNCTION_INFO_V1(sparsevec_typmod_in);
Datum
sparsevec_typmod_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(VecTypmodIn(PG_GETARG_ARRAYTYPE_P(0), "sparsevec", SPARSEVEC_MAX_DIM));
}

/* Read the binary form (header, indices, values) */
PG_FUNCTION_INFO_V1(sparsevec_recv);
Datum
sparsevec_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim;
	int			nnz;
	VecError	err;
	SparseVector *result;

	if (VecRecvSparseHeader(buf->data, buf->len, &buf->cursor, typmod, &dim, &nnz, &err) != VEC_OK)
		VecReportError(&err, "sparsevec", NULL);

	/* The header was checked: nnz is within 0..SPARSEVEC_MAX_NNZ */
	result = InitSparseVector(dim, nnz);
	if (VecRecvSparseBody(buf->data, buf->len, &buf->cursor, dim, nnz,
						  result->indices, SPARSEVEC_VALUES(result), &err) != VEC_OK)
		VecReportError(&err, "sparsevec", NULL);
	PG_RETURN_SPARSEVEC_P(result);
}

/* Write the binary form read by sparsevec_recv */
PG_FUNCTION_INFO_V1(sparsevec_send);
Datum
sparsevec_send(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
	float	   *values = SPARSEVEC_VALUES(svec);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, svec->dim);
	pq_sendint32(&buf, svec->nnz);
	pq_sendint32(&buf, svec->unused);
	for (int i = 0; i < svec->nnz; i++)
		pq_sendint32(&buf, svec->indices[i]);
	for (int i = 0; i < svec->nnz; i++)
		pq_sendfloat4(&buf, values[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Length-coercion cast sparsevec -> sparsevec(n) */
PG_FUNCTION_INFO_V1(sparsevec);
Datum
sparsevec(PG_FUNCTION_ARGS)
{
	SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);

	CheckExpectedDim(PG_GETARG_INT32(1), svec->dim);
	PG_RETURN_POINTER(svec);
}
