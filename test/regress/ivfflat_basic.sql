-- ivfflat: opclasses, options, errors, planner choices, small exact cases
SET enable_seqscan = off;

-- With probes = lists every opclass returns the exact order
CREATE TABLE t (id int, v vector(3));
INSERT INTO t VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL),
	(5, '[0,0,0]'), (6, '[-1,-1,-1]'), (7, '[3,0,0]');
CREATE INDEX t_l2 ON t USING ivfflat (v vector_l2_ops) WITH (lists = 2);
SET ivfflat.probes = 2;
SELECT id, round((v <-> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <-> '[1,1,1]' LIMIT 10;
DROP INDEX t_l2;
CREATE INDEX t_ip ON t USING ivfflat (v vector_ip_ops) WITH (lists = 2);
SELECT id, round((v <#> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <#> '[1,1,1]' LIMIT 10;
DROP INDEX t_ip;
-- Zero vectors have no direction: not indexed by the cosine opclass
CREATE INDEX t_cos ON t USING ivfflat (v vector_cosine_ops) WITH (lists = 2);
SELECT id, round((v <=> '[1,1,1]')::numeric, 3) AS d FROM t ORDER BY v <=> '[1,1,1]' LIMIT 10;
DROP INDEX t_cos;
-- pgvector has no L1 opclass for ivfflat, and neither has semvec
CREATE INDEX ON t USING ivfflat (v vector_l1_ops);

-- The default opclass is vector_l2_ops; inserts after the build
CREATE INDEX t_def ON t USING ivfflat (v) WITH (lists = 2);
INSERT INTO t VALUES (8, '[1,1,1.1]'), (9, NULL);
SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 3;
-- A NULL query returns every indexed row (all distances are NULL)
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> NULL) s;
RESET ivfflat.probes;

-- Planner: ORDER BY distance LIMIT uses the index; other queries do not
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE v = '[1,1,1]';
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[1,1,1]' DESC LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <=> '[1,1,1]' LIMIT 3;
-- The settings show in EXPLAIN (SETTINGS) when changed
SET ivfflat.probes = 2;
EXPLAIN (COSTS OFF, SETTINGS) SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 3;
RESET ivfflat.probes;
RESET enable_seqscan;

-- Dimension errors
INSERT INTO t VALUES (10, '[1,2]');
SET enable_seqscan = off;
SELECT id FROM t ORDER BY v <-> '[1,2]' LIMIT 1;
RESET enable_seqscan;

-- Options, settings and their bounds
\set VERBOSITY terse
CREATE INDEX ON t USING ivfflat (v) WITH (lists = 1);
CREATE INDEX ON t USING ivfflat (v) WITH (lists = 0);
CREATE INDEX ON t USING ivfflat (v) WITH (lists = 32769);
CREATE INDEX ON t USING ivfflat (v) WITH (lists = -1);
CREATE INDEX ON t USING ivfflat (v) WITH (lists = 'many');
CREATE INDEX ON t USING ivfflat (v) WITH (foo = 1);
-- lists can be changed on an existing index, within the same bounds; the
-- index keeps the lists it was built with (here 1: probes = 1 reads every
-- row) until REINDEX
DROP INDEX t_def;
ALTER INDEX t_v_idx SET (lists = 0);
ALTER INDEX t_v_idx SET (lists = 'many');
ALTER INDEX t_v_idx SET (lists = 7);
SELECT reloptions FROM pg_class WHERE relname = 't_v_idx';
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 10) s;
REINDEX INDEX t_v_idx;
SELECT count(*) < 7 AS fewer FROM (SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 10) s;
SELECT ivfflat_check('t_v_idx');
RESET enable_seqscan;
CREATE INDEX ON t USING ivfflat (v, v);
CREATE INDEX ON t USING ivfflat ((v::real[]));
SHOW ivfflat.probes;
SHOW ivfflat.iterative_scan;
SHOW ivfflat.max_probes;
SET ivfflat.probes = 0;
SET ivfflat.probes = 32769;
SET ivfflat.iterative_scan = strict_order;
SET ivfflat.max_probes = 0;
SET ivfflat.max_probes = 32769;
SET ivfflat.probes = 'all';
SET ivfflat.nonexistent = 1;
RESET ALL;
\set VERBOSITY default
DROP TABLE t;

-- Elements near the float limit: squared norms, products and distances
-- overflow to infinity in k-means (this build used to crash); every row is
-- still indexed in a list and found
CREATE TABLE huge (id int, v vector(4));
INSERT INTO huge SELECT i, ARRAY[3e38 * ((i % 7) - 3) / 3.0, -3e38 * ((i % 5) - 2) / 2.0,
	i / 1000.0, i % 11]::vector FROM generate_series(1, 2000) i;
CREATE INDEX huge_l2 ON huge USING ivfflat (v vector_l2_ops) WITH (lists = 20);
SELECT ivfflat_check('huge_l2');
SET enable_seqscan = off;
SET ivfflat.probes = 20;
SELECT count(*) FROM (SELECT id FROM huge ORDER BY v <-> '[3e38,0,0,0]') s;
SELECT id FROM huge ORDER BY v <-> '[3e38,-3e38,0.7,6]' LIMIT 1;
DROP INDEX huge_l2;
CREATE INDEX huge_cos ON huge USING ivfflat (v vector_cosine_ops) WITH (lists = 20);
SELECT ivfflat_check('huge_cos');
SELECT count(*) FROM (SELECT id FROM huge ORDER BY v <=> '[3e38,3e38,0,0]') s;
RESET ivfflat.probes;
RESET enable_seqscan;
DROP TABLE huge;

-- Columns need declared dimensions, at most 2000 of them
CREATE TABLE nodim (v vector);
CREATE INDEX ON nodim USING ivfflat (v);
CREATE INDEX ON nodim USING ivfflat ((v::vector(3)));
DROP TABLE nodim;
CREATE TABLE big (v vector(2001));
CREATE INDEX ON big USING ivfflat (v);
DROP TABLE big;

-- An opclass whose distance function the index does not know is refused
CREATE OPERATOR CLASS vector_l1_test_ops FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(vector, vector);
CREATE TABLE t (v vector(2));
INSERT INTO t VALUES ('[1,2]');
CREATE INDEX ON t USING ivfflat (v vector_l1_test_ops) WITH (lists = 1);
DROP TABLE t;
DROP OPERATOR CLASS vector_l1_test_ops USING ivfflat;

-- Fewer rows than lists: a NOTICE, and the index still finds every row
CREATE TABLE few (id int, v vector(2));
INSERT INTO few SELECT i, ARRAY[i, i * i] FROM generate_series(1, 5) i;
CREATE INDEX few_idx ON few USING ivfflat (v) WITH (lists = 10);
SET enable_seqscan = off;
SET ivfflat.probes = 10;
SELECT id FROM few ORDER BY v <-> '[2,4]';
-- Rows that belong to lists that had no page yet: each list starts one
INSERT INTO few SELECT i, ARRAY[i * 0.5, -i] FROM generate_series(1, 40) i;
SELECT count(*) FROM (SELECT id FROM few ORDER BY v <-> '[0,0]') s;
SELECT id FROM few ORDER BY v <-> '[10,-20]' LIMIT 3;
SELECT ivfflat_check('few_idx');
RESET ALL;
DROP TABLE few;

-- Duplicates: as many identical rows as lists, and more
CREATE TABLE dup (id int, v vector(3));
INSERT INTO dup SELECT i, '[1,2,3]' FROM generate_series(1, 10) i;
CREATE INDEX dup_idx ON dup USING ivfflat (v) WITH (lists = 5);
INSERT INTO dup SELECT i, '[4,5,6]' FROM generate_series(11, 20) i;
REINDEX INDEX dup_idx;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM dup ORDER BY v <-> '[1,2,3]' LIMIT 100) s;
SELECT count(*) FROM (SELECT id FROM dup ORDER BY v <-> '[4,5,6]' LIMIT 100) s;
SELECT ivfflat_check('dup_idx');
RESET enable_seqscan;
DROP TABLE dup;

-- Expression and partial indexes; nested-loop rescans
CREATE TABLE items (id int, cat int, v vector(2));
INSERT INTO items SELECT i, i % 3, ARRAY[cos(i), sin(i)] FROM generate_series(1, 300) i;
-- (an expression needs a declared dimension too)
CREATE INDEX items_bad ON items USING ivfflat ((v * '[2,2]') vector_l2_ops) WITH (lists = 4);
CREATE INDEX items_expr ON items USING ivfflat (((v * '[2,2]')::vector(2)) vector_l2_ops) WITH (lists = 4);
CREATE INDEX items_part ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 4) WHERE cat = 1;
SET enable_seqscan = off;
SET ivfflat.probes = 4;
SELECT id FROM items ORDER BY (v * '[2,2]')::vector(2) <-> '[2,0]' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY (v * '[2,2]')::vector(2) <-> '[2,0]' LIMIT 3;
SELECT id FROM items WHERE cat = 1 ORDER BY v <=> '[1,0]' LIMIT 3;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE cat = 1 ORDER BY v <=> '[1,0]' LIMIT 3;
SELECT q.id, n.id AS nearest
	FROM items q CROSS JOIN LATERAL
		(SELECT id FROM items i WHERE i.cat = 1 ORDER BY i.v <=> q.v LIMIT 1) n
	WHERE q.id IN (1, 2, 4) ORDER BY q.id;
RESET ALL;
DROP TABLE items;

-- TRUNCATE rebuilds an empty index; unlogged tables work
CREATE UNLOGGED TABLE u (v vector(2));
INSERT INTO u SELECT ARRAY[i, 0] FROM generate_series(1, 10) i;
CREATE INDEX u_idx ON u USING ivfflat (v) WITH (lists = 2);
TRUNCATE u;
INSERT INTO u SELECT ARRAY[i, 1] FROM generate_series(1, 10) i;
SET enable_seqscan = off;
SET ivfflat.probes = 2;
SELECT v FROM u ORDER BY v <-> '[3,1]' LIMIT 2;
SELECT ivfflat_check('u_idx');
RESET ALL;
DROP TABLE u;

-- A batch larger than work_mem goes through a sort, with the same results
CREATE TABLE w (id int, v vector(2));
INSERT INTO w SELECT i, ARRAY[(i * 7919) % 1000, (i * 104729) % 997] FROM generate_series(1, 20000) i;
CREATE INDEX ON w USING ivfflat (v) WITH (lists = 2);
SET enable_seqscan = off;
SET ivfflat.probes = 2;
CREATE TEMP TABLE in_memory AS
	SELECT row_number() OVER () AS pos, id FROM (SELECT id FROM w ORDER BY v <-> '[500,500]' LIMIT 2000) s;
SET work_mem = '64kB';
CREATE TEMP TABLE spilled AS
	SELECT row_number() OVER () AS pos, id FROM (SELECT id FROM w ORDER BY v <-> '[500,500]' LIMIT 2000) s;
SELECT count(*) AS rows, count(*) FILTER (WHERE m.id = s.id) AS same
	FROM in_memory m JOIN spilled s USING (pos);
RESET ALL;
DROP TABLE w;

-- idx_scan counts index scans
CREATE TABLE c (v vector(2));
INSERT INTO c SELECT ARRAY[i, i] FROM generate_series(1, 10) i;
CREATE INDEX c_idx ON c USING ivfflat (v) WITH (lists = 1);
SET enable_seqscan = off;
SELECT v FROM c ORDER BY v <-> '[1,1]' LIMIT 1;
SELECT v FROM c ORDER BY v <-> '[9,9]' LIMIT 1;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelid = 'c_idx'::regclass;
DROP TABLE c;

-- ivfflat_check refuses what is not an ivfflat index
CREATE TABLE k (id int PRIMARY KEY, v vector(2));
\set VERBOSITY terse
SELECT ivfflat_check('k');
SELECT ivfflat_check('k_pkey');
\set VERBOSITY default
DROP TABLE k;
