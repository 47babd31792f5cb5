-- The companion extension "vector": CREATE EXTENSION vector works the way
-- tools written for pgvector expect, and owns nothing but its name.
-- Runs in its own database so that semvec can be absent at the start.
SELECT current_database() AS regdb \gset
CREATE DATABASE semvec_alias_test;
\c semvec_alias_test

-- Without semvec, plain CREATE EXTENSION vector names the missing requirement
CREATE EXTENSION vector;

-- CASCADE installs semvec first
CREATE EXTENSION vector CASCADE;
\dx
SELECT e.extname, r.extname AS requires
FROM pg_extension e
JOIN pg_depend d ON d.classid = 'pg_extension'::regclass AND d.objid = e.oid
JOIN pg_extension r ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = r.oid
WHERE d.deptype = 'n';

-- The alias owns no objects: everything vector-related belongs to semvec
SELECT count(*) AS objects_owned_by_vector
FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND e.extname = 'vector';
SELECT e.extname AS owner_of_type_vector
FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE d.classid = 'pg_type'::regclass AND d.objid = 'vector'::regtype
  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e';

-- semvec cannot be dropped from under the alias
DROP EXTENSION semvec;

-- Dropping the alias leaves semvec and existing data working
CREATE TABLE items (id int, embedding vector(3));
INSERT INTO items VALUES (1, '[1,2,3]'), (2, '[-0,0.5,1e-07]');
DROP EXTENSION vector;
\dx
SELECT id, embedding, embedding <-> '[1,1,1]' AS l2 FROM items ORDER BY embedding <-> '[1,1,1]';

-- With semvec present, LangChain/LlamaIndex's statement succeeds without CASCADE,
-- and repeating it is a no-op
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS vector;
SELECT extname, extversion FROM pg_extension ORDER BY extname;

-- DROP EXTENSION semvec CASCADE takes the alias and the table column with it
DROP EXTENSION semvec CASCADE;
SELECT extname FROM pg_extension ORDER BY extname;

\c :regdb
DROP DATABASE semvec_alias_test;
