/*-------------------------------------------------------------------------
 *
 * vectypes.h
 *	  What the vector, halfvec and sparsevec types share on the server side
 *
 * The parsers and decoders themselves are pure C (vector/vecparse.h); this
 * turns their outcome into pgvector's error (message, detail and SQLSTATE,
 * naming the type), and holds the few rules the SQL functions of the dense
 * types have in common.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_VECTYPES_H
#define SEMVEC_VECTYPES_H

#include "postgres.h"

#include "utils/array.h"

#include "vector/vecparse.h"

/*
 * Raise the error a failed VecParse... or VecRecv... call reported, as pgvector words it
 * for type typname ("vector", "halfvec" or "sparsevec"); lit is the text
 * literal, or NULL for binary input
 */
extern void VecReportError(const VecError *err, const char *typname,
						   const char *lit) pg_attribute_noreturn();

/* Raise "expected N dimensions, not M" unless typmod is -1 or dim */
extern void CheckExpectedDim(int32 typmod, int dim);

/* The typmod of typname(n) (a typmod_in function): n, from 1 to maxdim */
extern int32 VecTypmodIn(ArrayType *ta, const char *typname, int maxdim);

/*
 * subvector(v, start, count) of a dense value of dim elements: the 0-based
 * first element and the number of elements, clipped to the value like
 * substring(); an empty slice is "<typname> must have at least 1 dimension"
 */
extern void VecSliceBounds(const char *typname, int dim, int32 start, int32 count,
						   int *first, int *n);

#endif							/* SEMVEC_VECTYPES_H */
