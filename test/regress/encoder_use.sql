-- Default model (USE-lite): tokenizer quirks, embedding properties, NULLs,
-- batching, truncation.  Needs no node: the reference values below were
-- checked by hand against docs/use-lite.md and the JS
-- runtime's outputs (test/parity covers the full comparison).

-- The installed default model
SELECT name, dims, architecture, max_tokens, pooling, "normalize", error
FROM semvec_models WHERE name = 'default';

-- Tokenizer: case-sensitive pieces, byte offsets into the input
SELECT * FROM embed_tokens('Hello world.');
SELECT array_agg(id) FROM embed_tokens('hello world');
-- every extra space is its own token, including a trailing one
SELECT array_agg(id) FROM embed_tokens('   ');
-- JS quirk: best = 0.0 counts as unset, so ":" is [▁, :], not [▁:]
SELECT array_agg(id) FROM embed_tokens(':');
-- ":30" (score +30) wins; the duplicated piece "”5" maps to its last id
SELECT array_agg(id) FROM embed_tokens('10:30');
SELECT array_agg(id) FROM embed_tokens('”5');
-- unknown characters collapse into one unknown (id 0) token
SELECT array_agg(id) FROM embed_tokens('北京是中国的首都。');
SELECT * FROM embed_tokens('x 🍕🍕 y');
-- NFKC: the ligature becomes "fi", offsets still point at the ligature
SELECT * FROM embed_tokens('ﬁne');
-- composed accent: "e" + U+0301 is "é" after NFKC
SELECT * FROM embed_tokens('Cafe' || U&'\0301');
SELECT array_agg(id) FROM embed_tokens('Café');
SELECT count(*) FROM embed_tokens('');

-- Embeddings: 512 dimensions, unit norm, deterministic
SELECT vector_dims(embed('hello')), round(vector_norm(embed('hello'))::numeric, 6);
SELECT l2_distance(embed('hello'), embed('hello')) = 0 AS same;
-- golden values (JS runtime: -0.0473 -0.0582 -0.0044 -0.0496)
SELECT array(SELECT round(x::numeric, 4) FROM unnest((string_to_array(
	trim(both '[]' FROM embed('Hello world.')::text), ','))[1:4]::float8[]) x);

-- Semantics: paraphrases are closer than unrelated sentences
SELECT cosine_distance(embed('How old are you?'), embed('What is your age?')) <
	   cosine_distance(embed('How old are you?'),
					   embed('Stock markets fell sharply today after the central bank raised interest rates.'))
	   AS paraphrase_closer;
SELECT cosine_distance(embed('The cat sat on the mat.'), embed('A cat was sitting on the mat.')) <
	   cosine_distance(embed('The cat sat on the mat.'), embed('I would like to eat something.'))
	   AS cat_closer;
-- case matters (the model is case-sensitive), but only a little
SELECT l2_distance(embed('hello world'), embed('Hello World')) > 0.01 AS differs,
	   cosine_distance(embed('hello world'), embed('Hello World')) < 0.5 AS close;

-- Empty input: the well-defined all-padding vector l2norm(tanh(bt))
SELECT round(vector_norm(embed(''))::numeric, 6),
	   array(SELECT round(x::numeric, 4) FROM unnest((string_to_array(
		   trim(both '[]' FROM embed('')::text), ','))[1:4]::float8[]) x);

-- NULL in, NULL out
SELECT embed(NULL::text) IS NULL AS null_text;
SELECT e IS NULL AS is_null FROM unnest(embed(ARRAY['a', NULL, 'b'])) e;

-- Batches mixing lengths and an empty string equal one-at-a-time results
WITH t(i, s) AS (VALUES (1, 'Hello world.'), (2, ''), (3, repeat('the quick brown fox ', 40)),
					   (4, 'A'), (5, '¿Dónde está la biblioteca?'), (6, '   ')),
	 b AS (SELECT embed(array_agg(s ORDER BY i)) AS e FROM t)
SELECT i, l2_distance(b.e[i], embed(s)) < 1e-5 AS batch_equals_single
FROM t, b ORDER BY i;

-- Only the first 128 tokens count: "the " is one token per word
SELECT count(*) FROM embed_tokens(repeat('the ', 300));
SELECT l2_distance(embed(repeat('the ', 300)), embed(rtrim(repeat('the ', 128)))) < 1e-6
	   AS truncated_to_128;
SELECT l2_distance(embed(repeat('the ', 300)), embed(rtrim(repeat('the ', 127)))) > 1e-4
	   AS token_128_counts;

-- semvec.blas_threads splits large products over threads; the dense
-- products give identical results, OpenBLAS's attention products may round
-- differently
CREATE TEMP TABLE bt AS
SELECT i, e FROM unnest(embed(array(SELECT repeat('word' || i || ' ', 1 + i % 40)
									 FROM generate_series(1, 40) i)))
	WITH ORDINALITY AS u(e, i);
SET semvec.blas_threads = 3;
SELECT count(*) AS rows, max(l2_distance(bt.e, u.e2)) < 1e-6 AS close
FROM bt, unnest(embed(array(SELECT repeat('word' || i || ' ', 1 + i % 40)
							FROM generate_series(1, 40) i))) WITH ORDINALITY AS u(e2, j)
WHERE bt.i = u.j;
RESET semvec.blas_threads;
-- a short query's products are split too (over kept worker threads)
CREATE TEMP TABLE one AS SELECT embed('PostgreSQL is a powerful open source relational database.') AS e;
SET semvec.blas_threads = 2;
SELECT l2_distance(e, embed('PostgreSQL is a powerful open source relational database.')) < 1e-6
	   AS short_query_same_with_threads,
	   l2_distance(e, embed('PostgreSQL is a powerful open source relational database!')) > 1e-4
	   AS other_text_differs
FROM one;
RESET semvec.blas_threads;

-- semvec.simd governs the encoder's kernels too: below avx2 the packed
-- products give way to sgemm on plain weights, made for a model loaded at
-- a higher level; every level agrees to float rounding
DO $$
DECLARE
	lvl text;
	tested int := 0;
	worst float8 := 0;
BEGIN
	FOREACH lvl IN ARRAY ARRAY['avx512', 'avx2', 'portable', 'scalar'] LOOP
		BEGIN
			PERFORM set_config('semvec.simd', lvl, false);
		EXCEPTION WHEN invalid_parameter_value THEN
			CONTINUE;			-- this CPU cannot run it
		END;
		SELECT greatest(worst, max(l2_distance(bt.e, u.e2))) INTO worst
		FROM bt, unnest(embed(array(SELECT repeat('word' || i || ' ', 1 + i % 40)
									FROM generate_series(1, 40) i))) WITH ORDINALITY AS u(e2, j)
		WHERE bt.i = u.j;
		SELECT greatest(worst, l2_distance(e, embed('PostgreSQL is a powerful open source relational database.')))
			INTO worst FROM one;
		tested := tested + 1;
	END LOOP;
	PERFORM set_config('semvec.simd', 'auto', false);
	RAISE NOTICE 'levels tested: %, all within 1e-5: %', tested >= 2, worst < 1e-5;
END $$;
