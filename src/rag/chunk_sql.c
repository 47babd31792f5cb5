/*-------------------------------------------------------------------------
 *
 * chunk_sql.c
 *	  SQL-callable chunkers: chunk_words(), chunk_chars() (chunk() is in
 *	  chunk_model.c)
 *
 * Every chunker returns rows (ord, chunk, char_start, char_end, n_tokens):
 *	 ord         1, 2, ... in text order
 *	 char_start  1-based character position of the chunk's first character
 *	 char_end    1-based character position of its last character
 *	             (inclusive), so substr(doc, char_start,
 *	             char_end - char_start + 1) = chunk
 *	 n_tokens    tokens of the chunk as one model input (NULL for
 *	             chunk_chars)
 *
 * The splitters work on UTF-8; text in another server encoding is
 * converted first and each chunk back.  Character positions are the same
 * in both encodings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "rag/chunk_recursive_chars.h"
#include "rag/chunk_sentences.h"
#include "rag/chunk_sql.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(chunk_words);
PG_FUNCTION_INFO_V1(chunk_chars);

/* Character index of a byte position, walking from a cached position */
typedef struct CharCursor
{
	const char *text;
	int			byte;
	int			chr;			/* 0-based character index of byte */
} CharCursor;

/* Move the cursor to byte pos (a character boundary) and return its index */
static int
CursorMove(CharCursor *c, int pos)
{
	while (c->byte < pos)
	{
		c->byte++;
		if (((unsigned char) c->text[c->byte] & 0xC0) != 0x80)
			c->chr++;
	}
	while (c->byte > pos)
	{
		if (((unsigned char) c->text[c->byte] & 0xC0) != 0x80)
			c->chr--;
		c->byte--;
	}
	return c->chr;
}

/* Return the UTF-8 bytes of a text datum (converted when needed) */
char *
ChunkInputUtf8(text *doc, int *len)
{
	char	   *s = VARDATA_ANY(doc);
	int			n = VARSIZE_ANY_EXHDR(doc);
	char	   *u;

	if (GetDatabaseEncoding() == PG_UTF8)
	{
		*len = n;
		return s;
	}
	u = pg_server_to_any(s, n, PG_UTF8);
	*len = (u == s) ? n : strlen(u);
	return u;
}

/* Validate a break iterator locale name and return it */
char *
ChunkLocaleArg(text *t)
{
	char	   *loc = text_to_cstring(t);

	if (strlen(loc) == 0 || strlen(loc) > CHUNK_MAX_LOCALE ||
		strspn(loc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-@=;") != strlen(loc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid locale \"%s\"", loc),
				 errdetail("A locale is an ICU locale name such as \"en\", \"de_CH\" or \"ja\".")));
	return loc;
}

/* Raise an error unless 0 <= overlap < max */
void
ChunkCheckSizes(const char *maxname, int max, const char *ovname, int overlap)
{
	if (max <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", maxname),
				 errdetail("Got %d.", max)));
	if (overlap < 0 || overlap >= max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and %s - 1", ovname, maxname),
				 errdetail("Got %s = %d with %s = %d.", ovname, overlap, maxname, max)));
}

/* Return the chunks as rows of the calling SRF (materialize mode) */
void
ChunkReturnRows(FunctionCallInfo fcinfo, const char *utf8, ChunkSpan *spans,
				int n, bool with_tokens)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CharCursor	cur = {utf8, 0, 0};
	bool		convert = GetDatabaseEncoding() != PG_UTF8;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		int			len = spans[i].end - spans[i].start;
		const char *s = utf8 + spans[i].start;
		int			last;

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(i + 1);
		if (convert)
		{
			char	   *conv = pg_any_to_server(s, len, PG_UTF8);

			values[1] = PointerGetDatum(cstring_to_text(conv));
		}
		else
			values[1] = PointerGetDatum(cstring_to_text_with_len(s, len));
		values[2] = Int32GetDatum(CursorMove(&cur, spans[i].start) + 1);
		/* the last character starts at the last non-continuation byte */
		last = spans[i].end - 1;
		while (last > spans[i].start && ((unsigned char) utf8[last] & 0xC0) == 0x80)
			last--;
		values[3] = Int32GetDatum(CursorMove(&cur, last) + 1);
		if (with_tokens)
			values[4] = Int32GetDatum(spans[i].n_tokens);
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Words (runs of non-space characters) in the text; their ends if asked */
static int
CountWords(void *arg, const char *text, int len, int **ends)
{
	int			n = 0;
	int			p = 0;
	int		   *e = ends ? palloc((len + 1) * sizeof(int)) : NULL;

	while (p < len)
	{
		int			clen;

		while (p < len && ChunkIsSpace(text + p, len - p, &clen))
			p += clen;
		if (p >= len)
			break;
		while (p < len && !ChunkIsSpace(text + p, len - p, &clen))
			p += clen;
		if (e)
			e[n] = p;
		n++;
	}
	if (ends)
		*ends = e;
	return n;
}

/* Words of the text as one input (no special tokens) */
static int
CountWordsFull(void *arg, const char *text, int len)
{
	return CountWords(arg, text, len, NULL);
}

/*
 * chunk_words(doc, max_words, overlap_words, locale): chunk() with words
 * instead of model tokens, for budgets in words and model-free tests.
 */
Datum
chunk_words(PG_FUNCTION_ARGS)
{
	text	   *doc = PG_GETARG_TEXT_PP(0);
	int			max = PG_GETARG_INT32(1);
	int			overlap = PG_GETARG_INT32(2);
	char	   *locale = ChunkLocaleArg(PG_GETARG_TEXT_PP(3));
	ChunkCounter ctr = {CountWords, CountWordsFull, NULL, 0};
	ChunkSpan  *spans;
	int			n;
	int			len;
	char	   *utf8;

	ChunkCheckSizes("max_words", max, "overlap_words", overlap);
	utf8 = ChunkInputUtf8(doc, &len);
	spans = ChunkText(utf8, len, max, overlap, locale, &ctr, &n);
	ChunkReturnRows(fcinfo, utf8, spans, n, true);
	return (Datum) 0;
}

/* chunk_chars(doc, size, overlap): recursive character splitter */
Datum
chunk_chars(PG_FUNCTION_ARGS)
{
	text	   *doc = PG_GETARG_TEXT_PP(0);
	int			size = PG_GETARG_INT32(1);
	int			overlap = PG_GETARG_INT32(2);
	ChunkSpan  *spans;
	int			n;
	int			len;
	char	   *utf8;

	ChunkCheckSizes("size", size, "overlap", overlap);
	utf8 = ChunkInputUtf8(doc, &len);
	spans = ChunkChars(utf8, len, size, overlap, &n);
	ChunkReturnRows(fcinfo, utf8, spans, n, false);
	return (Datum) 0;
}
