-- semvec installs under two extension names, semvec and vector (pgvector's
-- name), with the same objects; a database holds one of them.  Runs in a
-- database of its own so that neither is installed at the start.
SELECT current_database() AS regdb \gset
CREATE DATABASE semvec_names_test;
\c semvec_names_test
SET client_min_messages = notice;

-- the versions installed under each name, and the update paths: every
-- sql/semvec--A--B.sql has its sql/vector--VA--VB.sql (docs/conformance.md)
SELECT name, version, superuser, relocatable FROM pg_available_extension_versions
WHERE name IN ('semvec', 'vector') ORDER BY name, version;
SELECT (SELECT count(*) FROM pg_extension_update_paths('semvec') WHERE path IS NOT NULL) =
	(SELECT count(*) FROM pg_extension_update_paths('vector') WHERE path IS NOT NULL) AS same_update_paths;

-- CREATE EXTENSION vector, as every pgvector client runs it: no CASCADE needed
CREATE EXTENSION vector;
SELECT extname, extversion, extrelocatable FROM pg_extension WHERE extname <> 'plpgsql';
SELECT '[1,2,3]'::vector <-> '[1,2,4]' AS l2, vector_dims('[1,2]'::vector);
-- the objects it installed, for comparison with semvec's below
CREATE TEMP TABLE vector_objects AS
SELECT pg_describe_object(classid, objid, objsubid) AS obj
FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'vector';
SELECT count(*) > 20 AS many_objects FROM vector_objects;
-- every C function points at semvec's library
SELECT DISTINCT probin FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
JOIN pg_extension e ON d.refobjid = e.oid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'vector' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c');

-- repeating it is a no-op; updating to the installed version too
CREATE EXTENSION IF NOT EXISTS vector;
ALTER EXTENSION vector UPDATE;
-- the other name is refused with a clear error, with or without IF NOT EXISTS
CREATE EXTENSION semvec;
CREATE EXTENSION IF NOT EXISTS semvec;
\set VERBOSITY verbose
CREATE EXTENSION semvec;
\set VERBOSITY default
-- columns of its types keep it from being dropped without CASCADE
CREATE TABLE items (id int, embedding vector(3));
INSERT INTO items VALUES (1, '[1,2,3]');
DROP EXTENSION vector;
DROP TABLE items;
DROP EXTENSION vector;

-- the same under semvec's own name
CREATE EXTENSION semvec;
SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql';
CREATE TEMP TABLE semvec_objects AS
SELECT pg_describe_object(classid, objid, objsubid) AS obj
FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'semvec';
-- identical object sets
SELECT count(*) AS only_under_vector FROM (SELECT obj FROM vector_objects EXCEPT SELECT obj FROM semvec_objects) x;
SELECT count(*) AS only_under_semvec FROM (SELECT obj FROM semvec_objects EXCEPT SELECT obj FROM vector_objects) x;
ALTER EXTENSION semvec UPDATE;
CREATE EXTENSION vector;
CREATE EXTENSION IF NOT EXISTS vector;
DROP EXTENSION semvec;

-- WITH SCHEMA works under either name (the extension is not relocatable
-- afterwards: it refers to its schema in SQL function bodies)
CREATE SCHEMA extensions;
CREATE EXTENSION vector WITH SCHEMA extensions;
SELECT '[1,2]'::extensions.vector OPERATOR(extensions.<->) '[1,3]';
ALTER EXTENSION vector SET SCHEMA public;
DROP EXTENSION vector;

\c :regdb
DROP DATABASE semvec_names_test;
