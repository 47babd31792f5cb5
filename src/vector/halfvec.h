/*-------------------------------------------------------------------------
 *
 * halfvec.h
 *	  The halfvec type: layout, limits and accessors (pgvector-compatible)
 *
 * On-disk / in-memory layout (pgvector's struct HalfVector):
 *
 *	 OFFSET  SIZE      DESCRIPTION
 *	    0      4       varlena header (vl_len_)
 *	    4      2       dim: number of dimensions, 1..HALFVEC_MAX_DIM
 *	    6      2       unused: always 0
 *	    8   2*dim      IEEE binary16 elements (vector/half.h)
 *
 * Up to 16,000 dimensions are stored; hnsw indexes up to 4,000
 * (HALFVEC_MAX_INDEX_DIM), twice vector's, since an element takes half the
 * space on an index page.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HALFVEC_H
#define SEMVEC_HALFVEC_H

#include "postgres.h"

#include "fmgr.h"
#include "vector/half.h"

#define HALFVEC_MAX_DIM 16000
#define HALFVEC_MAX_INDEX_DIM 4000

#define HALFVEC_SIZE(_dim)			(offsetof(HalfVector, x) + sizeof(half) * (_dim))
#define DatumGetHalfVector(x)		((HalfVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_HALFVEC_P(x)		DatumGetHalfVector(PG_GETARG_DATUM(x))
#define PG_RETURN_HALFVEC_P(x)		PG_RETURN_POINTER(x)

typedef struct HalfVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved for future use, always zero */
	half		x[FLEXIBLE_ARRAY_MEMBER];
} HalfVector;

/* Allocate a zeroed halfvec of the given dimension (caller checked dim) */
extern HalfVector *InitHalfVector(int dim);

/* Raise an error unless dim is within 1..HALFVEC_MAX_DIM */
extern void CheckHalfvecDim(int dim);

/* Raise an error unless two halfvecs have the same dimension */
extern void CheckHalfvecSameDim(const HalfVector *a, const HalfVector *b);

/* Raise an error if an element is NaN or infinite */
extern void CheckHalfvecElement(half value);

/*
 * Round a float4 to a half, raising pgvector's error ("... is out of range
 * for type halfvec") when a finite value becomes infinite
 */
extern half Float4ToHalfChecked(float value);

#endif							/* SEMVEC_HALFVEC_H */
