/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Adapters stored in the table semvec_adapters
 *
 * Trained adapters live in an ordinary table of the extension, marked as a
 * configuration table (pg_extension_config_dump), so that pg_dump carries
 * its rows and streaming replicas, backups and restores carry them like
 * any data.  Matrices are real[] of dims * dims elements, row-major.  Rows
 * are read through SPI as the calling user (SELECT is granted to PUBLIC;
 * writing needs the table's INSERT/UPDATE/DELETE privileges).
 *
 * The table is found in the schema of the extension, which is installed
 * under the name semvec or vector.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "encoder/adapter/catalog.h"

/* The schema of the extension installed under this name, or InvalidOid */
static Oid
ExtensionSchema(const char *extname)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(extname));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

/* "schema".semvec_adapters, qualified by the extension's schema */
static char *
AdapterTable(void)
{
	Oid			nsp = ExtensionSchema("semvec");

	if (!OidIsValid(nsp))
		nsp = ExtensionSchema("vector");
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"semvec\" is not installed in this database")));
	return psprintf("%s.semvec_adapters", quote_identifier(get_namespace_name(nsp)));
}

void
EncAdapterCheckName(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > ENC_ADAPTER_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid adapter name \"%s\"", name),
				 errdetail("An adapter name has 1 to %d characters.", ENC_ADAPTER_MAX_NAME)));
	for (size_t i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid adapter name \"%s\"", name),
					 errdetail("An adapter name may contain only letters, digits, \"_\" and \"-\".")));
	}
}

/* A real[] column as dims * dims floats (palloc'd in ctx); checked */
static float *
MapFromArray(Datum d, int dims, const char *name, const char *column,
			 MemoryContext ctx)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	int			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	float	   *out;

	if (ARR_ELEMTYPE(arr) != FLOAT4OID || ARR_HASNULL(arr) ||
		(int64) n != (int64) dims * dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid %s of adapter \"%s\"", column, name),
				 errdetail("Expected %d x %d real values without NULLs.", dims, dims)));
	out = MemoryContextAllocHuge(ctx, sizeof(float) * (Size) n);
	memcpy(out, ARR_DATA_PTR(arr), sizeof(float) * (Size) n);
	for (int i = 0; i < n; i++)
		if (!isfinite(out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid %s of adapter \"%s\"", column, name),
					 errdetail("Element %d is not a finite number.", i + 1)));
	return out;
}

EncAdapterRow *
EncAdapterFetch(const char *name, bool missing_ok)
{
	MemoryContext ctx = CurrentMemoryContext;
	EncAdapterRow *row = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char	   *sql;

	args[0] = CStringGetTextDatum(name);
	sql = psprintf("SELECT base_model, dims, query_map, doc_map, xmin::text || ':' || ctid::text "
				   "FROM %s WHERE name = $1", AdapterTable());
	SPI_connect();
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read adapter \"%s\"", name);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		MemoryContext spi = MemoryContextSwitchTo(ctx);

		row = palloc0(sizeof(EncAdapterRow));
		row->name = pstrdup(name);
		row->base_model = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		row->dims = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		row->version = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
		MemoryContextSwitchTo(spi);
		if (row->dims < 1 || row->dims > 16000)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid dims of adapter \"%s\"", name)));
		row->query_map = MapFromArray(SPI_getbinval(tup, desc, 3, &isnull), row->dims,
									  name, "query_map", ctx);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
			row->doc_map = MapFromArray(d, row->dims, name, "doc_map", ctx);
	}
	SPI_finish();
	if (row == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("adapter \"%s\" does not exist", name),
				 errhint("Adapters are trained with CALL train_adapter() and listed in semvec_models.")));
	return row;
}

char *
EncAdapterVersion(const char *name)
{
	MemoryContext ctx = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	char	   *version = NULL;

	args[0] = CStringGetTextDatum(name);
	SPI_connect();
	if (SPI_execute_with_args(psprintf("SELECT xmin::text || ':' || ctid::text FROM %s WHERE name = $1",
									   AdapterTable()),
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read adapter \"%s\"", name);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(ctx);

		version = TextDatumGetCString(d);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return version;
}

bool
EncAdapterExists(const char *name)
{
	return EncAdapterVersion(name) != NULL;
}

/* A dims * dims map as a real[] datum */
static Datum
MapToArray(const float *m, int dims)
{
	Size		n = (Size) dims * dims;
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (Size i = 0; i < n; i++)
		elems[i] = Float4GetDatum(m[i]);
	return PointerGetDatum(construct_array(elems, (int) n, FLOAT4OID, sizeof(float4),
										   true, TYPALIGN_INT));
}

void
EncAdapterStore(const EncAdapterRow *row, int pairs, Jsonb *settings,
				Jsonb *validation, bool replace)
{
	Oid			types[8] = {TEXTOID, TEXTOID, INT4OID, FLOAT4ARRAYOID,
	FLOAT4ARRAYOID, INT4OID, JSONBOID, JSONBOID};
	Datum		args[8];
	char		nulls[8] = "        ";
	char	   *sql;
	int			rc;
	args[0] = CStringGetTextDatum(row->name);
	args[1] = CStringGetTextDatum(row->base_model);
	args[2] = Int32GetDatum(row->dims);
	args[3] = MapToArray(row->query_map, row->dims);
	if (row->doc_map)
		args[4] = MapToArray(row->doc_map, row->dims);
	else
	{
		args[4] = (Datum) 0;
		nulls[4] = 'n';
	}
	args[5] = Int32GetDatum(pairs);
	args[6] = JsonbPGetDatum(settings);
	args[7] = JsonbPGetDatum(validation);
	sql = psprintf("INSERT INTO %s AS a (name, base_model, dims, query_map, doc_map, pairs, settings, validation) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)%s",
				   AdapterTable(),
				   replace ? " ON CONFLICT (name) DO UPDATE SET base_model = excluded.base_model, "
				   "dims = excluded.dims, query_map = excluded.query_map, doc_map = excluded.doc_map, "
				   "trained_at = now(), pairs = excluded.pairs, settings = excluded.settings, "
				   "validation = excluded.validation" : "");
	SPI_connect();
	rc = SPI_execute_with_args(sql, 8, types, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not store adapter \"%s\"", row->name);
	SPI_finish();
}
