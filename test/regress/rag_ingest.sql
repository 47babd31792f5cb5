-- Ingestion patterns: chunks via LATERAL chunk(), batched embed_table(),
-- resume after partial work, and embeddings as a generated column.
CREATE TABLE docs (id int PRIMARY KEY, title text, body text);
INSERT INTO docs VALUES
	(1, 'Indexes', 'CREATE INDEX CONCURRENTLY builds an index without locking out writes. It takes longer than a plain build. The table is scanned twice.'),
	(2, 'Vacuum', 'VACUUM reclaims storage occupied by dead tuples. Autovacuum runs it automatically. VACUUM FULL rewrites the table and needs an exclusive lock.'),
	(3, 'Empty', ''),
	(4, 'Null', NULL);

CREATE TABLE chunks (
	id bigserial PRIMARY KEY,
	doc_id int REFERENCES docs,
	ord int,
	chunk text NOT NULL,
	char_start int,
	char_end int,
	emb vector(512)
);
INSERT INTO chunks (doc_id, ord, chunk, char_start, char_end)
SELECT d.id, c.ord, c.chunk, c.char_start, c.char_end
FROM docs d, LATERAL chunk(d.body, max_tokens => 24, overlap_tokens => 4) c
ORDER BY d.id, c.ord;
-- every chunk is a slice of its document; empty and NULL bodies give none
SELECT doc_id, count(*), bool_and(substr(d.body, char_start, char_end - char_start + 1) = chunk)
FROM chunks JOIN docs d ON d.id = doc_id GROUP BY doc_id ORDER BY doc_id;

-- batched embedding, 2 rows per embed(text[]) call and per transaction
CALL embed_table('chunks', batch => 2, quiet => true);
SELECT count(*) AS total, count(emb) AS embedded FROM chunks;
-- the batched vectors equal one-at-a-time embed()
SELECT bool_and((emb <=> embed(chunk)) < 1e-6) AS same FROM chunks;

-- resume: only NULL embeddings are filled, nothing is duplicated
UPDATE chunks SET emb = NULL WHERE id % 2 = 0;
CREATE TEMP TABLE before AS SELECT id, emb FROM chunks WHERE emb IS NOT NULL;
CALL embed_table('chunks', 'chunk', 'emb', 3, quiet => true);
SELECT count(*) AS total, count(emb) AS embedded, count(DISTINCT id) AS ids FROM chunks;
SELECT bool_and(b.emb::text = c.emb::text) AS untouched FROM before b JOIN chunks c USING (id);
SELECT bool_and((emb <=> embed(chunk)) < 1e-6) AS same FROM chunks;
-- nothing left: a no-op
CALL embed_table('chunks', quiet => true);

-- named model argument
UPDATE chunks SET emb = NULL WHERE id = 1;
CALL embed_table('chunks', model => 'default', quiet => true);
SELECT count(emb) = count(*) AS all_embedded FROM chunks;

-- errors
\set VERBOSITY terse
CALL embed_table('chunks', batch => 0);
CALL embed_table('chunks', emb_col => 'nope');
UPDATE chunks SET emb = NULL WHERE id = 2;
CALL embed_table('chunks', model => 'no_such_model', quiet => true);
\set VERBOSITY default
SELECT count(*) FILTER (WHERE emb IS NULL) AS still_null FROM chunks;
CALL embed_table('chunks', quiet => true);

-- the embedding as a generated column: computed per row on INSERT/UPDATE
CREATE TABLE chunks_gen (
	id serial PRIMARY KEY,
	chunk text,
	emb vector(512) GENERATED ALWAYS AS (embed(chunk)) STORED
);
INSERT INTO chunks_gen (chunk) SELECT chunk FROM chunks ORDER BY id;
SELECT count(*), bool_and((g.emb <=> c.emb) < 1e-6) AS same
FROM chunks_gen g JOIN chunks c ON c.id = g.id;

-- retrieval over the ingested chunks, with a bm25 index for the text side
CREATE INDEX chunks_bm25 ON chunks USING bm25 (chunk);
SELECT DISTINCT text_path FROM hybrid_search('chunks', 'build an index without locking writes', k => 3);
SELECT c.doc_id, h.vector_rank IS NOT NULL AS by_vector, h.text_rank IS NOT NULL AS by_text
FROM hybrid_search('chunks', 'build an index without locking writes', k => 1) h
JOIN chunks c ON c.id = h.id;
SELECT rank, doc_id, left(chunk, 30) AS chunk FROM retrieve('chunks', 'What does VACUUM FULL need?', k => 2);
SELECT rank, doc_id, score > 0.3 AS similar FROM retrieve('chunks', 'reclaiming storage from dead tuples', k => 1, mode => 'vector');
SELECT rank, doc_id, score > 0 AS matched FROM retrieve('chunks', 'concurrently', k => 3, mode => 'text');
-- (text mode: its BM25 score does not depend on the embedding kernels' rounding)
SELECT retrieve_prompt('chunks', 'Does VACUUM FULL lock the table?', k => 1, mode => 'text');
\set VERBOSITY terse
SELECT * FROM retrieve('chunks', 'x', mode => 'fuzzy');
CREATE VIEW chunks_v AS SELECT * FROM chunks;
CALL embed_table('chunks_v');
DROP VIEW chunks_v;
CREATE TABLE part_c (id int, chunk text, emb vector(512)) PARTITION BY RANGE (id);
CALL embed_table('part_c');
DROP TABLE part_c;
