-- halfvec, sparsevec and bit: what pgvector's own tests (tools/conformance.sh)
-- do not pin down: the binary forms byte for byte, SQLSTATEs, rounding to
-- half, sparse merges over far-apart indices, orderings, and casts in
-- assignments

CREATE FUNCTION type_err(stmt text, OUT state text, OUT message text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
END $$;

-- Binary forms: big-endian int16 dim, int16 0, binary16 bit patterns ...
SELECT halfvec_send('[1,-2,0.5,65504,-0,6e-08]');
-- ... int32 dim, int32 nnz, int32 0, 0-based int32 indices, float4 values
SELECT sparsevec_send('{5:-2,1:1.5}/7');
SELECT sparsevec_send('{}/1000000000');
-- and what text the same values print
SELECT '[1,-2,0.5,65504,-0,6e-08]'::halfvec, '{5:-2,1:1.5}/7'::sparsevec;

-- halfvec rounds each element to the nearest half, ties to even
SELECT '[2049,2051,2053,0.1,0.2,3.1416]'::halfvec;
SELECT '[65519.99,-65519.99]'::halfvec;
-- underflow: below half the smallest subnormal (2^-25) is 0, above it 2^-24
SELECT '[2.9e-8,3e-8,-3e-8]'::halfvec;

-- SQLSTATEs of the new types' errors
SELECT s.stmt, e.* FROM (VALUES
	($$SELECT '[1,2'::halfvec$$),
	($$SELECT '[65520]'::halfvec$$),
	($$SELECT '[NaN]'::halfvec$$),
	($$SELECT '[]'::halfvec$$),
	($$SELECT array_fill(1, ARRAY[16001])::halfvec$$),
	($$SELECT '[1,2]'::halfvec(3)$$),
	($$SELECT '[1,2]'::halfvec <-> '[1]'$$),
	($$SELECT '[60000]'::halfvec + '[60000]'$$),
	($$SELECT '[1e-4]'::halfvec * '[1e-4]'$$),
	($$SELECT '{1:1}'::sparsevec$$),
	($$SELECT '{1:1e-46}/1'::sparsevec$$),
	($$SELECT '{0:1}/1'::sparsevec$$),
	($$SELECT '{1:1,1:2}/2'::sparsevec$$),
	($$SELECT '{}/0'::sparsevec$$),
	($$SELECT '{}/1000000001'::sparsevec$$),
	($$SELECT '{1:1}/2'::sparsevec(3)$$),
	($$SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3'$$),
	($$SELECT '{1:1}/16001'::sparsevec::vector$$),
	($$SELECT '111'::bit(3) <~> '11'::bit(2)$$),
	($$SELECT hamming_distance('1', '10')$$)) s(stmt),
	LATERAL type_err(s.stmt) e;

-- sparse merges: indices far apart, interleaved, and at the ends of 1e9
SELECT l2_distance(a, b), inner_product(a, b), cosine_distance(a, b), l1_distance(a, b)
FROM (VALUES ('{1:1,500000000:2,1000000000:3}/1000000000'::sparsevec,
			  '{2:4,500000000:5,999999999:6}/1000000000'::sparsevec)) t(a, b);
-- a sparsevec and its vector form give the same distances
SELECT l2_distance(a::vector, b::vector), inner_product(a::vector, b::vector),
	cosine_distance(a::vector, b::vector), l1_distance(a::vector, b::vector),
	l2_distance(a, b), inner_product(a, b), cosine_distance(a, b), l1_distance(a, b)
FROM (VALUES ('{1:1,3:-2,4:0.5}/6'::sparsevec, '{2:3,3:1,6:-1}/6'::sparsevec)) t(a, b);

-- The btree orders: halfvec and sparsevec sort as their vector forms do
CREATE TABLE ord (id int, v vector(3));
INSERT INTO ord SELECT i, ARRAY[(i * 7) % 5 - 2, (i * 3) % 4 - 1, 0]::vector FROM generate_series(1, 30) i;
SELECT count(*) AS same_order FROM (
	SELECT row_number() OVER (ORDER BY v, id) a, row_number() OVER (ORDER BY v::halfvec, id) b,
		row_number() OVER (ORDER BY v::sparsevec, id) c FROM ord) x WHERE a = b AND b = c;
CREATE INDEX ON ord ((v::sparsevec));
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ord WHERE v::sparsevec = '{1:-1,2:1}/3';
SELECT id FROM ord WHERE v::sparsevec = '{1:-1,2:1}/3' ORDER BY id;
RESET enable_seqscan;
DROP TABLE ord;

-- Assignment casts: arrays and vectors into halfvec and sparsevec columns
CREATE TABLE conv (h halfvec(3), s sparsevec(3));
INSERT INTO conv VALUES (ARRAY[1,2,3], ARRAY[0,1.5,0]);
INSERT INTO conv VALUES ('[0.1,0.2,0.3]'::vector, '[0,0,0]'::vector);
INSERT INTO conv VALUES ('{1:1}/3'::sparsevec, '[1,0,2]'::halfvec);
SELECT h, s, h::vector, s::vector, h::real[] FROM conv;
DROP TABLE conv;

-- binary_quantize over byte boundaries, and bit distances on it
SELECT binary_quantize('[1,-1,1,-1,1,-1,1,-1,1]'::halfvec),
	binary_quantize('[1,-1,1,-1,1,-1,1,-1,1]'::vector) <~> binary_quantize('[-1,-1,1,-1,1,-1,1,-1,-1]'::halfvec) AS hamming,
	binary_quantize('[1,1,0,0,1,1,1,1,1]'::vector) <%> binary_quantize('[1,0,0,0,1,1,1,1,1]'::vector) AS jaccard;
-- hamming and jaccard over 8-byte words and their tails
SELECT hamming_distance(a, b), jaccard_distance(a, b)
FROM (SELECT repeat('1', 70)::varbit a, (repeat('10', 35))::varbit b) t;

-- Every function of the three types is IMMUTABLE STRICT PARALLEL SAFE
SELECT count(*) AS not_immutable_strict_safe FROM pg_proc p
WHERE (p.proargtypes::regtype[] && ARRAY['halfvec'::regtype, 'sparsevec'::regtype]
	OR p.prorettype IN ('halfvec'::regtype, 'sparsevec'::regtype)
	OR p.proname IN ('hamming_distance', 'jaccard_distance'))
	AND p.prokind = 'f'
	AND NOT (p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's');
DROP FUNCTION type_err(text);
