/*-------------------------------------------------------------------------
 *
 * kernels_half_bench.c
 *	  Nanoseconds per halfvec distance call vs the vector (float4) kernel of
 *	  the same SIMD level, on the same values
 *
 * Each measurement calls the kernel through its dispatch pointer over a
 * ring of vector pairs that stays in cache, A (float) and B (half)
 * interleaved repetition by repetition, keeping the best of REPS of each.
 * Run through bench/kernels_half.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "simd/simd.h"
#include "vector/distance.h"
#include "vector/distance_half.h"

#define NUM_PAIRS 16
#define REPS 7

static const int Dims[] = {384, 768, 1536, 3072};
#define NUM_DIMS ((int) (sizeof(Dims) / sizeof(Dims[0])))
#define MAX_DIM 3072

static const char *const Kernels[] = {"l2sq", "ip", "cosine", "l1"};
#define NUM_KERNELS 4

static volatile double sink;

static double
NowNs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ns per call of one repetition, float (half = 0) or half (half = 1) */
static double
TimeOnce(int kernel, int dim, int halfk, float **fa, float **fb, half **ha, half **hb)
{
	long		calls = 6000000L / dim;
	double		acc = 0;
	double		t0 = NowNs();

	for (long c = 0; c < calls; c++)
	{
		int			p = (int) (c % NUM_PAIRS);

		if (halfk)
			acc += kernel == 0 ? HalfDistanceL2Squared(dim, ha[p], hb[p]) :
				kernel == 1 ? HalfDistanceInnerProduct(dim, ha[p], hb[p]) :
				kernel == 2 ? HalfDistanceCosineSimilarity(dim, ha[p], hb[p]) :
				HalfDistanceL1(dim, ha[p], hb[p]);
		else
			acc += kernel == 0 ? DistanceL2Squared(dim, fa[p], fb[p]) :
				kernel == 1 ? DistanceInnerProduct(dim, fa[p], fb[p]) :
				kernel == 2 ? DistanceCosineSimilarity(dim, fa[p], fb[p]) :
				DistanceL1(dim, fa[p], fb[p]);
	}
	sink = acc;
	return (NowNs() - t0) / calls;
}

int
main(void)
{
	float	   *fa[NUM_PAIRS];
	float	   *fb[NUM_PAIRS];
	half	   *ha[NUM_PAIRS];
	half	   *hb[NUM_PAIRS];

	srand(42);
	for (int p = 0; p < NUM_PAIRS; p++)
	{
		fa[p] = malloc(sizeof(float) * MAX_DIM);
		fb[p] = malloc(sizeof(float) * MAX_DIM);
		ha[p] = malloc(sizeof(half) * MAX_DIM);
		hb[p] = malloc(sizeof(half) * MAX_DIM);
		for (int i = 0; i < MAX_DIM; i++)
		{
			/* the same values in both types: rounded to half first */
			ha[p][i] = Float4ToHalf((float) ((double) rand() / RAND_MAX - 0.5));
			hb[p][i] = Float4ToHalf((float) ((double) rand() / RAND_MAX - 0.5));
			fa[p][i] = HalfToFloat4(ha[p][i]);
			fb[p][i] = HalfToFloat4(hb[p][i]);
		}
	}

	DistanceInit();
	HalfDistanceInit();
	printf("%-8s %-7s %6s %12s %12s %10s\n",
		   "level", "kernel", "dim", "vector ns", "halfvec ns", "half/vec");
	for (int l = SIMD_NUM_LEVELS - 1; l >= SIMD_PORTABLE; l--)
	{
		if (!SimdLevelSupported((SimdLevel) l))
			continue;
		SimdSetLevel((SimdLevel) l);
		for (int k = 0; k < NUM_KERNELS; k++)
			for (int d = 0; d < NUM_DIMS; d++)
			{
				double		bf = 1e30;
				double		bh = 1e30;

				for (int r = 0; r < REPS; r++)
				{
					double		tf = TimeOnce(k, Dims[d], 0, fa, fb, ha, hb);
					double		th = TimeOnce(k, Dims[d], 1, fa, fb, ha, hb);

					bf = tf < bf ? tf : bf;
					bh = th < bh ? th : bh;
				}
				printf("%-8s %-7s %6d %12.1f %12.1f %9.2fx\n",
					   SimdLevelName((SimdLevel) l), Kernels[k], Dims[d], bf, bh, bh / bf);
			}
	}
	return 0;
}
