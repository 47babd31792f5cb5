-- embed(text) is IMMUTABLE, so no setting may change its result: an
-- expression index or a generated column built under one value would
-- silently disagree with queries made under another.  The one-argument
-- forms therefore always mean the installed "default" model folder:
-- there is no semvec.default_model, and semvec.model_path (superuser)
-- cannot shadow the name "default".

CREATE TABLE imm (id int PRIMARY KEY, t text,
				  e vector(512) GENERATED ALWAYS AS (embed(t)) STORED);
INSERT INTO imm (id, t) VALUES
	(1, 'The quick brown fox jumps over the lazy dog.'),
	(2, 'PostgreSQL stores rows in heap pages.'),
	(3, 'Vectors are compared by cosine distance.');
CREATE INDEX imm_expr ON imm USING hnsw ((embed(t)::vector(512)) vector_cosine_ops);

-- the setting that used to pick the one-argument forms' model is gone
SET semvec.default_model = 'some-other-model';

-- a folder named "default" in semvec.model_path is not the default model
-- (this one is not even a loadable model: it would fail if it were used)
\! mkdir -p "$PG_ABS_BUILDDIR/encoder_default_models/default" && echo '{"model_type": "bert"}' > "$PG_ABS_BUILDDIR/encoder_default_models/default/config.json"
\getenv builddir PG_ABS_BUILDDIR
SELECT set_config('semvec.model_path', :'builddir' || '/encoder_default_models', false)
	IS NOT NULL AS model_path_set;

-- stored vectors, the expression index and fresh calls still agree
SELECT count(*) AS rows_unchanged FROM imm WHERE e = embed(t);
SELECT bool_and(embed(t) = embed(t, 'default')) AS one_arg_is_installed_default FROM imm;
SET enable_seqscan = off;
CREATE TEMP TABLE q AS SELECT embed('a fast brown fox')::vector(512) AS v;
EXPLAIN (COSTS OFF)
SELECT id FROM imm ORDER BY embed(t)::vector(512) <=> (SELECT v FROM q) LIMIT 1;
SELECT id FROM imm ORDER BY embed(t)::vector(512) <=> (SELECT v FROM q) LIMIT 1;
RESET enable_seqscan;
SELECT (embed(ARRAY['PostgreSQL stores rows in heap pages.']))[1] = e AS array_form_agrees
FROM imm WHERE id = 2;

-- the other "no model given" functions use the same model, so that
-- token budgets and embeddings agree
SELECT (SELECT array_agg(id) FROM embed_tokens('Hello world.'))
	 = (SELECT array_agg(id) FROM embed_tokens('Hello world.', 'default')) AS tokens_agree;
SELECT (SELECT array_agg(n_tokens) FROM chunk('One sentence. Another one here.', 4, 0))
	 = (SELECT array_agg(n_tokens) FROM chunk('One sentence. Another one here.', 4, 0, 'default'))
	AS chunk_agrees;

-- semvec_models shows the ignored folder and says why
SELECT name, dims, error IS NULL AS loads,
	   regexp_replace(error, '"/[^"]*"', '"..."') AS error
FROM semvec_models WHERE name = 'default' ORDER BY error IS NULL DESC;

RESET semvec.model_path;
DROP TABLE imm;
