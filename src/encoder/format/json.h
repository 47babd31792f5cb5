/*-------------------------------------------------------------------------
 *
 * json.h
 *	  JSON files of model folders, parsed by PostgreSQL's parser (json.c)
 *
 * Syntax errors are ERRCODE_DATA_CORRUPTED naming the file.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_JSON_H
#define SEMVEC_ENC_JSON_H

#include "postgres.h"

#include "utils/jsonb.h"

/* Parse len bytes of UTF-8 JSON; path names the source in errors */
extern Jsonb *EncJsonParse(const char *data, int len, const char *path,
						   bool reject_dup_keys);

/* Read and parse a file; NULL when it does not exist and missing_ok */
extern Jsonb *EncJsonReadFile(const char *path, bool missing_ok);

/* Member key of object obj into *out; false when absent (or obj no object) */
extern bool EncJsonGet(JsonbContainer *obj, const char *key, JsonbValue *out);

/* Member key when it is an object or array, else NULL */
extern JsonbContainer *EncJsonGetContainer(JsonbContainer *obj, const char *key);

/* Member key as a palloc'd string, or NULL when absent or not a string */
extern char *EncJsonGetString(JsonbContainer *obj, const char *key);

/* A numeric value as double; false when v is not a number */
extern bool EncJsonNumber(const JsonbValue *v, double *out);

#endif							/* SEMVEC_ENC_JSON_H */
