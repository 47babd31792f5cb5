/*
 * Unit test of src/encgemm.c: the sparse products (rows of W that meet only
 * zeros of x skipped; from the panels, and for few rows from a row-major
 * copy of W) must equal the dense packed product exactly, for
 * every row count around the kernel's block and mode boundaries, with and
 * without bias and accumulation, at several sparsities (including all
 * zero and dense x, and few rows, where the sparse entry point falls back
 * to the dense one).  Both are also checked against a plain triple loop in
 * double precision.  Skips (exit 0) on CPUs without AVX2/FMA, where there
 * is no packed kernel.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/encops.h"
#include "simd/simd.h"

static unsigned long Seed = 12345;

static float
Rand(void)
{
	Seed = Seed * 6364136223846793005UL + 1442695040888963407UL;
	return (float) ((Seed >> 33) % 2000001) / 1000000.0f - 1.0f;
}

static int
Check(int n, int in, int out, double zero_frac, int with_bias, int acc)
{
	float	   *w = malloc(sizeof(float) * in * out);
	float	   *packed = malloc(sizeof(float) * in * out);
	float	   *x = malloc(sizeof(float) * (n > 0 ? n : 1) * in);
	float	   *b = malloc(sizeof(float) * out);
	float	   *y0 = malloc(sizeof(float) * (n > 0 ? n : 1) * out);
	float	   *yd = malloc(sizeof(float) * (n > 0 ? n : 1) * out);
	float	   *ys = malloc(sizeof(float) * (n > 0 ? n : 1) * out);
	float	   *yr = malloc(sizeof(float) * (n > 0 ? n : 1) * out);
	int			bad = 0;

	for (int k = 0; k < in; k++)
		for (int o = 0; o < out; o++)
			w[k * out + o] = Rand();
	/* pack: packed[p][k][j] = w[k][p * 16 + j] */
	for (int p = 0; p < out / ENC_PANEL; p++)
		for (int k = 0; k < in; k++)
			for (int j = 0; j < ENC_PANEL; j++)
				packed[((long) p * in + k) * ENC_PANEL + j] = w[k * out + p * ENC_PANEL + j];
	for (long i = 0; i < (long) n * in; i++)
		x[i] = (Rand() + 1.0f) / 2.0f < zero_frac ? 0.0f : Rand();
	for (int o = 0; o < out; o++)
		b[o] = Rand();
	for (long i = 0; i < (long) n * out; i++)
		y0[i] = Rand();
	memcpy(yd, y0, sizeof(float) * n * out);
	memcpy(ys, y0, sizeof(float) * n * out);
	memcpy(yr, y0, sizeof(float) * n * out);

	EncLinearPacked(x, n, in, NULL, packed, with_bias ? b : NULL, out, yd, acc);
	/* panels only, and with the row-major copy (read for few rows) */
	EncLinearPackedSparse(x, n, in, NULL, packed, NULL, with_bias ? b : NULL, out, ys, acc);
	EncLinearPackedSparse(x, n, in, NULL, packed, w, with_bias ? b : NULL, out, yr, acc);

	for (int r = 0; r < n && bad < 5; r++)
		for (int o = 0; o < out && bad < 5; o++)
		{
			double		ref = (acc ? y0[r * out + o] : 0) + (with_bias ? b[o] : 0);
			float		d = yd[r * out + o];
			float		s = ys[r * out + o];
			float		sr = yr[r * out + o];

			for (int k = 0; k < in; k++)
				ref += (double) x[(long) r * in + k] * w[k * out + o];
			if (d != s || d != sr || fabs(d - ref) > 1e-4 * (1 + fabs(ref)))
			{
				fprintf(stderr, "n=%d in=%d out=%d zero=%.2f bias=%d acc=%d: y[%d][%d] dense %.9g sparse %.9g row-sparse %.9g ref %.9g\n",
						n, in, out, zero_frac, with_bias, acc, r, o, d, s, sr, ref);
				bad++;
			}
		}
	free(w);
	free(packed);
	free(x);
	free(b);
	free(y0);
	free(yd);
	free(ys);
	free(yr);
	return bad;
}

int
main(void)
{
	static const int rows[] = {0, 1, 2, 5, 6, 7, 12, 13, 31, 32, 33, 47, 48, 49, 50, 97, 300};
	/* 3 after 2: a worker started later must wait for its first product */
	static const int threads_seq[] = {1, 2, 3, 2};
	static const double zeros[] = {0.0, 0.5, 0.93, 0.99, 1.0};
	int			failed = 0;
	int			checks = 0;

	SimdSetLevel(SimdBestLevel());
	if (!EncPackedAvailable())
	{
		printf("encgemm_test: SKIP (no AVX2/FMA on this CPU)\n");
		return 0;
	}
	for (size_t ti = 0; ti < sizeof(threads_seq) / sizeof(threads_seq[0]); ti++)
	{
		EncPackedSetThreads(threads_seq[ti]);
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			for (size_t z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++)
				for (int v = 0; v < 4; v++)
				{
					/*
					 * in 300 is not a multiple of the K block, 1536 is the
					 * FFN's; out 80 is not a multiple of the 64-column
					 * blocks of the few-rows sparse product
					 */
					int			in = (i + z) % 2 ? 300 : 1536;

					failed += Check(rows[i], in, i % 3 == 1 ? 80 : 64, zeros[z], v & 1, v >> 1) != 0;
					checks++;
				}
	}
	printf("encgemm_test: %d of %d cases %s\n", checks - failed, checks,
		   failed ? "passed, FAILED" : "passed");
	return failed != 0;
}
