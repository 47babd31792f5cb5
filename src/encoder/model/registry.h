/*-------------------------------------------------------------------------
 *
 * registry.h
 *	  The architectures and tokenizers semvec runs, by the names model
 *	  folders use (registry.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_REGISTRY_H
#define SEMVEC_ENC_REGISTRY_H

#include "encoder/arch/arch.h"
#include "encoder/tokenizers/tokenizer.h"

/*
 * The architecture of a config.json: by "model_type" (may be NULL), else by
 * an entry of "architectures" (a JSON array, may be NULL) whose class name
 * starts with a registered prefix; NULL when none matches
 */
extern const EncArchOps *EncRegistryArch(const char *model_type,
										 JsonbContainer *architectures);

/* Load function for tokenizer.json's "model.type"; NULL when unsupported */
extern EncTokenizerLoadFn EncRegistryTokenizer(const char *type);

/* Load function for a folder with vocab.txt and no tokenizer.json */
extern EncTokenizerLoadFn EncRegistryVocabTxtTokenizer(void);

/* For error details: "\"use_lite\", \"bert\" (Bert*)" and "\"Unigram\", \"WordPiece\"" */
extern char *EncRegistryArchNames(void);
extern char *EncRegistryTokenizerNames(void);

#endif							/* SEMVEC_ENC_REGISTRY_H */
