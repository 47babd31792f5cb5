/*-------------------------------------------------------------------------
 *
 * semvec.c
 *	  Module entry point: registers every subsystem's GUCs and kernels
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "distance.h"
#include "encoder.h"
#include "hnsw.h"
#include "vector.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Initialise every subsystem once per backend */
void
_PG_init(void)
{
	DistanceInit();
	VectorInit();
	EncoderInit();
	HnswInit();
}
