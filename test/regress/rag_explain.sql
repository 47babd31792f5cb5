-- ORDER BY emb <=> embed('question') LIMIT k: the question is embedded once
-- (embed() is IMMUTABLE, so the planner folds it into a constant vector)
-- and the hnsw index provides the order.

-- EXPLAIN lines with long vector constants shortened to '[...]'
CREATE FUNCTION explain_short(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT regexp_replace(line, '''\[[^]]*\]''', '''[...]''', 'g');
	END LOOP;
END $$;

CREATE TABLE ex_chunks (id bigserial PRIMARY KEY, chunk text NOT NULL, emb vector(512));
INSERT INTO ex_chunks (chunk)
SELECT c.chunk FROM (VALUES
	('CREATE INDEX CONCURRENTLY builds an index without locking out writes. It scans the table twice and waits for transactions.'),
	('VACUUM reclaims storage occupied by dead tuples. VACUUM FULL rewrites the whole table and takes an exclusive lock.'),
	('EXPLAIN shows the execution plan of a statement. EXPLAIN ANALYZE also runs it and reports the actual times.'),
	('The LOCK command takes a table-level lock. ACCESS EXCLUSIVE conflicts with every other lock mode.')) AS d(body),
	LATERAL chunk(d.body, 12, 2) AS c;
CALL embed_table('ex_chunks', quiet => true);
CREATE INDEX ex_chunks_emb ON ex_chunks USING hnsw (emb vector_cosine_ops);
ANALYZE ex_chunks;
SET enable_seqscan = off;

SELECT * FROM explain_short($$SELECT id FROM ex_chunks ORDER BY emb <=> embed('how do I build an index without blocking writes?') LIMIT 3$$);
-- no embed() call is left in the plan
SELECT count(*) AS embed_calls_in_plan
FROM explain_short($$SELECT id FROM ex_chunks ORDER BY emb <=> embed('how do I build an index without blocking writes?') LIMIT 3$$) AS l
WHERE l LIKE '%embed(%';
-- the index answers like an exact scan
SELECT left(chunk, 40) FROM ex_chunks ORDER BY emb <=> embed('how do I build an index without blocking writes?') LIMIT 1;
RESET enable_seqscan;
SELECT left(chunk, 40) FROM ex_chunks ORDER BY emb <=> embed('how do I build an index without blocking writes?') LIMIT 1;
-- a named model folds the same way
SET enable_seqscan = off;
SELECT * FROM explain_short($$SELECT id FROM ex_chunks ORDER BY emb <=> embed('vacuum', 'default') LIMIT 1$$);
