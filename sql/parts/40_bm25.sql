
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

-- Global statistics (docs/bm25.md, "Corpus statistics in the query"): a
-- query can carry the statistics it is scored with, so that the shards of
-- a Citus distributed table all score with the whole table's.
CREATE FUNCTION to_bm25query(query text, docs bigint, length bigint, terms text[], dfs bigint[])
	RETURNS bm25query
	AS 'MODULE_PATHNAME', 'to_bm25query_stats' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION to_bm25query(text, bigint, bigint, text[], bigint[]) IS
	'a BM25 query scored with the given corpus statistics (documents, total length, document frequency of each term) instead of its index''s own';

CREATE FUNCTION bm25_index_stats(index regclass, query text,
                                 OUT docs bigint, OUT length bigint, OUT terms text[], OUT dfs bigint[])
	AS 'MODULE_PATHNAME' LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION bm25_index_stats(regclass, text) IS
	'what a BM25 score of the query depends on in one bm25 index: documents, total length, document frequency of each query term';

-- bm25_corpus_stats(): bm25_index_stats() of the whole table.  For a
-- Citus table, the sum over its shards: one command per node holding
-- shards (master_run_on_worker(), the nodes in parallel: one round trip),
-- each reading the statistics of its shards' bm25 indexes; otherwise the
-- index's own.  (run_command_on_shards() would cost several round trips:
-- it asks every node for its shard sizes first and opens a connection per
-- shard.)
CREATE FUNCTION bm25_corpus_stats(index regclass, query text,
                                  OUT docs bigint, OUT length bigint, OUT terms text[], OUT dfs bigint[])
	LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE AS $$
DECLARE
	tbl regclass;
	col name;
	nshards int;
	nfound int;
	names text[];
	ports int[];
	cmds text[];
	results text[];
	failures text[];
BEGIN
	SELECT i.indrelid::regclass, a.attname INTO tbl, col
	FROM pg_catalog.pg_index i
	LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indexrelid = index;
	IF tbl IS NULL OR NOT @extschema@._citus_distributed(tbl) THEN
		SELECT s.docs, s.length, s.terms, s.dfs INTO docs, length, terms, dfs
		FROM @extschema@.bm25_index_stats(index, query) s;
		RETURN;
	END IF;
	IF col IS NULL THEN
		RAISE EXCEPTION 'bm25 index % of a distributed table is on an expression', index
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'Global statistics find the index of each shard by its column.';
	END IF;
	-- per node: its shards (one active placement of each shard), and a
	-- command that reads, on each of them, the bm25 index on the same
	-- column (Citus's name for this index, its name and the shard id,
	-- first)
	EXECUTE
		'SELECT sum(cardinality(g.shards))::int, array_agg(g.nodename ORDER BY g.nodename, g.nodeport),'
		'       array_agg(g.nodeport ORDER BY g.nodename, g.nodeport),'
		'       array_agg(pg_catalog.format($2, g.shards::text) ORDER BY g.nodename, g.nodeport)'
		' FROM (SELECT n.nodename, n.nodeport, array_agg(pg_catalog.shard_name($1, s.shardid)) AS shards'
		'       FROM pg_catalog.pg_dist_shard s'
		'       JOIN LATERAL (SELECT p.groupid FROM pg_catalog.pg_dist_placement p'
		'                     WHERE p.shardid = s.shardid AND p.shardstate = 1'
		'                     ORDER BY p.placementid LIMIT 1) p ON true'
		'       JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid AND n.noderole = ''primary'' AND n.isactive'
		'       WHERE s.logicalrelid = $1 GROUP BY n.nodename, n.nodeport) g'
		INTO nshards, names, ports, cmds
		USING tbl,
		      pg_catalog.format(
		'SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''docs'', s.docs, ''length'', s.length,'
		'                                                          ''terms'', s.terms, ''dfs'', s.dfs))::text'
		' FROM pg_catalog.unnest(%%L::text[]) AS sh(name),'
		' LATERAL (SELECT i.indexrelid::pg_catalog.regclass AS idx FROM pg_catalog.pg_index i'
		'   JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid'
		'   JOIN pg_catalog.pg_am am ON am.oid = c.relam AND am.amname = ''bm25'''
		'   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]'
		'   WHERE i.indrelid = sh.name::pg_catalog.regclass AND i.indnatts = 1 AND a.attname = %2$s'
		'     AND i.indisvalid AND i.indpred IS NULL'
		'   ORDER BY c.relname = %3$s || ''_'' || pg_catalog.substring(sh.name, ''_(\d+)"?$'') DESC, i.indexrelid'
		'   LIMIT 1) x,'
		' LATERAL %1$s.bm25_index_stats(x.idx, %4$s) s',
		'@extschema@', replace(quote_literal(col), '%', '%%'),
		replace(quote_literal((SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = index)), '%', '%%'),
		replace(quote_literal(query), '%', '%%'));
	IF names IS NULL THEN
		RAISE EXCEPTION 'distributed table % has no active shard placement', tbl
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	EXECUTE 'SELECT array_agg(r.result) FILTER (WHERE r.success),'
	        '       array_agg(pg_catalog.format(''node %s:%s: %s'', r.node_name, r.node_port, r.result))'
	        '         FILTER (WHERE NOT r.success)'
	        ' FROM pg_catalog.master_run_on_worker($1, $2, $3, true) r'
		INTO results, failures USING names, ports, cmds;
	IF failures IS NOT NULL THEN
		RAISE EXCEPTION 'could not read the bm25 statistics of the shards of %', tbl
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = array_to_string(failures, E'\n');
	END IF;
	SELECT count(*)::int, coalesce(sum((x.e->>'docs')::bigint), 0), coalesce(sum((x.e->>'length')::bigint), 0)
	INTO nfound, docs, length
	FROM unnest(results) AS r(t), LATERAL jsonb_array_elements(coalesce(nullif(r.t, '')::jsonb, '[]')) AS x(e);
	IF nfound <> nshards THEN
		RAISE EXCEPTION 'could not read the bm25 statistics of every shard of %', tbl
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('%s of its %s shards have a bm25 index on column %I.', nfound, nshards, col),
			      HINT = 'Every shard needs the bm25 index; create it on the distributed table.';
	END IF;
	-- every shard tokenizes the query alike: the same terms in one order
	SELECT coalesce(array_agg(s.term ORDER BY s.o), '{}'), coalesce(array_agg(s.df ORDER BY s.o), '{}')
	INTO terms, dfs
	FROM (SELECT t.term, min(t.o) AS o, sum((x.e->'dfs'->>(t.o::int - 1))::bigint)::bigint AS df
	      FROM unnest(results) AS r(t),
	           LATERAL jsonb_array_elements(coalesce(nullif(r.t, '')::jsonb, '[]')) AS x(e),
	           LATERAL jsonb_array_elements_text(x.e->'terms') WITH ORDINALITY AS t(term, o)
	      GROUP BY t.term) s;
END $$;
COMMENT ON FUNCTION bm25_corpus_stats(regclass, text) IS
	'bm25_index_stats() of the whole table: on a Citus distributed table, summed over its shards';

CREATE FUNCTION bm25_corpus_query(index regclass, query text) RETURNS bm25query
	LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
BEGIN ATOMIC
	SELECT @extschema@.to_bm25query(query, s.docs, s.length, s.terms, s.dfs)
	FROM @extschema@.bm25_corpus_stats(index, query) s;
END;
COMMENT ON FUNCTION bm25_corpus_query(regclass, text) IS
	'a BM25 query that carries the corpus statistics of the whole table (on Citus, of all shards): every shard scores as one node would';
