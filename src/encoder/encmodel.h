/*-------------------------------------------------------------------------
 *
 * encmodel.h
 *	  Model search path and cache internals shared by encmodel.c and embed.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENCMODEL_H
#define SEMVEC_ENCMODEL_H

#include "nodes/pg_list.h"

/* Raise an error unless name is a safe model folder name */
extern void EncCheckModelName(const char *name);

/* $sharedir/semvec/models */
extern char *EncInstalledModelDir(void);

/* semvec.model_path's directories, then the installed one */
extern List *EncModelSearchPath(void);

/* Forget this backend's cached models; returns how many were dropped */
extern int	EncModelReloadAll(void);

/* Number of texts per forward pass in EncEmbedTexts */
#define ENC_BATCH_SIZE 32

#endif							/* SEMVEC_ENCMODEL_H */
