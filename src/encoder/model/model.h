/*-------------------------------------------------------------------------
 *
 * model.h
 *	  A loaded model (EncModel): built from its folder, and what its
 *	  architecture reads from it (model.c)
 *
 * A model is a folder in the Hugging Face / sentence-transformers layout
 * (docs/encbert.md), built into an EncModel by load.c and kept for the
 * backend by cache.c.  Everything a model owns lives in its memory
 * context, a child of TopMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_MODEL_H
#define SEMVEC_ENC_MODEL_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "encoder/kernels/linear.h"
#include "encoder/model/search_path.h"
#include "encoder/model/st_config.h"
#include "encoder/tokenizers/tokenizer.h"

struct EncArchOps;
struct SafeTensors;

typedef struct EncModel
{
	char		name[ENC_MAX_NAME];
	char	   *dir;			/* absolute folder path */
	MemoryContext mcxt;			/* owns everything below */
	Jsonb	   *config;			/* parsed config.json */
	const struct EncArchOps *arch;
	void	   *arch_state;
	EncTokenizer *tokenizer;
	int			dim;			/* output dimension */
	int			max_tokens;		/* truncation length, specials included */
	EncPooling	pooling;
	bool		normalize;		/* L2-normalise the output */
	bool		with_specials;	/* inputs carry the tokenizer's [CLS]/[SEP]
								 * (false for static models, which skip them) */
	bool		cross_encoder;	/* scores pairs (arch->score); embeds nothing */
	struct SafeTensors *weights;
	Size		packed_bytes;	/* kernel copies made at load (EncModelLinear) */
	void	   *pack_arena;		/* where they are (model.c) */
} EncModel;

/* Free a model and everything it owns */
extern void EncModelFree(EncModel *model);

/* Path of a file inside the model folder (palloc'd) */
extern char *EncModelFile(EncModel *model, const char *relpath);

/*
 * For architectures, at load.  EncModelTensor returns a tensor's float32
 * data after checking its rank and shape (shape[i] < 0 accepts any size);
 * a missing tensor is an error.
 */
extern const float *EncModelTensor(EncModel *model, const char *name,
								   int ndim, const int64 *shape);
extern bool EncModelHasTensor(EncModel *model, const char *name);

/*
 * Bind a linear layer: weight tensor wname, [in][out] or [out][in] as
 * layout says, and bias tensor bname ([out]; NULL for none).  Any
 * kernel-specific copy the layer wants (kernels/linear.h) is made here, in
 * the model's memory.
 */
extern void EncModelLinear(EncModel *model, EncLinear *l, const char *wname,
						   const char *bname, EncWeightLayout layout,
						   int in, int out);

/* The architecture has bound everything: release what only the load needed */
extern void EncModelLoadFinish(EncModel *model);

/* config.json values, or dflt when absent; a wrong type is an error */
extern int	EncConfigInt(EncModel *model, const char *key, int dflt);
extern double EncConfigFloat(EncModel *model, const char *key, double dflt);
extern char *EncConfigString(EncModel *model, const char *key, const char *dflt);

#endif							/* SEMVEC_ENC_MODEL_H */
