/*-------------------------------------------------------------------------
 *
 * model.h
 *	  A trained adapter as a model: "base+name" (model.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_ADAPTER_MODEL_H
#define SEMVEC_ENC_ADAPTER_MODEL_H

#include "encoder/model/model.h"

/* Suffix of the document side's name: "base+name:doc" */
#define ENC_ADAPTER_DOC_SUFFIX ":doc"

/*
 * Split "base+name[:doc]" into its parts (palloc'd); false when name has
 * no "+".  Malformed names are errors.
 */
extern bool EncAdapterParseName(const char *name, char **base, char **adapter,
								bool *doc_side);

/*
 * Build the model "base+name[:doc]" over the loaded base model: the base's
 * tokenizer and forward pass, then the adapter's map and L2 normalisation.
 * The result owns its memory context, not the base.
 */
extern EncModel *EncAdapterModelLoad(const char *name, EncModel *base);

/* Still the adapter's current row (checked through the catalog)? */
extern bool EncAdapterModelCurrent(EncModel *model);

/* The base model an adapter model wraps */
extern EncModel *EncAdapterModelBase(EncModel *model);

/* Is this model an adapter ("base+name")? */
extern bool EncIsAdapterModel(EncModel *model);

/* out[n][dims] = normalize(in[n][dims] M^T) with the adapter's map */
extern void EncAdapterApply(EncModel *model, const float *in, int n, float *out);

#endif							/* SEMVEC_ENC_ADAPTER_MODEL_H */
