-- hnsw: opclasses, options, errors, planner choices, small exact cases
SET enable_seqscan = off;

-- Every opclass returns the true nearest order on a small table
CREATE TABLE t (id int, v vector(3));
INSERT INTO t VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL),
	(5, '[0,0,0]'), (6, '[-1,-1,-1]'), (7, '[3,0,0]');
CREATE INDEX t_l2 ON t USING hnsw (v vector_l2_ops);
SELECT id, round((v <-> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <-> '[1,1,1]' LIMIT 10;
DROP INDEX t_l2;
CREATE INDEX t_ip ON t USING hnsw (v vector_ip_ops);
-- ids 1 and 7 tie: the scan may return them in either order
SELECT * FROM (SELECT id, round((v <#> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <#> '[1,1,1]' LIMIT 10) x ORDER BY d, id;
DROP INDEX t_ip;
-- Zero vectors have no direction: not indexed by the cosine opclass.
-- [1,1,1] and [2,2,2] have one direction: one element holds both rows,
-- returned in the order they were indexed
CREATE INDEX t_cos ON t USING hnsw (v vector_cosine_ops);
SELECT id, round((v <=> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <=> '[1,1,1]' LIMIT 10;
SELECT hnsw_check('t_cos');
DROP INDEX t_cos;
CREATE INDEX t_l1 ON t USING hnsw (v vector_l1_ops);
SELECT id, round((v <+> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <+> '[1,1,1]' LIMIT 10;
DROP INDEX t_l1;

-- The default opclass is vector_l2_ops; inserts after build
CREATE INDEX t_def ON t USING hnsw (v);
INSERT INTO t VALUES (8, '[1,1,1.1]'), (9, NULL);
SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 3;
SELECT hnsw_check('t_def');

-- Planner: ORDER BY distance LIMIT uses the index; other queries do not
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <=> '[1,1,1]' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE v = '[1,1,1]';
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[1,1,1]' DESC LIMIT 3;
RESET enable_seqscan;

-- Dimension errors
INSERT INTO t VALUES (10, '[1,2]');
SELECT id FROM t ORDER BY v <-> '[1,2]' LIMIT 1;

-- Options and their bounds
\set VERBOSITY terse
CREATE INDEX ON t USING hnsw (v) WITH (m = 2, ef_construction = 4);
CREATE INDEX ON t USING hnsw (v) WITH (m = 100, ef_construction = 1000);
CREATE INDEX ON t USING hnsw (v) WITH (m = 1);
CREATE INDEX ON t USING hnsw (v) WITH (m = 101);
CREATE INDEX ON t USING hnsw (v) WITH (ef_construction = 3);
CREATE INDEX ON t USING hnsw (v) WITH (ef_construction = 1001);
CREATE INDEX ON t USING hnsw (v) WITH (m = 16, ef_construction = 31);
CREATE INDEX ON t USING hnsw (v) WITH (foo = 1);
CREATE INDEX ON t USING hnsw (v, v);
CREATE INDEX ON t USING hnsw ((v::real[]));
ALTER INDEX t_def SET (m = 1);
SHOW hnsw.ef_search;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.ef_search = 1;
SET hnsw.iterative_scan = on;
SET hnsw.iterative_scan = strict_order;
SET hnsw.max_scan_tuples = 0;
SET hnsw.scan_mem_multiplier = 0.5;
SET hnsw.nonexistent = 1;
RESET ALL;
SELECT hnsw_check('t');
SELECT hnsw_check('t_pkey_nonexistent');
CREATE INDEX t_btree ON t (id);
SELECT hnsw_check('t_btree');
\set VERBOSITY default
DROP TABLE t;

-- Dimensions: pgvector's limit of 2,000 for vector, whatever m (the
-- element and its neighbour lists are separate tuples); rows of 2,000
-- dimensions are indexed, inserted and found
CREATE TABLE big (id int, v vector(2100));
CREATE INDEX ON big USING hnsw (v);
CREATE INDEX ON big USING hnsw (v) WITH (m = 4);
DROP TABLE big;
CREATE TABLE big (id int, v vector(2000));
INSERT INTO big SELECT i, (SELECT array_agg(sin(i * 0.7 + d * 0.013)) FROM generate_series(1, 2000) d)::real[]::vector
	FROM generate_series(1, 30) i;
CREATE INDEX big_v ON big USING hnsw (v) WITH (m = 16);
INSERT INTO big SELECT i, (SELECT array_agg(sin(i * 0.7 + d * 0.013)) FROM generate_series(1, 2000) d)::real[]::vector
	FROM generate_series(31, 60) i;
CREATE INDEX big_v100 ON big USING hnsw (v) WITH (m = 100, ef_construction = 200);
SELECT hnsw_check('big_v'), hnsw_check('big_v100');
SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 45) LIMIT 1;
DROP TABLE big;

-- Column without a declared dimension: learnt from the first vector
CREATE TABLE nodim (v vector);
CREATE INDEX nodim_idx ON nodim USING hnsw (v vector_cosine_ops);
INSERT INTO nodim VALUES ('[1,0]'), ('[0,1]'), ('[1,1]');
INSERT INTO nodim VALUES ('[1,0,0]');
SET enable_seqscan = off;
SELECT v FROM nodim ORDER BY v <=> '[1,0.1]' LIMIT 3;
RESET enable_seqscan;
DROP TABLE nodim;

-- Empty, unlogged, truncated and VACUUM FULL tables
CREATE UNLOGGED TABLE u (v vector(2));
CREATE INDEX u_idx ON u USING hnsw (v);
SET enable_seqscan = off;
SELECT * FROM u ORDER BY v <-> '[0,0]' LIMIT 1;
INSERT INTO u SELECT ARRAY[i, i]::real[]::vector FROM generate_series(1, 100) i;
SELECT * FROM u ORDER BY v <-> '[10.2,10.2]' LIMIT 2;
TRUNCATE u;
SELECT * FROM u ORDER BY v <-> '[0,0]' LIMIT 1;
INSERT INTO u SELECT ARRAY[i, -i]::real[]::vector FROM generate_series(1, 100) i;
DELETE FROM u WHERE (v::real[])[1] < 50;
VACUUM FULL u;
SELECT * FROM u ORDER BY v <-> '[0,0]' LIMIT 2;
SELECT hnsw_check('u_idx');
RESET enable_seqscan;
DROP TABLE u;

-- Temporary tables (local buffers)
CREATE TEMP TABLE tmp AS SELECT i AS id, ARRAY[i % 10, i / 10]::real[]::vector AS v
	FROM generate_series(0, 99) i;
CREATE INDEX tmp_idx ON tmp USING hnsw (v vector_l1_ops);
INSERT INTO tmp VALUES (100, '[4.4,4.4]');
SET enable_seqscan = off;
-- No ties among the first four (their order would be unspecified)
SELECT id FROM tmp ORDER BY v <+> '[4.4,4.3]' LIMIT 4;
SELECT id FROM tmp ORDER BY v <+> '[4.4,4.3]' LIMIT 4;
RESET enable_seqscan;
SELECT hnsw_check('tmp_idx');
DROP TABLE tmp;

-- Every opclass passes amvalidate
SELECT opcname, amvalidate(oid) FROM pg_opclass
WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'hnsw') ORDER BY opcname;
