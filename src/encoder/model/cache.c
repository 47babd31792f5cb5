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
 * Adapter models ("base+name", adapter/model.c) are cached here too: the
 * base is looked up first (so it is current), and the wrapper is rebuilt
 * when the base was reloaded or the adapter's row changed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "storage/proc.h"
#include "utils/memutils.h"

#include "encoder/adapter/model.h"
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
	EncModel   *base;			/* an adapter's base model, else NULL */
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

/*
 * Drop a cache entry and everything its model owns, and the adapter models
 * built over it (they borrow its tokenizer and forward pass)
 */
static void
DropEntry(CacheEntry **link)
{
	CacheEntry *e = *link;
	EncModel   *model = e->model;

	*link = e->next;
	pfree(e);
	if (model == NULL)
		return;
	link = &Cache;
	while (*link != NULL)
	{
		if ((*link)->base == model)
		{
			CacheEntry *a = *link;

			*link = a->next;
			EncModelFree(a->model);
			pfree(a);
		}
		else
			link = &(*link)->next;
	}
	EncModelFree(model);
}

/* The entry of a name, and the link that points to it */
static CacheEntry **
FindEntry(const char *name)
{
	CacheEntry **link;

	for (link = &Cache; *link != NULL; link = &(*link)->next)
		if (strcmp((*link)->name, name) == 0)
			break;
	return link;
}

/* Remember a new model under name */
static EncModel *
AddEntry(const char *name, EncModel *model, uint64 sig, EncModel *base)
{
	CacheEntry *e = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheEntry));

	strlcpy(e->name, name, ENC_MAX_NAME);
	e->model = model;
	e->signature = sig;
	e->base = base;
	e->checked_lxid = MyProc->lxid;
	e->checked_gen = EncModelPathGeneration;
	e->next = Cache;
	Cache = e;
	return model;
}

/* "base+adapter[:doc]": the base first, then the wrapper if still current */
static EncModel *
AdapterModelGet(const char *name, const char *basename)
{
	EncModel   *base = EncModelGet(basename);
	CacheEntry **link = FindEntry(name);
	CacheEntry *e = *link;

	if (e != NULL && e->base == base)
	{
		if (e->checked_lxid == MyProc->lxid &&
			e->checked_gen == EncModelPathGeneration)
			return e->model;
		if (EncAdapterModelCurrent(e->model))
		{
			e->checked_lxid = MyProc->lxid;
			e->checked_gen = EncModelPathGeneration;
			return e->model;
		}
	}
	if (e != NULL)
		DropEntry(link);
	return AddEntry(name, EncAdapterModelLoad(name, base), 0, base);
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
	char	   *basename;
	char	   *adapter;
	bool		doc_side;

	if (EncAdapterParseName(name, &basename, &adapter, &doc_side))
		return AdapterModelGet(name, basename);
	EncCheckModelName(name);

	link = FindEntry(name);
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
	return AddEntry(name, model, sig, NULL);
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
