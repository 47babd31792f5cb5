-- hnsw: rows with equal values share an element (up to 10 heap TIDs, as in
-- pgvector), in a build and in inserts; VACUUM drops dead rows one by one
SET enable_seqscan = off;
SET hnsw.ef_search = 1;
CREATE TABLE d (id int, v vector(3));
INSERT INTO d SELECT i, '[1,1,1]' FROM generate_series(1, 20) i;
-- Built: 20 rows in two elements; ef_search = 1 finds one: 10 rows
CREATE INDEX d_v ON d USING hnsw (v vector_l2_ops);
SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1]') t;
SELECT hnsw_check('d_v');
-- Inserted: the same
TRUNCATE d;
INSERT INTO d SELECT i, '[1,1,1]' FROM generate_series(1, 20) i;
SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1]') t;
-- With a wider search, every row once
RESET hnsw.ef_search;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1]') t;
-- Cosine: equal directions are equal values in the index
CREATE TABLE c (id int, v vector(2));
INSERT INTO c VALUES (1, '[1,1]'), (2, '[2,2]'), (3, '[3,3]'), (4, '[1,0]');
CREATE INDEX c_v ON c USING hnsw (v vector_cosine_ops);
SET hnsw.ef_search = 1;
SELECT id FROM c ORDER BY v <=> '[5,5]';
RESET hnsw.ef_search;
-- VACUUM removes dead rows from an element and keeps the live ones
DELETE FROM d WHERE id % 3 = 0;
VACUUM d;
SELECT count(*), count(DISTINCT id), sum(id) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1]') t;
SELECT sum(id) FROM d;
SELECT hnsw_check('d_v');
-- All rows of an element dead: the element goes; inserts reuse its place
DELETE FROM d;
VACUUM d;
SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1]') t;
SELECT pg_relation_size('d_v') AS size_before \gset
INSERT INTO d SELECT i, '[1,1,1]' FROM generate_series(1, 20) i;
SELECT pg_relation_size('d_v') = :size_before AS reused;
SELECT count(*) FROM (SELECT id FROM d ORDER BY v <-> '[1,1,1]') t;
SELECT hnsw_check('d_v');
-- An UPDATE that keeps the vector but is not HOT (the btree on the changed
-- column rules HOT out) adds the new row to the old row's element, found
-- by a narrow search, instead of inserting an element
CREATE TABLE u (id int, v vector(4));
SELECT setseed(0.3);
INSERT INTO u SELECT i, ARRAY[random(), random(), random(), random()]
  FROM generate_series(1, 1000) i;
CREATE INDEX u_id ON u (id);
CREATE INDEX u_v ON u USING hnsw (v vector_l2_ops);
SELECT pg_relation_size('u_v') AS size_before \gset
UPDATE u SET id = id + 10000 WHERE id <= 500;
SELECT pg_relation_size('u_v') = :size_before AS joined;
SET enable_seqscan = off;
-- every row is its own nearest, with its new id
SELECT count(*) FILTER (WHERE (SELECT id FROM u ORDER BY v <-> t.v LIMIT 1) = t.id) AS found
FROM u t;
-- an element full of heap TIDs takes no more: the row gets an element of its own
DO $$
BEGIN
	FOR i IN 1..12 LOOP
		UPDATE u SET id = -i WHERE id = CASE WHEN i = 1 THEN 10001 ELSE 1 - i END;
	END LOOP;
END $$;
SELECT id FROM u ORDER BY v <-> (SELECT v FROM u WHERE id = -12) LIMIT 1;
RESET enable_seqscan;
SELECT hnsw_check('u_v');
DROP TABLE d, c, u;
