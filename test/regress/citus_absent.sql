-- semvec without Citus (sql/parts/60_citus.sql): the Citus helpers look
-- Citus up at run time, so nothing changes for plain tables; the Citus
-- cluster test is test/t/060_citus_scaleout.pl.
CREATE TABLE ca_chunks (id bigserial PRIMARY KEY, chunk text, emb vector(512));
INSERT INTO ca_chunks (chunk) VALUES ('one plain table'), ('not distributed');
SELECT _citus_distributed('ca_chunks'::regclass) AS distributed;
CALL embed_table('ca_chunks', quiet => true);
SELECT count(*) AS embedded FROM ca_chunks WHERE emb IS NOT NULL;
-- the node check needs Citus
SELECT * FROM semvec_node_models();
DROP TABLE ca_chunks;
