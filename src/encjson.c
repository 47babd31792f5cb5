/*-------------------------------------------------------------------------
 *
 * encjson.c
 *	  JSON files of model folders, parsed with PostgreSQL's own parser
 *
 * Every JSON document of a model folder (config.json, tokenizer.json, the
 * safetensors header, ...) is first checked with the core JSON lexer, so
 * that a syntax error becomes an ERRCODE_DATA_CORRUPTED error naming the
 * file, and is then converted to Jsonb for convenient lookups.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"

#include "encoder.h"

/* Largest JSON file we read (tokenizer.json of big vocabularies is ~10 MB) */
#define ENC_JSON_MAX_BYTES (256 * 1024 * 1024)

typedef struct DupCheckState
{
	int			depth;			/* current object nesting */
	HTAB	   *keys;			/* top-level keys seen so far */
	const char *dup;			/* first duplicate found, or NULL */
} DupCheckState;

/* Track nesting: entering an object */
static void
DupObjectStart(void *state)
{
	((DupCheckState *) state)->depth++;
}

/* Track nesting: leaving an object */
static void
DupObjectEnd(void *state)
{
	((DupCheckState *) state)->depth--;
}

/* Remember each top-level key; the first repeat is reported by the caller */
static void
DupFieldStart(void *state, char *fname, bool isnull)
{
	DupCheckState *s = (DupCheckState *) state;
	char		key[NAMEDATALEN * 4];
	bool		found;

	if (s->depth != 1 || s->dup != NULL)
		return;
	/* Long names are compared by prefix; tensor names are short */
	strlcpy(key, fname, sizeof(key));
	hash_search(s->keys, key, HASH_ENTER, &found);
	if (found)
		s->dup = pstrdup(fname);
}

/* Error context callback: say which file Jsonb conversion was reading */
static void
JsonFileContext(void *arg)
{
	errcontext("parsing JSON of file \"%s\"", (const char *) arg);
}

/*
 * Parse len bytes of JSON text; errors name path.  With reject_dup_keys, a
 * key repeated in the top-level object is an error (Jsonb would silently
 * keep the last one).
 */
Jsonb *
EncJsonParse(const char *data, int len, const char *path, bool reject_dup_keys)
{
	char	   *buf;
	JsonLexContext *lex;
	JsonParseErrorType rc;
	JsonSemAction sem;
	DupCheckState dup;
	ErrorContextCallback errcb;
	Datum		d;

	if (memchr(data, '\0', len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid JSON in file \"%s\"", path),
				 errdetail("The text contains a zero byte.")));
	if (pg_encoding_verifymbstr(PG_UTF8, data, len) != len)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid JSON in file \"%s\"", path),
				 errdetail("The text is not valid UTF-8.")));

	buf = palloc(len + 1);
	memcpy(buf, data, len);
	buf[len] = '\0';

	memset(&sem, 0, sizeof(sem));
	memset(&dup, 0, sizeof(dup));
	if (reject_dup_keys)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN * 4;
		ctl.entrysize = NAMEDATALEN * 4;
		ctl.hcxt = CurrentMemoryContext;
		dup.keys = hash_create("semvec json keys", 256, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		sem.semstate = &dup;
		sem.object_start = DupObjectStart;
		sem.object_end = DupObjectEnd;
		sem.object_field_start = DupFieldStart;
	}
	lex = makeJsonLexContextCstringLen(buf, len, PG_UTF8, reject_dup_keys);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid JSON in file \"%s\"", path),
				 errdetail("%s (line %d)", json_errdetail(rc, lex),
						   lex->line_number)));
	if (dup.dup != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid JSON in file \"%s\"", path),
				 errdetail("Key \"%s\" appears more than once.", dup.dup)));

	/* Syntax is fine; jsonb_in can still object to e.g. \u0000 */
	errcb.callback = JsonFileContext;
	errcb.arg = (void *) path;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	d = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf));
	error_context_stack = errcb.previous;
	pfree(buf);
	return DatumGetJsonbP(d);
}

/*
 * Read and parse a JSON file.  Returns NULL when the file does not exist
 * and missing_ok; any other problem is an error naming the file.
 */
Jsonb *
EncJsonReadFile(const char *path, bool missing_ok)
{
	int			fd;
	struct stat st;
	char	   *data;
	ssize_t		got = 0;
	Jsonb	   *result;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (missing_ok && errno == ENOENT)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	}
	if (fstat(fd, &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("\"%s\" is not a regular file", path)));
	if (st.st_size > ENC_JSON_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("file \"%s\" is too large", path),
				 errdetail("JSON files of a model are limited to %d bytes.",
						   ENC_JSON_MAX_BYTES)));

	data = palloc(st.st_size + 1);
	while (got < st.st_size)
	{
		ssize_t		r = read(fd, data + got, st.st_size - got);

		if (r < 0)
		{
			if (errno == EINTR)
				continue;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		}
		if (r == 0)
			break;
		got += r;
	}
	CloseTransientFile(fd);

	result = EncJsonParse(data, (int) got, path, false);
	pfree(data);
	return result;
}

/* Look up key in an object container; false when absent or not an object */
bool
EncJsonGet(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	JsonbValue *v;

	if (obj == NULL || !JsonContainerIsObject(obj))
		return false;
	v = getKeyJsonValueFromContainer(obj, key, strlen(key), out);
	return v != NULL;
}

/* Look up key and return its nested container, or NULL when not one */
JsonbContainer *
EncJsonGetContainer(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (!EncJsonGet(obj, key, &v) || v.type != jbvBinary)
		return NULL;
	return v.val.binary.data;
}

/* Look up a string value as a palloc'd C string, or NULL */
char *
EncJsonGetString(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (!EncJsonGet(obj, key, &v) || v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* Convert a numeric JsonbValue to double; false when it is not a number */
bool
EncJsonNumber(const JsonbValue *v, double *out)
{
	if (v->type != jbvNumeric)
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
	return true;
}
