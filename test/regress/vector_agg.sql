-- avg(vector) and sum(vector): results, NULLs, grouping, windows, parallel
-- plans, and the support functions called directly

CREATE TABLE agg (id int, g int, v vector);
INSERT INTO agg VALUES (1, 1, '[1,2]'), (2, 1, '[3,5]'), (3, 1, NULL),
	(4, 2, '[1,1,1]'), (5, 2, '[0.5,-1,2]'), (6, 3, NULL);
SELECT avg(v), sum(v) FROM agg WHERE g = 1;
SELECT g, avg(v), sum(v), count(v) FROM agg GROUP BY g ORDER BY g;
-- no rows, or only NULLs: NULL
SELECT avg(v), sum(v) FROM agg WHERE false;
SELECT avg(v), sum(v) FROM agg WHERE g = 3;
-- a moving window restarts and updates the state many times
SELECT id, avg(v) OVER w, sum(v) OVER w FROM agg WHERE g = 1
	WINDOW w AS (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) ORDER BY id;
SELECT id, avg(v) OVER (PARTITION BY g ORDER BY id) FROM agg WHERE g IN (1, 2) ORDER BY id;
DROP TABLE agg;

-- avg sums in double precision: 0.1 + 0.2 + 0.3 (as float4) averages to 0.2,
-- and values whose float4 sum would overflow still average fine
SELECT avg(v) FROM (VALUES ('[0.1]'::vector), ('[0.2]'), ('[0.3]')) t(v);
SELECT avg(v) FROM (VALUES ('[3e38,-3e38]'::vector), ('[3e38,-3e38]')) t(v);
-- sum is float4 (vector_add), like pgvector
SELECT sum(v) FROM (VALUES ('[0.1]'::vector), ('[0.2]'), ('[0.3]')) t(v);
SELECT avg(v) FROM (VALUES ('[1,2,3]'::vector), ('[1,2,3]')) t(v);

-- Parallel aggregation uses the combine functions; the values keep every
-- partial sum exact, so the result does not depend on how rows are split
CREATE TABLE big (v vector(3));
INSERT INTO big SELECT ARRAY[i % 10, 1, 0.5]::vector FROM generate_series(1, 10000) i;
ANALYZE big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM big;
SELECT avg(v), sum(v) FROM big;
-- no row matches in any worker: every partial state is empty ('{0}'), and
-- combining them must give NULL (pgvector 0.8.6 raises an error here)
EXPLAIN (COSTS OFF) SELECT avg(v), count(*) FROM big WHERE v = '[99,1,0.5]';
SELECT avg(v), count(*) FROM big WHERE v = '[99,1,0.5]';
SELECT avg(v::halfvec), count(*) FROM big WHERE v = '[99,1,0.5]';
-- a few matching rows, found by whichever process scans their block
SELECT avg(v), count(*) FROM big WHERE v < '[1,1,0]';
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT avg(v), sum(v) FROM big;
DROP TABLE big;

-- Aggregate definitions: both parallel safe with a combine function
SELECT a.aggfnoid::regprocedure, a.aggtransfn, a.aggcombinefn, a.aggfinalfn,
	a.aggtranstype::regtype, a.agginitval, p.proparallel
	FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
	WHERE a.aggfnoid IN ('avg(vector)'::regprocedure, 'sum(vector)'::regprocedure)
	ORDER BY 1::text;

-- The state is {count, sum1, sum2, ...}
SELECT vector_accum('{0}', '[1,2]');
SELECT vector_accum('{1,1,2}', '[3,4]');
SELECT vector_accum(vector_accum('{0}', '[1.5]'), '[2.5]');
SELECT vector_combine('{2,4,6}', '{1,1,1}'), vector_combine('{0}', '{1,1,1}'),
	vector_combine('{2,4,6}', '{0}');
-- called directly, two empty states are an error, as in pgvector 0.8.6
SELECT vector_combine('{0}', '{0}');
SELECT vector_avg('{2,4,6}'), vector_avg('{0}'), vector_avg('{4,1,-2}');
