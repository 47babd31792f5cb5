/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Adapters stored in the table semvec_adapters (catalog.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_ADAPTER_CATALOG_H
#define SEMVEC_ENC_ADAPTER_CATALOG_H

#include "postgres.h"

#include "utils/jsonb.h"

/* Longest adapter name */
#define ENC_ADAPTER_MAX_NAME 40

/* One row of semvec_adapters */
typedef struct EncAdapterRow
{
	char	   *name;
	char	   *base_model;
	int			dims;
	float	   *query_map;		/* [dims][dims], q' = M q */
	float	   *doc_map;		/* [dims][dims], or NULL */
	char	   *version;		/* changes whenever the row is replaced */
} EncAdapterRow;

/* Raise an error unless name is a valid adapter name */
extern void EncAdapterCheckName(const char *name);

/*
 * The row named name (palloc'd in the current context), or NULL when there
 * is none and missing_ok
 */
extern EncAdapterRow *EncAdapterFetch(const char *name, bool missing_ok);

/* The row's version, or NULL when there is no such row (a cheap lookup) */
extern char *EncAdapterVersion(const char *name);

/*
 * Insert (or, with replace, overwrite) an adapter; an existing name without
 * replace is an error
 */
extern void EncAdapterStore(const EncAdapterRow *row, int pairs, Jsonb *settings,
							Jsonb *validation, bool replace);

/* Is there a row of this name? */
extern bool EncAdapterExists(const char *name);

#endif							/* SEMVEC_ENC_ADAPTER_CATALOG_H */
