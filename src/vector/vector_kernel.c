/*-------------------------------------------------------------------------
 *
 * vector_kernel.c
 *	  The semvec.distance_kernel setting and semvec_kernel_info()
 *
 * DistanceInit() picks the fastest kernel path the CPU supports when the
 * library loads.  semvec.distance_kernel lets a session pin another path
 * (to compare paths, or to rule a SIMD path out while investigating a
 * result); being a GUC, the choice also reaches parallel workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "vector/distance.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "vector/vector.h"

static char *distance_kernel_setting = NULL;

/* Accept "auto" or a path this CPU can run */
static bool
CheckDistanceKernel(char **newval, void **extra, GucSource source)
{
	if (strcmp(*newval, "auto") == 0 || DistancePathSupported(*newval))
		return true;

	GUC_check_errdetail("Valid values are \"auto\" and the kernel paths this CPU supports (\"avx512\", \"avx2\", \"default\", \"scalar\"; the first two need the matching x86-64 instructions).");
	return false;
}

/* Switch the dispatch pointers (the check hook already vetted the name) */
static void
AssignDistanceKernel(const char *newval, void *extra)
{
	if (strcmp(newval, "auto") == 0 || DistanceSetPath(newval) != 0)
		DistanceInit();
}

/* Register the vector type's settings; called from _PG_init */
void
VectorInit(void)
{
	DefineCustomStringVariable("semvec.distance_kernel",
							   "Selects the distance kernel implementation.",
							   "\"auto\" picks the fastest one this CPU supports; "
							   "\"avx512\", \"avx2\", \"default\" (portable SIMD) and "
							   "\"scalar\" force one.",
							   &distance_kernel_setting,
							   "auto",
							   PGC_USERSET,
							   0,
							   CheckDistanceKernel,
							   AssignDistanceKernel,
							   NULL);
}

/* Name of the distance kernel path this backend is using */
PG_FUNCTION_INFO_V1(semvec_kernel_info);
Datum
semvec_kernel_info(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(DistanceKernelName()));
}
