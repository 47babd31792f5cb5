/*-------------------------------------------------------------------------
 *
 * encmodel.c
 *	  Model folders: search path, loading, per-backend cache, GUCs
 *
 * A model is named by its folder: EncModelGet("x") looks for the folder
 * "x" in each directory of semvec.model_path (superuser-only), then in the
 * installed $sharedir/semvec/models.  Names are restricted to
 * [A-Za-z0-9._-] without a leading dot, so no SQL user can make the server
 * read outside those directories.
 *
 * Each backend loads a model once into its own memory context; the weights
 * are mmapped, so the page cache is shared between backends.  Once per
 * transaction (and after semvec.model_path changes) the folder is checked
 * again: a different folder or a changed file mtime/size reloads it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "encoder/encoder.h"
#include "encoder/encops.h"
#include "encoder/encmodel.h"
#include "encoder/safetensors.h"

char	   *semvec_model_path = NULL;
char	   *semvec_default_model = NULL;
int			semvec_blas_threads = 1;

/* Files whose change means the model must be reloaded */
static const char *const WatchedFiles[] = {
	".", "config.json", "model.safetensors", "tokenizer.json", "vocab.txt",
	"tokenizer_config.json", "modules.json", "1_Pooling/config.json",
	"sentence_bert_config.json", "special_tokens_map.json"
};

typedef struct CacheEntry
{
	char		name[ENC_MAX_NAME];
	EncModel   *model;
	uint64		signature;		/* of the folder's files at load */
	LocalTransactionId checked_lxid;	/* last transaction that checked */
	int			checked_gen;	/* path generation at that check */
	struct CacheEntry *next;
} CacheEntry;

static CacheEntry *Cache = NULL;
static int	PathGeneration = 0;

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
	PathGeneration++;
}

/* Apply semvec.blas_threads */
static void
AssignBlasThreads(int newval, void *extra)
{
	EncSetThreads(newval);
}

/* Register the encoder's GUCs */
void
EncoderInit(void)
{
	DefineCustomStringVariable("semvec.model_path",
							   "Directories searched for model folders before the installed ones.",
							   "A colon-separated list of absolute directories.  "
							   "Only superusers can change it.",
							   &semvec_model_path,
							   "",
							   PGC_SUSET,
							   0,
							   CheckModelPath, AssignModelPath, NULL);
	DefineCustomStringVariable("semvec.default_model",
							   "Model used by embed() without a model argument.",
							   NULL,
							   &semvec_default_model,
							   "default",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
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

/* Find the folder of a model in the search path, or NULL */
static char *
FindModelDir(const char *name)
{
	ListCell   *lc;

	foreach(lc, EncModelSearchPath())
	{
		char	   *dir = psprintf("%s/%s", (char *) lfirst(lc), name);
		struct stat st;

		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
	}
	return NULL;
}

/* Hash of the folder's watched files (mtime, size, inode); 0 if unreadable */
static uint64
FolderSignature(const char *dir)
{
	uint64		h = 1469598103934665603ULL;

	for (int i = 0; i < lengthof(WatchedFiles); i++)
	{
		char		path[MAXPGPATH];
		struct stat st;
		uint64		parts[4];

		snprintf(path, sizeof(path), "%s/%s", dir, WatchedFiles[i]);
		if (stat(path, &st) != 0)
			continue;
		parts[0] = (uint64) st.st_mtim.tv_sec;
		parts[1] = (uint64) st.st_mtim.tv_nsec;
		parts[2] = (uint64) st.st_size;
		parts[3] = (uint64) st.st_ino + i;
		for (int k = 0; k < 4; k++)
			h = (h ^ parts[k]) * 1099511628211ULL;
	}
	return h;
}

/* Newest mtime among the folder's watched files */
static time_t
FolderMtime(const char *dir)
{
	time_t		newest = 0;

	for (int i = 0; i < lengthof(WatchedFiles); i++)
	{
		char		path[MAXPGPATH];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, WatchedFiles[i]);
		if (stat(path, &st) == 0 && st.st_mtime > newest)
			newest = st.st_mtime;
	}
	return newest;
}

/* Path of a file inside the model folder */
char *
EncModelFile(EncModel *model, const char *relpath)
{
	return psprintf("%s/%s", model->dir, relpath);
}

/* Does a file exist in the model folder? */
static bool
ModelFileExists(EncModel *model, const char *relpath)
{
	struct stat st;

	return stat(EncModelFile(model, relpath), &st) == 0;
}

/* Pick the architecture from config.json */
static const EncArchOps *
ChooseArch(EncModel *model)
{
	JsonbContainer *root = &model->config->root;
	char	   *type = EncJsonGetString(root, "model_type");
	JsonbContainer *archs = EncJsonGetContainer(root, "architectures");

	if (type != NULL && strcmp(type, "use_lite") == 0)
		return &EncArchUseLite;
	if (type != NULL && strcmp(type, "bert") == 0)
		return &EncArchBert;
	if (archs != NULL && JsonContainerIsArray(archs))
	{
		for (int i = 0; i < JsonContainerSize(archs); i++)
		{
			JsonbValue *v = getIthJsonbValueFromContainer(archs, i);

			if (v != NULL && v->type == jbvString &&
				v->val.string.len >= 4 &&
				strncmp(v->val.string.val, "Bert", 4) == 0)
				return &EncArchBert;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("unsupported model architecture in file \"%s\"",
					EncModelFile(model, "config.json")),
			 errdetail("model_type is \"%s\"; supported are \"bert\" (BertModel) and \"use_lite\".",
					   type ? type : "(missing)")));
	return NULL;				/* keep compiler quiet */
}

/* Load the tokenizer: tokenizer.json's model.type, else vocab.txt */
static void
LoadTokenizer(EncModel *model)
{
	char	   *tjpath = EncModelFile(model, "tokenizer.json");
	Jsonb	   *tj = EncJsonReadFile(tjpath, true);

	if (tj != NULL)
	{
		JsonbContainer *m = EncJsonGetContainer(&tj->root, "model");
		char	   *type = m ? EncJsonGetString(m, "type") : NULL;

		if (type != NULL && strcmp(type, "Unigram") == 0)
			model->tokenizer = EncUnigramLoad(model, tj);
		else if (type != NULL && strcmp(type, "WordPiece") == 0)
		{
			model->tokenizer = EncWordPieceLoad(model, tj, NULL);
			/* WordPiece copies what it needs; the parsed file can go */
			pfree(tj);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported tokenizer in file \"%s\"", tjpath),
					 errdetail("model.type is \"%s\"; supported are \"Unigram\" and \"WordPiece\".",
							   type ? type : "(missing)")));
		return;
	}
	if (ModelFileExists(model, "vocab.txt"))
	{
		model->tokenizer = EncWordPieceLoad(model, NULL,
											EncModelFile(model, "vocab.txt"));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FILE),
			 errmsg("model \"%s\" has no tokenizer", model->name),
			 errdetail("Neither \"%s\" nor \"%s\" exists.", tjpath,
					   EncModelFile(model, "vocab.txt"))));
}

/*
 * Read the sentence-transformers modules: Normalize, the pooling folder's
 * config and max_seq_length.  Defaults without them: mean pooling, no
 * normalisation, the model's position limit.
 */
static void
LoadSentenceTransformerConfig(EncModel *model)
{
	char	   *mpath = EncModelFile(model, "modules.json");
	Jsonb	   *modules = EncJsonReadFile(mpath, true);
	char	   *pooldir = "1_Pooling";
	char	   *ppath;
	Jsonb	   *pool;
	Jsonb	   *sbert;

	model->normalize = false;
	model->pooling = ENC_POOL_MEAN;

	if (modules != NULL)
	{
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
				model->normalize = true;
			else if (strstr(type, "Pooling") != NULL)
			{
				char	   *p = EncJsonGetString(v->val.binary.data, "path");

				/* The path is relative to the folder; keep it inside */
				if (p != NULL && *p != '\0' && p[0] != '/' &&
					strstr(p, "..") == NULL)
					pooldir = p;
			}
			else if (strstr(type, "Dense") != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("unsupported module in file \"%s\"", mpath),
						 errdetail("Module type \"%s\" is not supported.", type)));
		}
	}

	ppath = EncModelFile(model, psprintf("%s/config.json", pooldir));
	pool = EncJsonReadFile(ppath, true);
	if (pool != NULL)
	{
		JsonbValue	v;
		bool		cls = EncJsonGet(&pool->root, "pooling_mode_cls_token", &v) &&
			v.type == jbvBool && v.val.boolean;
		bool		mean = EncJsonGet(&pool->root, "pooling_mode_mean_tokens", &v) &&
			v.type == jbvBool && v.val.boolean;
		static const char *const other[] = {
			"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
			"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"
		};

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
		model->pooling = cls ? ENC_POOL_CLS : ENC_POOL_MEAN;
	}

	model->max_tokens = EncConfigInt(model, "max_position_embeddings", 512);
	sbert = EncJsonReadFile(EncModelFile(model, "sentence_bert_config.json"),
							true);
	if (sbert != NULL)
	{
		JsonbValue	v;
		double		d;

		if (EncJsonGet(&sbert->root, "max_seq_length", &v) &&
			EncJsonNumber(&v, &d))
		{
			if (d < 2 || d > 1000000)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("invalid max_seq_length in file \"%s\"",
								EncModelFile(model, "sentence_bert_config.json")),
						 errdetail("max_seq_length must be between 2 and 1000000.")));
			model->max_tokens = Min(model->max_tokens, (int) d);
		}
	}
}

/* Load a model folder into a fresh memory context */
static EncModel *
LoadModel(const char *name, const char *dir)
{
	MemoryContext mcxt;
	MemoryContext old;
	EncModel   *model;

	mcxt = AllocSetContextCreate(TopMemoryContext, "semvec model",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextCopyAndSetIdentifier(mcxt, name);
	old = MemoryContextSwitchTo(mcxt);
	PG_TRY();
	{
		model = palloc0(sizeof(EncModel));
		strlcpy(model->name, name, ENC_MAX_NAME);
		model->dir = pstrdup(dir);
		model->mcxt = mcxt;
		model->loaded_mtime = FolderMtime(dir);
		model->config = EncJsonReadFile(EncModelFile(model, "config.json"),
										true);
		if (model->config == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("model \"%s\" has no config file", name),
					 errdetail("File \"%s\" does not exist.",
							   EncModelFile(model, "config.json"))));
		if (!JB_ROOT_IS_OBJECT(model->config))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid model file \"%s\"",
							EncModelFile(model, "config.json")),
					 errdetail("The file must hold a JSON object.")));
		model->arch = ChooseArch(model);
		LoadSentenceTransformerConfig(model);
		LoadTokenizer(model);
		model->weights = SafeTensorsOpen(EncModelFile(model, "model.safetensors"),
										 mcxt);
		model->arch_state = model->arch->load(model);
		if (model->dim < 1 || model->dim > 16000)
			elog(ERROR, "architecture %s set invalid dimension %d",
				 model->arch->name, model->dim);
		if (model->max_tokens < 1)
			elog(ERROR, "architecture %s set invalid max_tokens %d",
				 model->arch->name, model->max_tokens);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(mcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return model;
}

/* Drop a cache entry and everything its model owns */
static void
DropEntry(CacheEntry **link)
{
	CacheEntry *e = *link;

	*link = e->next;
	if (e->model != NULL)
		MemoryContextDelete(e->model->mcxt);
	pfree(e);
}

/* Load a model or return the cached one when its folder is unchanged */
EncModel *
EncModelGet(const char *name)
{
	CacheEntry **link;
	CacheEntry *e;
	char	   *dir;
	uint64		sig;

	EncCheckModelName(name);

	for (link = &Cache; *link != NULL; link = &(*link)->next)
		if (strcmp((*link)->name, name) == 0)
			break;
	e = *link;
	if (e != NULL && e->checked_lxid == MyProc->lxid &&
		e->checked_gen == PathGeneration)
		return e->model;

	dir = FindModelDir(name);
	if (dir == NULL)
	{
		if (e != NULL)
			DropEntry(link);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errdetail("No folder \"%s\" in the model search path.", name),
				 errhint("Model folders are looked up in semvec.model_path, then in \"%s\".",
						 EncInstalledModelDir())));
	}
	sig = FolderSignature(dir);
	if (e != NULL && strcmp(e->model->dir, dir) == 0 && e->signature == sig)
	{
		e->checked_lxid = MyProc->lxid;
		e->checked_gen = PathGeneration;
		return e->model;
	}
	if (e != NULL)
		DropEntry(link);

	e = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheEntry));
	strlcpy(e->name, name, ENC_MAX_NAME);
	e->model = LoadModel(name, dir);
	e->signature = sig;
	e->checked_lxid = MyProc->lxid;
	e->checked_gen = PathGeneration;
	e->next = Cache;
	Cache = e;
	return e->model;
}

/* Forget every cached model of this backend; returns how many */
int
EncModelReloadAll(void)
{
	int			n = 0;

	while (Cache != NULL)
	{
		DropEntry(&Cache);
		n++;
	}
	return n;
}

/* Raise an error about a tensor of the model */
static void
pg_attribute_noreturn()
TensorError(EncModel *model, const char *name, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid tensor \"%s\" in file \"%s\"", name,
					model->weights->path),
			 errdetail("%s", problem)));
}

/* Format a shape as [a, b, ...]; -1 prints as "*" */
static char *
ShapeString(int ndim, const int64 *shape)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoChar(&s, '[');
	for (int i = 0; i < ndim; i++)
	{
		if (i > 0)
			appendStringInfoString(&s, ", ");
		if (shape[i] < 0)
			appendStringInfoChar(&s, '*');
		else
			appendStringInfo(&s, INT64_FORMAT, shape[i]);
	}
	appendStringInfoChar(&s, ']');
	return s.data;
}

/*
 * Return a tensor's float32 data after checking its rank and shape
 * (shape[i] < 0 accepts any size).  A missing tensor is an error.
 */
const float *
EncModelTensor(EncModel *model, const char *name, int ndim, const int64 *shape)
{
	SafeTensor *t = SafeTensorsFind(model->weights, name);
	bool		ok;
	MemoryContext old;
	const float *data;

	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("missing tensor \"%s\" in file \"%s\"", name,
						model->weights->path)));
	ok = t->ndim == ndim;
	for (int i = 0; ok && i < ndim; i++)
		if (shape[i] >= 0 && t->shape[i] != shape[i])
			ok = false;
	if (!ok)
		TensorError(model, name,
					psprintf("Shape is %s, expected %s.",
							 ShapeString(t->ndim, t->shape),
							 ShapeString(ndim, shape)));
	old = MemoryContextSwitchTo(model->mcxt);
	data = SafeTensorsFloat(model->weights, t);
	MemoryContextSwitchTo(old);
	return data;
}

/* Does the weights file hold this tensor? */
bool
EncModelHasTensor(EncModel *model, const char *name)
{
	return SafeTensorsFind(model->weights, name) != NULL;
}

/* Report a config.json value of the wrong type */
static void
pg_attribute_noreturn()
ConfigTypeError(EncModel *model, const char *key, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid value of \"%s\" in file \"%s\"", key,
					EncModelFile(model, "config.json")),
			 errdetail("Expected %s.", expected)));
}

/* Integer value of config.json's key, or dflt when absent */
int
EncConfigInt(EncModel *model, const char *key, int dflt)
{
	JsonbValue	v;
	double		d;

	if (!EncJsonGet(&model->config->root, key, &v) || v.type == jbvNull)
		return dflt;
	if (!EncJsonNumber(&v, &d) || d != floor(d) || d < PG_INT32_MIN ||
		d > PG_INT32_MAX)
		ConfigTypeError(model, key, "an integer");
	return (int) d;
}

/* Numeric value of config.json's key, or dflt when absent */
double
EncConfigFloat(EncModel *model, const char *key, double dflt)
{
	JsonbValue	v;
	double		d;

	if (!EncJsonGet(&model->config->root, key, &v) || v.type == jbvNull)
		return dflt;
	if (!EncJsonNumber(&v, &d))
		ConfigTypeError(model, key, "a number");
	return d;
}

/* String value of config.json's key (palloc'd), or dflt when absent */
char *
EncConfigString(EncModel *model, const char *key, const char *dflt)
{
	JsonbValue	v;

	if (!EncJsonGet(&model->config->root, key, &v) || v.type == jbvNull)
		return dflt ? pstrdup(dflt) : NULL;
	if (v.type != jbvString)
		ConfigTypeError(model, key, "a string");
	return pnstrdup(v.val.string.val, v.val.string.len);
}
