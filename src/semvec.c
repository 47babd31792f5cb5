/*-------------------------------------------------------------------------
 *
 * semvec.c
 *	  Module entry point: registers every subsystem's GUCs and kernels
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "bm25/bm25.h"
#include "encoder/encoder.h"
#include "hnsw/hnsw.h"
#include "ivfflat/ivfflat.h"
#include "simd/simd_setting.h"
#include "vector/distance.h"
#include "vector/distance_half.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Initialise every subsystem once per backend */
void
_PG_init(void)
{
	SimdInit();					/* first: kernels follow its level */
	DistanceInit();
	HalfDistanceInit();
	/* Before EncoderInit, which reserves the semvec.* prefix */
	HnswInit();
	IvfflatInit();
	Bm25Init();
	EncoderInit();
}
