/*-------------------------------------------------------------------------
 *
 * train.c
 *	  Contrastive training of a linear adapter (see train.h)
 *
 * One step, for a batch of b pairs (query i, positive p_i) and c candidate
 * documents (the b positives first, then each pair's hard negatives):
 *
 *	 u_i = W q_i            q'_i = u_i / |u_i|
 *	 e_j = V d_j            d'_j = e_j / |e_j|         (d'_j = d_j without V)
 *	 s_ij = q'_i . d'_j / tau, over the columns j not masked for row i
 *	 L = mean_i ( logsumexp_j s_ij - s_i,target(i) )
 *
 * Columns holding another positive of row i's query are masked (they are
 * not negatives).  The gradient goes back through the normalisations:
 * dL/du_i = (g_i - q'_i (g_i . q'_i)) / |u_i| with g_i = dL/dq'_i, and
 * dL/dW = sum_i dL/du_i q_i^T; the same on the document side.  Every
 * product is one cblas_sgemm.  Steps are Adam's; the regulariser
 * lambda |W - I|^2 adds 2 lambda (W - I) to each step's gradient.
 *
 * Hard negatives: for each training query, the hard_pool documents most
 * similar to it under the base model (its positives excluded), mined once
 * before training; each step draws hard_negatives of them per pair.
 * Re-mining with the adapter during training was tried in the prototype and
 * did not help on the validation queries.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "encoder/adapter/train.h"

#define ADAPTER_NDCG_BLOCK 64	/* query rows per similarity block */
#define ADAPTER_EPS 1e-12f

/* xoshiro256** seeded through splitmix64: the same sequence everywhere */
typedef struct AdapterRng
{
	uint64_t	s[4];
} AdapterRng;

static uint64_t
SplitMix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void
RngSeed(AdapterRng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = SplitMix64(&seed);
}

static inline uint64_t
Rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
RngNext(AdapterRng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = Rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = Rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n), n >= 1 (multiply-shift; the bias is below 2^-32 * n) */
static int
RngBelow(AdapterRng *r, int n)
{
	return (int) (((RngNext(r) >> 32) * (uint64_t) n) >> 32);
}

static void
Shuffle(AdapterRng *r, int *a, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = RngBelow(r, i + 1);
		int			t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

void
AdapterDefaultOptions(AdapterOptions *opt)
{
	opt->epochs = 100;
	opt->batch = 64;
	opt->hard_negatives = 16;
	opt->hard_pool = 100;
	opt->patience = 8;
	opt->validation = 0.15;
	opt->temperature = 0.03;
	opt->regularization = 3e-3;
	opt->learning_rate = 1e-3;
	opt->seed = 0;
	opt->doc_map = false;
}

/* dst[n][dim] = src rows scaled to unit length (zero rows stay zero) */
static void
NormalizeRows(const float *src, int n, int dim, float *dst, float *norms)
{
	for (long i = 0; i < n; i++)
	{
		const float *x = src + i * dim;
		double		ss = 0;
		float		inv;

		for (int k = 0; k < dim; k++)
			ss += (double) x[k] * x[k];
		inv = ss > 0 ? (float) (1.0 / sqrt(ss)) : 0.0f;
		if (norms)
			norms[i] = ss > 0 ? (float) sqrt(ss) : ADAPTER_EPS;
		for (int k = 0; k < dim; k++)
			dst[i * dim + k] = x[k] * inv;
	}
}

/* y[n][dim] = normalize(x[n][dim] M^T); x and y must not overlap */
static void
MapRows(const float *m, const float *x, int n, int dim, float *y)
{
	if (n == 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, dim, dim,
				1.0f, x, dim, m, dim, 0.0f, y, dim);
	NormalizeRows(y, n, dim, y, NULL);
}

static bool
IsPositive(const AdapterData *data, int query, int doc)
{
	for (int k = data->pos_start[query]; k < data->pos_start[query + 1]; k++)
		if (data->pos_doc[k] == doc)
			return true;
	return false;
}

/* grad through x' = u / |u| for each row: g <- (g - x'(g . x')) / |u| */
static void
BackNormalize(float *g, const float *xn, const float *norms, int n, int dim)
{
	for (long i = 0; i < n; i++)
	{
		float	   *gi = g + i * dim;
		const float *xi = xn + i * dim;
		double		dot = 0;

		for (int k = 0; k < dim; k++)
			dot += (double) gi[k] * xi[k];
		for (int k = 0; k < dim; k++)
			gi[k] = (float) ((gi[k] - xi[k] * dot) / norms[i]);
	}
}

size_t
AdapterStepScratch(int b, int c, int dim)
{
	return (size_t) 4 * b * dim + b + (size_t) 2 * c * dim + c + (size_t) b * c;
}

double
AdapterStep(const float *w, const float *v, int dim,
			const float *qb, int b, const float *dc, int c,
			const int *target, const bool *mask, double temperature,
			float *gw, float *gv, float *scratch)
{
	float	   *u = scratch;
	float	   *qp = u + (size_t) b * dim;
	float	   *gqp = qp + (size_t) b * dim;
	float	   *unorm = gqp + (size_t) b * dim;
	float	   *ud = unorm + b;
	float	   *gdp = ud + (size_t) c * dim;
	float	   *dnorm = gdp + (size_t) c * dim;
	float	   *s = dnorm + c;
	const float *dp = dc;
	double		loss = 0;

	/* forward: q' and d' */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, dim, dim,
				1.0f, qb, dim, w, dim, 0.0f, u, dim);
	NormalizeRows(u, b, dim, qp, unorm);
	if (v)
	{
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, dim, dim,
					1.0f, dc, dim, v, dim, 0.0f, ud, dim);
		NormalizeRows(ud, c, dim, ud, dnorm);
		dp = ud;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, c, dim,
				1.0f, qp, dim, dp, dim, 0.0f, s, c);

	/* softmax over the unmasked columns; s becomes dL/ds (with 1/tau) */
	for (int i = 0; i < b; i++)
	{
		float	   *si = s + (size_t) i * c;
		const bool *mi = mask + (size_t) i * c;
		double		mx = -INFINITY,
					sum = 0;

		for (int j = 0; j < c; j++)
			if (!mi[j] && si[j] / temperature > mx)
				mx = si[j] / temperature;
		for (int j = 0; j < c; j++)
			if (!mi[j])
				sum += exp(si[j] / temperature - mx);
		loss += log(sum) + mx - si[target[i]] / temperature;
		for (int j = 0; j < c; j++)
		{
			double		p = mi[j] ? 0.0 : exp(si[j] / temperature - mx) / sum;

			si[j] = (float) ((p - (j == target[i])) / temperature / b);
		}
	}

	/* backward: dL/dq' = G d', then through the normalisation, then W */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, dim, c,
				1.0f, s, c, dp, dim, 0.0f, gqp, dim);
	BackNormalize(gqp, qp, unorm, b, dim);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dim, dim, b,
				1.0f, gqp, dim, qb, dim, 0.0f, gw, dim);
	if (v)
	{
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, dim, b,
					1.0f, s, c, qp, dim, 0.0f, gdp, dim);
		BackNormalize(gdp, ud, dnorm, c, dim);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dim, dim, c,
					1.0f, gdp, dim, dc, dim, 0.0f, gv, dim);
	}
	return loss / b;
}

double
AdapterNdcg10(const AdapterData *data, const float *qn, const float *dn,
			  const int *qs, int n, float *scratch, size_t scratch_floats)
{
	int			block = (int) (scratch_floats / (data->nd > 0 ? data->nd : 1));
	double		total = 0;

	if (n == 0)
		return -1;
	if (block > ADAPTER_NDCG_BLOCK)
		block = ADAPTER_NDCG_BLOCK;
	if (block < 1)
		block = 1;
	for (int s0 = 0; s0 < n; s0 += block)
	{
		int			rows = n - s0 < block ? n - s0 : block;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, data->nd,
					data->dim, 1.0f, qn + (size_t) s0 * data->dim, data->dim,
					dn, data->dim, 0.0f, scratch, data->nd);
		for (int r = 0; r < rows; r++)
		{
			const float *sr = scratch + (size_t) r * data->nd;
			int			q = qs[s0 + r];
			int			top[10];
			int			ntop = 0;
			int			npos = data->pos_start[q + 1] - data->pos_start[q];
			double		dcg = 0,
						idcg = 0;

			/* top 10 by score, lower index first on ties */
			for (int j = 0; j < data->nd; j++)
			{
				int			at;

				if (ntop == 10 && !(sr[j] > sr[top[9]]))
					continue;
				at = ntop < 10 ? ntop++ : 9;
				while (at > 0 && sr[j] > sr[top[at - 1]])
				{
					top[at] = top[at - 1];
					at--;
				}
				top[at] = j;
			}
			for (int k = 0; k < ntop; k++)
				if (IsPositive(data, q, top[k]))
					dcg += 1.0 / log2(k + 2.0);
			for (int k = 0; k < npos && k < 10; k++)
				idcg += 1.0 / log2(k + 2.0);
			total += idcg > 0 ? dcg / idcg : 0;
		}
	}
	return total / n;
}

/*
 * For each training query, its hard_pool most similar documents that are
 * not its positives, most similar first: hard[t * pool + k], count in
 * nhard[t].
 */
static void
MineHardNegatives(const AdapterData *data, const float *qn, const float *dn,
				  const int *train, int ntrain, int pool, int *hard,
				  int *nhard, float *scratch, size_t scratch_floats,
				  const AdapterHooks *hooks)
{
	int			block = (int) (scratch_floats / (data->nd > 0 ? data->nd : 1));

	if (block > ADAPTER_NDCG_BLOCK)
		block = ADAPTER_NDCG_BLOCK;
	if (block < 1)
		block = 1;
	for (int s0 = 0; s0 < ntrain; s0 += block)
	{
		int			rows = ntrain - s0 < block ? ntrain - s0 : block;

		for (int r = 0; r < rows; r++)
			memcpy(scratch + (size_t) r * data->dim,
				   qn + (size_t) train[s0 + r] * data->dim,
				   sizeof(float) * data->dim);
		/* the query rows were copied to the front; products go after them */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, data->nd,
					data->dim, 1.0f, scratch, data->dim, dn, data->dim, 0.0f,
					scratch + (size_t) block * data->dim, data->nd);
		for (int r = 0; r < rows; r++)
		{
			const float *sr = scratch + (size_t) block * data->dim + (size_t) r * data->nd;
			int			q = train[s0 + r];
			int		   *h = hard + (size_t) (s0 + r) * pool;
			int			n = 0;

			for (int j = 0; j < data->nd; j++)
			{
				int			at;

				if (n == pool && !(sr[j] > sr[h[pool - 1]]))
					continue;
				if (IsPositive(data, q, j))
					continue;
				at = n < pool ? n++ : pool - 1;
				while (at > 0 && sr[j] > sr[h[at - 1]])
				{
					h[at] = h[at - 1];
					at--;
				}
				h[at] = j;
			}
			nhard[s0 + r] = n;
		}
		if (hooks->check)
			hooks->check(hooks->arg);
	}
}

typedef struct AdamState
{
	float	   *m;
	float	   *v;
} AdamState;

/* param -= lr * mhat / (sqrt(vhat) + eps), with grad += 2 lambda (param - I) */
static void
AdamUpdate(float *param, float *grad, AdamState *st, int dim, long t,
		   double lr, double lambda)
{
	const double b1 = 0.9,
				b2 = 0.999,
				eps = 1e-8;
	double		c1 = 1 - pow(b1, (double) t),
				c2 = 1 - pow(b2, (double) t);

	for (long i = 0; i < (long) dim * dim; i++)
	{
		double		id = (i / dim == i % dim) ? 1.0 : 0.0;
		double		g = grad[i] + 2 * lambda * (param[i] - id);

		st->m[i] = (float) (b1 * st->m[i] + (1 - b1) * g);
		st->v[i] = (float) (b2 * st->v[i] + (1 - b2) * g * g);
		param[i] -= (float) (lr * (st->m[i] / c1) / (sqrt(st->v[i] / c2) + eps));
	}
}

static void
SetIdentity(float *m, int dim)
{
	memset(m, 0, sizeof(float) * dim * dim);
	for (int i = 0; i < dim; i++)
		m[(size_t) i * dim + i] = 1.0f;
}

void
AdapterTrain(const AdapterData *data, const AdapterOptions *opt,
			 const AdapterHooks *hooks, AdapterResult *res)
{
	int			dim = data->dim;
	size_t		dd = (size_t) dim * dim;
	AdapterRng	rng;
	int		   *order,
			   *train,
			   *val,
			   *pairs_q,
			   *pairs_d,
			   *hard,
			   *nhard,
			   *train_slot,
			   *perm,
			   *pick,
			   *target,
			   *cols;
	int			ntrain,
				nval,
				npairs = 0,
				pool,
				maxc;
	float	   *qn,
			   *dn,
			   *w,
			   *v = NULL,
			   *bestw,
			   *bestv = NULL,
			   *gw,
			   *gv = NULL,
			   *qb,
			   *dc,
			   *step_scratch,
			   *vq,
			   *vd,
			   *rank_scratch;
	bool	   *mask;
	size_t		rank_floats;
	AdamState	adam_w,
				adam_v = {NULL, NULL};
	long		t = 0;
	int			since_best = 0;

#define ALLOC(type, n) ((type *) hooks->alloc(hooks->arg, sizeof(type) * (size_t) (n)))

	memset(res, 0, sizeof(*res));
	RngSeed(&rng, opt->seed);

	/* normalised copies of the inputs */
	qn = ALLOC(float, (size_t) data->nq * dim);
	dn = ALLOC(float, (size_t) data->nd * dim);
	NormalizeRows(data->q, data->nq, dim, qn, NULL);
	NormalizeRows(data->d, data->nd, dim, dn, NULL);

	/* split the queries: a seeded shuffle, the first share held out */
	order = ALLOC(int, data->nq);
	for (int i = 0; i < data->nq; i++)
		order[i] = i;
	Shuffle(&rng, order, data->nq);
	nval = (int) floor(data->nq * opt->validation + 0.5);
	if (nval >= data->nq)
		nval = data->nq - 1;
	if (nval < 0)
		nval = 0;
	ntrain = data->nq - nval;
	val = order;
	train = order + nval;

	/* pairs of the training queries */
	train_slot = ALLOC(int, data->nq);
	for (int i = 0; i < ntrain; i++)
	{
		train_slot[train[i]] = i;
		npairs += data->pos_start[train[i] + 1] - data->pos_start[train[i]];
	}
	pairs_q = ALLOC(int, npairs);
	pairs_d = ALLOC(int, npairs);
	npairs = 0;
	for (int i = 0; i < ntrain; i++)
		for (int k = data->pos_start[train[i]]; k < data->pos_start[train[i] + 1]; k++)
		{
			pairs_q[npairs] = train[i];
			pairs_d[npairs++] = data->pos_doc[k];
		}

	/* ranking scratch: a block of query rows plus their similarities */
	rank_floats = (size_t) ADAPTER_NDCG_BLOCK * ((size_t) data->nd + dim);
	rank_scratch = ALLOC(float, rank_floats);

	/* hard negatives under the base model */
	pool = opt->hard_negatives > 0 ? opt->hard_pool : 0;
	if (pool > data->nd)
		pool = data->nd;
	if (pool < opt->hard_negatives)
		pool = opt->hard_negatives < data->nd ? opt->hard_negatives : data->nd;
	hard = ALLOC(int, (size_t) ntrain * (pool > 0 ? pool : 1));
	nhard = ALLOC(int, ntrain);
	if (pool > 0)
		MineHardNegatives(data, qn, dn, train, ntrain, pool, hard, nhard,
						  rank_scratch, rank_floats, hooks);

	/* parameters, best copies, optimiser state */
	w = ALLOC(float, dd);
	bestw = ALLOC(float, dd);
	gw = ALLOC(float, dd);
	adam_w.m = ALLOC(float, dd);
	adam_w.v = ALLOC(float, dd);
	SetIdentity(w, dim);
	SetIdentity(bestw, dim);
	if (opt->doc_map)
	{
		v = ALLOC(float, dd);
		bestv = ALLOC(float, dd);
		gv = ALLOC(float, dd);
		adam_v.m = ALLOC(float, dd);
		adam_v.v = ALLOC(float, dd);
		SetIdentity(v, dim);
		SetIdentity(bestv, dim);
	}

	/* per-step buffers */
	{
		int			k = opt->hard_negatives < pool ? opt->hard_negatives : pool;

		maxc = opt->batch * (1 + k);
	}
	qb = ALLOC(float, (size_t) opt->batch * dim);
	dc = ALLOC(float, (size_t) maxc * dim);
	cols = ALLOC(int, maxc);
	target = ALLOC(int, opt->batch);
	mask = ALLOC(bool, (size_t) opt->batch * maxc);
	step_scratch = ALLOC(float, AdapterStepScratch(opt->batch, maxc, dim));
	perm = ALLOC(int, npairs);
	pick = ALLOC(int, pool > 0 ? pool : 1);
	vq = ALLOC(float, (size_t) (nval > 0 ? nval : 1) * dim);
	vd = opt->doc_map ? ALLOC(float, (size_t) data->nd * dim) : dn;

	/* the identity's validation score */
	if (nval > 0)
	{
		for (int i = 0; i < nval; i++)
			memcpy(vq + (size_t) i * dim, qn + (size_t) val[i] * dim, sizeof(float) * dim);
		res->base_val = AdapterNdcg10(data, vq, dn, val, nval, rank_scratch, rank_floats);
	}
	else
		res->base_val = -1;
	res->best_val = res->base_val;
	res->best_epoch = 0;

	for (int i = 0; i < npairs; i++)
		perm[i] = i;

	for (int epoch = 1; epoch <= opt->epochs && npairs > 0; epoch++)
	{
		double		loss_sum = 0;
		int			steps = 0;
		double		score = -1;
		bool		best = false;

		Shuffle(&rng, perm, npairs);
		for (int s0 = 0; s0 < npairs; s0 += opt->batch)
		{
			int			b = npairs - s0 < opt->batch ? npairs - s0 : opt->batch;
			int			c = b;

			/* rows, their positives as the first b columns */
			for (int i = 0; i < b; i++)
			{
				int			p = perm[s0 + i];

				memcpy(qb + (size_t) i * dim, qn + (size_t) pairs_q[p] * dim, sizeof(float) * dim);
				cols[i] = pairs_d[p];
				target[i] = i;
			}
			/* each pair's hard negatives, drawn without replacement */
			for (int i = 0; i < b; i++)
			{
				int			slot = train_slot[pairs_q[perm[s0 + i]]];
				int			avail = nhard[slot];
				int			k = opt->hard_negatives < avail ? opt->hard_negatives : avail;

				memcpy(pick, hard + (size_t) slot * pool, sizeof(int) * avail);
				for (int j = 0; j < k; j++)
				{
					int			r = j + RngBelow(&rng, avail - j);
					int			tmp = pick[j];

					pick[j] = pick[r];
					pick[r] = tmp;
					cols[c++] = pick[j];
				}
			}
			for (int j = 0; j < c; j++)
				memcpy(dc + (size_t) j * dim, dn + (size_t) cols[j] * dim, sizeof(float) * dim);
			/* other positives of a row's query are not its negatives */
			for (int i = 0; i < b; i++)
			{
				int			q = pairs_q[perm[s0 + i]];

				for (int j = 0; j < c; j++)
					mask[(size_t) i * c + j] = j != target[i] && IsPositive(data, q, cols[j]);
			}

			loss_sum += AdapterStep(w, v, dim, qb, b, dc, c, target, mask,
									opt->temperature, gw, gv, step_scratch);
			steps++;
			t++;
			AdamUpdate(w, gw, &adam_w, dim, t, opt->learning_rate, opt->regularization);
			if (v)
				AdamUpdate(v, gv, &adam_v, dim, t, opt->learning_rate, opt->regularization);
			if (hooks->check)
				hooks->check(hooks->arg);
		}
		res->epochs_run = epoch;

		if (nval > 0)
		{
			/* the held-out rows of qn (copied to qb's slot), mapped into vq */
			for (int s0 = 0; s0 < nval; s0 += opt->batch)
			{
				int			rows = nval - s0 < opt->batch ? nval - s0 : opt->batch;

				for (int i = 0; i < rows; i++)
					memcpy(qb + (size_t) i * dim, qn + (size_t) val[s0 + i] * dim, sizeof(float) * dim);
				MapRows(w, qb, rows, dim, vq + (size_t) s0 * dim);
			}
			if (v)
				MapRows(v, data->d, data->nd, dim, vd);
			score = AdapterNdcg10(data, vq, vd, val, nval, rank_scratch, rank_floats);
			if (score > res->best_val)
			{
				best = true;
				res->best_val = score;
				res->best_epoch = epoch;
				memcpy(bestw, w, sizeof(float) * dd);
				if (v)
					memcpy(bestv, v, sizeof(float) * dd);
				since_best = 0;
			}
			else
				since_best++;
		}
		else
		{
			best = true;
			res->best_epoch = epoch;
			memcpy(bestw, w, sizeof(float) * dd);
			if (v)
				memcpy(bestv, v, sizeof(float) * dd);
		}
		if (hooks->epoch)
			hooks->epoch(hooks->arg, epoch, loss_sum / steps, score, best);
		if (nval > 0 && since_best >= opt->patience)
			break;
	}

	res->w = bestw;
	res->v = bestv;
	res->train_queries = ntrain;
	res->val_queries = nval;
	res->train_pairs = npairs;
#undef ALLOC
}
