/*
 * half_test.c: vector/half.h's float4 <-> half conversions against the
 * compiler's _Float16 (IEEE binary16 with round-to-nearest-even, GCC 12+
 * on x86-64 and aarch64), which the server-side code does not use because
 * its code generation depends on the target flags.
 *
 * Checked: every half widens exactly and rounds back to itself (NaNs stay
 * NaN); for every pair of adjacent halves, the float midpoint (a tie,
 * which must go to the even half) and the floats one ulp on either side;
 * the overflow threshold (65520 rounds to infinity, 65519.996 does not);
 * the subnormal range and underflow to +-0; and 20 million random float
 * bit patterns.  Exits non-zero on the first mismatch.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector/half.h"

static long checks = 0;

/* The reference conversion: the compiler's */
static half
RefFloat4ToHalf(float f)
{
	_Float16	h = (_Float16) f;
	half		bits;

	memcpy(&bits, &h, sizeof(bits));
	return bits;
}

static float
RefHalfToFloat4(half bits)
{
	_Float16	h;

	memcpy(&h, &bits, sizeof(h));
	return (float) h;
}

static void
Check(float f)
{
	half		got = Float4ToHalf(f);
	half		want = RefFloat4ToHalf(f);

	checks++;
	if (isnan(f))
	{
		if (!HalfIsNan(got))
		{
			fprintf(stderr, "FAIL: NaN (0x%08x) -> 0x%04x, not a NaN\n", HalfFloatBits(f), got);
			exit(1);
		}
		return;
	}
	if (got != want)
	{
		fprintf(stderr, "FAIL: %.9g (0x%08x) -> 0x%04x, expected 0x%04x\n",
				f, HalfFloatBits(f), got, want);
		exit(1);
	}
}

int
main(void)
{
	uint64_t	state = 0x9E3779B97F4A7C15ull;

	/* Every half: exact widening, and rounding back gives the same half */
	for (uint32_t h = 0; h <= 0xFFFF; h++)
	{
		float		f = HalfToFloat4((half) h);
		float		ref = RefHalfToFloat4((half) h);

		if (HalfIsNan((half) h))
		{
			if (!isnan(f))
			{
				fprintf(stderr, "FAIL: NaN half 0x%04x widened to %g\n", h, f);
				return 1;
			}
			Check(f);
			continue;
		}
		if (HalfFloatBits(f) != HalfFloatBits(ref))
		{
			fprintf(stderr, "FAIL: half 0x%04x widened to %.9g, expected %.9g\n", h, f, ref);
			return 1;
		}
		if (Float4ToHalf(f) != h)
		{
			fprintf(stderr, "FAIL: half 0x%04x does not round-trip\n", h);
			return 1;
		}
		checks++;
	}

	/* Midpoints between adjacent finite halves, and one float ulp around */
	for (uint32_t h = 0; h < 0x7BFF; h++)
	{
		for (int sign = 0; sign < 2; sign++)
		{
			double		lo = HalfToFloat4((half) h);
			double		hi = HalfToFloat4((half) (h + 1));
			float		mid = (float) ((lo + hi) / 2);	/* exact in float */
			uint32_t	u = HalfFloatBits(mid);

			if (sign)
				u |= 0x80000000;
			Check(HalfBitsFloat(u));
			Check(HalfBitsFloat(u + 1));
			Check(HalfBitsFloat(u - 1));
		}
	}

	/* Around the overflow threshold and the largest finite half */
	for (float f = 65500.0f; f < 65600.0f; f = nextafterf(f, INFINITY))
	{
		Check(f);
		Check(-f);
	}
	Check(INFINITY);
	Check(-INFINITY);
	Check(NAN);
	Check(3.4e38f);

	/* Tiny values: subnormal halves and underflow to +-0 */
	for (float f = 1e-10f; f < 1e-4f; f *= 1.0001f)
	{
		Check(f);
		Check(-f);
	}
	Check(0.0f);
	Check(-0.0f);
	Check(1e-45f);

	/* Random float bit patterns (xorshift64*) */
	for (int i = 0; i < 20000000; i++)
	{
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		Check(HalfBitsFloat((uint32_t) ((state * 0x2545F4914F6CDD1Dull) >> 32)));
	}

	printf("half_test: %ld conversions match _Float16\n", checks);
	return 0;
}
