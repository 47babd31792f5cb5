/*-------------------------------------------------------------------------
 *
 * hnswtype.c
 *	  Element types: finding an index's type and distance (hnswtype.h)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "hnsw/hnswtype.h"

/*
 * The element type an opclass names with support function 3, or vector
 * when it has none (as pgvector's vector opclasses do).
 */
const HnswTypeInfo *
HnswTypeFromProc(FmgrInfo *typeProc)
{
	if (typeProc == NULL)
		return &HnswVectorType;
	return (const HnswTypeInfo *) DatumGetPointer(FunctionCall1(typeProc, (Datum) 0));
}

/*
 * Measure with support function 1 itself, through fmgr: for distance
 * functions the type has no kernel for.  Values are stored with 4-byte
 * headers, so they pass as datums as they are.
 */
float
HnswDistanceFmgr(const HnswMetric *metric, const char *a, const char *b)
{
	return (float) DatumGetFloat8(FunctionCall2Coll(metric->proc, metric->collation,
													PointerGetDatum(a), PointerGetDatum(b)));
}

/*
 * Pick the type's kernel for support function 1, else the fmgr call.
 * Returns true when the kernel is valid on unit-length values only (then
 * the index normalises whether or not the opclass has support function 2).
 */
bool
HnswMetricInit(HnswMetric *metric, const HnswTypeInfo *type, FmgrInfo *proc, Oid collation)
{
	metric->distance = HnswDistanceFmgr;
	metric->floatKernel = NULL;
	metric->halfKernel = NULL;
	metric->sign = 1;
	metric->proc = proc;
	metric->collation = collation;
	metric->nonMetric = false;
	for (const HnswKernel *k = type->kernels; k != NULL && k->fn != NULL; k++)
	{
		if (k->fn == proc->fn_addr)
		{
			metric->distance = k->distance;
			metric->floatKernel = k->floatKernel;
			metric->halfKernel = k->halfKernel;
			metric->sign = k->sign;
			metric->nonMetric = k->nonMetric;
			return k->unitValues;
		}
	}
	return false;
}
