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
CREATE VIEW semvec_models AS SELECT * FROM @extschema@.semvec_models();
COMMENT ON VIEW semvec_models IS 'models available to embed()';

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
