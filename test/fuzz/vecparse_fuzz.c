/*-------------------------------------------------------------------------
 *
 * vecparse_fuzz.c
 *	  Fuzz target for the text parsers and binary decoders of vector,
 *	  halfvec and sparsevec (src/vector/vecparse.c)
 *
 * Built by tools/fuzz.sh with libFuzzer + AddressSanitizer +
 * UndefinedBehaviorSanitizer (clang), or with fuzz_driver.c (a seeded
 * mutation loop) and the sanitizers under gcc.  The first input byte picks
 * the form and the typmod, the rest is the value:
 *
 *	 byte0 % 6: 0 vector text, 1 halfvec text, 2 sparsevec text,
 *				3 vector binary, 4 halfvec binary, 5 sparsevec binary
 *	 byte0 / 6: 0-31 no typmod; otherwise typmod = byte0 / 6 - 31 (1..11)
 *
 * Beyond "no crash, no out-of-bounds access, no undefined behaviour", every
 * accepted value must be a valid one (dimension and nnz limits, finite
 * elements, sparse indices ascending and in bounds, no stored zeros), must
 * print and parse back to the same value (text), must re-encode to the
 * bytes it was read from (binary), and the typmod must have been honoured.
 * A rejected value must carry a known status, and an out-of-range token
 * must lie inside the input.  Any violation aborts.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector/vecparse.h"

#define CHECK(cond, what) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "vecparse_fuzz: invariant failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/* Output buffers big enough for any value (static: not on the stack) */
static float DenseF[VEC_MAX_DIM];
static half DenseH[VEC_MAX_DIM];
static float DenseF2[VEC_MAX_DIM];
static half DenseH2[VEC_MAX_DIM];
static int32_t SparseI[SPARSEVEC_MAX_NNZ];
static float SparseV[SPARSEVEC_MAX_NNZ];
static int32_t SparseI2[SPARSEVEC_MAX_NNZ];
static float SparseV2[SPARSEVEC_MAX_NNZ];
/* text printed back: per element at most ~30 characters */
static char Text[SPARSEVEC_MAX_NNZ * 48 + 64];
static char Bytes[12 + SPARSEVEC_MAX_NNZ * 8];

static void
CheckError(const VecError *err, const char *lit, size_t litlen)
{
	CHECK(err->status > VEC_OK && err->status <= VEC_ERR_SHORT, "known status");
	if (err->status == VEC_ERR_OUT_OF_RANGE)
	{
		CHECK(lit != NULL, "out of range only for text");
		CHECK(err->tok >= lit && err->toklen > 0 &&
			  err->tok + err->toklen <= lit + litlen, "token inside the input");
	}
}

static void
CheckTypmod(int32_t typmod, int dim)
{
	CHECK(typmod == -1 || typmod == dim, "typmod honoured");
}

/* Dense text: valid, and "[%.9g,...]" parses back to the same elements */
static void
FuzzDenseText(const char *lit, size_t len, VecElemKind kind, int32_t typmod)
{
	VecError	err;
	int			dim = 0;
	int			dim2 = 0;
	void	   *out = kind == VEC_ELEM_HALF ? (void *) DenseH : (void *) DenseF;
	void	   *out2 = kind == VEC_ELEM_HALF ? (void *) DenseH2 : (void *) DenseF2;
	char	   *p = Text;

	if (VecParseDense(lit, kind, typmod, out, &dim, &err) != VEC_OK)
	{
		CheckError(&err, lit, len);
		return;
	}
	CHECK(dim >= 1 && dim <= VEC_MAX_DIM, "dense dimension in range");
	CheckTypmod(typmod, dim);

	*p++ = '[';
	for (int i = 0; i < dim; i++)
	{
		float		f = kind == VEC_ELEM_HALF ? HalfToFloat4(DenseH[i]) : DenseF[i];

		CHECK(isfinite(f), "finite element");
		p += sprintf(p, "%s%.9g", i > 0 ? "," : "", f);
	}
	strcpy(p, "]");

	CHECK(VecParseDense(Text, kind, -1, out2, &dim2, &err) == VEC_OK, "printed value parses");
	CHECK(dim2 == dim, "same dimension after a round trip");
	CHECK(memcmp(out, out2, (size_t) dim * (kind == VEC_ELEM_HALF ? sizeof(half) : sizeof(float))) == 0,
		  "same elements after a round trip");
}

/* A sparse value's invariants */
static void
CheckSparse(int dim, int nnz, const int32_t *idx, const float *val)
{
	CHECK(dim >= 1 && dim <= SPARSEVEC_MAX_DIM, "sparse dimension in range");
	CHECK(nnz >= 0 && nnz <= SPARSEVEC_MAX_NNZ && nnz <= dim, "nnz in range");
	for (int i = 0; i < nnz; i++)
	{
		CHECK(idx[i] >= 0 && idx[i] < dim, "index in bounds");
		CHECK(i == 0 || idx[i] > idx[i - 1], "indices strictly ascending");
		CHECK(isfinite(val[i]) && val[i] != 0, "finite non-zero value");
	}
}

/* Sparse text: valid, and "{i:%.9g,...}/dim" parses back to the same value */
static void
FuzzSparseText(const char *lit, size_t len, int32_t typmod)
{
	VecError	err;
	int			nnz = 0;
	int			dim = 0;
	int			nnz2 = 0;
	int			dim2 = 0;
	char	   *p = Text;

	if (VecParseSparse(lit, typmod, SparseI, SparseV, &nnz, &dim, &err) != VEC_OK)
	{
		CheckError(&err, lit, len);
		return;
	}
	CheckSparse(dim, nnz, SparseI, SparseV);
	CheckTypmod(typmod, dim);

	*p++ = '{';
	for (int i = 0; i < nnz; i++)
		p += sprintf(p, "%s%d:%.9g", i > 0 ? "," : "", SparseI[i] + 1, SparseV[i]);
	sprintf(p, "}/%d", dim);

	CHECK(VecParseSparse(Text, -1, SparseI2, SparseV2, &nnz2, &dim2, &err) == VEC_OK,
		  "printed sparse value parses");
	CHECK(nnz2 == nnz && dim2 == dim, "same shape after a round trip");
	CHECK(memcmp(SparseI, SparseI2, sizeof(int32_t) * nnz) == 0 &&
		  memcmp(SparseV, SparseV2, sizeof(float) * nnz) == 0, "same entries after a round trip");
}

static char *
Put(char *p, uint32_t v, int size)
{
	for (int i = size - 1; i >= 0; i--)
		*p++ = (char) ((v >> (8 * i)) & 0xFF);
	return p;
}

/* Dense binary: valid, and re-encoding gives the bytes consumed */
static void
FuzzDenseBinary(const char *buf, int len, VecElemKind kind, int32_t typmod)
{
	VecError	err;
	int			pos = 0;
	int			dim = 0;
	char	   *p = Bytes;

	if (VecRecvDense(buf, len, &pos, kind, typmod,
					 kind == VEC_ELEM_HALF ? (void *) DenseH : (void *) DenseF, &dim, &err) != VEC_OK)
	{
		CheckError(&err, NULL, 0);
		return;
	}
	CHECK(dim >= 1 && dim <= VEC_MAX_DIM, "dense dimension in range");
	CheckTypmod(typmod, dim);
	CHECK(pos >= 4 && pos <= len, "read inside the buffer");

	p = Put(p, (uint32_t) dim, 2);
	p = Put(p, 0, 2);
	for (int i = 0; i < dim; i++)
	{
		if (kind == VEC_ELEM_HALF)
		{
			CHECK(isfinite(HalfToFloat4(DenseH[i])), "finite half");
			p = Put(p, DenseH[i], 2);
		}
		else
		{
			uint32_t	u;

			CHECK(isfinite(DenseF[i]), "finite float");
			memcpy(&u, &DenseF[i], sizeof(u));
			p = Put(p, u, 4);
		}
	}
	CHECK(p - Bytes == pos && memcmp(Bytes, buf, pos) == 0, "re-encodes to the bytes read");
}

/* Sparse binary: valid, and re-encoding gives the bytes consumed */
static void
FuzzSparseBinary(const char *buf, int len, int32_t typmod)
{
	VecError	err;
	int			pos = 0;
	int			dim = 0;
	int			nnz = 0;
	char	   *p = Bytes;

	if (VecRecvSparseHeader(buf, len, &pos, typmod, &dim, &nnz, &err) != VEC_OK ||
		VecRecvSparseBody(buf, len, &pos, dim, nnz, SparseI, SparseV, &err) != VEC_OK)
	{
		CheckError(&err, NULL, 0);
		return;
	}
	CheckSparse(dim, nnz, SparseI, SparseV);
	CheckTypmod(typmod, dim);
	CHECK(pos <= len, "read inside the buffer");

	p = Put(p, (uint32_t) dim, 4);
	p = Put(p, (uint32_t) nnz, 4);
	p = Put(p, 0, 4);
	for (int i = 0; i < nnz; i++)
		p = Put(p, (uint32_t) SparseI[i], 4);
	for (int i = 0; i < nnz; i++)
	{
		uint32_t	u;

		memcpy(&u, &SparseV[i], sizeof(u));
		p = Put(p, u, 4);
	}
	CHECK(p - Bytes == pos && memcmp(Bytes, buf, pos) == 0, "re-encodes to the bytes read");
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			form;
	int32_t		typmod;
	char	   *copy;

	if (size < 1 || size > 1 << 20)
		return 0;
	form = data[0] % 6;
	typmod = data[0] / 6 < 32 ? -1 : data[0] / 6 - 31;

	/*
	 * An exact-size copy, so that AddressSanitizer catches any read past the
	 * end: text gets its terminating NUL (and stops at the first NUL, as a
	 * cstring does), binary gets no padding at all.
	 */
	if (form <= 2)
	{
		copy = malloc(size);
		memcpy(copy, data + 1, size - 1);
		copy[size - 1] = '\0';
		if (form == 2)
			FuzzSparseText(copy, strlen(copy), typmod);
		else
			FuzzDenseText(copy, strlen(copy), form == 1 ? VEC_ELEM_HALF : VEC_ELEM_FLOAT4, typmod);
	}
	else
	{
		copy = malloc(size > 1 ? size - 1 : 1);
		memcpy(copy, data + 1, size - 1);
		if (form == 5)
			FuzzSparseBinary(copy, (int) size - 1, typmod);
		else
			FuzzDenseBinary(copy, (int) size - 1, form == 4 ? VEC_ELEM_HALF : VEC_ELEM_FLOAT4, typmod);
	}
	free(copy);
	return 0;
}
