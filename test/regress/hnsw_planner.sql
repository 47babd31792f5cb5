-- hnsw: the planner's choices (pgvector 0.8's cost model) and index usage
-- statistics
SET hnsw.iterative_scan = off;
CREATE TABLE p (id int, c int, v vector(3));
INSERT INTO p SELECT i, i % 50, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.7)]::vector
	FROM generate_series(1, 10000) i;
CREATE INDEX p_v ON p USING hnsw (v vector_l2_ops);
ANALYZE p;
-- A selective filter: a sequential scan finds LIMIT rows, the index could
-- return fewer (ef_search candidates, filtered)
EXPLAIN (COSTS OFF) SELECT id FROM p WHERE c = 7 ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 20;
SELECT count(*) FROM (SELECT id FROM p WHERE c = 7 ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 20) t;
-- A filter that removes few rows: the index
EXPLAIN (COSTS OFF) SELECT id FROM p WHERE c <> 7 ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 20;
-- No filter; no LIMIT (the whole table in order: a sort)
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 20;
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[0.5,0.5,0.5]';
DROP TABLE p;

-- Large values are TOASTed: the heap is small, the index is not; the
-- index is still chosen
CREATE TABLE big (id int, v vector(1536));
INSERT INTO big SELECT i, (SELECT array_agg(sin(i * 0.3 + d * 0.01)) FROM generate_series(1, 1536) d)::real[]::vector
	FROM generate_series(1, 2000) i;
CREATE INDEX big_v ON big USING hnsw (v vector_l2_ops);
ANALYZE big;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 1) LIMIT 10;

-- Scans count in pg_stat_user_indexes, as other index scans do
SELECT idx_scan AS before FROM pg_stat_user_indexes WHERE indexrelid = 'big_v'::regclass \gset
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 1) LIMIT 10) t;
SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 2) LIMIT 10) t;
SELECT pg_stat_force_next_flush();
SELECT idx_scan - :before AS scans FROM pg_stat_user_indexes WHERE indexrelid = 'big_v'::regclass;
DROP TABLE big;
