/*-------------------------------------------------------------------------
 *
 * distance_half_test.c
 *	  Unit test: the half-element distance kernels of every SIMD level agree
 *	  with a double-precision reference
 *
 * For each SIMD level this CPU supports and each awkward length (tails of
 * 1..7 after blocks of 8 and 32, up to 16000), random halves go through
 * all four kernels and are compared with a double loop over the widened
 * values, with distance_test.c's tolerance (1e-5, relative to the sum of
 * |terms| for the signed products).  The inputs end right before an
 * unreadable page, so a kernel that reads past the last element crashes.
 * Built and run by tools/unit.sh (plain gcc, no PostgreSQL).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simd/simd.h"
#include "vector/distance.h"
#include "vector/distance_half.h"

#define TOLERANCE 1e-5

static const int Lengths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 39, 100, 384, 1536, 4000, 16000};
#define NUM_LENGTHS ((int) (sizeof(Lengths) / sizeof(Lengths[0])))
#define MAX_LEN 16000

static int	failures = 0;
static uint64_t rng_state = 0x4a1f4a1fULL;

static uint64_t
NextRandom(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static float
RandomFloat(float lo, float hi)
{
	return lo + (hi - lo) * (float) ((NextRandom() >> 40) / 16777216.0);
}

/* n halves ending right before a PROT_NONE page */
static half *
GuardedHalves(int n)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		bytes = sizeof(half) * (size_t) n;
	size_t		span = (bytes + page - 1) / page * page;
	char	   *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED || mprotect(base + span, page, PROT_NONE) != 0)
	{
		perror("mmap");
		exit(2);
	}
	return (half *) (base + span - bytes);
}

static void
Compare(const char *level, const char *kernel, int n, double got, double want, double scale)
{
	double		err = fabs(got - want) / (scale > 0 ? scale : 1);

	if (!(err <= TOLERANCE))
	{
		printf("FAIL %-8s %-7s n=%-5d got=%.9g want=%.9g relerr=%.3g\n",
			   level, kernel, n, got, want, err);
		failures++;
	}
}

int
main(void)
{
	half	   *a = GuardedHalves(MAX_LEN);
	half	   *b = GuardedHalves(MAX_LEN);

	DistanceInit();
	HalfDistanceInit();

	for (int level = SIMD_SCALAR; level < SIMD_NUM_LEVELS; level++)
	{
		const char *name = SimdLevelName((SimdLevel) level);

		if (!SimdLevelSupported((SimdLevel) level))
		{
			printf("skip %-8s (not supported by this CPU)\n", name);
			continue;
		}
		if (SimdSetLevel((SimdLevel) level) != 0)
		{
			printf("FAIL %-8s cannot be set\n", name);
			failures++;
			continue;
		}

		for (int li = 0; li < NUM_LENGTHS; li++)
		{
			int			n = Lengths[li];
			half	   *x = a + (MAX_LEN - n);
			half	   *y = b + (MAX_LEN - n);

			for (int round = 0; round < 3; round++)
			{
				double		l2 = 0, ip = 0, absip = 0, na = 0, nb = 0, l1 = 0;
				double		cosine;

				for (int i = 0; i < n; i++)
				{
					/* signed, non-negative, and near the half range's top */
					float		lo = round == 1 ? 0.0f : -1.0f;
					float		hi = round == 2 ? 200.0f : 1.0f;
					double		xv;
					double		yv;

					x[i] = Float4ToHalf(RandomFloat(lo, hi));
					y[i] = Float4ToHalf(RandomFloat(lo, hi));
					xv = HalfToFloat4(x[i]);
					yv = HalfToFloat4(y[i]);
					l2 += (xv - yv) * (xv - yv);
					ip += xv * yv;
					absip += fabs(xv * yv);
					na += xv * xv;
					nb += yv * yv;
					l1 += fabs(xv - yv);
				}
				cosine = ip / sqrt(na * nb);

				Compare(name, "l2sq", n, HalfDistanceL2Squared(n, x, y), l2, l2);
				Compare(name, "ip", n, HalfDistanceInnerProduct(n, x, y), ip, absip);
				Compare(name, "cosine", n, HalfDistanceCosineSimilarity(n, x, y), cosine,
						absip / sqrt(na * nb));
				Compare(name, "l1", n, HalfDistanceL1(n, x, y), l1, l1);
			}
		}
		printf("ok   %-8s half kernels agree with the double reference\n", name);
	}

	if (failures > 0)
	{
		printf("distance_half_test: %d failures\n", failures);
		return 1;
	}
	return 0;
}
