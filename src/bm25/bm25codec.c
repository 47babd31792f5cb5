/*-------------------------------------------------------------------------
 *
 * bm25codec.c
 *	  Posting blocks of the bm25 index: delta + bit-packing (pure C)
 *
 *-------------------------------------------------------------------------
 */
#include "bm25/bm25codec.h"

#include <string.h>

/* Pack n values of the given width (0..32 bits) from the low bit up */
size_t
Bm25PackBits(const uint32_t *vals, int n, int bits, uint8_t *out)
{
	uint64_t	acc = 0;
	int			have = 0;
	size_t		o = 0;

	if (bits == 0)
		return 0;
	for (int i = 0; i < n; i++)
	{
		acc |= (uint64_t) vals[i] << have;
		have += bits;
		while (have >= 8)
		{
			out[o++] = (uint8_t) acc;
			acc >>= 8;
			have -= 8;
		}
	}
	if (have > 0)
		out[o++] = (uint8_t) acc;
	return o;
}

/* Unpack n values of the given width; returns the bytes read */
size_t
Bm25UnpackBits(const uint8_t *in, int n, int bits, uint32_t *out)
{
	uint64_t	acc = 0;
	uint64_t	mask;
	int			have = 0;
	size_t		o = 0;

	if (bits == 0)
	{
		memset(out, 0, sizeof(uint32_t) * n);
		return 0;
	}
	mask = bits == 32 ? UINT64_C(0xFFFFFFFF) : ((UINT64_C(1) << bits) - 1);
	for (int i = 0; i < n; i++)
	{
		while (have < bits)
		{
			acc |= (uint64_t) in[o++] << have;
			have += 8;
		}
		out[i] = (uint32_t) (acc & mask);
		acc >>= bits;
		have -= bits;
	}
	return o;
}

size_t
Bm25EncodeBlock(const uint32_t *docs, const uint32_t *tfs, int n,
				uint32_t prevDoc, Bm25BlockHeader *h, uint8_t *out)
{
	uint32_t	gaps[BM25_BLOCK_SIZE];
	uint32_t	tfm1[BM25_BLOCK_SIZE];
	uint32_t	maxGap = 0;
	uint32_t	maxTf = 0;
	uint32_t	prev = prevDoc;
	size_t		o;

	for (int i = 0; i < n; i++)
	{
		/* prevDoc = BM25_NO_DOC wraps to -1: the first gap is the id */
		gaps[i] = docs[i] - prev - 1;
		prev = docs[i];
		tfm1[i] = tfs[i] - 1;
		if (gaps[i] > maxGap)
			maxGap = gaps[i];
		if (tfs[i] > maxTf)
			maxTf = tfs[i];
	}
	h->lastDoc = docs[n - 1];
	h->maxTf = maxTf;
	h->count = (uint8_t) n;
	h->docBits = (uint8_t) Bm25BitsFor(maxGap);
	h->tfBits = (uint8_t) Bm25BitsFor(maxTf - 1);
	h->unused = 0;
	o = Bm25PackBits(gaps, n, h->docBits, out);
	o += Bm25PackBits(tfm1, n, h->tfBits, out + o);
	return o;
}

void
Bm25DecodeBlock(const uint8_t *in, const Bm25BlockHeader *h, uint32_t prevDoc,
				uint32_t *docs, uint32_t *tfs)
{
	int			n = h->count;
	size_t		o;
	uint32_t	prev = prevDoc;

	o = Bm25UnpackBits(in, n, h->docBits, docs);
	Bm25UnpackBits(in + o, n, h->tfBits, tfs);
	for (int i = 0; i < n; i++)
	{
		prev = prev + docs[i] + 1;
		docs[i] = prev;
		tfs[i] += 1;
	}
}
