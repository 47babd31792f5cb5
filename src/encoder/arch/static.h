/*-------------------------------------------------------------------------
 *
 * static.h
 *	  Static word-vector models in the Model2Vec layout (static.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_STATIC_H
#define SEMVEC_ENC_STATIC_H

#include "encoder/arch/arch.h"

/* config.json "model_type": "model2vec", or an "architectures" entry StaticModel */
extern const EncArchOps EncArchStatic;

#endif							/* SEMVEC_ENC_STATIC_H */
