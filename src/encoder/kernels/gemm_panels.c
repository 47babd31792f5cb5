/*-------------------------------------------------------------------------
 *
 * gemm_panels.c
 *	  Matrix products on weights packed in column panels
 *
 * cblas_sgemm repacks its weight operand on every call.  For a short query
 * (a dozen tokens) that repacking streams the whole weight matrix through
 * memory once more than the product itself needs, and it dominated the
 * forward pass (measured: 2/3 of the time in sgemm_itcopy).  Weights that
 * are stored packed instead, in panels of ENC_PANEL columns,
 *
 *	 packed[p][k][j] = w[k][p * ENC_PANEL + j]      (w is [in][out])
 *
 * make each panel one contiguous block of in * ENC_PANEL floats that is
 * read sequentially.  The product walks the panels in order and, for each,
 * runs a register-blocked AVX2/FMA kernel over the input rows in groups of
 * at most 6 (6 x 16 accumulators in 12 registers), so every weight is read
 * from memory once per call.  Measured on Zen 3 with the USE-lite shapes:
 * 1.3-1.8x faster than cblas_sgemm for 1-13 rows, 1.0-1.1x from 64 to 1024.
 *
 * A short query is bound by memory: 13 tokens do about 100 MFLOP on 19.7
 * MB of weights, and streaming those once takes about as long as the FMAs
 * (1.3-2 ms each on the development VM, bench/encgemm_floor.sh).  So for up
 * to 48 rows each panel is walked in blocks of ENC_KBLOCK rows that stay in
 * L1: the first group of input rows pulls a block in, the other groups
 * reuse it, and all of them share the prefetching of the block
 * ENC_PREFETCH_AHEAD rows ahead (into the next panel at the end of one), so
 * that memory requests are spread evenly over the time of a block.  Walking
 * the whole panel per group instead (up to 96 kB, beyond L1) left the memory
 * idle while the later groups ran.  Partial sums go through y between
 * blocks, which keeps the k order and so the results.  More rows are bound
 * by the FMAs and walk whole panels.
 *
 * Model files hold plain [in][out] matrices; the panels are derived from
 * them when a model loads (EncPanelsPack, called through kernels/linear.c)
 * and kept in the model's memory, one copy per backend.  Below the avx2
 * SIMD level callers use cblas_sgemm on the plain matrix instead.  Sums are
 * accumulated in k order, so results agree with sgemm to float rounding.
 *
 * Sparse products (EncPanelsGemmSparse) serve the FFN's output matrix,
 * whose input is a ReLU's output, about 93% zeros: many rows skip the
 * panel rows that meet only zeros in a register group (SparseGemmAvx2);
 * few rows read only the needed rows of the plain row-major matrix, token
 * by token (TokenSparseAvx2).  Both give the dense product's result.
 *
 * Threads: with EncPanelsSetThreads(n > 1) (semvec.blas_threads), products
 * of at least ENC_THREAD_MIN_MACS multiply-adds split their panels over n
 * threads (the caller runs one share; the others go to kept workers, see
 * EncPool).  Every output element is computed by one thread in the same
 * order, so results do not depend on the thread count.  Workers start with
 * all signals blocked and call nothing but the kernel: no PostgreSQL API
 * runs outside the backend's own thread.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/kernels/gemm_panels.h"
#include "simd/simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define ENC_HAVE_X86_GEMM 1
#include <immintrin.h>
#endif

#define ENC_GROUP_ROWS		6	/* rows per register block */
#define ENC_MAX_THREADS		64

static int	EncThreads = 1;

/* Threads for large products (semvec.blas_threads) */
void
EncPanelsSetThreads(int n)
{
	EncThreads = n < 1 ? 1 : (n > ENC_MAX_THREADS ? ENC_MAX_THREADS : n);
}
#ifndef ENC_PREFETCH_AHEAD
#define ENC_PREFETCH_AHEAD	256 /* panel rows (64 B each) to prefetch ahead */
#endif
#ifndef ENC_KBLOCK
#define ENC_KBLOCK			128 /* panel rows per block (8 kB, stays in L1) */
#endif
#ifndef ENC_KBLOCK_MAX_GROUPS
#define ENC_KBLOCK_MAX_GROUPS 8 /* more row groups (> 48 rows): whole panels */
#endif
#define ENC_PREFETCH_NEAR	32	/* whole panels: rows ahead of each group */
#define ENC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ENC_MAX(a, b) ((a) > (b) ? (a) : (b))

/* packed[p][k][j] = w[k][p * ENC_PANEL + j], w [in][out] */
void
EncPanelsPack(const float *w, int in, int out, float *packed)
{
	for (int p = 0; p < out / ENC_PANEL; p++)
		for (int k = 0; k < in; k++)
			memcpy(packed + ((long) p * in + k) * ENC_PANEL,
				   w + (long) k * out + (long) p * ENC_PANEL,
				   sizeof(float) * ENC_PANEL);
}

#ifdef ENC_HAVE_X86_GEMM

/*
 * y[R][16] (+)= x[R][K] · panel[K][16] for a compile-time R <= 6; the
 * accumulators are named so that they stay in registers.
 */
#define ENC_ROW_INIT(r) \
	if (R > r) { \
		if (acc || !first) { c##r##a = _mm256_loadu_ps(y + r * ldy); \
				   c##r##b = _mm256_loadu_ps(y + r * ldy + 8); } \
		else if (b) { c##r##a = _mm256_loadu_ps(b); \
					  c##r##b = _mm256_loadu_ps(b + 8); } \
		else { c##r##a = _mm256_setzero_ps(); c##r##b = c##r##a; } \
		if (acc && b && first) { c##r##a = _mm256_add_ps(c##r##a, _mm256_loadu_ps(b)); \
						c##r##b = _mm256_add_ps(c##r##b, _mm256_loadu_ps(b + 8)); } \
	}
#define ENC_ROW_FMA(r) \
	if (R > r) { \
		__m256		a = _mm256_broadcast_ss(x + r * ldx + i); \
		c##r##a = _mm256_fmadd_ps(a, w0, c##r##a); \
		c##r##b = _mm256_fmadd_ps(a, w1, c##r##b); \
	}
#define ENC_ROW_STORE(r) \
	if (R > r) { \
		_mm256_storeu_ps(y + r * ldy, c##r##a); \
		_mm256_storeu_ps(y + r * ldy + 8, c##r##b); \
	}

/*
 * One register block: R rows times K rows of a 16-column panel.  Dense:
 * panel rows [0, K), x and panel already offset to the block.  Sparse: the
 * panel rows idx[0..K) (panel at its start) and x compacted to match, x[i]
 * for row idx[i]; rows left out have a zero x in every row of the block.
 * The first block of a panel starts from the bias (and y when
 * accumulating), later ones from the partial sums left in y.  Iteration k
 * prefetches the weight row pf + (k * pf_step >> 16) (sparse: row
 * pfidx[k * pf_step >> 16] of the panel), so that the row groups of a
 * block share the prefetches of a later block evenly.
 */
static inline __attribute__((always_inline, target("avx2,fma"))) void
Block(const int R, const bool sparse, const float *x, int ldx,
	  const float *panel, int K, const int *idx, const int *pfidx,
	  const float *b, bool acc, bool first, const float *pf, int pf_step,
	  float *y, int ldy)
{
	__m256		c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a,
				c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a,
				c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;

	ENC_ROW_INIT(0) ENC_ROW_INIT(1) ENC_ROW_INIT(2)
	ENC_ROW_INIT(3) ENC_ROW_INIT(4) ENC_ROW_INIT(5)
	for (int i = 0; i < K; i++)
	{
		long		k = sparse ? idx[i] : i;
		__m256		w0 = _mm256_loadu_ps(panel + k * ENC_PANEL);
		__m256		w1 = _mm256_loadu_ps(panel + k * ENC_PANEL + 8);

		/* the streamer stops at 4 kB pages; short rows need the help */
		if (sparse)
			_mm_prefetch((const char *) (panel + (long) pfidx[(i * pf_step) >> 16] * ENC_PANEL),
						 _MM_HINT_T0);
		else
			_mm_prefetch((const char *) (pf + (long) ((i * pf_step) >> 16) * ENC_PANEL),
						 _MM_HINT_T0);

		ENC_ROW_FMA(0) ENC_ROW_FMA(1) ENC_ROW_FMA(2)
		ENC_ROW_FMA(3) ENC_ROW_FMA(4) ENC_ROW_FMA(5)
	}
	ENC_ROW_STORE(0) ENC_ROW_STORE(1) ENC_ROW_STORE(2)
	ENC_ROW_STORE(3) ENC_ROW_STORE(4) ENC_ROW_STORE(5)
}

/* Block for a run-time row count of 1 to 6 */
static inline __attribute__((always_inline, target("avx2,fma"))) void
AnyBlock(int rows, const bool sparse, const float *x, int ldx,
		 const float *panel, int K, const int *idx, const int *pfidx,
		 const float *b, bool acc, bool first, const float *pf, int pf_step,
		 float *y, int ldy)
{
#define ENC_BLOCK(R) Block(R, sparse, x, ldx, panel, K, idx, pfidx, b, acc, first, pf, pf_step, y, ldy)
	switch (rows)
	{
		case 1:
			ENC_BLOCK(1);
			break;
		case 2:
			ENC_BLOCK(2);
			break;
		case 3:
			ENC_BLOCK(3);
			break;
		case 4:
			ENC_BLOCK(4);
			break;
		case 5:
			ENC_BLOCK(5);
			break;
		default:
			ENC_BLOCK(6);
			break;
	}
#undef ENC_BLOCK
}

/*
 * Rows of group g when n rows go in ngroups balanced groups: 13 rows run
 * as 5+4+4, not 6+6+1 (small groups waste FMA slots).
 */
static inline int
GroupRows(int n, int ngroups, int g, int row)
{
	int			rows = (n - row) / (ngroups - g);

	if (rows * (ngroups - g) < n - row)
		rows++;
	return rows;
}

/*
 * Sparse products (many rows only): for each row group, the panel rows
 * whose x is nonzero somewhere in the group, as a list of row numbers
 * followed by ENC_SPARSE_PAD entries that continue into the next panel
 * (for the prefetches).  x is compacted to its group's list (x[r][i] holds
 * column list[i]), so that the kernel reads it sequentially.
 */
#define ENC_SPARSE_PAD		ENC_PREFETCH_NEAR

typedef struct SparseLists
{
	int			stride;			/* ints from one group's list to the next */
	const int  *lists;
	const int  *counts;			/* real entries per list */
} SparseLists;

/*
 * The few-rows sparse product (see TokenSparseAvx2): for each row t of x,
 * the columns k where x[t][k] is nonzero, followed by ENC_TOKEN_PREFETCH
 * entries of prefetch pad; and W in row-major layout.
 */
typedef struct TokenLists
{
	int			stride;			/* ints from one row's list to the next */
	const int  *lists;
	const int  *counts;			/* real entries per list */
	const float *rows;			/* W, [in][out] */
} TokenLists;

/* One product's arguments, and the panels [p0, p1) one thread computes */
typedef struct PanelJob
{
	const float *x;
	int			n;
	int			in;
	const float *packed;
	const float *b;
	int			out;
	float	   *y;
	bool		acc;
	const SparseLists *sparse;	/* NULL: dense */
	const TokenLists *tokens;	/* not NULL: the few-rows sparse product */
	int			p0;
	int			p1;
} PanelJob;

/* Whether few enough row groups that panels are walked in L1 blocks */
static inline bool
UseKBlocks(int n)
{
	return (n + ENC_GROUP_ROWS - 1) / ENC_GROUP_ROWS <= ENC_KBLOCK_MAX_GROUPS;
}

/* y[n][panels p0..p1) (+)= x · W + b, rows in balanced groups */
static inline __attribute__((always_inline, target("avx2,fma"))) void
PanelsImpl(const PanelJob *j, const bool sparse)
{
	const float *x = j->x;
	const float *packed = j->packed;
	const float *b = j->b;
	float	   *y = j->y;
	int			n = j->n;
	int			in = j->in;
	int			out = j->out;
	bool		acc = j->acc;
	int			ngroups = (n + ENC_GROUP_ROWS - 1) / ENC_GROUP_ROWS;
	const SparseLists *sl = j->sparse;

	/*
	 * Few rows: blocks of ENC_KBLOCK rows, prefetches shared by the groups.
	 * Many rows are bound by the FMAs, not memory, and partial sums going
	 * through y would cost more than they save: whole panels (from L2), each
	 * group prefetching ENC_PREFETCH_NEAR rows ahead of itself.
	 */
	bool		blocked = UseKBlocks(n);
	int			pf_step = blocked ? 65536 / ENC_MAX(ngroups, 1) : 65536;	/* n may be 0 */
	int			ahead = blocked ? ENC_PREFETCH_AHEAD : ENC_PREFETCH_NEAR;

	for (int p = j->p0; p < j->p1; p++)
	{
		const float *panel = packed + (long) p * in * ENC_PANEL;
		const float *bp = b ? b + p * ENC_PANEL : NULL;

		if (blocked)
		{
			/*
			 * Panel rows in blocks of ENC_KBLOCK: the first group of rows
			 * reads a block from L2 or memory, the other groups find it in
			 * L1; all of them prefetch a later block.
			 */
			for (int k0 = 0; k0 < in; k0 += ENC_KBLOCK)
			{
				int			kn = ENC_MIN(ENC_KBLOCK, in - k0);
				bool		first = k0 == 0;
				int			row = 0;

				for (int g = 0; g < ngroups; g++)
				{
					int			rows = GroupRows(n, ngroups, g, row);
					/* this group's share of the block ahead rows on */
					int			pfrow = k0 + ahead + g * kn / ngroups;

					AnyBlock(rows, false, x + (long) row * in + k0, in,
							 panel + (long) k0 * ENC_PANEL, kn, NULL, NULL, bp,
							 acc, first, panel + (long) pfrow * ENC_PANEL,
							 pf_step, y + (long) row * out + p * ENC_PANEL, out);
					row += rows;
				}
			}
		}
		else
		{
			int			row = 0;

			for (int g = 0; g < ngroups; g++)
			{
				int			rows = GroupRows(n, ngroups, g, row);
				float	   *yg = y + (long) row * out + p * ENC_PANEL;

				if (sparse)
				{
					const int  *list = sl->lists + (long) g * sl->stride;

					AnyBlock(rows, true, x + (long) row * in, in, panel,
							 sl->counts[g], list, list + ahead, bp, acc, true,
							 NULL, pf_step, yg, out);
				}
				else
					AnyBlock(rows, false, x + (long) row * in, in, panel, in,
							 NULL, NULL, bp, acc, true,
							 panel + (long) ahead * ENC_PANEL, pf_step, yg, out);
				row += rows;
			}
		}
	}
}

/*
 * The sparse product for few rows, from a row-major copy of W.  Few rows
 * are bound by reading the weights, and a 13-token query needs only about
 * half the rows of the FFN's output matrix (the rest meet zeros only),
 * while each token needs about 8% of them.  So, for each block of 64
 * output columns and each row t of x, y[t][block] is accumulated in eight
 * registers over only the k where x[t][k] is nonzero, reading 256
 * contiguous bytes of row k of W (prefetched ENC_TOKEN_PREFETCH entries
 * ahead).  The rows a block needs stay in L2 (a few hundred kB) from one
 * token to the next, and y is read and written once per block.  Every
 * y[t][c] starts as the dense kernel's does and takes its terms in the same
 * k order, so the result is the same.  Returns false, computing nothing,
 * when more than ENC_TOKEN_SPARSE_MAX_FILL of x is nonzero (each FMA here
 * loads its weight, so a denser x is faster through the register-blocked
 * kernel) or memory for the lists is short.
 */
#define ENC_TOKEN_SPARSE_MAX_FILL 0.5
#define ENC_TOKEN_PREFETCH	16	/* list entries ahead */

/* y[t][c0 .. c0 + 8 * NACC) += sum over list of x[t][k] * W[k][...] */
static inline __attribute__((always_inline, target("avx2,fma"))) void
TokenBlock(const int NACC, const float *xt, const int *list, int cnt,
		   const float *rows, int out, int c0, float *yt)
{
	__m256		acc[8];

	for (int a = 0; a < NACC; a++)
		acc[a] = _mm256_loadu_ps(yt + c0 + 8 * a);
	for (int j = 0; j < cnt; j++)
	{
		const float *wk = rows + (long) list[j] * out + c0;
		const float *pf = rows + (long) list[j + ENC_TOKEN_PREFETCH] * out + c0;
		__m256		v = _mm256_set1_ps(xt[list[j]]);

		for (int l = 0; l < NACC; l += 2)
			_mm_prefetch((const char *) (pf + 8 * l), _MM_HINT_T0);
		for (int a = 0; a < NACC; a++)
			acc[a] = _mm256_fmadd_ps(v, _mm256_loadu_ps(wk + 8 * a), acc[a]);
	}
	for (int a = 0; a < NACC; a++)
		_mm256_storeu_ps(yt + c0 + 8 * a, acc[a]);
}

/* The few-rows sparse product over the columns of panels [p0, p1) */
static __attribute__((target("avx2,fma"))) void
TokenPanels(const PanelJob *j)
{
	const TokenLists *tl = j->tokens;
	int			end = j->p1 * ENC_PANEL;

	for (int c0 = j->p0 * ENC_PANEL; c0 < end;)
	{
		int			width = c0 + 64 <= end ? 64 : ENC_PANEL;

		for (int t = 0; t < j->n; t++)
		{
			const float *xt = j->x + (long) t * j->in;
			const int  *list = tl->lists + (long) t * tl->stride;
			float	   *yt = j->y + (long) t * j->out;

			if (width == 64)
				TokenBlock(8, xt, list, tl->counts[t], tl->rows, j->out, c0, yt);
			else
				TokenBlock(2, xt, list, tl->counts[t], tl->rows, j->out, c0, yt);
		}
		c0 += width;
	}
}

static __attribute__((target("avx2,fma"))) void
PackedPanels(const PanelJob *j)
{
	if (j->tokens)
		TokenPanels(j);
	else if (j->sparse)
		PanelsImpl(j, true);
	else
		PanelsImpl(j, false);
}

/*
 * Worker threads, started on first use and kept for the life of the
 * backend.  Starting a thread per product (tens of microseconds each, nine
 * products per forward pass) cost as much as a short query's products
 * saved; a kept worker picks a job up in a few microseconds.  After a job
 * it spins for a while (the next product of the same pass follows within
 * microseconds), then sleeps on a condition variable.  Workers start with
 * every signal blocked and run nothing but PackedPanels: no PostgreSQL
 * API, no memory allocation.
 */
#define ENC_SPIN_LOOPS		4000	/* pause loops (~100-200 us) before sleeping */

typedef struct EncPool
{
	pthread_mutex_t lock;
	pthread_cond_t work;		/* generation moved on */
	pthread_cond_t done;		/* pending reached 0 */
	unsigned long generation;	/* one per dispatched product */
	int			pending;		/* workers still running this generation */
	int			nstarted;
	/* the generation each worker was started in: its first job is the next */
	unsigned long born[ENC_MAX_THREADS];
	/*
	 * jobs[i + 1] is worker i's.  Every started worker takes part in every
	 * generation (some with no panels), and the caller waits for all of
	 * them, so no worker can still be reading a job when the next one is
	 * written.
	 */
	PanelJob	jobs[ENC_MAX_THREADS];
} EncPool;

static EncPool Pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER
};

static void *
PoolWorker(void *arg)
{
	int			id = (int) (long) arg;
	unsigned long seen = Pool.born[id];	/* written before pthread_create */

	for (;;)
	{
		unsigned long gen = __atomic_load_n(&Pool.generation, __ATOMIC_ACQUIRE);

		for (int i = 0; gen == seen && i < ENC_SPIN_LOOPS; i++)
		{
			_mm_pause();
			gen = __atomic_load_n(&Pool.generation, __ATOMIC_ACQUIRE);
		}
		if (gen == seen)
		{
			pthread_mutex_lock(&Pool.lock);
			while ((gen = __atomic_load_n(&Pool.generation, __ATOMIC_ACQUIRE)) == seen)
				pthread_cond_wait(&Pool.work, &Pool.lock);
			pthread_mutex_unlock(&Pool.lock);
		}
		seen = gen;
		PackedPanels(&Pool.jobs[id + 1]);
		if (__atomic_sub_fetch(&Pool.pending, 1, __ATOMIC_ACQ_REL) == 0)
		{
			pthread_mutex_lock(&Pool.lock);
			pthread_cond_signal(&Pool.done);
			pthread_mutex_unlock(&Pool.lock);
		}
	}
	return NULL;
}

/* Start workers until there are n (fewer if the system refuses) */
static void
PoolEnsure(int n)
{
	sigset_t	all;
	sigset_t	old;

	if (Pool.nstarted >= n)
		return;
	/* workers inherit this mask: signals stay with the backend thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (Pool.nstarted < n)
	{
		pthread_t	tid;

		Pool.born[Pool.nstarted] = Pool.generation;
		if (pthread_create(&tid, NULL, PoolWorker, (void *) (long) Pool.nstarted) != 0)
			break;
		pthread_detach(tid);
		Pool.nstarted++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Products with fewer multiply-adds than this run on the calling thread
 * alone: handing work over costs a few microseconds.
 */
#define ENC_THREAD_MIN_MACS (256L * 1024)

/* y[n][out] (+)= x[n][in] · W + b over packed W, split over threads */
static void
PackedGemmAvx2(const float *x, int n, int in, const float *packed,
			   const float *b, int out, float *y, bool acc,
			   const SparseLists *sparse, const TokenLists *tokens)
{
	int			npanels = out / ENC_PANEL;
	int			nthreads = (long) n * in * out >= ENC_THREAD_MIN_MACS ? EncThreads : 1;

	if (nthreads > npanels)
		nthreads = npanels;
	if (nthreads > 1)
	{
		PoolEnsure(nthreads - 1);
		nthreads = ENC_MIN(nthreads, 1 + Pool.nstarted);
	}
	for (int t = 0; t < (nthreads > 1 ? 1 + Pool.nstarted : 1); t++)
	{
		/* shares past nthreads are empty */
		int			p0 = ENC_MIN(t, nthreads) * (long) npanels / nthreads;
		int			p1 = ENC_MIN(t + 1, nthreads) * (long) npanels / nthreads;
		PanelJob	j = {x, n, in, packed, b, out, y, acc, sparse, tokens, p0, p1};

		Pool.jobs[t] = j;
	}
	if (nthreads == 1)
	{
		PackedPanels(&Pool.jobs[0]);
		return;
	}

	/* hand the other shares to the workers, run share 0 here */
	__atomic_store_n(&Pool.pending, Pool.nstarted, __ATOMIC_RELAXED);
	pthread_mutex_lock(&Pool.lock);
	__atomic_add_fetch(&Pool.generation, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&Pool.work);
	pthread_mutex_unlock(&Pool.lock);

	PackedPanels(&Pool.jobs[0]);

	for (int i = 0; __atomic_load_n(&Pool.pending, __ATOMIC_ACQUIRE) > 0 &&
		 i < ENC_SPIN_LOOPS; i++)
		_mm_pause();
	if (__atomic_load_n(&Pool.pending, __ATOMIC_ACQUIRE) > 0)
	{
		pthread_mutex_lock(&Pool.lock);
		while (__atomic_load_n(&Pool.pending, __ATOMIC_ACQUIRE) > 0)
			pthread_cond_wait(&Pool.done, &Pool.lock);
		pthread_mutex_unlock(&Pool.lock);
	}
}

/*
 * The sparse product, when it pays: lists of the rows of W that meet a
 * nonzero x (see SparseLists).  Returns false, computing nothing, when
 *   - the product has few rows: it is bound by streaming the weights from
 *     memory, and reading every other 64-byte row of a panel was measured
 *     slower than reading all of it (a 13-token query's FFN, 56% of the
 *     rows needed: 0.49 against 0.35 ms; the pooled row, 43%: 0.38 against
 *     0.27 ms);
 *   - the lists would cover more than ENC_SPARSE_MAX_FILL of x's columns
 *     (the dense walk is then faster);
 *   - memory for them is short.
 */
#define ENC_SPARSE_MAX_FILL 0.75

/*
 * Lists and compacted x live in a buffer kept from call to call: a fresh
 * malloc of megabytes per product (an mmap, then a page fault per 4 kB)
 * cost more than the skipped FMAs saved.  Only the calling thread uses it.
 */
static void *SparseScratch;
static size_t SparseScratchSize;

static void *
SparseBuffer(size_t size)
{
	if (size > SparseScratchSize)
	{
		free(SparseScratch);
		SparseScratch = malloc(size);
		SparseScratchSize = SparseScratch ? size : 0;
	}
	return SparseScratch;
}

/* list = the columns k < in where some row of x[rows][in] is nonzero */
static __attribute__((target("avx2,fma"))) int
NonzeroColumns(const float *x, int rows, int in, int *list)
{
	int			cnt = 0;
	int			k = 0;

	for (; k + 8 <= in; k += 8)
	{
		unsigned	m = 0;

		for (int r = 0; r < rows; r++)
			m |= _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + (long) r * in + k),
												  _mm256_setzero_ps(), _CMP_NEQ_UQ));
		while (m)
		{
			list[cnt++] = k + __builtin_ctz(m);
			m &= m - 1;
		}
	}
	for (; k < in; k++)
		for (int r = 0; r < rows; r++)
			if (x[(long) r * in + k] != 0.0f)
			{
				list[cnt++] = k;
				break;
			}
	return cnt;
}

static bool
SparseGemmAvx2(const float *x, int n, int in, const float *packed,
			   const float *b, int out, float *y, bool acc)
{
	int			ngroups = (n + ENC_GROUP_ROWS - 1) / ENC_GROUP_ROWS;
	int			stride = in + ENC_SPARSE_PAD;
	size_t		nints = (size_t) ngroups * (stride + 1);
	char	   *buf;
	int		   *lists;
	int		   *counts;
	float	   *xc;
	long		total = 0;
	int			row = 0;
	SparseLists sl;

	if (UseKBlocks(n))
		return false;
	buf = SparseBuffer(sizeof(int) * nints + sizeof(float) * (size_t) n * in);
	if (buf == NULL)
		return false;
	lists = (int *) buf;
	counts = lists + (size_t) ngroups * stride;
	xc = (float *) (buf + sizeof(int) * nints);
	sl.stride = stride;
	sl.lists = lists;
	sl.counts = counts;
	for (int l = 0; l < ngroups; l++)
	{
		int			rows = GroupRows(n, ngroups, l, row);
		int		   *list = lists + (long) l * stride;
		int			cnt = NonzeroColumns(x + (long) row * in, rows, in, list);

		/* the pad: the same rows of the panels that follow */
		for (int i = 0; i < ENC_SPARSE_PAD; i++)
			list[cnt + i] = cnt > 0 ? in * (1 + i / cnt) + list[i % cnt] : 0;
		counts[l] = cnt;
		total += cnt;
		row += rows;
	}
	if (total > ENC_SPARSE_MAX_FILL * ngroups * in)
		return false;
	row = 0;
	for (int l = 0; l < ngroups; l++)
	{
		int			rows = GroupRows(n, ngroups, l, row);
		const int  *list = lists + (long) l * stride;

		for (int r = row; r < row + rows; r++)
			for (int i = 0; i < counts[l]; i++)
				xc[(long) r * in + i] = x[(long) r * in + list[i]];
		row += rows;
	}
	PackedGemmAvx2(xc, n, in, packed, b, out, y, acc, &sl, NULL);
	return true;
}

/*
 * The few-rows sparse product (see TokenBlock): build the lists, give y its
 * starting values, then run TokenPanels, split over threads like the
 * dense product
 */
static __attribute__((target("avx2,fma"))) bool
TokenSparseAvx2(const float *x, int n, int in, const float *rows,
				const float *b, int out, float *y, bool acc)
{
	int			stride = in + ENC_TOKEN_PREFETCH;
	int		   *lists = SparseBuffer(sizeof(int) * ((size_t) n * stride + n));
	int		   *counts = lists + (size_t) n * stride;
	long		nonzero = 0;
	TokenLists	tl;

	if (lists == NULL)
		return false;
	for (int t = 0; t < n; t++)
	{
		int		   *list = lists + (long) t * stride;

		counts[t] = NonzeroColumns(x + (long) t * in, 1, in, list);
		/* the prefetch pad repeats the last row */
		for (int i = 0; i < ENC_TOKEN_PREFETCH; i++)
			list[counts[t] + i] = counts[t] > 0 ? list[counts[t] - 1] : 0;
		nonzero += counts[t];
	}
	if (nonzero > ENC_TOKEN_SPARSE_MAX_FILL * n * in)
		return false;

	for (int t = 0; t < n; t++)
		for (int c = 0; c < out; c++)
		{
			float		v = acc ? y[(long) t * out + c] : 0.0f;

			y[(long) t * out + c] = b ? (acc ? v + b[c] : b[c]) : v;
		}
	tl.stride = stride;
	tl.lists = lists;
	tl.counts = counts;
	tl.rows = rows;
	PackedGemmAvx2(x, n, in, NULL, b, out, y, acc, NULL, &tl);
	return true;
}

#endif							/* ENC_HAVE_X86_GEMM */

/* Whether this CPU can run the panel products at some SIMD level */
bool
EncPanelsSupported(void)
{
#ifdef ENC_HAVE_X86_GEMM
	return SimdLevelSupported(SIMD_AVX2);
#else
	return false;
#endif
}

/* Whether the panel products run at the SIMD level in force */
bool
EncPanelsUsable(void)
{
#ifdef ENC_HAVE_X86_GEMM
	return SimdAllows(SIMD_AVX2);
#else
	return false;
#endif
}

/*
 * y = x·W + b (accumulate false) or y += x·W + b (true) over panels;
 * false, computing nothing, below the avx2 SIMD level
 */
bool
EncPanelsGemm(const float *x, int n, int in, const float *packed,
			  const float *b, int out, float *y, bool accumulate)
{
#ifdef ENC_HAVE_X86_GEMM
	if (EncPanelsUsable())
	{
		PackedGemmAvx2(x, n, in, packed, b, out, y, accumulate, NULL, NULL);
		return true;
	}
#endif
	return false;
}

/*
 * EncPanelsGemm for a mostly zero x, such as a ReLU's output: rows of W
 * that meet only zeros of x are not read.  rows, when not NULL, is W in
 * plain row-major [in][out] layout, which products of few rows read
 * instead.  Only zero terms are skipped and the rest are summed in the same
 * order, so the result equals EncPanelsGemm's (up to the sign of a zero).
 * Returns false, computing nothing, when skipping would not pay or below
 * the avx2 SIMD level.
 */
bool
EncPanelsGemmSparse(const float *x, int n, int in, const float *packed,
					const float *rows, const float *b, int out, float *y,
					bool accumulate)
{
#ifdef ENC_HAVE_X86_GEMM
	if (EncPanelsUsable())
		return UseKBlocks(n) ?
			rows != NULL && TokenSparseAvx2(x, n, in, rows, b, out, y, accumulate) :
			SparseGemmAvx2(x, n, in, packed, b, out, y, accumulate);
#endif
	return false;
}
