/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Portable float kernels, the path table and run-time dispatch
 *
 * The "scalar" kernels are the plain textbook loops, pinned to one element
 * at a time: they are the baseline the benchmark compares against.  The
 * "default" kernels use the compiler's generic vector types, i.e. the
 * baseline SIMD of any target, with several independent partial sums (float
 * addition is not associative, so the compiler may not do that reordering
 * of a plain loop itself without -ffast-math).  The x86 SIMD paths live in
 * distance_x86.c.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "vector/distance.h"
#include "vector/distance_simd.h"

/* Keep the baseline honest: no auto-vectorisation of the scalar loops */
#if defined(__GNUC__) && !defined(__clang__)
#define SCALAR_ONLY __attribute__((optimize("no-tree-vectorize")))
#else
#define SCALAR_ONLY
#endif

/* ----------------------------------------------------------------
 *		scalar path
 * ----------------------------------------------------------------
 */

/* Squared L2 distance, one element at a time */
SCALAR_ONLY static float
L2SquaredScalar(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* Inner product, one element at a time */
SCALAR_ONLY static float
InnerProductScalar(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

/* Cosine similarity, one element at a time */
SCALAR_ONLY static double
CosineSimilarityScalar(int dim, const float *a, const float *b)
{
	float		dot = 0.0f;
	float		na = 0.0f;
	float		nb = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	/* Use sqrt(a * b) over sqrt(a) * sqrt(b), as pgvector does */
	return (double) dot / sqrt((double) na * (double) nb);
}

/* L1 distance, one element at a time */
SCALAR_ONLY static float
L1Scalar(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

/* ----------------------------------------------------------------
 *		default (portable SIMD) path
 *
 * Written with GCC/Clang generic vector types, which compile to the
 * baseline SIMD of every target (SSE2 on x86-64, NEON on aarch64) without
 * any run-time check.  Two 4-lane accumulators per quantity.
 * ----------------------------------------------------------------
 */
#if defined(__GNUC__)

typedef float Float4 __attribute__((vector_size(16)));
typedef int Int4 __attribute__((vector_size(16)));

/* Load four floats from any address */
static inline Float4
Load4(const float *p)
{
	Float4		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Add up the four lanes pairwise */
static inline float
SumLanes(Float4 v)
{
	return (v[0] + v[1]) + (v[2] + v[3]);
}

/* Clear the sign bits: |v| per lane */
static inline Float4
Abs4(Float4 v)
{
	return (Float4) ((Int4) v & 0x7fffffff);
}

/* Squared L2 distance, portable SIMD */
static float
L2SquaredDefault(int dim, const float *a, const float *b)
{
	Float4		s0 = {0, 0, 0, 0};
	Float4		s1 = {0, 0, 0, 0};
	float		sum;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		Float4		d0 = Load4(a + i) - Load4(b + i);
		Float4		d1 = Load4(a + i + 4) - Load4(b + i + 4);

		s0 += d0 * d0;
		s1 += d1 * d1;
	}
	sum = SumLanes(s0 + s1);
	for (; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* Inner product, portable SIMD */
static float
InnerProductDefault(int dim, const float *a, const float *b)
{
	Float4		s0 = {0, 0, 0, 0};
	Float4		s1 = {0, 0, 0, 0};
	float		sum;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		s0 += Load4(a + i) * Load4(b + i);
		s1 += Load4(a + i + 4) * Load4(b + i + 4);
	}
	sum = SumLanes(s0 + s1);
	for (; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

/* Cosine similarity, portable SIMD */
static double
CosineSimilarityDefault(int dim, const float *a, const float *b)
{
	Float4		dot0 = {0, 0, 0, 0};
	Float4		dot1 = {0, 0, 0, 0};
	Float4		na0 = {0, 0, 0, 0};
	Float4		na1 = {0, 0, 0, 0};
	Float4		nb0 = {0, 0, 0, 0};
	Float4		nb1 = {0, 0, 0, 0};
	float		dot;
	float		na;
	float		nb;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		Float4		va0 = Load4(a + i);
		Float4		vb0 = Load4(b + i);
		Float4		va1 = Load4(a + i + 4);
		Float4		vb1 = Load4(b + i + 4);

		dot0 += va0 * vb0;
		na0 += va0 * va0;
		nb0 += vb0 * vb0;
		dot1 += va1 * vb1;
		na1 += va1 * va1;
		nb1 += vb1 * vb1;
	}
	dot = SumLanes(dot0 + dot1);
	na = SumLanes(na0 + na1);
	nb = SumLanes(nb0 + nb1);
	for (; i < dim; i++)
	{
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	/* Use sqrt(a * b) over sqrt(a) * sqrt(b), as pgvector does */
	return (double) dot / sqrt((double) na * (double) nb);
}

/* L1 distance, portable SIMD */
static float
L1Default(int dim, const float *a, const float *b)
{
	Float4		s0 = {0, 0, 0, 0};
	Float4		s1 = {0, 0, 0, 0};
	float		sum;
	int			i = 0;

	for (; i + 8 <= dim; i += 8)
	{
		s0 += Abs4(Load4(a + i) - Load4(b + i));
		s1 += Abs4(Load4(a + i + 4) - Load4(b + i + 4));
	}
	sum = SumLanes(s0 + s1);
	for (; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

#else							/* !__GNUC__: no vector types, reuse scalar */

#define L2SquaredDefault L2SquaredScalar
#define InnerProductDefault InnerProductScalar
#define CosineSimilarityDefault CosineSimilarityScalar
#define L1Default L1Scalar

#endif

/* ----------------------------------------------------------------
 *		path table and dispatch
 * ----------------------------------------------------------------
 */

typedef struct DistancePath
{
	const char *name;
	int			(*supported) (void);
	float		(*l2sq) (int dim, const float *a, const float *b);
	float		(*ip) (int dim, const float *a, const float *b);
	double		(*cosine) (int dim, const float *a, const float *b);
	float		(*l1) (int dim, const float *a, const float *b);
} DistancePath;

/* Portable paths run everywhere */
static int
AlwaysSupported(void)
{
	return 1;
}

#ifdef SEMVEC_HAVE_X86_KERNELS
/* Can this CPU (and OS) run the AVX2+FMA kernels? */
static int
Avx2Supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Can this CPU (and OS) run the AVX-512F kernels? */
static int
Avx512Supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f");
}
#endif

/* Every path, fastest first; the first supported one is the default */
static const DistancePath Paths[] = {
#ifdef SEMVEC_HAVE_X86_KERNELS
	{"avx512", Avx512Supported, DistanceL2SquaredAvx512, DistanceInnerProductAvx512,
	DistanceCosineSimilarityAvx512, DistanceL1Avx512},
	{"avx2", Avx2Supported, DistanceL2SquaredAvx2, DistanceInnerProductAvx2,
	DistanceCosineSimilarityAvx2, DistanceL1Avx2},
#endif
	{"default", AlwaysSupported, L2SquaredDefault, InnerProductDefault,
	CosineSimilarityDefault, L1Default},
	{"scalar", AlwaysSupported, L2SquaredScalar, InnerProductScalar,
	CosineSimilarityScalar, L1Scalar},
};

#define NUM_PATHS ((int) (sizeof(Paths) / sizeof(Paths[0])))

const char *const DistancePathNames[] = {
#ifdef SEMVEC_HAVE_X86_KERNELS
	"avx512", "avx2",
#endif
	"default", "scalar", NULL
};

float		(*DistanceL2Squared) (int dim, const float *a, const float *b) = L2SquaredDefault;
float		(*DistanceInnerProduct) (int dim, const float *a, const float *b) = InnerProductDefault;
double		(*DistanceCosineSimilarity) (int dim, const float *a, const float *b) = CosineSimilarityDefault;
float		(*DistanceL1) (int dim, const float *a, const float *b) = L1Default;

static const char *kernel_name = "default";

/* Find a path by name; NULL when unknown */
static const DistancePath *
FindPath(const char *name)
{
	for (int i = 0; i < NUM_PATHS; i++)
		if (strcmp(Paths[i].name, name) == 0)
			return &Paths[i];
	return NULL;
}

/* Point every dispatch pointer at one path */
static void
UsePath(const DistancePath *path)
{
	DistanceL2Squared = path->l2sq;
	DistanceInnerProduct = path->ip;
	DistanceCosineSimilarity = path->cosine;
	DistanceL1 = path->l1;
	kernel_name = path->name;
}

/* Pick the fastest kernels this CPU supports */
void
DistanceInit(void)
{
	for (int i = 0; i < NUM_PATHS; i++)
	{
		if (Paths[i].supported())
		{
			UsePath(&Paths[i]);
			return;
		}
	}
}

/* Name of the kernel path in use */
const char *
DistanceKernelName(void)
{
	return kernel_name;
}

/* Return 1 if the named path exists and this CPU can run it */
int
DistancePathSupported(const char *name)
{
	const DistancePath *path = FindPath(name);

	return path != NULL && path->supported();
}

/* Switch to the named path; 0 on success, -1 unknown, -2 unsupported */
int
DistanceSetPath(const char *name)
{
	const DistancePath *path = FindPath(name);

	if (path == NULL)
		return -1;
	if (!path->supported())
		return -2;
	UsePath(path);
	return 0;
}
