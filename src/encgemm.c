/*-------------------------------------------------------------------------
 *
 * encgemm.c
 *	  Matrix products on weights stored in column panels
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
 * The converter of the default model writes its matrices in this layout
 * (tools/convert_use_lite.py), so they are mmapped and shared like any
 * other tensor.  On CPUs without AVX2/FMA, callers unpack a private
 * [in][out] copy at load (EncUnpackWeights) and use cblas_sgemm.  Sums are
 * accumulated in k order, so results agree with sgemm to float rounding.
 *
 * Threads: with EncPackedSetThreads(n > 1) (semvec.blas_threads), products
 * with at least ENC_THREAD_MIN_ROWS rows split their panels over n threads
 * (the caller runs one share).  Every output element is computed by one
 * thread in the same order, so results do not depend on the thread count.
 * Workers start with all signals blocked and call nothing but the kernel:
 * no PostgreSQL API runs outside the backend's own thread.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "encops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define ENC_HAVE_X86_GEMM 1
#include <immintrin.h>
#endif

#define ENC_GROUP_ROWS		6	/* rows per register block */
#define ENC_MAX_THREADS		64
#define ENC_THREAD_MIN_ROWS 32	/* fewer rows: thread start-up would dominate */

static int	EncThreads = 1;

/* Threads for large products (semvec.blas_threads) */
void
EncPackedSetThreads(int n)
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

/* Reorder packed panels back into w[in][out] (for the sgemm fallback) */
void
EncUnpackWeights(const float *packed, int in, int out, float *w)
{
	for (int p = 0; p < out / ENC_PANEL; p++)
		for (int k = 0; k < in; k++)
			memcpy(w + (long) k * out + (long) p * ENC_PANEL,
				   packed + ((long) p * in + k) * ENC_PANEL,
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
		__m256		a = _mm256_broadcast_ss(x + r * ldx + k); \
		c##r##a = _mm256_fmadd_ps(a, w0, c##r##a); \
		c##r##b = _mm256_fmadd_ps(a, w1, c##r##b); \
	}
#define ENC_ROW_STORE(r) \
	if (R > r) { \
		_mm256_storeu_ps(y + r * ldy, c##r##a); \
		_mm256_storeu_ps(y + r * ldy + 8, c##r##b); \
	}

/*
 * One register block: R rows times rows [0, K) of a 16-column panel.  The
 * first block of a panel starts from the bias (and y when accumulating),
 * later ones from the partial sums left in y.  Iteration k prefetches the
 * weight row pf + (k * pf_step >> 16), so that the row groups of a block
 * share the prefetches of a later block evenly.
 */
static inline __attribute__((always_inline, target("avx2,fma"))) void
Block(const int R, const float *x, int ldx, const float *panel, int K,
	  const float *b, bool acc, bool first, const float *pf, int pf_step,
	  float *y, int ldy)
{
	__m256		c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a,
				c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a,
				c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;

	ENC_ROW_INIT(0) ENC_ROW_INIT(1) ENC_ROW_INIT(2)
	ENC_ROW_INIT(3) ENC_ROW_INIT(4) ENC_ROW_INIT(5)
	for (int k = 0; k < K; k++)
	{
		__m256		w0 = _mm256_loadu_ps(panel + (long) k * ENC_PANEL);
		__m256		w1 = _mm256_loadu_ps(panel + (long) k * ENC_PANEL + 8);

		/* the streamer stops at 4 kB pages; short rows need the help */
		_mm_prefetch((const char *) (pf + (long) ((k * pf_step) >> 16) * ENC_PANEL),
					 _MM_HINT_T0);

		ENC_ROW_FMA(0) ENC_ROW_FMA(1) ENC_ROW_FMA(2)
		ENC_ROW_FMA(3) ENC_ROW_FMA(4) ENC_ROW_FMA(5)
	}
	ENC_ROW_STORE(0) ENC_ROW_STORE(1) ENC_ROW_STORE(2)
	ENC_ROW_STORE(3) ENC_ROW_STORE(4) ENC_ROW_STORE(5)
}

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
	int			p0;
	int			p1;
} PanelJob;

/* y[n][panels p0..p1) (+)= x · W + b, rows in balanced groups */
static __attribute__((target("avx2,fma"))) void
PackedPanels(const PanelJob *j)
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

	/*
	 * Few rows: blocks of ENC_KBLOCK rows, prefetches shared by the groups.
	 * Many rows are bound by the FMAs, not memory, and partial sums going
	 * through y would cost more than they save: whole panels (from L2), each
	 * group prefetching ENC_PREFETCH_NEAR rows ahead of itself.
	 */
	bool		blocked = ngroups <= ENC_KBLOCK_MAX_GROUPS;
	int			kblock = blocked ? ENC_KBLOCK : in;
	int			pf_step = blocked ? 65536 / ENC_MAX(ngroups, 1) : 65536;	/* n may be 0 */
	int			ahead = blocked ? ENC_PREFETCH_AHEAD : ENC_PREFETCH_NEAR;

	for (int p = j->p0; p < j->p1; p++)
	{
		const float *panel = packed + (long) p * in * ENC_PANEL;
		const float *bp = b ? b + p * ENC_PANEL : NULL;

		/*
		 * Panel rows in blocks of kblock: the first group of rows reads a
		 * block from L2 or memory, the other groups find it in L1; all of
		 * them prefetch a later block.  13 rows run as 5+4+4, not 6+6+1:
		 * small groups waste FMA slots.
		 */
		for (int k0 = 0; k0 < in; k0 += kblock)
		{
			int			kn = ENC_MIN(kblock, in - k0);
			const float *pk = panel + (long) k0 * ENC_PANEL;
			bool		first = k0 == 0;
			int			row = 0;

			for (int g = 0; g < ngroups; g++)
			{
				int			rows = (n - row) / (ngroups - g);
				const float *xg = x + (long) row * in + k0;
				float	   *yg = y + (long) row * out + p * ENC_PANEL;
				/* this group's share of the block ahead rows on */
				const float *pf = pk + (long) (ahead + (blocked ? g * kn / ngroups : 0)) * ENC_PANEL;

				if (rows * (ngroups - g) < n - row)
					rows++;
				switch (rows)
				{
					case 1:
						Block(1, xg, in, pk, kn, bp, acc, first, pf, pf_step, yg, out);
						break;
					case 2:
						Block(2, xg, in, pk, kn, bp, acc, first, pf, pf_step, yg, out);
						break;
					case 3:
						Block(3, xg, in, pk, kn, bp, acc, first, pf, pf_step, yg, out);
						break;
					case 4:
						Block(4, xg, in, pk, kn, bp, acc, first, pf, pf_step, yg, out);
						break;
					case 5:
						Block(5, xg, in, pk, kn, bp, acc, first, pf, pf_step, yg, out);
						break;
					default:
						Block(6, xg, in, pk, kn, bp, acc, first, pf, pf_step, yg, out);
						break;
				}
				row += rows;
			}
		}
	}
}

/* Thread entry point */
static void *
PanelWorker(void *arg)
{
	PackedPanels((const PanelJob *) arg);
	return NULL;
}

/* y[n][out] (+)= x[n][in] · W + b over packed W, split over threads */
static void
PackedGemmAvx2(const float *x, int n, int in, const float *packed,
			   const float *b, int out, float *y, bool acc)
{
	int			npanels = out / ENC_PANEL;
	int			nthreads = n >= ENC_THREAD_MIN_ROWS ? EncThreads : 1;
	PanelJob	jobs[ENC_MAX_THREADS];
	pthread_t	tids[ENC_MAX_THREADS];
	bool		started[ENC_MAX_THREADS];
	sigset_t	all;
	sigset_t	old;

	if (nthreads > npanels)
		nthreads = npanels;
	for (int t = 0; t < nthreads; t++)
	{
		PanelJob	j = {x, n, in, packed, b, out, y, acc,
			(int) ((long) npanels * t / nthreads),
		(int) ((long) npanels * (t + 1) / nthreads)};

		jobs[t] = j;
		started[t] = false;
	}
	if (nthreads > 1)
	{
		/* workers inherit this mask: signals stay with the backend thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (int t = 1; t < nthreads; t++)
			started[t] = pthread_create(&tids[t], NULL, PanelWorker, &jobs[t]) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	PackedPanels(&jobs[0]);
	for (int t = 1; t < nthreads; t++)
	{
		if (started[t])
			pthread_join(tids[t], NULL);
		else
			PackedPanels(&jobs[t]);		/* could not start: run it here */
	}
}

/* Whether this CPU runs the AVX2 kernel (checked once) */
static bool
PackedKernelUsable(void)
{
	static int	usable = -1;

	if (usable < 0)
		usable = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	return usable == 1;
}
#endif							/* ENC_HAVE_X86_GEMM */

/* Whether EncLinearPacked can use packed weights on this machine */
bool
EncPackedAvailable(void)
{
#ifdef ENC_HAVE_X86_GEMM
	return PackedKernelUsable();
#else
	return false;
#endif
}

/*
 * y = x·W + b (accumulate false) or y += x·W + b (true).  Either packed
 * (panels, needs EncPackedAvailable) or w ([in][out], for sgemm) is given;
 * out is a multiple of ENC_PANEL.
 */
void
EncLinearPacked(const float *x, int n, int in, const float *w,
				const float *packed, const float *b, int out, float *y,
				bool accumulate)
{
#ifdef ENC_HAVE_X86_GEMM
	if (packed != NULL && PackedKernelUsable())
	{
		PackedGemmAvx2(x, n, in, packed, b, out, y, accumulate);
		return;
	}
#endif
	if (accumulate)
		EncLinearAdd(x, n, in, w, false, b, out, y);
	else
		EncLinear(x, n, in, w, false, b, out, y);
}
