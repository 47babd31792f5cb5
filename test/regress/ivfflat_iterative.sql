-- ivfflat: filtered queries and iterative scans
CREATE TABLE f (id int, cat int, v vector(2));
INSERT INTO f SELECT i, i % 100,
	ARRAY[((i * 7919) % 1000) / 1000.0, ((i * 104729) % 997) / 997.0]
	FROM generate_series(1, 10000) i;
CREATE INDEX f_idx ON f USING ivfflat (v) WITH (lists = 50);
ANALYZE f;

-- The exact answer, for comparison
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
	SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]' LIMIT 10;
RESET enable_indexscan;

SET enable_seqscan = off;

-- Off: one list is read, and it holds only a few rows of category 7
SELECT count(*) < 10 AS too_few
	FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]' LIMIT 10) s;

-- relaxed_order: further lists are read until the query has its rows (7
-- of the exact 10 when this was written: a row of a later list can be
-- nearer than one of an earlier list)
SET ivfflat.iterative_scan = relaxed_order;
SELECT count(*) AS found, count(*) FILTER (WHERE id IN (SELECT id FROM exact)) >= 6 AS recall_ok
	FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]' LIMIT 10) s;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]' LIMIT 10;

-- Without a LIMIT the scan reads every list: all 100 rows of the category
SELECT count(*) FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]') s;

-- max_probes bounds the lists read in all: one list returns what probes = 1 returns
SET ivfflat.max_probes = 1;
SELECT (SELECT count(*) FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]') s) =
	(SELECT count(*) FROM (SELECT id FROM f ORDER BY v <-> '[0.5,0.5]') s WHERE id % 100 = 7) AS one_list;
-- ... two lists return more, and fewer than three
SET ivfflat.max_probes = 2;
CREATE TEMP TABLE two AS SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]';
SET ivfflat.max_probes = 3;
CREATE TEMP TABLE three AS SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]';
SELECT (SELECT count(*) FROM two) < (SELECT count(*) FROM three) AS grows,
	NOT EXISTS (SELECT id FROM two EXCEPT SELECT id FROM three) AS superset;
-- Below probes, probes wins
SET ivfflat.probes = 3;
SET ivfflat.max_probes = 1;
SELECT count(*) = (SELECT count(*) FROM three) AS probes_win
	FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]') s;

-- Each batch comes out sorted: with probes = lists it is one sorted batch
SET ivfflat.probes = 50;
RESET ivfflat.max_probes;
SELECT bool_and(d >= prev) AS sorted FROM (
	SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY pos) AS prev FROM (
		SELECT row_number() OVER () AS pos, v <-> '[0.5,0.5]' AS d
		FROM (SELECT v FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]') s) s2) s3;
SELECT count(*) FILTER (WHERE id IN (SELECT id FROM exact)) AS exact_matches
	FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> '[0.5,0.5]' LIMIT 10) s;

-- Distance filters and the index
RESET ivfflat.probes;
SELECT count(*) > 0 AS some
	FROM (SELECT id FROM f WHERE v <-> '[0.5,0.5]' < 0.05 ORDER BY v <-> '[0.5,0.5]' LIMIT 5) s;
RESET ALL;
DROP TABLE f;
