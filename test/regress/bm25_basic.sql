-- bm25: the index, its operator and options, scores on a hand-checked corpus,
-- prepared statements, planner choices, errors
SET jit = off;
-- EXPLAIN with the bound index's OID masked
CREATE FUNCTION explain_masked(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT regexp_replace(l, '''\d+''::oid', '''<index>''::oid');
	END LOOP;
END $$;

CREATE TABLE docs (id int PRIMARY KEY, body text);
INSERT INTO docs VALUES
	(1, 'The quick brown fox jumps over the lazy dog'),
	(2, 'A fox is a fox'),
	(3, 'Dogs and cats living together'),
	(4, 'nothing to see here'),
	(5, NULL),
	(6, 'the and of'),              -- stop words only: not indexed, like NULL
	(7, 'Foxes! Foxes everywhere, and one dog.');
CREATE INDEX docs_body ON docs USING bm25 (body);

-- What the index parsed: documents with at least one lexeme, their lengths
SELECT * FROM bm25_tokenize('Foxes! Foxes everywhere, and one dog.') ORDER BY term;
SELECT documents, total_length, round(avg_length::numeric, 4) AS avg_length, segments,
	pending_documents, text_config FROM bm25_stats('docs_body');
SELECT bm25_check('docs_body');

-- N = 5, avgdl = 19/5; idf = ln(1 + (N - df + 0.5) / (df + 0.5))
SELECT term, query_tf, df, round(idf::numeric, 6) AS idf, round(weight::numeric, 6) AS weight
FROM bm25_query_terms('docs_body', 'fox dog fox');

-- The top rows by BM25; the operator's value is the negated score.
-- Doc 2 ('fox fox', length 2; 'fox' twice in the query):
-- 2 * ln(1 + 2.5 / 3.5) * 2 * (1.2 + 1) / (2 + 1.2 * (1 - 0.75 + 0.75 * 2 / 3.8))
SELECT round((2 * ln(1 + 2.5 / 3.5) * 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 2 / 3.8)))::numeric, 6)
	AS doc2_by_hand;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY body <@> 'fox dog fox' LIMIT 3;
SELECT id, round((body <@> 'fox dog fox')::numeric, 6) AS distance,
	round(bm25_score(body, 'fox dog fox')::numeric, 6) AS score
FROM docs ORDER BY body <@> 'fox dog fox' LIMIT 10;
-- Only rows that hold a query term come out of the index
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> 'cat' LIMIT 10) s;
-- A query without lexemes (empty, stop words) matches nothing
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> 'the of' LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> '' LIMIT 10) s;
-- A NULL query: NULL for every row, so no order at all (and no index)
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY body <@> NULL::text LIMIT 10;

-- The same ranking without the index (sort of the operator's values)
RESET enable_seqscan;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY body <@> 'fox dog fox' LIMIT 3;
SELECT id, round((body <@> 'fox dog fox')::numeric, 6) AS distance
FROM docs ORDER BY body <@> 'fox dog fox', id LIMIT 10;
RESET enable_indexscan;

-- Parameters and prepared statements (custom and generic plans)
SET enable_seqscan = off;
PREPARE q(text, int) AS SELECT id, round(-(body <@> $1)::numeric, 6) AS score
	FROM docs ORDER BY body <@> $1 LIMIT $2;
EXECUTE q('fox', 2);
EXECUTE q('dog', 5);
SET plan_cache_mode = force_generic_plan;
PREPARE g(text) AS SELECT id FROM docs ORDER BY body <@> $1 LIMIT 3;
SELECT explain_masked('EXECUTE g(''fox'')');
EXECUTE g('fox');
EXECUTE g('cats');
RESET plan_cache_mode;
DEALLOCATE q;
DEALLOCATE g;
-- A query held in a table column
CREATE TABLE qs (q text);
INSERT INTO qs VALUES ('fox'), ('dog cat'), ('see');
SELECT q, ARRAY(SELECT id FROM docs ORDER BY body <@> qs.q LIMIT 3) FROM qs ORDER BY q;

-- Inserts after the build go to the pending list and are found at once
INSERT INTO docs VALUES (8, 'fox fox fox fox'), (9, 'a lazy cat');
SELECT documents, pending_documents FROM bm25_stats('docs_body');
SELECT id, round(-(body <@> 'fox')::numeric, 6) AS score FROM docs ORDER BY body <@> 'fox' LIMIT 3;
SELECT bm25_check('docs_body');
RESET enable_seqscan;

-- Naming the index explicitly; bm25_score outside an index scan
SELECT id, round(bm25_score(body, to_bm25query('fox', 'docs_body'))::numeric, 6) AS score
FROM docs WHERE id IN (1, 2, 8) ORDER BY id;
SELECT to_bm25query('some query')::text, 'some query'::bm25query::text;

-- No bm25 index to score with
CREATE TABLE plain (body text);
INSERT INTO plain VALUES ('fox');
SELECT body <@> 'fox' FROM plain;
SELECT bm25_score('a fox', 'fox');
SELECT to_bm25query('fox', 'docs_pkey');

-- varchar columns and expression indexes
CREATE TABLE vdocs (id int, title varchar(100), body varchar(1000));
INSERT INTO vdocs SELECT id, 'title ' || id, body FROM docs WHERE body IS NOT NULL;
CREATE INDEX vdocs_body ON vdocs USING bm25 (body);
CREATE INDEX vdocs_both ON vdocs USING bm25 ((title || ' ' || body));
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM vdocs ORDER BY body <@> 'fox' LIMIT 3;
SELECT id FROM vdocs ORDER BY body <@> 'fox' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM vdocs ORDER BY (title || ' ' || body) <@> 'title 7' LIMIT 3;
SELECT id, round(-((title || ' ' || body) <@> 'title 7')::numeric, 6) AS score
FROM vdocs ORDER BY (title || ' ' || body) <@> 'title 7' LIMIT 3;
RESET enable_seqscan;

-- Options: text_config, k1, b
CREATE INDEX docs_simple ON docs USING bm25 (body) WITH (text_config = 'simple', k1 = 2.0, b = 0.5);
SELECT text_config, documents, total_length FROM bm25_stats('docs_simple');
-- the 'simple' configuration keeps stop words and does not stem
SELECT term, df FROM bm25_query_terms('docs_simple', 'foxes the');
-- k1 and b apply to queries at once (blocks store frequencies, not scores)
SELECT round(bm25_score(body, to_bm25query('fox', 'docs_simple'))::numeric, 6) FROM docs WHERE id = 2;
ALTER INDEX docs_simple SET (k1 = 1.2, b = 0.75);
SELECT round(bm25_score(body, to_bm25query('fox', 'docs_simple'))::numeric, 6) FROM docs WHERE id = 2;
-- the configuration cannot change without a rebuild
ALTER INDEX docs_simple SET (text_config = 'english');
SELECT bm25_score(body, to_bm25query('fox', 'docs_simple')) FROM docs WHERE id = 2;
REINDEX INDEX docs_simple;
SELECT text_config FROM bm25_stats('docs_simple');
DROP INDEX docs_simple;

-- Bad options and columns
CREATE INDEX ON docs USING bm25 (body) WITH (text_config = 'no_such_config');
CREATE INDEX ON docs USING bm25 (body) WITH (k1 = -1);
CREATE INDEX ON docs USING bm25 (body) WITH (b = 1.5);
CREATE INDEX ON docs USING bm25 (body) WITH (nonsense = 1);
CREATE INDEX ON docs USING bm25 (id);
CREATE INDEX ON docs USING bm25 (id, body);
SELECT bm25_check('docs_pkey');

-- The index depends on its text search configuration
CREATE TEXT SEARCH CONFIGURATION my_cfg (COPY = english);
CREATE INDEX docs_mycfg ON docs USING bm25 (body) WITH (text_config = 'my_cfg');
DROP TEXT SEARCH CONFIGURATION my_cfg;
DROP TEXT SEARCH CONFIGURATION my_cfg CASCADE;

-- Unlogged and temporary tables
CREATE UNLOGGED TABLE udocs AS SELECT * FROM docs;
CREATE INDEX udocs_body ON udocs USING bm25 (body);
SELECT id FROM udocs ORDER BY body <@> 'fox' LIMIT 2;
CREATE TEMP TABLE tdocs AS SELECT * FROM docs;
CREATE INDEX tdocs_body ON tdocs USING bm25 (body);
INSERT INTO tdocs VALUES (10, 'fox');
SELECT id FROM tdocs ORDER BY body <@> 'fox' LIMIT 2;
SELECT bm25_check('tdocs_body');

-- An empty table, then rows
CREATE TABLE empty (body text);
CREATE INDEX empty_body ON empty USING bm25 (body);
SELECT count(*) FROM (SELECT * FROM empty ORDER BY body <@> 'x' LIMIT 5) s;
SELECT * FROM bm25_stats('empty_body');
INSERT INTO empty VALUES ('x marks the spot');
SELECT body FROM empty ORDER BY body <@> 'x' LIMIT 5;
SELECT bm25_check('empty_body');

DROP TABLE docs, qs, plain, vdocs, udocs, tdocs, empty;
DROP FUNCTION explain_masked(text);
