-- hnsw: filtered queries with iterative scans
SELECT setseed(0.5);
CREATE TABLE docs (id int, category int, v vector(8));
INSERT INTO docs SELECT i, i % 50,
	(SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 8) d WHERE i > 0)
FROM generate_series(1, 5000) i;
CREATE INDEX docs_v ON docs USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SET hnsw.ef_search = 20;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE category = 3 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;

-- Off: one batch of ef_search candidates, so a 2% filter finds too few
SELECT count(*) < 10 AS too_few FROM (SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;

-- relaxed_order: k rows come back, and they are the true top 10 here
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
CREATE TEMP TABLE approx AS SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
-- A filter that matches 0.1% (5 rows): still all of them
SELECT count(*) FROM (SELECT id FROM docs WHERE id % 1000 = 7
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;

-- strict_order: same rows, and distances never go down
SET hnsw.iterative_scan = strict_order;
SELECT count(*) FROM (SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
SELECT bool_and(d >= prev) AS ordered FROM (
	SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev FROM (
		SELECT row_number() OVER () AS n, v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS d
		FROM (SELECT v FROM docs WHERE category < 25
			ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 500) a) b) c;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10;
SELECT count(*) AS matches FROM approx JOIN exact USING (id);
RESET enable_indexscan;
SET enable_seqscan = off;

-- A scan may return many more rows than ef_search, each at most once
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM docs
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 3000) s;

-- hnsw.max_scan_tuples bounds the work: fewer rows than asked for
SET hnsw.max_scan_tuples = 100;
SELECT count(*) < 10 AS stopped_early FROM (SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
RESET hnsw.max_scan_tuples;
-- so does the memory budget (work_mem * hnsw.scan_mem_multiplier)
SET work_mem = '64kB';
-- (100 rows match)
SELECT count(*) < 100 AS stopped_early FROM (SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1000) s;
SET hnsw.scan_mem_multiplier = 100;
SELECT count(*) FROM (SELECT id FROM docs WHERE category = 3
	ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 1000) s;
RESET ALL;
DROP TABLE docs;
