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
 * measured again.  When a row must be compared with every centre, Elkan's
 * first lemma skips a centre c whenever d(c, best) >= 2 d(x, best), using a
 * k x k matrix of centre distances (this matrix is what makes the memory
 * needed grow with lists^2).  The same lemma speeds up k-means++: a new
 * centre cannot take a row whose centre is at least twice the row's
 * distance away from it.
 *
 * Empty clusters: a centre that ends an assignment step with no rows takes
 * the row with the largest distance bound among clusters of two rows or
 * more (it becomes that row), which splits a spread-out cluster; if every
 * row sits exactly on its centre, there is nothing to split and the centre
 * stays where it is.  The iterations stop when no row changes cluster, or
 * after IVFFLAT_KMEANS_MAX_ITER rounds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/memutils.h"

#include "ivfflat/ivfflat.h"
#include "vector/distance.h"

#define IVFFLAT_KMEANS_MAX_ITER		100

#define KmRow(km, base, i)	((base) + (Size) (i) * (km)->rowBytes)

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
	total += (Size) k * (3 * sizeof(int) + 3 * sizeof(float));
	total += (Size) dim * sizeof(double);
	return total;
}

/* Hamming distance between two bit rows of whole words */
float
IvfflatBitRowDistance(const uint64 *a, const uint64 *b, int words)
{
	uint64		count = 0;

	for (int i = 0; i < words; i++)
		count += pg_popcount64(a[i] ^ b[i]);
	return (float) count;
}

/* Distance between two rows: Euclidean, or Hamming for bit rows */
static inline float
RowDistance(const IvfflatKmeansData * km, const char *a, const char *b)
{
	if (km->isBits)
		return IvfflatBitRowDistance((const uint64 *) a, (const uint64 *) b,
									 (int) (km->rowBytes / sizeof(uint64)));
	return sqrtf(DistanceL2Squared(km->dim, (const float *) a, (const float *) b));
}

/* Scale a float row to unit length; false (row untouched) when it is zero */
static bool
NormalizeRow(float *x, int dim)
{
	double		norm = 0;

	for (int i = 0; i < dim; i++)
		norm += (double) x[i] * x[i];
	norm = sqrt(norm);
	if (norm == 0)
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
		} while (km->spherical && !NormalizeRow(x, km->dim));
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
}			KmeansState;

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

		/* Rows the new centre may take; Elkan's lemma skips the others */
		for (int i = 0; i < n; i++)
		{
			int			a = st->assign[i];

			if (a < 0 || row[a] < 2 * st->upper[i])
			{
				float		d = RowDistance(km, KmRow(km, km->samples, i), c);

				if (d < st->upper[i])
				{
					st->upper[i] = d;
					st->assign[i] = chosen;
				}
			}
			total += (double) st->upper[i] * st->upper[i];
		}

		if (chosen + 1 == k)
			break;

		/* Every row sits on a centre: no distinct row is left to draw */
		if (total <= 0)
		{
			for (int j = chosen + 1; j < k; j++)
			{
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
 * Assignment step with Hamerly's bounds and Elkan's pruning; returns how
 * many rows changed centre.
 */
static int64
AssignRows(KmeansState * st)
{
	IvfflatKmeansData *km = st->km;
	int			k = st->k;
	int64		changes = 0;

	/* Half distances between centres and, per centre, to its nearest */
	for (int j = 0; j < k; j++)
	{
		st->s[j] = FLT_MAX;
		st->cdist[(Size) j * k + j] = 0;
	}
	for (int j = 0; j < k; j++)
	{
		const char *cj = KmRow(km, km->centers, j);

		if ((j & 63) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int t = j + 1; t < k; t++)
		{
			float		h = 0.5f * RowDistance(km, cj, KmRow(km, km->centers, t));

			st->cdist[(Size) j * k + t] = h;
			st->cdist[(Size) t * k + j] = h;
			if (h < st->s[j])
				st->s[j] = h;
			if (h < st->s[t])
				st->s[t] = h;
		}
	}

	for (int i = 0; i < st->n; i++)
	{
		const char *x = KmRow(km, km->samples, i);
		int			a = st->assign[i];
		float		bound = Max(st->s[a], st->lower[i]);
		float		bd;
		float		second = FLT_MAX;
		int			best;
		const float *hrow;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();

		if (st->upper[i] <= bound)
			continue;
		bd = RowDistance(km, x, KmRow(km, km->centers, a));
		st->upper[i] = bd;
		if (bd <= bound)
			continue;

		/* Compare with every centre that could be nearer */
		best = a;
		hrow = st->cdist + (Size) best * k;
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
		if (best != a)
		{
			st->assign[i] = best;
			changes++;
		}
		st->upper[i] = bd;
		st->lower[i] = second;
	}
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

	SeedCenters(&st, prng);

	for (int iter = 0; iter < IVFFLAT_KMEANS_MAX_ITER; iter++)
	{
		int64		changes = AssignRows(&st);

		if (iter > 0 && changes == 0)
			break;
		memset(st.counts, 0, sizeof(int) * k);
		for (int i = 0; i < n; i++)
			st.counts[st.assign[i]]++;
		FillEmptyCenters(&st);
		if (!MoveCenters(&st))
			break;
	}

	MemoryContextSwitchTo(oldCtx);
	MemoryContextDelete(ctx);
}
