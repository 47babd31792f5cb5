/*-------------------------------------------------------------------------
 *
 * simd.c
 *	  CPU feature detection and the SIMD level in force
 *
 * __builtin_cpu_supports reads CPUID and, for AVX and AVX-512, whether the
 * OS saves the wider registers (XGETBV), so a feature it reports can be
 * used.  The level changes only from the backend's own thread (the
 * setting's assign hook); kernel threads merely read it.
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <string.h>

#include "simd/simd.h"

SimdLevel	SimdCurrentLevel = SIMD_PORTABLE;

static const char *const LevelNames[SIMD_NUM_LEVELS] = {
	[SIMD_SCALAR] = "scalar",
	[SIMD_PORTABLE] = "portable",
	[SIMD_AVX2] = "avx2",
	[SIMD_AVX512] = "avx512",
};

static void (*Listeners[SIMD_MAX_LISTENERS]) (SimdLevel level);
static int	NumListeners = 0;

/* Read the CPU's features */
static unsigned
DetectFeatures(void)
{
	unsigned	f = 0;

#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		f |= CPU_AVX2;
	if (__builtin_cpu_supports("fma"))
		f |= CPU_FMA;
	if (__builtin_cpu_supports("avx512f"))
		f |= CPU_AVX512F;
	if (__builtin_cpu_supports("avx512bw"))
		f |= CPU_AVX512BW;
	if (__builtin_cpu_supports("avx512vl"))
		f |= CPU_AVX512VL;
	if (__builtin_cpu_supports("avx512dq"))
		f |= CPU_AVX512DQ;
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
	if (__builtin_cpu_supports("avx512fp16"))
		f |= CPU_AVX512FP16;
#endif
	/* __builtin_cpu_supports has no "f16c": CPUID leaf 1, ECX bit 29 */
	{
		unsigned	eax = 1,
					ebx,
					ecx = 0,
					edx;

		__asm__ volatile ("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
		/* F16C works on YMM registers: only together with usable AVX2 */
		if ((ecx & (1u << 29)) && (f & CPU_AVX2))
			f |= CPU_F16C;
	}
#endif
	return f;
}

/* This CPU's features, detected on first use */
unsigned
CpuFeatures(void)
{
	static int	detected = 0;
	static unsigned features = 0;

	if (!__atomic_load_n(&detected, __ATOMIC_ACQUIRE))
	{
		/* racing threads compute the same value */
		features = DetectFeatures();
		__atomic_store_n(&detected, 1, __ATOMIC_RELEASE);
	}
	return features;
}

/* Whether this CPU runs the given level */
bool
SimdLevelSupported(SimdLevel level)
{
	switch (level)
	{
		case SIMD_SCALAR:
		case SIMD_PORTABLE:
			return true;
		case SIMD_AVX2:
			return CpuHas(CPU_AVX2 | CPU_FMA | CPU_F16C);
		case SIMD_AVX512:
			return CpuHas(CPU_AVX2 | CPU_FMA | CPU_F16C | CPU_AVX512F);
	}
	return false;
}

/* The highest level this CPU runs */
SimdLevel
SimdBestLevel(void)
{
	for (int l = SIMD_NUM_LEVELS - 1; l > SIMD_PORTABLE; l--)
		if (SimdLevelSupported((SimdLevel) l))
			return (SimdLevel) l;
	return SIMD_PORTABLE;
}

/* Name of a level */
const char *
SimdLevelName(SimdLevel level)
{
	if ((int) level < 0 || (int) level >= SIMD_NUM_LEVELS)
		return "?";
	return LevelNames[level];
}

/* Parse a level name */
bool
SimdLevelFromName(const char *name, SimdLevel *level)
{
	for (int l = 0; l < SIMD_NUM_LEVELS; l++)
	{
		if (strcmp(name, LevelNames[l]) == 0)
		{
			*level = (SimdLevel) l;
			return true;
		}
	}
	return false;
}

/* Put a level in force and tell the listeners */
int
SimdSetLevel(SimdLevel level)
{
	if (!SimdLevelSupported(level))
		return -1;
	SimdCurrentLevel = level;
	for (int i = 0; i < NumListeners; i++)
		Listeners[i] (level);
	return 0;
}

/* Register a listener and tell it the level in force */
int
SimdAddListener(void (*fn) (SimdLevel level))
{
	bool		known = false;

	for (int i = 0; i < NumListeners; i++)
		if (Listeners[i] == fn)
			known = true;
	if (!known)
	{
		if (NumListeners >= SIMD_MAX_LISTENERS)
			return -1;
		Listeners[NumListeners++] = fn;
	}
	fn(SimdCurrentLevel);
	return 0;
}
