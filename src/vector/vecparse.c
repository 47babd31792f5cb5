/*-------------------------------------------------------------------------
 *
 * vecparse.c
 *	  Text parsers and binary decoders of vector, halfvec and sparsevec
 *	  (pure C; see vecparse.h)
 *
 * The checks and their order follow pgvector 0.8.6, because the first
 * failing check decides the error a client sees: for example "[65520,x]"
 * is out of range for halfvec (not a syntax error), and "{0:1}/1a" is a
 * syntax error (the index is only checked once the whole literal parsed).
 * Numbers are read with strtof/strtol, which the server runs in the C
 * locale, so every spelling float4in accepts is accepted here too.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vector/vecparse.h"

/* Whitespace around tokens: the set scanner_isspace accepts */
static inline int
VecIsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline const char *
SkipSpace(const char *p)
{
	while (VecIsSpace(*p))
		p++;
	return p;
}

static inline VecStatus
Fail(VecError *err, VecStatus status)
{
	err->status = status;
	return status;
}

/* The typmod check every type makes: -1 (none) or the exact dimension */
static inline VecStatus
CheckTypmod(VecError *err, int32_t typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
	{
		err->a = typmod;
		err->b = dim;
		return Fail(err, VEC_ERR_TYPMOD);
	}
	return VEC_OK;
}

/* NaN first, then infinity, as pgvector's CheckElement */
static inline VecStatus
CheckFloat(VecError *err, float v)
{
	if (isnan(v))
		return Fail(err, VEC_ERR_NAN);
	if (isinf(v))
		return Fail(err, VEC_ERR_INF);
	return VEC_OK;
}

static inline VecStatus
CheckHalf(VecError *err, half h)
{
	if (HalfIsNan(h))
		return Fail(err, VEC_ERR_NAN);
	if (HalfIsInf(h))
		return Fail(err, VEC_ERR_INF);
	return VEC_OK;
}

/* ----------------------------------------------------------------
 *		Dense text: "[x1,x2,...]"
 * ----------------------------------------------------------------
 */
VecStatus
VecParseDense(const char *lit, VecElemKind kind, int32_t typmod,
			  void *out, int *dim, VecError *err)
{
	const char *pt = SkipSpace(lit);
	int			n = 0;

	err->status = VEC_OK;
	if (*pt != '[')
		return Fail(err, VEC_ERR_SYNTAX_START);
	pt = SkipSpace(pt + 1);
	if (*pt == ']')
		return Fail(err, VEC_ERR_DIM_MIN);

	for (;;)
	{
		char	   *end;
		float		val;

		if (n == VEC_MAX_DIM)
			return Fail(err, VEC_ERR_DIM_MAX);

		pt = SkipSpace(pt);
		/* strtof would skip more whitespace; an empty element is an error */
		if (*pt == '\0')
			return Fail(err, VEC_ERR_SYNTAX);

		errno = 0;
		val = strtof(pt, &end);
		if (end == pt)
			return Fail(err, VEC_ERR_SYNTAX);

		/* Overflow is out of range (underflow to 0 or a subnormal is not) */
		if (errno == ERANGE && isinf(val))
		{
			err->tok = pt;
			err->toklen = (int) (end - pt);
			return Fail(err, VEC_ERR_OUT_OF_RANGE);
		}

		if (kind == VEC_ELEM_HALF)
		{
			half		h = Float4ToHalf(val);

			/* Finite as a float but too large for a half */
			if (HalfIsInf(h) && !isinf(val))
			{
				err->tok = pt;
				err->toklen = (int) (end - pt);
				return Fail(err, VEC_ERR_OUT_OF_RANGE);
			}
			if (CheckHalf(err, h) != VEC_OK)
				return err->status;
			((half *) out)[n] = h;
		}
		else
		{
			if (CheckFloat(err, val) != VEC_OK)
				return err->status;
			((float *) out)[n] = val;
		}
		n++;

		pt = SkipSpace(end);
		if (*pt == ',')
			pt++;
		else if (*pt == ']')
		{
			pt++;
			break;
		}
		else
			return Fail(err, VEC_ERR_SYNTAX);
	}

	/* Only whitespace may follow the closing bracket */
	pt = SkipSpace(pt);
	if (*pt != '\0')
		return Fail(err, VEC_ERR_SYNTAX_JUNK);

	*dim = n;
	return CheckTypmod(err, typmod, n);
}

/* ----------------------------------------------------------------
 *		Sparse text: "{i1:x1,i2:x2,...}/dim"
 * ----------------------------------------------------------------
 */
int
VecSparseMaxNnz(const char *lit)
{
	int			n = 1;

	for (const char *p = lit; *p; p++)
	{
		if (*p == ',')
			n++;
	}
	return n;
}

/*
 * Sort the entries by index (heapsort on the two parallel arrays: no
 * allocation, O(n log n) for the 16000 entries a literal may have).
 */
static void
SiftDown(int32_t *idx, float *val, int root, int n)
{
	for (;;)
	{
		int			child = 2 * root + 1;
		int32_t		ti;
		float		tv;

		if (child >= n)
			return;
		if (child + 1 < n && idx[child + 1] > idx[child])
			child++;
		if (idx[root] >= idx[child])
			return;
		ti = idx[root];
		idx[root] = idx[child];
		idx[child] = ti;
		tv = val[root];
		val[root] = val[child];
		val[child] = tv;
		root = child;
	}
}

static void
SortEntries(int32_t *idx, float *val, int n)
{
	int			sorted = 1;

	/* Clients usually send indices in order: nothing to do then */
	for (int i = 1; i < n && sorted; i++)
		sorted = idx[i - 1] <= idx[i];
	if (sorted)
		return;

	for (int i = n / 2 - 1; i >= 0; i--)
		SiftDown(idx, val, i, n);
	for (int end = n - 1; end > 0; end--)
	{
		int32_t		ti = idx[0];
		float		tv = val[0];

		idx[0] = idx[end];
		idx[end] = ti;
		val[0] = val[end];
		val[end] = tv;
		SiftDown(idx, val, 0, end);
	}
}

/* pgvector's CheckIndex on entry i of 0-based indices */
static inline VecStatus
CheckIndex(VecError *err, const int32_t *idx, int i, int dim)
{
	if (idx[i] < 0 || idx[i] >= dim)
		return Fail(err, VEC_ERR_INDEX_BOUNDS);
	if (i > 0)
	{
		if (idx[i] < idx[i - 1])
			return Fail(err, VEC_ERR_INDEX_ORDER);
		if (idx[i] == idx[i - 1])
			return Fail(err, VEC_ERR_INDEX_DUP);
	}
	return VEC_OK;
}

/* Dimension limits of sparsevec */
static inline VecStatus
CheckSparseDim(VecError *err, long dim)
{
	if (dim < 1)
		return Fail(err, VEC_ERR_DIM_MIN);
	if (dim > SPARSEVEC_MAX_DIM)
		return Fail(err, VEC_ERR_DIM_MAX);
	return VEC_OK;
}

VecStatus
VecParseSparse(const char *lit, int32_t typmod, int32_t *indices, float *values,
			   int *nnz, int *dim, VecError *err)
{
	int			maxnnz = VecSparseMaxNnz(lit);
	const char *pt;
	int			n = 0;
	long		d;
	char	   *end;

	err->status = VEC_OK;
	if (maxnnz > SPARSEVEC_MAX_NNZ)
		return Fail(err, VEC_ERR_NNZ_MAX);

	pt = SkipSpace(lit);
	if (*pt != '{')
		return Fail(err, VEC_ERR_SYNTAX_START);
	pt = SkipSpace(pt + 1);

	if (*pt == '}')
		pt++;
	else
	{
		for (;;)
		{
			long		index;
			float		val;

			/* Cannot happen (one entry per comma at most); keep it safe */
			if (n == maxnnz)
				return Fail(err, VEC_ERR_SYNTAX);

			pt = SkipSpace(pt);
			if (*pt == '\0')
				return Fail(err, VEC_ERR_SYNTAX);

			errno = 0;
			index = strtol(pt, &end, 10);
			if (end == pt)
				return Fail(err, VEC_ERR_SYNTAX);
			/* Keep within int (index - 1 must not wrap); bounds come later */
			if (index > INT_MAX)
				index = INT_MAX;
			else if (index < (long) INT_MIN + 1)
				index = (long) INT_MIN + 1;

			pt = SkipSpace(end);
			if (*pt != ':')
				return Fail(err, VEC_ERR_SYNTAX);
			pt = SkipSpace(pt + 1);

			errno = 0;
			val = strtof(pt, &end);
			if (end == pt)
				return Fail(err, VEC_ERR_SYNTAX);

			/* Unlike vector, underflow to zero is out of range too */
			if (errno == ERANGE && (val == 0 || isinf(val)))
			{
				err->tok = pt;
				err->toklen = (int) (end - pt);
				return Fail(err, VEC_ERR_OUT_OF_RANGE);
			}
			if (CheckFloat(err, val) != VEC_OK)
				return err->status;

			/* Zeros are not stored; text indices are 1-based */
			if (val != 0)
			{
				indices[n] = (int32_t) (index - 1);
				values[n] = val;
				n++;
			}

			pt = SkipSpace(end);
			if (*pt == ',')
				pt++;
			else if (*pt == '}')
			{
				pt++;
				break;
			}
			else
				return Fail(err, VEC_ERR_SYNTAX);
		}
	}

	pt = SkipSpace(pt);
	if (*pt != '/')
		return Fail(err, VEC_ERR_SYNTAX_END);
	pt = SkipSpace(pt + 1);

	errno = 0;
	d = strtol(pt, &end, 10);
	if (end == pt)
		return Fail(err, VEC_ERR_SYNTAX);
	pt = SkipSpace(end);
	if (*pt != '\0')
		return Fail(err, VEC_ERR_SYNTAX_JUNK);

	if (CheckSparseDim(err, d) != VEC_OK)
		return err->status;
	if (CheckTypmod(err, typmod, (int) d) != VEC_OK)
		return err->status;

	SortEntries(indices, values, n);
	for (int i = 0; i < n; i++)
	{
		if (CheckIndex(err, indices, i, (int) d) != VEC_OK)
			return err->status;
	}

	*nnz = n;
	*dim = (int) d;
	return VEC_OK;
}

/* ----------------------------------------------------------------
 *		Binary forms
 * ----------------------------------------------------------------
 */

/* Read a big-endian integer of size bytes, or fail with VEC_ERR_SHORT */
static inline int
ReadUint(const char *buf, int len, int *pos, int size, uint32_t *v)
{
	const unsigned char *p = (const unsigned char *) buf + *pos;
	uint32_t	x = 0;

	if (*pos < 0 || len - *pos < size)
		return 0;
	for (int i = 0; i < size; i++)
		x = (x << 8) | p[i];
	*pos += size;
	*v = x;
	return 1;
}

VecStatus
VecRecvDense(const char *buf, int len, int *pos, VecElemKind kind,
			 int32_t typmod, void *out, int *dim, VecError *err)
{
	uint32_t	u;
	int			d;
	int			unused;

	err->status = VEC_OK;
	if (!ReadUint(buf, len, pos, 2, &u))
		return Fail(err, VEC_ERR_SHORT);
	d = (int16_t) u;
	if (!ReadUint(buf, len, pos, 2, &u))
		return Fail(err, VEC_ERR_SHORT);
	unused = (int16_t) u;

	if (d < 1)
		return Fail(err, VEC_ERR_DIM_MIN);
	if (d > VEC_MAX_DIM)
		return Fail(err, VEC_ERR_DIM_MAX);
	if (CheckTypmod(err, typmod, d) != VEC_OK)
		return err->status;
	if (unused != 0)
	{
		err->a = unused;
		return Fail(err, VEC_ERR_UNUSED);
	}

	for (int i = 0; i < d; i++)
	{
		if (kind == VEC_ELEM_HALF)
		{
			if (!ReadUint(buf, len, pos, 2, &u))
				return Fail(err, VEC_ERR_SHORT);
			if (CheckHalf(err, (half) u) != VEC_OK)
				return err->status;
			((half *) out)[i] = (half) u;
		}
		else
		{
			float		f;

			if (!ReadUint(buf, len, pos, 4, &u))
				return Fail(err, VEC_ERR_SHORT);
			memcpy(&f, &u, sizeof(f));
			if (CheckFloat(err, f) != VEC_OK)
				return err->status;
			((float *) out)[i] = f;
		}
	}
	*dim = d;
	return VEC_OK;
}

VecStatus
VecRecvSparseHeader(const char *buf, int len, int *pos, int32_t typmod,
					int *dim, int *nnz, VecError *err)
{
	uint32_t	u;
	int32_t		d;
	int32_t		n;
	int32_t		unused;

	err->status = VEC_OK;
	if (!ReadUint(buf, len, pos, 4, &u))
		return Fail(err, VEC_ERR_SHORT);
	d = (int32_t) u;
	if (!ReadUint(buf, len, pos, 4, &u))
		return Fail(err, VEC_ERR_SHORT);
	n = (int32_t) u;
	if (!ReadUint(buf, len, pos, 4, &u))
		return Fail(err, VEC_ERR_SHORT);
	unused = (int32_t) u;

	if (CheckSparseDim(err, d) != VEC_OK)
		return err->status;
	if (n < 0)
		return Fail(err, VEC_ERR_NNZ_NEG);
	if (n > SPARSEVEC_MAX_NNZ)
		return Fail(err, VEC_ERR_NNZ_MAX);
	if (n > d)
		return Fail(err, VEC_ERR_NNZ_DIM);
	if (CheckTypmod(err, typmod, d) != VEC_OK)
		return err->status;
	if (unused != 0)
	{
		err->a = unused;
		return Fail(err, VEC_ERR_UNUSED);
	}
	*dim = d;
	*nnz = n;
	return VEC_OK;
}

VecStatus
VecRecvSparseBody(const char *buf, int len, int *pos, int dim, int nnz,
				  int32_t *indices, float *values, VecError *err)
{
	uint32_t	u;

	err->status = VEC_OK;
	for (int i = 0; i < nnz; i++)
	{
		if (!ReadUint(buf, len, pos, 4, &u))
			return Fail(err, VEC_ERR_SHORT);
		indices[i] = (int32_t) u;
		if (CheckIndex(err, indices, i, dim) != VEC_OK)
			return err->status;
	}
	for (int i = 0; i < nnz; i++)
	{
		float		f;

		if (!ReadUint(buf, len, pos, 4, &u))
			return Fail(err, VEC_ERR_SHORT);
		memcpy(&f, &u, sizeof(f));
		if (CheckFloat(err, f) != VEC_OK)
			return err->status;
		if (f == 0)
			return Fail(err, VEC_ERR_ZERO);
		values[i] = f;
	}
	return VEC_OK;
}

const char *
VecStatusName(VecStatus status)
{
	switch (status)
	{
		case VEC_OK:
			return "ok";
		case VEC_ERR_SYNTAX:
			return "syntax";
		case VEC_ERR_SYNTAX_START:
			return "syntax (start)";
		case VEC_ERR_SYNTAX_JUNK:
			return "syntax (junk after end)";
		case VEC_ERR_SYNTAX_END:
			return "syntax (no dimension)";
		case VEC_ERR_OUT_OF_RANGE:
			return "out of range";
		case VEC_ERR_NAN:
			return "NaN";
		case VEC_ERR_INF:
			return "infinity";
		case VEC_ERR_DIM_MIN:
			return "too few dimensions";
		case VEC_ERR_DIM_MAX:
			return "too many dimensions";
		case VEC_ERR_TYPMOD:
			return "typmod mismatch";
		case VEC_ERR_NNZ_NEG:
			return "negative nnz";
		case VEC_ERR_NNZ_MAX:
			return "too many non-zeros";
		case VEC_ERR_NNZ_DIM:
			return "nnz above dimension";
		case VEC_ERR_INDEX_BOUNDS:
			return "index out of bounds";
		case VEC_ERR_INDEX_ORDER:
			return "indices out of order";
		case VEC_ERR_INDEX_DUP:
			return "duplicate index";
		case VEC_ERR_UNUSED:
			return "unused not zero";
		case VEC_ERR_ZERO:
			return "zero value";
		case VEC_ERR_SHORT:
			return "truncated";
	}
	return "?";
}
