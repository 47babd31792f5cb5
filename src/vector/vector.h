/*-------------------------------------------------------------------------
 *
 * vector.h
 *	  The vector type: layout, limits and accessors (pgvector-compatible)
 *
 * On-disk / in-memory layout (identical to pgvector's struct Vector, so
 * pg_upgrade and physical replicas can move between the two):
 *
 *	 OFFSET  SIZE      DESCRIPTION
 *	    0      4       varlena header (vl_len_)
 *	    4      2       dim: number of dimensions, 1..VECTOR_MAX_DIM
 *	    6      2       unused: always 0
 *	    8   4*dim      float4 elements
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_VECTOR_H
#define SEMVEC_VECTOR_H

#include "postgres.h"

#include "fmgr.h"

#define VECTOR_MAX_DIM 16000

#define VECTOR_SIZE(_dim)		(offsetof(Vector, x) + sizeof(float) * (_dim))
#define DatumGetVector(x)		((Vector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_VECTOR_P(x)	DatumGetVector(PG_GETARG_DATUM(x))
#define PG_RETURN_VECTOR_P(x)	PG_RETURN_POINTER(x)

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved for future use, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

/* Allocate a zeroed vector of the given dimension (caller checked dim) */
extern Vector *InitVector(int dim);

/* Raise an error unless dim is within 1..VECTOR_MAX_DIM */
extern void CheckVectorDim(int dim);

/* Raise an error unless typmod is -1 or equal to dim */
extern void CheckVectorExpectedDim(int32 typmod, int dim);

/* Raise an error unless two vectors have the same dimension */
extern void CheckVectorSameDim(const Vector *a, const Vector *b);

/* Raise an error if an element is NaN or infinite */
extern void CheckVectorElement(float value);

#endif							/* SEMVEC_VECTOR_H */
