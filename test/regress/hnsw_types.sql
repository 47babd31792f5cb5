-- hnsw: element types beside vector (halfvec, sparsevec, bit), their
-- limits, and the expression indexes people build with them
SET enable_seqscan = off;

-- halfvec: every opclass returns the true nearest order on a small table
CREATE TABLE h (id int, v halfvec(3));
INSERT INTO h VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, NULL),
	(5, '[0,0,0]'), (6, '[-1,-1,-1]'), (7, '[3,0,0]');
CREATE INDEX h_l2 ON h USING hnsw (v halfvec_l2_ops);
SELECT id, round((v <-> '[1,1,1]')::numeric, 3) AS d FROM h ORDER BY v <-> '[1,1,1]';
DROP INDEX h_l2;
CREATE INDEX h_ip ON h USING hnsw (v halfvec_ip_ops);
SELECT id, round((v <#> '[1,2,3]')::numeric, 3) AS d FROM h ORDER BY v <#> '[1,2,3]';
DROP INDEX h_ip;
CREATE INDEX h_cos ON h USING hnsw (v halfvec_cosine_ops);
SELECT id, round((v <=> '[1,1,1]')::numeric, 3) AS d FROM h ORDER BY v <=> '[1,1,1]';
SELECT hnsw_check('h_cos');
DROP INDEX h_cos;
CREATE INDEX h_l1 ON h USING hnsw (v halfvec_l1_ops);
SELECT id, round((v <+> '[1,1,1]')::numeric, 3) AS d FROM h ORDER BY v <+> '[1,1,1]';
INSERT INTO h VALUES (8, '[1,1,1.1]');
SELECT id FROM h ORDER BY v <+> '[1,1,1]' LIMIT 3;
SELECT hnsw_check('h_l1');
DROP TABLE h;

-- sparsevec: the same, with inserts and deletes
CREATE TABLE s (id int, v sparsevec(5));
INSERT INTO s VALUES (1, '{1:1,2:1,3:1}/5'), (2, '{1:2,2:2,3:2}/5'), (3, '{1:1,2:1,3:2}/5'),
	(4, NULL), (5, '{}/5'), (6, '{1:-1,2:-1,3:-1}/5'), (7, '{1:3}/5'), (8, '{5:4}/5');
CREATE INDEX s_l2 ON s USING hnsw (v sparsevec_l2_ops);
SELECT id, round((v <-> '{1:1,2:1,3:1}/5')::numeric, 3) AS d FROM s ORDER BY v <-> '{1:1,2:1,3:1}/5';
DROP INDEX s_l2;
CREATE INDEX s_ip ON s USING hnsw (v sparsevec_ip_ops);
-- ids 1 and 7 tie (-3): take both, in id order
SELECT id FROM (SELECT id FROM s ORDER BY v <#> '{1:1,2:1,3:1}/5' LIMIT 4) x ORDER BY id;
DROP INDEX s_ip;
-- an empty sparsevec has no direction: not in a cosine index
CREATE INDEX s_cos ON s USING hnsw (v sparsevec_cosine_ops);
SELECT id, round((v <=> '{1:1,2:1,3:1}/5')::numeric, 3) AS d FROM s ORDER BY v <=> '{1:1,2:1,3:1}/5';
DROP INDEX s_cos;
CREATE INDEX s_l1 ON s USING hnsw (v sparsevec_l1_ops);
INSERT INTO s VALUES (9, '{1:1,2:1,3:1.1}/5');
DELETE FROM s WHERE id = 1;
VACUUM s;
-- ids 2 and 5 tie at distance 3: the index returns them in either order
SELECT id FROM (SELECT id, v <+> '{1:1,2:1,3:1}/5' AS d FROM s
	ORDER BY v <+> '{1:1,2:1,3:1}/5' LIMIT 4) x ORDER BY d, id;
SELECT hnsw_check('s_l1');
DROP TABLE s;
-- pgvector's limit: 1,000 non-zero elements, in a build and in an insert;
-- any number of dimensions
CREATE TABLE s (v sparsevec(100000));
INSERT INTO s VALUES ((SELECT '{' || string_agg(i || ':1', ',') || '}/100000' FROM generate_series(1, 1001) i)::sparsevec);
CREATE INDEX ON s USING hnsw (v sparsevec_l2_ops);
TRUNCATE s;
CREATE INDEX s_v ON s USING hnsw (v sparsevec_l2_ops);
INSERT INTO s VALUES ((SELECT '{' || string_agg(i || ':1', ',') || '}/100000' FROM generate_series(1, 1001) i)::sparsevec);
INSERT INTO s VALUES ((SELECT '{' || string_agg(i * 97 || ':1', ',') || '}/100000' FROM generate_series(1, 1000) i)::sparsevec),
	('{99999:1}/100000');
SELECT count(*) FROM (SELECT v FROM s ORDER BY v <-> '{99999:1}/100000') t;
DROP TABLE s;

-- bit: Hamming and Jaccard
CREATE TABLE b (id int, v bit(4));
INSERT INTO b VALUES (1, B'0000'), (2, B'1100'), (3, B'1111'), (4, NULL), (5, B'1110');
CREATE INDEX b_ham ON b USING hnsw (v bit_hamming_ops);
SELECT id, v <~> B'1111' AS d FROM b ORDER BY v <~> B'1111';
DROP INDEX b_ham;
CREATE INDEX b_jac ON b USING hnsw (v bit_jaccard_ops);
SELECT id, round((v <%> B'1111')::numeric, 3) AS d FROM b ORDER BY v <%> B'1111';
SELECT hnsw_check('b_jac');
DROP TABLE b;
-- varbit is not indexable as is (its values may differ in length), a cast is
CREATE TABLE b (v varbit(8));
CREATE INDEX ON b USING hnsw (v bit_hamming_ops);
CREATE INDEX ON b USING hnsw ((v::bit(8)) bit_hamming_ops);
CREATE INDEX ON b USING hnsw ((v::bit(64001)) bit_hamming_ops);
DROP TABLE b;

-- Dimension limits (pgvector's): halfvec 4,000, bit 64,000
CREATE TABLE h (v halfvec(4001));
CREATE INDEX ON h USING hnsw (v halfvec_l2_ops);
DROP TABLE h;
CREATE TABLE h (id int, v halfvec(4000));
INSERT INTO h SELECT i, (SELECT array_agg(sin(i * 0.7 + d * 0.013)) FROM generate_series(1, 4000) d)::real[]::halfvec
	FROM generate_series(1, 20) i;
CREATE INDEX h_v ON h USING hnsw (v halfvec_l2_ops);
SELECT id FROM h ORDER BY v <-> (SELECT v FROM h WHERE id = 7) LIMIT 1;
DROP TABLE h;

-- The expression indexes people use.  3,072-d embeddings are over vector's
-- 2,000: index them as halfvec, and query with the same expression
CREATE TABLE docs (id int, emb vector(3072));
INSERT INTO docs SELECT i, (SELECT array_agg(sin(i * 0.37 + d * 0.011) + cos(i * d * 0.001))
	FROM generate_series(1, 3072) d)::real[]::vector FROM generate_series(1, 60) i;
CREATE INDEX docs_half ON docs USING hnsw ((emb::halfvec(3072)) halfvec_cosine_ops);
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY emb::halfvec(3072) <=> '[1,2,3]'::vector(3)::halfvec LIMIT 5;
SELECT id FROM docs ORDER BY emb::halfvec(3072) <=> (SELECT emb FROM docs WHERE id = 42)::halfvec(3072) LIMIT 1;
SELECT hnsw_check('docs_half');
-- Binary quantization: a bit index finds candidates, the full vectors
-- re-rank them (the query pattern of pgvector's README)
CREATE INDEX docs_bq ON docs USING hnsw ((binary_quantize(emb)::bit(3072)) bit_hamming_ops);
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY binary_quantize(emb)::bit(3072) <~> binary_quantize('[1,2,3]'::vector) LIMIT 20;
SELECT id FROM (
	SELECT id, emb FROM docs
	ORDER BY binary_quantize(emb)::bit(3072) <~> (SELECT binary_quantize(emb) FROM docs WHERE id = 42)
	LIMIT 20
) c ORDER BY emb <=> (SELECT emb FROM docs WHERE id = 42) LIMIT 3;
SELECT hnsw_check('docs_bq');
DROP TABLE docs;

-- Recall of halfvec against its own exact order, 2,000 rows in 20
-- clusters of 32-d
SELECT setseed(0.5);
CREATE TABLE hc AS SELECT c, array_agg(random() * 2 - 1 ORDER BY d) AS a
	FROM generate_series(0, 19) c, generate_series(1, 32) d GROUP BY c;
CREATE TABLE hv AS SELECT i AS id,
	(SELECT array_agg(a[d] + 0.3 * (random() * 2 - 1) ORDER BY d) FROM generate_series(1, 32) d)::real[]::halfvec(32) AS v
	FROM generate_series(1, 2000) i JOIN hc ON c = i % 20;
CREATE TABLE hq AS SELECT id AS qid, v FROM hv WHERE id % 100 = 3;
CREATE INDEX hv_v ON hv USING hnsw (v halfvec_cosine_ops);
SET hnsw.ef_search = 100;
CREATE TEMP TABLE approx AS SELECT q.qid, x.id FROM hq q, LATERAL (SELECT id FROM hv ORDER BY v <=> q.v LIMIT 10) x;
SET enable_seqscan = on; SET enable_indexscan = off;
CREATE TEMP TABLE exact AS SELECT q.qid, x.id FROM hq q, LATERAL (SELECT id FROM hv ORDER BY v <=> q.v LIMIT 10) x;
SELECT count(a.id)::float8 / count(*) >= 0.97 AS halfvec_recall_ok FROM exact e LEFT JOIN approx a USING (qid, id);
RESET enable_indexscan; RESET hnsw.ef_search;
DROP TABLE hc, hv, hq, approx, exact;
