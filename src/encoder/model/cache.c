/*-------------------------------------------------------------------------
 *
 * cache.c
 *	  This backend's loaded models, by name
 *
 * Each backend loads a model once into its own memory context; the
 * weights are mmapped, so the page cache is shared between backends (the
 * kernel copies made at load are not).  Once per transaction, and after
 * semvec.model_path changes, the folder is checked again: a different
 * folder or a changed file (mtime, size, inode) reloads it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "storage/proc.h"
#include "utils/memutils.h"

#include "encoder/encoder.h"
#include "encoder/model/cache.h"
#include "encoder/model/load.h"
#include "encoder/model/search_path.h"

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
	int			checked_gen;	/* semvec.model_path generation then */
	struct CacheEntry *next;
} CacheEntry;

static CacheEntry *Cache = NULL;

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

/* Drop a cache entry and everything its model owns */
static void
DropEntry(CacheEntry **link)
{
	CacheEntry *e = *link;

	*link = e->next;
	if (e->model != NULL)
		EncModelFree(e->model);
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
	EncModel   *model;

	EncCheckModelName(name);

	for (link = &Cache; *link != NULL; link = &(*link)->next)
		if (strcmp((*link)->name, name) == 0)
			break;
	e = *link;
	if (e != NULL && e->checked_lxid == MyProc->lxid &&
		e->checked_gen == EncModelPathGeneration)
		return e->model;

	dir = EncFindModelDir(name);
	if (dir == NULL)
	{
		if (e != NULL)
			DropEntry(link);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 strcmp(name, ENC_DEFAULT_MODEL) == 0 ?
				 errdetail("No folder \"%s\" in \"%s\".", name, EncInstalledModelDir()) :
				 errdetail("No folder \"%s\" in the model search path.", name),
				 strcmp(name, ENC_DEFAULT_MODEL) == 0 ?
				 errhint("The default model is installed with semvec (make install).") :
				 errhint("Model folders are looked up in semvec.model_path, then in \"%s\".",
						 EncInstalledModelDir())));
	}
	sig = FolderSignature(dir);
	if (e != NULL && strcmp(e->model->dir, dir) == 0 && e->signature == sig)
	{
		e->checked_lxid = MyProc->lxid;
		e->checked_gen = EncModelPathGeneration;
		return e->model;
	}
	if (e != NULL)
		DropEntry(link);

	model = EncModelLoad(name, dir);
	e = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheEntry));
	strlcpy(e->name, name, ENC_MAX_NAME);
	e->model = model;
	e->signature = sig;
	e->checked_lxid = MyProc->lxid;
	e->checked_gen = EncModelPathGeneration;
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
