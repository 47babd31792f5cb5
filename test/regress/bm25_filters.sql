-- bm25: WHERE filters with ORDER BY <@> LIMIT k: the scan keeps ranking
-- further batches until k rows pass, so the result equals the filtered
-- exhaustive ranking, however selective the filter
SET jit = off;
SELECT setseed(0.5);
CREATE TABLE vocab AS
SELECT i, translate(left(md5(i::text), 6), '0123456789', 'ghijklmnop') AS w
FROM generate_series(1, 200) i;
CREATE TABLE docs (id int PRIMARY KEY, lang text, body text);
INSERT INTO docs
SELECT d, CASE WHEN d % 50 = 0 THEN 'rare' WHEN d % 3 = 0 THEN 'b' ELSE 'a' END,
       (SELECT string_agg(va[1 + floor(200 * power(random(), 2))::int + 0 * k], ' ')
        FROM generate_series(1, 5 + (random() * 30)::int + 0 * d) k)
FROM generate_series(1, 2000) d, (SELECT array_agg(w ORDER BY i) AS va FROM vocab) v;
CREATE INDEX docs_body ON docs USING bm25 (body);
CREATE TABLE queries AS
SELECT q, (SELECT string_agg(va[1 + floor(200 * random())::int + 0 * k], ' ')
           FROM generate_series(1, 3 + 0 * q) k) AS query
FROM generate_series(1, 15) q, (SELECT array_agg(w ORDER BY i) AS va FROM vocab) v;

-- The reference: every row scored by the operator, filtered, sorted
CREATE FUNCTION ref_top(q text, f text, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	SET LOCAL enable_indexscan = off;
	EXECUTE format('SELECT array_agg(id ORDER BY s, ctid) FROM (SELECT id, ctid, body <@> $1 AS s FROM docs'
	               ' WHERE %s ORDER BY s, ctid LIMIT $2) t WHERE s < 0', f) INTO r USING q, k;
	RETURN r;
END $$;
CREATE FUNCTION idx_top(q text, f text, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM docs WHERE %s'
	               ' ORDER BY body <@> $1 LIMIT $2) t', f) INTO r USING q, k;
	RETURN r;
END $$;

SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE lang = 'rare' ORDER BY body <@> 'x' LIMIT 10;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- Filters of decreasing selectivity (1/50 of the rows pass 'rare'):
-- results equal, however many batches it takes
SELECT f, count(*) AS queries,
	count(*) FILTER (WHERE idx_top(q.query, f, 10) IS NOT DISTINCT FROM ref_top(q.query, f, 10)) AS equal
FROM queries q, unnest(ARRAY['true', 'lang = ''a''', 'lang = ''b''', 'lang = ''rare''',
                            'id % 7 = 3', 'id > 1900', 'length(body) > 200']) f
GROUP BY f ORDER BY f;

-- Many batches of one row each
SET bm25.first_batch = 1;
SELECT count(*) FILTER (WHERE idx_top(q.query, 'lang = ''rare''', 20)
                        IS NOT DISTINCT FROM ref_top(q.query, 'lang = ''rare''', 20)) AS equal
FROM queries q;
RESET bm25.first_batch;

-- A filter no row passes: the scan ends after the last matching row
SELECT idx_top(query, 'false', 10) FROM queries WHERE q = 1;

-- A phrase as a filter, BM25 for the order (phrase queries)
SELECT string_agg(w, ' ' ORDER BY i) AS phrase FROM vocab WHERE i IN (1, 2) \gset
SELECT count(*) AS phrase_rows FROM docs
WHERE to_tsvector('english', body) @@ phraseto_tsquery('english', :'phrase');
SELECT idx_top(:'phrase', format('to_tsvector(''english'', body) @@ phraseto_tsquery(''english'', %L)', :'phrase'), 5)
	= ref_top(:'phrase', format('to_tsvector(''english'', body) @@ phraseto_tsquery(''english'', %L)', :'phrase'), 5)
	AS phrase_equal;

-- Rows deleted (not yet vacuumed) are skipped by the executor like filtered rows
DELETE FROM docs WHERE id % 2 = 0;
SELECT count(*) FILTER (WHERE idx_top(q.query, 'true', 10) IS NOT DISTINCT FROM ref_top(q.query, 'true', 10)) AS equal
FROM queries q;

-- Joins: the index scan is the outer side of a nested loop
CREATE TABLE langs (lang text PRIMARY KEY, label text);
INSERT INTO langs VALUES ('a', 'Alpha'), ('b', 'Beta'), ('rare', 'Rare');
SET enable_seqscan = off;
SELECT q.q, l.label, count(*) FROM queries q,
LATERAL (SELECT d.lang FROM docs d JOIN langs l USING (lang) WHERE l.label = 'Beta'
         ORDER BY d.body <@> q.query LIMIT 3) t JOIN langs l USING (lang)
WHERE q.q <= 3 GROUP BY 1, 2 ORDER BY 1, 2;
RESET enable_seqscan;

DROP TABLE vocab, docs, queries, langs;
DROP FUNCTION ref_top(text, text, int);
DROP FUNCTION idx_top(text, text, int);
