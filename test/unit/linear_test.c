/*
 * Unit test of the encoder's linear layers (src/encoder/kernels/linear.c)
 * and the kernels under them (gemm_panels.c, gemm_rows.c, sgemm):
 *
 *  - the load-time packing: EncPanelsPack writes the documented panel
 *    layout, and EncLinearPackedSize asks for panels only where they serve
 *    ([in][out] matrices whose width is a multiple of 16, on CPUs that run
 *    the panel kernels);
 *  - every path equals a plain triple loop in double precision: panels,
 *    and (at the portable SIMD level) sgemm on the plain matrix for
 *    [in][out]; the few-row kernel and sgemm for [out][in]; with and
 *    without bias and accumulation;
 *  - the sparse products (rows of W that meet only zeros of x skipped;
 *    from the panels, and for few rows from the plain row-major matrix)
 *    equal the dense panel product exactly, at several sparsities and row
 *    counts around the kernels' block and mode boundaries, and with 1-3
 *    worker threads.
 *
 * Panel cases are skipped on CPUs without AVX2/FMA.  Built and run by
 * tools/unit.sh (plain gcc + OpenBLAS, no PostgreSQL).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder/kernels/gemm_panels.h"
#include "encoder/kernels/gemm_rows.h"
#include "encoder/kernels/linear.h"
#include "simd/simd.h"

static unsigned long Seed = 12345;
static int	Checks = 0;
static int	Failed = 0;

static float
Rand(void)
{
	Seed = Seed * 6364136223846793005UL + 1442695040888963407UL;
	return (float) ((Seed >> 33) % 2000001) / 1000000.0f - 1.0f;
}

static float *
RandArray(long n)
{
	float	   *a = malloc(sizeof(float) * (n > 0 ? n : 1));

	for (long i = 0; i < n; i++)
		a[i] = Rand();
	return a;
}

/* y0 (when acc) + b + x·W in double; W [in][out] or [out][in] */
static double
Ref(const float *x, int r, int in, const float *w, EncWeightLayout layout,
	int out, int o, const float *b, const float *y0, int acc)
{
	double		ref = (acc ? y0[(long) r * out + o] : 0) + (b ? b[o] : 0);

	for (int k = 0; k < in; k++)
		ref += (double) x[(long) r * in + k] *
			(layout == ENC_W_IN_OUT ? w[(long) k * out + o] : w[(long) o * in + k]);
	return ref;
}

/* The reference result of every element */
static double *
RefAll(const float *x, int n, int in, const float *w, EncWeightLayout layout,
	   int out, const float *b, const float *y0, int acc)
{
	double	   *ref = malloc(sizeof(double) * ((long) n * out + 1));

	for (int r = 0; r < n; r++)
		for (int o = 0; o < out; o++)
			ref[(long) r * out + o] = Ref(x, r, in, w, layout, out, o, b, y0, acc);
	return ref;
}

/* Report (up to 5 per case) where y differs from the reference */
static int
Compare(const char *what, const float *y, const double *ref, int n, int in,
		int out, int with_bias, int acc)
{
	int			bad = 0;

	for (long i = 0; i < (long) n * out && bad < 5; i++)
		if (fabs(y[i] - ref[i]) > 1e-4 * (1 + fabs(ref[i])))
		{
			fprintf(stderr, "%s n=%d in=%d out=%d bias=%d acc=%d: y[%ld][%ld] = %.9g, ref %.9g\n",
					what, n, in, out, with_bias, acc, i / out, i % out, y[i], ref[i]);
			bad++;
		}
	return bad;
}

/* The packing writes packed[p][k][j] = w[k][16p + j] */
static void
CheckPack(void)
{
	int			in = 37;
	int			out = 48;
	float	   *w = RandArray((long) in * out);
	float	   *p = malloc(sizeof(float) * in * out);
	int			bad = 0;

	EncPanelsPack(w, in, out, p);
	for (int pp = 0; pp < out / ENC_PANEL; pp++)
		for (int k = 0; k < in; k++)
			for (int j = 0; j < ENC_PANEL; j++)
				if (p[((long) pp * in + k) * ENC_PANEL + j] != w[(long) k * out + pp * ENC_PANEL + j])
					bad++;
	Checks++;
	if (bad)
	{
		fprintf(stderr, "EncPanelsPack: %d elements misplaced\n", bad);
		Failed++;
	}
	free(w);
	free(p);
}

/* Which layers want panels */
static void
CheckPackPolicy(void)
{
	EncLinear	l;
	int			bad = 0;
	float		dummy = 0;

	EncLinearInit(&l, &dummy, ENC_W_IN_OUT, 512, 1536, NULL);
	if ((EncLinearPackedSize(&l) != 0) != EncPanelsSupported() ||
		(EncPanelsSupported() && EncLinearPackedSize(&l) != sizeof(float) * 512 * 1536))
		bad++;
	EncLinearInit(&l, &dummy, ENC_W_IN_OUT, 512, 1530, NULL);	/* width not /16 */
	if (EncLinearPackedSize(&l) != 0)
		bad++;
	EncLinearInit(&l, &dummy, ENC_W_OUT_IN, 512, 1536, NULL);	/* read as published */
	if (EncLinearPackedSize(&l) != 0)
		bad++;
	Checks++;
	if (bad)
	{
		fprintf(stderr, "EncLinearPackedSize: %d wrong answers\n", bad);
		Failed++;
	}
}

/*
 * One [in][out] layer with panels: dense, sparse and the plain-matrix path
 * (portable level) against the reference; sparse equal to dense exactly
 */
static void
CheckInOut(int n, int in, int out, double zero_frac, int with_bias, int acc)
{
	float	   *w = RandArray((long) in * out);
	float	   *b = RandArray(out);
	float	   *x = malloc(sizeof(float) * ((long) n * in + 1));
	float	   *y0 = RandArray((long) n * out);
	float	   *yd = malloc(sizeof(float) * ((long) n * out + 1));
	float	   *ys = malloc(sizeof(float) * ((long) n * out + 1));
	float	   *yp = malloc(sizeof(float) * ((long) n * out + 1));
	EncLinear	l;
	int			bad = 0;
	size_t		bytes;
	double	   *ref;

	for (long i = 0; i < (long) n * in; i++)
		x[i] = (Rand() + 1.0f) / 2.0f < zero_frac ? 0.0f : Rand();
	memcpy(yd, y0, sizeof(float) * n * out);
	memcpy(ys, y0, sizeof(float) * n * out);
	memcpy(yp, y0, sizeof(float) * n * out);
	EncLinearInit(&l, w, ENC_W_IN_OUT, in, out, with_bias ? b : NULL);
	bytes = EncLinearPackedSize(&l);
	if (bytes > 0)
	{
		/* from a copy of the matrix, as the loader does (read, not mapped) */
		float	   *copy = malloc(sizeof(float) * in * out);

		memcpy(copy, w, sizeof(float) * in * out);
		EncLinearPack(&l, malloc(bytes), copy);
		free(copy);
	}

	EncLinearApply(&l, x, n, yd, acc);
	EncLinearApplySparse(&l, x, n, ys, acc);
	SimdSetLevel(SIMD_PORTABLE);	/* the plain matrix through sgemm */
	EncLinearApply(&l, x, n, yp, acc);
	SimdSetLevel(SimdBestLevel());

	ref = RefAll(x, n, in, w, ENC_W_IN_OUT, out, l.bias, y0, acc);
	bad += Compare("in_out dense", yd, ref, n, in, out, with_bias, acc);
	bad += Compare("in_out portable", yp, ref, n, in, out, with_bias, acc);
	for (long i = 0; i < (long) n * out && bad < 5; i++)
		if (yd[i] != ys[i])
		{
			fprintf(stderr, "in_out sparse n=%d in=%d out=%d zero=%.2f: y[%ld] dense %.9g sparse %.9g\n",
					n, in, out, zero_frac, i, yd[i], ys[i]);
			bad++;
		}
	Checks++;
	Failed += bad != 0;
	free(l.panels);
	free(ref);
	free(w);
	free(b);
	free(x);
	free(y0);
	free(yd);
	free(ys);
	free(yp);
}

/* One [out][in] layer (torch): few-row kernel or sgemm, at both levels */
static void
CheckOutIn(int n, int in, int out, int with_bias, int acc)
{
	float	   *w = RandArray((long) in * out);
	float	   *b = RandArray(out);
	float	   *x = RandArray((long) n * in);
	float	   *y0 = RandArray((long) n * out);
	float	   *y = malloc(sizeof(float) * ((long) n * out + 1));
	EncLinear	l;
	int			bad = 0;
	double	   *ref = RefAll(x, n, in, w, ENC_W_OUT_IN, out, with_bias ? b : NULL, y0, acc);

	EncLinearInit(&l, w, ENC_W_OUT_IN, in, out, with_bias ? b : NULL);
	for (int level = SIMD_PORTABLE; level <= (int) SimdBestLevel(); level++)
	{
		SimdSetLevel((SimdLevel) level);
		memcpy(y, y0, sizeof(float) * n * out);
		EncLinearApply(&l, x, n, y, acc);
		bad += Compare(level == SIMD_PORTABLE ? "out_in portable" : "out_in simd",
					   y, ref, n, in, out, with_bias, acc);
	}
	SimdSetLevel(SimdBestLevel());
	Checks++;
	Failed += bad != 0;
	free(ref);
	free(w);
	free(b);
	free(x);
	free(y0);
	free(y);
}

int
main(void)
{
	static const int rows[] = {0, 1, 2, 5, 6, 7, 12, 13, 31, 32, 33, 47, 48, 49, 50, 97, 300};
	/* 3 after 2: a worker started later must wait for its first product */
	static const int threads_seq[] = {1, 2, 3, 2};
	static const double zeros[] = {0.0, 0.5, 0.93, 0.99, 1.0};

	SimdSetLevel(SimdBestLevel());
	CheckPack();
	CheckPackPolicy();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (int v = 0; v < 4; v++)
			CheckOutIn(rows[i], i % 2 ? 100 : 384, i % 3 == 1 ? 36 : 384, v & 1, v >> 1);
	/* the few-row kernel: one block of eight, then every remainder size */
	for (int n = 1; n <= ENC_ROWS_GEMM_MAX; n++)
		CheckOutIn(n, n % 2 ? 100 : 384, 36, n % 3 == 0, false);

	if (!EncPanelsSupported())
		printf("linear_test: panel cases skipped (no AVX2/FMA on this CPU)\n");
	else
		for (size_t ti = 0; ti < sizeof(threads_seq) / sizeof(threads_seq[0]); ti++)
		{
			EncSetThreads(threads_seq[ti]);
			for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
				for (size_t z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++)
					for (int v = 0; v < 4; v++)
					{
						/*
						 * in 300 is not a multiple of the K block, 1536 is
						 * the FFN's; out 80 is not a multiple of the
						 * 64-column blocks of the few-rows sparse product
						 */
						int			in = (i + z) % 2 ? 300 : 1536;

						CheckInOut(rows[i], in, i % 3 == 1 ? 80 : 64, zeros[z], v & 1, v >> 1);
					}
		}
	printf("linear_test: %d of %d cases %s\n", Checks - Failed, Checks,
		   Failed ? "passed, FAILED" : "passed");
	return Failed != 0;
}
