/*-------------------------------------------------------------------------
 *
 * vectypes.c
 *	  pgvector's errors for the input of vector, halfvec and sparsevec, and
 *	  the rules their SQL functions share
 *
 * Messages, details and SQLSTATEs are pgvector 0.8.6's, word for word:
 * clients and tests match on them (its regression tests, and its TAP
 * test of mutated literals, which checks that every error names the type).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "vector/vectypes.h"

/* Whether typname is the sparse type (different brackets and limits) */
static inline bool
IsSparse(const char *typname)
{
	return strcmp(typname, "sparsevec") == 0;
}

void
VecReportError(const VecError *err, const char *typname, const char *lit)
{
	bool		sparse = IsSparse(typname);
	int			maxdim = sparse ? SPARSEVEC_MAX_DIM : VEC_MAX_DIM;

	switch (err->status)
	{
		case VEC_ERR_SYNTAX:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", typname, lit)));
			break;
		case VEC_ERR_SYNTAX_START:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", typname, lit),
					 errdetail("Vector contents must start with \"%s\".", sparse ? "{" : "[")));
			break;
		case VEC_ERR_SYNTAX_JUNK:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", typname, lit),
					 sparse ? errdetail("Junk after closing.") :
					 errdetail("Junk after closing right brace.")));
			break;
		case VEC_ERR_SYNTAX_END:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"", typname, lit),
					 errdetail("Unexpected end of input.")));
			break;
		case VEC_ERR_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type %s",
							pnstrdup(err->tok, err->toklen), typname)));
			break;
		case VEC_ERR_NAN:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("NaN not allowed in %s", typname)));
			break;
		case VEC_ERR_INF:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("infinite value not allowed in %s", typname)));
			break;
		case VEC_ERR_DIM_MIN:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s must have at least 1 dimension", typname)));
			break;
		case VEC_ERR_DIM_MAX:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s cannot have more than %d dimensions", typname, maxdim)));
			break;
		case VEC_ERR_TYPMOD:
			CheckExpectedDim(err->a, err->b);
			break;
		case VEC_ERR_NNZ_NEG:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec cannot have negative number of elements")));
			break;
		case VEC_ERR_NNZ_MAX:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("sparsevec cannot have more than %d non-zero elements",
							SPARSEVEC_MAX_NNZ)));
			break;
		case VEC_ERR_NNZ_DIM:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("sparsevec cannot have more elements than dimensions")));
			break;
		case VEC_ERR_INDEX_BOUNDS:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec index out of bounds")));
			break;
		case VEC_ERR_INDEX_ORDER:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec indices must be in ascending order")));
			break;
		case VEC_ERR_INDEX_DUP:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("sparsevec indices must not contain duplicates")));
			break;
		case VEC_ERR_UNUSED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("expected unused to be 0, not %d", err->a)));
			break;
		case VEC_ERR_ZERO:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("binary representation of sparsevec cannot contain zero values")));
			break;
		case VEC_ERR_SHORT:
			/* What pq_getmsgint says when a message ends early */
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("insufficient data left in message")));
			break;
		case VEC_OK:
			break;
	}
	elog(ERROR, "unexpected %s input status %d", typname, (int) err->status);
	pg_unreachable();
}

void
CheckExpectedDim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void
VecSliceBounds(const char *typname, int dim, int32 start, int32 count,
			   int *first, int *n)
{
	int64		end;

	/* 64-bit arithmetic: start + count must not wrap around */
	end = (int64) start + (int64) count;
	if (end > (int64) dim + 1)
		end = (int64) dim + 1;
	if (start < 1)
		start = 1;

	if (count < 1 || start > dim || end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s must have at least 1 dimension", typname)));

	*first = start - 1;
	*n = (int) (end - start);
}

int32
VecTypmodIn(ArrayType *ta, const char *typname, int maxdim)
{
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier")));
	if (*tl < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s must be at least 1", typname)));
	if (*tl > maxdim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type %s cannot exceed %d", typname, maxdim)));
	return *tl;
}
