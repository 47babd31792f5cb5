/*-------------------------------------------------------------------------
 *
 * search_path.h
 *	  Where model folders are found, by name (search_path.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_SEARCH_PATH_H
#define SEMVEC_ENC_SEARCH_PATH_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* Longest model name + 1 */
#define ENC_MAX_NAME 64

/*
 * The installed default model's name.  It always means the folder
 * $sharedir/semvec/models/default: semvec.model_path cannot shadow it, so
 * that embed(text), which is IMMUTABLE, depends on no setting.
 */
#define ENC_DEFAULT_MODEL "default"

/* Raise an error unless name is a safe model folder name */
extern void EncCheckModelName(const char *name);

/* $sharedir/semvec/models */
extern char *EncInstalledModelDir(void);

/* semvec.model_path's directories, then the installed one */
extern List *EncModelSearchPath(void);

/*
 * The folder of model name (palloc'd), or NULL when no directory of the
 * search path has it; ENC_DEFAULT_MODEL is looked up in the installed
 * directory only
 */
extern char *EncFindModelDir(const char *name);

/* Whether dir may hold model name (false: "default" outside the installed one) */
extern bool EncModelDirAllowed(const char *dir, const char *name);

#endif							/* SEMVEC_ENC_SEARCH_PATH_H */
