-- bm25: a query that names an index (to_bm25query(q, 'index')) is scored
-- with that index's statistics.  Naming another table's index for a column
-- that has a bm25 index of its own is an error, not other scores: this is
-- what a Citus shard would otherwise do with the distributed table's index
-- name, which on a worker belongs to an empty shell table.
CREATE TABLE na (id int PRIMARY KEY, body text);
CREATE TABLE nb (id int PRIMARY KEY, body text);
CREATE TABLE nc (id int PRIMARY KEY, body text);
INSERT INTO na VALUES (1, 'the quick brown fox'), (2, 'a lazy dog'), (3, 'fox and fox');
INSERT INTO nb VALUES (1, 'a fox in the snow'), (2, 'dogs and cats');
INSERT INTO nc VALUES (1, 'fox tales'), (2, 'no animals here');
CREATE INDEX na_body ON na USING bm25 (body);
CREATE INDEX nb_body ON nb USING bm25 (body);

-- the own index, named or not: the same scores
SELECT id, round(bm25_score(body, 'fox')::numeric, 6) AS own,
	round(bm25_score(body, to_bm25query('fox', 'na_body'))::numeric, 6) AS named
FROM na ORDER BY id;

-- another table's index on a column with its own index: an error, in the
-- select list, in ORDER BY and with a parameter
SELECT id, bm25_score(body, to_bm25query('fox', 'na_body')) FROM nb;
SELECT id FROM nb ORDER BY body <@> to_bm25query('fox', 'na_body') LIMIT 1;
PREPARE q(text) AS SELECT id FROM nb ORDER BY body <@> to_bm25query($1, 'na_body') LIMIT 1;
EXECUTE q('fox');
DEALLOCATE q;

-- a column without a bm25 index may be scored with any index's statistics
SELECT id, round(bm25_score(body, to_bm25query('fox', 'na_body'))::numeric, 6) AS with_na
FROM nc ORDER BY id;
-- ... and a constant document too
SELECT round(bm25_score('fox fox', to_bm25query('fox', 'nb_body'))::numeric, 6) AS constant_doc;

DROP TABLE na, nb, nc;
