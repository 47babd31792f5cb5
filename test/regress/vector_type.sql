-- vector type: text I/O, typmod, array casts, binary send/recv and COPY

-- Text input: whitespace, number syntaxes strtof accepts
SELECT '[1,2,3]'::vector;
SELECT ' [ 1,  2 ,    3  ] '::vector;
SELECT (E'\t[\n1,\r2\f,' || chr(11) || E'3]\n')::vector;
SELECT '[0.1, 0.2]'::vector;
SELECT '[1.,.5,+1,-0,1e5,1E-5,1.5e+38,0x1p-2]'::vector;
SELECT '[1.0E-7,0.10000000149011612,1e+21,0.0000001]'::vector;

-- Output: shortest text that reads back to the same float4, never spaces
SELECT '[1.5e38,-0,0.0001,1e-7,123456,1234567,1.23456,-3]'::vector;
SELECT '[3.4028235e38,-3.4028235e38,1.1754944e-38,1.4e-45]'::vector;
SELECT '[0.1,0.2,0.3,0.333333333333,100000,999999,1000000]'::vector;

-- Underflow to zero is accepted silently (as in float4in and pgvector)
SELECT '[1e-46,-1e-46,1]'::vector;

-- Text round trip is exact for awkward values
CREATE TABLE rt (v vector);
INSERT INTO rt SELECT ('[' || x || ',' || -x || ',' || x * 1e-30 || ']')::vector
	FROM (VALUES (0.1::float4), (1/3::float4), (16777217::float4), (3.1415927::float4)) s(x);
SELECT v, v::text::vector = v AS same FROM rt;
SELECT v::text::vector::text = v::text AS same_text FROM rt;
DROP TABLE rt;

-- 16000 dimensions is the maximum
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);

-- Typmod: enforced on cast and on assignment
SELECT '[1,2,3]'::vector(3);
CREATE TABLE t3 (id int, v vector(3));
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 't3'::regclass AND attname = 'v';
INSERT INTO t3 VALUES (1, '[1,2,3]');
INSERT INTO t3 VALUES (2, '[1,2]');
INSERT INTO t3 VALUES (3, '[1,2,3,4]'::vector);
UPDATE t3 SET v = '[1,2]'::vector WHERE id = 1;
INSERT INTO t3 VALUES (4, ARRAY[4,5,6]);
INSERT INTO t3 VALUES (5, ARRAY[4,5]);
SELECT * FROM t3 ORDER BY id;
DROP TABLE t3;

-- NULL in, NULL out
SELECT NULL::vector, vector_dims(NULL), NULL::vector <-> '[1]';

-- Casts from arrays (assignment casts) and to real[] (implicit)
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.25,-3]::real[]::vector;
SELECT ARRAY[1.5,2.25,-3]::double precision[]::vector;
SELECT ARRAY[1.5,2.25,-3]::numeric[]::vector;
SELECT ARRAY[0.1::float8]::vector, ARRAY[0.1::numeric]::vector;
SELECT ARRAY[1e-300::float8]::vector;
SELECT '{1,2,3}'::int[]::vector(3);
SELECT '[1,2,3]'::vector::real[];
SELECT array_length('[1,2,3]'::vector::real[], 1);
SELECT array_to_vector('{7,8}'::int[], -1, false), vector_to_float4('[7,8]', -1, false);
-- the implicit cast lets functions taking real[] take a vector
CREATE FUNCTION last_elem(real[]) RETURNS real LANGUAGE sql
	AS 'SELECT $1[array_upper($1, 1)]';
SELECT last_elem('[4,5,6,7]'::vector);
DROP FUNCTION last_elem(real[]);
CREATE TABLE treal (a real[]);
INSERT INTO treal VALUES ('[4,5]'::vector);
SELECT * FROM treal;
DROP TABLE treal;
-- assignment cast: arrays go into vector columns without an explicit cast
CREATE TABLE tcast (v vector);
INSERT INTO tcast VALUES (ARRAY[1,2]), (ARRAY[1.5::real,2]), (ARRAY[1.5::float8,3]), (ARRAY[2.5::numeric,4]);
SELECT * FROM tcast;
DROP TABLE tcast;
-- ...but a plain expression needs an explicit cast (not an implicit one)
SELECT ARRAY[1,2] <-> '[1,2]'::vector;

-- Arrays of vectors quote each element
SELECT ARRAY['[1,2,3]'::vector, '[4,5,6]'];
SELECT '{"[1,2,3]","[4,5,6]"}'::vector[];
SELECT pg_typeof('{"[1,2]"}'::vector[]), 'vector[]'::regtype, '_vector'::regtype;

-- Binary: vector_send is pgvector's layout (uint16 dim, uint16 unused = 0,
-- dim big-endian float4s)
SELECT vector_send('[1,-2,0.5]');
SELECT vector_send('[1.5e38]'), vector_send('[-0]');

-- Binary COPY out and back in
CREATE TABLE tb (id int, v vector(3));
INSERT INTO tb VALUES (1, '[1,2,3]'), (2, '[-0.1,1e-30,3.4028235e38]'), (3, NULL);
COPY tb TO '/tmp/semvec_vector_copy.bin' WITH (FORMAT binary);
CREATE TABLE tb2 (id int, v vector(3));
COPY tb2 FROM '/tmp/semvec_vector_copy.bin' WITH (FORMAT binary);
SELECT * FROM tb2 ORDER BY id;
SELECT count(*) AS identical FROM tb JOIN tb2 USING (id) WHERE tb.v = tb2.v AND tb.v::text = tb2.v::text;
-- the file holds pgvector's bytes: after the 19-byte COPY header, the first
-- row is int16 2 (fields), int32 4 + int32 1 (id), then int32 16 (length)
-- and the vector: 0003 0000 3f800000 40000000 40400000
SELECT lo_import('/tmp/semvec_vector_copy.bin') AS lo \gset
SELECT substr(encode(lo_get(:lo), 'hex'), 39, 60) AS first_row;
SELECT lo_unlink(:lo);

-- Binary into a column of the wrong dimension is refused (typmod check in recv)
CREATE TABLE tb4 (id int, v vector(4));
COPY tb4 FROM '/tmp/semvec_vector_copy.bin' WITH (FORMAT binary);
DROP TABLE tb, tb2, tb4;

-- Text COPY round trip
CREATE TABLE tt (v vector);
INSERT INTO tt VALUES ('[1,2.5,-3e-07]'), ('[0.1]');
COPY tt TO '/tmp/semvec_vector_copy.txt';
CREATE TABLE tt2 (v vector);
COPY tt2 FROM '/tmp/semvec_vector_copy.txt';
SELECT * FROM tt2;
DROP TABLE tt, tt2;

-- Storage is external (no compression of float data), like pgvector
SELECT typstorage, typlen, typalign FROM pg_type WHERE typname = 'vector';
