-- bm25: a query that carries corpus statistics scores with them instead of
-- its index's own.  A table holding a third of the rows (as a Citus shard
-- does), queried with the statistics of the table holding all of them,
-- gives each row the score it has there, and its top k (Block-Max WAND,
-- whose bounds use the carried statistics) is the whole table's top k
-- restricted to its rows.
SET jit = off;
SELECT setseed(0.5);

CREATE TABLE vocab AS
SELECT i, translate(left(md5(i::text), 7), '0123456789', 'ghijklmnop') AS w
FROM generate_series(1, 300) i;
CREATE TABLE whole (id int PRIMARY KEY, body text);
INSERT INTO whole
SELECT d, (SELECT string_agg(va[1 + floor(300 * power(random(), 2.5))::int + 0 * k], ' ')
           FROM generate_series(1, 5 + (random() * 45)::int + 0 * d) k)
FROM generate_series(1, 2400) d, (SELECT array_agg(w ORDER BY i) AS va FROM vocab) v;
CREATE INDEX whole_body ON whole USING bm25 (body);
-- the "shard": every third row, in several segments and a pending list
CREATE TABLE part (id int PRIMARY KEY, body text);
INSERT INTO part SELECT * FROM whole WHERE id % 3 = 0 AND id <= 1200;
CREATE INDEX part_body ON part USING bm25 (body);
SET bm25.pending_list_limit = '64kB';
INSERT INTO part SELECT * FROM whole WHERE id % 3 = 0 AND id > 1200 ORDER BY id;
RESET bm25.pending_list_limit;
SELECT documents, segments > 1 AS several_segments, pending_documents > 0 AS pending
FROM bm25_stats('part_body');

CREATE TABLE queries AS
SELECT n, (SELECT string_agg(w, ' ') FROM vocab WHERE i IN (n, 3 * n + 1, 7 * n + 2, 40 + n)) AS q
FROM generate_series(1, 12) n;

-- bm25_index_stats(): documents, total length, df per query lexeme, as
-- bm25_stats() and bm25_query_terms() report them
SELECT s.docs = b.documents AS docs_ok, s.length = b.total_length AS length_ok,
       s.terms = (SELECT array_agg(term ORDER BY term COLLATE "C") FROM bm25_query_terms('whole_body', q.q)) AS terms_ok,
       s.dfs = (SELECT array_agg(df ORDER BY term COLLATE "C") FROM bm25_query_terms('whole_body', q.q)) AS dfs_ok
FROM queries q, bm25_index_stats('whole_body', q.q) s, bm25_stats('whole_body') b
WHERE q.n = 1;
SELECT docs, length > docs AS has_length, cardinality(terms) AS nterms
FROM bm25_index_stats('whole_body', 'nothingsuchword');
SELECT * FROM bm25_index_stats('whole_body', '');

-- the index's own numbers carried by the query: the same scores, to the bit
CREATE TABLE own AS
SELECT q.n, w.id, -(w.body <@> q.q) AS plain,
       -(w.body <@> to_bm25query(q.q, s.docs, s.length, s.terms, s.dfs)) AS carried
FROM queries q, bm25_index_stats('whole_body', q.q) s, whole w;
SELECT count(*) AS pairs, count(*) FILTER (WHERE plain <> carried) AS differ,
       count(*) FILTER (WHERE plain > 0) AS nonzero
FROM own;

-- the whole table's numbers carried to the part: every row of the part
-- scores as in the whole table (<@> and bm25_score(), outside a scan)
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS rows, count(*) FILTER (WHERE abs(-(p.body <@> g.bq) - w.score) > 0) AS differ,
       count(*) FILTER (WHERE bm25_score(p.body, g.bq) <> w.score) AS score_differ,
       count(*) FILTER (WHERE w.score > 0) AS nonzero
FROM queries q
CROSS JOIN LATERAL (SELECT to_bm25query(q.q, s.docs, s.length, s.terms, s.dfs) AS bq
                    FROM bm25_index_stats('whole_body', q.q) s) g
JOIN part p ON true
JOIN LATERAL (SELECT bm25_score(w.body, q.q::bm25query) AS score FROM whole w WHERE w.id = p.id) w ON true;
-- without them, the part's own statistics give other scores
SELECT count(*) FILTER (WHERE -(p.body <@> q.q) <> bm25_score(w.body, q.q::bm25query)) > 0 AS own_stats_differ
FROM queries q, part p JOIN whole w USING (id);
RESET enable_indexscan;
RESET enable_bitmapscan;

-- index scans with the whole table's numbers: the top 10 of the part is
-- the whole table's top 10 among the part's rows, with the same scores
-- (ties broken by id on both sides)
CREATE FUNCTION part_top(q text, k int) RETURNS TABLE(id int, score float8) LANGUAGE plpgsql AS $$
DECLARE bq bm25query;
BEGIN
	SELECT to_bm25query(q, s.docs, s.length, s.terms, s.dfs) INTO bq FROM bm25_index_stats('whole_body', q) s;
	RETURN QUERY SELECT p.id, -(p.body <@> bq) FROM part p ORDER BY p.body <@> bq LIMIT k;
END $$;
EXPLAIN (COSTS OFF) SELECT id FROM part ORDER BY body <@> to_bm25query('x', 10, 100, '{x}', '{1}') LIMIT 10;
SELECT q.n,
       (SELECT array_agg(t.id ORDER BY t.score DESC, t.id) FROM part_top(q.q, 10) t) =
       (SELECT array_agg(x.id ORDER BY x.score DESC, x.id) FROM
          (SELECT w.id, bm25_score(w.body, q.q::bm25query) AS score FROM whole w
           WHERE w.id % 3 = 0 ORDER BY 2 DESC, 1 LIMIT 10) x) AS same_top10,
       (SELECT array_agg(t.score ORDER BY t.score DESC, t.id) FROM part_top(q.q, 10) t) =
       (SELECT array_agg(x.score ORDER BY x.score DESC, x.id) FROM
          (SELECT w.id, bm25_score(w.body, q.q::bm25query) AS score FROM whole w
           WHERE w.id % 3 = 0 ORDER BY 2 DESC, 1 LIMIT 10) x) AS same_scores
FROM queries q ORDER BY q.n;
-- deeper than one batch (the next batches keep the carried statistics)
SELECT (SELECT array_agg(t.id ORDER BY t.score DESC, t.id) FROM part_top(q.q, 150) t) =
       (SELECT array_agg(x.id ORDER BY x.score DESC, x.id) FROM
          (SELECT w.id, bm25_score(w.body, q.q::bm25query) AS score FROM whole w
           WHERE w.id % 3 = 0 AND bm25_score(w.body, q.q::bm25query) > 0 ORDER BY 2 DESC, 1 LIMIT 150) x)
       AS same_top150
FROM queries q WHERE q.n = 2;

-- text and binary forms: a plain query is its text, as always; statistics
-- come as a bm25stats(...) prefix that reads back to the same value
SELECT 'hello world'::bm25query::text AS plain, 'bm25stat hello'::bm25query::text AS not_a_prefix;
SELECT bm25query_send('hello world') = convert_to('hello world', 'UTF8') AS plain_binary;
SELECT to_bm25query('cats and dogs', 100, 2500, '{cat,dog,"it''s"}', '{12,3,0}') AS q;
SELECT 'bm25stats(docs=100, length=2500, ''cat'':12, ''dog'':3) cats and dogs'::bm25query::text AS q;
SELECT 'bm25stats( docs = 5 , length=9 )no space'::bm25query::text AS q;
SELECT 'bm25stats(docs=5, length=9)'::bm25query::text AS empty_text;
SELECT bm25query_send(to_bm25query('cats', 7, 20, '{cat}', '{2}')) =
       convert_to(to_bm25query('cats', 7, 20, '{cat}', '{2}')::text, 'UTF8') AS binary_is_text;
SELECT to_bm25query('cats', 7, 20, '{cat}', '{2}')::text::bm25query::text AS roundtrip;

-- bad input
SELECT 'bm25stats(docs=5'::bm25query;
SELECT 'bm25stats(docs=5, length=x) q'::bm25query;
SELECT 'bm25stats(docs=5, length=9, cat:1) q'::bm25query;
SELECT 'bm25stats(docs=5, length=9, ''cat:1) q'::bm25query;
SELECT 'bm25stats(docs=5, length=9, ''cat'':6) q'::bm25query;
SELECT 'bm25stats(docs=5, length=9, ''cat'':1, ''cat'':2) q'::bm25query;
SELECT 'bm25stats(docs=99999999999999999999, length=9) q'::bm25query;
SELECT to_bm25query('q', -1, 9, '{}', '{}');
SELECT to_bm25query('q', 5, 9, '{a,b}', '{1}');
SELECT to_bm25query('q', 5, 9, '{a}', '{NULL}');
SELECT to_bm25query('q', 5, 9, '{""}', '{1}');
SELECT to_bm25query('q', 5, 9, '{{a}}', '{{1}}');
-- statistics that miss a lexeme of the query
SELECT id FROM whole ORDER BY body <@> to_bm25query((SELECT w FROM vocab WHERE i = 1), 10, 100, '{zzz}', '{1}') LIMIT 1;
SELECT bm25_score(body, to_bm25query((SELECT w FROM vocab WHERE i = 1), 10, 100, '{zzz}', '{1}')) FROM whole LIMIT 1;
-- a bm25stats document count of zero: nothing scores
SELECT count(*) FILTER (WHERE bm25_score(body, to_bm25query(q.q, 0, 0, s.terms, array_fill(0::bigint, ARRAY[cardinality(s.dfs)]))) <> 0) AS scored
FROM queries q, bm25_index_stats('whole_body', q.q) s, whole WHERE q.n = 1;
-- bm25_corpus_stats() of a local table is the index's own
SELECT (SELECT row(s.*) FROM bm25_corpus_stats('whole_body', q.q) s) =
       (SELECT row(s.*) FROM bm25_index_stats('whole_body', q.q) s) AS same,
       bm25_corpus_query('whole_body', q.q)::text LIKE 'bm25stats(docs=2400, %' AS carries
FROM queries q WHERE q.n = 3;

DROP FUNCTION part_top(text, int);
DROP TABLE vocab, whole, part, queries, own;
