# Drop-in compatibility with real pgvector clients, for vector, halfvec,
# sparsevec and bit in text and binary form: node-postgres + the npm
# pgvector package (test/clients/node_client.mjs, versions pinned in
# test/clients/package.json and installed with `npm ci` into a scratch
# directory), and psycopg2 with pgvector-python's codec
# (test/clients/psycopg2_client.py).  Each script prints "ok - ..." /
# "not ok - ..." lines that become TAP results here.
#
# Without network access (npm ci fails), node, or python3-psycopg2, the part
# concerned is SKIPPED with the reason printed; SEMVEC_REQUIRE_CLIENTS=1
# turns those skips into failures (for CI machines that must run them).
use strict;
use warnings;
use File::Copy qw(copy);
use IPC::Run qw(run timeout);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $clients = "$src/test/clients";
my $require = $ENV{SEMVEC_REQUIRE_CLIENTS} // 0;

my $node = PostgreSQL::Test::Cluster->new('clients');
$node->init;
$node->start;
# what the client libraries run themselves (semvec under pgvector's name)
$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS vector');

# libpq (psycopg2) and node-postgres both read these
my %pgenv = (
	PGHOST => $node->host,
	PGPORT => $node->port,
	PGDATABASE => 'postgres',
	PGUSER => scalar getpwuid($<));

# Run a command; return (ok, stdout, stderr).  Never dies.
sub run_cmd
{
	my ($cmd, $dir, $secs, %env) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		local @ENV{ keys %env } = values %env;
		run($cmd, '>', \$out, '2>', \$err,
			init => sub { chdir $dir or die "chdir $dir: $!" },
			timeout($secs));
	};
	$err .= $@ if $@;
	return ($ok ? 1 : 0, $out, $err);
}

# Skip one part with a visible reason, or fail if skipping is not allowed
sub skip_part
{
	my ($part, $reason) = @_;
	if ($require)
	{
		fail("$part: $reason (SEMVEC_REQUIRE_CLIENTS=1)");
		return;
	}
	diag("SKIPPING $part: $reason");
  SKIP: { skip("$part: $reason", 1); }
}

# Turn a client script's report lines into TAP results
sub report_results
{
	my ($part, $ok, $out, $err, $min_checks) = @_;
	my $checks = 0;
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^ok - (.*)$/)
		{
			pass("$part: $1");
			$checks++;
		}
		elsif ($line =~ /^not ok - (.*)$/)
		{
			fail("$part: $1");
			$checks++;
		}
	}
	ok($out =~ /^done$/m, "$part: script ran to the end")
	  or diag("stderr: $err");
	ok($ok, "$part: script exit status 0") or diag("stderr: $err");
	cmp_ok($checks, '>=', $min_checks, "$part: at least $min_checks checks reported");
}

# -- node-postgres + pgvector-node
{
	my $part = 'node pg + pgvector';
	my ($have_node, $ver) = run_cmd([ 'node', '--version' ], $clients, 30);
	my ($major) = ($ver // '') =~ /^v(\d+)/;
	my ($have_npm) = run_cmd([ 'npm', '--version' ], $clients, 60);
	if (!$have_node || !$major || $major < 18)
	{
		skip_part($part, 'node >= 18 not found (install nodejs)');
	}
	elsif (!$have_npm)
	{
		skip_part($part, 'npm not found (install npm)');
	}
	else
	{
		my $dir = "$PostgreSQL::Test::Utils::tmp_check/node_clients";
		mkdir $dir or die "mkdir $dir: $!";
		copy("$clients/$_", "$dir/$_") or die "copy $_: $!"
		  for qw(package.json package-lock.json node_client.mjs);
		my %npmenv = (npm_config_cache => $ENV{npm_config_cache} // "$dir/.npm-cache");
		my ($installed, $out, $err) = run_cmd(
			[
				'npm', 'ci', '--no-audit', '--no-fund', '--loglevel=error',
				'--fetch-timeout=60000', '--fetch-retries=1'
			],
			$dir, 300, %npmenv);
		if (!$installed)
		{
			my @lines = grep { /\S/ } split /\n/, $err;
			my $why = join(' | ', grep { defined } @lines[ 0 .. 2 ]) || 'no message';
			skip_part($part, "npm ci failed, no registry access? ($why)");
		}
		else
		{
			my ($ok, $out2, $err2) =
			  run_cmd([ 'node', 'node_client.mjs' ], $dir, 300, %pgenv);
			report_results($part, $ok, $out2, $err2, 50);
		}
	}
}

# -- psycopg2 + pgvector-python's codec
{
	my $part = 'psycopg2 + pgvector-python codec';
	my ($have) = run_cmd([ '/usr/bin/python3', '-c', 'import psycopg2' ], $clients, 60);
	if (!$have)
	{
		skip_part($part, 'python3-psycopg2 not installed');
	}
	else
	{
		my ($ok, $out, $err) = run_cmd(
			[ '/usr/bin/python3', "$clients/psycopg2_client.py" ],
			$clients, 300, %pgenv);
		report_results($part, $ok, $out, $err, 40);
	}
}

$node->stop;
done_testing();
