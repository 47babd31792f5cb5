/*-------------------------------------------------------------------------
 *
 * opclass.h
 *	  amvalidate for semvec's access methods: operator classes whose
 *	  operators order by a float8 distance (hnsw, ivfflat, bm25)
 *
 * Each access method describes its support functions in a table and calls
 * AmValidateOpclass from its amvalidate callback; every problem found is
 * reported as an INFO message naming the access method, as PostgreSQL's
 * own access methods do, and the class does not validate.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_AMCOMMON_OPCLASS_H
#define SEMVEC_AMCOMMON_OPCLASS_H

#include "postgres.h"

/* What a support function takes and returns */
typedef enum AmProcShape
{
	AM_PROC_DISTANCE,			/* (left, right) -> float8 */
	AM_PROC_NORM,				/* (left) -> float8 */
	AM_PROC_TYPE_INFO			/* (internal) -> internal */
}			AmProcShape;

typedef struct AmSupportProc
{
	int16		procnum;
	AmProcShape shape;
}			AmSupportProc;

typedef struct AmOpclassRules
{
	const char *amname;
	const AmSupportProc *procs; /* the valid support functions */
	int			nprocs;
	int16		requiredProc;	/* one the class must have for its input
								 * type, or 0 */
	bool		requireOrdering;	/* must have an ordering operator */
}			AmOpclassRules;

extern bool AmValidateOpclass(Oid opclassoid, const AmOpclassRules * rules);

#endif							/* SEMVEC_AMCOMMON_OPCLASS_H */
