-- bm25: scores equal a brute-force BM25 written in plain SQL, and the top k
-- of the index (Block-Max WAND, which skips blocks) equals exhaustive
-- scoring, on a random corpus spread over several segments and the
-- pending list
SET jit = off;
SELECT setseed(0.25);

-- 3,000 documents of 5..60 words from a Zipf-like vocabulary of 400 words:
-- frequent words have thousands of postings (many blocks of 128)
CREATE TABLE vocab AS
SELECT i, translate(left(md5(i::text), 7), '0123456789', 'ghijklmnop') AS w
FROM generate_series(1, 400) i;
CREATE TABLE corpus (id int PRIMARY KEY, body text);
INSERT INTO corpus
SELECT d, (SELECT string_agg(va[1 + floor(400 * power(random(), 2.5))::int + 0 * k], ' ')
           FROM generate_series(1, 5 + (random() * 55)::int + 0 * d) k)
FROM generate_series(1, 3000) d, (SELECT array_agg(w ORDER BY i) AS va FROM vocab) v;

-- Two thousand rows in the build, the rest inserted with a small pending
-- list: several segments (spills and merges) and a pending list remain
CREATE TABLE c2 AS SELECT * FROM corpus WHERE id <= 2000;
CREATE INDEX c2_body ON c2 USING bm25 (body);
SET bm25.pending_list_limit = '64kB';
INSERT INTO c2 SELECT * FROM corpus WHERE id > 2000 ORDER BY id;
RESET bm25.pending_list_limit;
SELECT documents, segments > 1 AS several_segments, pending_documents > 0 AS pending
FROM bm25_stats('c2_body');
SELECT bm25_check('c2_body');

-- Brute force: tf from to_tsvector's positions, length = their sum,
-- N = documents with a lexeme, df per lexeme, Lucene's idf
CREATE TABLE bf_tf AS
SELECT c.id, u.lexeme, array_length(u.positions, 1) AS tf
FROM c2 c, unnest(to_tsvector('english', c.body)) u;
CREATE TABLE bf_len AS SELECT id, sum(tf)::float8 AS len FROM bf_tf GROUP BY id;
CREATE TABLE bf_df AS SELECT lexeme, count(*)::float8 AS df FROM bf_tf GROUP BY lexeme;
CREATE FUNCTION bf_scores(q text, k1 float8 DEFAULT 1.2, b float8 DEFAULT 0.75)
RETURNS TABLE(id int, score float8) LANGUAGE sql STABLE AS $$
	WITH s AS (SELECT count(*)::float8 AS n, avg(len) AS avgdl FROM bf_len),
	qt AS (SELECT u.lexeme, array_length(u.positions, 1) AS qtf
	       FROM unnest(to_tsvector('english', q)) u)
	SELECT t.id, sum(ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5)) * qt.qtf
	                 * t.tf * (k1 + 1) / (t.tf + k1 * (1 - b + b * l.len / s.avgdl)))
	FROM qt JOIN bf_tf t USING (lexeme) JOIN bf_df d USING (lexeme)
	JOIN bf_len l ON l.id = t.id, s
	GROUP BY t.id
$$;
SELECT (SELECT count(*) FROM bf_len) AS n, (SELECT sum(len) FROM bf_len) AS total_length,
	(documents, total_length) = ((SELECT count(*) FROM bf_len), (SELECT sum(len)::bigint FROM bf_len))
		AS stats_match
FROM bm25_stats('c2_body');

-- Queries: 2..6 random vocabulary words, some repeated
CREATE TABLE queries AS
SELECT q, (SELECT string_agg(va[1 + floor(400 * power(random(), 1.5))::int + 0 * k], ' ')
           FROM generate_series(1, 2 + (random() * 4)::int + 0 * q) k) AS query
FROM generate_series(1, 100) q, (SELECT array_agg(w ORDER BY i) AS va FROM vocab) v;

-- Brute-force scores of every matching document, for every query
CREATE TABLE bf_all AS SELECT q.q, s.id, s.score FROM queries q, bf_scores(q.query) s;

SET enable_seqscan = off;

-- Every document the index returns for 20 queries (all matching ones),
-- scored by the index and by brute force: the same set, scores to 1e-5
CREATE TABLE idx_all AS
SELECT q.q, s.id, s.score
FROM queries q, LATERAL (SELECT id, -(body <@> q.query) AS score FROM c2
                         ORDER BY body <@> q.query LIMIT 100000) s
WHERE q.q <= 20;
SELECT count(*) AS rows_compared,
	count(*) FILTER (WHERE i.id IS NULL OR b.id IS NULL) AS missing_or_extra,
	max(abs(i.score - b.score)) < 1e-5 AS scores_equal
FROM idx_all i
FULL JOIN (SELECT * FROM bf_all WHERE q <= 20) b ON b.q = i.q AND b.id = i.id;

-- Exhaustive top 10 against the index's top 10 for 100 queries: the same
-- scores at every rank, and each returned row's own score is right
CREATE TABLE idx_top AS
SELECT q.q, s.rank, s.id, s.score
FROM queries q, LATERAL (SELECT id, -(body <@> q.query) AS score,
                                row_number() OVER () AS rank
                         FROM (SELECT id, body FROM c2 ORDER BY body <@> q.query LIMIT 10) t) s;
CREATE TABLE bf_top AS
SELECT q, rank, id, score
FROM (SELECT q, id, score, row_number() OVER (PARTITION BY q ORDER BY score DESC, id) AS rank
      FROM bf_all) s
WHERE rank <= 10;
SELECT count(DISTINCT q) AS queries, count(*) AS ranks,
	count(*) FILTER (WHERE abs(i.score - b.score) >= 1e-9 OR i.q IS NULL OR b.q IS NULL) AS rank_mismatches
FROM idx_top i FULL JOIN bf_top b USING (q, rank);
SELECT count(*) AS rows_checked,
	count(*) FILTER (WHERE abs(i.score - s.score) >= 1e-9) AS wrong_scores
FROM idx_top i JOIN bf_all s USING (q, id);


-- Ties: equal scores come out in heap TID order
SELECT count(*) AS tie_pairs_out_of_order
FROM (SELECT i.q, i.rank, i.score, c.ctid,
             lag(i.score) OVER w AS pscore, lag(c.ctid) OVER w AS pctid
      FROM idx_top i JOIN c2 c ON c.id = i.id WINDOW w AS (PARTITION BY i.q ORDER BY i.rank)) s
WHERE score = pscore AND ctid < pctid;

-- One row per batch: the scan continues exactly where it stopped
SET bm25.first_batch = 1;
SELECT count(*) AS mismatches
FROM idx_top i JOIN queries q USING (q),
LATERAL (SELECT id, row_number() OVER () AS rank
         FROM (SELECT id FROM c2 ORDER BY body <@> q.query LIMIT 10) t) s
WHERE s.rank = i.rank AND s.id <> i.id;
RESET bm25.first_batch;

-- Other k1 and b (applied at query time) against brute force with the same
ALTER INDEX c2_body SET (k1 = 2.0, b = 0.3);
SELECT count(*) AS ranks,
	count(*) FILTER (WHERE abs(i.score - b.score) >= 1e-9) AS mismatches
FROM queries q,
LATERAL (SELECT -(body <@> q.query) AS score, row_number() OVER () AS rank
         FROM (SELECT body FROM c2 ORDER BY body <@> q.query LIMIT 5) t) i,
LATERAL (SELECT score, row_number() OVER (ORDER BY score DESC) AS rank
         FROM bf_scores(q.query, 2.0, 0.3) ORDER BY score DESC LIMIT 5) b
WHERE i.rank = b.rank AND q.q <= 30;
ALTER INDEX c2_body SET (k1 = 0, b = 0);
SELECT count(*) FILTER (WHERE abs(i.score - b.score) >= 1e-9) AS mismatches
FROM queries q,
LATERAL (SELECT -(body <@> q.query) AS score, row_number() OVER () AS rank
         FROM (SELECT body FROM c2 ORDER BY body <@> q.query LIMIT 5) t) i,
LATERAL (SELECT score, row_number() OVER (ORDER BY score DESC) AS rank
         FROM bf_scores(q.query, 0, 0) ORDER BY score DESC LIMIT 5) b
WHERE i.rank = b.rank AND q.q <= 30;
ALTER INDEX c2_body RESET (k1, b);

-- The same ranking after a VACUUM turned the pending list into a segment
-- and merged: nothing changed but the layout
VACUUM c2;
SELECT pending_documents FROM bm25_stats('c2_body');
SELECT bm25_check('c2_body');
SELECT count(*) AS mismatches
FROM idx_top i JOIN queries q USING (q),
LATERAL (SELECT id, row_number() OVER () AS rank
         FROM (SELECT id FROM c2 ORDER BY body <@> q.query LIMIT 10) t) s
WHERE s.rank = i.rank AND s.id <> i.id;

-- A fresh build on the same rows: one segment, same results
CREATE INDEX c2_body2 ON c2 USING bm25 (body);
DROP INDEX c2_body;
SELECT segments FROM bm25_stats('c2_body2');
SELECT count(*) AS mismatches
FROM idx_top i JOIN queries q USING (q),
LATERAL (SELECT id, row_number() OVER () AS rank
         FROM (SELECT id FROM c2 ORDER BY body <@> q.query LIMIT 10) t) s
WHERE s.rank = i.rank AND s.id <> i.id;

-- Block-Max WAND scores a fraction of the matching documents and skips
-- blocks: three frequent words and a rarer one, top 10 and top 100
SELECT string_agg(w, ' ' ORDER BY i) AS frequent FROM vocab WHERE i IN (1, 2, 3, 40) \gset
SET client_min_messages = debug1;
SELECT count(*) FROM (SELECT id FROM c2 ORDER BY body <@> :'frequent' LIMIT 10) s;
SET bm25.first_batch = 100;
SELECT count(*) FROM (SELECT id FROM c2 ORDER BY body <@> :'frequent' LIMIT 100) s;
RESET bm25.first_batch;
RESET client_min_messages;
RESET enable_seqscan;

DROP TABLE vocab, corpus, c2, bf_tf, bf_len, bf_df, bf_all, queries, idx_all, idx_top, bf_top;
DROP FUNCTION bf_scores(text, float8, float8);
