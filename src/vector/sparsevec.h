/*-------------------------------------------------------------------------
 *
 * sparsevec.h
 *	  The sparsevec type: layout, limits and accessors (pgvector-compatible)
 *
 * On-disk / in-memory layout (pgvector's struct SparseVector):
 *
 *	 OFFSET      SIZE      DESCRIPTION
 *	    0          4       varlena header (vl_len_)
 *	    4          4       dim: number of dimensions, 1..SPARSEVEC_MAX_DIM
 *	    8          4       nnz: number of stored (non-zero) elements
 *	   12          4       unused: always 0
 *	   16       4*nnz      indices: 0-based, strictly ascending, < dim
 *	 16+4*nnz   4*nnz      values: float4, finite, never zero
 *
 * Up to 16,000 non-zero elements are stored (SPARSEVEC_MAX_NNZ, in
 * vector/vecparse.h with SPARSEVEC_MAX_DIM); hnsw indexes up to 1,000.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_SPARSEVEC_H
#define SEMVEC_SPARSEVEC_H

#include "postgres.h"

#include "fmgr.h"
#include "vector/vecparse.h"

#define SPARSEVEC_MAX_INDEX_NNZ 1000

#define SPARSEVEC_SIZE(_nnz)	(offsetof(SparseVector, indices) + \
								 (_nnz) * (sizeof(int32) + sizeof(float)))
#define SPARSEVEC_VALUES(x)		((float *) ((x)->indices + (x)->nnz))
#define DatumGetSparseVector(x)	((SparseVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SPARSEVEC_P(x) DatumGetSparseVector(PG_GETARG_DATUM(x))
#define PG_RETURN_SPARSEVEC_P(x) PG_RETURN_POINTER(x)

typedef struct SparseVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		dim;			/* number of dimensions */
	int32		nnz;			/* number of non-zero elements */
	int32		unused;			/* reserved for future use, always zero */
	int32		indices[FLEXIBLE_ARRAY_MEMBER];
	/* nnz float4 values follow the indices */
} SparseVector;

/* Allocate a zeroed sparsevec (caller checked dim and nnz) */
extern SparseVector *InitSparseVector(int dim, int nnz);

/* Raise an error unless dim is within 1..SPARSEVEC_MAX_DIM */
extern void CheckSparsevecDim(int dim);

/* Raise an error unless nnz fits (0..SPARSEVEC_MAX_NNZ and at most dim) */
extern void CheckSparsevecNnz(int nnz, int dim);

/* Raise an error if a value is NaN or infinite */
extern void CheckSparsevecElement(float value);

#endif							/* SEMVEC_SPARSEVEC_H */
