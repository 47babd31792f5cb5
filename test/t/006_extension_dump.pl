# pg_dump / pg_restore round trip of a database using every type of semvec,
# once with the extension created as "vector" (pgvector's name) and once as
# "semvec": the dump names the extension, a restore into an empty database
# recreates it under the same name and version, the data comes back value
# for value (binary forms compared), and the hnsw index and objects that
# depend on the extension's types, operators and functions work.  A dump
# restored where the other name is already installed stops with the clear
# error of docs/conformance.md.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
my $dir = $node->basedir;

# The objects a dump must carry: tables of every type (typmods, arrays,
# edge values), an hnsw index, a view, an SQL function, a CHECK constraint
# and a generated column that call the extension's operators
my $schema = q{
CREATE TABLE items (
	id int PRIMARY KEY,
	v vector(3),
	h halfvec(3),
	s sparsevec(5),
	b bit(4),
	vs vector[],
	norm float8 GENERATED ALWAYS AS (vector_norm(v)) STORED,
	CHECK (vector_dims(v) = 3));
INSERT INTO items (id, v, h, s, b, vs) VALUES
	(1, '[1,2,3]', '[1,2,3]', '{1:1,5:-2}/5', '1010', ARRAY['[1]'::vector, '[2,3]']),
	(2, '[-0,1e-45,3.4028235e+38]', '[-0,5.9604645e-08,65504]', '{}/5', '0000', NULL),
	(3, '[0.1,0.2,0.3]', '[0.1,0.2,0.3]', '{3:0.5}/5', '1111', '{}');
INSERT INTO items (id, v, h, s, b)
	SELECT i, ARRAY[sin(i), cos(i), sin(2 * i)], ARRAY[sin(i), cos(i), sin(2 * i)],
		ARRAY[0, sin(i), 0, cos(i), 0], binary_quantize(ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i)]::vector)
	FROM generate_series(4, 500) i;
CREATE INDEX items_v_hnsw ON items USING hnsw (v vector_l2_ops);
CREATE VIEW near AS SELECT id, v <-> '[1,1,1]' AS d, h <=> '[1,1,1]' AS hd, s <#> '{1:1}/5' AS sd,
	b <~> '1100' AS bd FROM items;
CREATE FUNCTION closest(q vector) RETURNS int LANGUAGE sql STABLE
	AS 'SELECT id FROM items ORDER BY v <-> q LIMIT 1';
};

# Everything that must survive, as text (binary forms hex-encoded)
my $fingerprint = q{
SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s', id, vector_send(v), halfvec_send(h),
	sparsevec_send(s), b, vs, v, norm), E'\n' ORDER BY id) FROM items;
};
my $query_check = q{
SET enable_seqscan = off;
SELECT string_agg(id::text, ',' ORDER BY v <-> '[0.5,0.5,0.5]') FROM (SELECT id, v FROM items ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 10) t;
};

for my $ext (qw(vector semvec))
{
	my $other = $ext eq 'vector' ? 'semvec' : 'vector';
	my $src = "src_$ext";
	$node->safe_psql('postgres', "CREATE DATABASE $src");
	$node->safe_psql($src, "CREATE EXTENSION $ext");
	$node->safe_psql($src, $schema);
	my $version = $node->safe_psql($src, "SELECT extversion FROM pg_extension WHERE extname = '$ext'");
	my $before = $node->safe_psql($src, $fingerprint);
	my $knn = $node->safe_psql($src, $query_check);

	# custom format, restored with pg_restore
	my $file = "$dir/$ext.dump";
	$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($src), '-f', $file ],
		"$ext: pg_dump -Fc");
	my $list = `pg_restore -l '$file'`;
	like($list, qr/EXTENSION - $ext\b/, "$ext: the dump names extension $ext");

	$node->safe_psql('postgres', "CREATE DATABASE dst_$ext");
	my ($ret, $out, $err) = ('', '', '');
	$ret = PostgreSQL::Test::Utils::run_log(
		[ 'pg_restore', '--exit-on-error', '-d', $node->connstr("dst_$ext"), $file ]);
	ok($ret, "$ext: pg_restore into an empty database");
	is($node->safe_psql("dst_$ext", "SELECT extname || ' ' || extversion FROM pg_extension WHERE extname IN ('vector', 'semvec')"),
		"$ext $version", "$ext: restored under the same name and version");
	is($node->safe_psql("dst_$ext", $fingerprint), $before, "$ext: every value restored exactly");
	is($node->safe_psql("dst_$ext", $query_check), $knn, "$ext: the hnsw index answers the same");
	is($node->safe_psql("dst_$ext", "SELECT hnsw_check('items_v_hnsw')"), 't', "$ext: restored index is sound");
	is($node->safe_psql("dst_$ext", "SELECT closest('[1,2,3]'), count(*) FROM near WHERE bd IS NOT NULL"),
		'1|500', "$ext: view and function over the types work");

	# plain format through psql
	my $sql = "$dir/$ext.sql";
	$node->command_ok([ 'pg_dump', '-d', $node->connstr($src), '-f', $sql ], "$ext: pg_dump plain");
	$node->safe_psql('postgres', "CREATE DATABASE plain_$ext");
	$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr("plain_$ext"), '-f', $sql ],
		"$ext: plain dump restores with psql");
	is($node->safe_psql("plain_$ext", $fingerprint), $before, "$ext: plain dump restores every value");

	# restoring where the other name is installed: the clear error
	$node->safe_psql('postgres', "CREATE DATABASE clash_$ext");
	$node->safe_psql("clash_$ext", "CREATE EXTENSION $other");
	($ret, $out, $err) = $node->psql("clash_$ext", "CREATE EXTENSION IF NOT EXISTS $ext");
	like($err, qr/extension "$other" is already installed in this database/,
		"$ext: restore target with $other installed gets the clear error");
}

# The two dumps differ only in the extension's name: the same objects
my $a = `pg_restore -l '$dir/vector.dump' | grep -v '^;' | grep -v EXTENSION | sed 's/^[0-9; ]*//' | sort`;
my $b = `pg_restore -l '$dir/semvec.dump' | grep -v '^;' | grep -v EXTENSION | sed 's/^[0-9; ]*//' | sort`;
like($a, qr/TABLE DATA public items/, 'the dump lists the table data');
is($a, $b, 'dumps under both names list the same objects');

$node->stop;
done_testing();
