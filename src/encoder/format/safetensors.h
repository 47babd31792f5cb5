/*-------------------------------------------------------------------------
 *
 * safetensors.h
 *	  Read-only access to .safetensors weight files (safetensors.c)
 *
 * File layout (little endian):
 *
 *	 OFFSET      SIZE   DESCRIPTION
 *	   0           8    N: length of the JSON header, unsigned 64-bit
 *	   8           N    JSON object: name -> {"dtype", "shape", "data_offsets"}
 *	                    plus an optional "__metadata__" object of strings
 *	   8+N         ...  data; data_offsets [begin, end) are relative to 8+N
 *
 * The file is mmapped MAP_SHARED read-only, so every backend using a model
 * shares one copy in the page cache.  The descriptor stays open while the
 * model loads, for tensors that are read once (SafeTensorsReadF32).  Every header entry is validated at
 * open: known dtype, non-negative shape, element count x dtype size equal to
 * the byte length, offsets inside the file and not overlapping.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENC_SAFETENSORS_H
#define SEMVEC_ENC_SAFETENSORS_H

#include "postgres.h"

#define SAFETENSORS_MAX_DIMS 8

typedef enum SafeTensorDType
{
	ST_F32,
	ST_F16,
	ST_BF16,
	ST_F64,
	ST_I64,
	ST_I32,
	ST_I16,
	ST_I8,
	ST_U8,
	ST_BOOL
} SafeTensorDType;

typedef struct SafeTensor
{
	char	   *name;
	SafeTensorDType dtype;
	int			ndim;
	int64		shape[SAFETENSORS_MAX_DIMS];
	int64		nelems;
	uint64		begin;			/* byte offsets relative to the data area */
	uint64		end;
	float	   *f32;			/* converted / aligned copy, made on demand */
} SafeTensor;

typedef struct SafeTensors
{
	char	   *path;
	MemoryContext mcxt;			/* owns this struct; unmaps on reset */
	const char *map;			/* whole file */
	size_t		maplen;
	const char *data;			/* start of the data area */
	int			fd;				/* open until SafeTensorsCloseFile, or -1 */
	int			ntensors;
	SafeTensor *tensors;		/* sorted by name */
} SafeTensors;

/* Map and validate path; the mapping lives as long as mcxt */
extern SafeTensors *SafeTensorsOpen(const char *path, MemoryContext mcxt);

/* Find a tensor by exact name, or NULL */
extern SafeTensor *SafeTensorsFind(SafeTensors *st, const char *name);

/*
 * Return the tensor's elements as float32: a pointer into the mapping for
 * aligned F32 data, otherwise a converted copy in st->mcxt (F16, BF16).
 * Other dtypes are an error.
 */
extern const float *SafeTensorsFloat(SafeTensors *st, SafeTensor *t);

/*
 * Copy an F32 tensor's bytes into dst (t->nelems floats) by reading the
 * file rather than touching the mapping; false when the tensor is not F32
 * or the file is closed.  For data used once at load (kernel layouts).
 */
extern bool SafeTensorsReadF32(SafeTensors *st, SafeTensor *t, float *dst);

/* Close the descriptor kept open for SafeTensorsReadF32 (end of the load) */
extern void SafeTensorsCloseFile(SafeTensors *st);

extern const char *SafeTensorDTypeName(SafeTensorDType dtype);

#endif							/* SEMVEC_ENC_SAFETENSORS_H */
