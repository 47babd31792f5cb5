/*-------------------------------------------------------------------------
 *
 * search_path.c
 *	  Where model folders are found, by name
 *
 * A model is named by its folder: "x" is looked for in each directory of
 * semvec.model_path (superuser-only), then in the installed
 * $sharedir/semvec/models.  Names are restricted to [A-Za-z0-9._-] without
 * a leading dot, so no SQL user can make the server read outside those
 * directories.
 *
 * The name "default" is the exception: it is only ever the installed
 * folder.  embed(text) is IMMUTABLE and means that model; if a setting
 * could point "default" elsewhere, an expression index or a generated
 * column built under one value would silently disagree with queries made
 * under another.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "miscadmin.h"

#include "encoder/encoder.h"
#include "encoder/model/search_path.h"

/* Raise an error unless name is a safe model folder name */
void
EncCheckModelName(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len >= ENC_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name has 1 to %d characters.",
						   ENC_MAX_NAME - 1)));
	for (size_t i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid model name \"%s\"", name),
					 errdetail("A model name may contain only letters, digits, \".\", \"_\" and \"-\".")));
	}
	if (name[0] == '.' || strstr(name, "..") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name may not start with \".\" or contain \"..\".")));
}

/* The installed model directory, $sharedir/semvec/models */
char *
EncInstalledModelDir(void)
{
	char		share[MAXPGPATH];

	get_share_path(my_exec_path, share);
	return psprintf("%s/semvec/models", share);
}

/*
 * The model search path as a list of directories (palloc'd strings):
 * semvec.model_path entries first, then the installed directory.
 */
List *
EncModelSearchPath(void)
{
	List	   *dirs = NIL;
	char	   *copy = pstrdup(semvec_model_path ? semvec_model_path : "");
	char	   *p = copy;

	while (p != NULL && *p != '\0')
	{
		char	   *sep = strchr(p, ':');

		if (sep != NULL)
			*sep = '\0';
		/* Empty entries are skipped; the check hook rejected relative ones */
		if (p[0] == '/')
			dirs = lappend(dirs, pstrdup(p));
		p = sep != NULL ? sep + 1 : NULL;
	}
	return lappend(dirs, EncInstalledModelDir());
}

/* Whether dir (a search path entry) may hold model name */
bool
EncModelDirAllowed(const char *dir, const char *name)
{
	return strcmp(name, ENC_DEFAULT_MODEL) != 0 ||
		strcmp(dir, EncInstalledModelDir()) == 0;
}

/* The folder of a model in the search path, or NULL */
char *
EncFindModelDir(const char *name)
{
	ListCell   *lc;

	foreach(lc, EncModelSearchPath())
	{
		char	   *dir;
		struct stat st;

		if (!EncModelDirAllowed(lfirst(lc), name))
			continue;
		dir = psprintf("%s/%s", (char *) lfirst(lc), name);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
	}
	return NULL;
}
