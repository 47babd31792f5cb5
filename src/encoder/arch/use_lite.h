/*-------------------------------------------------------------------------
 *
 * use_lite.h
 *	  Universal Sentence Encoder lite, the default model (use_lite.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_USE_LITE_H
#define SEMVEC_ENC_USE_LITE_H

#include "encoder/arch/arch.h"

/* config.json "model_type": "use_lite" (docs/use-lite.md) */
extern const EncArchOps EncArchUseLite;

#endif							/* SEMVEC_ENC_USE_LITE_H */
