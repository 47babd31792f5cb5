-- ivfflat on halfvec and bit: opclasses, limits, errors, expression indexes
SET enable_seqscan = off;

-- halfvec: with probes = lists every opclass returns the exact order
CREATE TABLE h (id int, v halfvec(3));
INSERT INTO h VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL),
	(5, '[0,0,0]'), (6, '[-1,-1,-1]'), (7, '[3,0,0]'), (8, '[0.5,0.25,0.125]');
CREATE INDEX h_l2 ON h USING ivfflat (v halfvec_l2_ops) WITH (lists = 2);
SET ivfflat.probes = 2;
SELECT id, round((v <-> '[1,1,1]')::numeric, 3) AS d FROM h ORDER BY v <-> '[1,1,1]' LIMIT 10;
SELECT ivfflat_check('h_l2');
DROP INDEX h_l2;
CREATE INDEX h_ip ON h USING ivfflat (v halfvec_ip_ops) WITH (lists = 2);
SELECT id, round((v <#> '[1,1,1]')::numeric, 3) AS d FROM h ORDER BY v <#> '[1,1,1]' LIMIT 10;
DROP INDEX h_ip;
CREATE INDEX h_cos ON h USING ivfflat (v halfvec_cosine_ops) WITH (lists = 2);
SELECT id, round((v <=> '[1,1,1]')::numeric, 3) AS d FROM h ORDER BY v <=> '[1,1,1]' LIMIT 10;
-- inserts after the build, and a query of another dimension
INSERT INTO h VALUES (9, '[1,1,1.5]');
SELECT id FROM h ORDER BY v <=> '[1,1,1.4]' LIMIT 2;
SELECT id FROM h ORDER BY v <=> '[1,1]' LIMIT 1;
SELECT ivfflat_check('h_cos');
RESET ivfflat.probes;
DROP TABLE h;

-- halfvec indexes up to 4000 dimensions
CREATE TABLE h (v halfvec(4000));
CREATE INDEX ON h USING ivfflat (v halfvec_l2_ops);
DROP TABLE h;
CREATE TABLE h (v halfvec(4001));
CREATE INDEX ON h USING ivfflat (v halfvec_l2_ops);
DROP TABLE h;

-- A halfvec expression index over a vector column (smaller: 2 bytes an element)
SELECT setseed(0.75);
CREATE TABLE e (id int, v vector(16));
INSERT INTO e SELECT i, ARRAY(SELECT random() FROM generate_series(1, 16) WHERE i > 0)
	FROM generate_series(1, 2000) i;
CREATE INDEX e_half ON e USING ivfflat ((v::halfvec(16)) halfvec_cosine_ops) WITH (lists = 10);
CREATE INDEX e_full ON e USING ivfflat (v vector_cosine_ops) WITH (lists = 10);
SELECT pg_relation_size('e_half') < pg_relation_size('e_full') AS smaller;
DROP INDEX e_full;
SET ivfflat.probes = 10;
EXPLAIN (COSTS OFF) SELECT id FROM e ORDER BY v::halfvec(16) <=> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 5;
CREATE TEMP TABLE approx AS
	SELECT id FROM e ORDER BY v::halfvec(16) <=> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 10;
SET enable_indexscan = off;
RESET enable_seqscan;
CREATE TEMP TABLE exact AS
	SELECT id FROM e ORDER BY v <=> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 10;
SELECT count(*) >= 9 AS half_precision_recall FROM approx JOIN exact USING (id);
RESET ALL;
SET enable_seqscan = off;
SELECT ivfflat_check('e_half');

-- bit: Hamming distance, exact at probes = lists
CREATE TABLE b (id int, v bit(4));
INSERT INTO b VALUES (1, B'0000'), (2, B'1000'), (3, B'1100'), (4, B'1110'),
	(5, B'1111'), (6, NULL), (7, B'0101');
CREATE INDEX b_idx ON b USING ivfflat (v bit_hamming_ops) WITH (lists = 2);
SET ivfflat.probes = 2;
SELECT id, v <~> B'1111' AS d FROM b ORDER BY v <~> B'1111' LIMIT 10;
INSERT INTO b VALUES (8, B'1011');
SELECT id FROM b ORDER BY v <~> B'1011' LIMIT 1;
SELECT id FROM b ORDER BY v <~> B'101' LIMIT 1;
SELECT ivfflat_check('b_idx');
RESET ivfflat.probes;
DROP TABLE b;

-- bit strings of one length only; at most 64000 bits
CREATE TABLE b (v varbit(4));
CREATE INDEX ON b USING ivfflat (v bit_hamming_ops);
CREATE INDEX ON b USING ivfflat ((v::bit(4)) bit_hamming_ops);
CREATE INDEX ON b USING ivfflat ((v::bit(64001)) bit_hamming_ops);
DROP TABLE b;

-- More lists than distinct values: every row is still found with probes = 1
CREATE TABLE b (id int, v bit(3));
INSERT INTO b SELECT i, (i % 8)::bit(3) FROM generate_series(1, 100) i;
CREATE INDEX b_idx ON b USING ivfflat (v bit_hamming_ops) WITH (lists = 20);
SELECT v, count(*) FROM (SELECT v FROM b ORDER BY v <~> B'101' LIMIT 100) s
	WHERE v = B'101' GROUP BY v;
SELECT ivfflat_check('b_idx');
DROP TABLE b;

-- k-modes on random 64-bit strings: each row is found by its own value
SELECT setseed(0.125);
CREATE TABLE b (id int, v bit(64));
INSERT INTO b SELECT i, (random() * 9007199254740991)::bigint::bit(64) FROM generate_series(1, 5000) i;
CREATE INDEX b_idx ON b USING ivfflat (v bit_hamming_ops) WITH (lists = 20);
SET ivfflat.probes = 20;
CREATE TEMP TABLE bq AS SELECT id, v FROM b WHERE id <= 10;
SELECT count(*) AS exact_hits FROM bq CROSS JOIN LATERAL
	(SELECT id FROM b WHERE b.v = bq.v ORDER BY b.v <~> bq.v LIMIT 1) n;
SELECT ivfflat_check('b_idx');
DROP TABLE b;

-- Binary quantization with re-ranking by the full vector
CREATE INDEX e_bq ON e USING ivfflat ((binary_quantize(v)::bit(16)) bit_hamming_ops) WITH (lists = 4);
SET ivfflat.probes = 4;
EXPLAIN (COSTS OFF) SELECT id FROM (
	SELECT id, v FROM e ORDER BY binary_quantize(v)::bit(16) <~> binary_quantize('[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]'::vector) LIMIT 100
) s ORDER BY v <=> '[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]' LIMIT 5;
SELECT count(*) FROM (
	SELECT id, v FROM e ORDER BY binary_quantize(v)::bit(16) <~> binary_quantize('[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]'::vector) LIMIT 100
) s;
SELECT ivfflat_check('e_bq');
RESET ALL;
DROP TABLE e;
