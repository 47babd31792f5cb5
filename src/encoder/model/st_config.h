/*-------------------------------------------------------------------------
 *
 * st_config.h
 *	  What a model folder's sentence-transformers files say (st_config.c)
 *
 *	 modules.json                 a Normalize module => L2-normalise
 *	 1_Pooling/config.json        pooling_mode_{mean,cls}_tokens (the folder
 *								  named by the Pooling module's "path")
 *	 sentence_bert_config.json    max_seq_length
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_ST_CONFIG_H
#define SEMVEC_ENC_ST_CONFIG_H

#include "postgres.h"

typedef enum EncPooling
{
	ENC_POOL_MEAN,				/* mean over non-padding tokens */
	ENC_POOL_CLS,				/* first token */
	ENC_POOL_ARCH				/* the architecture's own head (USE-lite) */
} EncPooling;

typedef struct EncStConfig
{
	EncPooling	pooling;		/* ENC_POOL_MEAN without a pooling config */
	bool		normalize;
	int			max_seq_length; /* 0 when not given */
} EncStConfig;

/*
 * Read the files of folder dir into *out; absent files give the defaults
 * (mean pooling, no normalisation, no length).  Unsupported modules or
 * pooling modes are errors naming the file.
 */
extern void EncReadStConfig(const char *dir, EncStConfig *out);

#endif							/* SEMVEC_ENC_ST_CONFIG_H */
