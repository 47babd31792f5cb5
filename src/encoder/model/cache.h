/*-------------------------------------------------------------------------
 *
 * cache.h
 *	  This backend's loaded models, by name (cache.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_CACHE_H
#define SEMVEC_ENC_CACHE_H

#include "encoder/model/model.h"

/*
 * The model named name: cached, or loaded from its folder (search_path.h).
 * Checked once per transaction: a different folder or a changed file
 * reloads it.
 */
extern EncModel *EncModelGet(const char *name);

/* Forget this backend's cached models; returns how many were dropped */
extern int	EncModelReloadAll(void);

#endif							/* SEMVEC_ENC_CACHE_H */
