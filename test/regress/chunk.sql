-- chunk_words(), chunk_chars() and chunk(): boundaries, offsets, overlap,
-- long sentences, non-Latin text, empty input and argument errors.

-- Every chunk must be exactly substr(doc, char_start, char_end - char_start + 1)
CREATE FUNCTION offsets_ok(doc text, c text, s int, e int) RETURNS boolean
	LANGUAGE sql IMMUTABLE AS $$ SELECT substr(doc, s, e - s + 1) = c $$;

-- sentences packed greedily (6 words), overlap of whole trailing units
SELECT * FROM chunk_words('Hello world. This is a test. Mr. Smith went to Washington. He saw 3.5 apples!  Another one here?', 6, 0);
SELECT * FROM chunk_words('Hello world. This is a test. Mr. Smith went to Washington. He saw 3.5 apples!  Another one here?', 6, 2);
-- a sentence longer than the budget is split at words; overlap is words
SELECT * FROM chunk_words('one two three four five six seven eight nine ten eleven twelve thirteen. Short one.', 5, 2);
-- whole sentences as overlap when they fit
SELECT * FROM chunk_words('A b. C d. E f. G h. I j.', 4, 2);
-- paragraphs and line breaks end sentences; whitespace never starts or ends a chunk
SELECT ord, chunk, char_start, char_end, n_tokens FROM chunk_words(E'  Title line\n\nFirst para has words.\nSecond line   \n', 4, 0);
-- non-Latin scripts, combining marks and emoji: offsets are characters
SELECT c.*, offsets_ok(d, c.chunk, c.char_start, c.char_end)
FROM (VALUES ('Grüße aus Köln. 日本語の文です。次の文です。 Emoji 👍🏽 here 🎉. Fin.')) v(d),
     chunk_words(d, 3, 1) c;
SELECT c.*, offsets_ok(d, c.chunk, c.char_start, c.char_end)
FROM (VALUES ('Это первое предложение. Это второе!')) v(d), chunk_words(d, 3, 0, 'ru') c;
-- empty and blank input give no rows
SELECT count(*) FROM chunk_words('', 5);
SELECT count(*) FROM chunk_words(E' \n\t  ', 5);
SELECT count(*) FROM chunk_words(NULL, 5);
-- argument errors
SELECT * FROM chunk_words('x', 0);
SELECT * FROM chunk_words('x', 5, 5);
SELECT * FROM chunk_words('x', 5, -1);
SELECT * FROM chunk_words('x', 5, 0, 'en/../../x');

-- chunk_chars: LangChain RecursiveCharacterTextSplitter semantics
SELECT * FROM chunk_chars(E'Para one is here.\n\nPara two line one.\nLine two is longer. Has two sentences.', 20, 5);
SELECT * FROM chunk_chars('abcdefghij', 4, 1);
SELECT * FROM chunk_chars('The quick brown fox jumps over the lazy dog', 15, 5);
SELECT c.*, offsets_ok(d, c.chunk, c.char_start, c.char_end)
FROM (VALUES ('αβγδε ζηθικ λμνξο 👍🏽👍🏽')) v(d), chunk_chars(d, 4, 0) c;
SELECT count(*) FROM chunk_chars('', 10);
SELECT * FROM chunk_chars('x', 0);
SELECT * FROM chunk_chars('x', 10, 10);

-- chunk() with the default model (USE-lite: no special tokens, max 128)
SELECT * FROM chunk('Hello world. This is a test. Mr. Smith went to Washington. He saw 3.5 apples!  Another one here?', 12, 4);
-- n_tokens is what embed() sees: the model's own token count of the chunk
SELECT c.ord, c.n_tokens, (SELECT count(*) FROM embed_tokens(c.chunk)) AS model_tokens,
       offsets_ok(d, c.chunk, c.char_start, c.char_end)
FROM (VALUES (repeat('PostgreSQL is an object-relational database system. It uses and extends SQL. ', 12))) v(d),
     chunk(d, 40, 8) c;
-- default max_tokens is the model's max length; every chunk fits it
SELECT count(*) AS chunks, max(n_tokens) <= 128 AS fits, bool_and(offsets_ok(d, c.chunk, c.char_start, c.char_end))
FROM (VALUES (repeat('The quick brown fox jumps over the lazy dog. ', 100))) v(d), chunk(d) c;
-- a word longer than max_tokens is cut between tokens, never inside a character
SELECT c.ord, c.chunk, c.n_tokens, offsets_ok(d, c.chunk, c.char_start, c.char_end)
FROM (VALUES ('Short. Pneumonoultramicroscopicsilicovolcanoconiosis' || 'ünd' || 'Antidisestablishmentarianism.')) v(d),
     chunk(d, 6, 0) c;
-- CJK: the model maps runs of unknown characters to one token
SELECT c.*, offsets_ok(d, c.chunk, c.char_start, c.char_end)
FROM (VALUES ('北京是中国的首都。東京は日本の首都です。')) v(d), chunk(d, 4, 0, NULL, 'ja') c;
SELECT count(*) FROM chunk('');
SELECT count(*) FROM chunk(NULL);
SELECT * FROM chunk('x', 0);
SELECT * FROM chunk('x', 10, 10);
-- terse: the hint names the installation's model directory
\set VERBOSITY terse
SELECT * FROM chunk('x', model => 'no_such_model');
\set VERBOSITY default

-- Properties on pseudo-random documents, for several budgets: offsets are
-- exact, n_tokens fits and equals the model's own count, chunks move
-- forward, and every non-space character is in some chunk.
SELECT setseed(0.42);
CREATE TEMP TABLE rdocs AS
SELECT i, (SELECT string_agg((ARRAY['alpha', 'beta', 'Gamma.', 'delta!', 'ε', '日本語。',
                                    E'\n\n', 'x?', 'supercalifragilisticexpialidocious', '👍🏽'])
                             [1 + floor(random() * 10)::int], ' ')
           FROM generate_series(1, 10 + i * 7 + 0 * i)) AS d
FROM generate_series(1, 30) i;
CREATE TEMP TABLE cfg (m int, o int, words boolean);
INSERT INTO cfg VALUES (4, 0, false), (8, 2, false), (20, 5, false), (64, 16, false),
                       (3, 1, true), (10, 4, true);
CREATE TEMP TABLE rchunks AS
SELECT cfg.*, r.i, r.d, c.*
FROM cfg, rdocs r,
     LATERAL (SELECT * FROM chunk(r.d, cfg.m, cfg.o) WHERE NOT cfg.words
              UNION ALL
              SELECT * FROM chunk_words(r.d, cfg.m, cfg.o) WHERE cfg.words) c;
SELECT m, o, words, count(*) > 30 AS many,
       bool_and(offsets_ok(d, chunk, char_start, char_end)) AS offsets,
       bool_and(n_tokens <= m) AS fits,
       bool_and(words OR n_tokens = (SELECT count(*) FROM embed_tokens(chunk))) AS model_count
FROM rchunks GROUP BY m, o, words ORDER BY words, m;
-- chunks move forward: each starts after the previous one started, ord is 1..n
SELECT count(*) AS not_forward FROM (
	SELECT m, o, words, i, ord, char_start,
	       lag(char_start) OVER w AS prev_start, lag(ord) OVER w AS prev_ord
	FROM rchunks WINDOW w AS (PARTITION BY m, o, words, i ORDER BY ord)) z
WHERE prev_start IS NOT NULL AND (char_start <= prev_start OR ord <> prev_ord + 1);
-- coverage: no non-space character is left out
SELECT count(*) AS uncovered FROM cfg, rdocs r, generate_series(1, length(r.d)) p
WHERE substr(r.d, p, 1) !~ '\s'
  AND NOT EXISTS (SELECT 1 FROM rchunks c WHERE c.m = cfg.m AND c.o = cfg.o AND c.words = cfg.words
                  AND c.i = r.i AND p BETWEEN c.char_start AND c.char_end);
-- one enormous word: cut between tokens in bounded windows (was quadratic
-- in time and memory); every chunk fits and together they cover the word
SELECT count(*) AS chunks, max(n_tokens) <= 128 AS fits,
       sum(length(chunk)) = 20000 AS covers, bool_and(chunk ~ '^x+$') AS only_x
FROM chunk(repeat('x', 20000));
