/*-------------------------------------------------------------------------
 *
 * simd.h
 *	  CPU features and the SIMD level every kernel of semvec follows
 *
 * The library is built for baseline x86-64 (never -march=native); kernels
 * that need newer instructions carry __attribute__((target(...))) and may
 * run only where this module says the CPU has them.  Detection lives here
 * alone: the distance kernels (src/vector), the encoder's kernels
 * (src/encoder) and any later kernel ask this module, and follow one level
 * that the semvec.simd setting pins (simd_setting.c, simd_setting.h).
 *
 * Levels, lowest first (each includes the ones below it):
 *
 *	 scalar    one element at a time: the baseline that benchmarks compare
 *			   against and the reference of the tests
 *	 portable  the compiler's generic vector types, i.e. the baseline SIMD
 *			   of the target (SSE2 on x86-64, NEON on aarch64)
 *	 avx2      AVX2, FMA and F16C (the x86-64-v3 vector instructions)
 *	 avx512    AVX-512F on top of avx2
 *
 * A kernel family need not have a variant for every level: it runs its
 * best variant at or below the level in force (the encoder has no AVX-512
 * or scalar variants, so avx512 runs its AVX2 kernels, scalar its portable
 * ones).  Matrix products inside OpenBLAS pick their own kernels.
 *
 * Pure C: no PostgreSQL calls, so kernels and unit tests can use it from
 * any thread (only the setting changes the level, from the backend).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_SIMD_H
#define SEMVEC_SIMD_H

#include <stdbool.h>

typedef enum SimdLevel
{
	SIMD_SCALAR = 0,
	SIMD_PORTABLE,
	SIMD_AVX2,
	SIMD_AVX512
} SimdLevel;

#define SIMD_NUM_LEVELS (SIMD_AVX512 + 1)

/* CPU feature bits (CpuFeatures); all zero off x86-64 */
#define CPU_AVX2		(1u << 0)
#define CPU_FMA			(1u << 1)
#define CPU_F16C		(1u << 2)
#define CPU_AVX512F		(1u << 3)
#define CPU_AVX512BW	(1u << 4)
#define CPU_AVX512VL	(1u << 5)
#define CPU_AVX512DQ	(1u << 6)
#define CPU_AVX512FP16	(1u << 7)

/* This CPU's features (detected once, OS support included) */
extern unsigned CpuFeatures(void);

/* Whether the CPU has every feature in mask */
static inline bool
CpuHas(unsigned mask)
{
	return (CpuFeatures() & mask) == mask;
}

/*
 * The level in force; read it through SimdGetLevel().  It starts at
 * portable; loading the library sets it from semvec.simd ("auto": the
 * best), and programs without PostgreSQL call SimdSetLevel themselves.
 */
extern SimdLevel SimdCurrentLevel;

/* The level in force */
static inline SimdLevel
SimdGetLevel(void)
{
	return SimdCurrentLevel;
}

/* Whether kernels of the given level may run now */
static inline bool
SimdAllows(SimdLevel level)
{
	return SimdCurrentLevel >= level;
}

/* The highest level this CPU runs */
extern SimdLevel SimdBestLevel(void);

/* Whether this CPU runs the given level */
extern bool SimdLevelSupported(SimdLevel level);

/* "scalar", "portable", "avx2", "avx512" */
extern const char *SimdLevelName(SimdLevel level);

/* Parse a level name; false when unknown */
extern bool SimdLevelFromName(const char *name, SimdLevel *level);

/*
 * Put a level in force and tell every listener.  Returns 0, or -1 when
 * this CPU cannot run it (the level in force is kept).
 */
extern int	SimdSetLevel(SimdLevel level);

/*
 * Register a function called with the new level whenever it changes
 * (kernels that keep dispatch pointers re-point them there); it is also
 * called at once with the level in force.  Registering the same function
 * again only calls it.  Returns 0, or -1 when SIMD_MAX_LISTENERS are
 * registered already.
 */
#define SIMD_MAX_LISTENERS 8
extern int	SimdAddListener(void (*fn) (SimdLevel level));

#endif							/* SEMVEC_SIMD_H */
