# ivfflat: many sessions insert, delete, query and VACUUM at once; lists of
# an index built empty start their pages under a race; CREATE INDEX
# CONCURRENTLY while rows arrive; build progress is visible.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('concurrent');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 30\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION semvec;
	CREATE TABLE items (id bigserial PRIMARY KEY, v vector(16)) WITH (autovacuum_enabled = false);
	INSERT INTO items (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 16) d WHERE g > 0) FROM generate_series(1, 2000) g;
	-- Few lists: every client works on the same chains
	CREATE INDEX items_v ON items USING ivfflat (v vector_l2_ops) WITH (lists = 4);
});

my $rand16 = 'SELECT array_agg(random() ORDER BY d)::real[]::vector FROM generate_series(1, 16) d';
$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --transactions=300',
	0,
	[qr{processed: 1800/1800}],
	[qr{^$}],
	'concurrent inserts, deletes, queries and VACUUM',
	{
		'ivfflat_insert@6' => "INSERT INTO items (v) $rand16;",
		'ivfflat_delete@2' => "DELETE FROM items WHERE id = (SELECT id FROM items ORDER BY random() LIMIT 1);",
		'ivfflat_query@2' => "SET enable_seqscan = off; SET ivfflat.probes = 2; SELECT id FROM items ORDER BY v <-> ($rand16) LIMIT 10;",
		'ivfflat_vacuum@1' => "VACUUM items;"
	});

my $all = q{
	SET enable_seqscan = off; SET ivfflat.probes = 4;
	SELECT count(*), count(DISTINCT id), sum(id) FROM
		(SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
};
my $seq = 'SELECT count(*), count(DISTINCT id), sum(id) FROM items';
is($node->safe_psql('postgres', $all), $node->safe_psql('postgres', $seq),
	'the index returns exactly the live rows');
$node->safe_psql('postgres', 'VACUUM items');
is($node->safe_psql('postgres', "SELECT ivfflat_check('items_v')"), 't', 'ivfflat_check passes');
is($node->safe_psql('postgres', $all), $node->safe_psql('postgres', $seq),
	'the index returns exactly the live rows after VACUUM');

# An index built on an empty table: its lists have no pages, and the first
# inserters of each race to start one
$node->safe_psql('postgres', q{
	CREATE TABLE fresh (id bigserial PRIMARY KEY, v vector(16));
	CREATE INDEX fresh_v ON fresh USING ivfflat (v vector_cosine_ops) WITH (lists = 50);
});
$node->pgbench(
	'--no-vacuum --client=8 --jobs=2 --transactions=100',
	0,
	[qr{processed: 800/800}],
	[qr{^$}],
	'concurrent inserts into lists without pages',
	{ 'ivfflat_fresh' => "INSERT INTO fresh (v) $rand16;" });
is($node->safe_psql('postgres', "SELECT ivfflat_check('fresh_v')"), 't',
	'ivfflat_check passes after racing list starts');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET ivfflat.probes = 50;
	SELECT count(*) FROM (SELECT id FROM fresh ORDER BY v <=> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]') s;
}), '800', 'every row of the racing inserts is found');

# CREATE INDEX CONCURRENTLY while rows arrive
my $script = $node->basedir . '/insert.sql';
append_to_file($script, "INSERT INTO items (v) $rand16;\n");
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '3', '-T', '8', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);
$node->safe_psql('postgres', 'CREATE INDEX CONCURRENTLY items_cc ON items USING ivfflat (v) WITH (lists = 8)');
$bench->finish;
is($node->safe_psql('postgres', "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_cc'::regclass"),
	't', 'the concurrently built index is valid');
is($node->safe_psql('postgres', "SELECT ivfflat_check('items_cc')"), 't',
	'ivfflat_check passes on the concurrently built index');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET ivfflat.probes = 8;
	DROP INDEX items_v;
	SELECT count(*), count(DISTINCT id), sum(id) FROM
		(SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
}), $node->safe_psql('postgres', $seq), 'the concurrently built index holds every row');

# Build progress shows in pg_stat_progress_create_index
$node->safe_psql('postgres', q{
	CREATE TABLE big (v vector(64));
	INSERT INTO big SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 64) d WHERE g > 0) FROM generate_series(1, 60000) g;
});
my ($bout, $berr) = ('', '');
my $build = IPC::Run::start(
	[ 'psql', '-X', '-h', $node->host, '-p', $node->port, '-d', 'postgres', '-c',
	  'SET max_parallel_maintenance_workers = 0; CREATE INDEX big_v ON big USING ivfflat (v) WITH (lists = 300)' ],
	'>', \$bout, '2>', \$berr);
my %phases;
for (my $i = 0; $i < 3000 && $build->pumpable; $i++)
{
	my $p = $node->safe_psql('postgres',
		"SELECT phase FROM pg_stat_progress_create_index WHERE relid = 'big'::regclass");
	$phases{$p} = 1 if $p ne '';
	$build->pump_nb;
	select(undef, undef, undef, 0.02);
}
$build->finish;
is($?, 0, 'the watched build succeeded');
ok($phases{'building index: performing k-means'}, 'progress showed the k-means phase');
ok($phases{'building index: assigning tuples'} || $phases{'building index: loading tuples'},
	'progress showed the assigning or loading phase');
note('phases seen: ' . join(', ', sort keys %phases));

$node->stop;
done_testing();
