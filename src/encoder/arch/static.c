/*-------------------------------------------------------------------------
 *
 * static.c
 *	  Static word-vector models: one vector per token, averaged
 *
 * The Model2Vec layout: config.json ("model_type": "model2vec",
 * "normalize", optionally "hidden_dim" and "seq_length"), tokenizer.json
 * (any tokenizer semvec runs; WordLevel for word vectors such as GloVe) and
 * model.safetensors with one matrix "embeddings" [vocab][dim].  A text's
 * vector is the mean of its tokens' rows, L2-normalised when the config
 * says "normalize": true (or modules.json has a Normalize module).  As in
 * Model2Vec, texts are tokenized without special tokens ([CLS]/[SEP]) and
 * unknown tokens ([UNK]) are skipped; a text with no known token gets the
 * zero vector.
 *
 * There is no attention and no matrix product: a forward pass reads one
 * row per token, so it is bound by memory, and the matrix (mmapped when
 * F32) is shared by all backends through the page cache.  F16/BF16
 * matrices are converted to a private F32 copy at load.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "encoder/arch/static.h"
#include "encoder/format/json.h"
#include "encoder/format/safetensors.h"
#include "encoder/kernels/elementwise.h"

#define STATIC_TENSOR "embeddings"
#define STATIC_MAX_SEQ 1000000

typedef struct StaticModel
{
	int			vocab;
	int			dim;
	const float *rows;			/* [vocab][dim] */
	int32		unk_id;			/* skipped; -1 when the tokenizer has none */
} StaticModel;

/* EncArchOps.load: the matrix, its shape and the tokens to skip */
static void *
StaticLoad(EncModel *model)
{
	StaticModel *sm = palloc0(sizeof(StaticModel));
	SafeTensor *t = SafeTensorsFind(model->weights, STATIC_TENSOR);
	int64		shape[2];
	JsonbValue	v;
	int			hidden;
	int			seq;

	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("missing tensor \"%s\" in file \"%s\"", STATIC_TENSOR,
						model->weights->path)));
	if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1 ||
		t->shape[0] > PG_INT32_MAX || t->shape[1] > 16000)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid tensor \"%s\" in file \"%s\"", STATIC_TENSOR,
						model->weights->path),
				 errdetail("Expected a [vocabulary, dimensions] matrix with 1 to 16000 dimensions.")));
	sm->vocab = (int) t->shape[0];
	sm->dim = (int) t->shape[1];
	hidden = EncConfigInt(model, "hidden_dim", sm->dim);
	if (hidden != sm->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid tensor \"%s\" in file \"%s\"", STATIC_TENSOR,
						model->weights->path),
				 errdetail("It has %d dimensions; config.json says hidden_dim = %d.",
						   sm->dim, hidden)));
	shape[0] = sm->vocab;
	shape[1] = sm->dim;
	sm->rows = EncModelTensor(model, STATIC_TENSOR, 2, shape);

	if (model->pooling == ENC_POOL_CLS)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported pooling for static model \"%s\"", model->name),
				 errdetail("Static models average their tokens; CLS pooling is not supported.")));
	model->pooling = ENC_POOL_MEAN;
	if (EncJsonGet(&model->config->root, "normalize", &v))
	{
		if (v.type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid value of \"normalize\" in file \"%s\"",
							EncModelFile(model, "config.json")),
					 errdetail("Expected true or false.")));
		model->normalize = model->normalize || v.val.boolean;
	}
	/* no position table: the length is the config's (Model2Vec: 512 by default) */
	seq = EncConfigInt(model, "seq_length", 512);
	if (seq < 1 || seq > STATIC_MAX_SEQ)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid value of \"seq_length\" in file \"%s\"",
						EncModelFile(model, "config.json")),
				 errdetail("seq_length must be between 1 and %d.", STATIC_MAX_SEQ)));
	model->max_tokens = seq;

	sm->unk_id = model->tokenizer->ops->special_id == NULL ? -1 :
		model->tokenizer->ops->special_id(model->tokenizer, ENC_TOKEN_UNK);
	/* Model2Vec tokenizes without special tokens */
	model->with_specials = false;
	model->dim = sm->dim;
	return sm;
}

/* EncArchOps.forward: mean of the rows of each text's tokens */
static void
StaticForward(EncModel *model, int batch, int seq, const int32 *ids,
			  const int *lengths, float *out)
{
	StaticModel *sm = (StaticModel *) model->arch_state;
	int			dim = sm->dim;

	for (int b = 0; b < batch; b++)
	{
		float	   *o = out + (long) b * dim;
		const int32 *row = ids + (long) b * seq;
		int			n = Min(lengths[b], seq);
		int			used = 0;

		CHECK_FOR_INTERRUPTS();
		memset(o, 0, sizeof(float) * dim);
		for (int i = 0; i < n; i++)
		{
			int32		id = row[i];
			const float *r;

			if (id == sm->unk_id)
				continue;
			if (id < 0 || id >= sm->vocab)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("token id %d out of range for model \"%s\"", id, model->name),
						 errdetail("The tokenizer's vocabulary is larger than the %d rows of tensor \"%s\".",
								   sm->vocab, STATIC_TENSOR)));
			r = sm->rows + (long) id * dim;
			for (int j = 0; j < dim; j++)
				o[j] += r[j];
			used++;
		}
		if (used == 0)
			continue;			/* no known token: the zero vector */
		for (int j = 0; j < dim; j++)
			o[j] /= used;
		if (model->normalize)
			EncL2Normalize(o, dim, 1e-24f);
	}
}

const EncArchOps EncArchStatic = {
	.name = "static",
	.load = StaticLoad,
	.forward = StaticForward,
};
