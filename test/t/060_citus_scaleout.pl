# semvec on Citus: a coordinator and two workers (three servers with
# shared_preload_libraries = 'citus'), a chunks table sharded by document id
# and colocated with its documents, and every answer compared with the same
# data in plain tables on one node (the coordinator's own, undistributed
# copies): chunking and embedding on the workers, hnsw on every shard,
# pushed-down ORDER BY ... LIMIT with the question embedded once on the
# coordinator, WHERE filters, prepared statements and bind parameters,
# hybrid_search() and retrieve() (also with a cross-encoder rerank stage),
# model checks, a worker without the model or down, and shards moved between
# workers with their indexes.
#
# Skipped (with the reason) when Citus is not installed in the server under
# test: tools/build_citus.sh builds it from ../shared/vendor/citus.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::Local qw(timegm);

my $src = $ENV{SEMVEC_SRC} // '.';
my $pkglib = `pg_config --pkglibdir`;
chomp $pkglib;
if (!-f "$pkglib/citus.so")
{
	my $why = -d "$src/../shared/vendor/citus" || -d '/work/shared/vendor/citus'
	  ? 'run tools/build_citus.sh to build it'
	  : 'its source (../shared/vendor/citus) is absent, so tools/build_citus.sh cannot build it';
	plan skip_all => "Citus is not installed in $pkglib: $why";
}
my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
my $installed_model = "$sharedir/semvec/models/default";
-d $installed_model or BAIL_OUT("no installed default model in $installed_model");

# Each node finds the model "mini" in its own folder (semvec.model_path), so
# one node can lack it or hold a different one.  It links to the installed
# default model, which the one-argument forms (embed(text), chunk(),
# embed_table without a model) use on every node.
my $models = PostgreSQL::Test::Utils::tempdir;
my (%node, @all);
for my $name (qw(coordinator worker1 worker2))
{
	mkdir "$models/$name" or die $!;
	symlink $installed_model, "$models/$name/mini" or die $!;
	my $n = PostgreSQL::Test::Cluster->new($name);
	$n->init;
	# Citus connects to the nodes over TCP (the test framework's nodes
	# listen on a Unix socket only)
	$n->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
citus.local_hostname = '127.0.0.1'
max_connections = 60
semvec.model_path = '$models/$name'
});
	$n->start;
	$n->safe_psql('postgres', 'CREATE EXTENSION citus');
	$node{$name} = $n;
	push @all, $n;
}
my ($coord, $w1, $w2) = @node{qw(coordinator worker1 worker2)};
my $wport1 = $w1->port;
my $wport2 = $w2->port;

$coord->safe_psql('postgres', sprintf(q{
	SELECT citus_set_coordinator_host('127.0.0.1', %d);
	SELECT citus_add_node('127.0.0.1', %d);
	SELECT citus_add_node('127.0.0.1', %d);
	CREATE EXTENSION semvec;
}, $coord->port, $wport1, $wport2));
is($coord->safe_psql('postgres', q{
	SELECT string_agg(result, ',') FROM run_command_on_workers(
		$$SELECT extversion FROM pg_extension WHERE extname = 'semvec'$$)}),
	'0.1.0,0.1.0', 'CREATE EXTENSION semvec on the coordinator reached both workers');
is($coord->safe_psql('postgres', q{
	SELECT string_agg(status, ',' ORDER BY node_port) FROM semvec_node_models()}),
	'ok,ok,ok', 'semvec_node_models: every node embeds with the default model like the coordinator');
is($coord->safe_psql('postgres', q{
	SELECT string_agg(status, ',' ORDER BY node_port) FROM semvec_node_models('mini')}),
	'ok,ok,ok', 'semvec_node_models: every node embeds with "mini" like the coordinator');

# Short helpers
sub q1 { return $coord->safe_psql('postgres', $_[0]); }

sub fails_like
{
	my ($sql, $re, $what) = @_;
	my ($ret, $out, $err) = $coord->psql('postgres', $sql);
	isnt($ret, 0, "$what: fails");
	like($err, $re, "$what: error message");
	return $err;
}

# Documents: deterministic English-like text on eight topics, mixed
my $gen = q{
CREATE FUNCTION gen_doc(d int) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
	SELECT string_agg(
		CASE h % 4
		WHEN 0 THEN format('The %s %s %s the %s near the %s.', a, n1, v, n2, n3)
		WHEN 1 THEN format('Every %s %s needs a %s %s before the %s begins.', a, n1, a2, n2, n3)
		WHEN 2 THEN format('Report %s says the %s %s %s %s by the %s.', d, a2, n1, v, n2, n3)
		ELSE format('Why does the %s %s %s when the %s is %s?', n1, v, n2, n3, a) END,
		' ' ORDER BY s)
	FROM (SELECT s, h,
	             (ARRAY['old','quiet','rapid','large','fragile','bright','careful','hidden',
	                    'modern','broken','patient','frozen','silver','narrow','noisy','ancient'])[1 + (h >> 3) % 16] AS a,
	             (ARRAY['old','quiet','rapid','large','fragile','bright','careful','hidden',
	                    'modern','broken','patient','frozen','silver','narrow','noisy','ancient'])[1 + (h >> 7) % 16] AS a2,
	             nouns[t][1 + (h >> 11) % 8] AS n1, nouns[t][1 + (h >> 14) % 8] AS n2,
	             nouns[t][1 + (h >> 17) % 8] AS n3, verbs[t][1 + (h >> 20) % 6] AS v
	      FROM (SELECT s, abs(hashtext(d || '/' || s)) AS h,
	                   CASE WHEN abs(hashtext(s || '#' || d)) % 4 = 0 THEN 1 + abs(hashtext(d || '!' || s)) % 8
	                        ELSE 1 + d % 8 END AS t,
	                   ARRAY[['index','table','query','replica','transaction','planner','checkpoint','vacuum'],
	                         ['oven','recipe','knife','sauce','baker','kitchen','dough','spice'],
	                         ['telescope','comet','planet','orbit','galaxy','astronomer','nebula','eclipse'],
	                         ['goalkeeper','referee','stadium','striker','league','coach','penalty','match'],
	                         ['violin','conductor','symphony','choir','orchestra','melody','concert','piano'],
	                         ['gardener','tomato','greenhouse','seedling','compost','orchard','hedge','tulip'],
	                         ['locomotive','platform','signal','timetable','carriage','station','railway','guard'],
	                         ['surgeon','patient','ward','nurse','vaccine','clinic','fever','diagnosis']] AS nouns,
	                   ARRAY[['scans','locks','replicates','rewrites','plans','flushes'],
	                         ['bakes','slices','seasons','simmers','roasts','stirs'],
	                         ['observes','tracks','photographs','orbits','eclipses','discovers'],
	                         ['blocks','scores','referees','trains','defends','tackles'],
	                         ['plays','conducts','rehearses','tunes','performs','composes'],
	                         ['waters','prunes','plants','harvests','grows','fertilizes'],
	                         ['departs','signals','couples','brakes','schedules','arrives'],
	                         ['treats','examines','diagnoses','vaccinates','monitors','discharges']] AS verbs
	            FROM generate_series(1, 6 + d % 5) s) x) y
$f$;
};
my @questions = (
	'which telescope tracks the comet near the galaxy',
	'how does the planner lock a table during a transaction',
	'the baker seasons the sauce in the kitchen',
	'why did the referee give a penalty to the striker',
	'the conductor rehearses the symphony with the choir',
	'when should a gardener prune the orchard',
	'the locomotive departs from the platform on time',
	'a nurse monitors the fever of the patient in the ward');

# Run a query template once per question (__Q__: the question as a literal)
# in one session; "1:result;2:result;..."
sub per_q
{
	my ($template, $pre) = @_;
	my $sql = join("\n", map { ($template =~ s/__Q__/'$_'/gr) . ';' } @questions);
	$sql = "SET citus.propagate_set_commands = 'local'; BEGIN; $pre; $sql COMMIT;" if $pre;
	my @r = split /\n/, $coord->safe_psql('postgres', $sql), -1;
	return join(';', map { ($_ + 1) . ':' . ($r[$_] // '') } 0 .. $#questions);
}

# Distributed tables, and the same tables undistributed on the coordinator
my $ddl = q{
	CREATE TABLE %1$s (id bigint PRIMARY KEY, body text NOT NULL);
	CREATE TABLE %2$s (doc_id bigint NOT NULL, id bigint NOT NULL, ord int NOT NULL,
	                   chunk text NOT NULL, emb vector(512),
	                   tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', chunk)) STORED,
	                   PRIMARY KEY (doc_id, id));
};
q1($gen . sprintf($ddl, 'docs', 'chunks') . sprintf($ddl, 'docs_local', 'chunks_local'));
q1(q{
	SELECT create_distributed_table('docs', 'id', shard_count => 4);
	SELECT create_distributed_table('chunks', 'doc_id', colocate_with => 'docs');
	INSERT INTO docs SELECT d, gen_doc(d) FROM generate_series(1, 300) d;
	INSERT INTO docs_local SELECT d, gen_doc(d) FROM generate_series(1, 300) d;
});
is(q1(q{
	SELECT count(DISTINCT colocationid) || ' ' || string_agg(partmethod::text, '' ORDER BY logicalrelid)
	FROM pg_dist_partition WHERE logicalrelid IN ('docs'::regclass, 'chunks'::regclass)}),
	'1 hh', 'docs and chunks are hash-distributed and colocated');
is(q1(q{
	SELECT string_agg(n::text, ',' ORDER BY nodeport) FROM (
		SELECT nodeport, count(*) AS n FROM pg_dist_shard_placement
		JOIN pg_dist_shard USING (shardid) WHERE logicalrelid = 'chunks'::regclass
		GROUP BY nodeport) s}),
	'2,2', 'chunks has two shards on each worker');

# ---------------------------------------------------------------------------
# Ingestion: chunk() on the workers, inserted shard-locally
my $ingest = q{INSERT INTO %2$s (doc_id, id, ord, chunk)
	SELECT id, id * 100 + (c).ord, (c).ord, (c).chunk
	FROM (SELECT id, chunk(body, 40, 0) AS c FROM %1$s) s};
my $ingest_dist = sprintf($ingest, 'docs', 'chunks');
my $ingest_local = sprintf($ingest, 'docs_local', 'chunks_local');
my $plan = q1("EXPLAIN (COSTS OFF) $ingest_dist");
like($plan, qr/Task Count: 4.*Insert on chunks_\d+.*ProjectSet.*Seq Scan on docs_\d+/s,
	'INSERT ... SELECT chunk() is pushed down: each shard chunks and inserts its own documents');
unlike($plan, qr/pull to coordinator|repartition/, 'no rows go through the coordinator');
note "ingestion plan (docs/scale-out.md):\n$plan";
q1($ingest_dist);
q1($ingest_local);
my $nchunks = q1('SELECT count(*) FROM chunks');
cmp_ok($nchunks, '>', 1000, "300 documents gave $nchunks chunks");
is(q1('SELECT count(DISTINCT chunk) FROM chunks'), $nchunks, 'chunks are all different (no ties)');
is(q1(q{SELECT md5(string_agg(doc_id || ':' || id || ':' || chunk, '|' ORDER BY doc_id, id)) FROM chunks}),
	q1(q{SELECT md5(string_agg(doc_id || ':' || id || ':' || chunk, '|' ORDER BY doc_id, id)) FROM chunks_local}),
	'chunks on the workers are those of one node');

# Embedding on the workers: embed_table on the distributed table runs on the
# nodes holding its shards, one session per node at a time; the workers'
# statement logs (with durations) show when each session ran
for my $w ($w1, $w2)
{
	$w->safe_psql('postgres', "ALTER SYSTEM SET log_duration = on; SELECT pg_reload_conf()");
}
my %logpos = map { $_ => -s $node{$_}->logfile } qw(worker1 worker2);
my ($ret, $out, $err) = $coord->psql('postgres', "CALL embed_table('chunks')");
is($ret, 0, 'embed_table on the distributed table') or diag($err);
like($err, qr/embed_table: \d+ rows of chunks to embed on the nodes holding its shards.*round \d+, $nchunks \/ $nchunks rows.*done, $nchunks rows/s,
	'embed_table reports progress per round');
for my $w ($w1, $w2)
{
	$w->safe_psql('postgres', "ALTER SYSTEM RESET log_duration; SELECT pg_reload_conf()");
}
is(q1('SELECT count(*) FROM chunks WHERE emb IS NULL'), '0', 'every chunk embedded');

# [start, end] of each shard's embed_table session on a worker, from its log
# (the test nodes log every statement; the duration line follows it)
sub embed_sessions
{
	my ($name) = @_;
	my (%start, @iv);
	for (split /\n/, slurp_file($node{$name}->logfile, $logpos{$name}))
	{
		next unless /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+\.\d+) \S+ \[(\d+)\]/;
		my ($t, $pid) = (timegm(0, $5, $4, $3, $2 - 1, $1) + $6, $7);
		if (/statement: DO .*embed_table\(s::regclass/)
		{
			$start{$pid} = $t;
		}
		elsif (/duration: ([\d.]+) ms/ && defined $start{$pid})
		{
			push @iv, [ $start{$pid}, $start{$pid} + $1 / 1000 ];
			delete $start{$pid};
		}
	}
	return @iv;
}
my @s1 = embed_sessions('worker1');
my @s2 = embed_sessions('worker2');
ok(@s1 >= 1 && @s2 >= 1, 'each worker embedded its shards in its own session(s)');
my $overlap = 0;
for my $a (@s1)
{
	for my $b (@s2)
	{
		my $o = ($a->[1] < $b->[1] ? $a->[1] : $b->[1]) - ($a->[0] > $b->[0] ? $a->[0] : $b->[0]);
		$overlap += $o if $o > 0;
	}
}
my $busy = 0;
$busy += $_->[1] - $_->[0] for @s1;
note sprintf('worker1 embedded for %.2f s, both workers at once for %.2f s', $busy, $overlap);
cmp_ok($overlap, '>', 0.5 * $busy, 'the two workers embedded in parallel');

q1("CALL embed_table('chunks_local', quiet => true)");
is(q1(q{SELECT count(*) || ' ' || (max(c.emb <=> l.emb) < 1e-6)
		FROM chunks c JOIN chunks_local l USING (doc_id, id)}),
	"$nchunks true", 'embeddings made on the workers equal those made on one node');

# ---------------------------------------------------------------------------
# Exact search (no index yet): the same rows and distances as on one node
my $knn = q{
	SELECT string_agg(id || '/' || round(d::numeric, 5), ',' ORDER BY d, id)
	FROM (SELECT id, emb <=> embed(__Q__) AS d FROM %s %s ORDER BY emb <=> embed(__Q__) LIMIT 10) t};
my %exact;
for my $filter ('', q{WHERE doc_id % 3 = 0}, q{WHERE tsv @@ to_tsquery('english', 'report')},
	q{WHERE doc_id IN (5, 77, 150, 151, 299)})
{
	my $d = per_q(sprintf($knn, 'chunks', $filter));
	my $l = per_q(sprintf($knn, 'chunks_local', $filter));
	is($d, $l, 'exact top-10 equals one node\'s' . ($filter ? " ($filter)" : ''));
	$exact{$filter} = $l;
}

# Where the question is embedded: the plan sent to the shards holds the
# constant vector (embed() folded once on the coordinator), and ORDER BY and
# LIMIT go to every shard, the coordinator merging their top rows
my $explain = q1(q{EXPLAIN (VERBOSE, COSTS OFF)
	SELECT id FROM chunks ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 5});
like($explain, qr/Limit.*->  Sort.*Sort Key: remote_scan\.worker_column_\d.*Custom Scan \(Citus Adaptive\).*Task Count: 4/s,
	'coordinator: Limit over a merge sort of the shards\' results');
like($explain, qr/Query: SELECT .* FROM public\.chunks_\d+ chunks WHERE true ORDER BY \(emb OPERATOR\(public\.<=>\) '\[[-0-9.e,]+\]'::public\.vector\) LIMIT '5'::bigint/,
	'each shard gets ORDER BY distance LIMIT 5 with the question as a constant vector');
unlike($explain, qr/embed\(/, 'no embed() call is sent to the shards');
like(q1(q{EXPLAIN (COSTS OFF) SELECT id FROM chunks WHERE doc_id = 77
		ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 5}),
	qr/Task Count: 1\b/, 'a filter on the document id routes the query to one shard');
like(q1(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM chunks WHERE tsv @@ to_tsquery('english', 'report')
		ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 5}),
	qr/Query: SELECT .* WHERE \(tsv OPERATOR\(pg_catalog\.@@\) '''report'''::tsquery\) ORDER BY .* LIMIT '5'/,
	'WHERE filters go to the shards with ORDER BY and LIMIT');

# hybrid_search() and retrieve(): the single-node answer (exact vector side)
my $hybrid = q{
	SELECT string_agg(concat_ws('/', id, round(score::numeric, 8), vector_rank, text_rank,
	                            round(text_score::numeric, 5)), ',')
	FROM hybrid_search('%s', __Q__, k => 10, pool => 40, tsv_col => 'tsv' %s)};
my $retrieve = q{
	SELECT string_agg(concat_ws('/', rank, id, doc_id, round(score::numeric, 8), md5(chunk)), ',')
	FROM retrieve('%s', __Q__, k => 5, tsv_col => 'tsv' %s)};
my %single;
for my $opts ('', q{, match => 'all', ranking => 'ts_rank_cd'}, q{, vector_weight => 0.5})
{
	my $d = per_q(sprintf($hybrid, 'chunks', $opts));
	my $l = per_q(sprintf($hybrid, 'chunks_local', $opts));
	cmp_ok(length($l), '>', 300, "hybrid_search$opts returns results");
	is($d, $l, "hybrid_search$opts on the distributed table gives the single-node answer");
	$single{"hybrid$opts"} = $l;
}
for my $opts ('', q{, mode => 'vector'}, q{, mode => 'text'})
{
	my $d = per_q(sprintf($retrieve, 'chunks', $opts));
	my $l = per_q(sprintf($retrieve, 'chunks_local', $opts));
	is($d, $l, "retrieve$opts on the distributed table gives the single-node answer");
}

# The rerank stage on a distributed table: the cross-encoder reads the
# rerank_k best fused candidates on the coordinator (one batched rerank()
# call), so only the coordinator needs the model; the answer is the
# single-node one, and the cross-encoder is seen to change the order
system('/usr/bin/python3', "$src/tools/make_tiny_cross_encoder.py", "$models/coordinator") == 0
  or BAIL_OUT('make_tiny_cross_encoder.py failed (needs python3-torch, python3-numpy)');
my $reranked = q{
	SELECT string_agg(concat_ws('/', id, round(rerank_score::numeric, 5)), ',')
	FROM hybrid_search('%s', __Q__, k => 12, pool => 40, tsv_col => 'tsv',
	                   rerank_model => 'tiny-ce', rerank_k => 8)};
my $rr = per_q(sprintf($reranked, 'chunks_local'));
is(per_q(sprintf($reranked, 'chunks')), $rr,
	'hybrid_search with rerank_model on the distributed table gives the single-node answer');
my $nscored = () = $rr =~ m{/-?[0-9]}g;
is($nscored, 8 * scalar(@questions), 'rerank_k rows per question carry a rerank score');
isnt(per_q(q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM hybrid_search('chunks', __Q__, k => 8,
		pool => 40, tsv_col => 'tsv', rerank_model => 'tiny-ce', rerank_k => 8)) h}),
	per_q(q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM hybrid_search('chunks', __Q__, k => 8,
		pool => 40, tsv_col => 'tsv')) h}),
	'the cross-encoder changes the order (the comparison is not vacuous)');
is(per_q(sprintf($retrieve, 'chunks', q{, rerank_model => 'tiny-ce', rerank_k => 8})),
	per_q(sprintf($retrieve, 'chunks_local', q{, rerank_model => 'tiny-ce', rerank_k => 8})),
	'retrieve with rerank_model on the distributed table gives the single-node answer');

# ---------------------------------------------------------------------------
# Indexes: CREATE INDEX on the coordinator builds one on every shard
q1(q{
	CREATE INDEX chunks_emb ON chunks USING hnsw (emb vector_cosine_ops);
	CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
	CREATE INDEX chunks_local_emb ON chunks_local USING hnsw (emb vector_cosine_ops);
	CREATE INDEX chunks_local_tsv ON chunks_local USING gin (tsv);
	ANALYZE chunks; ANALYZE chunks_local;
});
my $shard_hnsw = q{
	SELECT string_agg(result, ',' ORDER BY shardid) FROM run_command_on_shards('chunks',
		$$SELECT count(*) || ':' || bool_and(hnsw_check(i.indexrelid)) FROM pg_index i
		  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		  WHERE i.indrelid = '%s'::regclass AND a.amname = 'hnsw'$$)};
is(q1($shard_hnsw), '1:true,1:true,1:true,1:true', 'every shard has an hnsw index that passes hnsw_check');
is(q1(q{SELECT string_agg(result, ',') FROM run_command_on_shards('chunks',
		$$SELECT count(*) FROM pg_indexes WHERE tablename = '%s' AND indexdef LIKE '%%USING gin%%'$$)}),
	'1,1,1,1', 'every shard has the GIN index');

# Settings such as enable_seqscan and hnsw.ef_search are per node: SET
# LOCAL reaches the shards in a transaction with citus.propagate_set_commands
my $in_txn = sub {
	my ($sets, $sql) = @_;
	return "SET citus.propagate_set_commands = 'local'; BEGIN; $sets; $sql; COMMIT;";
};
$explain = q1($in_txn->('SET LOCAL enable_seqscan = off', q{EXPLAIN (VERBOSE, COSTS OFF)
	SELECT id FROM chunks ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 5}));
like($explain, qr/Task Count: 4.*->  Limit.*->  Index Scan using chunks_emb_\d+ on public\.chunks_\d+ chunks.*Order By: \(chunks\.emb <=> '\[/s,
	'each shard answers through its hnsw index');
note "hnsw plan (docs/scale-out.md):\n$explain";

# Approximate search: recall@10 against the exact answer, distributed vs one node
sub recall
{
	my ($got, $want) = @_;
	my %w = map { my ($q, $ids) = split /:/, $_; ($q => [ map { (split m{/})[0] } split /,/, $ids ]) } split /;/, $want;
	my ($hit, $n) = (0, 0);
	for (split /;/, $got)
	{
		my ($q, $ids) = split /:/;
		my %g = map { ((split m{/})[0] => 1) } split /,/, ($ids // '');
		$hit += grep { $g{$_} } @{ $w{$q} };
		$n += @{ $w{$q} };
	}
	return $hit / $n;
}
for my $filter ('', q{WHERE doc_id % 3 = 0})
{
	my $sets = 'SET LOCAL enable_seqscan = off; SET LOCAL hnsw.iterative_scan = relaxed_order';
	my $d = per_q(sprintf($knn, 'chunks', $filter), $sets);
	my $l = per_q(sprintf($knn, 'chunks_local', $filter), $sets);
	my ($rd, $rl) = (recall($d, $exact{$filter}), recall($l, $exact{$filter}));
	note sprintf('recall@10%s: distributed %.3f, one node %.3f', $filter ? " ($filter)" : '', $rd, $rl);
	cmp_ok($rd, '>=', $rl - 0.05, 'hnsw recall@10 on the shards is that of one node' . ($filter ? " ($filter)" : ''));
	cmp_ok($rd, '>=', 0.8, 'hnsw recall@10 on the shards is high' . ($filter ? " ($filter)" : ''));
}

# hybrid_search through the indexes, with hnsw.ef_search high enough on
# every node for an exact candidate pool: the single-node answer again
for my $opts ('', q{, match => 'all', ranking => 'ts_rank_cd'})
{
	my $sets = 'SET LOCAL enable_seqscan = off; SET LOCAL hnsw.ef_search = 1000';
	is(per_q(sprintf($hybrid, 'chunks', $opts), $sets), $single{"hybrid$opts"},
		"hybrid_search$opts through the shards' indexes gives the single-node answer");
}

# ---------------------------------------------------------------------------
# Prepared statements with parameters: the question is still embedded on
# the coordinator, and the answers are one node's
my @prep = (
	[ 'kv', 'PREPARE kv(vector, int) AS SELECT id FROM %s ORDER BY emb <=> $1 LIMIT $2', 'kv(embed(__Q__), 10)' ],
	[ 'kt', 'PREPARE kt(text, int) AS SELECT id FROM %s ORDER BY emb <=> embed($1) LIMIT $2', 'kt(__Q__, 10)' ],
	[ 'kf', 'PREPARE kf(text, bigint) AS SELECT id FROM %s WHERE mod(doc_id, 5) = $2'
		  . ' ORDER BY emb <=> embed($1) LIMIT 10', 'kf(__Q__, 2)' ]);
for my $p (@prep)
{
	my ($name, $prepare, $exec) = @$p;
	# seven executions: the plan cache switches to a generic plan after five
	my $run = join("\n", map { 'EXECUTE ' . ($exec =~ s/__Q__/'$_'/r) . ';' } @questions[0 .. 6]);
	my $d = q1(sprintf($prepare, 'chunks') . ";\n$run\nEXPLAIN (VERBOSE, COSTS OFF) EXECUTE "
		  . ($exec =~ s/__Q__/'which telescope tracks the comet'/r));
	my $l = q1(sprintf($prepare, 'chunks_local') . ";\n$run");
	my ($plan) = $d =~ /^(Limit.*)/ms;
	$d =~ s/^Limit.*//ms;
	chomp $d;
	is($d, $l, "prepared statement $name: seven executions give one node's answers");
	like($plan, qr/Query: SELECT .*'\[[-0-9.e,]+\]'::public\.vector/, "$name: the shards get the embedded question");
	unlike($plan, qr/embed\(/, "$name: no embed() call reaches the shards");
}

# Bind parameters of unknown type (extended protocol, as pgvector clients
# send them; pgvector on Citus 11.3 failed with "could not determine data
# type of parameter $1")
SKIP:
{
	if (!eval { require DBI; require DBD::Pg; 1 })
	{
		my $why = 'DBD::Pg is not installed (Debian: libdbd-pg-perl)';
		fail("bind parameters: $why") if $ENV{SEMVEC_REQUIRE_CLIENTS};
		skip("bind parameters: $why", 1);
	}
	my $dbh = DBI->connect('dbi:Pg:dbname=postgres;host=' . $coord->host . ';port=' . $coord->port,
		'', '', { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
	my @binds = (
		[ 'vector', 'SELECT id FROM %s ORDER BY emb <=> ? LIMIT ?', sub { ($_[1], 10) } ],
		[ 'text', 'SELECT id FROM %s ORDER BY emb <=> embed(?) LIMIT ?', sub { ($_[0], 10) } ],
		[ 'filter', 'SELECT id FROM %s WHERE doc_id > ? AND tsv @@ plainto_tsquery(\'english\', ?) ORDER BY emb <=> ? LIMIT 10',
			sub { (100, 'report', $_[1]) } ],
		[ 'distance in the select list', 'SELECT id, round((emb <=> ?)::numeric, 5) FROM %s ORDER BY 2, 1 LIMIT ?',
			sub { ($_[1], 10) } ]);
	for my $b (@binds)
	{
		my ($what, $sql, $args) = @$b;
		my $sd = $dbh->prepare(sprintf($sql, 'chunks'));
		my $sl = $dbh->prepare(sprintf($sql, 'chunks_local'));
		my ($same, $n, $err) = (0, 0, '');
		for my $q (@questions[0 .. 6])
		{
			my $v = $dbh->selectrow_array('SELECT embed(?)::text', undef, $q);
			my @a = $args->($q, $v);
			my $rd = eval { $dbh->selectall_arrayref($sd, undef, @a) };
			$err ||= $@;
			my $rl = $dbh->selectall_arrayref($sl, undef, @a);
			$n++;
			$same++ if $rd && join(',', map { join('/', @$_) } @$rd) eq join(',', map { join('/', @$_) } @$rl)
			  && @$rl > 0;
		}
		is("$same/$n", "$n/$n", "bind parameters ($what): one node's answers") or diag($err);
	}
	$dbh->disconnect;
}

# ---------------------------------------------------------------------------
# A worker without the model: a clear error where the worker must embed,
# never a wrong answer; search still works (the coordinator embeds)
rename "$models/worker2/mini", "$models/worker2/mini.away" or die $!;
my $nodes = q1(q{SELECT string_agg(node_port || '=' || status, ',' ORDER BY node_port) FROM semvec_node_models('mini')});
like($nodes, qr/\b$wport2=error\b/, 'semvec_node_models: worker2 lacks the model');
like($nodes, qr/\b$wport1=ok\b/, 'semvec_node_models: worker1 has it');
like(q1(qq{SELECT detail FROM semvec_node_models('mini') WHERE node_port = $wport2}),
	qr/model "mini" does not exist/, 'semvec_node_models: the worker\'s own error');
q1('UPDATE chunks SET emb = NULL WHERE doc_id % 3 = 0');
my $nulls = q1('SELECT count(*) FROM chunks WHERE emb IS NULL');
fails_like("CALL embed_table('chunks', model => 'mini')",
	qr/cannot embed chunks with model "mini" on node 127\.0\.0\.1:$wport2.*DETAIL:.*model "mini" does not exist.*HINT:  Install semvec and the same model folder on every node/s,
	'embed_table when a worker lacks the model');
is(q1('SELECT count(*) FROM chunks WHERE emb IS NULL'), $nulls, 'nothing was embedded (checked before any work)');
fails_like(q{SELECT count(*) FROM chunks WHERE embed(chunk, 'mini') <=> emb > 0.5},
	qr/model "mini" does not exist/, 'a query embedding on the workers when one lacks the model');
is(q1(q{SELECT string_agg(id::text, ',' ORDER BY d, id) FROM (SELECT id, emb <=> embed('which telescope tracks the comet') AS d
		FROM chunks WHERE emb IS NOT NULL ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 10) t}),
	q1(q{SELECT string_agg(id::text, ',' ORDER BY d, id) FROM (SELECT id, emb <=> embed('which telescope tracks the comet') AS d
		FROM chunks_local WHERE doc_id % 3 <> 0 ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 10) t}),
	'search still works: the coordinator embeds the question');

# ... or with a different model under the same name
mkdir "$models/worker2/mini" or die $!;
for my $f (qw(config.json model.safetensors tokenizer.json LICENSE))
{
	symlink "$installed_model/$f", "$models/worker2/mini/$f" or die $!;
}
open(my $fh, '>', "$models/worker2/mini/sentence_bert_config.json") or die $!;
print $fh qq({"max_seq_length": 8, "do_lower_case": true}\n);
close $fh;
like(q1(q{SELECT string_agg(node_port || '=' || status, ',' ORDER BY node_port) FROM semvec_node_models('mini')}),
	qr/\b$wport2=differs\b/, 'semvec_node_models: worker2 has another model under the same name');
fails_like("CALL embed_table('chunks', model => 'mini')",
	qr/model "mini" on node 127\.0\.0\.1:$wport2 does not embed like the one on this node/,
	'embed_table when a worker has a different model');
is(q1('SELECT count(*) FROM chunks WHERE emb IS NULL'), $nulls, 'nothing was embedded');

# The model back: embed_table resumes and the data is one node's again
system('rm', '-rf', "$models/worker2/mini");
rename "$models/worker2/mini.away", "$models/worker2/mini" or die $!;
($ret, $out, $err) = $coord->psql('postgres', "CALL embed_table('chunks', model => 'mini', quiet => true)");
is($ret, 0, 'embed_table once the worker has the model again') or diag($err);
is(q1(q{SELECT count(*) FILTER (WHERE c.emb IS NULL) || ' ' || (max(c.emb <=> l.emb) < 1e-6)
		FROM chunks c JOIN chunks_local l USING (doc_id, id)}),
	'0 true', 'every row embedded again, equal to one node\'s');
is(per_q(sprintf($knn, 'chunks', '')), $exact{''}, 'search: the single-node answer');

# ---------------------------------------------------------------------------
# A worker down: clear errors; after it returns, the same answers
$w2->stop('fast');
fails_like(q{SELECT id FROM chunks ORDER BY emb <=> embed('which telescope tracks the comet') LIMIT 10},
	qr/connection to the remote node .*127\.0\.0\.1:$wport2 failed/, 'search with a worker down');
fails_like(q{SELECT * FROM hybrid_search('chunks', 'which telescope tracks the comet', tsv_col => 'tsv')},
	qr/connection to the remote node .*127\.0\.0\.1:$wport2 failed/, 'hybrid_search with a worker down');
fails_like(q{CALL embed_table('chunks')}, qr/cannot embed chunks: node 127\.0\.0\.1:$wport2 is unreachable/,
	'embed_table with a worker down');
like(q1(q{SELECT string_agg(node_port || '=' || status, ',' ORDER BY node_port) FROM semvec_node_models()}),
	qr/\b$wport2=unreachable\b/, 'semvec_node_models: worker2 unreachable');
$w2->start;
is(per_q(sprintf($knn, 'chunks', '')), $exact{''}, 'after the worker returns: search gives the single-node answer');
is(per_q(sprintf($hybrid, 'chunks', '')), $single{hybrid}, 'after the worker returns: hybrid_search too');

# ---------------------------------------------------------------------------
# Operations: drain a worker, remove it, add it back and rebalance; shards
# move with their indexes (rebuilt on the target) and the answers stay
q1("SELECT citus_drain_node('127.0.0.1', $wport2, shard_transfer_mode => 'block_writes')");
is(q1(q{SELECT string_agg(DISTINCT nodeport::text, ',') FROM pg_dist_shard_placement}), $wport1,
	'after draining worker2 every shard is on worker1');
is(q1($shard_hnsw), '1:true,1:true,1:true,1:true', 'moved shards have their hnsw index');
is(per_q(sprintf($knn, 'chunks', '')), $exact{''}, 'drained: the single-node answer');
q1("SELECT citus_remove_node('127.0.0.1', $wport2)");
# made a new, empty node: no Citus metadata, no semvec, no leftover shards
$w2->safe_psql('postgres', q{
	DROP EXTENSION citus CASCADE;
	DROP SCHEMA public CASCADE;
	CREATE SCHEMA public AUTHORIZATION pg_database_owner;
	GRANT USAGE ON SCHEMA public TO PUBLIC;
	CREATE EXTENSION citus;
});
is($w2->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'semvec'}), '0',
	'worker2 is empty again');
q1("SELECT citus_add_node('127.0.0.1', $wport2)");
is($w2->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'semvec'}), '0.1.0',
	'citus_add_node created semvec on the added worker');
is(q1(qq{SELECT status FROM semvec_node_models() WHERE node_port = $wport2}), 'ok',
	'the added worker has semvec and the model');
q1("SELECT rebalance_table_shards(shard_transfer_mode => 'block_writes')");
is(q1(q{SELECT string_agg(n::text, ',') FROM (SELECT count(*) AS n FROM pg_dist_shard_placement
		JOIN pg_dist_shard USING (shardid) WHERE logicalrelid = 'chunks'::regclass GROUP BY nodeport) s}),
	'2,2', 'rebalanced: two chunks shards on each worker');
is(q1($shard_hnsw), '1:true,1:true,1:true,1:true', 'rebalanced shards have their hnsw index');
is(per_q(sprintf($knn, 'chunks', '')), $exact{''}, 'rebalanced: the single-node answer');
is(per_q(sprintf($hybrid, 'chunks', '')), $single{hybrid}, 'rebalanced: hybrid_search gives the single-node answer');

# ---------------------------------------------------------------------------
# bm25 on the distributed table: CREATE INDEX on the coordinator builds one
# on every shard; ORDER BY chunk <@> 'question' LIMIT k goes to every shard
# (each answering through its own index) and the coordinator merges.  A
# plain question is scored by each shard with its own statistics (N,
# average length, document frequencies: docs/bm25.md), so the answer is the
# merge of the shards' own BM25 rankings, compared here with every shard's
# rows scored exhaustively; one node's ranking is only approached, and
# measured.  A question that carries the table's global statistics
# (bm25_corpus_query(), below) gets one node's ranking exactly.
q1(q{
	CREATE INDEX chunks_bm25 ON chunks USING bm25 (chunk);
	CREATE INDEX chunks_local_bm25 ON chunks_local USING bm25 (chunk);
});
my $shard_bm25 = q{
	SELECT string_agg(result, ',' ORDER BY shardid) FROM run_command_on_shards('chunks',
		$$SELECT count(*) || ':' || bool_and(bm25_check(i.indexrelid)) FROM pg_index i
		  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		  WHERE i.indrelid = '%s'::regclass AND a.amname = 'bm25'$$)};
is(q1($shard_bm25), '1:true,1:true,1:true,1:true', 'every shard has a bm25 index that passes bm25_check');
is(q1(q{SELECT sum(split_part(result, '/', 1)::bigint) || '/' || sum(split_part(result, '/', 2)::bigint)
		FROM run_command_on_shards('chunks', $$SELECT documents || '/' || total_length FROM bm25_stats(
			(SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			 JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = '%s'::regclass AND a.amname = 'bm25'))$$)}),
	q1(q{SELECT documents || '/' || total_length FROM bm25_stats('chunks_local_bm25')}),
	'the shards\' bm25 indexes together hold one node\'s documents and lengths');
$explain = q1(q{EXPLAIN (VERBOSE, COSTS OFF)
	SELECT id FROM chunks ORDER BY chunk <@> 'which telescope tracks the comet' LIMIT 5});
like($explain, qr/Limit.*->  Sort.*Custom Scan \(Citus Adaptive\).*Task Count: 4.*Query: SELECT .* ORDER BY \(chunk OPERATOR\(public\.<\@>\) 'which telescope tracks the comet'::public\.bm25query\) LIMIT '5'::bigint.*->  Limit.*->  Index Scan using chunks_bm25_\d+ on public\.chunks_\d+ chunks/s,
	'bm25: ORDER BY <@> LIMIT pushed to every shard, answered by the shard\'s index, merged on the coordinator');
note "bm25 plan (docs/scale-out.md):\n$explain";

# "id/score,..." lists: the same scores in order, and the same ids above
# the last score (rows tied at the cut may differ)
sub same_top
{
	my ($got, $want) = @_;
	my @g = map { [ split m{,} ] } map { (split /:/, $_, 2)[1] // '' } split /;/, $got;
	my @w = map { [ split m{,} ] } map { (split /:/, $_, 2)[1] // '' } split /;/, $want;
	return 0 unless @g == @w;
	for my $i (0 .. $#w)
	{
		my @gs = map { (split m{/})[1] } @{ $g[$i] };
		my @ws = map { (split m{/})[1] } @{ $w[$i] };
		return 0 unless "@gs" eq "@ws" && @ws > 0;
		my $cut = $ws[-1];
		my $ids = sub { join ',', sort map { my ($id, $sc) = split m{/}; $sc != $cut ? $id : () } @{ $_[0] } };
		return 0 unless $ids->($g[$i]) eq $ids->($w[$i]);
	}
	return 1;
}
my $bm25 = q{
	SELECT string_agg(id || '/' || round((-d)::numeric, 6), ',' ORDER BY d, id)
	FROM (SELECT id, chunk <@> __Q__ AS d FROM %s %s ORDER BY chunk <@> __Q__ LIMIT 10) t WHERE d < 0};
# every shard's rows scored without the index (OFFSET 0 keeps the ORDER BY
# away from it), the shards' top 10 merged here
my $bm25_merge = q{
	SELECT string_agg(x, ',' ORDER BY s DESC, id) FROM (
		SELECT x, split_part(x, '/', 1)::bigint AS id, split_part(x, '/', 2)::numeric AS s
		FROM run_command_on_shards('chunks', $$SELECT string_agg(id || '/' || round((-d)::numeric, 6), ',')
			FROM (SELECT id, d FROM (SELECT id, chunk <@> __Q__ AS d FROM %%s %s OFFSET 0) s
			      WHERE d < 0 ORDER BY d, id LIMIT 10) t$$) r, unnest(string_to_array(r.result, ',')) x
		ORDER BY s DESC, id LIMIT 10) m};
for my $filter ('', q{WHERE doc_id % 3 = 0})
{
	my $d = per_q(sprintf($bm25, 'chunks', $filter));
	my $m = per_q(sprintf($bm25_merge, $filter =~ s{%}{%%}gr));   # format() in run_command_on_shards
	cmp_ok(length($d), '>', 300, 'bm25 top-10 returns rows' . ($filter ? " ($filter)" : ''));
	ok(same_top($d, $m), 'bm25 top-10 on the distributed table is the merge of every shard\'s own ranking'
		  . ($filter ? " ($filter)" : '')) or diag("distributed: $d\nmerged: $m");
	my $l = per_q(sprintf($bm25, 'chunks_local', $filter));
	my $r = recall($d, $l);
	note sprintf('bm25 top-10 with per-shard statistics against one node\'s%s: overlap %.3f', $filter ? " ($filter)" : '', $r);
	cmp_ok($r, '>=', 0.6, 'bm25 on the shards finds most of one node\'s top 10' . ($filter ? " ($filter)" : ''));
}

# Global statistics: bm25_corpus_stats() sums every shard's statistics for
# the question's terms (one run_command_on_shards() round trip); a query
# carrying them (bm25_corpus_query(), its text form reaching the shards as
# a constant) makes every shard score each row as one node holding all rows
# does, so the merged top 10 is one node's: the same scores, the same ids
# (ties at the cut aside)
my $cstats = q{SELECT s.docs || '/' || s.length || '/' || s.terms::text || '/' || s.dfs::text FROM %s(%s, __Q__) s};
is(per_q(sprintf($cstats, 'bm25_corpus_stats', q{'chunks_bm25'})),
	per_q(sprintf($cstats, 'bm25_index_stats', q{'chunks_local_bm25'})),
	'bm25_corpus_stats() of the distributed table: one node\'s documents, length and document frequencies');
my %gq = map { ($_ => q1(qq{SELECT bm25_corpus_query('chunks_bm25', '$_')::text})) } @questions;
sub per_gq
{
	my ($template) = @_;
	my $sql = join("\n", map { my $lit = q{'} . ($gq{$_} =~ s/'/''/gr) . q{'::bm25query}; ($template =~ s/__Q__/$lit/gr) . ';' } @questions);
	my @r = split /\n/, $coord->safe_psql('postgres', $sql), -1;
	return join(';', map { ($_ + 1) . ':' . ($r[$_] // '') } 0 .. $#questions);
}
like(q1(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM chunks ORDER BY chunk <@> }
		. q{'} . ($gq{$questions[0]} =~ s/'/''/gr) . q{'::bm25query LIMIT 5}),
	qr/Task Count: 4.*Query: SELECT .* ORDER BY \(chunk OPERATOR\(public\.<\@>\) 'bm25stats\(docs=\d+, length=\d+, .*Index Scan using chunks_bm25_\d+/s,
	'bm25 with global statistics: the shards get them in the query constant and use their index');
for my $filter ('', q{WHERE doc_id % 3 = 0})
{
	my $g = per_gq(sprintf($bm25, 'chunks', $filter));
	my $l = per_q(sprintf($bm25, 'chunks_local', $filter));
	cmp_ok(length($g), '>', 300, 'bm25 top-10 with global statistics returns rows' . ($filter ? " ($filter)" : ''));
	ok(same_top($g, $l), 'bm25 top-10 with global statistics on the distributed table: one node\'s top 10 and scores'
		  . ($filter ? " ($filter)" : '')) or diag("distributed: $g\none node: $l");
	note sprintf('bm25 top-10 with global statistics against one node\'s%s: overlap %.3f',
		$filter ? " ($filter)" : '', recall($g, $l));
}

# Prepared statements and bind parameters: the question reaches the shards
# as a bm25query constant, bound there to the shard's index
my $bm25_prep = q{PREPARE b(text, int) AS
	SELECT string_agg(id || '/' || round((-d)::numeric, 6), ',' ORDER BY d, id)
	FROM (SELECT id, chunk <@> $1 AS d FROM chunks ORDER BY chunk <@> $1 LIMIT $2) t WHERE d < 0};
my @pr = split /\n/, q1("$bm25_prep;\n" . join("\n", map { "EXECUTE b('$_', 10);" } @questions), -1);
my $pd = join(';', map { ($_ + 1) . ':' . ($pr[$_] // '') } 0 .. $#questions);
my $bm25_all = per_q(sprintf($bm25, 'chunks', ''));
ok(same_top($pd, $bm25_all), 'bm25 prepared statement: eight executions (generic plan included) give the literal queries\' answers')
  or diag("prepared: $pd\nliteral: $bm25_all");
like(q1("$bm25_prep;\nEXPLAIN (VERBOSE, COSTS OFF) EXECUTE b('which telescope tracks the comet', 10)"),
	qr/Query: SELECT .*'which telescope tracks the comet'::public\.bm25query.*Index Scan using chunks_bm25_\d+/s,
	'bm25 prepared statement: the shards get the question as a constant and use their index');
SKIP:
{
	skip('DBD::Pg is not installed', 1) unless eval { require DBI; require DBD::Pg; 1 };
	my $dbh = DBI->connect('dbi:Pg:dbname=postgres;host=' . $coord->host . ';port=' . $coord->port,
		'', '', { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
	my $sql = q{SELECT string_agg(id || '/' || round((-d)::numeric, 6), ',' ORDER BY d, id)
		FROM (SELECT id, chunk <@> %1$s AS d FROM chunks WHERE doc_id > %2$s ORDER BY chunk <@> %1$s LIMIT %3$s) t WHERE d < 0};
	my $sth = $dbh->prepare(sprintf($sql, '$1', '$2', '$3'));   # $1 twice: DBD::Pg's numbered placeholders
	my (@got, @want, $err);
	for my $i (0 .. $#questions)
	{
		my $q = $questions[$i];
		my $r = eval { $dbh->selectrow_array($sth, undef, $q, 100, 10) };
		$err ||= $@;
		push @got, ($i + 1) . ':' . ($r // '');
		push @want, ($i + 1) . ':' . $dbh->selectrow_array(sprintf($sql, $dbh->quote($q), 100, 10));
	}
	ok(same_top(join(';', @got), join(';', @want)), 'bm25 with bind parameters of unknown type: the literal queries\' answers')
	  or diag($err // '', "\nbound: @got\nliteral: @want");
	$dbh->disconnect;
}

# Naming the distributed table's index (to_bm25query(q, 'chunks_bm25')) would
# reach the shards as that name, which on a worker is the index of Citus's
# empty shell table: a clear error from the shards, never other scores
{
	my ($rc, $out, $err) = $coord->psql('postgres',
		q{SELECT id FROM chunks ORDER BY chunk <@> to_bm25query('which telescope tracks the comet', 'chunks_bm25') LIMIT 5});
	isnt($rc, 0, 'bm25 query naming the distributed table\'s index: an error, not an answer');
	like($err, qr/bm25 query names index "chunks_bm25", which is not an index of table "chunks_\d+"/,
		'bm25 query naming the distributed table\'s index: the shard says which index and table');
}

# hybrid_search() with the bm25 index: by default its text side is the bm25
# index, and on a distributed table it asks every shard for its statistics
# first (bm25_corpus_query()), so each row's text score is its single-node
# score and the fused answer is one node's; so is retrieve()'s.  The
# tsvector ranking (ranking => 'idf', statistics counted over all shards)
# gives the single-node answer too, bm25 index or not.
my $hsets = 'SET LOCAL enable_seqscan = off; SET LOCAL hnsw.ef_search = 1000';
is(per_q(sprintf($hybrid, 'chunks', q{, ranking => 'idf'}), $hsets),
	per_q(sprintf($hybrid, 'chunks_local', q{, ranking => 'idf'}), $hsets),
	'hybrid_search(ranking => idf) with a bm25 index on the shards: the single-node answer');
# (text_rank left out: rows with equal text scores are ranked in heap order,
# which differs between the shards and one node; their fused scores do not)
my $hybrid_nr = q{
	SELECT string_agg(concat_ws('/', id, round(score::numeric, 8), vector_rank,
	                            round(text_score::numeric, 5)), ',')
	FROM hybrid_search('%s', __Q__, k => 10, pool => 40, tsv_col => 'tsv' %s)};
my $hb_dist = per_q(sprintf($hybrid_nr, 'chunks', ''), $hsets);
my $hb_local = per_q(sprintf($hybrid_nr, 'chunks_local', ''), $hsets);
cmp_ok(length($hb_dist), '>', 300, 'hybrid_search through the bm25 indexes returns rows');
is($hb_dist, $hb_local,
	'hybrid_search through the shards\' bm25 indexes (global statistics): the single-node answer, text scores included');
is(per_q(q{SELECT count(*) || ' ' || bool_and(abs(h.text_score - bm25_score(c.chunk, __Q__)) < 1e-9)
		FROM hybrid_search('chunks', __Q__, k => 10, pool => 40) h JOIN chunks_local c ON c.id = h.id
		WHERE h.text_score IS NOT NULL}, $hsets),
	join(';', map { "$_:" . q1(sprintf(q{SELECT count(*) || ' true' FROM hybrid_search('chunks', '%s', k => 10, pool => 40)
		WHERE text_score IS NOT NULL}, $questions[$_ - 1])) } 1 .. @questions),
	'hybrid_search on the distributed table: every text score is the row\'s score on one node');
like(q1(q{SELECT DISTINCT text_path FROM hybrid_search('chunks', 'which telescope tracks the comet', k => 3)}),
	qr/^bm25 index chunks_bm25, global statistics$/, 'hybrid_search says it used global statistics');
# bm25.global_stats = off: the old mode, each shard's own statistics (each
# row's text score is the one its shard gives it)
is(per_q(q{SELECT count(*) || ' ' || bool_and(abs(h.text_score + (c.chunk <@> __Q__)) < 1e-6)
		FROM hybrid_search('chunks', __Q__, k => 10, pool => 40) h JOIN chunks c ON c.id = h.id
		WHERE h.text_score IS NOT NULL}, "$hsets; SET LOCAL bm25.global_stats = off"),
	join(';', map { "$_:" . q1(sprintf(q{SELECT count(*) || ' true' FROM hybrid_search('chunks', '%s', k => 10, pool => 40)
		WHERE text_score IS NOT NULL}, $questions[$_ - 1])) } 1 .. @questions),
	'hybrid_search with bm25.global_stats = off: every text score is the row\'s score on its shard');
is(per_q(sprintf($retrieve, 'chunks', ''), $hsets), per_q(sprintf($retrieve, 'chunks_local', ''), $hsets),
	'retrieve() through the shards\' bm25 indexes: the single-node answer');

# What global statistics cost: the extra round trip (bm25_corpus_stats(), one
# run_command_on_shards()) against the bm25 top-10 query it precedes and
# against the whole hybrid_search(); not asserted (the machine is shared)
note q1(q{DO $$
DECLARE
	t0 timestamptz; n int := 20; c float8; q float8; h float8; h1 float8; r float8;
BEGIN
	t0 := clock_timestamp();
	FOR i IN 1 .. n LOOP PERFORM * FROM bm25_corpus_stats('chunks_bm25', 'which telescope tracks the comet'); END LOOP;
	c := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
	t0 := clock_timestamp();
	FOR i IN 1 .. n LOOP PERFORM (SELECT count(*) FROM (SELECT id FROM chunks ORDER BY chunk <@> 'which telescope tracks the comet' LIMIT 10) s); END LOOP;
	q := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
	t0 := clock_timestamp();
	FOR i IN 1 .. n LOOP PERFORM * FROM hybrid_search('chunks', 'which telescope tracks the comet', k => 10, pool => 40); END LOOP;
	h := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
	t0 := clock_timestamp();
	FOR i IN 1 .. n LOOP PERFORM * FROM hybrid_search('chunks', 'which telescope tracks the comet', k => 10, pool => 40, text_weight => 0); END LOOP;
	h1 := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
	t0 := clock_timestamp();
	FOR i IN 1 .. n LOOP PERFORM * FROM master_run_on_worker(ARRAY['127.0.0.1', '127.0.0.1'], ARRAY[__W1__, __W2__], ARRAY['SELECT 1', 'SELECT 1'], true); END LOOP;
	r := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
	PERFORM set_config('semvec_test.cost', format('bm25 global statistics cost (4 shards, 2 workers, mean of %s): bm25_corpus_stats %s ms, bm25 top-10 query %s ms, hybrid_search %s ms (vector side only: %s ms); of which opening connections to both workers (master_run_on_worker SELECT 1) %s ms', n, round(c::numeric, 2), round(q::numeric, 2), round(h::numeric, 2), round(h1::numeric, 2), round(r::numeric, 2)), false);
END $$; SELECT current_setting('semvec_test.cost')} =~ s/__W1__/$wport1/r =~ s/__W2__/$wport2/r);

# A shard moved to the other worker takes its bm25 index along
my ($mshard) = q1(qq{SELECT min(shardid) FROM pg_dist_shard_placement JOIN pg_dist_shard USING (shardid)
	WHERE logicalrelid = 'chunks'::regclass AND nodeport = $wport1});
q1("SELECT citus_move_shard_placement($mshard, '127.0.0.1', $wport1, '127.0.0.1', $wport2, shard_transfer_mode => 'block_writes')");
is(q1($shard_bm25), '1:true,1:true,1:true,1:true', 'bm25: a moved shard has its index, valid');
ok(same_top(per_q(sprintf($bm25, 'chunks', '')), $bm25_all), 'bm25: the same answer after the move');

$_->stop for @all;
done_testing();
