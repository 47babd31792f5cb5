
-- ===================================================================
-- RAG: chunking, ingestion and retrieval (docs/rag.md)
-- ===================================================================

-- chunk(): sentence-aware chunks counted with the model's own tokenizer.
-- Not STRICT: NULL doc gives no rows; a NULL option means its default.
-- STABLE: the result depends on the model files.  model NULL means the
-- installed "default" model, the one embed(text) uses.
CREATE FUNCTION chunk(doc text, max_tokens int DEFAULT NULL, overlap_tokens int DEFAULT 16,
                      model text DEFAULT NULL, locale text DEFAULT 'en')
	RETURNS TABLE(ord int, chunk text, char_start int, char_end int, n_tokens int)
	AS 'MODULE_PATHNAME', 'semvec_chunk' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION chunk(text, int, int, text, text) IS
	'split text into chunks of whole sentences of at most max_tokens model tokens (default: the model''s max length), overlapping by up to overlap_tokens';

-- chunk_words(): sentence-aware chunks under a budget of words
CREATE FUNCTION chunk_words(doc text, max_words int, overlap_words int DEFAULT 0,
                            locale text DEFAULT 'en')
	RETURNS TABLE(ord int, chunk text, char_start int, char_end int, n_tokens int)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION chunk_words(text, int, int, text) IS
	'split text into chunks of whole sentences of at most max_words words (ICU sentence and word boundaries)';

-- chunk_chars(): LangChain RecursiveCharacterTextSplitter
CREATE FUNCTION chunk_chars(doc text, size int, overlap int DEFAULT 0)
	RETURNS TABLE(ord int, chunk text, char_start int, char_end int, n_tokens int)
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION chunk_chars(text, int, int) IS
	'split text recursively at paragraphs, lines, sentence ends, spaces and characters into chunks of at most size characters';

-- -------------------------------------------------------------------
-- Retrieval: Reciprocal Rank Fusion of vector and full-text results
-- -------------------------------------------------------------------

-- rrf_fuse(): score(id) = sum over lists of weight / (k + rank), ranks 1-based
-- after dropping NULLs and repeated ids (an id keeps its first position)
CREATE FUNCTION rrf_fuse(vector_ids bigint[], text_ids bigint[], k int DEFAULT 60,
                         vector_weight float8 DEFAULT 1.0, text_weight float8 DEFAULT 1.0)
	RETURNS TABLE(id bigint, score float8, vector_rank int, text_rank int)
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	WITH v AS (
		SELECT u.id, (row_number() OVER (ORDER BY min(u.r)))::int AS r
		FROM unnest(vector_ids) WITH ORDINALITY AS u(id, r)
		WHERE u.id IS NOT NULL GROUP BY u.id
	), t AS (
		SELECT u.id, (row_number() OVER (ORDER BY min(u.r)))::int AS r
		FROM unnest(text_ids) WITH ORDINALITY AS u(id, r)
		WHERE u.id IS NOT NULL GROUP BY u.id
	)
	SELECT coalesce(v.id, t.id),
	       coalesce(vector_weight / (k + v.r), 0) + coalesce(text_weight / (k + t.r), 0),
	       v.r, t.r
	FROM v FULL JOIN t ON v.id = t.id
	ORDER BY 2 DESC, least(v.r, t.r), 1;
END;
COMMENT ON FUNCTION rrf_fuse(bigint[], bigint[], int, float8, float8) IS
	'fuse two ranked id lists with Reciprocal Rank Fusion: sum of weight / (k + rank)';

-- Reject bad retrieval arguments with clear messages
CREATE FUNCTION _rag_check_args(k int, pool int, rrf_k int)
	RETURNS void LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF pool IS NULL OR pool < 1 THEN
		RAISE EXCEPTION 'pool must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF rrf_k IS NULL OR rrf_k < 0 THEN
		RAISE EXCEPTION 'rrf_k must not be negative' USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

-- hybrid_search() with a query vector: the pool nearest rows by cosine
-- distance (hnsw index when there is one) and the pool best full-text
-- matches (websearch_to_tsquery, ts_rank_cd), fused with RRF.
CREATE FUNCTION hybrid_search(tbl regclass, query text, query_vec vector,
                              k int DEFAULT 10, pool int DEFAULT 100, rrf_k int DEFAULT 60,
                              vector_weight float8 DEFAULT 1.0, text_weight float8 DEFAULT 1.0,
                              id_col name DEFAULT 'id', text_col name DEFAULT 'chunk',
                              emb_col name DEFAULT 'emb', tsv_col name DEFAULT NULL,
                              ts_config regconfig DEFAULT 'english', match text DEFAULT 'any',
                              ranking text DEFAULT NULL)
	RETURNS TABLE(id bigint, score float8, vector_rank int, text_rank int,
	              vector_distance float8, text_score float4)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
	tsv text;
	tsq tsquery;
	rk text;
	rank_expr text;
	ntup float8;
	df bigint;
	lexq tsquery;
	lexqs tsquery[] := '{}';
	idfs float8[] := '{}';
	old_ef text := current_setting('hnsw.ef_search', true);
	vids bigint[];
	vdist float8[];
	tids bigint[];
	tscore float4[];
BEGIN
	PERFORM @extschema@._rag_check_args(k, pool, rrf_k);
	IF vector_weight IS NULL OR text_weight IS NULL
		OR vector_weight < 0 OR text_weight < 0
		OR vector_weight IN ('NaN', 'Infinity') OR text_weight IN ('NaN', 'Infinity') THEN
		RAISE EXCEPTION 'weights must be finite and not negative'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('Got vector_weight = %s and text_weight = %s.', vector_weight, text_weight);
	END IF;
	IF tsv_col IS NOT NULL THEN
		tsv := format('%I', tsv_col);
	ELSE
		tsv := format('to_tsvector(%L::regconfig, %I)', ts_config, text_col);
	END IF;

	-- an hnsw scan returns at most ef_search rows: make room for the pool
	-- (set_config() is why these functions are PARALLEL RESTRICTED: settings
	-- cannot change inside a parallel worker)
	IF old_ef IS NOT NULL AND old_ef ~ '^\d+$' AND old_ef::int < pool THEN
		PERFORM set_config('hnsw.ef_search', least(pool, 1000)::text, true);
	END IF;
	IF query_vec IS NOT NULL AND vector_weight <> 0 THEN
		EXECUTE format('SELECT array_agg(i ORDER BY d, i), array_agg(d ORDER BY d, i) FROM ('
		               'SELECT %I::bigint AS i, %I OPERATOR(@extschema@.<=>) $1 AS d FROM %s'
		               ' WHERE %I IS NOT NULL ORDER BY %I OPERATOR(@extschema@.<=>) $1 LIMIT $2) s',
		               id_col, emb_col, tbl, emb_col, emb_col)
			INTO vids, vdist USING query_vec, pool;
	END IF;
	IF old_ef IS NOT NULL THEN
		PERFORM set_config('hnsw.ef_search', old_ef, true);
	END IF;

	-- 'all': web search syntax, every term required; 'any': any of the
	-- question's lexemes (suits natural-language questions)
	IF match = 'all' THEN
		tsq := websearch_to_tsquery(ts_config, query);
	ELSIF match = 'any' THEN
		SELECT string_agg(quote_literal(l), ' | ')::tsquery INTO tsq
		FROM unnest(tsvector_to_array(to_tsvector(ts_config, query))) AS l;
	ELSE
		RAISE EXCEPTION 'unknown match mode "%"', match
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'The match mode is "any" or "all".';
	END IF;
	rk := coalesce(ranking, CASE match WHEN 'any' THEN 'idf' ELSE 'ts_rank_cd' END);
	IF rk NOT IN ('idf', 'ts_rank', 'ts_rank_cd') THEN
		RAISE EXCEPTION 'unknown ranking "%"', ranking
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'The ranking is "idf", "ts_rank" or "ts_rank_cd".';
	END IF;

	IF tsq IS NOT NULL AND text_weight <> 0 THEN
		IF rk = 'idf' THEN
			-- BM25-like: sum over the question's lexemes of idf * ts_rank, with
			-- idf = ln(1 + (N - df + 0.5) / (df + 0.5)); df from the index
			SELECT greatest(reltuples, 0) INTO ntup FROM pg_class WHERE oid = tbl;
			IF ntup < 1 THEN
				EXECUTE format('SELECT count(*) FROM %s', tbl) INTO ntup;
			END IF;
			FOR lexq IN SELECT quote_literal(l)::tsquery
			            FROM unnest(tsvector_to_array(to_tsvector(ts_config, query))) AS l LOOP
				EXECUTE format('SELECT count(*) FROM %s WHERE %s @@ $1', tbl, tsv)
					INTO df USING lexq;
				lexqs := lexqs || lexq;
				idfs := idfs || ln(1 + (greatest(ntup, df) - df + 0.5) / (df + 0.5));
			END LOOP;
			rank_expr := format('(SELECT sum(w * ts_rank(%s, lq)) FROM unnest($3, $4) AS u(lq, w))', tsv);
		ELSE
			rank_expr := format('%s(%s, $1)', rk, tsv);
		END IF;
		EXECUTE format('SELECT array_agg(i ORDER BY s DESC, i), array_agg(s ORDER BY s DESC, i) FROM ('
		               'SELECT %I::bigint AS i, (%s)::float4 AS s'
		               ' FROM %s WHERE %s @@ $1 ORDER BY s DESC, 1 LIMIT $2) s',
		               id_col, rank_expr, tbl, tsv)
			INTO tids, tscore USING tsq, pool, lexqs, idfs;
	END IF;

	RETURN QUERY
	SELECT f.id, f.score, f.vector_rank, f.text_rank,
	       vdist[f.vector_rank], tscore[f.text_rank]
	FROM @extschema@.rrf_fuse(coalesce(vids, '{}'), coalesce(tids, '{}'), rrf_k,
	                          vector_weight, text_weight) AS f
	LIMIT k;
END $$;
COMMENT ON FUNCTION hybrid_search(regclass, text, vector, int, int, int, float8, float8, name, name, name, name, regconfig, text, text) IS
	'hybrid retrieval: nearest rows by embedding and best full-text matches, fused with Reciprocal Rank Fusion';

-- hybrid_search() that embeds the query text itself (embed() evaluated once)
CREATE FUNCTION hybrid_search(tbl regclass, query text,
                              k int DEFAULT 10, pool int DEFAULT 100, rrf_k int DEFAULT 60,
                              vector_weight float8 DEFAULT 1.0, text_weight float8 DEFAULT 1.0,
                              id_col name DEFAULT 'id', text_col name DEFAULT 'chunk',
                              emb_col name DEFAULT 'emb', tsv_col name DEFAULT NULL,
                              ts_config regconfig DEFAULT 'english', model text DEFAULT NULL,
                              match text DEFAULT 'any', ranking text DEFAULT NULL)
	RETURNS TABLE(id bigint, score float8, vector_rank int, text_rank int,
	              vector_distance float8, text_score float4)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
	qv @extschema@.vector;
BEGIN
	IF query IS NULL THEN
		RETURN;
	END IF;
	IF model IS NULL THEN
		qv := @extschema@.embed(query);
	ELSE
		qv := @extschema@.embed(query, model);
	END IF;
	RETURN QUERY SELECT * FROM @extschema@.hybrid_search(tbl, query, qv, k, pool, rrf_k,
		vector_weight, text_weight, id_col, text_col, emb_col, tsv_col, ts_config, match, ranking);
END $$;
COMMENT ON FUNCTION hybrid_search(regclass, text, int, int, int, float8, float8, name, name, name, name, regconfig, text, text, text) IS
	'hybrid retrieval for a question: embeds it, then fuses vector and full-text results with Reciprocal Rank Fusion';

-- -------------------------------------------------------------------
-- Ingestion: fill an embedding column in committed batches
-- -------------------------------------------------------------------

-- embed_table(): embeds the rows whose embedding is NULL, batch rows per
-- embed(text[]) call and per transaction.  A cancel loses at most the batch
-- in flight; calling it again resumes with the rows still NULL.  Rows are
-- locked with SKIP LOCKED, so several sessions can share the work.  Each
-- batch continues after the last row of the previous one (ctid order, a TID
-- range scan), so a big table is read once, not once per batch; a final
-- pass from the start picks up rows that were skipped while locked.
CREATE PROCEDURE embed_table(tbl regclass, text_col name DEFAULT 'chunk',
                             emb_col name DEFAULT 'emb', batch int DEFAULT 64,
                             model text DEFAULT NULL, quiet boolean DEFAULT false)
	LANGUAGE plpgsql AS $$
DECLARE
	todo bigint;
	done bigint := 0;
	n bigint;
	last_tid tid := '(0,0)';
	batch_tid tid;
	rescanned boolean := false;
	t0 timestamptz := clock_timestamp();
	last_report timestamptz := clock_timestamp();
	elapsed float8;
	stmt text;
BEGIN
	IF batch IS NULL OR batch < 1 OR batch > 10000 THEN
		RAISE EXCEPTION 'batch must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', batch);
	END IF;
	-- a Citus distributed table: embedded on the nodes holding its shards
	-- (sql/parts/60_citus.sql)
	IF @extschema@._citus_distributed(tbl) THEN
		CALL @extschema@._embed_table_citus(tbl, text_col, emb_col, batch, model, quiet);
		RETURN;
	END IF;
	-- batches are addressed by ctid: a ctid names one row only in a plain
	-- table (partitions of a partitioned table repeat them; views have none)
	IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = tbl) <> 'r' THEN
		RAISE EXCEPTION '"%" is not a table', tbl
			USING ERRCODE = 'wrong_object_type',
			      DETAIL = 'embed_table fills a plain table.',
			      HINT = 'For a partitioned table, call embed_table on each partition.';
	END IF;
	-- fail early on a bad model, even when there is nothing to do
	IF model IS NOT NULL THEN
		PERFORM @extschema@.embed('x'::text, model);
	END IF;
	EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL AND %I IS NOT NULL',
	               tbl, emb_col, text_col) INTO todo;
	IF NOT quiet THEN
		RAISE NOTICE 'embed_table: % rows of % to embed, % per batch', todo, tbl, batch;
	END IF;

	-- one statement per batch: lock a batch, embed it in one call, update it;
	-- returns the rows updated and the last ctid looked at
	stmt := format('WITH b AS MATERIALIZED ('
	               '  SELECT ctid AS tid, %2$I AS txt FROM %1$s'
	               '  WHERE ctid > $2 AND %3$I IS NULL AND %2$I IS NOT NULL'
	               '  LIMIT $1 FOR UPDATE SKIP LOCKED),'
	               ' e AS MATERIALIZED ('
	               '  SELECT array_agg(tid ORDER BY tid) AS tids,'
	               '         %4$s(array_agg(txt ORDER BY tid)%5$s) AS embs FROM b),'
	               ' u AS (UPDATE %1$s AS t SET %3$I = u.emb'
	               '  FROM e, unnest(e.tids, e.embs) AS u(tid, emb)'
	               '  WHERE t.ctid = u.tid AND u.emb IS NOT NULL RETURNING 1)'
	               ' SELECT (SELECT count(*) FROM u), (SELECT max(tid) FROM b)',
	               tbl, text_col, emb_col, '@extschema@.embed',
	               CASE WHEN model IS NULL THEN '' ELSE format(', %L', model) END);
	LOOP
		EXECUTE stmt INTO n, batch_tid USING batch, last_tid;
		IF batch_tid IS NULL THEN
			-- reached the end: one more pass from the start, then stop
			EXIT WHEN rescanned OR last_tid = '(0,0)';
			rescanned := true;
			last_tid := '(0,0)';
			CONTINUE;
		END IF;
		last_tid := batch_tid;
		COMMIT;
		done := done + n;
		IF NOT quiet AND (clock_timestamp() - last_report > interval '2 seconds' OR done >= todo) THEN
			elapsed := extract(epoch FROM clock_timestamp() - t0);
			RAISE NOTICE '%', format('embed_table: %s / %s rows (%s%%), %s rows/s', done, todo,
				CASE WHEN todo > 0 THEN round(100.0 * done / todo, 1) ELSE 100 END,
				round(done / greatest(elapsed, 0.001)));
			last_report := clock_timestamp();
		END IF;
	END LOOP;
	IF NOT quiet THEN
		elapsed := extract(epoch FROM clock_timestamp() - t0);
		RAISE NOTICE 'embed_table: done, % rows in % s', done, round(elapsed::numeric, 2);
	END IF;
END $$;
COMMENT ON PROCEDURE embed_table(regclass, name, name, int, text, boolean) IS
	'fill NULL embeddings in batches with embed(text[]), committing each batch; resumable after a cancel';

-- -------------------------------------------------------------------
-- Retrieval helpers for LLM prompts
-- -------------------------------------------------------------------

-- retrieve(): the top-k chunks for a question with their document id,
-- score and text.  mode 'hybrid' scores by RRF, 'vector' by cosine
-- similarity (1 - distance), 'text' by ts_rank_cd.
CREATE FUNCTION retrieve(tbl regclass, question text, k int DEFAULT 5,
                         mode text DEFAULT 'hybrid', pool int DEFAULT 100,
                         id_col name DEFAULT 'id', doc_col name DEFAULT 'doc_id',
                         text_col name DEFAULT 'chunk', emb_col name DEFAULT 'emb',
                         tsv_col name DEFAULT NULL, ts_config regconfig DEFAULT 'english',
                         model text DEFAULT NULL)
	RETURNS TABLE(rank int, id bigint, doc_id text, score float8, chunk text)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
	vw float8;
	tw float8;
BEGIN
	CASE mode
		WHEN 'hybrid' THEN vw := 1; tw := 1;
		WHEN 'vector' THEN vw := 1; tw := 0;
		WHEN 'text' THEN vw := 0; tw := 1;
		ELSE
			RAISE EXCEPTION 'unknown retrieval mode "%"', mode
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = 'The mode is one of "hybrid", "vector" and "text".';
	END CASE;
	RETURN QUERY EXECUTE format(
		'SELECT (row_number() OVER (ORDER BY h.score DESC, h.id))::int, h.id, t.%I::text,'
		'       CASE $4 WHEN ''vector'' THEN 1 - h.vector_distance'
		'               WHEN ''text'' THEN h.text_score::float8 ELSE h.score END,'
		'       t.%I::text'
		' FROM @extschema@.hybrid_search($1, $2, k => $3, pool => greatest($3, $5),'
		'      vector_weight => $6, text_weight => $7, id_col => $8, text_col => $9,'
		'      emb_col => $10, tsv_col => $11, ts_config => $12, model => $13) AS h'
		' JOIN %s AS t ON t.%I = h.id ORDER BY 1',
		doc_col, text_col, tbl, id_col)
	USING tbl, question, k, mode, pool, vw, tw, id_col, text_col, emb_col,
	      tsv_col, ts_config, model;
END $$;
COMMENT ON FUNCTION retrieve(regclass, text, int, text, int, name, name, name, name, name, regconfig, text) IS
	'top-k chunks for a question (hybrid, vector or text retrieval) with document id, score and text';

-- retrieve_prompt(): the retrieved chunks as a numbered context block plus
-- the question, ready to send to an LLM
CREATE FUNCTION retrieve_prompt(tbl regclass, question text, k int DEFAULT 5,
                                mode text DEFAULT 'hybrid', id_col name DEFAULT 'id',
                                doc_col name DEFAULT 'doc_id', text_col name DEFAULT 'chunk',
                                emb_col name DEFAULT 'emb', model text DEFAULT NULL)
	RETURNS text LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
	SELECT 'Answer the question using only the context below. Cite the sources you use as [n].'
	       || E'\n\n' || coalesce(string_agg(format('[%s] (document %s, score %s)', r.rank, r.doc_id,
	                                                round(r.score::numeric, 4))
	                                         || E'\n' || r.chunk, E'\n\n' ORDER BY r.rank), '(no context found)')
	       || E'\n\nQuestion: ' || question
	FROM @extschema@.retrieve(tbl, question, k, mode, 100, id_col, doc_col, text_col,
	                          emb_col, NULL, 'english', model) AS r
$$;
COMMENT ON FUNCTION retrieve_prompt(regclass, text, int, text, name, name, name, name, text) IS
	'retrieved chunks formatted as a numbered context block followed by the question, for an LLM prompt';
