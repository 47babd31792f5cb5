/*-------------------------------------------------------------------------
 *
 * bert.h
 *	  Hugging Face BertModel (bert.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_BERT_H
#define SEMVEC_ENC_BERT_H

#include "encoder/arch/arch.h"

/* config.json "model_type": "bert", or an "architectures" entry Bert* */
extern const EncArchOps EncArchBert;

#endif							/* SEMVEC_ENC_BERT_H */
