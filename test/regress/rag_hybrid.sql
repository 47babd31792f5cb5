-- Reciprocal Rank Fusion and hybrid_search() on hand-made data; every
-- expected score below is computed by hand in the comment next to it.

-- rank 1 and 3 in either list: 1/61 + 1/63; single list rank 2: 1/62
SELECT id, vector_rank, text_rank,
       abs(score - CASE id WHEN 1 THEN 1.0/61 + 1.0/63 WHEN 3 THEN 1.0/63 + 1.0/61
                           ELSE 1.0/62 END) < 1e-12 AS score_ok
FROM rrf_fuse('{1,2,3}', '{3,4,1}');
-- k = 0: plain reciprocal ranks 1/1, 1/2
SELECT * FROM rrf_fuse('{10,20}', '{}', k => 0);
-- weights: id 1 = 3/(1+1) + 1/(1+2) = 1.8333..., id 2 = 3/(1+2) + 1/(1+1) = 1.5
SELECT id, round(score::numeric, 10), vector_rank, text_rank
FROM rrf_fuse('{1,2}', '{2,1}', k => 1, vector_weight => 3, text_weight => 1);
-- NULLs and repeats are dropped before ranking: 5 -> 1/61, 6 -> 1/62
SELECT id, vector_rank, abs(score - CASE id WHEN 5 THEN 1.0/61 ELSE 1.0/62 END) < 1e-12 AS score_ok
FROM rrf_fuse('{5,NULL,5,6}', NULL);
SELECT count(*) FROM rrf_fuse('{}', '{}');

CREATE TABLE hs (id int PRIMARY KEY, chunk text, emb vector(3));
INSERT INTO hs VALUES
	(1, 'The cat sat on the mat', '[1,0,0]'),
	(2, 'Dogs chase cats in the yard', '[0.9,0.1,0]'),
	(3, 'Indexes speed up queries', '[0,1,0]'),
	(4, 'Create an index concurrently without locking writes', '[0,0.8,0.2]'),
	(5, 'Nothing relevant here', NULL);

-- Without a bm25 index on the text column, the text side ranks tsvectors.
-- cosine distances to [0,1,0]: 3 -> 0, 4 -> 1 - 0.8/sqrt(0.68), 2 -> 1 - 0.1/sqrt(0.82), 1 -> 1;
-- the pool of 3 keeps 3, 4, 2.  Full text with match 'all' ('index' & 'lock')
-- matches only 4.  4: 1/62 + 1/61, 3: 1/61, 2: 1/63
SELECT id, vector_rank, text_rank,
       abs(score - CASE id WHEN 4 THEN 1.0/62 + 1.0/61 WHEN 3 THEN 1.0/61 ELSE 1.0/63 END) < 1e-12 AS score_ok,
       abs(vector_distance - CASE id WHEN 3 THEN 0 WHEN 4 THEN 1 - 0.8/sqrt(0.68) ELSE 1 - 0.1/sqrt(0.82) END) < 1e-6 AS dist_ok,
       text_score IS NOT NULL AS has_text_score
FROM hybrid_search('hs', 'index locking', '[0,1,0]'::vector, k => 5, pool => 3, match => 'all', fusion => 'rrf');
-- match 'any' (the default): 4 has both lexemes (text rank 1), 3 only 'index'
-- (text rank 2).  3: 1/61 + 1/62, 4: 1/62 + 1/61, 2: 1/63
SELECT id, vector_rank, text_rank,
       abs(score - CASE id WHEN 2 THEN 1.0/63 ELSE 1.0/61 + 1.0/62 END) < 1e-12 AS score_ok
FROM hybrid_search('hs', 'index locking', '[0,1,0]'::vector, k => 5, pool => 3, fusion => 'rrf');
-- text scores.  Default for 'any' is the idf ranking: sum over the lexemes of
-- ln(1 + (N - df + 0.5) / (df + 0.5)) * ts_rank, N = 5 rows, df(index) = 2,
-- df(lock) = 1; 'ts_rank' and 'ts_rank_cd' are the plain functions.
SELECT h.id, h.text_rank,
       abs(h.text_score - (ln(1 + 3.5 / 2.5) * ts_rank(to_tsvector('english', hs.chunk), 'index')
                         + ln(1 + 4.5 / 1.5) * ts_rank(to_tsvector('english', hs.chunk), 'lock'))) < 1e-5 AS idf_ok
FROM hybrid_search('hs', 'index locking', NULL::vector, k => 5) h JOIN hs USING (id) ORDER BY h.text_rank;
SELECT h.id, h.text_rank,
       abs(h.text_score - ts_rank(to_tsvector('english', hs.chunk), 'index | lock')) < 1e-6 AS rank_ok
FROM hybrid_search('hs', 'index locking', NULL::vector, k => 5, ranking => 'ts_rank') h JOIN hs USING (id) ORDER BY h.text_rank;
SELECT h.id, h.text_rank,
       abs(h.text_score - ts_rank_cd(to_tsvector('english', hs.chunk), 'index & lock')) < 1e-6 AS rank_cd_ok
FROM hybrid_search('hs', 'index locking', NULL::vector, k => 5, match => 'all') h JOIN hs USING (id) ORDER BY h.text_rank;
-- text only: 'any' matches either lexeme, 'all' takes web search syntax
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'index or locking', NULL::vector, k => 5, match => 'any');
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'index -locking', NULL::vector, k => 5, match => 'all');
-- text weight 2: 1 = 1/61 + 2/61, 2 = 1/62 + 2/62 ('cats' stems to 'cat')
SELECT id, vector_rank, text_rank,
       abs(score - CASE id WHEN 1 THEN 3.0/61 ELSE 3.0/62 END) < 1e-12 AS score_ok
FROM hybrid_search('hs', 'cats', '[1,0,0]'::vector, k => 2, text_weight => 2, fusion => 'rrf');
-- text only (vector weight 0) and vector only (no text match)
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, vector_weight => 0);
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'zebra', '[0,1,0]'::vector, k => 2);
-- a stored tsvector column gives the same result
ALTER TABLE hs ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', chunk)) STORED;
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'index locking', '[0,1,0]'::vector, k => 5, pool => 3, tsv_col => 'tsv', fusion => 'rrf');
-- other column names
CREATE TABLE hs2 AS SELECT id AS pk, chunk AS body, emb AS v FROM hs;
SELECT id, vector_rank, text_rank FROM hybrid_search('hs2', 'cat', '[1,0,0]'::vector, k => 3, id_col => 'pk', text_col => 'body', emb_col => 'v');
-- errors
\set VERBOSITY terse
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, k => 0);
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, pool => 0);
SELECT * FROM hybrid_search('hs', 'cat', '[1,0]'::vector);
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, emb_col => 'nope');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, match => 'some');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, ranking => 'bm25');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, ranking => 'okapi');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, fusion => 'max');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, vector_weight => -1);
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, text_weight => 'NaN');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, NULL::uuid);
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, id_col => 'nope');
-- the rerank stage (test/t/053_rag_rerank.pl runs it on a cross-encoder):
-- a missing model, also when there is no candidate, an embedding model, a
-- bad rerank_k, no query text to read
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, rerank_model => 'no_such_cross_encoder');
SELECT * FROM hybrid_search('hs', 'zebra', NULL::vector, rerank_model => 'no_such_cross_encoder');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, rerank_model => 'default');
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, rerank_model => 'x', rerank_k => 0);
SELECT * FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector, rerank_model => 'x', rerank_k => NULL);
SELECT * FROM hybrid_search('hs', NULL, '[1,0,0]'::vector, rerank_model => 'x');
SELECT * FROM retrieve('hs', 'cat', mode => 'text', doc_col => 'id', rerank_model => 'no_such_cross_encoder');
SELECT * FROM retrieve('hs', 'cat', mode => 'text', doc_col => 'id', rerank_model => 'x', rerank_k => -1);
\set VERBOSITY default
-- without rerank_model (the default) nothing is reranked
SELECT count(*) AS rows, count(rerank_score) AS reranked FROM hybrid_search('hs', 'cat', '[1,0,0]'::vector);

-- With a bm25 index on the text column the text side is BM25, and the
-- default fusion is 'auto' (see _hybrid_fuse): each side's scores scaled to
-- 0..1 (text: score / best; vector: (sim - lowest) / (best - lowest) over
-- the pool), weighted by the side's spread (best - mean) / best over the
-- pool (a short side padded with its lowest possible score)
CREATE INDEX hs_bm25 ON hs USING bm25 (chunk);
SELECT DISTINCT text_path FROM hybrid_search('hs', 'index locking', '[0,1,0]'::vector, k => 5, pool => 3);
CREATE TEMP TABLE h AS
SELECT * FROM hybrid_search('hs', 'index locking', '[0,1,0]'::vector, k => 10, pool => 3);
SELECT id, vector_rank, text_rank, round(text_score::numeric, 6) AS text_score FROM h ORDER BY score DESC;
-- the text scores are BM25's (the operator's value)
SELECT h.id, abs(h.text_score - bm25_score(hs.chunk, 'index locking')) < 1e-12 AS bm25_ok
FROM h JOIN hs USING (id) WHERE h.text_rank IS NOT NULL ORDER BY h.text_rank;
-- the fused score, recomputed from the two sides' scores
WITH v AS (SELECT max(1 - vector_distance) AS mx, min(1 - vector_distance) AS mn,
                  sum(1 - vector_distance) AS total, count(vector_rank) AS n FROM h),
t AS (SELECT max(text_score) AS mx, sum(text_score) AS total FROM h),
w AS (SELECT (v.mx - (v.total + (3 - v.n) * v.mn) / 3) / v.mx AS wv, (t.mx - t.total / 3) / t.mx AS wt,
             v.mx AS vmx, v.mn AS vmn, t.mx AS tmx FROM v, t)
SELECT h.id, round(w.wv::numeric, 6) AS wv, round(w.wt::numeric, 6) AS wt,
       abs(h.score - (coalesce(w.wv * ((1 - h.vector_distance) - w.vmn) / (w.vmx - w.vmn), 0)
                      + coalesce(w.wt * h.text_score / w.tmx, 0))) < 1e-12 AS score_ok
FROM h, w ORDER BY h.score DESC;
-- 'convex': the same scaling with the plain weights
SELECT id, abs(score - (coalesce(0.3 * ((1 - vector_distance) - min(1 - vector_distance) OVER ())
                                       / (max(1 - vector_distance) OVER () - min(1 - vector_distance) OVER ()), 0)
                        + coalesce(0.7 * text_score / max(text_score) OVER (), 0))) < 1e-12 AS score_ok
FROM hybrid_search('hs', 'index locking', '[0,1,0]'::vector, k => 10, pool => 3,
                   vector_weight => 0.3, text_weight => 0.7, fusion => 'convex')
ORDER BY score DESC;
-- text only / vector only
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'cats', '[1,0,0]'::vector, vector_weight => 0);
SELECT id, vector_rank, text_rank FROM hybrid_search('hs', 'cats', '[1,0,0]'::vector, text_weight => 0, k => 2);
-- 'all': every term required, filtered by the tsvector, ranked by BM25
SELECT id, text_rank, text_path FROM hybrid_search('hs', 'index locking', NULL::vector, match => 'all');
SELECT id, text_rank FROM hybrid_search('hs', 'index -locking', NULL::vector, match => 'all');
-- an explicit tsvector ranking still works next to the bm25 index
SELECT id, text_rank, text_path FROM hybrid_search('hs', 'index locking', NULL::vector, ranking => 'ts_rank');

-- Keys of any type: bigint by default, the type of id_type otherwise
SELECT pg_typeof(id), id FROM hybrid_search('hs', 'cats', NULL::vector, k => 1);
SELECT pg_typeof(id), id FROM hybrid_search('hs', 'cats', NULL::vector, NULL::int, k => 1);
SELECT pg_typeof(id), id FROM hybrid_search('hs', 'cats', NULL::vector, NULL::text, k => 1);
CREATE TABLE hu (id uuid PRIMARY KEY, chunk text, emb vector(3));
INSERT INTO hu VALUES ('00000000-0000-0000-0000-000000000001', 'The cat sat on the mat', '[1,0,0]'),
	('00000000-0000-0000-0000-000000000002', 'Dogs chase cats', '[0.9,0.1,0]'),
	('00000000-0000-0000-0000-000000000003', 'Indexes speed up queries', '[0,1,0]');
CREATE INDEX ON hu USING bm25 (chunk);
SELECT pg_typeof(id), id, vector_rank, text_rank FROM hybrid_search('hu', 'cat', '[1,0,0]'::vector, NULL::uuid, k => 3);
CREATE TABLE ht (id text PRIMARY KEY, chunk text, emb vector(3));
INSERT INTO ht SELECT 'doc-' || id, chunk, emb FROM hs;
SELECT pg_typeof(id), id, vector_rank, text_rank FROM hybrid_search('ht', 'cat', '[1,0,0]'::vector, NULL::text, k => 2);
\set VERBOSITY terse
SELECT * FROM hybrid_search('hu', 'cat', '[1,0,0]'::vector);
\set VERBOSITY default
DROP TABLE hu, ht;
