/*-------------------------------------------------------------------------
 *
 * sparsevec_ops.h
 *	  The sparsevec distance kernels of sparsevec_ops.c, for index code
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_SPARSEVEC_OPS_H
#define SEMVEC_SPARSEVEC_OPS_H

#include "vector/sparsevec.h"

/*
 * Distances over the two sorted index lists (float sums, as pgvector):
 * the kernels behind the SQL functions, for index code too
 */
extern float SparsevecL2SquaredDistance(const SparseVector *a, const SparseVector *b);
extern float SparsevecInnerProduct(const SparseVector *a, const SparseVector *b);
extern float SparsevecL1Distance(const SparseVector *a, const SparseVector *b);

/* Sum of squares of the values, in float (the cosine kernel's norms) */
extern float SparsevecSquaredNorm(const SparseVector *a);

#endif							/* SEMVEC_SPARSEVEC_OPS_H */
