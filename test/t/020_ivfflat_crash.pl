# ivfflat: crash (immediate shutdown) during concurrent inserts, then
# recovery leaves a consistent index whose results match a sequential scan;
# an unlogged table's index comes back as its init fork.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 30\n");
# Crash recovery compares every replayed generic-WAL page with its logged image
$node->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION semvec;
	CREATE TABLE items (id bigserial PRIMARY KEY, v vector(8));
	INSERT INTO items (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 8) d WHERE g > 0) FROM generate_series(1, 4000) g;
	CREATE INDEX items_v ON items USING ivfflat (v vector_l2_ops) WITH (lists = 20);
	-- VACUUM frees room on every list: the inserts below fill it first
	DELETE FROM items WHERE id % 4 <> 0;
	VACUUM items;
	CREATE UNLOGGED TABLE scratch (id serial, v vector(8));
	INSERT INTO scratch (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 8) d WHERE g > 0) FROM generate_series(1, 500) g;
	CREATE INDEX scratch_v ON scratch USING ivfflat (v vector_cosine_ops) WITH (lists = 5);
});
my $size0 = $node->safe_psql('postgres', "SELECT pg_relation_size('items_v')");

# Four clients insert rows one by one while the server is killed
my $script = $node->basedir . '/insert.sql';
append_to_file($script, q{
INSERT INTO items (v) SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 8) d;
});
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '4', '-T', '150', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);

# Past the freed room (3,000 rows) and the build's half-empty last pages
# (at most 20 x 156 rows), so that lists also grow new pages
$node->poll_query_until('postgres', 'SELECT count(*) > 8000 FROM items')
  or die "inserts did not progress";
$node->stop('immediate');
$bench->finish;
ok($err =~ /terminat|connection|server closed/i || $? != 0, 'pgbench was cut off by the crash');

$node->start;
my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
cmp_ok($n, '>', 8000, "rows survived recovery ($n)");
my $size1 = $node->safe_psql('postgres', "SELECT pg_relation_size('items_v')");
cmp_ok($size1, '>', $size0, "lists grew new pages ($size0 -> $size1 bytes)");
is($node->safe_psql('postgres', "SELECT ivfflat_check('items_v')"), 't',
	'ivfflat_check passes after recovery');

# Every committed row is still in the index: all lists return the table's rows
my $all_index = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET ivfflat.probes = 20;
	SELECT count(*), count(DISTINCT id), sum(id) FROM
		(SELECT id FROM items ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]') s;
});
my $all_seq = $node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), sum(id) FROM items');
is($all_index, $all_seq, 'index scan over all lists returns every row after recovery');

# Nearest neighbours agree with a sequential scan (recall@10 >= 0.9 at 5 of 20 lists)
my $recall = $node->safe_psql('postgres', q{
	CREATE TABLE queries AS SELECT q, (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 8) d WHERE q > 0) AS v FROM generate_series(1, 20) q;
	SET ivfflat.probes = 5;
	SET enable_seqscan = off;
	CREATE TEMP TABLE approx AS SELECT q.q, x.id FROM queries q,
		LATERAL (SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) x;
	SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off;
	CREATE TEMP TABLE exact AS SELECT q.q, x.id FROM queries q,
		LATERAL (SELECT id FROM items ORDER BY v <-> q.v LIMIT 10) x;
	SELECT count(a.id)::float8 / count(*) FROM exact e LEFT JOIN approx a USING (q, id);
});
cmp_ok($recall, '>=', 0.9, "recall\@10 after recovery ($recall)");

# The index keeps working: deletes, VACUUM and inserts after recovery
$node->safe_psql('postgres', q{
	DELETE FROM items WHERE id % 2 = 0;
	VACUUM items;
	INSERT INTO items (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 8) d WHERE g > 0) FROM generate_series(1, 500) g;
});
is($node->safe_psql('postgres', "SELECT ivfflat_check('items_v')"), 't',
	'ivfflat_check passes after more changes');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET ivfflat.probes = 20;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0]') s;
}), $node->safe_psql('postgres', 'SELECT count(*) FROM items'), 'every row found after more changes');

# The unlogged table is empty after the crash; its index is the init fork
# (metapage and random centres) and takes inserts again
is($node->safe_psql('postgres', 'SELECT count(*) FROM scratch'), '0', 'unlogged table was reset');
is($node->safe_psql('postgres', "SELECT ivfflat_check('scratch_v')"), 't',
	'the reset unlogged index is consistent');
$node->safe_psql('postgres', q{
	INSERT INTO scratch (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 8) d WHERE g > 0) FROM generate_series(1, 300) g;
});
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET ivfflat.probes = 5;
	SELECT count(*) FROM (SELECT id FROM scratch ORDER BY v <=> '[1,1,1,1,1,1,1,1]') s;
}), '300', 'the reset unlogged index finds every new row');
is($node->safe_psql('postgres', "SELECT ivfflat_check('scratch_v')"), 't',
	'the unlogged index is consistent after inserts');

$node->stop;
done_testing();
