/*-------------------------------------------------------------------------
 *
 * model.c
 *	  A loaded model: the accessors its architecture binds tensors and
 *	  hyper-parameters with
 *
 * Weights are read straight from the mmapped safetensors file (shared by
 * every backend through the page cache).  Copies are made only where a
 * kernel wants its own layout (EncModelLinear) or the file's dtype is not
 * float32; they belong to the model, one per backend.
 *
 * The kernel copies go to one anonymous mapping per model (PackArena),
 * reserved at the size of the weights file (no copy is larger than its
 * tensor, so they always fit; pages never written cost nothing), aligned
 * to 2 MB and marked for transparent huge pages: the panel products walk
 * every matrix on every call, and 2 MB pages spare both the page faults of
 * the copy (about 5,000 for the default model's 20 MB with 4 kB pages) and
 * the TLB misses of every product.  It is unmapped with the model's memory
 * context.  The source matrices are read with pread() into scratch space
 * at the arena's end rather than through the file mapping: the packing
 * needs each of them once, and first touching 20 MB of mapped file costs
 * about 5,000 page faults, several times the copy (10 against 1.3 ms of
 * CPU on the development VM); the scratch pages are given back when the
 * load ends (EncModelLoadFinish).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/mman.h>

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "encoder/format/json.h"
#include "encoder/format/safetensors.h"
#include "encoder/model/model.h"

#define PACK_ARENA_ALIGN ((size_t) 2 * 1024 * 1024)

typedef struct PackArena
{
	char	   *map;			/* the mapping, as mmap returned it */
	size_t		maplen;
	char	   *base;			/* 2 MB aligned start */
	size_t		size;			/* usable bytes from base */
	size_t		used;
	size_t		scratch;		/* lowest offset used as read scratch, or size */
} PackArena;

/* Memory context callback: unmap the arena */
static void
PackArenaRelease(void *arg)
{
	PackArena  *a = arg;

	munmap(a->map, a->maplen);
}

/* The model's arena, reserved on first use; NULL if mmap fails */
static PackArena *
GetPackArena(EncModel *model)
{
	PackArena  *a = model->pack_arena;
	MemoryContextCallback *cb;
	size_t		size;
	char	   *map;

	if (a != NULL)
		return a->map != NULL ? a : NULL;
	a = MemoryContextAllocZero(model->mcxt, sizeof(PackArena));
	model->pack_arena = a;
	size = TYPEALIGN(PACK_ARENA_ALIGN, model->weights->maplen);
	map = mmap(NULL, size + PACK_ARENA_ALIGN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	a->map = map;
	a->maplen = size + PACK_ARENA_ALIGN;
	a->base = (char *) TYPEALIGN(PACK_ARENA_ALIGN, map);
	a->size = size;
	a->scratch = size;
#ifdef MADV_HUGEPAGE
	(void) madvise(a->base, a->size, MADV_HUGEPAGE);
#endif
	cb = MemoryContextAlloc(model->mcxt, sizeof(MemoryContextCallback));
	cb->func = PackArenaRelease;
	cb->arg = a;
	MemoryContextRegisterResetCallback(model->mcxt, cb);
	return a;
}

/*
 * bytes for a kernel copy, 64-byte aligned: from the arena, or from the
 * model's memory context when the arena cannot have them
 */
static void *
PackAlloc(EncModel *model, size_t bytes)
{
	PackArena  *a = GetPackArena(model);

	if (a != NULL && a->size - a->used >= bytes)
	{
		void	   *p = a->base + a->used;

		a->used = TYPEALIGN(64, a->used + bytes);
		return p;
	}
	return (void *) TYPEALIGN(64, MemoryContextAllocHuge(model->mcxt, bytes + 63));
}

/*
 * Space for reading a matrix of bytes before it is packed, at the arena's
 * end and clear of the copies made so far and of the next (need bytes);
 * NULL when there is no room
 */
static float *
PackScratch(EncModel *model, size_t bytes, size_t need)
{
	PackArena  *a = GetPackArena(model);
	size_t		start;

	if (a == NULL || bytes > a->size)
		return NULL;
	start = TYPEALIGN_DOWN(PACK_ARENA_ALIGN, a->size - bytes);
	if (start < a->used + need + 64)
		return NULL;
	a->scratch = Min(a->scratch, start);
	return (float *) (a->base + start);
}

/* The load is over: give back the scratch pages, close the weights file */
void
EncModelLoadFinish(EncModel *model)
{
	PackArena  *a = model->pack_arena;

	if (a != NULL && a->map != NULL)
	{
		/* copies made after a read may have been placed over old scratch */
		size_t		start = Max(a->scratch, TYPEALIGN(PACK_ARENA_ALIGN, a->used));

		if (start < a->size)
			(void) madvise(a->base + start, a->size - start, MADV_DONTNEED);
		a->scratch = a->size;
	}
	SafeTensorsCloseFile(model->weights);
}

/* Free a model and everything it owns (the mappings included) */
void
EncModelFree(EncModel *model)
{
	MemoryContextDelete(model->mcxt);
}

/* Path of a file inside the model folder */
char *
EncModelFile(EncModel *model, const char *relpath)
{
	return psprintf("%s/%s", model->dir, relpath);
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

/* Bind a linear layer and make the kernel copy it wants */
void
EncModelLinear(EncModel *model, EncLinear *l, const char *wname,
			   const char *bname, EncWeightLayout layout, int in, int out)
{
	int64		wshape[2];
	int64		bshape[1] = {out};
	const float *w;
	const float *b = NULL;
	size_t		bytes;

	wshape[0] = layout == ENC_W_IN_OUT ? in : out;
	wshape[1] = layout == ENC_W_IN_OUT ? out : in;
	w = EncModelTensor(model, wname, 2, wshape);
	if (bname != NULL)
		b = EncModelTensor(model, bname, 1, bshape);
	EncLinearInit(l, w, layout, in, out, b);
	bytes = EncLinearPackedSize(l);
	if (bytes > 0)
	{
		SafeTensor *t = SafeTensorsFind(model->weights, wname);
		float	   *src = PackScratch(model, sizeof(float) * (size_t) in * out, bytes);

		/* read the matrix rather than fault in its mapped pages (header) */
		if (src != NULL && !SafeTensorsReadF32(model->weights, t, src))
			src = NULL;
		EncLinearPack(l, PackAlloc(model, bytes), src);
		model->packed_bytes += bytes;
	}
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
