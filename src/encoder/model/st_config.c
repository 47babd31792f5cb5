/*-------------------------------------------------------------------------
 *
 * st_config.c
 *	  The sentence-transformers files of a model folder
 *
 * A sentence-transformers folder describes, besides the transformer, the
 * modules that follow it: pooling and normalisation, and the length its
 * inputs are cut at.  Only what semvec runs is accepted: mean or CLS
 * pooling, an optional Normalize; a Dense module or another pooling mode
 * is an error rather than a silently different embedding.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "encoder/format/json.h"
#include "encoder/model/st_config.h"

/* modules.json: the Normalize module, and the Pooling module's folder */
static void
ReadModules(const char *dir, EncStConfig *out, char **pooldir)
{
	char	   *mpath = psprintf("%s/modules.json", dir);
	Jsonb	   *modules = EncJsonReadFile(mpath, true);

	if (modules == NULL)
		return;
	if (!JB_ROOT_IS_ARRAY(modules) || JB_ROOT_IS_SCALAR(modules))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid model file \"%s\"", mpath),
				 errdetail("The file must hold a JSON array of modules.")));
	for (int i = 0; i < JB_ROOT_COUNT(modules); i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&modules->root, i);
		char	   *type;

		if (v == NULL || v->type != jbvBinary)
			continue;
		type = EncJsonGetString(v->val.binary.data, "type");
		if (type == NULL)
			continue;
		if (strstr(type, "Normalize") != NULL)
			out->normalize = true;
		else if (strstr(type, "Pooling") != NULL)
		{
			char	   *p = EncJsonGetString(v->val.binary.data, "path");

			/* The path is relative to the folder; keep it inside */
			if (p != NULL && *p != '\0' && p[0] != '/' &&
				strstr(p, "..") == NULL)
				*pooldir = p;
		}
		else if (strstr(type, "Dense") != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported module in file \"%s\"", mpath),
					 errdetail("Module type \"%s\" is not supported.", type)));
	}
	pfree(modules);
}

/* The pooling folder's config.json: mean or CLS */
static void
ReadPooling(const char *dir, const char *pooldir, EncStConfig *out)
{
	char	   *ppath = psprintf("%s/%s/config.json", dir, pooldir);
	Jsonb	   *pool = EncJsonReadFile(ppath, true);
	JsonbValue	v;
	bool		cls;
	bool		mean;
	static const char *const other[] = {
		"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
		"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"
	};

	if (pool == NULL)
		return;
	cls = EncJsonGet(&pool->root, "pooling_mode_cls_token", &v) &&
		v.type == jbvBool && v.val.boolean;
	mean = EncJsonGet(&pool->root, "pooling_mode_mean_tokens", &v) &&
		v.type == jbvBool && v.val.boolean;
	for (int i = 0; i < lengthof(other); i++)
		if (EncJsonGet(&pool->root, other[i], &v) &&
			v.type == jbvBool && v.val.boolean)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported pooling in file \"%s\"", ppath),
					 errdetail("%s is not supported; use mean or CLS pooling.",
							   other[i])));
	if (cls && mean)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported pooling in file \"%s\"", ppath),
				 errdetail("Combining CLS and mean pooling is not supported.")));
	if (!cls && !mean)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid pooling config in file \"%s\"", ppath),
				 errdetail("Neither pooling_mode_cls_token nor pooling_mode_mean_tokens is true.")));
	out->pooling = cls ? ENC_POOL_CLS : ENC_POOL_MEAN;
	pfree(pool);
}

/* sentence_bert_config.json: max_seq_length */
static void
ReadMaxSeqLength(const char *dir, EncStConfig *out)
{
	char	   *spath = psprintf("%s/sentence_bert_config.json", dir);
	Jsonb	   *sbert = EncJsonReadFile(spath, true);
	JsonbValue	v;
	double		d;

	if (sbert == NULL)
		return;
	if (EncJsonGet(&sbert->root, "max_seq_length", &v) && EncJsonNumber(&v, &d))
	{
		if (d < 2 || d > 1000000)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid max_seq_length in file \"%s\"", spath),
					 errdetail("max_seq_length must be between 2 and 1000000.")));
		out->max_seq_length = (int) d;
	}
	pfree(sbert);
}

/* Read the sentence-transformers files of folder dir */
void
EncReadStConfig(const char *dir, EncStConfig *out)
{
	char	   *pooldir = "1_Pooling";

	out->pooling = ENC_POOL_MEAN;
	out->normalize = false;
	out->max_seq_length = 0;
	ReadModules(dir, out, &pooldir);
	ReadPooling(dir, pooldir, out);
	ReadMaxSeqLength(dir, out);
}
