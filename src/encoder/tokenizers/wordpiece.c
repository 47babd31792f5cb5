/*-------------------------------------------------------------------------
 *
 * wordpiece.c
 *	  BERT tokenizer: basic (normalise, split) tokenizer + greedy WordPiece
 *
 * Follows the Hugging Face "tokenizers" BertNormalizer, BertPreTokenizer and
 * WordPiece model, the behaviour users get from a tokenizer.json:
 *
 *	1. clean: drop U+0000, U+FFFD and control characters (category C*
 *	   except tab, CR, LF); every white space character becomes a space
 *	2. CJK ideographs become words of their own
 *	3. uncased models: strip accents (ICU NFD, drop Mn marks), lower-case
 *	4. split on white space; each punctuation character (Unicode P* and the
 *	   ASCII symbols) is a word of its own
 *	5. each word: greedy longest-match against the vocabulary, pieces after
 *	   the first carry the "##" prefix; a word with an unmatched rest, or
 *	   longer than max_input_chars_per_word characters, becomes [UNK]
 *
 * [CLS]/[SEP]/[UNK] ids are looked up in the vocabulary, never assumed.
 *
 * WordLevel (static word-vector models) runs steps 1-4 the same way and
 * then looks each word up whole: a word not in the vocabulary is [UNK]
 * (the model's unk_token); no [CLS]/[SEP] are added.
 * Token offsets are byte ranges of the original (UTF-8) input.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "encoder/format/json.h"
#include "encoder/tokenizers/wordpiece.h"

typedef struct WordPiece
{
	int			nvocab;
	char	  **pieces;			/* id -> piece */
	int		   *lens;			/* id -> byte length of piece */
	int32	   *table;			/* open addressing: -1 or an id */
	uint32		mask;			/* table size - 1 */
	int32		cls_id;			/* -1: none (WordLevel) */
	int32		sep_id;
	int32		unk_id;
	bool		whole_words;	/* WordLevel: no pieces, no specials */
	char	   *prefix;			/* continuing subword prefix, "##" */
	int			prefix_len;
	int			max_word_chars; /* longer words become [UNK] */
	bool		lowercase;
	bool		strip_accents;
	bool		clean_text;
	bool		chinese_chars;
	const UNormalizer2 *nfd;
} WordPiece;

/* One normalised code point and the input bytes it came from */
typedef struct NormChar
{
	UChar32		c;
	int			start;
	int			end;
} NormChar;

/* FNV-1a hash of a byte string */
static inline uint32
HashBytes(const char *s, int len)
{
	uint32		h = 2166136261u;

	for (int i = 0; i < len; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619u;
	return h;
}

/* Id of a piece, or -1 */
static int32
Lookup(WordPiece *wp, const char *s, int len)
{
	uint32		i = HashBytes(s, len) & wp->mask;

	for (;;)
	{
		int32		id = wp->table[i];

		if (id < 0)
			return -1;
		if (wp->lens[id] == len && memcmp(wp->pieces[id], s, len) == 0)
			return id;
		i = (i + 1) & wp->mask;
	}
}

/* Add piece with id; the first occurrence of a duplicate piece wins */
static void
Insert(WordPiece *wp, int32 id)
{
	uint32		i = HashBytes(wp->pieces[id], wp->lens[id]) & wp->mask;

	while (wp->table[i] >= 0)
	{
		int32		o = wp->table[i];

		if (wp->lens[o] == wp->lens[id] &&
			memcmp(wp->pieces[o], wp->pieces[id], wp->lens[id]) == 0)
			return;
		i = (i + 1) & wp->mask;
	}
	wp->table[i] = id;
}

/* Size the hash table for nvocab pieces and fill it */
static void
BuildTable(WordPiece *wp)
{
	uint32		size = 1024;

	while (size < (uint32) wp->nvocab * 2)
		size <<= 1;
	wp->table = palloc(sizeof(int32) * size);
	memset(wp->table, 0xff, sizeof(int32) * size);
	wp->mask = size - 1;
	for (int i = 0; i < wp->nvocab; i++)
		if (wp->pieces[i] != NULL)
			Insert(wp, i);
}

/* Report a vocabulary problem */
static void
pg_attribute_noreturn()
VocabError(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid tokenizer vocabulary in file \"%s\"", path),
			 errdetail("%s", detail)));
}

/* Read vocab.txt: one piece per line, line number = id */
static void
ReadVocabTxt(WordPiece *wp, const char *path)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData line;
	int			cap = 32768;
	int			c;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	wp->pieces = palloc(sizeof(char *) * cap);
	wp->lens = palloc(sizeof(int) * cap);
	wp->nvocab = 0;
	initStringInfo(&line);
	for (;;)
	{
		c = getc(f);
		if (c == EOF && line.len == 0)
			break;
		if (c == '\n' || c == EOF)
		{
			/* tolerate CRLF files */
			if (line.len > 0 && line.data[line.len - 1] == '\r')
				line.data[--line.len] = '\0';
			if (pg_encoding_verifymbstr(PG_UTF8, line.data, line.len) != line.len)
				VocabError(path, psprintf("Line %d is not valid UTF-8.",
										  wp->nvocab + 1));
			if (wp->nvocab == cap)
			{
				if (cap >= 16 * 1024 * 1024)
					VocabError(path, "The vocabulary has too many lines.");
				cap *= 2;
				wp->pieces = repalloc(wp->pieces, sizeof(char *) * cap);
				wp->lens = repalloc(wp->lens, sizeof(int) * cap);
			}
			wp->pieces[wp->nvocab] = pnstrdup(line.data, line.len);
			wp->lens[wp->nvocab] = line.len;
			wp->nvocab++;
			resetStringInfo(&line);
			if (c == EOF)
				break;
			continue;
		}
		appendStringInfoChar(&line, (char) c);
	}
	if (ferror(f))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	FreeFile(f);
	if (wp->nvocab == 0)
		VocabError(path, "The vocabulary is empty.");
}

/* Read model.vocab of tokenizer.json: an object piece -> id */
static void
ReadVocabJson(WordPiece *wp, JsonbContainer *vocab, const char *path)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = JsonContainerSize(vocab);
	char	   *key = NULL;
	int			keylen = 0;

	if (!JsonContainerIsObject(vocab) || n == 0)
		VocabError(path, "model.vocab must be a non-empty object.");
	wp->nvocab = n;
	wp->pieces = palloc0(sizeof(char *) * n);
	wp->lens = palloc0(sizeof(int) * n);
	it = JsonbIteratorInit(vocab);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = v.val.string.val;
			keylen = v.val.string.len;
		}
		else if (tok == WJB_VALUE)
		{
			double		d;

			if (!EncJsonNumber(&v, &d) || d < 0 || d >= n || d != (int) d)
				VocabError(path, psprintf("Piece \"%.*s\" has an invalid id (ids must be 0 .. %d).",
										  keylen, key, n - 1));
			if (wp->pieces[(int) d] != NULL)
				VocabError(path, psprintf("Id %d is used twice.", (int) d));
			wp->pieces[(int) d] = pnstrdup(key, keylen);
			wp->lens[(int) d] = keylen;
		}
	}
}

/* A boolean setting: true/false, or dflt when absent or null */
static bool
JsonBool(JsonbContainer *obj, const char *key, bool dflt)
{
	JsonbValue	v;

	if (obj == NULL || !EncJsonGet(obj, key, &v) || v.type != jbvBool)
		return dflt;
	return v.val.boolean;
}

/* Id of a special token named in the config, or by its usual spelling */
static int32
SpecialId(WordPiece *wp, const char *name, const char *path)
{
	int32		id = Lookup(wp, name, strlen(name));

	if (id < 0)
		VocabError(path, psprintf("The vocabulary has no \"%s\" token.", name));
	return id;
}

/* Is c a CJK ideograph (the ranges BERT treats as single words)? */
static inline bool
IsCJK(UChar32 c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
		(c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* BERT's whitespace: space, tab, LF, CR and category Zs */
static inline bool
IsBertSpace(UChar32 c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		u_charType(c) == U_SPACE_SEPARATOR;
}

/* BERT's control characters: category C* except tab, LF, CR */
static inline bool
IsBertControl(UChar32 c)
{
	int8		t;

	if (c == '\t' || c == '\n' || c == '\r')
		return false;
	t = u_charType(c);
	return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_SURROGATE ||
		t == U_PRIVATE_USE_CHAR || t == U_UNASSIGNED;
}

/* BERT's punctuation: ASCII punctuation/symbols and Unicode P* */
static inline bool
IsBertPunct(UChar32 c)
{
	if (c < 128)
		return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
			(c >= 91 && c <= 96) || (c >= 123 && c <= 126);
	return u_ispunct(c);
}

/* Append code point c (from input bytes [start, end)) to the buffer */
static inline void
Push(NormChar **buf, int *n, int *cap, UChar32 c, int start, int end)
{
	if (*n == *cap)
	{
		*cap *= 2;
		*buf = repalloc(*buf, sizeof(NormChar) * *cap);
	}
	(*buf)[*n].c = c;
	(*buf)[*n].start = start;
	(*buf)[*n].end = end;
	(*n)++;
}

/*
 * Steps 1-3: normalise the input into code points with their source byte
 * ranges; CJK ideographs get spaces around them.
 */
static NormChar *
Normalize(WordPiece *wp, const char *text, int len, int *nout)
{
	int			cap = Max(len + 16, 64);
	NormChar   *buf = palloc(sizeof(NormChar) * cap);
	int			n = 0;
	int			pos = 0;

	while (pos < len)
	{
		int			start = pos;
		UChar32		c;
		int			clen = pg_utf_mblen((const unsigned char *) text + pos);
		UChar		tmp[32];
		int32		tlen;
		UErrorCode	err = U_ZERO_ERROR;

		if (clen > len - pos || !pg_utf8_islegal((const unsigned char *) text + pos, clen))
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 in text to tokenize")));
		c = utf8_to_unicode((const unsigned char *) text + pos);
		pos += clen;

		if ((pos & 4095) == 0)
			CHECK_FOR_INTERRUPTS();

		if (wp->clean_text)
		{
			if (c == 0 || c == 0xFFFD || IsBertControl(c))
				continue;
			if (IsBertSpace(c))
				c = ' ';
		}
		if (wp->chinese_chars && IsCJK(c))
		{
			Push(&buf, &n, &cap, ' ', start, pos);
			Push(&buf, &n, &cap, c, start, pos);
			Push(&buf, &n, &cap, ' ', start, pos);
			continue;
		}
		if (c < 128)
		{
			/* Fast path: ASCII has no accents, and lowercases 1:1 */
			if (wp->lowercase && c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			Push(&buf, &n, &cap, c, start, pos);
			continue;
		}

		/* Decompose (NFD) and drop nonspacing marks when stripping accents */
		if (wp->strip_accents)
		{
			tlen = unorm2_getDecomposition(wp->nfd, c, tmp, lengthof(tmp), &err);
			if (U_FAILURE(err) || tlen < 0)
			{
				tlen = 0;
				U16_APPEND_UNSAFE(tmp, tlen, c);
			}
		}
		else
		{
			tlen = 0;
			U16_APPEND_UNSAFE(tmp, tlen, c);
		}

		for (int i = 0; i < tlen;)
		{
			UChar32		d;
			UChar		low[8];
			UChar		one[2];
			int32		olen = 0;
			int32		llen;

			U16_NEXT(tmp, i, tlen, d);
			if (wp->strip_accents && u_charType(d) == U_NON_SPACING_MARK)
				continue;
			if (!wp->lowercase)
			{
				Push(&buf, &n, &cap, d, start, pos);
				continue;
			}
			/* Full lower-case mapping (may lengthen, e.g. U+0130) */
			U16_APPEND_UNSAFE(one, olen, d);
			err = U_ZERO_ERROR;
			llen = u_strToLower(low, lengthof(low), one, olen, "", &err);
			if (U_FAILURE(err))
				ereport(ERROR,
						(errmsg("case conversion failed: %s", u_errorName(err))));
			for (int k = 0; k < llen;)
			{
				UChar32		e;

				U16_NEXT(low, k, llen, e);
				Push(&buf, &n, &cap, e, start, pos);
			}
		}
	}
	*nout = n;
	return buf;
}

/* The result being built */
typedef struct TokOut
{
	EncTokens  *t;
	int			cap;			/* allocated entries of t's arrays */
	int			limit;			/* most tokens before the final [SEP], or -1 */
} TokOut;

/* Append a token to the result, growing its arrays */
static void
Emit(TokOut *o, int32 id, int start, int end)
{
	EncTokens  *t = o->t;

	if (t->n == o->cap)
	{
		o->cap *= 2;
		t->ids = repalloc_huge(t->ids, sizeof(int32) * o->cap);
		t->start = repalloc_huge(t->start, sizeof(int) * o->cap);
		t->end = repalloc_huge(t->end, sizeof(int) * o->cap);
	}
	t->ids[t->n] = id;
	t->start[t->n] = start;
	t->end[t->n] = end;
	t->n++;
}

/* No room for another piece? */
static inline bool
Full(TokOut *o)
{
	return o->limit >= 0 && o->t->n >= o->limit;
}

/*
 * Step 5 for one word w[0..nw): greedy longest-match pieces.  Returns
 * false when the result is full.
 */
static bool
EncodeWord(WordPiece *wp, NormChar *w, int nw, TokOut *t,
		   StringInfo key, int *boff)
{
	int			npieces = 0;
	int32	   *ids;
	int		   *ends;
	int			start = 0;
	char	   *scratch;

	if (wp->whole_words)
	{
		int32		id;

		resetStringInfo(key);
		for (int i = 0; i < nw; i++)
		{
			unsigned char u[8];

			unicode_to_utf8(w[i].c, u);
			appendBinaryStringInfo(key, (char *) u, pg_utf_mblen(u));
		}
		id = Lookup(wp, key->data, key->len);
		if (Full(t))
			return false;
		Emit(t, id >= 0 ? id : wp->unk_id, w[0].start, w[nw - 1].end);
		return true;
	}
	if (nw > wp->max_word_chars)
	{
		if (Full(t))
			return false;
		Emit(t, wp->unk_id, w[0].start, w[nw - 1].end);
		return true;
	}

	/* Word as UTF-8, with boff[i] = byte offset of char i */
	resetStringInfo(key);
	appendBinaryStringInfo(key, wp->prefix, wp->prefix_len);
	for (int i = 0; i < nw; i++)
	{
		unsigned char u[8];

		boff[i] = key->len - wp->prefix_len;
		unicode_to_utf8(w[i].c, u);
		appendBinaryStringInfo(key, (char *) u, pg_utf_mblen(u));
	}
	boff[nw] = key->len - wp->prefix_len;

	scratch = palloc(key->len + 1);
	memcpy(scratch, wp->prefix, wp->prefix_len);
	ids = palloc(sizeof(int32) * nw);
	ends = palloc(sizeof(int) * nw);
	while (start < nw)
	{
		int			end = nw;
		int32		id = -1;

		while (end > start)
		{
			const char *s = key->data + wp->prefix_len + boff[start];
			int			len = boff[end] - boff[start];

			if (start > 0)
			{
				/* "##" + rest, built in the scratch area after the word */
				memcpy(scratch + wp->prefix_len, s, len);
				id = Lookup(wp, scratch, len + wp->prefix_len);
			}
			else
				id = Lookup(wp, s, len);
			if (id >= 0)
				break;
			end--;
		}
		if (id < 0)
		{
			npieces = -1;		/* unmatched rest: the whole word is [UNK] */
			break;
		}
		ids[npieces] = id;
		ends[npieces] = end;
		npieces++;
		start = end;
	}

	if (npieces < 0)
	{
		if (Full(t))
			return false;
		Emit(t, wp->unk_id, w[0].start, w[nw - 1].end);
		return true;
	}
	start = 0;
	for (int p = 0; p < npieces; p++)
	{
		if (Full(t))
			return false;
		Emit(t, ids[p], w[start].start, w[ends[p] - 1].end);
		start = ends[p];
	}
	return true;
}

/* Is byte c ASCII white space (a safe place to cut the input)? */
static inline bool
IsAsciiSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * EncTokenizerOps.encode for WordPiece.  The input is normalised in
 * segments of about ENC_WP_SEGMENT bytes cut at ASCII white space, so a
 * long document costs memory and time only up to the truncation point.
 */
#define ENC_WP_SEGMENT 65536
#define ENC_WP_MAX_WORD_BYTES (1024 * 1024)

static EncTokens *
WordPieceEncode(EncTokenizer *tok, const char *text, int len, int max_tokens,
				bool with_specials)
{
	WordPiece  *wp = (WordPiece *) tok->state;
	TokOut		out;
	StringInfoData key;
	int		   *boff = palloc(sizeof(int) * (wp->max_word_chars + 2));
	int			pos = 0;

	out.t = palloc0(sizeof(EncTokens));
	out.cap = 64;
	out.t->ids = palloc(sizeof(int32) * out.cap);
	out.t->start = palloc(sizeof(int) * out.cap);
	out.t->end = palloc(sizeof(int) * out.cap);
	/* WordLevel vocabularies have no [CLS]/[SEP] */
	if (wp->whole_words)
		with_specials = false;
	/* Pieces allowed before the final [SEP] */
	out.limit = max_tokens < 0 ? -1 :
		(with_specials ? Max(max_tokens - 1, 1) : max_tokens);
	initStringInfo(&key);

	if (with_specials)
		Emit(&out, wp->cls_id, -1, -1);

	while (pos < len && !out.t->truncated)
	{
		int			end = pos + ENC_WP_SEGMENT;
		int			n;
		int			i = 0;
		NormChar   *chars;

		if (end >= len)
			end = len;
		else
		{
			/* Extend to white space so no word is cut (up to a limit) */
			int			lim = (len - end > ENC_WP_MAX_WORD_BYTES) ?
				end + ENC_WP_MAX_WORD_BYTES : len;

			while (end < lim && !IsAsciiSpace(text[end]))
				end++;
			/* Never cut inside a UTF-8 sequence */
			while (end < len && end > pos &&
				   ((unsigned char) text[end] & 0xC0) == 0x80)
				end--;
		}
		chars = Normalize(wp, text + pos, end - pos, &n);
		for (int k = 0; k < n; k++)
		{
			chars[k].start += pos;
			chars[k].end += pos;
		}
		while (i < n)
		{
			int			j;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (u_isUWhiteSpace(chars[i].c))
			{
				i++;
				continue;
			}
			j = i + 1;
			if (!IsBertPunct(chars[i].c))
				while (j < n && !u_isUWhiteSpace(chars[j].c) &&
					   !IsBertPunct(chars[j].c))
					j++;
			if (!EncodeWord(wp, chars + i, j - i, &out, &key, boff))
			{
				out.t->truncated = true;
				break;
			}
			i = j;
		}
		pfree(chars);
		pos = end;
	}
	if (with_specials && (max_tokens < 0 || max_tokens >= 2))
		Emit(&out, wp->sep_id, -1, -1);
	return out.t;
}

/* EncTokenizerOps.piece for WordPiece */
static const char *
WordPiecePiece(EncTokenizer *tok, int32 id)
{
	WordPiece  *wp = (WordPiece *) tok->state;

	if (id < 0 || id >= wp->nvocab)
		return NULL;
	return wp->pieces[id];
}

/* EncTokenizerOps.special_id for WordPiece and WordLevel */
static int32
WordPieceSpecialId(EncTokenizer *tok, EncSpecialToken which)
{
	WordPiece  *wp = (WordPiece *) tok->state;

	switch (which)
	{
		case ENC_TOKEN_CLS:
			return wp->cls_id;
		case ENC_TOKEN_SEP:
			return wp->sep_id;
		case ENC_TOKEN_UNK:
			return wp->unk_id;
	}
	return -1;
}

static const EncTokenizerOps WordPieceOps = {
	.name = "wordpiece",
	.encode = WordPieceEncode,
	.pad_id = 0,				/* padded positions are masked out */
	.piece = WordPiecePiece,
	.special_id = WordPieceSpecialId,
};

static const EncTokenizerOps WordLevelOps = {
	.name = "wordlevel",
	.encode = WordPieceEncode,
	.pad_id = 0,
	.piece = WordPiecePiece,
	.special_id = WordPieceSpecialId,
};

/*
 * Both loaders: the vocabulary and normaliser settings, from tokenizer.json
 * or (WordPiece only) vocab.txt.  Allocates in the current context (the
 * model's).
 */
static EncTokenizer *
LoadBasic(const EncTokenizerSource *src, bool whole_words)
{
	Jsonb	   *tokenizer_json = src->tokenizer_json;
	WordPiece  *wp = palloc0(sizeof(WordPiece));
	EncTokenizer *tok = palloc0(sizeof(EncTokenizer));
	char	   *path;
	char	   *cls = "[CLS]";
	char	   *sep = "[SEP]";
	char	   *unk = "[UNK]";
	JsonbContainer *tcfgc = src->tokenizer_config ? &src->tokenizer_config->root : NULL;
	UErrorCode	err = U_ZERO_ERROR;
	JsonbValue	v;
	char	   *s;

	wp->prefix = "##";
	wp->max_word_chars = 100;
	wp->clean_text = true;
	wp->chinese_chars = true;
	wp->lowercase = JsonBool(tcfgc, "do_lower_case", true);
	wp->strip_accents = wp->lowercase;
	if (tcfgc != NULL && EncJsonGet(tcfgc, "strip_accents", &v) && v.type == jbvBool)
		wp->strip_accents = v.val.boolean;
	if (tcfgc && (s = EncJsonGetString(tcfgc, "cls_token")) != NULL)
		cls = s;
	if (tcfgc && (s = EncJsonGetString(tcfgc, "sep_token")) != NULL)
		sep = s;
	if (tcfgc && (s = EncJsonGetString(tcfgc, "unk_token")) != NULL)
		unk = s;

	if (tokenizer_json != NULL)
	{
		JsonbContainer *root = &tokenizer_json->root;
		JsonbContainer *m = EncJsonGetContainer(root, "model");
		JsonbContainer *norm = EncJsonGetContainer(root, "normalizer");
		JsonbContainer *vocab = m ? EncJsonGetContainer(m, "vocab") : NULL;

		path = pstrdup(src->tokenizer_json_path);
		if (vocab == NULL)
			VocabError(path, "model.vocab is missing.");
		ReadVocabJson(wp, vocab, path);
		if ((s = EncJsonGetString(m, "unk_token")) != NULL)
			unk = s;
		if ((s = EncJsonGetString(m, "continuing_subword_prefix")) != NULL)
			wp->prefix = s;
		if (EncJsonGet(m, "max_input_chars_per_word", &v))
		{
			double		d;

			if (EncJsonNumber(&v, &d) && d >= 1 && d <= 1000000)
				wp->max_word_chars = (int) d;
		}
		if (whole_words)
		{
			JsonbContainer *pre = EncJsonGetContainer(root, "pre_tokenizer");

			s = pre ? EncJsonGetString(pre, "type") : NULL;
			if (pre != NULL && (s == NULL || strcmp(s, "BertPreTokenizer") != 0))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("unsupported tokenizer pre_tokenizer in file \"%s\"", path),
						 errdetail("Pre-tokenizer type \"%s\" is not supported with WordLevel; only \"BertPreTokenizer\" is.",
								   s ? s : "(missing)")));
			if (EncJsonGetString(m, "unk_token") == NULL)
				VocabError(path, "model.unk_token is missing.");
		}
		if (norm != NULL)
		{
			s = EncJsonGetString(norm, "type");
			if (s == NULL || strcmp(s, "BertNormalizer") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("unsupported tokenizer normalizer in file \"%s\"", path),
						 errdetail("Normalizer type \"%s\" is not supported; only \"BertNormalizer\" is.",
								   s ? s : "(missing)")));
			wp->clean_text = JsonBool(norm, "clean_text", true);
			wp->chinese_chars = JsonBool(norm, "handle_chinese_chars", true);
			wp->lowercase = JsonBool(norm, "lowercase", true);
			/* strip_accents null means "same as lowercase" */
			wp->strip_accents = JsonBool(norm, "strip_accents", wp->lowercase);
		}
	}
	else
	{
		path = pstrdup(src->vocab_txt_path);
		ReadVocabTxt(wp, path);
	}
	wp->prefix_len = strlen(wp->prefix);
	wp->whole_words = whole_words;
	BuildTable(wp);
	wp->cls_id = whole_words ? -1 : SpecialId(wp, cls, path);
	wp->sep_id = whole_words ? -1 : SpecialId(wp, sep, path);
	wp->unk_id = SpecialId(wp, unk, path);

	wp->nfd = unorm2_getNFDInstance(&err);
	if (U_FAILURE(err))
		ereport(ERROR,
				(errmsg("could not get ICU NFD normalizer: %s", u_errorName(err))));

	tok->ops = whole_words ? &WordLevelOps : &WordPieceOps;
	tok->state = wp;
	return tok;
}

/*
 * Load a WordPiece tokenizer from tokenizer.json (model.vocab and the
 * BertNormalizer settings) or from vocab.txt (+ tokenizer_config.json's
 * do_lower_case, default true as in BertTokenizer)
 */
EncTokenizer *
EncWordPieceLoad(const EncTokenizerSource *src)
{
	return LoadBasic(src, false);
}

/* Load a WordLevel tokenizer from tokenizer.json */
EncTokenizer *
EncWordLevelLoad(const EncTokenizerSource *src)
{
	if (src->tokenizer_json == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("WordLevel tokenizer needs file \"%s\"", src->tokenizer_json_path)));
	return LoadBasic(src, true);
}
