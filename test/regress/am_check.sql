-- What hnsw_check, ivfflat_check and bm25_check share
-- (src/amcommon/indexcheck.c): they refuse what is not an index of their
-- access method and a user who does not own the table; a sound index checks.
CREATE TABLE amc (id int PRIMARY KEY, v vector(2), body text);
INSERT INTO amc SELECT i, ARRAY[i, i % 7]::vector, 'row number ' || i
	FROM generate_series(1, 50) i;
CREATE INDEX amc_hnsw ON amc USING hnsw (v vector_l2_ops);
CREATE INDEX amc_ivf ON amc USING ivfflat (v vector_l2_ops) WITH (lists = 2);
CREATE INDEX amc_bm25 ON amc USING bm25 (body);
SELECT hnsw_check('amc_hnsw'), ivfflat_check('amc_ivf'), bm25_check('amc_bm25');

-- not an index
SELECT hnsw_check('amc');
SELECT ivfflat_check('amc');
SELECT bm25_check('amc');
-- an index of another access method
SELECT hnsw_check('amc_ivf');
SELECT ivfflat_check('amc_bm25');
SELECT bm25_check('amc_pkey');

-- not the table's owner
CREATE ROLE amc_other;
SET ROLE amc_other;
SELECT hnsw_check('amc_hnsw');
SELECT ivfflat_check('amc_ivf');
SELECT bm25_check('amc_bm25');
RESET ROLE;
DROP ROLE amc_other;
DROP TABLE amc;
