/*-------------------------------------------------------------------------
 *
 * indexcheck.c
 *	  What the structural checkers of semvec's access methods share
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "amcommon/indexcheck.h"

/* How many problems the ERROR describes (it counts them all) */
#define AM_CHECK_DESCRIBED 5

/*
 * Open an index for checking: it must be an index of the access method
 * whose ambuild is given (what names it in the error: "an hnsw index"),
 * and the user must own its table.  The lock (*lockmode) keeps writers
 * out while the checker reads: ShareLock, or on a standby, which allows
 * no lock stronger than RowExclusiveLock and has no writers,
 * AccessShareLock.  The caller closes the index with *lockmode.
 */
Relation
AmCheckOpen(Oid indexoid, ambuild_function ambuild, const char *what, LOCKMODE *lockmode)
{
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Relation	index;

	if (!OidIsValid(heapoid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", get_rel_name(indexoid) ? get_rel_name(indexoid) : "?")));
	if (!pg_class_ownercheck(heapoid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(heapoid));

	*lockmode = RecoveryInProgress() ? AccessShareLock : ShareLock;
	index = relation_open(indexoid, *lockmode);
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == NULL ||
		index->rd_indam->ambuild != ambuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not %s", RelationGetRelationName(index), what)));
	return index;
}

/* Record one violated invariant (the first few are described) */
void
AmCheckProblem(AmCheckReport * r, const char *fmt,...)
{
	r->nproblems++;
	if (r->nproblems <= AM_CHECK_DESCRIBED)
	{
		va_list		args;
		char		buf[512];

		va_start(args, fmt);
		vsnprintf(buf, sizeof(buf), fmt, args);
		va_end(args);
		if (r->text.data == NULL)
			initStringInfo(&r->text);
		appendStringInfo(&r->text, "%s%s", r->text.len > 0 ? " " : "", buf);
	}
}

/* Raise the ERROR that describes the problems found, if any */
void
AmCheckRaise(Relation index, const char *amname, const AmCheckReport * r)
{
	if (r->nproblems > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("%s index \"%s\" is corrupted", amname, RelationGetRelationName(index)),
				 errdetail("%d problems found. %s", r->nproblems, r->text.data)));
}
