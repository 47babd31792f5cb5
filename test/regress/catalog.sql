-- Extension-wide catalog audit.
--
-- Every function is STRICT, IMMUTABLE and PARALLEL SAFE unless there is a
-- reason; the rows below are the exceptions, each one deliberate:
--   _citus_distributed    reads the catalog (STABLE)
--   _bm25_index_on        reads the catalog (STABLE)
--   _rag_check_args       checks NULL arguments itself (not STRICT)
--   bm25_check, bm25_query_terms, bm25_stats
--                         read an index (VOLATILE)
--   bm25_distance, bm25_score
--                         read an index's statistics (STABLE) and this backend's
--                         running scans of it (RESTRICTED)
--   bm25_tokenize         reads the text search configuration (STABLE)
--   bm25handler           index AM handler, as core's
--   chunk                 NULL options mean defaults; reads the model files
--   drop_adapter          deletes a row of semvec_adapters (VOLATILE, UNSAFE; not STRICT: if_exists)
--   embed_tokens          reads the model files (STABLE)
--   hnsw_check            reads an index (VOLATILE)
--   hnswhandler           index AM handler, as core's
--   ivfflat_check         reads an index (VOLATILE)
--   ivfflathandler        index AM handler, as core's
--   hybrid_search, retrieve, retrieve_prompt
--                         read tables, NULL options mean defaults, set hnsw.ef_search (RESTRICTED)
--   rrf_fuse              NULL arrays are empty lists (not STRICT)
--   semvec_kernel_info    reports a setting (STABLE)
--   semvec_models         reads the file system (VOLATILE, UNSAFE: may raise errors per folder)
--   semvec_node_models    NULL model means the default; connects to the Citus nodes (VOLATILE, UNSAFE)
--   semvec_reload_models  drops this backend's cache (VOLATILE, RESTRICTED)
--   to_bm25query          NULL index means none; checks the index (STABLE)
SELECT p.proname, p.proisstrict, p.provolatile, p.proparallel
	FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'semvec'
	WHERE p.prokind = 'f' AND (NOT p.proisstrict OR p.provolatile <> 'i' OR p.proparallel <> 's')
	GROUP BY 1, 2, 3, 4
	ORDER BY 1;

-- No SECURITY DEFINER anywhere
SELECT count(*) AS security_definer
	FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'semvec'
	WHERE p.prosecdef;

-- Every operator class of the extension validates
SELECT am.amname, opc.opcname, amvalidate(opc.oid)
	FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
	JOIN pg_depend d ON d.objid = opc.oid AND d.classid = 'pg_opclass'::regclass
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'semvec'
	ORDER BY 1, 2;

-- The pgvector names clients depend on exist
SELECT to_regtype('vector') IS NOT NULL AS vector, to_regtype('_vector') IS NOT NULL AS vector_array,
	(SELECT count(*) FROM pg_am WHERE amname = 'hnsw') AS hnsw_am;
