/*-------------------------------------------------------------------------
 *
 * json.c
 *	  JSON files of model folders, parsed with PostgreSQL's own parser
 *
 * Every JSON document of a model folder (config.json, tokenizer.json, the
 * safetensors header, ...) goes through the core JSON parser once, with
 * semantic actions that build a Jsonb value for convenient lookups.  A
 * syntax error becomes an ERRCODE_DATA_CORRUPTED error naming the file.
 * The text is always UTF-8 (as the JSON format requires), whatever the
 * database encoding: strings are kept as UTF-8 bytes, which is what the
 * tokenizers expect, and non-ASCII \u escapes are decoded to UTF-8 here.
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
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "encoder/format/json.h"
#include "pgcompat.h"

/* Top-level keys longer than this are compared by prefix */
#define ENC_JSON_MAX_KEY 1024

/* Largest JSON file we read (tokenizer.json of big vocabularies is ~10 MB) */
#define ENC_JSON_MAX_BYTES (256 * 1024 * 1024)

typedef struct BuildState
{
	JsonbParseState *parse;		/* containers being built */
	JsonbValue *result;			/* the finished top-level value */
	int			depth;			/* current object nesting */
	HTAB	   *keys;			/* top-level keys seen so far, or NULL */
	char	   *dup;			/* first duplicate top-level key */
} BuildState;


/* Push a token; a finished top-level container becomes the result */
static void
Push(BuildState *s, JsonbIteratorToken tok, JsonbValue *v)
{
	JsonbValue *r = pushJsonbValue(&s->parse, tok, v);

	if (s->parse == NULL)
		s->result = r;
}

/* Entering an object */
static SemvecJsonSemResult
BuildObjectStart(void *state)
{
	BuildState *s = (BuildState *) state;

	s->depth++;
	Push(s, WJB_BEGIN_OBJECT, NULL);
	SEMVEC_JSON_SEM_RETURN;
}

/* Leaving an object */
static SemvecJsonSemResult
BuildObjectEnd(void *state)
{
	BuildState *s = (BuildState *) state;

	s->depth--;
	Push(s, WJB_END_OBJECT, NULL);
	SEMVEC_JSON_SEM_RETURN;
}

/* Entering an array */
static SemvecJsonSemResult
BuildArrayStart(void *state)
{
	Push((BuildState *) state, WJB_BEGIN_ARRAY, NULL);
	SEMVEC_JSON_SEM_RETURN;
}

/* Leaving an array */
static SemvecJsonSemResult
BuildArrayEnd(void *state)
{
	Push((BuildState *) state, WJB_END_ARRAY, NULL);
	SEMVEC_JSON_SEM_RETURN;
}

/* A key; top-level keys are also checked for repeats */
static SemvecJsonSemResult
BuildFieldStart(void *state, char *fname, bool isnull)
{
	BuildState *s = (BuildState *) state;
	JsonbValue	v;

	if (s->keys != NULL && s->depth == 1 && s->dup == NULL)
	{
		char		key[ENC_JSON_MAX_KEY];
		bool		found;

		/* Longer names are compared by prefix; tensor names are short */
		strlcpy(key, fname, sizeof(key));
		hash_search(s->keys, key, HASH_ENTER, &found);
		if (found)
			s->dup = pstrdup(fname);
	}
	v.type = jbvString;
	v.val.string.val = fname;
	v.val.string.len = strlen(fname);
	Push(s, WJB_KEY, &v);
	SEMVEC_JSON_SEM_RETURN;
}

/* A scalar: string, number, true, false or null */
static SemvecJsonSemResult
BuildScalar(void *state, char *token, JsonTokenType type)
{
	BuildState *s = (BuildState *) state;
	JsonbValue	v;

	switch (type)
	{
		case JSON_TOKEN_STRING:
			v.type = jbvString;
			v.val.string.val = token;
			v.val.string.len = strlen(token);
			break;
		case JSON_TOKEN_NUMBER:
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																CStringGetDatum(token),
																ObjectIdGetDatum(InvalidOid),
																Int32GetDatum(-1)));
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			v.type = jbvBool;
			v.val.boolean = (type == JSON_TOKEN_TRUE);
			break;
		default:
			v.type = jbvNull;
			break;
	}
	if (s->parse == NULL)
	{
		/* A bare top-level scalar is stored as a one-element raw array */
		JsonbValue	arr;

		arr.type = jbvArray;
		arr.val.array.rawScalar = true;
		arr.val.array.nElems = 1;
		Push(s, WJB_BEGIN_ARRAY, &arr);
		Push(s, WJB_ELEM, &v);
		Push(s, WJB_END_ARRAY, NULL);
	}
	else if (s->parse->contVal.type == jbvArray)
		Push(s, WJB_ELEM, &v);
	else
		Push(s, WJB_VALUE, &v);
	SEMVEC_JSON_SEM_RETURN;
}

/* Value of 4 hex digits at p, or -1 */
static int
Hex4(const char *p)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Replace \u escapes of non-ASCII characters (and surrogate pairs) inside
 * strings by their UTF-8 bytes.  The core lexer converts such escapes to
 * the database encoding, which fails for characters a non-UTF-8 database
 * cannot hold (a tokenizer.json written by Python's json module escapes
 * every non-ASCII piece); model files are UTF-8 whatever the database.
 * Escapes below U+0080 are left for the lexer.  buf is NUL-terminated;
 * the result is never longer.
 */
static void
UnescapeNonAscii(char *buf, int *len)
{
	char	   *r = buf;
	char	   *w = buf;
	char	   *end = buf + *len;
	bool		in_string = false;

	while (r < end)
	{
		if (!in_string)
		{
			if (*r == '"')
				in_string = true;
			*w++ = *r++;
			continue;
		}
		if (*r == '"')
		{
			in_string = false;
			*w++ = *r++;
			continue;
		}
		if (*r != '\\' || r + 1 >= end)
		{
			*w++ = *r++;
			continue;
		}
		if (r[1] == 'u' && end - r >= 6)
		{
			int			c = Hex4(r + 2);
			int			used = 6;

			if (c >= 0xD800 && c <= 0xDBFF && end - r >= 12 &&
				r[6] == '\\' && r[7] == 'u')
			{
				int			lo = Hex4(r + 8);

				if (lo >= 0xDC00 && lo <= 0xDFFF)
				{
					c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
					used = 12;
				}
			}
			if (c >= 0x80 && !(c >= 0xD800 && c <= 0xDFFF))
			{
				unsigned char u[8];

				unicode_to_utf8((pg_wchar) c, u);
				memcpy(w, u, pg_utf_mblen(u));
				w += pg_utf_mblen(u);
				r += used;
				continue;
			}
		}
		/* Any other escape: copy the backslash and the escaped char */
		*w++ = *r++;
		*w++ = *r++;
	}
	*w = '\0';
	*len = w - buf;
}

/*
 * Parse len bytes of JSON text into Jsonb; errors name path.  With
 * reject_dup_keys, a key repeated in the top-level object is an error
 * (Jsonb would silently keep the last one).
 */
Jsonb *
EncJsonParse(const char *data, int len, const char *path, bool reject_dup_keys)
{
	char	   *buf;
	JsonLexContext *lex;
	JsonParseErrorType rc;
	JsonSemAction sem;
	BuildState	st;
	MemoryContext cxt;
	MemoryContext old;
	Jsonb	   *tmp;
	Jsonb	   *result;

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

	/* Tokens and the parse state are garbage afterwards: use a scratch context */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "semvec json",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	buf = palloc(len + 1);
	memcpy(buf, data, len);
	buf[len] = '\0';

	memset(&st, 0, sizeof(st));
	if (reject_dup_keys)
	{
		HASHCTL		ctl;

		ctl.keysize = ENC_JSON_MAX_KEY;
		ctl.entrysize = ENC_JSON_MAX_KEY;
		ctl.hcxt = CurrentMemoryContext;
		st.keys = hash_create("semvec json keys", 256, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = BuildObjectStart;
	sem.object_end = BuildObjectEnd;
	sem.array_start = BuildArrayStart;
	sem.array_end = BuildArrayEnd;
	sem.object_field_start = BuildFieldStart;
	sem.scalar = BuildScalar;

	if (GetDatabaseEncoding() != PG_UTF8)
		UnescapeNonAscii(buf, &len);
	lex = makeJsonLexContextCstringLen(buf, len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid JSON in file \"%s\"", path),
				 errdetail("%s (line %d)", json_errdetail(rc, lex),
						   lex->line_number)));
	if (st.dup != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid JSON in file \"%s\"", path),
				 errdetail("Key \"%s\" appears more than once.", st.dup)));
	if (st.result == NULL)
		elog(ERROR, "JSON parser produced no value for \"%s\"", path);
	tmp = JsonbValueToJsonb(st.result);
	MemoryContextSwitchTo(old);
	result = palloc(VARSIZE(tmp));
	memcpy(result, tmp, VARSIZE(tmp));
	MemoryContextDelete(cxt);
	return result;
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
