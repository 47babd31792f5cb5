-- ivfflat: recall per opclass and probes, parallel build, memory limits
SELECT setseed(0.5);
CREATE TABLE r (id int, v vector(8));
INSERT INTO r SELECT i, ARRAY(SELECT random() - 0.3 FROM generate_series(1, 8) WHERE i > 0)
	FROM generate_series(1, 10000) i;
CREATE TABLE q (qid int, v vector(8));
INSERT INTO q SELECT i, ARRAY(SELECT random() - 0.3 FROM generate_series(1, 8) WHERE i > 0)
	FROM generate_series(1, 20) i;

-- recall@10 of the index for an operator at the current settings
CREATE FUNCTION recall(op text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	hits_q int;
	qv vector;
BEGIN
	FOR qv IN SELECT v FROM q ORDER BY qid LOOP
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_indexscan = on;
		EXECUTE format('CREATE TEMP TABLE approx AS SELECT id FROM r ORDER BY v %s %L LIMIT 10', op, qv);
		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_seqscan = on;
		EXECUTE format('SELECT count(*) FROM approx WHERE id IN
			(SELECT id FROM r ORDER BY v %s %L LIMIT 10)', op, qv) INTO STRICT hits_q;
		DROP TABLE approx;
		hits := hits + hits_q;
	END LOOP;
	RETURN round(hits / 200.0, 3);
END $$;

CREATE INDEX r_idx ON r USING ivfflat (v vector_l2_ops) WITH (lists = 50);
SET ivfflat.probes = 1;
SELECT recall('<->') >= 0.45 AS l2_probes_1;
SET ivfflat.probes = 8;
SELECT recall('<->') >= 0.95 AS l2_probes_8;
SET ivfflat.probes = 50;
SELECT recall('<->') AS l2_all_lists;
DROP INDEX r_idx;

CREATE INDEX r_idx ON r USING ivfflat (v vector_cosine_ops) WITH (lists = 50);
SET ivfflat.probes = 1;
SELECT recall('<=>') >= 0.45 AS cosine_probes_1;
SET ivfflat.probes = 8;
SELECT recall('<=>') >= 0.95 AS cosine_probes_8;
SET ivfflat.probes = 50;
SELECT recall('<=>') AS cosine_all_lists;
DROP INDEX r_idx;

CREATE INDEX r_idx ON r USING ivfflat (v vector_ip_ops) WITH (lists = 50);
SET ivfflat.probes = 8;
SELECT recall('<#>') >= 0.80 AS ip_probes_8;
SET ivfflat.probes = 50;
SELECT recall('<#>') AS ip_all_lists;
DROP INDEX r_idx;

-- A parallel build writes the same lists as a serial one
SET max_parallel_maintenance_workers = 0;
CREATE INDEX r_serial ON r USING ivfflat (v vector_l2_ops) WITH (lists = 50);
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
SET maintenance_work_mem = '64MB';
CREATE INDEX r_parallel ON r USING ivfflat (v vector_l2_ops) WITH (lists = 50);
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
RESET maintenance_work_mem;
SELECT pg_relation_size('r_serial') = pg_relation_size('r_parallel') AS same_size;
SET ivfflat.probes = 1;
SET enable_seqscan = off;
DROP INDEX r_parallel;
CREATE TEMP TABLE from_serial AS
	SELECT q.qid, n.id FROM q CROSS JOIN LATERAL (SELECT id FROM r ORDER BY r.v <-> q.v LIMIT 50) n;
DROP INDEX r_serial;
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
CREATE INDEX r_parallel ON r USING ivfflat (v vector_l2_ops) WITH (lists = 50);
CREATE TEMP TABLE from_parallel AS
	SELECT q.qid, n.id FROM q CROSS JOIN LATERAL (SELECT id FROM r ORDER BY r.v <-> q.v LIMIT 50) n;
SELECT count(*) AS rows,
	(SELECT count(*) FROM (SELECT * FROM from_serial EXCEPT SELECT * FROM from_parallel) d) AS differ
	FROM from_serial;
RESET ALL;
DROP INDEX r_parallel;

-- k-means must fit in maintenance_work_mem: too many lists is refused ...
SET maintenance_work_mem = '1MB';
CREATE INDEX ON r USING ivfflat (v) WITH (lists = 1000);
-- ... and a sample too big for it is cut down, with a NOTICE
CREATE TABLE r3 (v vector(3));
INSERT INTO r3 SELECT ARRAY[random(), random(), random()] FROM generate_series(1, 20000);
CREATE INDEX ON r3 USING ivfflat (v) WITH (lists = 300);
RESET maintenance_work_mem;
DROP TABLE r3;

DROP FUNCTION recall(text);
DROP TABLE r, q;
