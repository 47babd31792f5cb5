-- hnsw: VACUUM frees deleted elements' slots and inserts reuse them, so an
-- index under a steady delete/insert load stops growing
CREATE TABLE ru (id serial PRIMARY KEY, v vector(8));
CREATE FUNCTION ru_vec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT (SELECT array_agg(sin(i * 0.37 + d * 1.3) + cos(i * 0.011 * d) ORDER BY d)
			FROM generate_series(1, 8) d)::real[]::vector $$;
INSERT INTO ru (v) SELECT ru_vec(i) FROM generate_series(1, 3000) i;
CREATE INDEX ru_v ON ru USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
SELECT pg_relation_size('ru_v') AS size0 \gset

-- Four rounds: delete a third, VACUUM, insert as many new rows
DELETE FROM ru WHERE id % 3 = 0;
VACUUM ru;
INSERT INTO ru (v) SELECT ru_vec(i) FROM generate_series(3001, 4000) i;
DELETE FROM ru WHERE id % 3 = 1;
VACUUM ru;
INSERT INTO ru (v) SELECT ru_vec(i) FROM generate_series(4001, 5000) i;
DELETE FROM ru WHERE id % 3 = 2;
VACUUM ru;
INSERT INTO ru (v) SELECT ru_vec(i) FROM generate_series(5001, 6000) i;
DELETE FROM ru WHERE id % 5 = 0;
VACUUM ru;
INSERT INTO ru (v) SELECT ru_vec(i) FROM generate_series(6001, 6500) i;

SELECT count(*) FROM ru;
-- Without reuse the index would hold 6,500 elements, over twice its size
SELECT pg_relation_size('ru_v') <= :size0 * 1.15 AS size_stable;
SET client_min_messages = warning;
SELECT hnsw_check('ru_v');
RESET client_min_messages;

-- The index finds old and new rows: nearly every row's own vector finds it
-- (or an identical vector) first.  Not always all: after heavy deletes a
-- few elements can sit in local minima of the graph (with or without slot
-- reuse), as in any HNSW implementation
SET enable_seqscan = off;
SET hnsw.ef_search = 100;
SELECT count(*) FILTER (WHERE (SELECT v <-> r.v FROM ru ORDER BY v <-> r.v LIMIT 1) = 0)
	>= 0.9 * count(*) AS finds_itself
FROM ru r WHERE r.id % 11 = 1;
-- recall@10 against an exact search.  The graph is random (insert levels),
-- and after these delete rounds recall at ef_search 100 ranged 0.85-1.0
-- over runs (it failed CI once); at 400 it stayed at 0.975-1.0
SET hnsw.ef_search = 400;
SELECT round(avg((SELECT count(*) FROM
	(SELECT id FROM ru ORDER BY v <-> q.v LIMIT 10) a
	JOIN (SELECT id FROM ru ORDER BY (v <-> q.v) + 0 LIMIT 10) e USING (id)))::numeric / 10, 1) >= 0.9
	AS recall_ok
FROM (SELECT ru_vec(i) AS v FROM generate_series(10001, 10040) i) q;

RESET enable_seqscan;
RESET hnsw.ef_search;
DROP TABLE ru;
DROP FUNCTION ru_vec(int);
