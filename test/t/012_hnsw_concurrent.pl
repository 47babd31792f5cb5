# hnsw: many sessions insert and query at once (pgbench custom scripts):
# no errors, no lost rows, a consistent index.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrent');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 30\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION semvec;
	CREATE TABLE items (id bigserial PRIMARY KEY, v vector(16));
	CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
});

# Start from an empty index so the first inserts race for the entry point
$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --transactions=300',
	0,
	[qr{processed: 1800/1800}],
	[qr{^$}],
	'concurrent inserts and queries',
	{
		'hnsw_insert@3' => q{
INSERT INTO items (v) SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 16) d;
},
		'hnsw_query@1' => q{
SET enable_seqscan = off;
SELECT id FROM items ORDER BY v <-> (SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 16) d) LIMIT 10;
},
		'hnsw_delete@1' => q{
DELETE FROM items WHERE id = (SELECT max(id) - 5 FROM items);
}
	});

my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
cmp_ok($n, '>', 500, "rows inserted ($n)");
is($node->safe_psql('postgres', "SELECT hnsw_check('items_v')"), 't', 'hnsw_check passes');

# No lost rows: an iterative scan through the index returns every row
my $sql_all = q{
	SET enable_seqscan = off; SET hnsw.iterative_scan = relaxed_order;
	SET hnsw.max_scan_tuples = 1000000; SET work_mem = '64MB';
	SELECT count(*), count(DISTINCT id), sum(id) FROM
		(SELECT id FROM items ORDER BY v <-> (SELECT v FROM items LIMIT 1) LIMIT 100000) s;
};
is($node->safe_psql('postgres', $sql_all),
	$node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), sum(id) FROM items'),
	'index scan reaches every row');

# Concurrent VACUUM while inserts go on
$node->pgbench(
	'--no-vacuum --client=4 --transactions=100',
	0,
	[qr{processed: 400/400}],
	[qr{^$}],
	'inserts, deletes and VACUUM together',
	{
		'hnsw_insert2@4' => q{
INSERT INTO items (v) SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 16) d;
},
		'hnsw_delete2@2' => q{
DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 3);
},
		'hnsw_vacuum@1' => q{
VACUUM items;
}
	});
is($node->safe_psql('postgres', "SELECT hnsw_check('items_v')"), 't', 'hnsw_check passes after concurrent VACUUM');
$node->safe_psql('postgres', 'VACUUM items');
is($node->safe_psql('postgres', "SELECT hnsw_check('items_v')"), 't', 'hnsw_check passes after a final VACUUM');
is($node->safe_psql('postgres', $sql_all),
	$node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), sum(id) FROM items'),
	'index scan reaches every row after VACUUM');

$node->stop;
done_testing();
