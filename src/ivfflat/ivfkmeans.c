/*-------------------------------------------------------------------------
 *
 * ivfkmeans.c
 *	  k-means on the build's sample: the centres of an ivfflat index
 *
 * Rows are float4 arrays clustered by Euclidean distance, or bit strings
 * clustered by Hamming distance (centre = majority bit, i.e. k-modes).  For
 * inner product and cosine the build hands in unit rows and asks for
 * spherical k-means: each centre is the normalised mean of its rows, so the
 * Euclidean distance between unit rows and centres (the chord) orders them
 * exactly as the dot product does.
 *
 * Initialisation is k-means++ (Arthur & Vassilvitskii): the first centre is
 * a random row, each further one a row drawn with probability proportional
 * to its squared distance to the nearest centre so far.  Rows that coincide
 * with a centre have weight 0 and are never drawn, so no two centres start
 * equal; if every row already coincides with a centre (fewer distinct rows
 * than lists), the remaining centres are random points (uniform in [0, 1)
 * per element, normalised when spherical; random bits), which simply stay
 * empty unless rows come near them.
 *
 * The iterations are Lloyd's, made cheap by Hamerly's bounds: each row
 * keeps an upper bound on the distance to its centre and a lower bound on
 * the distance to any other centre, and only rows whose bounds overlap are
 * measured again.  A float row measured against every centre goes with
 * others through one OpenBLAS product per batch (|x|^2 + |c|^2 - 2 x.c,
 * remeasured with the kernel when that comes out near zero); in high
 * dimensions the bounds rarely hold, and these products are most of the
 * work.  A bit row is compared with each centre in turn, and Elkan's first
 * lemma skips a centre c whenever d(c, best) >= 2 d(x, best), using a k x k
 * matrix of centre distances (kept for float centres too, where one product
 * C C^T fills it; this matrix is what makes the memory needed grow with
 * lists^2).  k-means++ measures every float row against each new centre in
 * one matrix-vector product; for bit rows the same lemma prunes it: a new
 * centre cannot take a row whose centre is at least twice the row's
 * distance away from it.
 *
 * Empty clusters: a centre that ends an assignment step with no rows takes
 * the row with the largest distance bound among clusters of two rows or
 * more (it becomes that row), which splits a spread-out cluster; if every
 * row sits exactly on its centre, there is nothing to split and the centre
 * stays where it is.  The iterations stop when at most one row in
 * IVFFLAT_KMEANS_SETTLED changed cluster, or after IVFFLAT_KMEANS_MAX_ITER
 * rounds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <cblas.h>
#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "ivfflat/ivfflat.h"
#include "vector/bitvec.h"
#include "vector/distance.h"

#define IVFFLAT_KMEANS_MAX_ITER		100

/*
 * The iterations stop once at most 1 row in this many changed centre: on
 * 100k word vectors (100 lists), iterating on to no change at all took 56
 * rounds instead of 25 and gave the same recall (0.811 / 0.922 at 4 / 8
 * probes against 0.813 / 0.920)
 */
#define IVFFLAT_KMEANS_SETTLED		1000

#define KmRow(km, base, i)	((base) + (Size) (i) * (km)->rowBytes)

/*
 * Float rows measured against every centre go through OpenBLAS in batches
 * of this many rows, the products of a batch taking at most 4 MB
 */
#define KmBatchRows(k)		Max(1, Min(256, (1 << 20) / Max((k), 1)))

/* Bytes of one row: float4 elements, or bits padded to whole uint64 words */
Size
IvfflatKmeansRowBytes(int dim, bool isBits)
{
	if (isBits)
		return (Size) ((dim + 63) / 64) * sizeof(uint64);
	return (Size) dim * sizeof(float);
}

/*
 * Memory the clustering needs with nsamples rows: the rows, two sets of
 * centres, per-row bounds and assignments, the k x k centre distances and
 * an accumulator.  The build compares this with maintenance_work_mem.
 */
Size
IvfflatKmeansMemory(int64 nsamples, int k, int dim, bool isBits)
{
	Size		row = IvfflatKmeansRowBytes(dim, isBits);
	Size		total = 0;

	total += (Size) nsamples * row;
	total += (Size) 2 * k * row;
	total += (Size) nsamples * (2 * sizeof(int) + 2 * sizeof(float));
	total += (Size) k * k * sizeof(float);
	total += (Size) k * (3 * sizeof(int) + 4 * sizeof(float));
	total += (Size) dim * sizeof(double);
	if (!isBits)
	{
		/* row norms, products of the seeding, a batch of rows and products */
		total += (Size) nsamples * 2 * sizeof(float);
		total += (Size) KmBatchRows(k) * ((Size) dim + k) * sizeof(float);
	}
	return total;
}

/* Distance between two rows: Euclidean, or Hamming for bit rows */
static inline float
RowDistance(const IvfflatKmeansData * km, const char *a, const char *b)
{
	if (km->isBits)
		return (float) BitHammingDistance((uint32) km->rowBytes, (const unsigned char *) a,
										  (const unsigned char *) b);
	return sqrtf(DistanceL2Squared(km->dim, (const float *) a, (const float *) b));
}

/*
 * Scale a float row to unit length; false (row untouched) when it has no
 * direction (zero) or no finite length
 */
bool
IvfflatNormalizeRow(float *x, int dim)
{
	double		norm = 0;

	for (int i = 0; i < dim; i++)
		norm += (double) x[i] * x[i];
	norm = sqrt(norm);
	if (!(norm > 0) || isinf(norm))
		return false;
	for (int i = 0; i < dim; i++)
		x[i] = (float) (x[i] / norm);
	return true;
}

/*
 * A random centre for lists no row can fill: uniform in [0, 1) per element
 * (as pgvector does, so an index built on an empty table still spreads rows
 * of the usual non-negative test data), normalised when spherical; or
 * random bits, with the padding past dim left zero.
 */
void
IvfflatRandomCenter(IvfflatKmeansData * km, char *row, pg_prng_state *prng)
{
	if (km->isBits)
	{
		uint64	   *w = (uint64 *) row;
		int			words = (int) (km->rowBytes / sizeof(uint64));
		uint8	   *bytes = (uint8 *) row;
		int			fullBytes = km->dim / 8;

		for (int i = 0; i < words; i++)
			w[i] = pg_prng_uint64(prng);
		/* Bits are stored most significant first; zero the padding */
		if (km->dim % 8 != 0)
		{
			bytes[fullBytes] &= (uint8) (0xFF << (8 - km->dim % 8));
			fullBytes++;
		}
		memset(bytes + fullBytes, 0, km->rowBytes - fullBytes);
	}
	else
	{
		float	   *x = (float *) row;

		do
		{
			for (int i = 0; i < km->dim; i++)
				x[i] = (float) pg_prng_double(prng);
		} while (km->spherical && !IvfflatNormalizeRow(x, km->dim));
	}
}

/* State shared by the steps below */
typedef struct KmeansState
{
	IvfflatKmeansData *km;
	int			n;
	int			k;
	int		   *assign;			/* centre of each row */
	float	   *upper;			/* >= distance of a row to its centre */
	float	   *lower;			/* <= distance of a row to any other centre */
	float	   *cdist;			/* k x k: full distances, then halves */
	float	   *s;				/* half the distance to the nearest other centre */
	float	   *moved;			/* how far each centre moved */
	int		   *counts;			/* rows per centre */
	int		   *order;			/* rows grouped by centre */
	int		   *starts;			/* first position of each centre in order */
	char	   *newCenters;
	/* Float rows only: squared norms, products with centres, a batch */
	float	   *rown2;			/* |x|^2 per row */
	float	   *cn2;			/* |c|^2 per centre */
	float	   *dots;			/* n products (seeding), or a batch's rows x k */
	float	   *batch;			/* a batch of rows, gathered */
	int		   *pending;		/* rows of the batch */
	int			npending;
}			KmeansState;

/*
 * Euclidean distance from squared norms and a dot product (the products
 * come from OpenBLAS).  Rounding makes the difference of two close numbers
 * inexact, so a distance near zero is measured again with the kernel: rows
 * equal to a centre must come out at exactly 0 (k-means++ relies on it).
 */
static inline float
DistanceFromDot(KmeansState * st, float xn2, float cn2, float dot, const char *x, const char *c)
{
	float		d2 = xn2 + cn2 - 2 * dot;

	/*
	 * Also when the products overflowed (rows with elements near the float
	 * limit): the kernel then gives infinity, never NaN
	 */
	if (!(d2 > 1e-4f * (xn2 + cn2)) || isinf(d2))
		return RowDistance(st->km, x, c);
	return sqrtf(d2);
}

/*
 * k-means++ seeding.  Leaves each row assigned to its nearest seed with
 * the exact distance in upper (lower is 0: unknown).
 */
static void
SeedCenters(KmeansState * st, pg_prng_state *prng)
{
	IvfflatKmeansData *km = st->km;
	int			n = st->n;
	int			k = st->k;
	int			chosen;
	int			next;

	for (int i = 0; i < n; i++)
	{
		st->assign[i] = -1;
		st->upper[i] = FLT_MAX;
		st->lower[i] = 0;
	}

	next = (int) pg_prng_uint64_range(prng, 0, n - 1);
	for (chosen = 0; chosen < k; chosen++)
	{
		char	   *c = KmRow(km, km->centers, chosen);
		float	   *row = st->cdist + (Size) chosen * k;
		double		total = 0;
		double		target;
		double		cum = 0;

		CHECK_FOR_INTERRUPTS();

		memcpy(c, KmRow(km, km->samples, next), km->rowBytes);
		for (int t = 0; t < chosen; t++)
		{
			row[t] = RowDistance(km, c, KmRow(km, km->centers, t));
			st->cdist[(Size) t * k + chosen] = row[t];
		}
		row[chosen] = 0;

		if (km->isBits)
		{
			/* Rows the new centre may take; Elkan's lemma skips the others */
			for (int i = 0; i < n; i++)
			{
				int			a = st->assign[i];

				if (a < 0 || row[a] < 2 * st->upper[i])
				{
					float		d = RowDistance(km, KmRow(km, km->samples, i), c);

					if (a < 0 || d < st->upper[i])
					{
						st->upper[i] = d;
						st->assign[i] = chosen;
					}
				}
				total += (double) st->upper[i] * st->upper[i];
			}
		}
		else
		{
			/* Every row against the new centre in one OpenBLAS product */
			float		cn2 = DistanceInnerProduct(km->dim, (const float *) c, (const float *) c);

			cblas_sgemv(CblasRowMajor, CblasNoTrans, n, km->dim, 1.0f,
						(const float *) km->samples, km->dim, (const float *) c, 1,
						0.0f, st->dots, 1);
			for (int i = 0; i < n; i++)
			{
				float		d = DistanceFromDot(st, st->rown2[i], cn2, st->dots[i],
												KmRow(km, km->samples, i), c);

				/*
				 * The first centre takes every row, even one whose distance
				 * overflowed to infinity
				 */
				if (st->assign[i] < 0 || d < st->upper[i])
				{
					st->upper[i] = d;
					st->assign[i] = chosen;
				}
				total += (double) st->upper[i] * st->upper[i];
			}
		}

		if (chosen + 1 == k)
			break;

		/* Every row sits on a centre: no distinct row is left to draw */
		if (total <= 0)
		{
			for (int j = chosen + 1; j < k; j++)
			{
				if ((j & 63) == 0)
					CHECK_FOR_INTERRUPTS();
				IvfflatRandomCenter(km, KmRow(km, km->centers, j), prng);
				for (int t = 0; t < j; t++)
				{
					float		d = RowDistance(km, KmRow(km, km->centers, j),
												KmRow(km, km->centers, t));

					st->cdist[(Size) j * k + t] = d;
					st->cdist[(Size) t * k + j] = d;
				}
				st->cdist[(Size) j * k + j] = 0;
			}
			break;
		}

		/* Draw the next row with probability proportional to distance^2 */
		target = pg_prng_double(prng) * total;
		next = -1;
		for (int i = 0; i < n; i++)
		{
			double		w = (double) st->upper[i] * st->upper[i];

			if (w <= 0)
				continue;
			next = i;
			cum += w;
			if (cum > target)
				break;
		}
	}
}

/*
 * Half the distance between every two centres, and per centre to its
 * nearest other one (s).  Float centres: one OpenBLAS product C C^T,
 * written into the matrix and turned into distances in place.
 */
static void
CenterDistances(KmeansState * st)
{
	IvfflatKmeansData *km = st->km;
	int			k = st->k;

	for (int j = 0; j < k; j++)
		st->s[j] = FLT_MAX;

	if (!km->isBits)
	{
		for (int j = 0; j < k; j++)
			st->cn2[j] = DistanceInnerProduct(km->dim, (const float *) KmRow(km, km->centers, j),
											  (const float *) KmRow(km, km->centers, j));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, k, km->dim, 1.0f,
					(const float *) km->centers, km->dim, (const float *) km->centers, km->dim,
					0.0f, st->cdist, k);
	}

	for (int j = 0; j < k; j++)
	{
		const char *cj = KmRow(km, km->centers, j);

		if ((j & 63) == 0)
			CHECK_FOR_INTERRUPTS();
		st->cdist[(Size) j * k + j] = 0;
		for (int t = j + 1; t < k; t++)
		{
			float		h;

			if (km->isBits)
				h = 0.5f * RowDistance(km, cj, KmRow(km, km->centers, t));
			else
				h = 0.5f * DistanceFromDot(st, st->cn2[j], st->cn2[t], st->cdist[(Size) j * k + t],
										   cj, KmRow(km, km->centers, t));
			st->cdist[(Size) j * k + t] = h;
			st->cdist[(Size) t * k + j] = h;
			if (h < st->s[j])
				st->s[j] = h;
			if (h < st->s[t])
				st->s[t] = h;
		}
	}
}

/*
 * A bit row against every centre that could be nearer than its own (Elkan's
 * lemma skips the others).  Sets its centre and bounds; true if it moved.
 */
static bool
FullScanBits(KmeansState * st, int i)
{
	IvfflatKmeansData *km = st->km;
	int			k = st->k;
	const char *x = KmRow(km, km->samples, i);
	int			a = st->assign[i];
	int			best = a;
	float		bd = st->upper[i];
	float		second = FLT_MAX;
	const float *hrow = st->cdist + (Size) best * k;

	for (int t = 0; t < k; t++)
	{
		float		d;

		if (t == best)
			continue;
		if (hrow[t] >= bd)
		{
			/* d(x, t) >= 2 h(best, t) - d(x, best) >= d(x, best) */
			float		lb = 2 * hrow[t] - bd;

			if (lb < second)
				second = lb;
			continue;
		}
		d = RowDistance(km, x, KmRow(km, km->centers, t));
		if (d < bd)
		{
			if (bd < second)
				second = bd;
			best = t;
			bd = d;
			hrow = st->cdist + (Size) best * k;
		}
		else if (d < second)
			second = d;
	}
	st->assign[i] = best;
	st->upper[i] = bd;
	st->lower[i] = second;
	return best != a;
}

/*
 * The pending float rows against every centre: one OpenBLAS product for
 * the batch, then nearest and second nearest per row (the row's own centre
 * wins ties).  Returns how many rows moved.
 */
static int64
FullScanBatch(KmeansState * st)
{
	IvfflatKmeansData *km = st->km;
	int			k = st->k;
	int			dim = km->dim;
	int64		moved = 0;

	if (st->npending == 0)
		return 0;
	for (int r = 0; r < st->npending; r++)
		memcpy(st->batch + (Size) r * dim, KmRow(km, km->samples, st->pending[r]), km->rowBytes);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, st->npending, k, dim, 1.0f,
				st->batch, dim, (const float *) km->centers, dim, 0.0f, st->dots, k);

	for (int r = 0; r < st->npending; r++)
	{
		int			i = st->pending[r];
		const char *x = KmRow(km, km->samples, i);
		const float *dots = st->dots + (Size) r * k;
		float		xn2 = st->rown2[i];
		int			a = st->assign[i];
		int			best = a;
		int			next = -1;
		float		bd2 = xn2 + st->cn2[a] - 2 * dots[a];
		float		sd2 = FLT_MAX;

		/* Compare squared distances; only the two nearest need a root */
		for (int t = 0; t < k; t++)
		{
			float		d2 = xn2 + st->cn2[t] - 2 * dots[t];

			if (t == a)
				continue;
			if (d2 < bd2)
			{
				sd2 = bd2;
				next = best;
				bd2 = d2;
				best = t;
			}
			else if (d2 < sd2)
			{
				sd2 = d2;
				next = t;
			}
		}
		if (best != a)
			moved++;
		st->assign[i] = best;
		st->upper[i] = DistanceFromDot(st, xn2, st->cn2[best], dots[best], x, KmRow(km, km->centers, best));
		st->lower[i] = next < 0 ? FLT_MAX :
			DistanceFromDot(st, xn2, st->cn2[next], dots[next], x, KmRow(km, km->centers, next));
	}
	st->npending = 0;
	return moved;
}

/*
 * Assignment step with Hamerly's bounds: a row is measured against every
 * centre only when its bounds overlap; returns how many rows changed centre.
 */
static int64
AssignRows(KmeansState * st)
{
	IvfflatKmeansData *km = st->km;
	int64		changes = 0;
	int			batchRows = KmBatchRows(st->k);

	CenterDistances(st);

	for (int i = 0; i < st->n; i++)
	{
		int			a = st->assign[i];
		float		bound = Max(st->s[a], st->lower[i]);

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();

		if (st->upper[i] <= bound)
			continue;
		st->upper[i] = RowDistance(km, KmRow(km, km->samples, i), KmRow(km, km->centers, a));
		if (st->upper[i] <= bound)
			continue;

		if (km->isBits)
		{
			if (FullScanBits(st, i))
				changes++;
		}
		else
		{
			st->pending[st->npending++] = i;
			if (st->npending == batchRows)
				changes += FullScanBatch(st);
		}
	}
	if (!km->isBits)
		changes += FullScanBatch(st);
	return changes;
}

/* qsort_arg order: rows by distance bound, farthest first */
static int
CompareFarthest(const void *a, const void *b, void *arg)
{
	const float *upper = arg;
	float		ua = upper[*(const int *) a];
	float		ub = upper[*(const int *) b];

	return (ua < ub) - (ua > ub);
}

/*
 * Give each empty centre the farthest row (by its distance bound) of a
 * cluster that can spare one.  Rows are ranked once per call, in the order
 * array (free at this point: GroupRows refills it afterwards).
 */
static void
FillEmptyCenters(KmeansState * st)
{
	int			nempty = 0;
	int			ncand = 0;
	int			next = 0;

	for (int j = 0; j < st->k; j++)
		if (st->counts[j] == 0)
			nempty++;
	if (nempty == 0)
		return;

	for (int i = 0; i < st->n; i++)
		if (st->upper[i] > 0)
			st->order[ncand++] = i;
	qsort_arg(st->order, ncand, sizeof(int), CompareFarthest, st->upper);

	for (int j = 0; j < st->k && next < ncand; j++)
	{
		if (st->counts[j] > 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		while (next < ncand && st->counts[st->assign[st->order[next]]] < 2)
			next++;
		if (next == ncand)
			break;				/* no cluster can spare a row */
		{
			int			donor = st->order[next++];

			st->counts[st->assign[donor]]--;
			st->assign[donor] = j;
			st->counts[j] = 1;
			st->upper[donor] = 0;
			st->lower[donor] = 0;
		}
	}
}

/* Group the rows by centre (counting sort into order/starts) */
static void
GroupRows(KmeansState * st)
{
	int			pos = 0;

	for (int j = 0; j < st->k; j++)
	{
		st->starts[j] = pos;
		pos += st->counts[j];
	}
	for (int j = 0; j < st->k; j++)
		st->counts[j] = 0;
	for (int i = 0; i < st->n; i++)
	{
		int			a = st->assign[i];

		st->order[st->starts[a] + st->counts[a]++] = i;
	}
}

/* New centre j of float rows: the mean (normalised when spherical) */
static bool
FloatMean(KmeansState * st, int j, double *acc, float *out)
{
	IvfflatKmeansData *km = st->km;
	int			dim = km->dim;
	int			cnt = st->counts[j];
	const int  *members = st->order + st->starts[j];

	memset(acc, 0, sizeof(double) * dim);
	for (int m = 0; m < cnt; m++)
	{
		const float *x = (const float *) KmRow(km, km->samples, members[m]);

		for (int e = 0; e < dim; e++)
			acc[e] += x[e];
	}
	if (km->spherical)
	{
		double		norm = 0;

		for (int e = 0; e < dim; e++)
			norm += acc[e] * acc[e];
		norm = sqrt(norm);
		if (!(norm > 0) || !isfinite(norm))
			return false;		/* opposite rows cancel: keep the old centre */
		for (int e = 0; e < dim; e++)
			out[e] = (float) (acc[e] / norm);
	}
	else
	{
		for (int e = 0; e < dim; e++)
			out[e] = (float) (acc[e] / cnt);
	}
	return true;
}

/* New centre j of bit rows: each bit set when most of the rows have it */
static void
BitMajority(KmeansState * st, int j, int *ones, uint8 *out)
{
	IvfflatKmeansData *km = st->km;
	int			nbytes = (km->dim + 7) / 8;
	int			cnt = st->counts[j];
	const int  *members = st->order + st->starts[j];

	memset(ones, 0, sizeof(int) * nbytes * 8);
	for (int m = 0; m < cnt; m++)
	{
		const uint8 *x = (const uint8 *) KmRow(km, km->samples, members[m]);

		for (int b = 0; b < nbytes; b++)
		{
			uint8		v = x[b];

			while (v != 0)
			{
				int			bit = pg_leftmost_one_pos32(v);

				ones[b * 8 + (7 - bit)]++;
				v &= ~(1 << bit);
			}
		}
	}
	memset(out, 0, km->rowBytes);
	for (int e = 0; e < km->dim; e++)
	{
		if (2 * ones[e] > cnt)
			out[e / 8] |= (uint8) (0x80 >> (e % 8));
	}
}

/*
 * Update step: centres move to their clusters' means, and the bounds of
 * every row widen by how far the centres moved.  Returns false when no
 * centre moved.
 */
static bool
MoveCenters(KmeansState * st)
{
	IvfflatKmeansData *km = st->km;
	int			k = st->k;
	float		max1 = 0,
				max2 = 0;
	int			argmax1 = -1;
	void	   *acc;
	bool		anyMoved = false;

	if (km->isBits)
		acc = palloc(sizeof(int) * ((km->dim + 7) / 8) * 8);
	else
		acc = palloc(sizeof(double) * km->dim);

	GroupRows(st);
	for (int j = 0; j < k; j++)
	{
		char	   *oldc = KmRow(km, km->centers, j);
		char	   *newc = KmRow(km, st->newCenters, j);
		bool		ok = true;

		CHECK_FOR_INTERRUPTS();
		if (st->counts[j] == 0)
			ok = false;
		else if (km->isBits)
			BitMajority(st, j, (int *) acc, (uint8 *) newc);
		else
			ok = FloatMean(st, j, (double *) acc, (float *) newc);

		if (!ok)
		{
			st->moved[j] = 0;
			continue;
		}
		st->moved[j] = RowDistance(km, oldc, newc);
		memcpy(oldc, newc, km->rowBytes);
		if (st->moved[j] > 0)
			anyMoved = true;
		if (st->moved[j] > max1)
		{
			max2 = max1;
			max1 = st->moved[j];
			argmax1 = j;
		}
		else if (st->moved[j] > max2)
			max2 = st->moved[j];
	}
	pfree(acc);

	for (int i = 0; i < st->n; i++)
	{
		int			a = st->assign[i];
		float		other = (a == argmax1) ? max2 : max1;

		st->upper[i] += st->moved[a];
		st->lower[i] = Max(st->lower[i] - other, 0);
	}
	return anyMoved;
}

/*
 * Cluster km->nsamples rows into km->k centres (km->centers).  The caller
 * passes more rows than centres and has checked the memory.
 */
void
IvfflatKmeans(IvfflatKmeansData * km, pg_prng_state *prng)
{
	KmeansState st;
	MemoryContext ctx;
	MemoryContext oldCtx;
	int			k = km->k;
	int			n = km->nsamples;
	int			iter;
	int64		changes = 0;
	instr_time	start,
				seeded,
				done;

	Assert(n > k && k >= 1);

	ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat k-means",
								ALLOCSET_DEFAULT_SIZES);
	oldCtx = MemoryContextSwitchTo(ctx);

	st.km = km;
	st.n = n;
	st.k = k;
	st.assign = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE);
	st.order = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE);
	st.upper = palloc_extended(sizeof(float) * n, MCXT_ALLOC_HUGE);
	st.lower = palloc_extended(sizeof(float) * n, MCXT_ALLOC_HUGE);
	st.cdist = palloc_extended(sizeof(float) * (Size) k * k, MCXT_ALLOC_HUGE);
	st.s = palloc(sizeof(float) * k);
	st.moved = palloc(sizeof(float) * k);
	st.counts = palloc(sizeof(int) * k);
	st.starts = palloc(sizeof(int) * k);
	st.newCenters = palloc_extended(km->rowBytes * k, MCXT_ALLOC_HUGE);
	st.npending = 0;
	if (!km->isBits)
	{
		int			batchRows = KmBatchRows(k);

		st.rown2 = palloc_extended(sizeof(float) * n, MCXT_ALLOC_HUGE);
		st.cn2 = palloc(sizeof(float) * k);
		st.dots = palloc_extended(sizeof(float) * Max((Size) n, (Size) batchRows * k), MCXT_ALLOC_HUGE);
		st.batch = palloc_extended(sizeof(float) * (Size) batchRows * km->dim, MCXT_ALLOC_HUGE);
		st.pending = palloc(sizeof(int) * batchRows);
		for (int i = 0; i < n; i++)
		{
			const float *x = (const float *) KmRow(km, km->samples, i);

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			st.rown2[i] = DistanceInnerProduct(km->dim, x, x);
		}
	}

	INSTR_TIME_SET_CURRENT(start);
	SeedCenters(&st, prng);
	INSTR_TIME_SET_CURRENT(seeded);
	INSTR_TIME_SUBTRACT(seeded, start);

	for (iter = 0; iter < IVFFLAT_KMEANS_MAX_ITER; iter++)
	{
		changes = AssignRows(&st);
		elog(DEBUG2, "ivfflat k-means iteration %d: %lld rows changed centre", iter + 1, (long long) changes);
		if (iter > 0 && changes <= n / IVFFLAT_KMEANS_SETTLED)
			break;
		memset(st.counts, 0, sizeof(int) * k);
		for (int i = 0; i < n; i++)
			st.counts[st.assign[i]]++;
		FillEmptyCenters(&st);
		if (!MoveCenters(&st))
			break;
	}
	INSTR_TIME_SET_CURRENT(done);
	INSTR_TIME_SUBTRACT(done, start);
	elog(DEBUG1, "ivfflat k-means: %d rows, %d centres, seeding %.3f s, %d iterations (last moved %lld rows), %.3f s in all",
		 n, k, INSTR_TIME_GET_DOUBLE(seeded), Min(iter + 1, IVFFLAT_KMEANS_MAX_ITER),
		 (long long) changes, INSTR_TIME_GET_DOUBLE(done));

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(ctx);
}
