/*-------------------------------------------------------------------------
 *
 * bert.c
 *	  BertModel forward pass (all-MiniLM, bge, e5, gte ...) and pooling
 *
 * Mirrors Hugging Face's BertModel in eval mode:
 *
 *	 x = LayerNorm(word_emb[id] + pos_emb[i] + type_emb[0])
 *	 per layer:  a = LayerNorm(x + O(softmax(QK^T / sqrt(d) + mask) V))
 *	             x = LayerNorm(a + W2 gelu(W1 a))
 *	 pooled = mean over real tokens, or x[0] (CLS); then optional L2 norm
 *
 * BertForSequenceClassification folders (cross-encoders such as
 * ms-marco-MiniLM-L-6-v2) add a head: score = classifier(tanh(pooler(x[0])))
 * with one label, read by rerank() through EncArchOps.score on pair inputs
 * whose token types are 0 for "[CLS] query [SEP]" and 1 for "document
 * [SEP]".  embed() refuses such a model (model->cross_encoder).
 *
 * Padding: the batch's rows are packed into one [tokens, hidden] matrix
 * without the padding, so every projection is a single product over the
 * whole batch and attention of a sentence only ever sees its own tokens.
 * Matrices are torch's nn.Linear weights, [out][in], used as published
 * (kernels/linear.h).
 * A sentence's vector therefore does not depend on what it is batched with.
 *
 * Tensor names are the Hugging Face ones, with or without a "bert." prefix.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "encoder/arch/bert.h"
#include "encoder/format/json.h"
#include "encoder/format/safetensors.h"
#include "encoder/kernels/attention.h"
#include "encoder/kernels/elementwise.h"
#include "encoder/kernels/linear.h"

typedef struct BertLayer
{
	EncLinear	q,
				k,
				v;				/* [H][H] */
	EncLinear	o;				/* attention output dense */
	const float *ln1_g,
			   *ln1_b;			/* attention output LayerNorm */
	EncLinear	i;				/* intermediate [FF][H] */
	EncLinear	f;				/* output dense [H][FF] */
	const float *ln2_g,
			   *ln2_b;			/* output LayerNorm */
} BertLayer;

typedef struct Bert
{
	int			hidden;
	int			layers;
	int			heads;
	int			inter;
	int			vocab;
	int			max_pos;
	float		eps;
	EncAttention attn;			/* heads, 1/sqrt(head size) on the scores */
	bool		relu;			/* hidden_act relu instead of gelu */
	const char *prefix;			/* "" or "bert." */
	const float *word;			/* [V][H] */
	const float *pos;			/* [P][H] */
	const float *types;			/* token type rows, [T][H] */
	int			ntypes;
	bool		head;			/* cross-encoder: pooler + classifier */
	EncLinear	pooler;			/* [H][H] */
	EncLinear	classifier;		/* [1][H] */
	const float *emb_g, *emb_b;
	BertLayer  *layer;
} Bert;

/* Bind one tensor, prefixed, checking its shape */
static const float *
T(EncModel *model, Bert *b, const char *name, int64 d0, int64 d1)
{
	int64		shape[2] = {d0, d1};

	return EncModelTensor(model, psprintf("%s%s", b->prefix, name),
						  d1 < 0 ? 1 : 2, shape);
}

/* Bind the linear layer "<prefix><name>.weight" [out][in] and its bias */
static void
Linear(EncModel *model, Bert *b, const char *name, int in, int out,
	   EncLinear *l)
{
	EncModelLinear(model, l, psprintf("%s%s.weight", b->prefix, name),
				   psprintf("%s%s.bias", b->prefix, name), ENC_W_OUT_IN,
				   in, out);
}

/* Read a positive hyper-parameter from config.json */
static int
PositiveConfig(EncModel *model, const char *key, int dflt)
{
	int			v = EncConfigInt(model, key, dflt);

	if (v < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid value of \"%s\" in file \"%s\"", key,
						EncModelFile(model, "config.json")),
				 errdetail("The value must be a positive integer.")));
	return v;
}

/* Does config.json name a BertForSequenceClassification (a cross-encoder)? */
static bool
IsSequenceClassifier(EncModel *model)
{
	JsonbContainer *archs = EncJsonGetContainer(&model->config->root, "architectures");

	if (archs == NULL || !JsonContainerIsArray(archs))
		return false;
	for (int i = 0; i < JsonContainerSize(archs); i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(archs, i);
		const char *suffix = "ForSequenceClassification";

		if (v != NULL && v->type == jbvString &&
			v->val.string.len >= strlen(suffix) &&
			memcmp(v->val.string.val + v->val.string.len - strlen(suffix),
				   suffix, strlen(suffix)) == 0)
			return true;
	}
	return false;
}

/*
 * The classifier's label count: num_labels, else the size of id2label
 * (Hugging Face writes one of them), else the rows of classifier.weight
 */
static int
ClassifierLabels(EncModel *model)
{
	JsonbContainer *id2label = EncJsonGetContainer(&model->config->root, "id2label");
	SafeTensor *t;
	int			n = EncConfigInt(model, "num_labels", -1);

	if (n >= 0)
		return n;
	if (id2label != NULL && JsonContainerIsObject(id2label))
		return JsonContainerSize(id2label);
	t = SafeTensorsFind(model->weights, "classifier.weight");
	return (t != NULL && t->ndim == 2) ? (int) t->shape[0] : -1;
}

/* EncArchOps.load: read hyper-parameters and bind every tensor */
static void *
BertLoad(EncModel *model)
{
	Bert	   *b = palloc0(sizeof(Bert));
	char	   *act;
	char	   *postype;
	int			H;
	int			FF;
	int64		types;

	b->hidden = H = PositiveConfig(model, "hidden_size", 768);
	b->layers = PositiveConfig(model, "num_hidden_layers", 12);
	b->heads = PositiveConfig(model, "num_attention_heads", 12);
	b->inter = FF = PositiveConfig(model, "intermediate_size", 3072);
	b->vocab = PositiveConfig(model, "vocab_size", 30522);
	b->max_pos = PositiveConfig(model, "max_position_embeddings", 512);
	b->eps = (float) EncConfigFloat(model, "layer_norm_eps", 1e-12);
	types = PositiveConfig(model, "type_vocab_size", 2);
	if (H % b->heads != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid model config in file \"%s\"",
						EncModelFile(model, "config.json")),
				 errdetail("hidden_size %d is not a multiple of num_attention_heads %d.",
						   H, b->heads)));
	act = EncConfigString(model, "hidden_act", "gelu");
	if (strcmp(act, "gelu") == 0)
		b->relu = false;
	else if (strcmp(act, "relu") == 0)
		b->relu = true;
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported hidden_act in file \"%s\"",
						EncModelFile(model, "config.json")),
				 errdetail("hidden_act is \"%s\"; supported are \"gelu\" and \"relu\".", act)));
	postype = EncConfigString(model, "position_embedding_type", "absolute");
	if (strcmp(postype, "absolute") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported position_embedding_type in file \"%s\"",
						EncModelFile(model, "config.json")),
				 errdetail("Only \"absolute\" position embeddings are supported.")));

	b->prefix = EncModelHasTensor(model, "embeddings.word_embeddings.weight") ?
		"" : "bert.";
	b->word = T(model, b, "embeddings.word_embeddings.weight", b->vocab, H);
	b->pos = T(model, b, "embeddings.position_embeddings.weight", b->max_pos, H);
	b->types = T(model, b, "embeddings.token_type_embeddings.weight", types, H);
	b->ntypes = (int) types;
	b->emb_g = T(model, b, "embeddings.LayerNorm.weight", H, -1);
	b->emb_b = T(model, b, "embeddings.LayerNorm.bias", H, -1);

	b->layer = palloc0(sizeof(BertLayer) * b->layers);
	for (int l = 0; l < b->layers; l++)
	{
		BertLayer  *L = &b->layer[l];
		char	   *p = psprintf("encoder.layer.%d.", l);

#define LT(field, suffix, d0, d1) \
		L->field = T(model, b, psprintf("%s%s", p, suffix), d0, d1)
#define LL(field, suffix, in, out) \
		Linear(model, b, psprintf("%s%s", p, suffix), in, out, &L->field)
		LL(q, "attention.self.query", H, H);
		LL(k, "attention.self.key", H, H);
		LL(v, "attention.self.value", H, H);
		LL(o, "attention.output.dense", H, H);
		LT(ln1_g, "attention.output.LayerNorm.weight", H, -1);
		LT(ln1_b, "attention.output.LayerNorm.bias", H, -1);
		LL(i, "intermediate.dense", H, FF);
		LL(f, "output.dense", FF, H);
		LT(ln2_g, "output.LayerNorm.weight", H, -1);
		LT(ln2_b, "output.LayerNorm.bias", H, -1);
#undef LT
#undef LL
	}
	if (EncModelHasTensor(model, psprintf("%sencoder.layer.%d.attention.self.query.weight",
										   b->prefix, b->layers)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model file \"%s\" has more layers than its config",
						model->weights->path),
				 errdetail("config.json says num_hidden_layers = %d.", b->layers)));

	if (IsSequenceClassifier(model))
	{
		int			labels = ClassifierLabels(model);

		if (labels != 1)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported cross-encoder in folder \"%s\"", model->dir),
					 errdetail("The classifier has %d labels; rerank() needs a model with one (a relevance logit).",
							   labels)));
		b->head = true;
		EncModelLinear(model, &b->pooler, psprintf("%spooler.dense.weight", b->prefix),
					   psprintf("%spooler.dense.bias", b->prefix), ENC_W_OUT_IN, H, H);
		EncModelLinear(model, &b->classifier, "classifier.weight", "classifier.bias",
					   ENC_W_OUT_IN, H, 1);
		model->cross_encoder = true;
		model->pooling = ENC_POOL_CLS;	/* the head reads [CLS] */
	}

	b->attn.nheads = b->heads;
	b->attn.head_dim = H / b->heads;
	b->attn.scale = 1.0f / sqrtf((float) b->attn.head_dim);
	b->attn.scale_query = false;
	model->dim = H;
	/* Positions beyond the table cannot be embedded */
	model->max_tokens = Min(model->max_tokens, b->max_pos);
	if (model->pooling == ENC_POOL_ARCH)
		model->pooling = ENC_POOL_MEAN;
	return b;
}

/* y += x, elementwise over n floats */
static void
AddInPlace(float *y, const float *x, long n)
{
	for (long i = 0; i < n; i++)
		y[i] += x[i];
}

/*
 * The encoder stack over a batch packed without padding: returns the last
 * layer's states x[total][H]; *first_out[s] is row s's first token
 * (first[batch] = total).  types may be NULL (all token type 0).
 */
static float *
BertEncode(EncModel *model, int batch, int seq, const int32 *ids,
		   const int32 *types, const int *lengths, int **first_out)
{
	Bert	   *b = (Bert *) model->arch_state;
	int			H = b->hidden;
	int			FF = b->inter;
	int			total = 0;
	int			maxlen = 1;
	int		   *first;
	float	   *x;
	float	   *q;
	float	   *k;
	float	   *v;
	float	   *ctx;
	float	   *tmp;
	float	   *mid;
	float	   *scores;

	first = palloc(sizeof(int) * (batch + 1));
	for (int s = 0; s < batch; s++)
	{
		int			len = Min(Max(lengths[s], 1), seq);

		first[s] = total;
		total += len;
		maxlen = Max(maxlen, len);
	}
	first[batch] = total;
	if (maxlen > b->max_pos)
		elog(ERROR, "sequence of %d tokens exceeds the model's %d positions",
			 maxlen, b->max_pos);

	x = palloc(sizeof(float) * total * H);
	q = palloc(sizeof(float) * total * H);
	k = palloc(sizeof(float) * total * H);
	v = palloc(sizeof(float) * total * H);
	ctx = palloc(sizeof(float) * total * H);
	tmp = palloc(sizeof(float) * total * H);
	mid = palloc(sizeof(float) * (long) total * FF);
	scores = palloc(sizeof(float) * maxlen * maxlen);

	/* Embeddings: word + position + token type, then LayerNorm */
	for (int s = 0; s < batch; s++)
	{
		for (int i = 0; i < first[s + 1] - first[s]; i++)
		{
			int32		id = ids[(long) s * seq + i];
			int32		type = types ? types[(long) s * seq + i] : 0;
			float	   *row = x + (long) (first[s] + i) * H;
			const float *w;
			const float *p = b->pos + (long) i * H;
			const float *t;

			if (id < 0 || id >= b->vocab)
				elog(ERROR, "token id %d out of range for vocabulary of %d",
					 id, b->vocab);
			if (type < 0 || type >= b->ntypes)
				elog(ERROR, "token type %d out of range for %d token types",
					 type, b->ntypes);
			w = b->word + (long) id * H;
			t = b->types + (long) type * H;
			for (int j = 0; j < H; j++)
				row[j] = w[j] + p[j] + t[j];
		}
	}
	EncLayerNorm(x, total, H, b->emb_g, b->emb_b, b->eps);

	for (int l = 0; l < b->layers; l++)
	{
		BertLayer  *L = &b->layer[l];

		CHECK_FOR_INTERRUPTS();
		EncLinearApply(&L->q, x, total, q, false);
		EncLinearApply(&L->k, x, total, k, false);
		EncLinearApply(&L->v, x, total, v, false);
		for (int s = 0; s < batch; s++)
		{
			long		o = (long) first[s] * H;

			EncSelfAttention(&b->attn, q + o, k + o, v + o, H,
							 first[s + 1] - first[s], ctx + o, H, scores);
		}
		/* attention output: LayerNorm(x + dense(ctx)) */
		EncLinearApply(&L->o, ctx, total, tmp, false);
		AddInPlace(tmp, x, (long) total * H);
		EncLayerNorm(tmp, total, H, L->ln1_g, L->ln1_b, b->eps);
		/* feed-forward: LayerNorm(a + W2 act(W1 a)) */
		EncLinearApply(&L->i, tmp, total, mid, false);
		if (b->relu)
			EncRelu(mid, (long) total * FF);
		else
			EncGelu(mid, (long) total * FF);
		EncLinearApply(&L->f, mid, total, x, false);
		AddInPlace(x, tmp, (long) total * H);
		EncLayerNorm(x, total, H, L->ln2_g, L->ln2_b, b->eps);
	}
	pfree(q);
	pfree(k);
	pfree(v);
	pfree(ctx);
	pfree(tmp);
	pfree(mid);
	pfree(scores);
	*first_out = first;
	return x;
}

/* EncArchOps.forward (see arch.h): encode, pool, normalise */
static void
BertForward(EncModel *model, int batch, int seq, const int32 *ids,
			const int *lengths, float *out)
{
	Bert	   *b = (Bert *) model->arch_state;
	int			H = b->hidden;
	int		   *first;
	float	   *x = BertEncode(model, batch, seq, ids, NULL, lengths, &first);

	for (int s = 0; s < batch; s++)
	{
		float	   *o = out + (long) s * H;
		int			n = first[s + 1] - first[s];
		const float *rows = x + (long) first[s] * H;

		if (model->pooling == ENC_POOL_CLS)
			memcpy(o, rows, sizeof(float) * H);
		else
		{
			memset(o, 0, sizeof(float) * H);
			for (int i = 0; i < n; i++)
				AddInPlace(o, rows + (long) i * H, H);
			for (int j = 0; j < H; j++)
				o[j] /= n;
		}
		if (model->normalize)
			EncL2Normalize(o, H, 1e-24f);
	}
}

/*
 * EncArchOps.score (cross-encoders): classifier(tanh(pooler(x[CLS]))) of
 * each pair input
 */
static void
BertScore(EncModel *model, int batch, int seq, const int32 *ids,
		  const int32 *types, const int *lengths, float *out)
{
	Bert	   *b = (Bert *) model->arch_state;
	int			H = b->hidden;
	int		   *first;
	float	   *x = BertEncode(model, batch, seq, ids, types, lengths, &first);
	float	   *cls = palloc(sizeof(float) * batch * H);
	float	   *pooled = palloc(sizeof(float) * batch * H);

	if (!b->head)
		elog(ERROR, "model \"%s\" has no classification head", model->name);
	for (int s = 0; s < batch; s++)
		memcpy(cls + (long) s * H, x + (long) first[s] * H, sizeof(float) * H);
	EncLinearApply(&b->pooler, cls, batch, pooled, false);
	for (long i = 0; i < (long) batch * H; i++)
		pooled[i] = tanhf(pooled[i]);
	EncLinearApply(&b->classifier, pooled, batch, out, false);
}

const EncArchOps EncArchBert = {
	.name = "bert",
	.load = BertLoad,
	.forward = BertForward,
	.score = BertScore,
};
