/*
 * Unit test of src/encoder/train.c:
 *  - AdapterStep's gradients against central finite differences of its loss
 *    (query map and document map, with masked columns);
 *  - training on synthetic data whose queries are a fixed linear distortion
 *    of their positives' directions plus noise: the adapter must raise the
 *    held-out nDCG@10 well above the identity's;
 *  - the same seed gives the same matrices, another seed others;
 *  - zero epochs leave the identity.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/adapter/train.h"

static unsigned long Seed = 987654321;
static int	Failures = 0;

static double
Uniform(void)
{
	Seed = Seed * 6364136223846793005UL + 1442695040888963407UL;
	return (double) ((Seed >> 11) & ((1UL << 53) - 1)) / (double) (1UL << 53);
}

static double
Gauss(void)
{
	double		u = Uniform() + 1e-12,
				v = Uniform();

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void *
Alloc(void *arg __attribute__((unused)), size_t size)
{
	return calloc(1, size ? size : 1);
}

#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); Failures++; } } while (0)

static void
GradientCheck(int with_v)
{
	enum {D = 6, B = 3, C = 8};
	float		w[D * D], v[D * D], qb[B * D], dc[C * D], gw[D * D], gv[D * D];
	int			target[B] = {0, 1, 2};
	bool		mask[B * C] = {0};
	float	   *scratch = calloc(AdapterStepScratch(B, C, D), sizeof(float));
	double		worst = 0;

	for (int i = 0; i < D * D; i++)
	{
		w[i] = (i / D == i % D) + 0.3 * Gauss();
		v[i] = (i / D == i % D) + 0.3 * Gauss();
	}
	for (int i = 0; i < B * D; i++)
		qb[i] = Gauss();
	for (int i = 0; i < C * D; i++)
		dc[i] = Gauss();
	mask[0 * C + 5] = true;		/* another positive of row 0's query */
	mask[2 * C + 1] = true;

	AdapterStep(w, with_v ? v : NULL, D, qb, B, dc, C, target, mask, 0.5, gw, gv, scratch);
	for (int which = 0; which < (with_v ? 2 : 1); which++)
	{
		float	   *p = which ? v : w;
		float	   *g = which ? gv : gw;

		for (int i = 0; i < D * D; i++)
		{
			float		keep = p[i];
			float		h = 1e-3f;
			double		lp, lm, num;
			float		tmp[D * D];

			p[i] = keep + h;
			lp = AdapterStep(w, with_v ? v : NULL, D, qb, B, dc, C, target, mask, 0.5, tmp, tmp, scratch);
			p[i] = keep - h;
			lm = AdapterStep(w, with_v ? v : NULL, D, qb, B, dc, C, target, mask, 0.5, tmp, tmp, scratch);
			p[i] = keep;
			num = (lp - lm) / (2 * h);
			if (fabs(num - g[i]) > worst)
				worst = fabs(num - g[i]);
		}
	}
	CHECK(worst < 2e-3, "gradient (doc map %d): max |analytic - numeric| = %g", with_v, worst);
	printf("gradient check (doc map %d): max diff %.2g\n", with_v, worst);
	free(scratch);
}

typedef struct Synthetic
{
	AdapterData data;
	float	   *q, *d;
	int		   *start, *pos;
} Synthetic;

/* nd random documents; each query is A x + noise for one or two positives' mean x */
static void
MakeSynthetic(Synthetic *s, int dim, int nq, int nd)
{
	float	   *a = malloc(sizeof(float) * dim * dim);

	s->q = malloc(sizeof(float) * nq * dim);
	s->d = malloc(sizeof(float) * nd * dim);
	s->start = malloc(sizeof(int) * (nq + 1));
	s->pos = malloc(sizeof(int) * nq * 2);
	for (int i = 0; i < dim * dim; i++)
		a[i] = (i / dim == i % dim) * 0.3 + Gauss() / sqrt(dim);
	for (int i = 0; i < nd * dim; i++)
		s->d[i] = Gauss();
	s->start[0] = 0;
	for (int i = 0; i < nq; i++)
	{
		int			np = Uniform() < 0.3 ? 2 : 1;
		float		x[256] = {0};

		for (int k = 0; k < np; k++)
		{
			int			doc = (int) (Uniform() * nd);

			if (k == 1 && doc == s->pos[s->start[i]])
				doc = (doc + 1) % nd;
			s->pos[s->start[i] + k] = doc;
			for (int j = 0; j < dim; j++)
				x[j] += s->d[doc * dim + j];
		}
		s->start[i + 1] = s->start[i] + np;
		for (int r = 0; r < dim; r++)
		{
			double		acc = 0;

			for (int j = 0; j < dim; j++)
				acc += a[r * dim + j] * x[j];
			s->q[i * dim + r] = acc + 0.8 * Gauss();
		}
	}
	s->data.dim = dim;
	s->data.nq = nq;
	s->data.q = s->q;
	s->data.nd = nd;
	s->data.d = s->d;
	s->data.pos_start = s->start;
	s->data.pos_doc = s->pos;
	free(a);
}

static int	Epochs;
static void
OnEpoch(void *arg __attribute__((unused)), int epoch, double loss __attribute__((unused)),
		double val __attribute__((unused)), bool best __attribute__((unused)))
{
	Epochs = epoch;
}

int
main(void)
{
	Synthetic s;
	AdapterOptions opt;
	AdapterHooks hooks = {NULL, Alloc, NULL, OnEpoch};
	AdapterResult r1, r2, r3, r0;
	int			dim = 32;
	size_t		dd = (size_t) dim * dim;

	GradientCheck(0);
	GradientCheck(1);

	MakeSynthetic(&s, dim, 600, 800);
	AdapterDefaultOptions(&opt);
	opt.seed = 7;
	opt.temperature = 0.1;
	opt.learning_rate = 3e-3;
	opt.regularization = 1e-4;
	opt.epochs = 60;
	AdapterTrain(&s.data, &opt, &hooks, &r1);
	printf("synthetic: %d train / %d held-out queries, %d pairs; nDCG@10 identity %.4f -> %.4f (epoch %d of %d)\n",
		   r1.train_queries, r1.val_queries, r1.train_pairs, r1.base_val, r1.best_val,
		   r1.best_epoch, r1.epochs_run);
	CHECK(r1.val_queries == 90 && r1.train_queries == 510, "split %d/%d", r1.train_queries, r1.val_queries);
	CHECK(r1.best_val > r1.base_val + 0.15, "adapter did not learn: %.4f -> %.4f", r1.base_val, r1.best_val);
	CHECK(r1.best_epoch > 0 && r1.v == NULL, "best epoch %d", r1.best_epoch);

	AdapterTrain(&s.data, &opt, &hooks, &r2);
	CHECK(memcmp(r1.w, r2.w, sizeof(float) * dd) == 0 && r1.best_val == r2.best_val,
		  "same seed, different result");
	opt.seed = 8;
	AdapterTrain(&s.data, &opt, &hooks, &r3);
	CHECK(memcmp(r1.w, r3.w, sizeof(float) * dd) != 0, "another seed, same matrices");

	opt.seed = 7;
	opt.doc_map = true;
	AdapterTrain(&s.data, &opt, &hooks, &r3);
	printf("synthetic with document map: nDCG@10 %.4f -> %.4f (epoch %d)\n", r3.base_val, r3.best_val, r3.best_epoch);
	CHECK(r3.v != NULL && r3.best_val > r3.base_val + 0.15, "document map did not learn");

	opt.doc_map = false;
	opt.epochs = 0;
	AdapterTrain(&s.data, &opt, &hooks, &r0);
	for (int i = 0; i < dim * dim; i++)
		CHECK(r0.w[i] == (i / dim == i % dim ? 1.0f : 0.0f), "zero epochs: not the identity at %d", i);
	CHECK(r0.best_epoch == 0 && r0.best_val == r0.base_val, "zero epochs: best epoch %d", r0.best_epoch);

	/* no held-out share: every epoch runs, the last one is kept */
	opt.epochs = 5;
	opt.validation = 0;
	Epochs = 0;
	AdapterTrain(&s.data, &opt, &hooks, &r0);
	CHECK(Epochs == 5 && r0.best_epoch == 5 && r0.val_queries == 0 && r0.base_val == -1,
		  "no validation: %d epochs, best %d", Epochs, r0.best_epoch);

	if (Failures)
	{
		printf("adapter_train_test: %d failures\n", Failures);
		return 1;
	}
	printf("adapter_train_test: ok\n");
	return 0;
}
