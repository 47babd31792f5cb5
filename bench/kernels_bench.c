/*-------------------------------------------------------------------------
 *
 * kernels_bench.c
 *	  Nanoseconds per distance call at every SIMD level vs "scalar"
 *
 * Each measurement calls the kernel through its dispatch pointer (as the
 * extension does) over a small ring of vector pairs that stays in L1/L2
 * cache, and keeps the best of several repetitions to shed scheduler noise.
 * Run through bench/kernels.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simd/simd.h"
#include "vector/distance.h"

#define NUM_PAIRS 16
#define REPS 5

static const int Dims[] = {100, 384, 768, 1536};
#define NUM_DIMS ((int) (sizeof(Dims) / sizeof(Dims[0])))

static const char *const Kernels[] = {"l2sq", "ip", "cosine", "l1"};
#define NUM_KERNELS 4

static volatile double sink;

/* Wall-clock time in nanoseconds */
static double
NowNs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Best-of-REPS ns per call of one kernel of the current path */
static double
TimeKernel(int kernel, int dim, float **a, float **b)
{
	/* About 3M multiply-adds per repetition: a few ms even for scalar */
	long		calls = 3000000L / dim;
	double		best = 1e30;

	for (int r = 0; r < REPS; r++)
	{
		double		acc = 0;
		double		t0 = NowNs();

		for (long c = 0; c < calls; c++)
		{
			int			p = (int) (c % NUM_PAIRS);

			switch (kernel)
			{
				case 0:
					acc += DistanceL2Squared(dim, a[p], b[p]);
					break;
				case 1:
					acc += DistanceInnerProduct(dim, a[p], b[p]);
					break;
				case 2:
					acc += DistanceCosineSimilarity(dim, a[p], b[p]);
					break;
				default:
					acc += DistanceL1(dim, a[p], b[p]);
					break;
			}
		}
		sink = acc;
		if ((NowNs() - t0) / calls < best)
			best = (NowNs() - t0) / calls;
	}
	return best;
}

int
main(void)
{
	static double ns[8][NUM_KERNELS][NUM_DIMS];
	const char *paths[8];
	int			npaths = 0;
	float	   *a[NUM_PAIRS];
	float	   *b[NUM_PAIRS];
	int			scalar = -1;

	srand(42);
	for (int p = 0; p < NUM_PAIRS; p++)
	{
		a[p] = malloc(sizeof(float) * 1536);
		b[p] = malloc(sizeof(float) * 1536);
		for (int i = 0; i < 1536; i++)
		{
			a[p][i] = (float) ((double) rand() / RAND_MAX - 0.5);
			b[p][i] = (float) ((double) rand() / RAND_MAX - 0.5);
		}
	}

	DistanceInit();
	SimdSetLevel(SimdBestLevel());
	printf("best level: %s\n", SimdLevelName(SimdGetLevel()));
	for (int l = SIMD_NUM_LEVELS - 1; l >= 0; l--)
	{
		if (!SimdLevelSupported((SimdLevel) l))
		{
			printf("(level %s not supported by this CPU)\n", SimdLevelName((SimdLevel) l));
			continue;
		}
		if (l == SIMD_SCALAR)
			scalar = npaths;
		paths[npaths++] = SimdLevelName((SimdLevel) l);
	}

	for (int p = 0; p < npaths; p++)
	{
		SimdLevel	level;

		SimdLevelFromName(paths[p], &level);
		SimdSetLevel(level);
		for (int k = 0; k < NUM_KERNELS; k++)
			for (int d = 0; d < NUM_DIMS; d++)
				ns[p][k][d] = TimeKernel(k, Dims[d], a, b);
	}

	printf("\n%-7s %-8s %6s %12s %12s %9s\n",
		   "kernel", "path", "dim", "ns/call", "scalar ns", "speedup");
	for (int k = 0; k < NUM_KERNELS; k++)
		for (int d = 0; d < NUM_DIMS; d++)
			for (int p = 0; p < npaths; p++)
				printf("%-7s %-8s %6d %12.1f %12.1f %8.2fx\n",
					   Kernels[k], paths[p], Dims[d], ns[p][k][d],
					   ns[scalar][k][d], ns[scalar][k][d] / ns[p][k][d]);
	return 0;
}
