/*-------------------------------------------------------------------------
 *
 * opclass.c
 *	  amvalidate for semvec's access methods
 *
 * The operators of an hnsw, ivfflat or bm25 class order rows by a
 * distance: strategy 1, purpose ORDER BY, returning float8.  The support
 * functions are the access method's own (a table of numbers and shapes).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "amcommon/opclass.h"

/* Report one problem of an operator family (amvalidate's style) */
static void
ReportFamily(const char *opfamilyname, const char *amname, const char *what)
{
	ereport(INFO,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("operator family \"%s\" of access method %s %s",
					opfamilyname, amname, what)));
}

/* Does a support function have the signature its shape asks for? */
static bool
ProcSignatureOk(Form_pg_amproc procform, AmProcShape shape)
{
	switch (shape)
	{
		case AM_PROC_DISTANCE:
			return check_amproc_signature(procform->amproc, FLOAT8OID, true, 2, 2,
										  procform->amproclefttype, procform->amprocrighttype);
		case AM_PROC_NORM:
			return check_amproc_signature(procform->amproc, FLOAT8OID, true, 1, 1,
										  procform->amproclefttype);
		case AM_PROC_TYPE_INFO:
			return check_amproc_signature(procform->amproc, INTERNALOID, true, 1, 1,
										  INTERNALOID);
	}
	return false;
}

/*
 * Check an operator class and its family against rules; returns whether
 * it is valid, after reporting each problem.
 */
bool
AmValidateOpclass(Oid opclassoid, const AmOpclassRules * rules)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	HeapTuple	familytup;
	char	   *opfamilyname;
	CatCList   *proclist,
			   *oprlist;
	bool		hasRequired = false;
	bool		hasOrdering = false;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;

	familytup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
	if (!HeapTupleIsValid(familytup))
		elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
	opfamilyname = NameStr(((Form_pg_opfamily) GETSTRUCT(familytup))->opfname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);
		const AmSupportProc *spec = NULL;

		for (int j = 0; j < rules->nprocs; j++)
			if (rules->procs[j].procnum == procform->amprocnum)
				spec = &rules->procs[j];
		if (spec == NULL)
		{
			ReportFamily(opfamilyname, rules->amname,
						 psprintf("contains function %s with invalid support number %d",
								  format_procedure(procform->amproc), procform->amprocnum));
			result = false;
			continue;
		}
		if (procform->amprocnum == rules->requiredProc &&
			procform->amproclefttype == classform->opcintype)
			hasRequired = true;
		if (!ProcSignatureOk(procform, spec->shape))
		{
			ReportFamily(opfamilyname, rules->amname,
						 psprintf("contains function %s with wrong signature for support number %d",
								  format_procedure(procform->amproc), procform->amprocnum));
			result = false;
		}
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != 1 || oprform->amoppurpose != AMOP_ORDER)
		{
			ReportFamily(opfamilyname, rules->amname,
						 psprintf("contains operator %s with invalid strategy number or purpose",
								  format_operator(oprform->amopopr)));
			result = false;
			continue;
		}
		if (!check_amop_signature(oprform->amopopr, FLOAT8OID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ReportFamily(opfamilyname, rules->amname,
						 psprintf("contains operator %s with wrong signature",
								  format_operator(oprform->amopopr)));
			result = false;
			continue;
		}
		hasOrdering = true;
	}

	if (rules->requiredProc != 0 && !hasRequired)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("operator class \"%s\" of access method %s is missing support function %d",
						NameStr(classform->opcname), rules->amname, rules->requiredProc)));
		result = false;
	}
	if (rules->requireOrdering && !hasOrdering)
	{
		ReportFamily(opfamilyname, rules->amname, "has no ordering operator");
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(familytup);
	ReleaseSysCache(classtup);
	return result;
}
