
-- ===================================================================
-- bm25 index access method (src/bm25/, docs/bm25.md)
-- ===================================================================

CREATE FUNCTION bm25handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD bm25 TYPE INDEX HANDLER bm25handler;

COMMENT ON ACCESS METHOD bm25 IS 'inverted index ranked by Okapi BM25 (exact top-k with Block-Max WAND)';

-- bm25query: a query text, optionally bound to the bm25 index whose
-- statistics score it (the planner binds it; see docs/bm25.md)
CREATE TYPE bm25query;
CREATE FUNCTION bm25query_in(cstring) RETURNS bm25query
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bm25query_out(bm25query) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bm25query_recv(internal) RETURNS bm25query
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bm25query_send(bm25query) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE bm25query (
	INPUT = bm25query_in, OUTPUT = bm25query_out,
	RECEIVE = bm25query_recv, SEND = bm25query_send,
	INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended,
	CATEGORY = 'S'
);
COMMENT ON TYPE bm25query IS 'a BM25 query: its text and the bm25 index that scores it';

CREATE FUNCTION to_bm25query(query text, index regclass DEFAULT NULL) RETURNS bm25query
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION to_bm25query(text, regclass) IS
	'a BM25 query, scored with the statistics of the given bm25 index';
CREATE FUNCTION bm25query(text) RETURNS bm25query
	AS 'MODULE_PATHNAME', 'to_bm25query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (text AS bm25query) WITH FUNCTION bm25query(text) AS IMPLICIT;
CREATE CAST (varchar AS bm25query) WITH FUNCTION bm25query(text) AS IMPLICIT;
CREATE FUNCTION bm25query_bind(bm25query, oid) RETURNS bm25query
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The planner support function binds an unbound query to the bm25 index
-- on the left operand.  The functions read the index's statistics
-- (STABLE) and use a backend's running scans (PARALLEL RESTRICTED); they
-- tokenise their document (COST).
CREATE FUNCTION bm25_query_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION bm25_distance(text, bm25query) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED COST 1000
	SUPPORT bm25_query_support;
CREATE FUNCTION bm25_score(document text, query bm25query) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED COST 1000
	SUPPORT bm25_query_support;
COMMENT ON FUNCTION bm25_score(text, bm25query) IS
	'BM25 score of a document for a query, with the statistics of the bm25 index on the column';

CREATE OPERATOR <@> (LEFTARG = text, RIGHTARG = bm25query, PROCEDURE = bm25_distance);
COMMENT ON OPERATOR <@> (text, bm25query) IS
	'negated BM25 score (ORDER BY col <@> query LIMIT k: the best k rows)';

CREATE OPERATOR CLASS bm25_text_ops
	DEFAULT FOR TYPE text USING bm25 AS
	OPERATOR 1 <@> (text, bm25query) FOR ORDER BY float_ops;

-- Structural checker: raises an error describing any broken invariant
CREATE FUNCTION bm25_check(regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'bm25_check' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION bm25_check(regclass) IS
	'check the structural invariants of a bm25 index; errors out on corruption';

CREATE FUNCTION bm25_stats(index regclass,
                           OUT documents bigint, OUT total_length bigint, OUT avg_length float8,
                           OUT segments int, OUT segment_documents bigint,
                           OUT pending_documents bigint, OUT text_config regconfig)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION bm25_stats(regclass) IS
	'corpus statistics of a bm25 index: documents (N), total and average length, segments, pending documents';

CREATE FUNCTION bm25_query_terms(index regclass, query text)
	RETURNS TABLE(term text, query_tf int, df bigint, idf float8, weight float8)
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION bm25_query_terms(regclass, text) IS
	'the lexemes of a query with their document frequency and idf in a bm25 index';

CREATE FUNCTION bm25_tokenize(document text, config regconfig DEFAULT 'english')
	RETURNS TABLE(term text, tf int)
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION bm25_tokenize(text, regconfig) IS
	'the lexemes of a text and their counts, as a bm25 index stores them';
