# ivfflat: a streaming standby replays the index (built, inserted into,
# vacuumed, rebuilt in parallel) and answers the same queries with the
# same results.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# The standby compares every replayed generic-WAL page with the primary's image
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\n");
$primary->start;
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Same queries on both sides, through the index
my $queries = q{
	SET enable_seqscan = off; SET ivfflat.probes = 4;
	SELECT string_agg(ids, ';' ORDER BY q) FROM (
		SELECT q.q, (SELECT string_agg(id::text, ',' ORDER BY n) FROM
			(SELECT id, row_number() OVER () AS n FROM
				(SELECT id FROM items ORDER BY v <=> q.v LIMIT 10) a) b) AS ids
		FROM queries q) s;
};

sub compare
{
	my ($what) = @_;
	$primary->wait_for_catchup($standby);
	my $p = $primary->safe_psql('postgres', $queries);
	my $s = $standby->safe_psql('postgres', $queries);
	ok(length($p) > 100, "$what: primary returns results");
	is($s, $p, "$what: standby returns the same results");
	is($standby->safe_psql('postgres', "SELECT ivfflat_check('items_v')"), 't',
		"$what: ivfflat_check passes on the standby");
	is($standby->safe_psql('postgres', q{
		SET enable_seqscan = off; SET ivfflat.probes = 30;
		SELECT count(*) FROM (SELECT id FROM items ORDER BY v <=> '[1,1,1,1,1,1,1,1,1,1,1,1]') s;
	}), $primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
		"$what: the standby's index holds every row");
}

# Built with data: log_newpage_range carries the whole index
$primary->safe_psql('postgres', q{
	CREATE EXTENSION semvec;
	CREATE TABLE items (id serial PRIMARY KEY, v vector(12));
	INSERT INTO items (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 12) d WHERE g > 0) FROM generate_series(1, 3000) g;
	CREATE TABLE queries AS SELECT q, (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 12) d WHERE q > 0) AS v FROM generate_series(1, 20) q;
	CREATE INDEX items_v ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 30);
});
compare('after build');

# Inserts: generic WAL records for tuples, new pages and insert pages
$primary->safe_psql('postgres', q{
	INSERT INTO items (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 12) d WHERE g > 0) FROM generate_series(1, 2000) g;
});
compare('after inserts');

# VACUUM: removed tuples and rewound insert pages
$primary->safe_psql('postgres', q{
	DELETE FROM items WHERE id % 3 = 0;
	VACUUM items;
});
compare('after deletes and VACUUM');

# Inserts into the room VACUUM made
my $size = $primary->safe_psql('postgres', "SELECT pg_relation_size('items_v')");
$primary->safe_psql('postgres', q{
	INSERT INTO items (v) SELECT (SELECT array_agg(random() ORDER BY d)::real[]::vector
		FROM generate_series(1, 12) d WHERE g > 0) FROM generate_series(1, 1000) g;
});
my $after = $primary->safe_psql('postgres', "SELECT pg_relation_size('items_v')");
cmp_ok($after, '<=', $size * 1.05, "inserts after VACUUM fill freed room ($size -> $after bytes)");
compare('after inserts into freed room');

# A build on an empty table (random centres, lists without pages), whose
# lists then start their first pages through inserts
$primary->safe_psql('postgres', q{
	CREATE TABLE fresh (LIKE items INCLUDING ALL);
	INSERT INTO fresh SELECT * FROM items;
	TRUNCATE items;
});
$primary->safe_psql('postgres', q{
	INSERT INTO items SELECT * FROM fresh;
	DROP TABLE fresh;
});
compare('after inserts into an index built empty');

# A parallel build (the participants' sorts merge in the leader, which
# writes and logs the pages)
my ($ret, $stdout, $stderr) = $primary->psql('postgres', q{
	ALTER TABLE items SET (parallel_workers = 2);
	SET max_parallel_maintenance_workers = 2;
	SET client_min_messages = debug1;
	REINDEX INDEX items_v;
});
is($ret, 0, 'parallel REINDEX');
like($stderr, qr/using \d+ parallel workers/, 'the build used parallel workers');
compare('after a parallel build');

$standby->stop;
$primary->stop;
done_testing();
