/*-------------------------------------------------------------------------
 *
 * train.h
 *	  Training a linear adapter on (query, positive) pairs (no PostgreSQL
 *	  calls)
 *
 * An adapter is a d x d matrix W applied to a base model's query embedding,
 * q' = normalize(W q), and optionally a second one V applied to document
 * embeddings, d' = normalize(V d).  Both start from the identity.  Training
 * minimises the InfoNCE loss of each pair against the positives of the other
 * pairs of its batch (in-batch negatives) and against hard negatives drawn
 * from the documents most similar to its query under the base model, plus
 * lambda * ||W - I||^2 (and the same for V), with Adam; a held-out share of
 * the queries ranks all documents after every epoch (nDCG@10) and training
 * keeps the best epoch and stops after `patience` epochs without a gain.
 * docs/adapters.md describes the recipe and how it was chosen.
 *
 * Deterministic: the same inputs in the same order and the same options
 * give the same matrices (a seeded xoshiro256** generator drives the
 * split, the shuffles and the negative sampling; products are cblas_sgemm,
 * which computes each output element in one thread).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ADAPTER_TRAIN_H
#define SEMVEC_ADAPTER_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The training data; every matrix is row-major float32 [rows][dim] */
typedef struct AdapterData
{
	int			dim;
	int			nq;				/* distinct queries */
	const float *q;				/* [nq][dim] base embeddings (any norm) */
	int			nd;				/* distinct documents: positives and corpus */
	const float *d;				/* [nd][dim] base embeddings (any norm) */
	const int  *pos_start;		/* [nq + 1]: positives of query i are */
	const int  *pos_doc;		/* pos_doc[pos_start[i] .. pos_start[i+1]) */
} AdapterData;

typedef struct AdapterOptions
{
	int			epochs;			/* at most this many passes over the pairs */
	int			batch;			/* pairs per step */
	int			hard_negatives; /* drawn per pair and step from ... */
	int			hard_pool;		/* ... its query's top documents */
	int			patience;		/* epochs without a better validation score */
	double		validation;		/* share of the queries held out, [0, 0.5] */
	double		temperature;
	double		regularization; /* lambda of ||W - I||^2 */
	double		learning_rate;	/* Adam's step size */
	uint64_t	seed;
	bool		doc_map;		/* train V too */
} AdapterOptions;

typedef struct AdapterHooks
{
	void	   *arg;
	/* zeroed memory, released by the caller after training */
	void	   *(*alloc) (void *arg, size_t size);
	/* called between steps (may longjmp out, e.g. CHECK_FOR_INTERRUPTS) */
	void		(*check) (void *arg);
	/* called after each epoch; val is -1 without a validation share */
	void		(*epoch) (void *arg, int epoch, double loss, double val,
						  bool best);
} AdapterHooks;

typedef struct AdapterResult
{
	float	   *w;				/* [dim][dim], q' = W q */
	float	   *v;				/* [dim][dim] or NULL without doc_map */
	int			train_queries;
	int			val_queries;
	int			train_pairs;
	int			epochs_run;
	int			best_epoch;		/* 0: the identity was never beaten */
	double		base_val;		/* validation nDCG@10 of the identity */
	double		best_val;
} AdapterResult;

extern void AdapterDefaultOptions(AdapterOptions *opt);
extern void AdapterTrain(const AdapterData *data, const AdapterOptions *opt,
						 const AdapterHooks *hooks, AdapterResult *result);

/*
 * One step's loss and gradients, exposed for the unit test's finite
 * difference check: rows qb[b][dim] (normalised queries), candidate
 * documents dc[c][dim] (normalised), target[b] the column of row i's
 * positive and mask[b][c] true for columns excluded from row i's softmax.
 * Returns the mean loss over the rows (without the regulariser) and writes
 * dL/dW (and dL/dV when v is not NULL).  scratch must hold
 * AdapterStepScratch(b, c, dim) floats.
 */
extern size_t AdapterStepScratch(int b, int c, int dim);
extern double AdapterStep(const float *w, const float *v, int dim,
						  const float *qb, int b, const float *dc, int c,
						  const int *target, const bool *mask,
						  double temperature, float *gw, float *gv,
						  float *scratch);

/* nDCG@10 (binary relevance) of queries qs[n] ranking all documents */
extern double AdapterNdcg10(const AdapterData *data, const float *qn,
							const float *dn, const int *qs, int n,
							float *scratch, size_t scratch_floats);

#endif							/* SEMVEC_ADAPTER_TRAIN_H */
