/*-------------------------------------------------------------------------
 *
 * half.h
 *	  IEEE 754 binary16 ("half") values and their conversion to and from
 *	  float4, in portable C
 *
 * Pure C (no PostgreSQL headers), so the parsers, kernels and unit tests
 * share one definition.  A half is kept as its bit pattern in a uint16:
 * 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.  The largest
 * finite half is 65504; values from 65520 up round to infinity; the
 * smallest subnormal is 2^-24.
 *
 * Float4ToHalf rounds to nearest, ties to even, like a hardware
 * conversion (F16C's VCVTPS2PH with the default rounding, or a C
 * _Float16 cast), so results do not depend on which path produced them.
 * HalfToFloat4 is exact: every half is a float4.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_HALF_H
#define SEMVEC_HALF_H

#include <stdint.h>
#include <string.h>

typedef uint16_t half;

#define HALF_MAX 65504.0f
#define HALF_SIGN_MASK 0x8000
#define HALF_EXP_MASK 0x7C00
#define HALF_MANT_MASK 0x03FF

static inline uint32_t
HalfFloatBits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float
HalfBitsFloat(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* NaN: all exponent bits set and a non-zero mantissa */
static inline int
HalfIsNan(half h)
{
	return (h & HALF_EXP_MASK) == HALF_EXP_MASK && (h & HALF_MANT_MASK) != 0;
}

/* +-Infinity: all exponent bits set and a zero mantissa */
static inline int
HalfIsInf(half h)
{
	return (h & ~HALF_SIGN_MASK) == HALF_EXP_MASK;
}

/* +0 or -0 */
static inline int
HalfIsZero(half h)
{
	return (h & ~HALF_SIGN_MASK) == 0;
}

/*
 * Widen a half to float4 (exact).  Branch-free: the magnitude is the
 * integer significand (with the implicit 1 of normal numbers) times a
 * power of two, both exact in float4; subnormals take exponent 1's scale
 * without the implicit bit; the largest exponent (infinity, NaN) only
 * needs the float exponent field filled, the significand bits being in
 * place already.
 */
static inline float
HalfToFloat4(half h)
{
	uint32_t	exp = (h & HALF_EXP_MASK) >> 10;
	uint32_t	normal = (exp + 31) >> 5;	/* 1 unless exp == 0 */
	uint32_t	special = (exp + 1) >> 5;	/* 1 when exp == 31 */
	uint32_t	sig = (h & HALF_MANT_MASK) | (normal << 10);
	uint32_t	scale_exp = exp + (1 - normal) + (127 - 15 - 10);
	float		mag = (float) (int32_t) sig * HalfBitsFloat(scale_exp << 23);

	return HalfBitsFloat(HalfFloatBits(mag) |
						 ((0u - special) & 0x7F800000) |
						 ((uint32_t) (h & HALF_SIGN_MASK) << 16));
}

/*
 * Round a float4 to the nearest half, ties to even.  Overflow gives
 * infinity (the caller decides whether that is an error); NaN stays NaN
 * (quiet, sign kept); values too small become +-0 or a subnormal.
 */
static inline half
Float4ToHalf(float f)
{
	uint32_t	u = HalfFloatBits(f);
	uint32_t	sign = (u >> 16) & HALF_SIGN_MASK;
	uint32_t	a = u & 0x7FFFFFFF;

	/* NaN, infinity, or finite but >= 65520 (which rounds up to infinity) */
	if (a >= 0x477FF000)
	{
		if (a > 0x7F800000)
			return (half) (sign | 0x7E00);
		return (half) (sign | HALF_EXP_MASK);
	}

	/* Below 2^-14, the smallest normal half: the result is subnormal or 0 */
	if (a < 0x38800000)
	{
		/*
		 * The half is round(|f| * 2^24) (ties to even) ulps of 2^-24.  Adding
		 * 0.5 (2^-1) to |f| makes the float unit do exactly that rounding:
		 * the sum has exponent -1 and ulp 2^-24, so its low mantissa bits are
		 * the rounded count of half ulps.  Values below 2^-25 give 0.
		 */
		float		sum = HalfBitsFloat(a) + 0.5f;

		return (half) (sign | (HalfFloatBits(sum) - 0x3F000000));
	}

	/*
	 * Normal range: rebias the exponent and drop 13 mantissa bits, rounding
	 * to nearest with ties to even (add just under half an ulp, plus the
	 * lowest kept bit); a carry into the exponent is the correct result.
	 */
	{
		uint32_t	odd = (a >> 13) & 1;

		a += ((uint32_t) (15 - 127) << 23) + 0xFFF + odd;
		return (half) (sign | (a >> 13));
	}
}

#endif							/* SEMVEC_HALF_H */
