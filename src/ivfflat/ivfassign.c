/*-------------------------------------------------------------------------
 *
 * ivfassign.c
 *	  The list of every row of a build, many rows at a time
 *
 * A row belongs to its nearest centre by the kernel distance the scans use
 * (IvfflatNearestList: squared L2, or minus the dot product; the lowest
 * list number among equals).  Measuring every row against every centre
 * with that kernel was most of a build's time with many lists, so float
 * rows go through in batches: one OpenBLAS product gives every row's dot
 * products with every centre, from which the kernel distance follows
 * (|x|^2 + |c|^2 - 2 x.c, or -x.c).  Those differ from the kernel's in the
 * last bits, so they only screen: every centre within a bound of the
 * rounding error of the nearest is measured again with the kernel, and the
 * kernel decides.  The bound is rigorous: a float dot product of n terms,
 * in any order, is within n u sum |x_i c_i| <= n u |x| |c| of the exact one
 * (u = 2^-24), for OpenBLAS and the kernels alike, so the true nearest
 * centre is always among those measured again, and the choice is exactly
 * IvfflatNearestList's.  ivfflat_check verifies it for every row.
 *
 * Bit rows, rows with non-finite products (huge elements) and a batch of
 * one are measured with the kernel directly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <cblas.h>
#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "ivfflat/ivfflat.h"
#include "vector/distance.h"

/* Rows per product: the products of a batch take at most 4 MB */
#define AssignBatchRows(lists)	Max(1, Min(256, (1 << 20) / Max((lists), 1)))

/* Set up batched assignment against a build's stored centres */
void
IvfflatAssignInit(IvfflatAssigner * as, IvfflatIndexInfo * info, IvfflatCenters * centers,
				  MemoryContext ctx)
{
	MemoryContext oldCtx = MemoryContextSwitchTo(ctx);
	int			lists = centers->lists;
	int			dim = centers->dim;

	memset(as, 0, sizeof(IvfflatAssigner));
	as->info = info;
	as->centers = centers;
	/* (the float copy of the centres counts against maintenance_work_mem) */
	as->batched = !info->ops->isBits && lists > 1 &&
		(Size) lists * dim * sizeof(float) <= (Size) maintenance_work_mem * 1024L;
	as->cap = as->batched ? AssignBatchRows(lists) : 1;
	as->valueSize = MAXALIGN(info->ops->valueSize(dim));
	as->values = palloc_extended(as->valueSize * as->cap, MCXT_ALLOC_HUGE);
	as->tids = palloc(sizeof(ItemPointerData) * as->cap);
	as->lists = palloc(sizeof(int) * as->cap);
	if (as->batched)
	{
		as->centerRows = palloc_extended(sizeof(float) * (Size) lists * dim, MCXT_ALLOC_HUGE);
		as->cn2 = palloc(sizeof(float) * lists);
		as->rows = palloc_extended(sizeof(float) * (Size) as->cap * dim, MCXT_ALLOC_HUGE);
		as->xn2 = palloc(sizeof(float) * as->cap);
		as->dots = palloc_extended(sizeof(float) * (Size) as->cap * lists, MCXT_ALLOC_HUGE);
		as->cn2max = 0;
		for (int j = 0; j < lists; j++)
		{
			float	   *c = as->centerRows + (Size) j * dim;

			info->ops->toRow(IvfflatCenter(centers, j), (char *) c);
			as->cn2[j] = DistanceInnerProduct(dim, c, c);
			if (as->cn2[j] > as->cn2max)
				as->cn2max = as->cn2[j];
		}
	}
	MemoryContextSwitchTo(oldCtx);
}

/* The exact choice for one row, screened by its products with the centres */
static int
ScreenedNearest(IvfflatAssigner * as, int r)
{
	IvfflatCenters *c = as->centers;
	int			lists = c->lists;
	int			dim = c->dim;
	const void *value = as->values + as->valueSize * r;
	const float *dots = as->dots + (Size) r * lists;
	float		xn2 = as->xn2[r];
	bool		l2 = as->info->kind == IVFFLAT_KIND_L2;
	double		gamma = (double) dim * (1.0 / 16777216.0) * 1.01;
	double		tol;
	double		m = INFINITY;
	int			best = 0;
	float		bestDist = INFINITY;

	/* Screening distance of each centre, and the smallest */
	for (int j = 0; j < lists; j++)
	{
		double		d = l2 ? (double) xn2 + as->cn2[j] - 2.0 * dots[j] : -(double) dots[j];

		if (d < m)
			m = d;
	}
	if (!isfinite(m) || !isfinite(xn2) || !isfinite(as->cn2max))
		return IvfflatNearestList(as->info, c, value);

	/*
	 * With gamma = n u: the norms and products are within gamma |x|^2,
	 * gamma |c|^2 and gamma |x| |c| of the exact ones, so for L2 the
	 * screening value and the kernel's (whose own error is within gamma of
	 * the distance) are each within 2 gamma (|x|^2 + |c|^2) of the exact
	 * distance; the kernel's nearest centre then screens within
	 * 8 gamma (|x|^2 + max |c|^2) of the smallest screening value.  For the
	 * dot product the same argument gives 4 gamma |x| max |c|.  Twice
	 * that is the margin, so that a centre left out is strictly farther
	 * than the kernel's nearest, ties included.
	 */
	if (l2)
		tol = 16 * gamma * ((double) xn2 + as->cn2max);
	else
		tol = 8 * gamma * sqrt((double) xn2) * sqrt((double) as->cn2max);

	/* Candidates in list order, measured with the kernel: as NearestList */
	for (int j = 0; j < lists; j++)
	{
		double		d = l2 ? (double) xn2 + as->cn2[j] - 2.0 * dots[j] : -(double) dots[j];

		if (d <= m + tol)
		{
			float		kd = IvfflatDistance(as->info, dim, value, IvfflatCenter(c, j));

			if (kd < bestDist)
			{
				bestDist = kd;
				best = j;
			}
		}
	}
	return best;
}

/* Choose the lists of the rows collected so far (as->lists[0..n-1]) */
void
IvfflatAssignBatch(IvfflatAssigner * as)
{
	int			lists = as->centers->lists;
	int			dim = as->centers->dim;

	if (as->n == 0)
		return;
	if (!as->batched || as->n == 1)
	{
		/* A bit row against up to 32768 centres can take a while */
		for (int r = 0; r < as->n; r++)
		{
			CHECK_FOR_INTERRUPTS();
			as->lists[r] = IvfflatNearestList(as->info, as->centers, as->values + as->valueSize * r);
		}
		return;
	}

	for (int r = 0; r < as->n; r++)
	{
		float	   *x = as->rows + (Size) r * dim;

		as->info->ops->toRow(as->values + as->valueSize * r, (char *) x);
		as->xn2[r] = DistanceInnerProduct(dim, x, x);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, as->n, lists, dim, 1.0f,
				as->rows, dim, as->centerRows, dim, 0.0f, as->dots, lists);
	for (int r = 0; r < as->n; r++)
	{
		CHECK_FOR_INTERRUPTS();
		as->lists[r] = ScreenedNearest(as, r);
	}
}

/* Collect a prepared row; true when the batch is full (then assign it) */
bool
IvfflatAssignAdd(IvfflatAssigner * as, const void *value, ItemPointer tid)
{
	memcpy(as->values + as->valueSize * as->n, value, VARSIZE(value));
	as->tids[as->n] = *tid;
	as->n++;
	return as->n == as->cap;
}
