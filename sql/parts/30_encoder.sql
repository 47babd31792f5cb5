-- ===================================================================
-- In-process text encoder
-- ===================================================================

-- embed() is IMMUTABLE so that it can feed generated columns and expression
-- indexes: replacing a model folder requires re-embedding.  The one-argument
-- forms always use the installed "default" model: no setting changes them
-- (semvec.model_path cannot shadow that name).
CREATE FUNCTION embed(text) RETURNS vector
	AS 'MODULE_PATHNAME', 'semvec_embed'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;
CREATE FUNCTION embed(text, model text) RETURNS vector
	AS 'MODULE_PATHNAME', 'semvec_embed'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;
CREATE FUNCTION embed(text[]) RETURNS vector[]
	AS 'MODULE_PATHNAME', 'semvec_embed_array'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;
CREATE FUNCTION embed(text[], model text) RETURNS vector[]
	AS 'MODULE_PATHNAME', 'semvec_embed_array'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION embed(text) IS 'embed a text with the installed default model';
COMMENT ON FUNCTION embed(text, text) IS 'embed a text with the named model';
COMMENT ON FUNCTION embed(text[]) IS 'embed texts in batches with the default model; NULL elements stay NULL';
COMMENT ON FUNCTION embed(text[], text) IS 'embed texts in batches with the named model; NULL elements stay NULL';

-- The tokens a model sees (specials included, truncated to max_tokens);
-- byte offsets are into the UTF-8 text, NULL for special tokens.
CREATE FUNCTION embed_tokens(text, OUT id integer, OUT piece text,
							 OUT start_byte integer, OUT end_byte integer)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'semvec_embed_tokens'
	LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 32;
CREATE FUNCTION embed_tokens(text, model text, OUT id integer, OUT piece text,
							 OUT start_byte integer, OUT end_byte integer)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'semvec_embed_tokens'
	LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 32;
COMMENT ON FUNCTION embed_tokens(text) IS 'tokens of a text under the default model';
COMMENT ON FUNCTION embed_tokens(text, text) IS 'tokens of a text under the named model';

-- One row per model folder in the search path; a folder that fails to load
-- shows its error instead of hiding the others.
CREATE FUNCTION semvec_models(OUT name text, OUT dims integer,
							  OUT architecture text, OUT max_tokens integer,
							  OUT pooling text, OUT "normalize" boolean,
							  OUT path text, OUT error text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'semvec_models'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Drop this backend's cached models (other backends reload changed
-- folders by themselves at their next transaction).
CREATE FUNCTION semvec_reload_models() RETURNS integer
	AS 'MODULE_PATHNAME', 'semvec_reload_models'
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- Cross-encoder reranking: the score of each (query, document) pair, in the
-- documents' order and shape; NULL documents get NULL.  The model must be a
-- cross-encoder folder (BertForSequenceClassification with one label).
CREATE FUNCTION rerank(query text, documents text[], model text) RETURNS real[]
	AS 'MODULE_PATHNAME', 'semvec_rerank'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION rerank(text, text[], text) IS 'cross-encoder scores of (query, document) pairs, batched; higher is more relevant';

-- ===================================================================
-- Adapters: linear maps trained on the user's (query, positive) pairs
-- (docs/adapters.md).  A configuration table, so that pg_dump carries its
-- rows; replicas and backups carry them like any table.
-- ===================================================================
CREATE TABLE semvec_adapters (
	name		text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_-]{1,40}$'),
	base_model	text NOT NULL,
	dims		integer NOT NULL CHECK (dims BETWEEN 1 AND 16000),
	query_map	real[] NOT NULL,	-- dims x dims, row-major: q' = M q
	doc_map		real[],				-- the same for documents, when trained
	trained_at	timestamptz NOT NULL DEFAULT now(),
	pairs		integer NOT NULL,
	settings	jsonb NOT NULL,		-- the training options
	validation	jsonb NOT NULL,		-- held-out nDCG@10 before and after, epochs
	CHECK (cardinality(query_map) = dims * dims),
	CHECK (doc_map IS NULL OR cardinality(doc_map) = dims * dims)
);
SELECT pg_catalog.pg_extension_config_dump('semvec_adapters', '');
GRANT SELECT ON semvec_adapters TO PUBLIC;
COMMENT ON TABLE semvec_adapters IS 'trained adapters: embed(text, ''base+name'') maps the base model''s vectors';

CREATE PROCEDURE train_adapter(name text, pairs text,
		base_model text DEFAULT 'default', corpus text DEFAULT NULL,
		document_map boolean DEFAULT false, epochs integer DEFAULT 100,
		batch_size integer DEFAULT 64, hard_negatives integer DEFAULT 16,
		hard_pool integer DEFAULT 100, temperature float8 DEFAULT 0.03,
		regularization float8 DEFAULT 0.003, learning_rate float8 DEFAULT 0.001,
		validation float8 DEFAULT 0.15, patience integer DEFAULT 8,
		seed bigint DEFAULT 0, replace boolean DEFAULT false)
	AS 'MODULE_PATHNAME', 'semvec_train_adapter'
	LANGUAGE C;
COMMENT ON PROCEDURE train_adapter IS 'train an adapter of a model on (query, positive) pairs; the result is the model base+name';

CREATE FUNCTION drop_adapter(name text, if_exists boolean DEFAULT false) RETURNS boolean
	LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM @extschema@.semvec_adapters a WHERE a.name = drop_adapter.name;
	IF FOUND THEN
		RETURN true;
	END IF;
	IF if_exists THEN
		RETURN false;
	END IF;
	RAISE EXCEPTION 'adapter "%" does not exist', name USING ERRCODE = 'undefined_object';
END $$;
COMMENT ON FUNCTION drop_adapter(text, boolean) IS 'remove a trained adapter';

-- An adapter model's map applied to a stored vector of its base model
CREATE FUNCTION adapt(v vector, model text) RETURNS vector
	AS 'MODULE_PATHNAME', 'semvec_adapt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION adapt(vector, text) IS 'map a base-model vector with an adapter model (base+name or base+name:doc)';

-- The models available: folders of the search path, then trained adapters
-- (one row per side; path 'semvec_adapters' says where they live)
CREATE VIEW semvec_models AS
	SELECT * FROM @extschema@.semvec_models()
	UNION ALL
	SELECT a.base_model || '+' || a.name || s.suffix, a.dims, 'adapter', m.max_tokens,
		   m.pooling, true, 'semvec_adapters',
		   CASE WHEN m.name IS NULL THEN format('base model "%s" does not exist', a.base_model)
				WHEN m.dims IS DISTINCT FROM a.dims
				THEN format('base model "%s" has %s dimensions, the adapter %s', a.base_model, m.dims, a.dims)
				ELSE m.error END
	FROM @extschema@.semvec_adapters a
	CROSS JOIN LATERAL (SELECT '' UNION ALL SELECT ':doc' WHERE a.doc_map IS NOT NULL) s(suffix)
	LEFT JOIN @extschema@.semvec_models() m ON m.name = a.base_model;
COMMENT ON VIEW semvec_models IS 'models available to embed(): folders and trained adapters';
