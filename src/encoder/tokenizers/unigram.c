/*-------------------------------------------------------------------------
 *
 * unigram.c
 *	  USE-lite's unigram tokenizer: a Viterbi over piece scores
 *
 * This reproduces, id for id, the tokenizer of @energetic-ai/embeddings
 * 0.2.0 (a copy of tfjs-models' Universal Sentence Encoder tokenizer), which
 * is not SentencePiece proper.  Its quirks are kept on purpose, because the
 * model was run with them (docs/use-lite.md, "Tokenizer"):
 *
 *	 1. NFKC (ICU), no lower-casing, no other cleaning.
 *	 2. Empty result -> no tokens.  Otherwise "\u2581" + text with every
 *		U+0020 (only that one) replaced by "\u2581"; runs are not collapsed.
 *	 3. Lattice over code points: every piece matching at position i is an
 *		arc; a position where no piece starts gets one unknown arc (id unk,
 *		score 0, one code point).  Reserved ids (unk_id and the "special"
 *		added_tokens, ids 0..5) are never matched.  A duplicated piece maps
 *		to its last id.
 *	 4. Viterbi in float64 where best[] starts at 0.0 and 0.0 doubles as
 *		"unset": an arc wins if best[end] == 0.0 or cand >= best[end]
 *		(ties go to the later start).  Arcs into an end are visited in
 *		ascending start order.
 *	 5. Backtrack by the code-point length of each chosen piece, then
 *		collapse runs of unknown ids into one.
 *
 * Truncation is the caller's max_tokens (the model clips at 128).  No
 * special tokens exist.
 *
 * Byte offsets (EncTokens start/end) point into the ORIGINAL input: the text
 * is normalised segment by segment, cutting where ICU reports a
 * normalisation boundary, so every normalised code point knows the original
 * bytes of the segment it came from.  A token spans from the start of its
 * first code point's segment to the end of its last one's.  When NFKC
 * composes or expands across characters (e.g. "e" + U+0301, "\uFB01"), the
 * token offsets cover the whole segment; the prepended "\u2581" has an empty
 * range at the start of the text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "encoder/format/json.h"
#include "encoder/tokenizers/unigram.h"

#define UNIGRAM_SPACE		0x2581	/* "LOWER ONE EIGHTH BLOCK", SentencePiece's space */
#define UNIGRAM_MAX_PIECE	64		/* longest piece accepted, in code points */
#define UNIGRAM_MAX_CODE_POINTS (PG_INT32_MAX / 8)	/* per text, after NFKC */

/* One entry of the open-addressing hash: 16 bytes, to stay cache-friendly */
typedef struct UnigramSlot
{
	uint32		hash;
	int32		id;				/* -1: empty slot, -2: only a prefix of pieces */
	uint32		off;			/* the bytes, in pool */
	int32		nbytes;
} UnigramSlot;

typedef struct UnigramState
{
	int			nvocab;
	int32		unk_id;
	int16	   *id_ncp;			/* code points of each id's piece */
	char	  **id_piece;		/* each id's piece, NUL-terminated, in pool */
	double	   *id_score;		/* each id's score (JSON null = 0.0) */
	char	   *pool;
	UnigramSlot *slots;
	uint32		mask;			/* slots - 1, a power of two minus one */
	uint32		nused;			/* entries in slots; at most half of them */
	int			max_ncp;		/* longest matchable piece, code points */
	const UNormalizer2 *nfkc;
} UnigramState;

/* Normalised text: code points with the original byte range of each */
typedef struct UnigramText
{
	int			n;
	int			cap;
	int32	   *cp;
	int		   *ostart;
	int		   *oend;
} UnigramText;

static EncTokens *UnigramEncode(EncTokenizer *tok, const char *text, int len,
								int max_tokens, bool with_specials);

static const char *UnigramPiece(EncTokenizer *tok, int32 id);

static const EncTokenizerOps UnigramOps = {
	.name = "unigram",
	.encode = UnigramEncode,
	.pad_id = 0,
	.piece = UnigramPiece,
};

#define FNV_OFFSET	2166136261u
#define FNV_PRIME	16777619u

/* FNV-1a over bytes, continuing from h (FNV_OFFSET to start) */
static inline uint32
HashBytes(uint32 h, const char *p, int n)
{
	for (int i = 0; i < n; i++)
		h = (h ^ (unsigned char) p[i]) * FNV_PRIME;
	return h;
}

/* Decode one UTF-8 character; invalid bytes decode as U+FFFD, one byte long */
static inline int32
DecodeUtf8(const unsigned char *s, int len, int *nbytes)
{
	int32		c;
	int			n;

	if (s[0] < 0x80)
	{
		*nbytes = 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0)
		n = 2, c = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3, c = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		n = 4, c = s[0] & 0x07;
	else
		n = 0, c = 0;
	if (n == 0 || n > len)
	{
		*nbytes = 1;
		return 0xFFFD;
	}
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
		{
			*nbytes = 1;
			return 0xFFFD;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	*nbytes = n;
	if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0xFFFD;
	return c;
}

/* Encode one code point as UTF-8; returns the byte count */
static inline int
EncodeUtf8(int32 c, char *out)
{
	if (c < 0x80)
	{
		out[0] = (char) c;
		return 1;
	}
	if (c < 0x800)
	{
		out[0] = (char) (0xC0 | (c >> 6));
		out[1] = (char) (0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000)
	{
		out[0] = (char) (0xE0 | (c >> 12));
		out[1] = (char) (0x80 | ((c >> 6) & 0x3F));
		out[2] = (char) (0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (c >> 18));
	out[1] = (char) (0x80 | ((c >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((c >> 6) & 0x3F));
	out[3] = (char) (0x80 | (c & 0x3F));
	return 4;
}

/* Count the code points of a UTF-8 string */
static int
CountCodePoints(const char *s, int len)
{
	int			n = 0;

	for (int i = 0; i < len;)
	{
		int			nb;

		(void) DecodeUtf8((const unsigned char *) s + i, len - i, &nb);
		i += nb;
		n++;
	}
	return n;
}

/*
 * Find the entry for UTF-8 bytes p[0..n) whose hash is h: a piece (id >= 0)
 * or a prefix of pieces (id -2); NULL if neither.
 */
static inline const UnigramSlot *
LookupPiece(const UnigramState *st, const char *p, int n, uint32 h)
{
	for (uint32 i = h & st->mask;; i = (i + 1) & st->mask)
	{
		const UnigramSlot *slot = &st->slots[i];

		if (slot->id == -1)
			return NULL;
		if (slot->hash == h && slot->nbytes == n &&
			memcmp(st->pool + slot->off, p, n) == 0)
			return slot;
	}
}

/* Double the hash table (entries keep their stored hashes) */
static void
GrowSlots(UnigramState *st)
{
	uint32		nslots = (st->mask + 1) * 2;
	UnigramSlot *old = st->slots;
	UnigramSlot *slots = palloc_extended(sizeof(UnigramSlot) * nslots, MCXT_ALLOC_HUGE);

	for (uint32 i = 0; i < nslots; i++)
		slots[i].id = -1;
	for (uint32 i = 0; old != NULL && i <= st->mask; i++)
	{
		uint32		j;

		if (old[i].id == -1)
			continue;
		for (j = old[i].hash & (nslots - 1); slots[j].id != -1; j = (j + 1) & (nslots - 1))
			;
		slots[j] = old[i];
	}
	if (old != NULL)
		pfree(old);
	st->slots = slots;
	st->mask = nslots - 1;
}

/*
 * Insert a piece (id >= 0; a later duplicate wins, as in the JS trie) or a
 * prefix (id -2; never overwrites an entry).
 */
static void
InsertPiece(UnigramState *st, const char *p, int n, int32 id)
{
	uint32		h = HashBytes(FNV_OFFSET, p, n);

	if ((st->nused + 1) * 2 > st->mask + 1)
		GrowSlots(st);
	for (uint32 i = h & st->mask;; i = (i + 1) & st->mask)
	{
		UnigramSlot *slot = &st->slots[i];

		if (slot->id == -1)
		{
			slot->hash = h;
			slot->off = p - st->pool;
			slot->nbytes = n;
			slot->id = id;
			st->nused++;
			return;
		}
		if (slot->hash == h && slot->nbytes == n &&
			memcmp(st->pool + slot->off, p, n) == 0)
		{
			if (id >= 0)
				slot->id = id;
			return;
		}
	}
}

/* Report a malformed tokenizer.json */
static void
BadTokenizer(const EncTokenizerSource *src, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid tokenizer file \"%s\"", src->tokenizer_json_path),
			 errdetail("%s", detail)));
}

/* Get an object member of a container, or NULL */
static JsonbValue *
GetMember(JsonbContainer *c, const char *key)
{
	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

/* Get a numeric JsonbValue as double; null counts as 0.0 (JS null + x) */
static bool
JsonbNumberOrNull(JsonbValue *v, double *out)
{
	if (v->type == jbvNull)
	{
		*out = 0.0;
		return true;
	}
	if (v->type != jbvNumeric)
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
	return true;
}

/* Mark the ids of special added_tokens as reserved */
static void
MarkSpecials(const EncTokenizerSource *src, JsonbContainer *root, bool *reserved, int nvocab)
{
	JsonbValue *added = GetMember(root, "added_tokens");
	int			n;

	if (added == NULL || added->type == jbvNull)
		return;
	if (added->type != jbvBinary || !JsonContainerIsArray(added->val.binary.data))
		BadTokenizer(src, "\"added_tokens\" is not an array.");
	n = JsonContainerSize(added->val.binary.data);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *tokv = getIthJsonbValueFromContainer(added->val.binary.data, i);
		JsonbValue *idv;
		JsonbValue *special;
		double		id;

		if (tokv->type != jbvBinary)
			BadTokenizer(src, "An \"added_tokens\" entry is not an object.");
		idv = GetMember(tokv->val.binary.data, "id");
		special = GetMember(tokv->val.binary.data, "special");
		if (idv == NULL || !JsonbNumberOrNull(idv, &id))
			BadTokenizer(src, "An \"added_tokens\" entry has no numeric \"id\".");
		if (special != NULL && special->type == jbvBool && special->val.boolean &&
			id >= 0 && id < nvocab)
			reserved[(int) id] = true;
	}
}

/* Build the tokenizer from tokenizer.json's "model": {"type": "Unigram"} */
EncTokenizer *
EncUnigramLoad(const EncTokenizerSource *src)
{
	Jsonb	   *tokenizer_json = src->tokenizer_json;
	JsonbContainer *root = &tokenizer_json->root;
	JsonbValue *m = GetMember(root, "model");
	JsonbContainer *mc;
	JsonbValue *vocabv;
	JsonbValue *unkv;
	JsonbContainer *vocab;
	UnigramState *st;
	EncTokenizer *tok;
	bool	   *reserved;
	Size		pool_used = 0;
	UErrorCode	status = U_ZERO_ERROR;
	double		unk;

	if (m == NULL || m->type != jbvBinary)
		BadTokenizer(src, "The \"model\" object is missing.");
	mc = m->val.binary.data;
	vocabv = GetMember(mc, "vocab");
	if (vocabv == NULL || vocabv->type != jbvBinary ||
		!JsonContainerIsArray(vocabv->val.binary.data))
		BadTokenizer(src, "\"model.vocab\" is not an array.");
	vocab = vocabv->val.binary.data;

	st = palloc0(sizeof(UnigramState));
	st->nvocab = JsonContainerSize(vocab);
	if (st->nvocab < 1 || st->nvocab > 2000000)
		BadTokenizer(src, "\"model.vocab\" has an unsupported size.");
	unkv = GetMember(mc, "unk_id");
	if (unkv == NULL || unkv->type == jbvNull)
		unk = 0;
	else if (!JsonbNumberOrNull(unkv, &unk) || unk < 0 || unk >= st->nvocab)
		BadTokenizer(src, "\"model.unk_id\" is not a valid id.");
	st->unk_id = (int32) unk;
	st->id_ncp = palloc0(sizeof(int16) * st->nvocab);
	st->id_piece = palloc0(sizeof(char *) * st->nvocab);
	/* every piece is a string inside the Jsonb, so this bounds them all */
	st->pool = MemoryContextAllocHuge(CurrentMemoryContext,
									  VARSIZE(tokenizer_json) + st->nvocab);
	reserved = palloc0(sizeof(bool) * st->nvocab);
	st->id_score = palloc(sizeof(double) * st->nvocab);
	reserved[st->unk_id] = true;
	MarkSpecials(src, root, reserved, st->nvocab);

	/* First pass: validate, copy the pieces and their scores */
	for (int i = 0; i < st->nvocab; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(vocab, i);
		JsonbValue *piece;
		JsonbValue *score;
		int			len;

		if (e->type != jbvBinary || !JsonContainerIsArray(e->val.binary.data) ||
			JsonContainerSize(e->val.binary.data) != 2)
			BadTokenizer(src, "A \"model.vocab\" entry is not a [piece, score] pair.");
		piece = getIthJsonbValueFromContainer(e->val.binary.data, 0);
		score = getIthJsonbValueFromContainer(e->val.binary.data, 1);
		if (piece->type != jbvString || !JsonbNumberOrNull(score, &st->id_score[i]))
			BadTokenizer(src, "A \"model.vocab\" entry is not a [piece, score] pair.");
		len = piece->val.string.len;
		st->id_piece[i] = st->pool + pool_used;
		memcpy(st->id_piece[i], piece->val.string.val, len);
		st->id_piece[i][len] = '\0';
		pool_used += len + 1;
		st->id_ncp[i] = Min(CountCodePoints(st->id_piece[i], len), PG_INT16_MAX);
		/* the unknown arc is one code point long, whatever the piece is */
		if (i == st->unk_id)
			st->id_ncp[i] = 1;
		if (len == 0 || st->id_ncp[i] > UNIGRAM_MAX_PIECE)
			reserved[i] = true;		/* never matched */
	}

	/*
	 * Second pass: hash every matchable piece and every proper prefix of
	 * one, so that matching stops as soon as no piece continues.
	 */
	st->mask = 511;				/* GrowSlots doubles it */
	/* sized for the ~2.3 entries per piece of USE-lite's vocabulary */
	while (st->mask < (uint32) st->nvocab * 5)
		st->mask = st->mask * 2 + 1;
	st->mask >>= 1;
	GrowSlots(st);
	for (int i = 0; i < st->nvocab; i++)
	{
		int			len = strlen(st->id_piece[i]);

		if (reserved[i])
			continue;
		for (int b = 0, ncp = 0; ncp < st->id_ncp[i] - 1; ncp++)
		{
			int			nb;

			(void) DecodeUtf8((const unsigned char *) st->id_piece[i] + b, len - b, &nb);
			b += nb;
			InsertPiece(st, st->id_piece[i], b, -2);
		}
		InsertPiece(st, st->id_piece[i], len, i);
		st->max_ncp = Max(st->max_ncp, st->id_ncp[i]);
	}

	st->nfkc = unorm2_getNFKCInstance(&status);
	if (U_FAILURE(status))
		ereport(ERROR,
				(errmsg("could not get the ICU NFKC normalizer: %s",
						u_errorName(status))));

	tok = palloc(sizeof(EncTokenizer));
	tok->ops = &UnigramOps;
	tok->state = st;
	pfree(reserved);
	return tok;
}

/* The piece string of an id (for embed_tokens), NULL when out of range */
static const char *
UnigramPiece(EncTokenizer *tok, int32 id)
{
	const UnigramState *st = tok->state;

	if (id < 0 || id >= st->nvocab)
		return NULL;
	return st->id_piece[id];
}

/* Append one normalised code point with its original byte range */
static inline void
TextAppend(UnigramText *t, int32 c, int ostart, int oend)
{
	if (t->n == t->cap)
	{
		/* byte offsets of the UTF-8 form are ints: stay below 2^31 / 4 */
		if (t->cap > UNIGRAM_MAX_CODE_POINTS / 2)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("text is too long to tokenize"),
					 errdetail("The normalized text has more than %d characters.",
							   UNIGRAM_MAX_CODE_POINTS)));
		t->cap *= 2;
		t->cp = repalloc_huge(t->cp, sizeof(int32) * t->cap);
		t->ostart = repalloc_huge(t->ostart, sizeof(int) * t->cap);
		t->oend = repalloc_huge(t->oend, sizeof(int) * t->cap);
	}
	t->cp[t->n] = c;
	t->ostart[t->n] = ostart;
	t->oend[t->n] = oend;
	t->n++;
}

/* NFKC-normalise one segment (code points src[0..n)) and append it */
static void
NormalizeSegment(const UnigramState *st, const int32 *src, int n,
				 int ostart, int oend, UnigramText *out)
{
	UChar		sbuf[64];
	UChar		dbuf[256];
	UChar	   *s = sbuf;
	UChar	   *d = dbuf;
	int			slen = 0;
	int			dcap = lengthof(dbuf);
	int			dlen;
	UErrorCode	status = U_ZERO_ERROR;

	if (n * 2 > (int) lengthof(sbuf))
		s = palloc(sizeof(UChar) * n * 2);
	for (int i = 0; i < n; i++)
		U16_APPEND_UNSAFE(s, slen, src[i]);
	dlen = unorm2_normalize(st->nfkc, s, slen, d, dcap, &status);
	if (status == U_BUFFER_OVERFLOW_ERROR)
	{
		status = U_ZERO_ERROR;
		dcap = dlen;
		d = palloc(sizeof(UChar) * dcap);
		dlen = unorm2_normalize(st->nfkc, s, slen, d, dcap, &status);
	}
	if (U_FAILURE(status))
		ereport(ERROR,
				(errmsg("unicode normalization failed: %s", u_errorName(status))));
	for (int i = 0; i < dlen;)
	{
		UChar32		c;

		U16_NEXT(d, i, dlen, c);
		TextAppend(out, c, ostart, oend);
	}
	if (s != sbuf)
		pfree(s);
	if (d != dbuf)
		pfree(d);
}

/*
 * Decode and NFKC-normalise the input, keeping original byte ranges.
 * ASCII-only segments are NFKC-stable, so they skip ICU.
 */
static void
NormalizeText(const UnigramState *st, const char *text, int len, UnigramText *out)
{
	int32	   *cps = palloc_extended(sizeof(int32) * ((Size) len + 1), MCXT_ALLOC_HUGE);
	int		   *offs = palloc_extended(sizeof(int) * ((Size) len + 1), MCXT_ALLOC_HUGE);
	int			n = 0;
	int			seg = 0;
	bool		seg_ascii = true;

	for (int i = 0; i < len;)
	{
		int			nb;

		cps[n] = DecodeUtf8((const unsigned char *) text + i, len - i, &nb);
		offs[n++] = i;
		i += nb;
	}
	offs[n] = len;

	out->cap = Max(16, n + n / 4 + 2);
	out->n = 0;
	out->cp = palloc_extended(sizeof(int32) * out->cap, MCXT_ALLOC_HUGE);
	out->ostart = palloc_extended(sizeof(int) * out->cap, MCXT_ALLOC_HUGE);
	out->oend = palloc_extended(sizeof(int) * out->cap, MCXT_ALLOC_HUGE);

	for (int i = 0; i <= n; i++)
	{
		/* A segment ends before a boundary character or at the end */
		if (i == n || (i > seg && unorm2_hasBoundaryBefore(st->nfkc, cps[i])))
		{
			if (seg_ascii)
			{
				for (int j = seg; j < i; j++)
					TextAppend(out, cps[j], offs[j], offs[j + 1]);
			}
			else
				NormalizeSegment(st, cps + seg, i - seg, offs[seg], offs[i], out);
			seg = i;
			seg_ascii = true;
			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (i < n && cps[i] >= 0x80)
			seg_ascii = false;
	}
	pfree(cps);
	pfree(offs);
}

/* Tokenize UTF-8 text: see the file header for the algorithm */
static EncTokens *
UnigramEncode(EncTokenizer *tok, const char *text, int len, int max_tokens,
			  bool with_specials)
{
	const UnigramState *st = tok->state;
	UnigramText t;
	EncTokens  *res = palloc0(sizeof(EncTokens));
	char	   *s;				/* "\u2581" + text, spaces replaced, UTF-8 */
	int		   *boff;			/* byte offset of each code point in s */
	int		   *ost;			/* original range of each code point of s */
	int		   *oen;
	double	   *best;
	int32	   *word;
	int32	   *rev;
	int		   *rev_pos;
	int			n;
	int			nrev = 0;
	int			ntok;

	if (len > UNIGRAM_MAX_CODE_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("text is too long to tokenize"),
				 errdetail("The text has %d bytes; the limit is %d.",
						   len, UNIGRAM_MAX_CODE_POINTS)));
	NormalizeText(st, text, len, &t);
	if (t.n == 0)
	{
		res->ids = palloc(sizeof(int32));
		res->start = palloc(sizeof(int));
		res->end = palloc(sizeof(int));
		return res;
	}

	/* Step 2: prepend the space marker, map U+0020 to it */
	n = t.n + 1;
	s = palloc_extended((Size) n * 4, MCXT_ALLOC_HUGE);
	boff = palloc_extended(sizeof(int) * (n + 1), MCXT_ALLOC_HUGE);
	ost = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE);
	oen = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE);
	boff[0] = 0;
	boff[1] = EncodeUtf8(UNIGRAM_SPACE, s);
	ost[0] = oen[0] = t.ostart[0];
	for (int i = 0; i < t.n; i++)
	{
		int32		c = t.cp[i] == ' ' ? UNIGRAM_SPACE : t.cp[i];

		boff[i + 2] = boff[i + 1] + EncodeUtf8(c, s + boff[i + 1]);
		ost[i + 1] = t.ostart[i];
		oen[i + 1] = t.oend[i];
	}

	/*
	 * Steps 4 and 5: Viterbi with the JS runtime's "0.0 means unset" rule.
	 * Walking starts in ascending order visits the arcs into every end in
	 * ascending start order, as the JS runtime does; best[start] is final
	 * by then.  A start where no piece matches gets the unknown arc.
	 */
	best = palloc_extended(sizeof(double) * (n + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	word = palloc_extended(sizeof(int32) * (n + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int start = 0; start < n; start++)
	{
		uint32		h = FNV_OFFSET;
		bool		matched = false;

		if ((start & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int l = 1; l <= st->max_ncp && start + l <= n; l++)
		{
			const UnigramSlot *p;
			int			end = start + l;

			h = HashBytes(h, s + boff[end - 1], boff[end] - boff[end - 1]);
			p = LookupPiece(st, s + boff[start], boff[end] - boff[start], h);
			if (p == NULL)
				break;			/* no piece continues this way */
			if (p->id >= 0)
			{
				double		cand = st->id_score[p->id] + best[start];

				matched = true;
				if (best[end] == 0.0 || cand >= best[end])
				{
					best[end] = cand;
					word[end] = p->id;
				}
			}
		}
		if (!matched)
		{
			double		cand = 0.0 + best[start];

			if (best[start + 1] == 0.0 || cand >= best[start + 1])
			{
				best[start + 1] = cand;
				word[start + 1] = st->unk_id;
			}
		}
	}

	/* Step 6: backtrack (reversed order), remembering where each token ends */
	rev = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	rev_pos = palloc_extended(sizeof(int) * (n + 1), MCXT_ALLOC_HUGE);
	rev_pos[0] = n;
	for (int i = n; i > 0;)
	{
		int			step = st->id_ncp[word[i]];

		if (step < 1 || step > i)
			elog(ERROR, "unigram backtrack out of range");
		rev[nrev] = word[i];
		i -= step;
		rev_pos[++nrev] = i;
	}

	/* Step 7: emit in order, collapsing runs of unknowns; then truncate */
	res->ids = palloc_extended(sizeof(int32) * nrev, MCXT_ALLOC_HUGE);
	res->start = palloc_extended(sizeof(int) * nrev, MCXT_ALLOC_HUGE);
	res->end = palloc_extended(sizeof(int) * nrev, MCXT_ALLOC_HUGE);
	ntok = 0;
	for (int k = nrev - 1; k >= 0; k--)
	{
		int			from = rev_pos[k + 1];	/* first code point of token */
		int			to = rev_pos[k];	/* one past its last */

		if (rev[k] == st->unk_id && ntok > 0 &&
			res->ids[ntok - 1] == st->unk_id)
		{
			res->end[ntok - 1] = oen[to - 1];
			continue;
		}
		if (max_tokens >= 0 && ntok >= max_tokens)
		{
			res->truncated = true;
			break;
		}
		res->ids[ntok] = rev[k];
		res->start[ntok] = ost[from];
		res->end[ntok] = oen[to - 1];
		ntok++;
	}
	res->n = ntok;

	pfree(s);
	pfree(boff);
	pfree(ost);
	pfree(oen);
	pfree(best);
	pfree(word);
	pfree(rev);
	pfree(rev_pos);
	pfree(t.cp);
	pfree(t.ostart);
	pfree(t.oend);
	return res;
}
