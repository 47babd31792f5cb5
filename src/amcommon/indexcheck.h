/*-------------------------------------------------------------------------
 *
 * indexcheck.h
 *	  What the structural checkers of semvec's access methods share
 *	  (hnsw_check, ivfflat_check, bm25_check): opening the index and
 *	  collecting and raising the problems found
 *
 * A checker opens the index with AmCheckOpen, walks it, records each
 * broken invariant with AmCheckProblem (a full sentence), and ends with
 * AmCheckRaise, which raises one ERROR describing the first few.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_AMCOMMON_INDEXCHECK_H
#define SEMVEC_AMCOMMON_INDEXCHECK_H

#include "postgres.h"

#include "access/amapi.h"
#include "lib/stringinfo.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"

/* Problems found so far (all zeros: none) */
typedef struct AmCheckReport
{
	int			nproblems;
	StringInfoData text;		/* the first few, described */
}			AmCheckReport;

extern Relation AmCheckOpen(Oid indexoid, ambuild_function ambuild, const char *what,
							LOCKMODE *lockmode);
extern void AmCheckProblem(AmCheckReport * r, const char *fmt,...) pg_attribute_printf(2, 3);
extern void AmCheckRaise(Relation index, const char *amname, const AmCheckReport * r);

#endif							/* SEMVEC_AMCOMMON_INDEXCHECK_H */
