/*-------------------------------------------------------------------------
 *
 * vecparse.h
 *	  Parsers of the text forms and decoders of the binary forms of vector,
 *	  halfvec and sparsevec, in pure C
 *
 * Every check pgvector makes on input is made here, in pgvector's order,
 * and reported as a VecError instead of an ereport: no PostgreSQL calls,
 * so the same code runs in the server (vecinput.c turns a VecError into
 * pgvector's message and SQLSTATE) and under a fuzzer with sanitizers
 * (test/unit/vecparse_fuzz.c).  Callers pass output buffers big enough for
 * the largest value (VEC_MAX_DIM elements, or VecSparseMaxNnz() entries).
 *
 * Text grammars (whitespace = space, \t, \n, \r, \v, \f around any token):
 *	 dense	 '[' element (',' element)* ']'     element: anything strtof reads
 *	 sparse	 '{' [index ':' element (',' index ':' element)*] '}' '/' dim
 *			 index and dim: anything strtol reads (base 10); indices are
 *			 1-based in text, 0-based in memory and in the binary form
 *
 * Binary forms (big-endian, as PostgreSQL's send/recv functions write):
 *	 dense	 int16 dim, int16 unused = 0, dim elements (float4 or half bits)
 *	 sparse	 int32 dim, int32 nnz, int32 unused = 0, nnz int32 indices,
 *			 nnz float4 values (none zero)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_VECPARSE_H
#define SEMVEC_VECPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "vector/half.h"

/* Limits shared with the types (vector.h, halfvec.h, sparsevec.h) */
#define VEC_MAX_DIM 16000
#define SPARSEVEC_MAX_DIM 1000000000
#define SPARSEVEC_MAX_NNZ 16000

/* What a dense value's elements are stored as */
typedef enum VecElemKind
{
	VEC_ELEM_FLOAT4,			/* vector: float */
	VEC_ELEM_HALF				/* halfvec: half (rounded from the float) */
} VecElemKind;

/* Outcome of parsing or decoding one value; VEC_OK is 0 */
typedef enum VecStatus
{
	VEC_OK = 0,
	VEC_ERR_SYNTAX,				/* malformed text, no further detail */
	VEC_ERR_SYNTAX_START,		/* does not start with '[' / '{' */
	VEC_ERR_SYNTAX_JUNK,		/* something after the closing bracket/dim */
	VEC_ERR_SYNTAX_END,			/* sparse: no '/' after the '}' */
	VEC_ERR_OUT_OF_RANGE,		/* element out of range: tok, toklen */
	VEC_ERR_NAN,				/* NaN element */
	VEC_ERR_INF,				/* infinite element */
	VEC_ERR_DIM_MIN,			/* fewer than 1 dimension */
	VEC_ERR_DIM_MAX,			/* more dimensions than the type allows */
	VEC_ERR_TYPMOD,				/* dimension a (typmod) expected, b found */
	VEC_ERR_NNZ_NEG,			/* sparse binary: negative nnz */
	VEC_ERR_NNZ_MAX,			/* sparse: more than SPARSEVEC_MAX_NNZ */
	VEC_ERR_NNZ_DIM,			/* sparse binary: nnz > dim */
	VEC_ERR_INDEX_BOUNDS,		/* sparse: index outside 0..dim-1 */
	VEC_ERR_INDEX_ORDER,		/* sparse binary: indices not ascending */
	VEC_ERR_INDEX_DUP,			/* sparse: an index twice */
	VEC_ERR_UNUSED,				/* binary: unused field a is not 0 */
	VEC_ERR_ZERO,				/* sparse binary: a zero value */
	VEC_ERR_SHORT				/* binary: fewer bytes than the form needs */
} VecStatus;

/* Details of a failure (only the fields its status names are set) */
typedef struct VecError
{
	VecStatus	status;
	const char *tok;			/* VEC_ERR_OUT_OF_RANGE: the element's text */
	int			toklen;
	int			a;				/* VEC_ERR_TYPMOD: typmod; _UNUSED: value */
	int			b;				/* VEC_ERR_TYPMOD: actual dimension */
} VecError;

/*
 * Parse "[x1,x2,...]" into out (VEC_MAX_DIM elements of the kind's size)
 * and set *dim; typmod is the expected dimension or -1.
 */
extern VecStatus VecParseDense(const char *lit, VecElemKind kind, int32_t typmod,
							   void *out, int *dim, VecError *err);

/*
 * Upper bound of the number of entries of a sparse literal (its commas plus
 * one): the capacity VecParseSparse needs.  Above SPARSEVEC_MAX_NNZ the
 * literal is rejected before parsing, as pgvector does.
 */
extern int	VecSparseMaxNnz(const char *lit);

/*
 * Parse "{i:v,...}/dim" into 0-based indices and values (capacity
 * VecSparseMaxNnz(lit), at most SPARSEVEC_MAX_NNZ), sorted by index, zero
 * values dropped; set *nnz and *dim.
 */
extern VecStatus VecParseSparse(const char *lit, int32_t typmod,
								int32_t *indices, float *values,
								int *nnz, int *dim, VecError *err);

/*
 * Decode a dense binary value from buf[*pos .. len) into out and set *dim;
 * *pos ends after the bytes read.
 */
extern VecStatus VecRecvDense(const char *buf, int len, int *pos, VecElemKind kind,
							  int32_t typmod, void *out, int *dim, VecError *err);

/*
 * Decode a sparse binary value: first its header (dim, nnz, unused: the
 * caller can then size the arrays), then its indices and values.
 */
extern VecStatus VecRecvSparseHeader(const char *buf, int len, int *pos, int32_t typmod,
									 int *dim, int *nnz, VecError *err);
extern VecStatus VecRecvSparseBody(const char *buf, int len, int *pos, int dim, int nnz,
								   int32_t *indices, float *values, VecError *err);

/* The error a status stands for, as text (tests and diagnostics) */
extern const char *VecStatusName(VecStatus status);

#endif							/* SEMVEC_VECPARSE_H */
