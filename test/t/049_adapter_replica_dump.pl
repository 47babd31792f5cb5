# Adapters are data: a streaming standby embeds with an adapter trained on
# the primary (and sees it retrained and dropped), and pg_dump / pg_restore
# carry the adapter into a new database, where embed() with it returns the
# same vectors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION semvec;
	CREATE TABLE pairs(q text, d text);
	INSERT INTO pairs VALUES
	 ('how old are you', 'I am 30 years old'), ('what is your age', 'my age is thirty'),
	 ('where do you live', 'I live in Paris'), ('what city are you from', 'I come from Lyon'),
	 ('what do you eat', 'I eat bread'), ('favourite food', 'I like pasta');
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my $train = q{CALL train_adapter('qa', pairs => 'SELECT q, d FROM pairs', epochs => 4,
	validation => 0, document_map => true, seed => %d, replace => true)};
$primary->safe_psql('postgres', sprintf($train, 1));
my $probe = q{SELECT embed('how old are you', 'default+qa')::text || embed('I eat bread', 'default+qa:doc')::text};
my $want = $primary->safe_psql('postgres', $probe);
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $probe), $want, 'standby embeds with the adapter trained on the primary');
is($standby->safe_psql('postgres', q{SELECT string_agg(name, ' ' ORDER BY name) FROM semvec_models WHERE name LIKE 'default+%'}),
	'default+qa default+qa:doc', 'standby lists the adapter models');

# a session on the standby sees the adapter retrained, then dropped
my $session = $standby->background_psql('postgres');
is($session->query_safe($probe), $want, 'standby session: first use');
$primary->safe_psql('postgres', sprintf($train, 2));
my $want2 = $primary->safe_psql('postgres', $probe);
isnt($want2, $want, 'another seed gives another adapter');
$primary->wait_for_catchup($standby);
is($session->query_safe($probe), $want2, 'standby session: sees the retrained adapter in its next transaction');

# dump and restore into another database
my $dump = $primary->basedir . '/adapters.dump';
$primary->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $primary->connstr('postgres')], 'pg_dump');
$primary->safe_psql('postgres', 'CREATE DATABASE restored');
$primary->command_ok(['pg_restore', '-d', $primary->connstr('restored'), $dump], 'pg_restore');
is($primary->safe_psql('restored', $probe), $want2, 'restored database embeds with the same adapter');
is($primary->safe_psql('restored', q{SELECT name, pairs FROM semvec_adapters}), 'qa|6', 'the adapter row is restored');

$primary->safe_psql('postgres', q{SELECT drop_adapter('qa')});
$primary->wait_for_catchup($standby);
# (an error would end the background session: catch it in the same backend)
$session->query_safe(q{DO $$ BEGIN
	PERFORM embed('how old are you', 'default+qa');
	RAISE EXCEPTION 'the dropped adapter is still usable';
EXCEPTION WHEN undefined_object THEN NULL;
END $$});
pass('standby session: the dropped adapter is gone in its next transaction');
$session->quit;

$standby->stop;
$primary->stop;
done_testing();
