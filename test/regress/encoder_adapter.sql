-- Adapters trained in SQL: the model base+name, listed, usable, removable;
-- deterministic for a seed; argument and pairs-query errors.
SET client_min_messages = warning;
CREATE TABLE adapter_pairs(q text, d text);
INSERT INTO adapter_pairs VALUES
 ('how old are you', 'I am 30 years old'), ('what is your age', 'my age is thirty'),
 ('where do you live', 'I live in Paris'), ('what city are you from', 'I come from Lyon'),
 ('what do you eat', 'I eat bread'), ('favourite food', 'I like pasta'),
 ('what is your job', 'I work as a nurse'), ('occupation', 'I am a teacher'),
 ('how old are you', 'my age is thirty');
CREATE TABLE adapter_corpus AS
  SELECT embed(t) AS emb FROM (VALUES ('the weather is nice'), ('I am 30 years old'),
    ('stock prices fell'), ('a recipe for soup'), ('the train was late')) v(t);

CALL train_adapter('toy', pairs => 'SELECT q, d FROM adapter_pairs', epochs => 5,
                   validation => 0, corpus => 'SELECT emb FROM adapter_corpus', seed => 7);
SELECT name, base_model, dims, cardinality(query_map), doc_map IS NULL AS no_doc_map, pairs,
       settings->>'epochs' AS epochs, validation->>'epochs_run' AS epochs_run,
       validation->>'train_queries' AS train_queries
FROM semvec_adapters;
SELECT name, dims, architecture, max_tokens, normalize, path, error
FROM semvec_models WHERE name LIKE 'default+%';

-- the model maps the base vector and normalises it; adapt() does the same
SELECT round(vector_norm(embed('how old are you', 'default+toy'))::numeric, 5) AS norm,
       embed('how old are you', 'default+toy') <-> adapt(embed('how old are you'), 'default+toy') < 1e-5 AS same,
       embed('how old are you', 'default+toy') <-> embed('how old are you') > 1e-4 AS changed;
SELECT embed(ARRAY['how old are you', NULL], 'default+toy') IS NOT NULL AS batch;

-- deterministic for a seed; the pairs' row order does not matter
CREATE TEMP TABLE m1 AS SELECT query_map FROM semvec_adapters WHERE name = 'toy';
CALL train_adapter('toy', pairs => 'SELECT q, d FROM adapter_pairs ORDER BY d DESC', epochs => 5,
                   validation => 0, corpus => 'SELECT emb FROM adapter_corpus', seed => 7, replace => true);
SELECT (SELECT query_map FROM m1) = query_map AS same_map FROM semvec_adapters WHERE name = 'toy';
CALL train_adapter('toy', pairs => 'SELECT q, d FROM adapter_pairs', epochs => 5,
                   validation => 0, corpus => 'SELECT emb FROM adapter_corpus', seed => 8, replace => true);
SELECT (SELECT query_map FROM m1) = query_map AS same_map FROM semvec_adapters WHERE name = 'toy';

-- a document map: a second model base+name:doc
CALL train_adapter('toy2', pairs => 'SELECT q, embed(d) FROM adapter_pairs', epochs => 3,
                   validation => 0.25, document_map => true, seed => 1);
SELECT name, architecture FROM semvec_models WHERE name LIKE 'default+toy2%' ORDER BY name;
SELECT vector_dims(embed('I am a teacher', 'default+toy2:doc')) AS dims;

-- errors
CALL train_adapter('toy', pairs => 'SELECT q, d FROM adapter_pairs');
CALL train_adapter('bad name', pairs => 'SELECT q, d FROM adapter_pairs');
CALL train_adapter('x', pairs => 'SELECT q FROM adapter_pairs');
CALL train_adapter('x', pairs => 'SELECT q, 1 FROM adapter_pairs');
CALL train_adapter('x', pairs => 'DELETE FROM adapter_pairs');
CALL train_adapter('x', pairs => 'SELECT q, d FROM adapter_pairs LIMIT 1');
CALL train_adapter('x', pairs => 'SELECT q, embed(d, ''glove-100d'') FROM adapter_pairs');
CALL train_adapter('x', pairs => 'SELECT q, d FROM adapter_pairs', corpus => 'SELECT 1');
CALL train_adapter('x', pairs => 'SELECT q, d FROM adapter_pairs', base_model => 'default+toy');
\set VERBOSITY terse
CALL train_adapter('x', pairs => 'SELECT q, d FROM adapter_pairs', base_model => 'no-such-model');
\set VERBOSITY default
CALL train_adapter('x', pairs => 'SELECT q, d FROM adapter_pairs', temperature => 0);
CALL train_adapter('x', pairs => 'SELECT q, d FROM adapter_pairs', validation => 0.9);
CALL train_adapter('x', pairs => NULL);
SELECT embed('x', 'default+nosuch');
SELECT embed('x', 'glove-100d+toy');
SELECT embed('x', 'default+toy:doc');
SELECT embed('x', 'default+toy+more');
SELECT adapt(embed('x'), 'default');
SELECT adapt(embed('x', 'glove-100d'), 'default+toy');

-- removal
SELECT drop_adapter('toy'), drop_adapter('toy2'), drop_adapter('toy', if_exists => true);
SELECT drop_adapter('toy');
SELECT count(*) FROM semvec_models WHERE name LIKE 'default+%';
DROP TABLE adapter_pairs, adapter_corpus;
