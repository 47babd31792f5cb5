
-- ===================================================================
-- Citus: semvec on distributed tables (docs/scale-out.md)
-- ===================================================================
-- semvec does not depend on Citus.  These functions read Citus's catalog
-- (pg_dist_*) and call its master_run_on_worker() only when Citus is
-- installed in the database, through dynamic SQL, so the extension installs
-- and works the same without it.  Everything else (vector, hnsw, embed(),
-- chunk(), hybrid_search(), retrieve()) works on distributed tables as it
-- is: Citus pushes the queries down to the shards.

-- _citus_distributed(): is tbl a Citus table (distributed, reference or
-- Citus-managed local)?  false when Citus is not installed.
CREATE FUNCTION _citus_distributed(tbl regclass)
	RETURNS boolean LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $$
DECLARE
	found boolean;
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
		INTO found USING tbl;
	RETURN found;
END $$;

-- semvec_node_models(): does every active Citus node embed like this one?
-- Embeds a probe text with the model here and on each node (a new
-- connection each, so nothing cached is reused) and compares.  status is
-- 'ok', 'differs' (another model folder under the same name, or other
-- files), 'error' (no such model there, semvec missing, ...) or
-- 'unreachable'.
CREATE FUNCTION semvec_node_models(model text DEFAULT NULL)
	RETURNS TABLE(node_name text, node_port int, status text, detail text)
	LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
	m text;
	-- mixed case, punctuation, digits and more words than a short max length
	probe text := 'Semvec model check, 2: The Quick Brown Fox jumps over the lazy dog; '
	              'PostgreSQL stores vectors, and every node must embed this text alike.';
	here @extschema@.vector;
	names text[];
	ports int[];
BEGIN
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_node') IS NULL THEN
		RAISE EXCEPTION 'Citus is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'semvec_node_models() checks the nodes of a Citus cluster.';
	END IF;
	-- no model named: the installed default, as embed(text) everywhere
	m := coalesce(model, 'default');
	here := @extschema@.embed(probe, m);
	EXECUTE 'SELECT array_agg(nodename ORDER BY nodeid), array_agg(nodeport ORDER BY nodeid)'
	        ' FROM pg_catalog.pg_dist_node WHERE isactive AND noderole = ''primary'''
		INTO names, ports;
	-- relative L2 difference: a model that differs only in scale (another
	-- normalisation) is caught too; kernels picked for other CPUs differ
	-- by far less than the 1e-4 allowed
	RETURN QUERY EXECUTE
		'SELECT r.node_name, r.node_port,'
		'       CASE WHEN NOT r.success AND r.result LIKE ''failed to connect%'' THEN ''unreachable'''
		'            WHEN NOT r.success THEN ''error'''
		'            WHEN @extschema@.l2_distance(r.result::@extschema@.vector, $4) <= 1e-4 * $5 THEN ''ok'''
		'            ELSE ''differs'' END,'
		'       CASE WHEN r.success THEN pg_catalog.format(''relative difference from this node''''s embedding: %s'','
		'                 @extschema@.l2_distance(r.result::@extschema@.vector, $4) / $5)'
		'            ELSE r.result END'
		' FROM pg_catalog.master_run_on_worker($1, $2,'
		'      pg_catalog.array_fill($3, ARRAY[pg_catalog.cardinality($1)]), true) AS r'
		' ORDER BY 1, 2'
		USING coalesce(names, '{}'), coalesce(ports, '{}'),
		      pg_catalog.format('SELECT @extschema@.embed(%L, %L)::text', probe, m), here,
		      greatest(@extschema@.vector_norm(here), 1e-30);
END $$;
COMMENT ON FUNCTION semvec_node_models(text) IS
	'Citus: check that every active node has the model and embeds a probe text as this node does';

-- _embed_table_citus(): embed_table() for a Citus distributed table.  The
-- embedding runs on the nodes that hold the shards, all at once: per round,
-- each node gets one new session that runs embed_table() on its shards (plain
-- tables there) that still have rows to embed; the rows never travel to the
-- coordinator.  Each shard commits per batch as on one node, so a failure or
-- cancel loses at most the batches in flight and a new call resumes.
-- Several calls at once share the shards' rows (SKIP LOCKED): that is how
-- to run more than one session per node.
CREATE PROCEDURE _embed_table_citus(tbl regclass, text_col name, emb_col name, batch int,
                                    model text, quiet boolean)
	LANGUAGE plpgsql AS $$
DECLARE
	m text;
	todo bigint;
	left_ bigint := 0;
	replicated bigint;
	prev bigint;
	rnd int := 0;
	names text[];
	ports int[];
	cmds text[];
	failed text;
	bad record;
	pl record;
	t0 timestamptz := pg_catalog.clock_timestamp();
	count_sql text := pg_catalog.format('SELECT count(*) FROM %s WHERE %I IS NULL AND %I IS NOT NULL',
	                                    tbl, emb_col, text_col);
BEGIN
	-- no model named: the installed default, as embed(text) on every node
	m := coalesce(model, 'default');
	-- a shard with several placements (a reference table, or a replicated
	-- distributed table) would be written behind Citus's back
	EXECUTE 'SELECT count(*) FROM (SELECT shardid FROM pg_catalog.pg_dist_shard_placement'
	        '  JOIN pg_catalog.pg_dist_shard USING (shardid)'
	        '  WHERE logicalrelid = $1 GROUP BY shardid HAVING count(*) > 1) s'
		INTO replicated USING tbl;
	IF replicated > 0 THEN
		RAISE EXCEPTION 'embed_table does not support Citus tables with replicated shards'
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = pg_catalog.format('%s has %s shards with more than one placement (a reference table, or citus.shard_replication_factor > 1).',
			                                 tbl, replicated),
			      HINT = pg_catalog.format('Fill it with UPDATE %s SET %I = embed(%I) WHERE %I IS NULL.',
			                               tbl, emb_col, text_col, emb_col);
	END IF;

	-- the same model on every node holding a shard, before any work
	FOR bad IN EXECUTE
		'SELECT c.node_name, c.node_port, c.status, c.detail'
		' FROM @extschema@.semvec_node_models($1) AS c'
		' WHERE c.status <> ''ok'' AND (c.node_name, c.node_port) IN'
		'  (SELECT nodename, nodeport FROM pg_catalog.pg_dist_shard_placement'
		'   JOIN pg_catalog.pg_dist_shard USING (shardid) WHERE logicalrelid = $2)'
		USING m, tbl
	LOOP
		IF bad.status = 'unreachable' THEN
			RAISE EXCEPTION 'cannot embed %: node %:% is unreachable', tbl, bad.node_name, bad.node_port
				USING ERRCODE = 'connection_failure', DETAIL = bad.detail,
				      HINT = 'Start the node, then call embed_table again.';
		ELSIF bad.status = 'differs' THEN
			RAISE EXCEPTION 'model "%" on node %:% does not embed like the one on this node', m,
				bad.node_name, bad.node_port
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = bad.detail,
				      HINT = 'Install the same model folder on every node.';
		ELSE
			RAISE EXCEPTION 'cannot embed % with model "%" on node %:%', tbl, m,
				bad.node_name, bad.node_port
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = bad.detail,
				      HINT = 'Install semvec and the same model folder on every node.';
		END IF;
	END LOOP;

	EXECUTE count_sql INTO todo;
	IF NOT quiet THEN
		RAISE NOTICE 'embed_table: % rows of % to embed on the nodes holding its shards, % per batch',
			todo, tbl, batch;
	END IF;
	-- Rounds: each node gets one new session that embeds its shards with
	-- rows to do, one after another, and starts no new shard once the
	-- round has run 30 seconds; then this session reports progress and
	-- starts the next round.  So a node loads the model once per round, and
	-- waits at most for the rest of another node's current shard.
	-- client_connection_check_interval ends a node's session soon after
	-- this one goes away (a cancel here), losing only the batch in flight.
	prev := todo;
	LOOP
		rnd := rnd + 1;
		names := '{}';
		ports := '{}';
		cmds := '{}';
		FOR pl IN EXECUTE
			'SELECT p.nodename, p.nodeport, bool_and(r.success) AS ok, string_agg(r.result, '' '') FILTER (WHERE NOT r.success) AS err,'
			'       array_agg(pg_catalog.shard_name(s.logicalrelid, s.shardid) ORDER BY s.shardid) AS shards'
			' FROM pg_catalog.run_command_on_shards($1, $2) AS r'
			' JOIN pg_catalog.pg_dist_shard s ON s.shardid = r.shardid'
			' JOIN pg_catalog.pg_dist_shard_placement p ON p.shardid = r.shardid'
			' WHERE NOT r.success OR r.result = ''t'''
			' GROUP BY p.nodename, p.nodeport ORDER BY 1, 2'
			USING tbl, pg_catalog.format('SELECT EXISTS (SELECT FROM %%s WHERE %I IS NULL AND %I IS NOT NULL)',
			                             emb_col, text_col)
		LOOP
			IF NOT pl.ok THEN
				RAISE EXCEPTION 'cannot read the shards of % on node %:%', tbl, pl.nodename, pl.nodeport
					USING ERRCODE = 'connection_failure', DETAIL = pl.err,
					      HINT = 'Batches committed so far are kept: call embed_table again once every node works.';
			END IF;
			names := names || pl.nodename::text;
			ports := ports || pl.nodeport::int;
			cmds := cmds || pg_catalog.format('DO %L', pg_catalog.format(
				'DECLARE t0 timestamptz := pg_catalog.clock_timestamp(); s text; BEGIN'
				' PERFORM pg_catalog.set_config(%L, %L, false);'
				' FOREACH s IN ARRAY %L::text[] LOOP'
				'  CALL @extschema@.embed_table(s::regclass, %L, %L, %s, %L, true);'
				'  EXIT WHEN pg_catalog.clock_timestamp() - t0 > interval %L;'
				' END LOOP; END',
				'client_connection_check_interval', '1000', pl.shards,
				text_col, emb_col, batch, m, '30 seconds'));
		END LOOP;
		EXIT WHEN pg_catalog.cardinality(names) = 0;
		EXECUTE 'SELECT string_agg(pg_catalog.format(''%s:%s: %s'', node_name, node_port, result), E''\n'')'
		        ' FROM pg_catalog.master_run_on_worker($1, $2, $3, true) WHERE NOT success'
			INTO failed USING names, ports, cmds;
		IF failed IS NOT NULL THEN
			RAISE EXCEPTION 'embedding % failed on a node', tbl
				USING ERRCODE = 'external_routine_exception', DETAIL = failed,
				      HINT = 'Batches committed so far are kept: call embed_table again once every node works.';
		END IF;
		EXECUTE count_sql INTO left_;
		IF NOT quiet THEN
			RAISE NOTICE '%', pg_catalog.format('embed_table: round %s, %s / %s rows (%s%%), %s rows/s',
				rnd, todo - left_, todo,
				CASE WHEN todo > 0 THEN round(100.0 * (todo - left_) / todo, 1) ELSE 100 END,
				round((todo - left_) / greatest(extract(epoch FROM pg_catalog.clock_timestamp() - t0), 0.001)));
		END IF;
		-- rows embed() leaves NULL are left alone, as on one node
		EXIT WHEN left_ >= prev;
		prev := left_;
	END LOOP;
	IF NOT quiet THEN
		RAISE NOTICE 'embed_table: done, % rows in % s', todo - left_,
			round(extract(epoch FROM pg_catalog.clock_timestamp() - t0)::numeric, 2);
	END IF;
END $$;
