/*-------------------------------------------------------------------------
 *
 * distance_test.c
 *	  Unit test: every SIMD level's kernels agree with a double-precision reference
 *
 * For each SIMD level this CPU supports (simd/simd.h) and each awkward
 * length, random vectors
 * go through all four kernels and are compared with a straightforward
 * double-precision loop.  Tolerance is 1e-5 relative error:
 *
 *	 - L2 and L1 sum non-negative terms, so error is relative to the result;
 *	 - for inner product and cosine with mixed signs the exact result can be
 *	   (almost) zero while every float kernel is still correct to its
 *	   rounding, so there the error is relative to the sum of |a[i]*b[i]|
 *	   (the standard condition number of a dot product); vectors with
 *	   non-negative elements are checked against the plain result too.
 *
 * The vectors are placed so that they end right before an unreadable page,
 * so a kernel that reads past the last element crashes the test.
 * Built and run by tools/unit.sh (plain gcc, no PostgreSQL).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simd/simd.h"
#include "vector/distance.h"

#define TOLERANCE 1e-5

static const int Lengths[] = {1, 3, 7, 8, 15, 16, 17, 100, 384, 1536, 16000};
#define NUM_LENGTHS ((int) (sizeof(Lengths) / sizeof(Lengths[0])))
#define MAX_LEN 16000

static int	failures = 0;
static uint64_t rng_state = 0x5eed5eedULL;

/* Next pseudo-random number (splitmix64: same sequence on every libc) */
static uint64_t
NextRandom(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform float in [lo, hi) */
static float
RandomFloat(float lo, float hi)
{
	return lo + (hi - lo) * (float) ((NextRandom() >> 40) / 16777216.0);
}

/*
 * Memory for n floats that ends exactly at an inaccessible page, so that
 * reading x[n] faults.
 */
static float *
GuardedArray(int n)
{
	long		page = sysconf(_SC_PAGESIZE);
	size_t		bytes = (size_t) n * sizeof(float);
	size_t		span = ((bytes + page - 1) / page) * page;
	char	   *base;

	base = mmap(NULL, span + page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || mprotect(base + span, page, PROT_NONE) != 0)
	{
		perror("mmap");
		exit(2);
	}
	return (float *) (base + span - bytes);
}

/* Record one comparison; print only failures */
static void
Check(const char *path, const char *kernel, const char *data, int n,
	  double got, double want, double scale, double *maxerr)
{
	double		err = fabs(got - want) / (scale > 0 ? scale : 1.0);

	if (err > *maxerr)
		*maxerr = err;
	if (!(err <= TOLERANCE))
	{
		printf("FAIL %-8s %-7s %-8s n=%-5d got=%.9g want=%.9g relerr=%.3g\n",
			   path, kernel, data, n, got, want, err);
		failures++;
	}
}

/* Compare the current path's kernels with the reference on one pair */
static void
CheckPair(const char *path, const char *data, int n, const float *a,
		  const float *b, double maxerr[4])
{
	double		l2 = 0,
				ip = 0,
				ipabs = 0,
				na = 0,
				nb = 0,
				l1 = 0;
	double		cosine;

	for (int i = 0; i < n; i++)
	{
		double		d = (double) a[i] - (double) b[i];

		l2 += d * d;
		ip += (double) a[i] * b[i];
		ipabs += fabs((double) a[i] * b[i]);
		na += (double) a[i] * a[i];
		nb += (double) b[i] * b[i];
		l1 += fabs(d);
	}
	cosine = ip / sqrt(na * nb);

	Check(path, "l2sq", data, n, DistanceL2Squared(n, a, b), l2, l2, &maxerr[0]);
	Check(path, "ip", data, n, DistanceInnerProduct(n, a, b), ip, ipabs, &maxerr[1]);
	Check(path, "cosine", data, n, DistanceCosineSimilarity(n, a, b), cosine,
		  ipabs / sqrt(na * nb), &maxerr[2]);
	Check(path, "l1", data, n, DistanceL1(n, a, b), l1, l1, &maxerr[3]);
}

/* Run every length through the current path */
static void
TestPath(const char *path, float *a, float *b)
{
	double		maxerr[4] = {0, 0, 0, 0};

	rng_state = 0x5eed5eedULL;
	for (int li = 0; li < NUM_LENGTHS; li++)
	{
		int			n = Lengths[li];
		float	   *pa = a + MAX_LEN - n;
		float	   *pb = b + MAX_LEN - n;

		/* Mixed signs */
		for (int i = 0; i < n; i++)
		{
			pa[i] = RandomFloat(-1.0f, 1.0f);
			pb[i] = RandomFloat(-1.0f, 1.0f);
		}
		CheckPair(path, "signed", n, pa, pb, maxerr);

		/* Non-negative: plain relative error for every kernel */
		for (int i = 0; i < n; i++)
		{
			pa[i] = RandomFloat(0.0f, 1.0f);
			pb[i] = RandomFloat(0.0f, 1.0f);
		}
		CheckPair(path, "positive", n, pa, pb, maxerr);

		/* Large magnitudes and an unaligned start */
		if (n > 1)
		{
			for (int i = 1; i < n; i++)
			{
				pa[i] = RandomFloat(-1e4f, 1e4f);
				pb[i] = RandomFloat(-1e4f, 1e4f);
			}
			CheckPair(path, "unalign", n - 1, pa + 1, pb + 1, maxerr);
		}
	}

	/* A zero vector has no direction: cosine similarity is NaN */
	memset(a, 0, sizeof(float) * MAX_LEN);
	for (int li = 0; li < NUM_LENGTHS; li++)
	{
		int			n = Lengths[li];

		if (!isnan(DistanceCosineSimilarity(n, a + MAX_LEN - n, b + MAX_LEN - n)))
		{
			printf("FAIL %-8s cosine with a zero vector is not NaN (n=%d)\n", path, n);
			failures++;
		}
	}

	printf("ok   %-8s max relerr l2sq=%.2e ip=%.2e cosine=%.2e l1=%.2e\n",
		   path, maxerr[0], maxerr[1], maxerr[2], maxerr[3]);
}

int
main(void)
{
	float	   *a = GuardedArray(MAX_LEN);
	float	   *b = GuardedArray(MAX_LEN);
	int			tested = 0;

	DistanceInit();
	if (SimdSetLevel(SimdBestLevel()) != 0 || !SimdLevelSupported(SIMD_PORTABLE))
	{
		printf("FAIL the best level or portable is not supported\n");
		failures++;
	}
	printf("best level: %s\n", SimdLevelName(SimdGetLevel()));
	if (SimdLevelFromName("no-such-level", &(SimdLevel) {0}))
	{
		printf("FAIL unknown level name accepted\n");
		failures++;
	}

	/* the level's pointers, by level (the listener re-points them) */
	for (int l = SIMD_NUM_LEVELS - 1; l >= 0; l--)
	{
		const char *name = SimdLevelName((SimdLevel) l);
		SimdLevel	parsed;

		if (!SimdLevelFromName(name, &parsed) || parsed != (SimdLevel) l)
		{
			printf("FAIL level name %s does not parse back\n", name);
			failures++;
		}
		if (SimdSetLevel((SimdLevel) l) != 0)
		{
			printf("skip %-8s not supported by this CPU\n", name);
			continue;
		}
		TestPath(name, a, b);
		tested++;
	}
	/* cosine distance from similarity: clamped to [0, 2], NaN kept */
	if (DistanceCosineFromSimilarity(1.0000001) != 0.0 ||
		DistanceCosineFromSimilarity(-1.0000001) != 2.0 ||
		DistanceCosineFromSimilarity(0.25) != 0.75 ||
		!isnan(DistanceCosineFromSimilarity(NAN)))
	{
		printf("FAIL DistanceCosineFromSimilarity\n");
		failures++;
	}

	/* the scalar pointers differ from the portable ones */
	SimdSetLevel(SIMD_SCALAR);
	{
		float		(*scalar_l2) (int, const float *, const float *) = DistanceL2Squared;

		SimdSetLevel(SIMD_PORTABLE);
		if (scalar_l2 == DistanceL2Squared)
		{
			printf("FAIL changing the level did not re-point the kernels\n");
			failures++;
		}
	}

	if (tested < 2)
	{
		printf("FAIL only %d paths ran\n", tested);
		failures++;
	}
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
