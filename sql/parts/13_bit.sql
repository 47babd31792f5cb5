
-- ===================================================================
-- binary vectors on PostgreSQL's bit type: Hamming and Jaccard distances
-- (pgvector-compatible; src/vector/bitvec.c).  binary_quantize(vector |
-- halfvec) returns bit (10_vector.sql, 11_halfvec.sql).
-- ===================================================================

CREATE FUNCTION hamming_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION jaccard_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION hamming_distance(bit, bit) IS 'number of differing bits';
COMMENT ON FUNCTION jaccard_distance(bit, bit) IS '1 - |a AND b| / |a OR b| (1 when no bit is set in both)';

CREATE OPERATOR <~> (
	LEFTARG = bit, RIGHTARG = bit, PROCEDURE = hamming_distance,
	COMMUTATOR = '<~>'
);
CREATE OPERATOR <%> (
	LEFTARG = bit, RIGHTARG = bit, PROCEDURE = jaccard_distance,
	COMMUTATOR = '<%>'
);
