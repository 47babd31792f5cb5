/*-------------------------------------------------------------------------
 *
 * bm25codec.h
 *	  Posting blocks of the bm25 index: delta + bit-packing (pure C)
 *
 * A term's postings are cut into blocks of BM25_BLOCK_SIZE documents.  A
 * block is stored as a header (kept apart, so that a scan can skip blocks
 * without touching their data) and packed data:
 *
 *	 docs: n values of docBits bits: the gap to the previous document
 *	       minus one (the first block's first value is the document id)
 *	 tfs:  n values of tfBits bits: term frequency minus one
 *
 * each section padded to a whole byte, values packed from the low bit.
 * The header also carries the block's largest frequency and smallest
 * document length, from which a scan bounds the score of every document
 * in the block (Block-Max WAND).
 *
 * No PostgreSQL headers: the codec is unit-tested on its own
 * (test/unit/bm25codec_test.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_BM25CODEC_H
#define SEMVEC_BM25CODEC_H

#include <stddef.h>
#include <stdint.h>

#define BM25_BLOCK_SIZE		128
#define BM25_NO_DOC			UINT32_MAX

typedef struct Bm25BlockHeader
{
	uint32_t	lastDoc;		/* last document of the block */
	uint32_t	dataOff;		/* its data: offset from the term's first header */
	uint32_t	maxTf;			/* largest term frequency in the block */
	uint32_t	minLen;			/* smallest document length in the block */
	uint8_t		count;			/* documents, 1..BM25_BLOCK_SIZE */
	uint8_t		docBits;
	uint8_t		tfBits;
	uint8_t		unused;
} Bm25BlockHeader;

/* Bits needed for a value */
static inline int
Bm25BitsFor(uint32_t v)
{
	return v == 0 ? 0 : 32 - __builtin_clz(v);
}

/* Bytes of n values packed at the given width */
static inline size_t
Bm25PackedBytes(int n, int bits)
{
	return ((size_t) n * bits + 7) / 8;
}

/* Bytes of a block's data */
static inline size_t
Bm25BlockBytes(const Bm25BlockHeader *h)
{
	return Bm25PackedBytes(h->count, h->docBits) + Bm25PackedBytes(h->count, h->tfBits);
}

extern size_t Bm25PackBits(const uint32_t *vals, int n, int bits, uint8_t *out);
extern size_t Bm25UnpackBits(const uint8_t *in, int n, int bits, uint32_t *out);

/*
 * Encode n (1..BM25_BLOCK_SIZE) ascending documents and their frequencies
 * (>= 1) following prevDoc (BM25_NO_DOC for a term's first block); fills
 * the header except dataOff and minLen; returns the bytes written to out
 * (at most Bm25BlockMaxBytes).
 */
extern size_t Bm25EncodeBlock(const uint32_t *docs, const uint32_t *tfs, int n,
							  uint32_t prevDoc, Bm25BlockHeader *h, uint8_t *out);
/* Decode a block written by Bm25EncodeBlock */
extern void Bm25DecodeBlock(const uint8_t *in, const Bm25BlockHeader *h, uint32_t prevDoc,
							uint32_t *docs, uint32_t *tfs);

#define BM25_BLOCK_MAX_BYTES	(2 * 4 * BM25_BLOCK_SIZE)

#endif							/* SEMVEC_BM25CODEC_H */
