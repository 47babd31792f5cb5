/*-------------------------------------------------------------------------
 *
 * load.h
 *	  Build an EncModel from a model folder (load.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_LOAD_H
#define SEMVEC_ENC_LOAD_H

#include "encoder/model/model.h"

/*
 * Load folder dir as model name into a fresh memory context (child of
 * TopMemoryContext).  Errors are ereport(ERROR) naming the file; nothing
 * is left behind after one.
 */
extern EncModel *EncModelLoad(const char *name, const char *dir);

#endif							/* SEMVEC_ENC_LOAD_H */
