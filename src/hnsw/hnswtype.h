/*-------------------------------------------------------------------------
 *
 * hnswtype.h
 *	  Element types and distances: how the hnsw index stores, normalises
 *	  and measures the values of a column type
 *
 * An operator class plugs a type in with support function 3, which
 * returns its HnswTypeInfo (pgvector's layout of support functions: an
 * opclass without function 3 indexes vector).  Support function 1 is the
 * distance; when the type lists it among its kernels, the index calls the
 * kernel on stored values directly, else it calls the function through
 * fmgr (HnswDistanceFmgr), so any opclass over a varlena type works.
 * Support function 2 (a norm) asks for unit-length values, as cosine
 * distance needs; the type then must be able to normalise.
 *
 * Values are stored as varlenas of the column's type with a 4-byte
 * header, as the type's functions take them.  The index code never looks
 * inside a value: everything it needs goes through HnswTypeInfo and
 * HnswMetric.  Adding a type is one file (hnswtype_<type>.c) with its
 * HnswTypeInfo and support function, and its operator classes in
 * sql/parts/20_hnsw.sql; docs/hnsw.md has the checklist.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HNSWTYPE_H
#define SEMVEC_HNSWTYPE_H

#include "postgres.h"

#include "fmgr.h"

#include "vector/half.h"

typedef struct HnswMetric HnswMetric;

/*
 * Distance between two stored values, a the query (or the element whose
 * neighbours are measured).  Only the order matters to the index, so a
 * kernel may return any increasing function of the SQL distance.
 */
typedef float (*HnswDistanceFn) (const HnswMetric *metric, const char *a, const char *b);

/*
 * Dense values share one layout (vector and halfvec): a 4-byte varlena
 * header, an int16 dimension count, 2 unused bytes, then the elements.  A
 * kernel over such values is one of the dispatch pointers of
 * src/vector/distance*.h (which follow semvec.simd), reached through the
 * pointer's address so that a change of the setting takes effect.
 */
#define HNSW_DENSE_DIM(v)		(((const int16 *) (v))[2])
#define HNSW_DENSE_DATA(v)		((const void *) ((const char *) (v) + 8))

typedef float (*HnswFloatKernel) (int dim, const float *a, const float *b);
typedef float (*HnswHalfKernel) (int dim, const half *a, const half *b);

struct HnswMetric
{
	HnswDistanceFn distance;
	const HnswFloatKernel *floatKernel; /* set: dense float4 values */
	const HnswHalfKernel *halfKernel;	/* set: dense half values */
	float		sign;			/* applied to a dense kernel's result */
	FmgrInfo   *proc;			/* support function 1, for HnswDistanceFmgr */
	Oid			collation;
	bool		nonMetric;		/* no triangle inequality (inner product) */
};

/*
 * A support function 1 that the type computes without fmgr.  distance is
 * always set; a dense type also names its kernel, which HnswDistance then
 * calls directly (one indirect call per distance: the hot loop of builds
 * and scans).
 */
typedef struct HnswKernel
{
	PGFunction	fn;				/* the SQL-callable distance function */
	HnswDistanceFn distance;	/* the same order, on stored values */
	const HnswFloatKernel *floatKernel;
	const HnswHalfKernel *halfKernel;
	float		sign;
	bool		unitValues;		/* valid on unit-length values only */
	bool		nonMetric;		/* not a metric: see HnswFullListVictim */
}			HnswKernel;

typedef struct HnswTypeInfo
{
	const char *name;			/* in messages */
	int			maxDimensions;	/* the most an index can take */
	/* Dimensions of a detoasted value */
	int			(*dimensions) (const char *value);
	/* Bytes of a stored value of dim dimensions if all are alike, else 0 */
	Size		(*fixedSize) (int dim);
	/* A palloc'd unit-length copy, or NULL if the value has no direction */
	char	   *(*normalize) (const char *value);
	/* Raise an error for a value the index cannot take (besides dimensions) */
	void		(*checkValue) (const char *value);
	const HnswKernel *kernels;	/* ends with a NULL fn */
}			HnswTypeInfo;

/* Measure a against b */
static inline float
HnswDistance(const HnswMetric *metric, const char *a, const char *b)
{
	if (metric->floatKernel)
		return metric->sign * (*metric->floatKernel) (HNSW_DENSE_DIM(a), HNSW_DENSE_DATA(a),
													  HNSW_DENSE_DATA(b));
	if (metric->halfKernel)
		return metric->sign * (*metric->halfKernel) (HNSW_DENSE_DIM(a), HNSW_DENSE_DATA(a),
													 HNSW_DENSE_DATA(b));
	return metric->distance(metric, a, b);
}

/* hnswtype.c */
extern const HnswTypeInfo *HnswTypeFromProc(FmgrInfo *typeProc);
extern bool HnswMetricInit(HnswMetric *metric, const HnswTypeInfo *type, FmgrInfo *proc,
						   Oid collation);
extern float HnswDistanceFmgr(const HnswMetric *metric, const char *a, const char *b);

/* hnswtype_vector.c */
extern const HnswTypeInfo HnswVectorType;

#endif							/* SEMVEC_HNSWTYPE_H */
