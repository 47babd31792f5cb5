# bm25: a streaming standby replays the index (built, inserted into with
# spills and merges, vacuumed) and answers the same queries with the same
# results and scores; standby queries running while the primary rewrites
# segments start over when a page they read was freed, and never fail.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# The standby compares every replayed generic-WAL page with the primary's image
$primary->append_conf('postgresql.conf', qq{
wal_consistency_checking = 'generic'
bm25.pending_list_limit = 64
autovacuum = off
});
$primary->start;
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
# to count the readers that start over (a DEBUG1 message)
$standby->append_conf('postgresql.conf', "log_min_messages = debug1\n");
$standby->start;

my $gen = q{
	(SELECT string_agg(va[1 + floor(300 * power(random(), 2))::int + 0 * k], ' ')
	 FROM generate_series(1, 5 + (random() * 40)::int + 0 * g) k)
	FROM generate_series(1, %d) g, (SELECT array_agg(translate(left(md5(i::text), 6),
	  '0123456789', 'ghijklmnop') ORDER BY i) AS va FROM generate_series(1, 300) i) v
};

# Same queries on both sides: ids and scores of the top 10
my $queries = q{
	SET enable_seqscan = off;
	SELECT string_agg(r, ';' ORDER BY q) FROM queries q,
	LATERAL (SELECT string_agg(id || ':' || round(-(body <@> q.query)::numeric, 9), ',') AS r
	         FROM (SELECT id, body FROM docs ORDER BY body <@> q.query LIMIT 10) t) s;
};

sub compare
{
	my ($what) = @_;
	$primary->wait_for_catchup($standby);
	my $p = $primary->safe_psql('postgres', $queries);
	my $s = $standby->safe_psql('postgres', $queries);
	ok(length($p) > 1000, "$what: primary returns results");
	is($s, $p, "$what: standby returns the same rows and scores");
	is($standby->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't',
		"$what: bm25_check passes on the standby");
	is($standby->safe_psql('postgres', "SELECT documents, total_length FROM bm25_stats('docs_body')"),
		$primary->safe_psql('postgres', "SELECT documents, total_length FROM bm25_stats('docs_body')"),
		"$what: same statistics");
}

# Built with data: log_newpage_range carries the whole index
$primary->safe_psql('postgres', "CREATE EXTENSION semvec;
	CREATE TABLE docs (id bigserial PRIMARY KEY, body text);
	INSERT INTO docs (body) SELECT " . sprintf($gen, 3000) . ";
	CREATE INDEX docs_body ON docs USING bm25 (body);
	CREATE TABLE queries AS SELECT q, (SELECT string_agg(translate(left(md5((1 + floor(300 * random()))::int::text), 6),
		'0123456789', 'ghijklmnop'), ' ') FROM generate_series(1, 3 + 0 * q)) AS query
		FROM generate_series(1, 20) q;");
compare('after build');

# Inserts: pending list appends (generic WAL), spills and merges (full page images)
$primary->safe_psql('postgres', "INSERT INTO docs (body) SELECT " . sprintf($gen, 1500) . ";");
$primary->safe_psql('postgres', "INSERT INTO docs (body) SELECT " . sprintf($gen, 1) . ";") for 1 .. 50;
cmp_ok($primary->safe_psql('postgres', "SELECT segments FROM bm25_stats('docs_body')"), '>', 1,
	'inserts made segments');
compare('after inserts');

# VACUUM: rewritten segments, freed pages
$primary->safe_psql('postgres', 'DELETE FROM docs WHERE id % 3 = 0; VACUUM (INDEX_CLEANUP ON) docs;');
compare('after deletes and VACUUM');

# Inserts into freed pages
$primary->safe_psql('postgres', "INSERT INTO docs (body) SELECT " . sprintf($gen, 1000) . ";");
compare('after inserts into freed pages');

# Standby readers while the primary spills, merges and vacuums: they see a
# page freed under them now and then and start over, never an error
my $q = $standby->basedir . '/query.sql';
append_to_file($q, q{
\set qn random(1, 20)
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> (SELECT query FROM queries WHERE q = :qn) LIMIT 10) s;
});
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '3', '-T', '25', '-f', $q,
	  '-h', $standby->host, '-p', $standby->port, 'postgres' ],
	'>', \$out, '2>', \$err);
for my $round (1 .. 8)
{
	$primary->safe_psql('postgres', "INSERT INTO docs (body) SELECT " . sprintf($gen, 300) . ";
		DELETE FROM docs WHERE id IN (SELECT id FROM docs ORDER BY random() LIMIT 200);
		VACUUM (INDEX_CLEANUP ON) docs;");
}
$bench->finish;
my $retries = () = slurp_file($standby->logfile) =~ /starting over/g;
note("standby readers started over $retries times; " . ($out =~ /(number of transactions actually processed: \d+)/)[0]);
like($out, qr/number of transactions actually processed: [1-9]/, 'standby queries ran during the rewrites');
unlike($err, qr/ERROR|abort/, 'no errors on the standby');
compare('after concurrent standby reads');

$standby->stop;
$primary->stop;
done_testing();
