-- hnsw: parallel builds (workers share one in-memory graph)
-- Deterministic clustered data: 40 centres in 16-d, 4,000 points around them
CREATE TABLE pb (id int PRIMARY KEY, v vector(16));
INSERT INTO pb
	SELECT i, (SELECT array_agg(sin(c * 7.3 + d * 1.7) + 0.05 * sin(i * 13.1 + d * 3.1) ORDER BY d)
			   FROM generate_series(1, 16) d, (SELECT i % 40 AS c) cc)::real[]::vector
	FROM generate_series(1, 4000) i;
ANALYZE pb;
-- Exact answers to compare with
CREATE TABLE pb_truth AS
	SELECT q.id AS qid, t.id
	FROM pb q, LATERAL (SELECT id FROM pb ORDER BY (v <-> q.v) + 0 LIMIT 10) t
	WHERE q.id % 100 = 7;

-- The table is small: ask for workers the way a user would
ALTER TABLE pb SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 2;
SET client_min_messages = debug1;
CREATE INDEX pb_v ON pb USING hnsw (v vector_l2_ops) WITH (m = 12, ef_construction = 60);
-- A parallel build is not deterministic: keep reachability notices quiet
SET client_min_messages = warning;
SELECT hnsw_check('pb_v');

-- recall@10 of the parallel-built graph
SET enable_seqscan = off;
SET hnsw.ef_search = 100;
CREATE FUNCTION pb_recall() RETURNS numeric LANGUAGE sql AS $$
	SELECT round(avg((SELECT count(*) FROM pb_truth t
		WHERE t.qid = q.id AND t.id IN (SELECT id FROM pb ORDER BY v <-> q.v LIMIT 10)))::numeric / 10, 2)
	FROM pb q WHERE q.id % 100 = 7 $$;
SELECT pb_recall() >= 0.95 AS recall_ok;
EXPLAIN (COSTS OFF) SELECT id FROM pb ORDER BY v <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10;

-- Every row is in the index once, and (nearly) all are reachable
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 100000;
SELECT count(*) >= 3990 AS reached, count(*) = count(DISTINCT id) AS once FROM
	(SELECT id FROM pb ORDER BY v <-> (SELECT v FROM pb WHERE id = 1)) s;
RESET hnsw.iterative_scan;
RESET hnsw.max_scan_tuples;

-- Inserts after a parallel build go through the ordinary path
INSERT INTO pb SELECT id + 4000, v FROM pb WHERE id <= 100;
SELECT hnsw_check('pb_v');
DROP INDEX pb_v;

-- Each opclass; CREATE INDEX CONCURRENTLY in parallel
CREATE INDEX CONCURRENTLY pb_cos ON pb USING hnsw (v vector_cosine_ops);
SELECT hnsw_check('pb_cos');
SELECT count(*) FROM (SELECT id FROM pb ORDER BY v <=> (SELECT v FROM pb WHERE id = 1) LIMIT 5) s;
DROP INDEX pb_cos;
CREATE INDEX pb_ip ON pb USING hnsw (v vector_ip_ops);
SELECT hnsw_check('pb_ip');
DROP INDEX pb_ip;
CREATE INDEX pb_l1 ON pb USING hnsw (v vector_l1_ops);
SELECT hnsw_check('pb_l1');
DROP INDEX pb_l1;
-- Expression and partial indexes (the workers evaluate both)
CREATE INDEX pb_expr ON pb USING hnsw ((v::vector(16)) vector_l2_ops) WHERE id % 2 = 0;
SELECT hnsw_check('pb_expr');
SELECT count(*) FROM (SELECT id FROM pb WHERE id % 2 = 0
	ORDER BY v::vector(16) <-> (SELECT v FROM pb WHERE id = 2) LIMIT 5) s;
DROP INDEX pb_expr;

RESET client_min_messages;
-- A stale row estimate does not matter: the room reserved comes from the
-- table's size (with an estimate made before most rows were added, the
-- graph used to run out of room)
CREATE TABLE pb2 (id int, v vector(16));
INSERT INTO pb2 SELECT id, v FROM pb WHERE id <= 100;
ANALYZE pb2;
INSERT INTO pb2 SELECT id, v FROM pb WHERE id > 100;
ALTER TABLE pb2 SET (parallel_workers = 2);
CREATE INDEX pb2_v ON pb2 USING hnsw (v vector_l2_ops) WITH (m = 12, ef_construction = 60);
SELECT hnsw_check('pb2_v');
SELECT count(*) FROM (SELECT id FROM pb2 ORDER BY v <-> (SELECT v FROM pb2 WHERE id = 1) LIMIT 10) s;

-- No row estimate (never analyzed) and vectors stored out of line (600-d
-- is over the TOAST threshold): the room comes from the table's size,
-- counting a row's vector as the TOAST pointer it is (counted inline, the
-- room ran out and the build started over serially with a NOTICE)
CREATE TABLE pb4 (id int, v vector(600)) WITH (autovacuum_enabled = false);
INSERT INTO pb4 SELECT i, (SELECT array_agg(sin(i * 0.37 + d * 0.011)) FROM generate_series(1, 600) d)::real[]::vector
	FROM generate_series(1, 1500) i;
SELECT reltuples < 0 AS never_analyzed FROM pg_class WHERE relname = 'pb4';
ALTER TABLE pb4 SET (parallel_workers = 2);
SET client_min_messages = debug1;
CREATE INDEX pb4_v ON pb4 USING hnsw (v vector_l2_ops);
RESET client_min_messages;
SELECT hnsw_check('pb4_v');

-- An untyped column cannot be sized up front: serial build
CREATE TABLE pb3 (v vector);
INSERT INTO pb3 SELECT v FROM pb;
ALTER TABLE pb3 SET (parallel_workers = 2);
SET client_min_messages = debug1;
CREATE INDEX pb3_v ON pb3 USING hnsw (v vector_l2_ops);
RESET client_min_messages;
SELECT hnsw_check('pb3_v');

-- maintenance_work_mem too small for the graph: a serial build spills
-- after a fixed number of rows (pgvector's words)
SET maintenance_work_mem = '1MB';
SET max_parallel_maintenance_workers = 0;
CREATE INDEX pb_small ON pb USING hnsw (v vector_l2_ops);
SELECT hnsw_check('pb_small');
DROP INDEX pb_small;
RESET max_parallel_maintenance_workers;
-- and so does a parallel one: pb's parallel_workers = 2 overrides
-- PostgreSQL's cap on workers by maintenance_work_mem.  Its NOTICE names
-- the rows the participants had added when one found the graph full,
-- which depends on how their rows interleave: not shown.
SET client_min_messages = warning;
CREATE INDEX pb_small ON pb USING hnsw (v vector_l2_ops);
RESET client_min_messages;
SELECT hnsw_check('pb_small');
RESET maintenance_work_mem;

RESET client_min_messages;
DROP TABLE pb, pb2, pb3, pb4, pb_truth;
DROP FUNCTION pb_recall();
