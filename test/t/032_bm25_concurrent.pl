# bm25: many sessions insert, query, delete and VACUUM at once (pgbench
# custom scripts), spilling and merging with a tiny pending list: no
# errors, no lost rows, a consistent index whose rankings are exact.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('bm25concurrent');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 30
bm25.pending_list_limit = 64
autovacuum = off
});
$node->start;
my $gen = q{
	(SELECT string_agg(va[1 + floor(300 * power(random(), 2))::int + 0 * k], ' ')
	 FROM generate_series(1, 5 + (random() * 40)::int + 0 * g) k)
	FROM generate_series(1, %d) g, (SELECT array_agg(translate(left(md5(i::text), 6),
	  '0123456789', 'ghijklmnop') ORDER BY i) AS va FROM generate_series(1, 300) i) v
};
# Every document holds 'common', so a query for it reaches every row
$node->safe_psql('postgres', "CREATE EXTENSION semvec;
	CREATE TABLE docs (id bigserial PRIMARY KEY, body text);
	CREATE INDEX docs_body ON docs USING bm25 (body);
	CREATE TABLE queries AS SELECT q, (SELECT string_agg(translate(left(md5((1 + floor(300 * random()))::int::text), 6),
		'0123456789', 'ghijklmnop'), ' ') FROM generate_series(1, 3 + 0 * q)) AS query
		FROM generate_series(1, 20) q;");

# Start from an empty index: the first inserts race for the first pending page
$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --transactions=400',
	0,
	[qr{processed: 2400/2400}],
	[qr{^$}],
	'concurrent inserts and queries',
	{
		'bm25_insert@4' => "INSERT INTO docs (body) SELECT 'common ' || " . sprintf($gen, 2) . ";",
		'bm25_query@2' => q{
\set qn random(1, 20)
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> (SELECT query FROM queries WHERE q = :qn) LIMIT 10) s;
},
	});
my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM docs');
cmp_ok($n, '>', 2000, "rows inserted ($n)");
cmp_ok($node->safe_psql('postgres', "SELECT segments FROM bm25_stats('docs_body')"), '>', 1,
	'spills made segments');
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'bm25_check passes');
is($node->safe_psql('postgres', "SELECT documents FROM bm25_stats('docs_body')"), $n, 'N equals the rows');

# No lost rows: the index returns every row for a term they all hold
my $sql_all = q{
	SET enable_seqscan = off;
	SELECT count(*), count(DISTINCT id), sum(id) FROM
		(SELECT id FROM docs ORDER BY body <@> 'common' LIMIT 1000000) s;
};
is($node->safe_psql('postgres', $sql_all),
	$node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), sum(id) FROM docs'),
	'index scan reaches every row');

# Inserts, deletes, queries and VACUUM together
$node->pgbench(
	'--no-vacuum --client=6 --jobs=2 --transactions=150',
	0,
	[qr{processed: 900/900}],
	[qr{^$}],
	'inserts, deletes, queries and VACUUM together',
	{
		'bm25_insert2@6' => "INSERT INTO docs (body) SELECT 'common ' || " . sprintf($gen, 2) . ";",
		'bm25_delete2@2' => q{
DELETE FROM docs WHERE id IN (SELECT id FROM docs ORDER BY random() LIMIT 3);
},
		'bm25_query2@2' => q{
\set qn random(1, 20)
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM docs ORDER BY body <@> (SELECT query FROM queries WHERE q = :qn) LIMIT 10) s;
},
		'bm25_vacuum2@1' => q{
VACUUM (INDEX_CLEANUP ON) docs;
}
	});
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'bm25_check passes after concurrent VACUUM');
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) docs');
is($node->safe_psql('postgres', "SELECT bm25_check('docs_body')"), 't', 'bm25_check passes after a final VACUUM');
is($node->safe_psql('postgres', "SELECT documents FROM bm25_stats('docs_body')"),
	$node->safe_psql('postgres', 'SELECT count(*) FROM docs'), 'N equals the rows after VACUUM');
is($node->safe_psql('postgres', $sql_all),
	$node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), sum(id) FROM docs'),
	'index scan reaches every row after VACUUM');

# Rankings equal every row scored by the operator
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FILTER (WHERE i IS NOT DISTINCT FROM r) FROM queries q,
	LATERAL (SELECT array_agg(id) AS i FROM (SELECT id FROM docs ORDER BY body <@> q.query LIMIT 10) t) a,
	LATERAL (SELECT array_agg(id ORDER BY s, ctid) AS r FROM
		(SELECT id, ctid, body <@> q.query AS s FROM docs ORDER BY 3, 2 LIMIT 10) t WHERE s < 0) b;
}), '20', 'index rankings equal exhaustive scoring');

$node->stop;
done_testing();
