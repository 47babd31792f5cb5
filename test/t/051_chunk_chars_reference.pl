# chunk_chars() against a Python model of LangChain's recursive splitter
# (test/t/chunk_chars_ref.py) on random texts with paragraphs, lines,
# sentence ends, spaces, accents and CJK, over random sizes and overlaps.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{SEMVEC_SRC} // '.';
my $node = PostgreSQL::Test::Cluster->new('chunkchars');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');

for my $seed (1 .. 3)
{
	my ($json, $err);
	IPC::Run::run([ 'python3', "$src/test/t/chunk_chars_ref.py", $seed, 400 ],
		'>', \$json, '2>', \$err)
	  or die "chunk_chars_ref.py failed: $err";
	my $res = $node->safe_psql('postgres', qq{
		WITH cases AS (
			SELECT ord, c->>'t' AS t, (c->>'size')::int AS size, (c->>'ov')::int AS ov,
			       array(SELECT jsonb_array_elements_text(c->'out')) AS expected
			FROM jsonb_array_elements(\$json\$$json\$json\$::jsonb) WITH ORDINALITY AS x(c, ord))
		SELECT count(*), count(*) FILTER (WHERE got IS DISTINCT FROM expected),
		       coalesce(min(ord) FILTER (WHERE got IS DISTINCT FROM expected), 0)
		FROM (SELECT ord, expected,
		             coalesce((SELECT array_agg(chunk ORDER BY o.ord) FROM chunk_chars(t, size, ov) o), '{}') AS got
		      FROM cases) z});
	my ($n, $bad, $first) = split /\|/, $res;
	is($bad, 0, "seed $seed: $n random texts split as the reference does (first mismatch: case $first)");
}

$node->stop;
done_testing();
