/*-------------------------------------------------------------------------
 *
 * bm25codec_test.c
 *	  Unit test: bm25 posting blocks decode to exactly what was encoded
 *
 * Random blocks of every size 1..BM25_BLOCK_SIZE with gaps and frequencies
 * of every bit width 0..32 (including document ids near UINT32_MAX - 1 and
 * frequencies up to UINT32_MAX), as a term's first block and as a later
 * one; the header's last document, largest frequency and bit widths must
 * be right, the byte count must match Bm25BlockBytes, and decoding must
 * not read past the encoded bytes (the data ends right before an
 * unreadable page).
 * Built and run by tools/unit.sh (plain gcc, no PostgreSQL).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bm25/bm25codec.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t
Rand32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng >> 11);
}

/* A random value of at most the given bit width */
static uint32_t
RandBits(int bits)
{
	if (bits == 0)
		return 0;
	if (bits == 32)
		return Rand32();
	return Rand32() & ((1u << bits) - 1);
}

int
main(void)
{
	long		pagesz = sysconf(_SC_PAGESIZE);
	uint8_t    *area = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t		enc[BM25_BLOCK_MAX_BYTES];
	int			failures = 0;
	long		blocks = 0;

	if (area == MAP_FAILED || mprotect(area + pagesz, pagesz, PROT_NONE) != 0)
	{
		perror("mmap");
		return 1;
	}
	for (int round = 0; round < 2000; round++)
	{
		int			n = 1 + round % BM25_BLOCK_SIZE;
		int			gapBits = round % 33;
		int			tfBits = (round / 33) % 33;
		uint32_t	docs[BM25_BLOCK_SIZE],
					tfs[BM25_BLOCK_SIZE],
					outDocs[BM25_BLOCK_SIZE],
					outTfs[BM25_BLOCK_SIZE];
		uint32_t	prev = (round & 1) ? BM25_NO_DOC : Rand32() % 1000;
		uint32_t	d = prev;
		uint32_t	maxTf = 0;
		uint64_t	room = (uint64_t) UINT32_MAX - 1 - (prev == BM25_NO_DOC ? 0 : prev);
		Bm25BlockHeader h;
		size_t		bytes;
		uint8_t    *data;

		/* gaps small enough that the last id stays below BM25_NO_DOC */
		if (gapBits == 32 || ((uint64_t) n << gapBits) > room)
			gapBits = 0;
		while (gapBits < 32 && ((uint64_t) n << (gapBits + 1)) <= room && round % 7 == 0)
			gapBits++;
		for (int i = 0; i < n; i++)
		{
			d = d + 1 + RandBits(gapBits);
			docs[i] = d;
			tfs[i] = 1 + RandBits(tfBits);
			if (tfs[i] == 0)
				tfs[i] = UINT32_MAX;
			if (tfs[i] > maxTf)
				maxTf = tfs[i];
		}
		bytes = Bm25EncodeBlock(docs, tfs, n, prev, &h, enc);
		if (bytes != Bm25BlockBytes(&h) || h.count != n || h.lastDoc != docs[n - 1] ||
			h.maxTf != maxTf || h.docBits > 32 || h.tfBits > 32)
		{
			fprintf(stderr, "round %d: header wrong (bytes %zu/%zu, count %d, last %u/%u, max %u/%u)\n",
					round, bytes, Bm25BlockBytes(&h), h.count, h.lastDoc, docs[n - 1],
					h.maxTf, maxTf);
			failures++;
			continue;
		}
		/* the encoded bytes end right before the unreadable page */
		data = area + pagesz - bytes;
		memcpy(data, enc, bytes);
		Bm25DecodeBlock(data, &h, prev, outDocs, outTfs);
		if (memcmp(docs, outDocs, sizeof(uint32_t) * n) != 0 ||
			memcmp(tfs, outTfs, sizeof(uint32_t) * n) != 0)
		{
			fprintf(stderr, "round %d: decoded block differs (n %d, bits %d/%d)\n",
					round, n, h.docBits, h.tfBits);
			failures++;
		}
		blocks++;
	}

	/* every width round-trips through the bit packer alone */
	for (int bits = 0; bits <= 32; bits++)
	{
		uint32_t	vals[77],
					out[77];
		uint8_t		packed[77 * 4];

		for (int i = 0; i < 77; i++)
			vals[i] = RandBits(bits);
		if (Bm25PackBits(vals, 77, bits, packed) != Bm25PackedBytes(77, bits) ||
			Bm25UnpackBits(packed, 77, bits, out) != Bm25PackedBytes(77, bits) ||
			memcmp(vals, out, sizeof(vals)) != 0)
		{
			fprintf(stderr, "bit width %d does not round-trip\n", bits);
			failures++;
		}
	}
	if (failures > 0)
	{
		fprintf(stderr, "bm25codec_test: %d failures\n", failures);
		return 1;
	}
	printf("bm25codec_test: %ld blocks and 33 bit widths round-trip\n", blocks);
	return 0;
}
