/*-------------------------------------------------------------------------
 *
 * safetensors.c
 *	  Map a .safetensors file and validate its header (format only)
 *
 * Nothing here knows about models: model/model.c asks for tensors by name and
 * checks their shapes.  All header problems are ERRCODE_DATA_CORRUPTED
 * errors naming the file, raised at open time, so a forward pass never
 * reads outside the mapping.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/int.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "encoder/format/json.h"
#include "encoder/format/safetensors.h"

/* The format caps the header at 100 MB; so do we */
#define ST_MAX_HEADER ((uint64) 100 * 1024 * 1024)

/* Largest accepted dimension and offset: far beyond any real model */
#define ST_MAX_INT ((double) ((int64) 1 << 52))

static const struct
{
	const char *name;
	SafeTensorDType dtype;
	int			size;
}			DTypes[] =
{
	{"F32", ST_F32, 4},
	{"F16", ST_F16, 2},
	{"BF16", ST_BF16, 2},
	{"F64", ST_F64, 8},
	{"I64", ST_I64, 8},
	{"I32", ST_I32, 4},
	{"I16", ST_I16, 2},
	{"I8", ST_I8, 1},
	{"U8", ST_U8, 1},
	{"BOOL", ST_BOOL, 1},
};

/* Name of a dtype as spelled in headers */
const char *
SafeTensorDTypeName(SafeTensorDType dtype)
{
	for (int i = 0; i < lengthof(DTypes); i++)
		if (DTypes[i].dtype == dtype)
			return DTypes[i].name;
	return "?";
}

/* Bytes per element of a dtype */
static int
DTypeSize(SafeTensorDType dtype)
{
	for (int i = 0; i < lengthof(DTypes); i++)
		if (DTypes[i].dtype == dtype)
			return DTypes[i].size;
	return 0;
}

/* Report a header problem */
static void
pg_attribute_noreturn()
CorruptHeader(const char *path, const char *tensor, const char *problem)
{
	if (tensor != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid safetensors file \"%s\"", path),
				 errdetail("Tensor \"%s\": %s.", tensor, problem)));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid safetensors file \"%s\"", path),
			 errdetail("%s.", problem)));
}

/* Unmap the file when the owning context goes away */
static void
UnmapCallback(void *arg)
{
	SafeTensors *st = (SafeTensors *) arg;

	if (st->map != NULL)
		munmap((void *) st->map, st->maplen);
	st->map = NULL;
}

/* Close the file descriptor kept by SafeTensorsOpen (the mapping stays) */
void
SafeTensorsCloseFile(SafeTensors *st)
{
	if (st->fd >= 0)
		CloseTransientFile(st->fd);
	st->fd = -1;
}

/*
 * Copy an F32 tensor's data into dst with pread(), through the descriptor
 * the mapping was made from (so the same file even if the path has been
 * replaced since).  Reading is far cheaper than first touching the mapped
 * pages when the data is only needed once, to derive another layout: each
 * touch of a mapped page is a page fault, which in a virtual machine can
 * cost more than copying the page.  False, with nothing read, when the
 * tensor is not F32 or the descriptor is closed.
 */
bool
SafeTensorsReadF32(SafeTensors *st, SafeTensor *t, float *dst)
{
	off_t		off = (off_t) (st->data - st->map) + (off_t) t->begin;
	size_t		len = t->end - t->begin;
	size_t		done = 0;

	if (t->dtype != ST_F32 || st->fd < 0)
		return false;
	while (done < len)
	{
		ssize_t		n = pg_pread(st->fd, (char *) dst + done, len - done,
								 off + (off_t) done);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", st->path)));
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not read file \"%s\": read %zu of %zu bytes of tensor \"%s\"",
							st->path, done, len, t->name)));
		done += n;
	}
	return true;
}

/* Read a non-negative integral JSON number no larger than ST_MAX_INT */
static bool
JsonIndex(const JsonbValue *v, int64 *out)
{
	double		d;

	if (!EncJsonNumber(v, &d) || d < 0 || d > ST_MAX_INT || d != floor(d))
		return false;
	*out = (int64) d;
	return true;
}

/* Parse and check one header entry into t */
static void
ParseEntry(SafeTensors *st, const char *name, JsonbContainer *obj,
		   SafeTensor *t)
{
	const char *path = st->path;
	char	   *dtype;
	JsonbContainer *shape;
	JsonbContainer *offs;
	JsonbValue *v;
	int64		nelems = 1;
	int64		nbytes;
	int64		begin;
	int64		end;
	int			i;

	if (obj == NULL || !JsonContainerIsObject(obj))
		CorruptHeader(path, name, "entry is not a JSON object");

	t->name = pstrdup(name);
	dtype = EncJsonGetString(obj, "dtype");
	if (dtype == NULL)
		CorruptHeader(path, name, "missing \"dtype\"");
	for (i = 0; i < lengthof(DTypes); i++)
		if (strcmp(DTypes[i].name, dtype) == 0)
			break;
	if (i == lengthof(DTypes))
		CorruptHeader(path, name,
					  psprintf("unknown dtype \"%s\"", dtype));
	t->dtype = DTypes[i].dtype;

	shape = EncJsonGetContainer(obj, "shape");
	if (shape == NULL || !JsonContainerIsArray(shape))
		CorruptHeader(path, name, "missing or invalid \"shape\"");
	t->ndim = JsonContainerSize(shape);
	if (t->ndim > SAFETENSORS_MAX_DIMS)
		CorruptHeader(path, name, "too many dimensions");
	for (i = 0; i < t->ndim; i++)
	{
		v = getIthJsonbValueFromContainer(shape, i);
		if (v == NULL || !JsonIndex(v, &t->shape[i]))
			CorruptHeader(path, name, "shape holds an invalid dimension");
		if (pg_mul_s64_overflow(nelems, t->shape[i], &nelems))
			CorruptHeader(path, name, "shape is too large");
	}
	t->nelems = nelems;

	offs = EncJsonGetContainer(obj, "data_offsets");
	if (offs == NULL || !JsonContainerIsArray(offs) ||
		JsonContainerSize(offs) != 2)
		CorruptHeader(path, name, "missing or invalid \"data_offsets\"");
	v = getIthJsonbValueFromContainer(offs, 0);
	if (v == NULL || !JsonIndex(v, &begin))
		CorruptHeader(path, name, "invalid data offset");
	v = getIthJsonbValueFromContainer(offs, 1);
	if (v == NULL || !JsonIndex(v, &end))
		CorruptHeader(path, name, "invalid data offset");
	if (end < begin)
		CorruptHeader(path, name, "data offsets are reversed");
	if ((uint64) end > (uint64) (st->maplen - (st->data - st->map)))
		CorruptHeader(path, name,
					  psprintf("data [%lld, %lld) extends past the end of the file (data area is %lld bytes)",
							   (long long) begin, (long long) end,
							   (long long) (st->maplen - (st->data - st->map))));
	if (pg_mul_s64_overflow(nelems, DTypeSize(t->dtype), &nbytes) ||
		nbytes != end - begin)
		CorruptHeader(path, name,
					  psprintf("shape needs %lld elements of %s but data is %lld bytes",
							   (long long) nelems, dtype,
							   (long long) (end - begin)));
	t->begin = begin;
	t->end = end;
	t->f32 = NULL;
}

/* Order tensors by start offset */
static int
CmpBegin(const void *a, const void *b)
{
	const SafeTensor *x = a;
	const SafeTensor *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : (x->end > y->end ? 1 : 0);
}

/* Order tensors by name */
static int
CmpName(const void *a, const void *b)
{
	return strcmp(((const SafeTensor *) a)->name,
				  ((const SafeTensor *) b)->name);
}

/* Map the file and validate its header and every tensor entry */
SafeTensors *
SafeTensorsOpen(const char *path, MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	SafeTensors *st = palloc0(sizeof(SafeTensors));
	MemoryContextCallback *cb;
	struct stat sb;
	uint64		hlen;
	int			fd;
	void	   *map;
	Jsonb	   *header;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;
	char	   *key = NULL;

#ifdef WORDS_BIGENDIAN
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("safetensors files are only supported on little-endian machines")));
#endif

	st->path = pstrdup(path);
	st->mcxt = mcxt;
	st->fd = -1;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	if (fstat(fd, &sb) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	if (!S_ISREG(sb.st_mode))
		CorruptHeader(path, NULL, "Not a regular file");
	if (sb.st_size < 8)
		CorruptHeader(path, NULL,
					  psprintf("File is %lld bytes, shorter than the 8-byte header length",
							   (long long) sb.st_size));

	map = mmap(NULL, sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not map file \"%s\": %m", path)));
	/* kept for SafeTensorsReadF32 until SafeTensorsCloseFile */
	st->fd = fd;
	st->map = map;
	st->maplen = sb.st_size;
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = UnmapCallback;
	cb->arg = st;
	MemoryContextRegisterResetCallback(mcxt, cb);

	memcpy(&hlen, st->map, 8);
	if (hlen > (uint64) sb.st_size - 8)
		CorruptHeader(path, NULL,
					  psprintf("Header length %llu exceeds the file size %lld",
							   (unsigned long long) hlen,
							   (long long) sb.st_size));
	if (hlen > ST_MAX_HEADER)
		CorruptHeader(path, NULL, "Header is larger than 100 MB");
	if (hlen < 2)
		CorruptHeader(path, NULL, "Header is not a JSON object");
	st->data = st->map + 8 + hlen;

	header = EncJsonParse(st->map + 8, (int) hlen, path, true);
	if (!JB_ROOT_IS_OBJECT(header))
		CorruptHeader(path, NULL, "Header is not a JSON object");

	st->tensors = palloc0(sizeof(SafeTensor) *
						  Max(JB_ROOT_COUNT(header), 1));
	it = JsonbIteratorInit(&header->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			JsonbContainer *obj = v.type == jbvBinary ? v.val.binary.data : NULL;

			if (strcmp(key, "__metadata__") == 0)
			{
				if (obj == NULL || !JsonContainerIsObject(obj))
					CorruptHeader(path, NULL, "\"__metadata__\" is not an object");
				continue;
			}
			ParseEntry(st, key, obj, &st->tensors[n++]);
		}
	}
	st->ntensors = n;

	/* No two tensors may share bytes (zero-sized ones share nothing) */
	qsort(st->tensors, n, sizeof(SafeTensor), CmpBegin);
	for (int i = 1; i < n; i++)
		if (st->tensors[i].begin < st->tensors[i - 1].end)
			CorruptHeader(path, st->tensors[i].name,
						  psprintf("data overlaps tensor \"%s\"",
								   st->tensors[i - 1].name));
	qsort(st->tensors, n, sizeof(SafeTensor), CmpName);

	MemoryContextSwitchTo(old);
	return st;
}

/* Binary search by name */
SafeTensor *
SafeTensorsFind(SafeTensors *st, const char *name)
{
	SafeTensor	key;

	key.name = (char *) name;
	return bsearch(&key, st->tensors, st->ntensors, sizeof(SafeTensor),
				   CmpName);
}

/* IEEE half to float, including subnormals, infinities and NaN */
static float
HalfToFloat(uint16 h)
{
	uint32		sign = (uint32) (h & 0x8000) << 16;
	uint32		exp = (h >> 10) & 0x1f;
	uint32		mant = h & 0x3ff;
	uint32		bits;
	float		f;

	if (exp == 0)
	{
		/* zero or subnormal: mant * 2^-24 */
		f = (float) mant * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000 | (mant << 13);
	else
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	memcpy(&f, &bits, 4);
	return f;
}

/* Tensor data as float32 (see header) */
const float *
SafeTensorsFloat(SafeTensors *st, SafeTensor *t)
{
	const char *src = st->data + t->begin;
	float	   *dst;

	if (t->f32 != NULL)
		return t->f32;
	if (t->dtype == ST_F32 && ((uintptr_t) src % sizeof(float)) == 0)
		return (const float *) src;
	if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("unsupported tensor dtype in file \"%s\"", st->path),
				 errdetail("Tensor \"%s\" has dtype %s; only F32, F16 and BF16 are supported.",
						   t->name, SafeTensorDTypeName(t->dtype))));
	if ((Size) t->nelems > MaxAllocHugeSize / sizeof(float))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tensor \"%s\" in file \"%s\" is too large",
						t->name, st->path)));
	dst = MemoryContextAllocHuge(st->mcxt, sizeof(float) * Max(t->nelems, 1));
	for (int64 i = 0; i < t->nelems; i++)
	{
		if (t->dtype == ST_F32)
			memcpy(&dst[i], src + 4 * i, 4);
		else
		{
			uint16		h;

			memcpy(&h, src + 2 * i, 2);
			if (t->dtype == ST_F16)
				dst[i] = HalfToFloat(h);
			else
			{
				uint32		bits = (uint32) h << 16;

				memcpy(&dst[i], &bits, 4);
			}
		}
	}
	t->f32 = dst;
	return dst;
}
