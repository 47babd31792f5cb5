/*-------------------------------------------------------------------------
 *
 * simd_setting.c
 *	  The semvec.simd setting and semvec_kernel_info()
 *
 * When the library loads, semvec.simd is "auto" and every kernel runs the
 * best level this CPU supports (simd.c).  A session can pin a lower level:
 * to compare kernels, or to rule a SIMD kernel out while investigating a
 * result.  The one setting governs every kernel family (distance and
 * encoder alike); being a GUC, it also reaches parallel workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "simd/simd.h"
#include "simd/simd_setting.h"

static char *simd_setting = NULL;

/* Accept "auto" or a level this CPU can run */
static bool
CheckSimd(char **newval, void **extra, GucSource source)
{
	SimdLevel	level;

	if (strcmp(*newval, "auto") == 0 ||
		(SimdLevelFromName(*newval, &level) && SimdLevelSupported(level)))
		return true;

	GUC_check_errdetail("Valid values are \"auto\" and the levels this CPU supports (\"avx512\", \"avx2\", \"portable\", \"scalar\"; the first two need the matching x86-64 instructions).");
	return false;
}

/* Put the level in force (the check hook already vetted the name) */
static void
AssignSimd(const char *newval, void *extra)
{
	SimdLevel	level;

	if (strcmp(newval, "auto") == 0 || !SimdLevelFromName(newval, &level))
		level = SimdBestLevel();
	if (SimdSetLevel(level) != 0)
		SimdSetLevel(SimdBestLevel());
}

/* Register semvec.simd; called from _PG_init before any kernel's init */
void
SimdInit(void)
{
	DefineCustomStringVariable("semvec.simd",
							   "Selects the SIMD level of semvec's kernels (distances and the encoder).",
							   "\"auto\" picks the best one this CPU supports; "
							   "\"avx512\", \"avx2\", \"portable\" (baseline SIMD) and "
							   "\"scalar\" force one.",
							   &simd_setting,
							   "auto",
							   PGC_USERSET,
							   0,
							   CheckSimd,
							   AssignSimd,
							   NULL);
}

/* Name of the SIMD level in force */
PG_FUNCTION_INFO_V1(semvec_kernel_info);
Datum
semvec_kernel_info(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(SimdLevelName(SimdGetLevel())));
}
