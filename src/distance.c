/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Portable float kernels and their run-time dispatch
 *
 * Only the portable ("default") path exists here for now; SIMD paths are
 * added next to it and selected in DistanceInit().
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "distance.h"

/* Squared L2 distance, portable */
static float
L2SquaredDefault(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* Inner product, portable */
static float
InnerProductDefault(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

/* Cosine similarity, portable */
static double
CosineSimilarityDefault(int dim, const float *a, const float *b)
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

/* L1 distance, portable */
static float
L1Default(int dim, const float *a, const float *b)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

float		(*DistanceL2Squared) (int dim, const float *a, const float *b) = L2SquaredDefault;
float		(*DistanceInnerProduct) (int dim, const float *a, const float *b) = InnerProductDefault;
double		(*DistanceCosineSimilarity) (int dim, const float *a, const float *b) = CosineSimilarityDefault;
float		(*DistanceL1) (int dim, const float *a, const float *b) = L1Default;

static const char *kernel_name = "default";

/* Pick kernels for this CPU */
void
DistanceInit(void)
{
	DistanceL2Squared = L2SquaredDefault;
	DistanceInnerProduct = InnerProductDefault;
	DistanceCosineSimilarity = CosineSimilarityDefault;
	DistanceL1 = L1Default;
	kernel_name = "default";
}

/* Name of the kernel path in use */
const char *
DistanceKernelName(void)
{
	return kernel_name;
}
