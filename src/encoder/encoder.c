/*-------------------------------------------------------------------------
 *
 * encoder.c
 *	  The encoder's settings
 *
 *	 semvec.model_path    (superuser) directories searched for model
 *						  folders before the installed one
 *	 semvec.blas_threads  threads per matrix product (OpenBLAS and the
 *						  panel products)
 *
 * There is no setting for the model of the one-argument functions: they
 * always mean the installed "default" model (model/search_path.c), because
 * embed(text) is IMMUTABLE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "encoder/encoder.h"
#include "encoder/kernels/linear.h"

char	   *semvec_model_path = NULL;
int			semvec_blas_threads = 1;
int			EncModelPathGeneration = 0;

/* semvec.model_path: every entry must be an absolute directory path */
static bool
CheckModelPath(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	char	   *p = copy;

	while (p != NULL)
	{
		char	   *sep = strchr(p, ':');

		if (sep != NULL)
			*sep = '\0';
		if (*p != '\0' && *p != '/')
		{
			GUC_check_errdetail("\"%s\" is not an absolute path.", p);
			pfree(copy);
			return false;
		}
		p = sep != NULL ? sep + 1 : NULL;
	}
	pfree(copy);
	return true;
}

/* Invalidate cached folder lookups when the search path changes */
static void
AssignModelPath(const char *newval, void *extra)
{
	EncModelPathGeneration++;
}

/* Apply semvec.blas_threads */
static void
AssignBlasThreads(int newval, void *extra)
{
	EncSetThreads(newval);
}

/* Register the encoder's settings */
void
EncoderInit(void)
{
	DefineCustomStringVariable("semvec.model_path",
							   "Directories searched for model folders before the installed ones.",
							   "A colon-separated list of absolute directories.  "
							   "Only superusers can change it.  It cannot shadow the "
							   "installed \"default\" model.",
							   &semvec_model_path,
							   "",
							   PGC_SUSET,
							   0,
							   CheckModelPath, AssignModelPath, NULL);
	DefineCustomIntVariable("semvec.blas_threads",
							"Threads per backend for the encoder's matrix products (OpenBLAS and semvec's kernels).",
							"Valid range is 1 .. 64.",
							&semvec_blas_threads,
							1, 1, 64,
							PGC_USERSET,
							0,
							NULL, AssignBlasThreads, NULL);
	MarkGUCPrefixReserved("semvec");
}
