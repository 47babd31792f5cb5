# bm25: crash (immediate shutdown) while sessions insert (spilling and
# merging segments with a tiny pending list) and VACUUM runs; recovery
# leaves a consistent index whose rankings equal exhaustive scoring, and
# VACUUM frees whatever the crash left unreachable.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('bm25crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 30
wal_consistency_checking = 'generic'
bm25.pending_list_limit = 64
autovacuum = off
log_lock_waits = on
});
$node->start;

# Random documents over a Zipf-like vocabulary (the same generator as the
# regression suites)
my $gen = q{
	(SELECT string_agg(va[1 + floor(300 * power(random(), 2))::int + 0 * k], ' ')
	 FROM generate_series(1, 5 + (random() * 40)::int + 0 * g) k)
	FROM generate_series(1, %d) g, (SELECT array_agg(translate(left(md5(i::text), 6),
	  '0123456789', 'ghijklmnop') ORDER BY i) AS va FROM generate_series(1, 300) i) v
};
$node->safe_psql('postgres', "CREATE EXTENSION semvec;
	CREATE TABLE docs (id bigserial PRIMARY KEY, body text);
	INSERT INTO docs (body) SELECT " . sprintf($gen, 3000) . ";
	CREATE INDEX docs_body ON docs USING bm25 (body);
	CREATE TABLE queries AS SELECT q, (SELECT string_agg(translate(left(md5((1 + floor(300 * random()))::int::text), 6),
		'0123456789', 'ghijklmnop'), ' ') FROM generate_series(1, 3 + 0 * q)) AS query
		FROM generate_series(1, 20) q;");

# Index scan against every row scored by the operator, for every query
my $compare = q{
	SELECT count(*) FILTER (WHERE i IS NOT DISTINCT FROM r) FROM queries q,
	LATERAL (SELECT array_agg(id) AS i FROM (SELECT id FROM docs ORDER BY body <@> q.query LIMIT 10) t) a,
	LATERAL (SELECT array_agg(id ORDER BY s, ctid) AS r FROM
		(SELECT id, ctid, body <@> q.query AS s FROM docs ORDER BY 3, 2 LIMIT 10) t WHERE s < 0) b;
};
sub exact
{
	my ($what) = @_;
	is($node->safe_psql('postgres', "SET enable_seqscan = off; $compare"), '20',
		"$what: index rankings equal exhaustive scoring");
	is($node->safe_psql('postgres', "SELECT documents = (SELECT count(*) FROM docs) FROM bm25_stats('docs_body')"),
		't', "$what: N equals the rows");
}

# Six clients run inserts, deletes and VACUUMs (8:1:1) until the crash.
# The crash waits for a number of rows, not for a time: pgbench runs
# until the crash cuts it off, so a slow machine only makes the wait longer.
my $ins = $node->basedir . '/insert.sql';
append_to_file($ins, "INSERT INTO docs (body) SELECT " . sprintf($gen, 1) . ";\n");
my $del = $node->basedir . '/delete.sql';
append_to_file($del, "DELETE FROM docs WHERE id = (SELECT max(id) - 7 FROM docs);\n");
my $vac = $node->basedir . '/vacuum.sql';
# TRUNCATE false: with inserts extending the heap, VACUUM's attempt to
# truncate its empty tail pages waits up to 5 s for a lock it cannot get,
# and the other clients' VACUUMs queue behind it (seen in a CI run: 546
# inserts in 120 s)
append_to_file($vac, "VACUUM (TRUNCATE false) docs;\n");
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '6', '-j', '2', '-T', '1800',
	  '-f', "$ins\@8", '-f', "$del\@1", '-f', "$vac\@1",
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);
my $target = 4500;
my $deadline = time() + 900;
while ($node->safe_psql('postgres', 'SELECT count(*) FROM docs') < $target)
{
	die "pgbench stopped before the crash: $err" unless $bench->pumpable;
	die "fewer than $target rows after 900 s" if time() > $deadline;
	usleep(100_000);
}
my $segs = $node->safe_psql('postgres', "SELECT segments FROM bm25_stats('docs_body')");
$node->stop('immediate');
$bench->finish;
ok($err =~ /terminat|connection|server closed/i || $? != 0, 'pgbench was cut off by the crash');
cmp_ok($segs, '>', 1, "spills made segments before the crash ($segs)");

$node->start;
my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM docs');
# (the deleting client may remove a few rows between the count and the crash)
cmp_ok($n, '>', $target - 100, "rows survived recovery ($n)");
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'bm25_check passes after recovery');
# Deleted rows (and rows of transactions the crash aborted) still count
# until VACUUM removes them from the index; INDEX_CLEANUP ON because VACUUM
# skips the indexes when few rows are dead
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) docs');
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'bm25_check passes after VACUUM');
exact('after recovery and VACUUM');

# A second crash right in the middle of a VACUUM that rewrites segments
$node->safe_psql('postgres', "DELETE FROM docs WHERE id % 5 = 0");
my $vbg = $node->background_psql('postgres');
$vbg->query_until(qr/start/, "\\echo start\nVACUUM docs;\n");
usleep(200_000);
$node->stop('immediate');
$vbg->quit;
$node->start;
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'bm25_check passes after a crash in VACUUM');
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) docs');
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'and after the next VACUUM');
exact('after a crash during VACUUM');

# Nothing unreachable is left after VACUUM (no NOTICE from the checker)
my ($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT bm25_check('docs_body')");
unlike($stderr, qr/neither used nor free/, 'VACUUM freed the pages the crashes left behind');

$node->stop;
done_testing();
