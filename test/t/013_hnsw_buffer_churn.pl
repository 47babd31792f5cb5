# hnsw scans read element pages without a pin when the buffer they were
# last seen in still holds them (src/hnsw/hnswscan.c, PeekElement).  Here the
# buffer pool is tiny, so index pages are evicted and re-read into other
# buffers all the time:
# - the search is deterministic, so a churning pool must give exactly the
#   results a pool holding the whole index gives;
# - while sessions query, insert, delete, vacuum and reindex, every query
#   returns its rows in true distance order, and nothing errors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('churn');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 12\n");
$node->append_conf('postgresql.conf', "shared_buffers = 1MB\n");
$node->start;
is($node->safe_psql('postgres', 'SHOW shared_buffers'), '1MB', 'tiny buffer pool');

$node->safe_psql('postgres', q{
	CREATE EXTENSION semvec;
	SELECT setseed(0.42);
	CREATE TABLE items (id bigserial PRIMARY KEY, v vector(64));
	INSERT INTO items (v)
		SELECT (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 64) d WHERE g > 0)::real[]::vector
		FROM generate_series(1, 8000) g;
	CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
	-- Something else to read, so that every query evicts index pages
	CREATE TABLE ballast AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 4000) g;
	CREATE TABLE queries AS
		SELECT q, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 64) d WHERE q > 0)::real[]::vector AS v
		FROM generate_series(1, 40) q;
});
cmp_ok($node->safe_psql('postgres', "SELECT pg_relation_size('items_v') / 8192"), '>', 300,
	'the index is many times the buffer pool');

# Each query's ids, in order, one line per query; the ballast scan before
# each query evicts what the previous one read
my $results_sql = q{
	SET hnsw.ef_search = 100;
	SELECT q.q, (SELECT count(*) FROM ballast WHERE pad <> '' AND q.q > 0),
		(SELECT string_agg(id::text, ',') FROM
			(SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) s)
	FROM queries q ORDER BY q.q;
};
my $plan = $node->safe_psql('postgres', q{
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries LIMIT 1) LIMIT 10;
});
like($plan, qr/Index Scan using items_v/, 'queries use the index');
my $churned = $node->safe_psql('postgres', $results_sql);

# Recall against an exact search: the graph is fine, whatever the pool
my $hits = $node->safe_psql('postgres', q{
	SET hnsw.ef_search = 100;
	SELECT sum((SELECT count(*) FROM
		(SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) a
		JOIN (SELECT id FROM items ORDER BY (v <-> q.v) + 0 LIMIT 10) e USING (id)))
	FROM queries q;
});
cmp_ok($hits / 400.0, '>=', 0.5, "recall\@10 of a tiny graph on uniform random vectors (" . $hits / 400.0 . ")");

# The same queries with the whole index in shared buffers (second run warm)
$node->stop;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\n");
$node->start;
$node->safe_psql('postgres', $results_sql);
is($node->safe_psql('postgres', $results_sql), $churned,
	'a churning pool returns exactly what a pool holding the index returns');

$node->stop;
$node->append_conf('postgresql.conf', "shared_buffers = 1MB\n");
$node->start;

# A query that fails (division by zero) unless the index returned its
# rows in non-decreasing true distance
my $ordered_query = q{
SET enable_seqscan = off;
SELECT 1 / bool_and(ok)::int FROM (
	SELECT dist >= coalesce(lag(dist) OVER (ORDER BY rn), 0) AS ok FROM (
		SELECT v <-> qv AS dist, row_number() OVER () AS rn FROM (
			SELECT v, qv FROM (SELECT array_agg(random() ORDER BY d)::real[]::vector AS qv
				FROM generate_series(1, 64) d) q,
				LATERAL (SELECT v FROM items ORDER BY v <-> q.qv LIMIT 10) i) s) t) u;
};

# Rebuilds in the background give the index new files under the sessions'
# feet (one at a time: two concurrent rebuilds of an index deadlock)
my ($rout, $rerr) = ('', '');
my $reindex = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
	  '-c', 'REINDEX INDEX CONCURRENTLY items_v', '-c', 'REINDEX INDEX items_v',
	  '-c', 'REINDEX INDEX CONCURRENTLY items_v',
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$rout, '2>', \$rerr);

$node->pgbench(
	'--no-vacuum --client=5 --jobs=2 --transactions=150',
	0,
	[qr{processed: 750/750}],
	[qr{^$}],
	'queries, inserts, deletes and VACUUM on a churning pool, with rebuilds',
	{
		'churn_query@6' => $ordered_query,
		'churn_ballast@2' => q{
SELECT count(*) FROM ballast WHERE pad <> '';
},
		'churn_insert@2' => q{
INSERT INTO items (v) SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 64) d;
},
		'churn_delete@1' => q{
DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 2);
},
		'churn_vacuum@1' => q{
VACUUM items;
}
	});
$reindex->finish;
is($? >> 8, 0, 'the rebuilds succeeded') or diag($rerr);

is($node->safe_psql('postgres', "SELECT hnsw_check('items_v')"), 't', 'hnsw_check passes');
# Nearly every row stays reachable.  Not all: a graph of uniform random
# 64-d vectors at m = 8 leaves the odd element without in-links after the
# rebuilds (as hnswlib does), and 012 checks exact reachability
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
my $reached = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET hnsw.iterative_scan = relaxed_order;
	SET hnsw.max_scan_tuples = 1000000; SET work_mem = '64MB';
	SELECT count(DISTINCT id) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries LIMIT 1)) s;
});
cmp_ok($reached, '>=', 0.995 * $rows, "an iterative scan reaches $reached of $rows rows");

$node->stop;
done_testing();
