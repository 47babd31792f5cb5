
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

-- _hybrid_fuse(): the fusion step of hybrid_search().  Takes each side's
-- ranked candidates (ids as text, best first) with their scores (vector:
-- cosine similarity 1 - distance; text: BM25 or ts_rank scores), returns
-- every candidate with its fused score and ranks, best first.
--   'rrf':    weight / (rrf_k + rank), summed over the sides
--   'convex': each side's scores scaled to 0..1 from the score of a row
--             that does not match at all (text scores: 0, so score / best;
--             similarities have no such zero: the pool's lowest, so
--             (s - lowest) / (best - lowest)); a missing candidate counts
--             0; weighted sum
--   'auto':   'convex' with each side's weight multiplied by its spread,
--             (best - mean) / best over its pool (a side returning fewer
--             than pool rows counts the missing ones as its lowest
--             possible score: 0 for text, the pool's lowest for vectors):
--             a side whose best candidates barely stand out from the rest
--             of its pool gets little say (docs/rag.md, "Fusion")
CREATE FUNCTION _hybrid_fuse(vector_ids text[], vector_scores float8[],
                             text_ids text[], text_scores float8[],
                             fusion text, pool int, rrf_k int,
                             vector_weight float8, text_weight float8)
	RETURNS TABLE(id text, score float8, vector_rank int, text_rank int)
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	WITH v AS (
		SELECT u.id, min(u.r)::int AS r0, max(u.s) AS s
		FROM unnest(vector_ids, vector_scores) WITH ORDINALITY AS u(id, s, r)
		WHERE u.id IS NOT NULL GROUP BY u.id
	), vr AS (
		SELECT v.id, v.s, (row_number() OVER (ORDER BY v.r0))::int AS r FROM v
	), t AS (
		SELECT u.id, min(u.r)::int AS r0, max(u.s) AS s
		FROM unnest(text_ids, text_scores) WITH ORDINALITY AS u(id, s, r)
		WHERE u.id IS NOT NULL GROUP BY u.id
	), tr AS (
		SELECT t.id, t.s, (row_number() OVER (ORDER BY t.r0))::int AS r FROM t
	), vs AS (
		SELECT max(s) AS mx, min(s) AS mn, count(*) AS n, sum(s) AS total FROM vr
	), ts AS (
		SELECT max(s) AS mx, min(s) AS mn, count(*) AS n, sum(s) AS total FROM tr
	), w AS (
		SELECT
		  vector_weight * CASE WHEN fusion = 'auto' THEN
		    CASE WHEN vs.mx > 0 THEN greatest(vs.mx - (vs.total + greatest(pool - vs.n, 0) * vs.mn)
		                                               / greatest(pool, vs.n), 0) / vs.mx
		         ELSE 0 END
		  ELSE 1 END AS wv,
		  text_weight * CASE WHEN fusion = 'auto' THEN
		    CASE WHEN ts.mx > 0 THEN greatest(ts.mx - ts.total / greatest(pool, ts.n), 0) / ts.mx
		         ELSE 0 END
		  ELSE 1 END AS wt,
		  vs.mx AS vmx, vs.mn AS vmn, ts.mx AS tmx, ts.mn AS tmn
		FROM vs, ts
	)
	SELECT coalesce(vr.id, tr.id),
	       CASE WHEN fusion = 'rrf' THEN
	         coalesce(vector_weight / (rrf_k + vr.r), 0) + coalesce(text_weight / (rrf_k + tr.r), 0)
	       ELSE
	         coalesce(w.wv * CASE WHEN w.vmx > w.vmn THEN (vr.s - w.vmn) / (w.vmx - w.vmn) ELSE 1 END, 0)
	         + coalesce(w.wt * CASE WHEN w.tmx > 0 THEN greatest(tr.s, 0) / w.tmx ELSE 1 END, 0)
	       END,
	       vr.r, tr.r
	FROM vr FULL JOIN tr ON vr.id = tr.id CROSS JOIN w
	ORDER BY 2 DESC, least(vr.r, tr.r), 1;
END;

-- The bm25 index on a column (valid, without a predicate), or NULL
CREATE FUNCTION _bm25_index_on(tbl regclass, col name)
	RETURNS regclass LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT i.indexrelid::regclass
	FROM pg_catalog.pg_index i
	JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
	JOIN pg_catalog.pg_am am ON am.oid = c.relam AND am.amname = 'bm25'
	JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indrelid = tbl AND i.indnatts = 1 AND a.attname = col
	  AND i.indisvalid AND i.indpred IS NULL
	ORDER BY i.indexrelid LIMIT 1;
END;

-- hybrid_search() with a query vector: the pool nearest rows by cosine
-- distance (hnsw or ivfflat index when there is one) and the pool best
-- full-text matches (the bm25 index on text_col when there is one, else a
-- tsvector ranking), fused ('auto' by default: see _hybrid_fuse).  Ids are
-- returned in id_type's type (bigint by default; NULL::uuid, NULL::text...).
CREATE FUNCTION hybrid_search(tbl regclass, query text, query_vec vector, id_type anyelement,
                              k int DEFAULT 10, pool int DEFAULT 100, rrf_k int DEFAULT 60,
                              vector_weight float8 DEFAULT 1.0, text_weight float8 DEFAULT 1.0,
                              id_col name DEFAULT 'id', text_col name DEFAULT 'chunk',
                              emb_col name DEFAULT 'emb', tsv_col name DEFAULT NULL,
                              ts_config regconfig DEFAULT 'english', match text DEFAULT 'any',
                              ranking text DEFAULT NULL, fusion text DEFAULT 'auto',
                              rerank_model text DEFAULT NULL, rerank_k int DEFAULT 50)
	RETURNS TABLE(id anyelement, score float8, vector_rank int, text_rank int,
	              vector_distance float8, text_score float8, text_path text,
	              rerank_score float8)
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
	bm25idx regclass;
	bq @extschema@.bm25query;
	old_batch text;
	path text;
	coltype oid;
	idtype regtype := pg_typeof(id_type);
	vids text[];
	vsims float8[];
	tids text[];
	tscores float8[];
	fids text[];
	fscores float8[];
	fvranks int[];
	ftranks int[];
	docs text[];
	found_ids text[];
	found_docs text[];
	rscores float4[];
BEGIN
	PERFORM @extschema@._rag_check_args(k, pool, rrf_k);
	IF vector_weight IS NULL OR text_weight IS NULL
		OR vector_weight < 0 OR text_weight < 0
		OR vector_weight IN ('NaN', 'Infinity') OR text_weight IN ('NaN', 'Infinity') THEN
		RAISE EXCEPTION 'weights must be finite and not negative'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('Got vector_weight = %s and text_weight = %s.', vector_weight, text_weight);
	END IF;
	IF fusion IS NULL OR fusion NOT IN ('auto', 'convex', 'rrf') THEN
		RAISE EXCEPTION 'unknown fusion "%"', fusion
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'The fusion is "auto", "convex" or "rrf".';
	END IF;
	IF match IS NULL OR match NOT IN ('any', 'all') THEN
		RAISE EXCEPTION 'unknown match mode "%"', match
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'The match mode is "any" or "all".';
	END IF;
	IF ranking IS NOT NULL AND ranking NOT IN ('bm25', 'idf', 'ts_rank', 'ts_rank_cd') THEN
		RAISE EXCEPTION 'unknown ranking "%"', ranking
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'The ranking is "bm25", "idf", "ts_rank" or "ts_rank_cd".';
	END IF;
	IF rerank_model IS NOT NULL THEN
		IF rerank_k IS NULL OR rerank_k < 1 THEN
			RAISE EXCEPTION 'rerank_k must be positive' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF query IS NULL THEN
			RAISE EXCEPTION 'reranking needs the query text'
				USING ERRCODE = 'null_value_not_allowed',
				      DETAIL = 'The cross-encoder reads the query and each candidate together.';
		END IF;
	END IF;

	-- ids of any type: carried as text, returned as id_type
	SELECT a.atttypid INTO coltype FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = tbl AND a.attname = id_col AND a.attnum > 0 AND NOT a.attisdropped;
	IF coltype IS NULL THEN
		RAISE EXCEPTION 'column "%" of relation % does not exist', id_col, tbl
			USING ERRCODE = 'undefined_column';
	END IF;
	IF coltype <> idtype AND idtype NOT IN ('text'::regtype, 'varchar'::regtype)
		AND NOT EXISTS (SELECT FROM pg_catalog.pg_cast c
		                WHERE c.castsource = coltype AND c.casttarget = idtype) THEN
		RAISE EXCEPTION 'id column "%" is of type %, not %', id_col, coltype::regtype, idtype
			USING ERRCODE = 'datatype_mismatch',
			      HINT = format('Pass id_type => NULL::%s.', coltype::regtype);
	END IF;

	IF tsv_col IS NOT NULL THEN
		tsv := format('%I', tsv_col);
	ELSE
		tsv := format('to_tsvector(%L::regconfig, %I)', ts_config, text_col);
	END IF;

	-- vector side.  An hnsw scan returns at most ef_search rows: make room
	-- for the pool (set_config() is why these functions are PARALLEL
	-- RESTRICTED: settings cannot change inside a parallel worker)
	IF query_vec IS NOT NULL AND vector_weight <> 0 THEN
		IF old_ef IS NOT NULL AND old_ef ~ '^\d+$' AND old_ef::int < pool THEN
			PERFORM set_config('hnsw.ef_search', least(pool, 1000)::text, true);
		END IF;
		EXECUTE format('SELECT array_agg(i ORDER BY d, i), array_agg(1 - d ORDER BY d, i) FROM ('
		               'SELECT %I::text AS i, %I OPERATOR(@extschema@.<=>) $1 AS d FROM %s'
		               ' WHERE %I IS NOT NULL ORDER BY %I OPERATOR(@extschema@.<=>) $1 LIMIT $2) s',
		               id_col, emb_col, tbl, emb_col, emb_col)
			INTO vids, vsims USING query_vec, pool;
		IF old_ef IS NOT NULL THEN
			PERFORM set_config('hnsw.ef_search', old_ef, true);
		END IF;
	END IF;

	-- text side: the bm25 index when there is one (unless a tsvector
	-- ranking is asked for); 'all' adds a filter: every term required
	-- (websearch_to_tsquery syntax: "quoted phrases", or, -term)
	bm25idx := @extschema@._bm25_index_on(tbl, text_col);
	rk := coalesce(ranking, CASE WHEN bm25idx IS NOT NULL THEN 'bm25'
	                             WHEN match = 'any' THEN 'idf' ELSE 'ts_rank_cd' END);
	IF rk = 'bm25' AND bm25idx IS NULL THEN
		RAISE EXCEPTION 'column "%" of relation % has no bm25 index', text_col, tbl
			USING ERRCODE = 'undefined_object',
			      HINT = format('CREATE INDEX ON %s USING bm25 (%I)', tbl, text_col);
	END IF;
	IF match = 'all' THEN
		tsq := websearch_to_tsquery(ts_config, query);
	ELSE
		SELECT string_agg(quote_literal(l), ' | ')::tsquery INTO tsq
		FROM unnest(tsvector_to_array(to_tsvector(ts_config, query))) AS l;
	END IF;

	IF rk = 'bm25' THEN
		path := format('bm25 index %s', bm25idx);
		IF match = 'all' THEN
			path := path || format(', filtered by %s @@ websearch_to_tsquery', tsv);
		END IF;
		IF text_weight <> 0 AND query IS NOT NULL AND (match = 'any' OR tsq IS NOT NULL) THEN
			-- rank the whole pool in one batch; a plan without the index (a
			-- tiny table) sorts rows without a query term last, with score 0
			-- on a Citus table, every shard scores with the whole table's
			-- statistics (one more round trip; bm25.global_stats = off
			-- saves it), so the merged ranking is one node's; a local
			-- table's index has them already
			IF current_setting('bm25.global_stats') = 'on' AND @extschema@._citus_distributed(tbl) THEN
				bq := @extschema@.bm25_corpus_query(bm25idx, query);
				path := path || ', global statistics';
			ELSE
				bq := query;
			END IF;
			old_batch := current_setting('bm25.first_batch', true);
			PERFORM set_config('bm25.first_batch', pool::text, true);
			EXECUTE format('SELECT array_agg(i), array_agg(s) FROM ('
			               'SELECT %I::text AS i, -(%I OPERATOR(@extschema@.<@>) $1) AS s FROM %s'
			               ' WHERE %s ORDER BY %I OPERATOR(@extschema@.<@>) $1 LIMIT $2) s WHERE s > 0',
			               id_col, text_col, tbl,
			               CASE WHEN match = 'all' THEN format('%s @@ $3', tsv) ELSE 'true' END,
			               text_col)
				INTO tids, tscores USING bq, pool, tsq;
			PERFORM set_config('bm25.first_batch', coalesce(old_batch, '10'), true);
		END IF;
	ELSE
		path := format('%s ranked by %s', CASE WHEN tsv_col IS NOT NULL THEN format('tsvector column %I', tsv_col)
		                                      ELSE tsv END, rk);
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
			               'SELECT %I::text AS i, (%s)::float4::float8 AS s'
			               ' FROM %s WHERE %s @@ $1 ORDER BY s DESC, 1 LIMIT $2) s',
			               id_col, rank_expr, tbl, tsv)
				INTO tids, tscores USING tsq, pool, lexqs, idfs;
		END IF;
	END IF;

	IF rerank_model IS NULL THEN
		RETURN QUERY EXECUTE format(
			'SELECT f.id::%s, f.score, f.vector_rank, f.text_rank, 1 - $2[f.vector_rank], $4[f.text_rank], $9,'
			'       NULL::float8'
			' FROM @extschema@._hybrid_fuse($1, $2, $3, $4, $5, $6, $7, $8, $10) AS f LIMIT $11', idtype)
		USING coalesce(vids, '{}'), coalesce(vsims, '{}'), coalesce(tids, '{}'), coalesce(tscores, '{}'),
		      fusion, pool, rrf_k, vector_weight, path, text_weight, k;
		RETURN;
	END IF;

	-- rerank stage: the rerank_k best fused candidates are read with the
	-- query by the cross-encoder (one rerank() call, so one batched pass)
	-- and come first in the order of its scores; any further rows up to k
	-- keep the fused order.  rerank() runs even without candidates, so a
	-- missing or wrong model is reported whatever the data.
	EXECUTE 'SELECT coalesce(array_agg(f.id ORDER BY f.o), ''{}''), coalesce(array_agg(f.score ORDER BY f.o), ''{}''),'
	        '       coalesce(array_agg(f.vector_rank ORDER BY f.o), ''{}''), coalesce(array_agg(f.text_rank ORDER BY f.o), ''{}'')'
	        ' FROM @extschema@._hybrid_fuse($1, $2, $3, $4, $5, $6, $7, $8, $9)'
	        '   WITH ORDINALITY AS f(id, score, vector_rank, text_rank, o)'
		INTO fids, fscores, fvranks, ftranks
		USING coalesce(vids, '{}'), coalesce(vsims, '{}'), coalesce(tids, '{}'), coalesce(tscores, '{}'),
		      fusion, pool, rrf_k, vector_weight, text_weight;
	-- the candidates' texts: one plain "= ANY" query on the table (which
	-- Citus runs on the shards; a subquery per candidate it cannot), then
	-- put in the candidates' order here
	EXECUTE format('SELECT coalesce(array_agg(t.%I::text), ''{}''), coalesce(array_agg(t.%I::text), ''{}'')'
	               ' FROM %s AS t WHERE t.%I = ANY($1::%s[])',
	               id_col, text_col, tbl, id_col, coltype::regtype)
		INTO found_ids, found_docs USING fids[1:rerank_k];
	docs := ARRAY(SELECT f.doc FROM unnest(fids[1:rerank_k]) WITH ORDINALITY AS u(id, n)
	              LEFT JOIN (SELECT DISTINCT ON (x.id) x.id, x.doc
	                         FROM unnest(found_ids, found_docs) AS x(id, doc)) f ON f.id = u.id
	              ORDER BY u.n);
	rscores := @extschema@.rerank(query, docs, rerank_model);
	RETURN QUERY EXECUTE format(
		'SELECT f.id::%s, f.score, f.vr, f.tr, 1 - $5[f.vr], $6[f.tr], $7, $8[f.n]::float8'
		' FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS f(id, score, vr, tr, n)'
		' ORDER BY f.n > $9, $8[f.n] DESC NULLS LAST, f.n LIMIT $10', idtype)
	USING fids, fscores, fvranks, ftranks, coalesce(vsims, '{}'), coalesce(tscores, '{}'), path,
	      rscores, rerank_k, k;
END $$;
COMMENT ON FUNCTION hybrid_search(regclass, text, vector, anyelement, int, int, int, float8, float8, name, name, name, name, regconfig, text, text, text, text, int) IS
	'hybrid retrieval with ids of id_type''s type: nearest rows by embedding and best full-text matches (bm25 index when there is one), fused, optionally reranked by a cross-encoder';

-- The same with bigint ids (any integer key), without id_type
CREATE FUNCTION hybrid_search(tbl regclass, query text, query_vec vector,
                              k int DEFAULT 10, pool int DEFAULT 100, rrf_k int DEFAULT 60,
                              vector_weight float8 DEFAULT 1.0, text_weight float8 DEFAULT 1.0,
                              id_col name DEFAULT 'id', text_col name DEFAULT 'chunk',
                              emb_col name DEFAULT 'emb', tsv_col name DEFAULT NULL,
                              ts_config regconfig DEFAULT 'english', match text DEFAULT 'any',
                              ranking text DEFAULT NULL, fusion text DEFAULT 'auto',
                              rerank_model text DEFAULT NULL, rerank_k int DEFAULT 50)
	RETURNS TABLE(id bigint, score float8, vector_rank int, text_rank int,
	              vector_distance float8, text_score float8, text_path text,
	              rerank_score float8)
	LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
	SELECT * FROM @extschema@.hybrid_search(tbl, query, query_vec, NULL::bigint, k, pool, rrf_k,
		vector_weight, text_weight, id_col, text_col, emb_col, tsv_col, ts_config, match, ranking, fusion,
		rerank_model, rerank_k)
$$;
COMMENT ON FUNCTION hybrid_search(regclass, text, vector, int, int, int, float8, float8, name, name, name, name, regconfig, text, text, text, text, int) IS
	'hybrid retrieval: nearest rows by embedding and best full-text matches (bm25 index when there is one), fused, optionally reranked by a cross-encoder';

-- hybrid_search() that embeds the query text itself (embed() evaluated once;
-- not when vector_weight is 0).  Other key types: the form above with
-- query_vec => embed(query) and id_type.
CREATE FUNCTION hybrid_search(tbl regclass, query text,
                              k int DEFAULT 10, pool int DEFAULT 100, rrf_k int DEFAULT 60,
                              vector_weight float8 DEFAULT 1.0, text_weight float8 DEFAULT 1.0,
                              id_col name DEFAULT 'id', text_col name DEFAULT 'chunk',
                              emb_col name DEFAULT 'emb', tsv_col name DEFAULT NULL,
                              ts_config regconfig DEFAULT 'english', model text DEFAULT NULL,
                              match text DEFAULT 'any', ranking text DEFAULT NULL,
                              fusion text DEFAULT 'auto', rerank_model text DEFAULT NULL,
                              rerank_k int DEFAULT 50)
	RETURNS TABLE(id bigint, score float8, vector_rank int, text_rank int,
	              vector_distance float8, text_score float8, text_path text,
	              rerank_score float8)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
	qv @extschema@.vector;
BEGIN
	IF query IS NULL THEN
		RETURN;
	END IF;
	IF vector_weight IS DISTINCT FROM 0 THEN
		IF model IS NULL THEN
			qv := @extschema@.embed(query);
		ELSE
			qv := @extschema@.embed(query, model);
		END IF;
	END IF;
	RETURN QUERY SELECT * FROM @extschema@.hybrid_search(tbl, query, qv, NULL::bigint, k, pool, rrf_k,
		vector_weight, text_weight, id_col, text_col, emb_col, tsv_col, ts_config, match, ranking,
		fusion, rerank_model, rerank_k);
END $$;
COMMENT ON FUNCTION hybrid_search(regclass, text, int, int, int, float8, float8, name, name, name, name, regconfig, text, text, text, text, text, int) IS
	'hybrid retrieval for a question: embeds it, then fuses vector and full-text (bm25) results, optionally reranked by a cross-encoder';

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
-- score and text.  mode 'hybrid' scores by the fused score, 'vector' by
-- cosine similarity (1 - distance), 'text' by BM25 (or the tsvector
-- ranking when the text column has no bm25 index).  With rerank_model,
-- the best greatest(k, rerank_k) candidates of that retrieval are reranked
-- by the cross-encoder and the score is its score.
CREATE FUNCTION retrieve(tbl regclass, question text, id_type anyelement, k int DEFAULT 5,
                         mode text DEFAULT 'hybrid', pool int DEFAULT 100,
                         id_col name DEFAULT 'id', doc_col name DEFAULT 'doc_id',
                         text_col name DEFAULT 'chunk', emb_col name DEFAULT 'emb',
                         tsv_col name DEFAULT NULL, ts_config regconfig DEFAULT 'english',
                         model text DEFAULT NULL, rerank_model text DEFAULT NULL,
                         rerank_k int DEFAULT 50)
	RETURNS TABLE(rank int, id anyelement, doc_id text, score float8, chunk text)
	LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
	vw float8;
	tw float8;
	coltype regtype;
	qv @extschema@.vector;
BEGIN
	SELECT a.atttypid INTO coltype FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = tbl AND a.attname = id_col AND a.attnum > 0 AND NOT a.attisdropped;
	CASE mode
		WHEN 'hybrid' THEN vw := 1; tw := 1;
		WHEN 'vector' THEN vw := 1; tw := 0;
		WHEN 'text' THEN vw := 0; tw := 1;
		ELSE
			RAISE EXCEPTION 'unknown retrieval mode "%"', mode
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = 'The mode is one of "hybrid", "vector" and "text".';
	END CASE;
	IF rerank_model IS NOT NULL AND (rerank_k IS NULL OR rerank_k < 1) THEN
		RAISE EXCEPTION 'rerank_k must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF question IS NULL THEN
		RETURN;
	END IF;
	IF vw <> 0 THEN
		IF model IS NULL THEN
			qv := @extschema@.embed(question);
		ELSE
			qv := @extschema@.embed(question, model);
		END IF;
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT (row_number() OVER (ORDER BY h.rerank_score DESC NULLS LAST, h.score DESC,'
		'                                    h.text_rank, h.vector_rank))::int, h.id, t.%I::text,'
		'       CASE WHEN $15 IS NOT NULL THEN h.rerank_score'
		'            WHEN $4 = ''vector'' THEN 1 - h.vector_distance'
		'            WHEN $4 = ''text'' THEN h.text_score ELSE h.score END,'
		'       t.%I::text'
		' FROM @extschema@.hybrid_search($1, $2, $13, $14, k => $3, pool => greatest($3, $5),'
		'      vector_weight => $6, text_weight => $7, id_col => $8, text_col => $9,'
		'      emb_col => $10, tsv_col => $11, ts_config => $12,'
		'      rerank_model => $15, rerank_k => greatest($3, $16)) AS h'
		' JOIN %s AS t ON t.%I = h.id::text::%s ORDER BY 1',
		doc_col, text_col, tbl, id_col, coalesce(coltype, 'text'))
	USING tbl, question, k, mode, pool, vw, tw, id_col, text_col, emb_col,
	      tsv_col, ts_config, qv, id_type, rerank_model, rerank_k;
END $$;
COMMENT ON FUNCTION retrieve(regclass, text, anyelement, int, text, int, name, name, name, name, name, regconfig, text, text, int) IS
	'top-k chunks for a question (hybrid, vector or text retrieval, optionally reranked by a cross-encoder) with ids of id_type''s type, document id, score and text';

CREATE FUNCTION retrieve(tbl regclass, question text, k int DEFAULT 5,
                         mode text DEFAULT 'hybrid', pool int DEFAULT 100,
                         id_col name DEFAULT 'id', doc_col name DEFAULT 'doc_id',
                         text_col name DEFAULT 'chunk', emb_col name DEFAULT 'emb',
                         tsv_col name DEFAULT NULL, ts_config regconfig DEFAULT 'english',
                         model text DEFAULT NULL, rerank_model text DEFAULT NULL,
                         rerank_k int DEFAULT 50)
	RETURNS TABLE(rank int, id bigint, doc_id text, score float8, chunk text)
	LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
	SELECT * FROM @extschema@.retrieve(tbl, question, NULL::bigint, k, mode, pool, id_col, doc_col,
		text_col, emb_col, tsv_col, ts_config, model, rerank_model, rerank_k)
$$;
COMMENT ON FUNCTION retrieve(regclass, text, int, text, int, name, name, name, name, name, regconfig, text, text, int) IS
	'top-k chunks for a question (hybrid, vector or text retrieval, optionally reranked by a cross-encoder) with document id, score and text';

-- retrieve_prompt(): the retrieved chunks as a numbered context block plus
-- the question, ready to send to an LLM
CREATE FUNCTION retrieve_prompt(tbl regclass, question text, k int DEFAULT 5,
                                mode text DEFAULT 'hybrid', id_col name DEFAULT 'id',
                                doc_col name DEFAULT 'doc_id', text_col name DEFAULT 'chunk',
                                emb_col name DEFAULT 'emb', model text DEFAULT NULL,
                                rerank_model text DEFAULT NULL)
	RETURNS text LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
	SELECT 'Answer the question using only the context below. Cite the sources you use as [n].'
	       || E'\n\n' || coalesce(string_agg(format('[%s] (document %s, score %s)', r.rank, r.doc_id,
	                                                round(r.score::numeric, 4))
	                                         || E'\n' || r.chunk, E'\n\n' ORDER BY r.rank), '(no context found)')
	       || E'\n\nQuestion: ' || question
	FROM @extschema@.retrieve(tbl, question, NULL::text, k, mode, 100, id_col, doc_col, text_col,
	                          emb_col, NULL, 'english', model, rerank_model) AS r
$$;
COMMENT ON FUNCTION retrieve_prompt(regclass, text, int, text, name, name, name, name, text, text) IS
	'retrieved chunks formatted as a numbered context block followed by the question, for an LLM prompt';
