/*-------------------------------------------------------------------------
 *
 * encgemm_floor.c
 *	  Where the floor of a one-query USE-lite forward pass is on this CPU
 *
 * Runs the dense products of one forward pass of the default model (the
 * shapes of src/encoder/arch/use_lite.c: 8 projections over N tokens, then the last
 * FFN output and the head on the pooled row; 19.7 MB of weights) through
 * the panel products of src/encoder/kernels/gemm_panels.c, and compares the
 * time with two floors measured in the same run:
 *   - stream: reading the same 19.7 MB once with AVX loads (memory or L3
 *     bandwidth, depending on what survived in cache since the last pass);
 *   - compute: the same FLOPs on one matrix reused for every product, so
 *     that it stays in cache (close to FMA throughput).
 * Each case is timed "warm" (weights left in cache by the previous pass)
 * and "cold" (64 MB of other data read in between, so the weights come
 * from DRAM).  Times are CPU time of this thread (CLOCK_THREAD_CPUTIME_ID),
 * best and median of REPS passes.  Run through bench/encgemm_floor.sh.
 *
 *-------------------------------------------------------------------------
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoder/kernels/gemm_panels.h"
#include "simd/simd.h"

#define REPS 41
#define FLUSH_BYTES (64L << 20)

typedef struct Shape
{
	int			in;
	int			out;
	int			rows;			/* 0: N tokens, 1: the pooled row */
} Shape;

/*
 * layer 0 (qkv, out, residual, ffn in, ffn out), layer 1 (qkv, out, ffn
 * in, and ffn out on the pooled row), head on the pooled row
 */
static const Shape Shapes[] = {
	{256, 768, 0}, {256, 512, 0}, {256, 512, 0}, {512, 1536, 0}, {1536, 512, 0},
	{512, 1536, 0}, {512, 512, 0}, {512, 1536, 0}, {1536, 512, 1},
	{512, 512, 1},
};
#define NSHAPES ((int) (sizeof(Shapes) / sizeof(Shapes[0])))

static float *W[NSHAPES];
static float *Hot;				/* one matrix of the largest shape, reused */
static float *X, *Y, *Flush;
static volatile float Sink;
static long Bytes;

/* Thread CPU time in milliseconds */
static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Evict the weights from every cache level */
static void
FlushCaches(void)
{
	float		s = 0;

	for (long i = 0; i < FLUSH_BYTES / 4; i += 16)
		s += Flush[i];
	Sink = s;
}

/* The products of one forward pass over n tokens */
static void
Products(int n, int same_weights)
{
	for (int i = 0; i < NSHAPES; i++)
	{
		int			rows = Shapes[i].rows ? 1 : n;

		EncPanelsGemm(X, rows, Shapes[i].in, same_weights ? Hot : W[i],
					  NULL, Shapes[i].out, Y, false);
	}
}

/* Read every weight once with vector loads */
static __attribute__((target("avx2"))) void
Stream(int prefetch)
{
	__m256		a = _mm256_setzero_ps(),
				b = a,
				c = a,
				d = a;

	for (int i = 0; i < NSHAPES; i++)
	{
		long		n = (long) Shapes[i].in * Shapes[i].out;

		for (long j = 0; j < n; j += 32)
		{
			if (prefetch)
			{
				/* 2 kB ahead: the streamer stops at 4 kB pages */
				_mm_prefetch((const char *) (W[i] + j + 512), _MM_HINT_T0);
				_mm_prefetch((const char *) (W[i] + j + 528), _MM_HINT_T0);
			}
			a = _mm256_add_ps(a, _mm256_load_ps(W[i] + j));
			b = _mm256_add_ps(b, _mm256_load_ps(W[i] + j + 8));
			c = _mm256_add_ps(c, _mm256_load_ps(W[i] + j + 16));
			d = _mm256_add_ps(d, _mm256_load_ps(W[i] + j + 24));
		}
	}
	a = _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
	Sink = _mm256_cvtss_f32(a);
}

static int
CmpDouble(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/*
 * Time one case: 0 stream, 1 products, 2 products on one reused matrix,
 * 3 stream with software prefetch
 */
static void
Run(const char *label, int what, int n, int cold, double mflop)
{
	double		t[REPS];

	for (int r = 0; r < REPS; r++)
	{
		double		t0;

		if (cold)
			FlushCaches();
		t0 = Now();
		if (what == 0 || what == 3)
			Stream(what == 3);
		else
			Products(n, what == 2);
		t[r] = Now() - t0;
	}
	qsort(t, REPS, sizeof(double), CmpDouble);
	printf("%-34s %-5s %8.3f %8.3f", label, cold ? "cold" : "warm", t[0], t[REPS / 2]);
	if (what == 1 || what == 2)
		printf(" %9.1f GFLOP/s", mflop / t[0]);
	else
		printf(" %9.1f GB/s", Bytes / 1e6 / t[0]);
	printf("\n");
}

int
main(int argc, char **argv)
{
	int			n = argc > 1 ? atoi(argv[1]) : 13;
	double		mflop = 0;

	SimdSetLevel(SimdBestLevel());
	if (!EncPanelsUsable())
	{
		printf("no AVX2/FMA: the packed kernel does not run on this CPU\n");
		return 0;
	}
	for (int i = 0; i < NSHAPES; i++)
	{
		long		sz = (long) Shapes[i].in * Shapes[i].out;

		W[i] = aligned_alloc(64, sizeof(float) * sz);
		for (long j = 0; j < sz; j++)
			W[i][j] = (float) ((j * 7919) % 1000) / 1e4f - 0.05f;
		mflop += 2.0 * sz * (Shapes[i].rows ? 1 : n) / 1e6;
		Bytes += sizeof(float) * sz;
	}
	/* large enough for every shape (reading past W[0] crashed) */
	Hot = aligned_alloc(64, sizeof(float) * 1536 * 512);
	for (long j = 0; j < 1536L * 512; j++)
		Hot[j] = (float) ((j * 7919) % 1000) / 1e4f - 0.05f;
	X = aligned_alloc(64, sizeof(float) * n * 1536);
	Y = aligned_alloc(64, sizeof(float) * n * 1536);
	Flush = aligned_alloc(64, FLUSH_BYTES);
	for (long i = 0; i < (long) n * 1536; i++)
		X[i] = (float) (i % 97) / 97.0f;
	memset(Flush, 1, FLUSH_BYTES);

	printf("%d tokens: %.1f MFLOP over %.1f MB of weights; CPU ms per pass\n",
		   n, mflop, Bytes / 1e6);
	printf("%-34s %-5s %8s %8s %15s\n", "case", "cache", "best", "median", "rate");
	Run("stream the weights once", 0, n, 0, 0);
	Run("stream the weights once", 0, n, 1, 0);
	Run("stream, software prefetch", 3, n, 0, 0);
	Run("stream, software prefetch", 3, n, 1, 0);
	Run("products (gemm_panels.c)", 1, n, 0, mflop);
	Run("products (gemm_panels.c)", 1, n, 1, mflop);
	Run("products, one 3 MB matrix reused", 2, n, 0, mflop);
	return 0;
}
