-- Every user-facing error of the vector type, with its SQLSTATE
-- (err() runs a statement and returns SQLSTATE, message and detail)

CREATE FUNCTION err(stmt text, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL;
END $$;

-- A long literal of n ones
CREATE FUNCTION ones(n int) RETURNS text LANGUAGE sql
	AS $$ SELECT '[' || array_to_string(array_fill(1, ARRAY[n]), ',') || ']' $$;

-- Malformed text input: 22P02 (with pgvector's details), empty: 22000
SELECT s.lit, e.* FROM (VALUES (''), ('   '), ('1,2,3'), ('(1,2)'), ('['), ('[1,2,3'), ('[1,2,3]9'),
	('[1,2,3] x'), ('[1,,3]'), ('[1,]'), ('[,]'), ('[hello,1]'), ('[1a]'), ('[1, ,3]'),
	('[1 2]'), ('[1;2]'), ('[]'), ('[ ]'), ('[1]]')) s(lit),
	LATERAL err(format('SELECT %L::vector', s.lit)) e;

-- Out of range, NaN and infinity
SELECT s.lit, e.* FROM (VALUES ('[4e38,1]'), ('[-4e38]'), ('[1e39]'), ('[NaN]'), ('[1,nan]'),
	('[inf]'), ('[-Infinity,1]'), ('[INFINITY]')) s(lit),
	LATERAL err(format('SELECT %L::vector', s.lit)) e;

-- Too many dimensions: 54000
SELECT * FROM err(format('SELECT %L::vector', ones(16001)));
SELECT * FROM err($$SELECT array_fill(1, ARRAY[16001])::vector$$);
SELECT * FROM err(format('SELECT %L::vector || %L::vector', ones(16000), '[1]'));

-- Type modifiers: 22023
SELECT * FROM err('CREATE TABLE bad (v vector(0))');
SELECT * FROM err('CREATE TABLE bad (v vector(-1))');
SELECT * FROM err('CREATE TABLE bad (v vector(16001))');
SELECT * FROM err('CREATE TABLE bad (v vector(2, 3))');
SELECT * FROM err($$SELECT '[1]'::vector(0)$$);

-- Typmod mismatch on cast, assignment, array cast and update: 22000
SELECT * FROM err($$SELECT '[1,2,3]'::vector(2)$$);
SELECT * FROM err($$SELECT '[1,2,3]'::vector::vector(2)$$);
SELECT * FROM err($$SELECT ARRAY[1,2]::vector(3)$$);
CREATE TABLE te3 (v vector(3));
SELECT * FROM err($$INSERT INTO te3 VALUES ('[1,2]')$$);
SELECT * FROM err($$INSERT INTO te3 VALUES (ARRAY[1,2,3,4])$$);
INSERT INTO te3 VALUES ('[1,2,3]');
SELECT * FROM err($$UPDATE te3 SET v = v || '[4]'$$);
COPY (SELECT '[1,2]'::vector) TO '/tmp/semvec_vector_bad.txt';
SELECT * FROM err($$COPY te3 FROM '/tmp/semvec_vector_bad.txt'$$);
DROP TABLE te3;

-- Array casts
SELECT * FROM err($$SELECT '{{1,2},{3,4}}'::int[]::vector$$);
SELECT * FROM err($$SELECT '{1,NULL}'::real[]::vector$$);
SELECT * FROM err($$SELECT '{}'::real[]::vector$$);
SELECT * FROM err($$SELECT '{1e300}'::float8[]::vector$$);
SELECT * FROM err($$SELECT '{NaN}'::float8[]::vector$$);
SELECT * FROM err($$SELECT '{-Infinity}'::real[]::vector$$);
SELECT * FROM err($$SELECT '{NaN}'::numeric[]::vector$$);
SELECT * FROM err($$SELECT '{Infinity}'::numeric[]::vector$$);
SELECT * FROM err($$SELECT '{1e39}'::numeric[]::vector$$);
-- only the four array types cast to vector
SELECT * FROM err($$SELECT '{1}'::bigint[]::vector$$);

-- Different dimensions: 22000, for every two-vector function and operator
SELECT f, e.* FROM (VALUES ('l2_distance'), ('inner_product'), ('cosine_distance'), ('l1_distance'),
	('vector_l2_squared_distance'), ('vector_negative_inner_product'), ('vector_spherical_distance'),
	('vector_add'), ('vector_sub'), ('vector_mul')) s(f),
	LATERAL err(format($$SELECT %s('[1,2]'::vector, '[1,2,3]')$$, f)) e;
SELECT op, e.* FROM (VALUES ('<->'), ('<#>'), ('<=>'), ('<+>'), ('+'), ('-'), ('*')) s(op),
	LATERAL err(format($$SELECT '[1,2]'::vector %s '[1]'$$, op)) e;

-- Arithmetic overflow and underflow: 22003
SELECT * FROM err($$SELECT '[3e38]'::vector + '[3e38]'$$);
SELECT * FROM err($$SELECT '[-3e38]'::vector - '[3e38]'$$);
SELECT * FROM err($$SELECT '[1e20,1]'::vector * '[1e20,1]'$$);
SELECT * FROM err($$SELECT '[1e-30]'::vector * '[1e-30]'$$);

-- subvector outside the vector: 22000
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, 1, 0)$$);
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, 2, -1)$$);
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, 4, 1)$$);
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, 0, 1)$$);
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, -5, 3)$$);
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647)$$);
SELECT * FROM err($$SELECT subvector('[1,2,3]'::vector, -2147483648, 2147483647)$$);

-- Aggregates
SELECT * FROM err($$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
SELECT * FROM err($$SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
SELECT * FROM err($$SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)$$);
SELECT * FROM err($$SELECT vector_accum('{1,1,2}', '[1,2,3]')$$);
SELECT * FROM err($$SELECT vector_combine('{1,1,2}', '{1,1,2,3}')$$);
SELECT * FROM err($$SELECT vector_accum('{{1,2}}', '[1]')$$);
SELECT * FROM err($$SELECT vector_accum('{}', '[1]')$$);
SELECT * FROM err($$SELECT vector_accum('{1,NULL}', '[1]')$$);
SELECT * FROM err($$SELECT vector_combine('{1,1}', '{}')$$);
SELECT * FROM err($$SELECT vector_avg('{1,1e300}')$$);
SELECT * FROM err($$SELECT vector_avg('{1,NaN}')$$);
SELECT * FROM err($$SELECT vector_avg(array_fill(1::float8, ARRAY[16002]))$$);

-- Kernel setting: 22023
SELECT * FROM err($$SET semvec.simd = 'bogus'$$);
SELECT * FROM err($$SET semvec.simd = ''$$);

-- Binary input (vector_recv) through COPY ... FORMAT binary: files are built
-- from bytes (19-byte header, then rows of int16 1 + int32 length + data,
-- then int16 -1) and written with lo_export
CREATE FUNCTION copy_binary(data bytea, len int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	lo oid;
BEGIN
	lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
		|| '\x0001'::bytea || int4send(len) || data || '\xffff'::bytea);
	PERFORM lo_export(lo, '/tmp/semvec_vector_bad.bin');
	PERFORM lo_unlink(lo);
	RETURN '/tmp/semvec_vector_bad.bin';
END $$;
CREATE TABLE tb (v vector);
CREATE TABLE tb2 (v vector(2));
-- a good file first: dim 1, 1.0
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x000100003f800000', 8)));
SELECT * FROM tb;
-- dim 0, dim 16001, unused not 0, NaN, infinity, wrong typmod, trailing bytes
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x00000000', 4)));
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x3e810000', 4)));
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\xffff0000', 4)));
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x000100013f800000', 8)));
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x000100007fc00000', 8)));
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x00010000ff800000', 8)));
SELECT * FROM err(format('COPY tb2 FROM %L WITH (FORMAT binary)', copy_binary('\x000100003f800000', 8)));
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x000100003f80000000', 9)));
-- truncated: dim says 2, one float present
SELECT * FROM err(format('COPY tb FROM %L WITH (FORMAT binary)', copy_binary('\x000200003f800000', 8)));
SELECT count(*) FROM tb;
DROP TABLE tb, tb2;

-- How psql shows one of them
SELECT '[1,2,3]9'::vector;
