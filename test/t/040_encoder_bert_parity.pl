# BERT parity: embed() on tiny random-weight BERT folders (real HF config and
# tensor names) against an independent torch forward pass, max |diff| <= 1e-4.
# Covers mean and CLS pooling, with and without Normalize, F16 and BF16 weights, a
# "bert." tensor prefix, vocab.txt and tokenizer.json, truncation
# (max_seq_length), and batches that mix lengths in different orders.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $dir = PostgreSQL::Test::Utils::tempdir;
system('/usr/bin/python3', "$src/tools/make_tiny_bert.py", $dir) == 0
  or BAIL_OUT("make_tiny_bert.py failed (needs python3-torch, python3-numpy)");

my $node = PostgreSQL::Test::Cluster->new('bert');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');
$node->safe_psql('postgres', qq{
	CREATE TABLE ref(model text, n int, sentence text, ids text, vec text);
	COPY ref FROM '$dir/reference.tsv';
});

# Parse '[a,b,...]' into a list of numbers
sub parse_vec
{
	my ($s) = @_;
	$s =~ s/^\s*\[|\]\s*$//g;
	return split /,/, $s;
}

# Max |a - b| over two vectors given as text; 1e9 on a length mismatch
sub max_diff
{
	my @a = parse_vec($_[0]);
	my @b = parse_vec($_[1]);
	return 1e9 if @a != @b || @a == 0;
	my $m = 0;
	for my $i (0 .. $#a)
	{
		my $d = abs($a[$i] - $b[$i]);
		$m = $d if $d > $m;
	}
	return $m;
}

# Check every row of a query returning (model, n, got, want)
sub check_rows
{
	my ($label, $sql) = @_;
	my %worst;
	my $rows = 0;
	for my $line (split /\n/, $node->safe_psql('postgres', $sql))
	{
		my ($model, $n, $got, $want) = split /\|/, $line;
		my $d = max_diff($got, $want);
		$worst{$model} = $d if !defined $worst{$model} || $d > $worst{$model};
		$rows++;
	}
	ok($rows >= 5 * 20, "$label: $rows rows");
	for my $m (sort keys %worst)
	{
		cmp_ok($worst{$m}, '<=', 1e-4, "$label: $m max |diff| = $worst{$m}");
	}
}

my $models = $node->safe_psql('postgres',
	"SELECT string_agg(name || ':' || pooling || ':' || normalize || ':' || max_tokens, ' ' ORDER BY name) FROM semvec_models WHERE path LIKE '$dir/%'");
is($models,
	'tiny-bf16:mean:true:128 tiny-cls:cls:false:128 tiny-cls-norm:cls:true:128 tiny-mean-norm:mean:true:128 tiny-mean-trunc:mean:false:24',
	'semvec_models lists the folders with pooling, normalize and max_tokens');

# Token ids agree with the reference tokenizer (truncation included)
my $bad = $node->safe_psql('postgres', q{
	SELECT count(*) FROM ref
	WHERE ids IS DISTINCT FROM
		(SELECT string_agg(id::text, ',') FROM embed_tokens(sentence, model))});
is($bad, '0', 'token ids match the reference WordPiece');

check_rows('one text per call', q{
	SELECT model, n, embed(sentence, model)::text, vec FROM ref ORDER BY model, n});

check_rows('one batch, input order', q{
	WITH b AS (SELECT model, embed(array_agg(sentence ORDER BY n), model) AS e
			   FROM ref GROUP BY model)
	SELECT ref.model, n, (e[n])::text, vec FROM ref JOIN b USING (model)});

check_rows('one batch, reversed, with NULLs between', q{
	WITH c AS (SELECT model, count(*) AS cnt FROM ref GROUP BY model),
	b AS (SELECT model,
				 embed(array_agg(x ORDER BY k), model) AS e
		  FROM (SELECT model, 2 * (1000 - n) AS k, sentence AS x FROM ref
				UNION ALL
				SELECT model, 2 * (1000 - n) + 1, NULL FROM ref) s
		  GROUP BY model)
	SELECT ref.model, n, (e[2 * (c.cnt - n) + 1])::text, vec
	FROM ref JOIN b USING (model) JOIN c USING (model)});

# NULL elements stay NULL, NULL in gives NULL out, empty array gives empty
is($node->safe_psql('postgres', q{
	SELECT (embed(ARRAY[NULL, 'a', NULL]::text[], 'tiny-cls'))[1] IS NULL
	   AND (embed(ARRAY[NULL, 'a', NULL]::text[], 'tiny-cls'))[3] IS NULL
	   AND (embed(ARRAY[NULL, 'a', NULL]::text[], 'tiny-cls'))[2] IS NOT NULL
	   AND embed(NULL::text, 'tiny-cls') IS NULL
	   AND embed(NULL::text[], 'tiny-cls') IS NULL
	   AND cardinality(embed(ARRAY[]::text[], 'tiny-cls')) = 0}),
	't', 'NULL handling');

# The array form, one text per call, gives the same vectors (the one-
# argument forms always use the installed default model: regress
# encoder_default covers them)
check_rows('array form', q{
	SELECT model, n, (embed(ARRAY[sentence], model))[1]::text, vec FROM ref});

# Normalised models have unit norm
is($node->safe_psql('postgres', q{
	SELECT bool_and(abs(vector_norm(embed(sentence, model)) - 1) < 1e-5)
	FROM ref WHERE model LIKE '%norm'}), 't', 'normalized outputs have unit L2 norm');

# Expression index and generated column (IMMUTABLE)
$node->safe_psql('postgres', q{
	CREATE TABLE docs(t text, e vector GENERATED ALWAYS AS (embed(t, 'tiny-mean-norm')) STORED);
	INSERT INTO docs(t) SELECT sentence FROM ref WHERE model = 'tiny-mean-norm';
});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM docs d JOIN ref r ON r.sentence = d.t AND r.model = 'tiny-mean-norm'
	WHERE d.e IS NULL}), '0', 'generated column filled');

# Changing a folder is detected in the next transaction
my $before = $node->safe_psql('postgres', "SELECT max_tokens FROM semvec_models WHERE name = 'tiny-cls'");
is($before, '128', 'max_tokens before');
open(my $fh, '>', "$dir/tiny-cls/sentence_bert_config.json") or die;
print $fh '{"max_seq_length": 5}';
close $fh;
utime(undef, time + 5, "$dir/tiny-cls/sentence_bert_config.json");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM embed_tokens('The cat sat on the mat.', 'tiny-cls')}),
	'5', 'changed folder reloaded: truncation now at 5 tokens');
is($node->safe_psql('postgres', 'SELECT semvec_reload_models() >= 0'), 't',
	'semvec_reload_models');

$node->stop;
done_testing();
