/*-------------------------------------------------------------------------
 *
 * bitvec.h
 *	  Binary vectors on PostgreSQL's bit type: Hamming and Jaccard distances
 *	  (pgvector-compatible), and the bit strings binary_quantize() returns
 *
 * A bit(n) / varbit value is core PostgreSQL's VarBit: an int32 bit count
 * followed by the bits packed most significant first, with the unused bits
 * of the last byte zero.  The distance kernels read those bytes directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_BITVEC_H
#define SEMVEC_BITVEC_H

#include "postgres.h"

#include "utils/varbit.h"

/* Allocate a zeroed bit string of dim bits */
extern VarBit *InitBitVector(int dim);

/* Number of differing bits of two equal-length bit strings of nbytes bytes */
extern uint64 BitHammingDistance(uint32 nbytes, const unsigned char *a, const unsigned char *b);

/*
 * 1 - |a AND b| / |a OR b| of two equal-length bit strings; 1 when they
 * share no set bit (including when both are empty or all zero), as pgvector
 */
extern double BitJaccardDistance(uint32 nbytes, const unsigned char *a, const unsigned char *b);

#endif							/* SEMVEC_BITVEC_H */
