-- bm25: N, total length and document frequencies under INSERT, UPDATE,
-- DELETE and VACUUM.  Rows deleted or updated away still count until
-- VACUUM removes them from the index (the index cannot see MVCC); VACUUM
-- takes them out of every statistic and reclaims their pages (INDEX_CLEANUP
-- ON: a VACUUM that finds few dead rows may skip the indexes).
SET jit = off;
CREATE TABLE docs (id int PRIMARY KEY, body text) WITH (autovacuum_enabled = off);
INSERT INTO docs SELECT i, 'apple ' || CASE WHEN i % 2 = 0 THEN 'banana ' ELSE '' END ||
	CASE WHEN i % 10 = 0 THEN 'cherry cherry' ELSE 'date' END
FROM generate_series(1, 1000) i;
CREATE INDEX docs_body ON docs USING bm25 (body);

-- What the statistics should be: over the rows the index holds
CREATE VIEW expected AS
SELECT count(*) AS documents,
	sum((SELECT sum(tf) FROM bm25_tokenize(body, 'english'))) AS total_length
FROM docs;
CREATE FUNCTION df(t text) RETURNS bigint LANGUAGE sql AS
	$$ SELECT df FROM bm25_query_terms('docs_body', t) $$;

SELECT documents, total_length FROM bm25_stats('docs_body');
SELECT * FROM expected;
SELECT df('apple') AS apple, df('banana') AS banana, df('cherry') AS cherry, df('date') AS date;

-- DELETE: the rows still count until VACUUM
DELETE FROM docs WHERE id > 600;
SELECT documents, total_length FROM bm25_stats('docs_body');
SELECT df('banana') AS banana, df('cherry') AS cherry;
-- but the scan does not return them
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> 'cherry' LIMIT 1000) s;
VACUUM (INDEX_CLEANUP ON) docs;
SELECT documents, total_length FROM bm25_stats('docs_body');
SELECT * FROM expected;
SELECT df('apple') AS apple, df('banana') AS banana, df('cherry') AS cherry, df('date') AS date;
SELECT bm25_check('docs_body');

-- UPDATE of the indexed column: a new entry, the old one counts until VACUUM
UPDATE docs SET body = 'elderberry ' || body WHERE id <= 100;
SELECT documents, total_length, pending_documents FROM bm25_stats('docs_body');
SELECT df('apple') AS apple, df('elderberry') AS elderberry;
VACUUM (INDEX_CLEANUP ON) docs;
SELECT documents, total_length, pending_documents FROM bm25_stats('docs_body');
SELECT * FROM expected;
SELECT df('apple') AS apple, df('elderberry') AS elderberry;
SELECT bm25_check('docs_body');

-- An UPDATE of another column that cannot be HOT (the pages are full)
-- adds index entries too; the old ones count until VACUUM
ALTER TABLE docs ADD COLUMN note text;
UPDATE docs SET note = 'x' WHERE id <= 50;
SELECT documents FROM bm25_stats('docs_body');
VACUUM (INDEX_CLEANUP ON) docs;
SELECT documents FROM bm25_stats('docs_body');

-- Scores after VACUUM are those of the live rows only: N = 600
SELECT round(idf::numeric, 6) = round(ln(1 + (600 - 60 + 0.5) / (60 + 0.5))::numeric, 6) AS cherry_idf
FROM bm25_query_terms('docs_body', 'cherry');

-- Freed pages are reused: delete and insert the same rows again and again
SELECT pg_relation_size('docs_body') AS size0 \gset
DO $$
BEGIN
	FOR r IN 1..5 LOOP
		DELETE FROM docs WHERE id > 300;
		INSERT INTO docs SELECT i, 'apple fig ' || i FROM generate_series(301, 600) i;
	END LOOP;
END $$;
VACUUM (INDEX_CLEANUP ON) docs;
SELECT documents, total_length FROM bm25_stats('docs_body');
SELECT * FROM expected;
SELECT pg_relation_size('docs_body') <= 3 * :size0 AS size_bounded;
SELECT bm25_check('docs_body');
DELETE FROM docs WHERE id > 300;
INSERT INTO docs SELECT i, 'apple fig ' || i FROM generate_series(301, 600) i;
VACUUM (INDEX_CLEANUP ON) docs;
DELETE FROM docs WHERE id > 300;
INSERT INTO docs SELECT i, 'apple fig ' || i FROM generate_series(301, 600) i;
VACUUM (INDEX_CLEANUP ON) docs;
DELETE FROM docs WHERE id > 300;
INSERT INTO docs SELECT i, 'apple fig ' || i FROM generate_series(301, 600) i;
VACUUM (INDEX_CLEANUP ON) docs;
SELECT pg_relation_size('docs_body') <= 3 * :size0 AS size_still_bounded;

-- Everything deleted: an empty index
DELETE FROM docs;
VACUUM (INDEX_CLEANUP ON) docs;
SELECT documents, total_length, segments, pending_documents FROM bm25_stats('docs_body');
SELECT bm25_check('docs_body');
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> 'apple' LIMIT 10) s;
INSERT INTO docs VALUES (1, 'apple again');
SELECT id FROM docs ORDER BY body <@> 'apple' LIMIT 10;

-- TRUNCATE: a fresh empty index
TRUNCATE docs;
SELECT documents FROM bm25_stats('docs_body');
SELECT bm25_check('docs_body');

DROP VIEW expected;
DROP FUNCTION df(text);
DROP TABLE docs;
