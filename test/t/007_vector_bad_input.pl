# Malformed input for vector, halfvec and sparsevec through the server: a
# seeded mutation test of the text input functions (literals, also into
# typmod'd columns) and of the binary receive functions (COPY ... FORMAT
# binary files built here).  The pure-C parsers behind them are fuzzed by
# tools/fuzz.sh; this covers the glue around them: every mutated value is
# either stored and then reads back as a valid value of its type, or
# rejected with one of pgvector's errors for that type; the server never
# crashes.  SEMVEC_MUTATION_SEED replays another sequence (default 1).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib $ENV{SEMVEC_SRC} ? "$ENV{SEMVEC_SRC}/test/t" : 'test/t';
use SemvecFiles;

my $seed = $ENV{SEMVEC_MUTATION_SEED} // 1;
srand($seed);
note("mutation seed $seed");

my $node = PostgreSQL::Test::Cluster->new('bad_input');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vector');

my %valid = (
	vector => ['[1.23,4.56,7.89]', '[-0,1e-45,3.4e38]', '[1]'],
	halfvec => ['[1.23,4.56,7.89]', '[65504,-6e-08,0]', '[1]'],
	sparsevec => ['{1:1.23,2:4.56,3:7.89}/3', '{3:-2,1:0.5}/5', '{}/1'],);
my @subs = (' ', ',', ':', '-', '+', '.', 'e', '1', '9', '[', ']', '{', '}', '/',
	'nan', 'inf', '65520', '1e-46', '4e38', '2147483648', '-2147483649',
	'16001', '1000000001', "\t", 'x');

# What a rejected value may say: pgvector's messages for its type, or a
# typmod mismatch
my %errors = (
	vector => qr/(vector|expected \d+ dimensions, not \d+)/,
	halfvec => qr/(halfvec|expected \d+ dimensions, not \d+)/,
	sparsevec => qr/(sparsevec|expected \d+ dimensions, not \d+)/,);

# One mutated literal
sub mutate
{
	my ($lit) = @_;
	for (1 .. 1 + int(rand(3)))
	{
		my $r = int(rand(length($lit) + 1));
		my $sub = $subs[ int(rand(@subs)) ];
		my $op = rand();
		if ($op < 0.15) { $lit = substr($lit, 0, $r); }
		elsif ($op < 0.55) { substr($lit, $r, 0) = $sub; }
		else { substr($lit, $r, length($sub), $sub); }
	}
	return $lit;
}

# ---------------------------------------------------------------------------
# Text input: 300 mutated literals per type, as casts and into a column of
# a fixed dimension; each statement on its own (ON_ERROR_STOP off)
for my $type (sort keys %valid)
{
	$node->safe_psql('postgres', "CREATE TABLE t_$type (id int, v $type(3))");
	my (@sql, @lits);
	for my $i (1 .. 300)
	{
		my $lit = mutate($valid{$type}[ $i % 3 ]);
		$lit =~ s/'/''/g;
		push @lits, $lit;
		push @sql, "SELECT '$lit'::$type;",
		  "INSERT INTO t_$type VALUES ($i, '$lit');";
	}
	my ($ret, $out, $err) = $node->psql('postgres', join("\n", @sql),
		extra_params => [ '-v', 'ON_ERROR_STOP=0' ]);
	my @msgs = grep { /^psql:.*ERROR:/ } split /\n/, $err;
	my @wrong = grep { !/ERROR:  .*$errors{$type}/ } @msgs;
	ok(@msgs > 0, "$type text: some mutations rejected (" . scalar(@msgs) . ")");
	is(scalar(@wrong), 0, "$type text: every error is one of ${type}'s")
	  or diag(join("\n", @wrong[ 0 .. ($#wrong < 4 ? $#wrong : 4) ]));
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$type text: server alive");

	# What was stored reads back, and its text form is accepted again
	my $stored = $node->safe_psql('postgres',
		"SELECT count(*) FROM t_$type WHERE v::text::$type = v");
	my $total = $node->safe_psql('postgres', "SELECT count(*) FROM t_$type");
	is($stored, $total, "$type text: all $total stored values round-trip");
}

# ---------------------------------------------------------------------------
# Binary input: COPY ... FORMAT binary files of one row each
my $dir = $node->basedir;

sub copy_file
{
	my ($payload) = @_;
	return "PGCOPY\n\377\r\n\0" . pack('NN', 0, 0)
	  . pack('nN', 1, length($payload)) . $payload . pack('n', 0xffff);
}

# A valid binary value of each type, and the mutations applied to it
my %binary = (
	vector => pack('nn', 3, 0) . pack('N3', 0x3f800000, 0x40000000, 0x40400000),
	halfvec => pack('nn', 3, 0) . pack('n3', 0x3c00, 0x4000, 0x4200),
	sparsevec => pack('NNN', 5, 2, 0) . pack('N2', 0, 3) . pack('N2', 0x3fc00000, 0xc0000000),);
my @ints = (0, 1, 2, 3, 0x7fff, 0x8000, 0xffff, 16000, 16001, 1000000000, 1000000001,
	0x7fffffff, 0x80000000, 0xffffffff, 0x7f800000, 0x7fc00000, 0x7c00, 0x7e00);

sub mutate_binary
{
	my ($b) = @_;
	for (1 .. 1 + int(rand(2)))
	{
		my $op = rand();
		my $at = int(rand(length($b) + 1));
		if ($op < 0.25) { $b = substr($b, 0, $at); }
		elsif ($op < 0.5)
		{
			substr($b, $at, 1, chr(int(rand(256)))) if $at < length($b);
		}
		elsif ($op < 0.9)
		{
			my $v = $ints[ int(rand(@ints)) ];
			my $w = rand() < 0.5 ? pack('n', $v & 0xffff) : pack('N', $v);
			substr($b, $at, length($w), $w) if $at + length($w) <= length($b);
		}
		else { $b .= chr(int(rand(256))) x (1 + int(rand(8))); }
	}
	return $b;
}

for my $type (sort keys %binary)
{
	$node->safe_psql('postgres', "CREATE TABLE b_$type (v $type)");
	my @sql;
	for my $i (1 .. 200)
	{
		my $file = "$dir/$type-$i.bin";
		spew($file, copy_file(mutate_binary($binary{$type})));
		push @sql, "COPY b_$type FROM '$file' WITH (FORMAT binary);";
	}
	my ($ret, $out, $err) = $node->psql('postgres', join("\n", @sql),
		extra_params => [ '-v', 'ON_ERROR_STOP=0' ]);
	my @msgs = grep { /^psql:.*ERROR:/ } split /\n/, $err;
	# besides the type's own errors: pgvector's "expected unused to be 0"
	# (which names no type), COPY's framing ("row field count",
	# "incorrect binary data format") and a message cut short
	my @wrong = grep {
		!/ERROR:  .*($errors{$type}|expected unused to be 0, not -?\d+|insufficient data left in message|incorrect binary data format|row field count|unexpected EOF|invalid COPY file header)/
	} @msgs;
	ok(@msgs > 0, "$type binary: some mutations rejected (" . scalar(@msgs) . ")");
	is(scalar(@wrong), 0, "$type binary: every error is an expected one")
	  or diag(join("\n", @wrong[ 0 .. ($#wrong < 4 ? $#wrong : 4) ]));
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$type binary: server alive");
	my $stored = $node->safe_psql('postgres',
		"SELECT count(*) FROM b_$type WHERE v::text::$type = v");
	my $total = $node->safe_psql('postgres', "SELECT count(*) FROM b_$type");
	is($stored, $total, "$type binary: all $total stored values round-trip");
}

# No backend died along the way
my $log = slurp($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated/,
	'no backend crashed');

$node->stop;
done_testing();
