# Errors, never crashes: unknown models, unsafe names, missing files, corrupt
# safetensors (truncated, bad header, out-of-bounds, overlapping, wrong shape,
# bad dtype, duplicate names), bad JSON; each error names the file.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SemvecFiles;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $dir = PostgreSQL::Test::Utils::tempdir;
system('/usr/bin/python3', "$src/tools/make_tiny_bert.py", $dir) == 0
  or BAIL_OUT("make_tiny_bert.py failed");
my $good = "$dir/tiny-mean-norm";

# Copy the good model folder to a new name
sub clone
{
	my ($name) = @_;
	make_path("$dir/$name/1_Pooling");
	for my $f (qw(config.json model.safetensors vocab.txt tokenizer_config.json
		modules.json sentence_bert_config.json 1_Pooling/config.json))
	{
		copy("$good/$f", "$dir/$name/$f") or die "copy $f: $!";
	}
	return "$dir/$name";
}

# Split a safetensors file into (header hashref, data bytes)
sub st_read
{
	my $raw = slurp(@_);
	my $n = unpack('Q<', substr($raw, 0, 8));
	return (decode_json(substr($raw, 8, $n)), substr($raw, 8 + $n));
}

# Write a safetensors file from a header JSON string and data bytes
sub st_write
{
	my ($path, $json, $data) = @_;
	spew($path, pack('Q<', length($json)) . $json . $data);
}

my ($hdr, $data) = st_read("$good/model.safetensors");
my $json = JSON::PP->new->canonical;
my $wname = 'embeddings.word_embeddings.weight';

# truncated: data cut short
my $m = clone('trunc');
my $raw = slurp("$good/model.safetensors");
spew("$m/model.safetensors", substr($raw, 0, length($raw) - 1000));
# shorter than the length prefix
$m = clone('tiny-file');
spew("$m/model.safetensors", "abc");
# header length beyond the file
$m = clone('hlen');
spew("$m/model.safetensors", pack('Q<', 1 << 40) . '{}');
# header is not JSON
$m = clone('badjson');
st_write("$m/model.safetensors", '{"a": [1, 2', '');
# tensor out of bounds
$m = clone('oob');
{
	my %h = %$hdr;
	$h{$wname} = { %{ $h{$wname} } };
	$h{$wname}{data_offsets} = [ length($data) - 4, length($data) + 100 ];
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# overlapping tensors
$m = clone('overlap');
{
	my %h = %$hdr;
	my $t = $h{'embeddings.LayerNorm.bias'};
	$h{'embeddings.LayerNorm.weight'} = { %$t };
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# shape does not match the byte length
$m = clone('count');
{
	my %h = %$hdr;
	$h{$wname} = { %{ $h{$wname} }, shape => [ 3, 3 ] };
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# unknown dtype
$m = clone('dtype');
{
	my %h = %$hdr;
	$h{$wname} = { %{ $h{$wname} }, dtype => 'F7' };
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# a tensor of a known but unsupported dtype (I32, same byte size)
$m = clone('i32');
{
	my %h = %$hdr;
	$h{$wname} = { %{ $h{$wname} }, dtype => 'I32' };
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# duplicate tensor name in the header
$m = clone('dup');
{
	my $j = $json->encode($hdr);
	my $entry = $json->encode($hdr->{$wname});
	$j =~ s/^\{/{"$wname":$entry,/;
	st_write("$m/model.safetensors", $j, $data);
}
# wrong shape for the config (consistent file, but config says 64 hidden)
$m = clone('shape');
{
	my %h = %$hdr;
	my $t = $h{'embeddings.LayerNorm.bias'};
	$h{'embeddings.LayerNorm.bias'} = { %$t, shape => [ 4, 8 ] };
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# missing tensor
$m = clone('missing-tensor');
{
	my %h = %$hdr;
	delete $h{'encoder.layer.1.output.dense.bias'};
	st_write("$m/model.safetensors", $json->encode(\%h), $data);
}
# bad config JSON, missing files, unsupported architecture, bad pooling
$m = clone('badconfig');
spew("$m/config.json", '{"model_type": "bert", "hidden_size": }');
$m = clone('noconfig');
unlink("$m/config.json");
$m = clone('noweights');
unlink("$m/model.safetensors");
$m = clone('novocab');
unlink("$m/vocab.txt");
$m = clone('gpt');
spew("$m/config.json", '{"model_type": "gpt2", "architectures": ["GPT2Model"]}');
$m = clone('maxpool');
spew("$m/1_Pooling/config.json", '{"pooling_mode_max_tokens": true}');
$m = clone('badmodules');
spew("$m/modules.json", '{"not": "an array"}');
$m = clone('heads');
{
	my $c = decode_json(slurp("$good/config.json"));
	$c->{num_attention_heads} = 5;
	spew("$m/config.json", encode_json($c));
}

my $node = PostgreSQL::Test::Cluster->new('errors');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');

# Expect an error matching $re from embed('x', model)
sub fails
{
	my ($model, $re, $label) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT embed('x', '$model')");
	isnt($ret, 0, "$label: fails");
	like($err, $re, "$label: message");
}

my $f = qr{\Q$dir\E};
fails('nope', qr/model "nope" does not exist/, 'unknown model');
fails('../tiny-cls', qr/invalid model name/, 'name with ..');
fails('a/b', qr/invalid model name/, 'name with /');
fails('.hidden', qr/invalid model name/, 'leading dot');
fails('', qr/invalid model name/, 'empty name');
fails('x' x 80, qr/invalid model name/, 'long name');
fails('trunc', qr/invalid safetensors file "$f\/trunc\/model.safetensors".*\n.*extends past the end of the file/, 'truncated file');
fails('tiny-file', qr/invalid safetensors file "$f\/tiny-file\/model.safetensors".*\n.*shorter than the 8-byte header/, 'file shorter than 8 bytes');
fails('hlen', qr/invalid safetensors file "$f\/hlen\/model.safetensors".*\n.*Header length \d+ exceeds the file size/, 'header length beyond the file');
fails('badjson', qr/invalid JSON in file "$f\/badjson\/model.safetensors"/, 'bad header JSON');
fails('oob', qr/invalid safetensors file "$f\/oob\/model.safetensors".*\n.*word_embeddings.weight.*extends past the end/, 'tensor out of bounds');
fails('overlap', qr/invalid safetensors file "$f\/overlap\/model.safetensors".*\n.*overlaps tensor/, 'overlapping tensors');
fails('count', qr/invalid safetensors file "$f\/count\/model.safetensors".*\n.*shape needs 9 elements of F32 but data is \d+ bytes/, 'element count vs bytes');
fails('dtype', qr/invalid safetensors file "$f\/dtype\/model.safetensors".*\n.*unknown dtype "F7"/, 'unknown dtype');
fails('i32', qr/unsupported tensor dtype in file "$f\/i32\/model.safetensors".*\n.*dtype I32/, 'unsupported dtype');
fails('dup', qr/invalid JSON in file "$f\/dup\/model.safetensors".*\n.*appears more than once/, 'duplicate tensor name');
fails('shape', qr/invalid tensor "embeddings.LayerNorm.bias" in file "$f\/shape\/model.safetensors".*\n.*Shape is \[4, 8\], expected \[32\]/, 'wrong shape');
fails('missing-tensor', qr/missing tensor "encoder.layer.1.output.dense.bias" in file "$f\/missing-tensor\/model.safetensors"/, 'missing tensor');
fails('badconfig', qr/invalid JSON in file "$f\/badconfig\/config.json"/, 'bad config JSON');
fails('noconfig', qr/model "noconfig" has no config file.*\n.*"$f\/noconfig\/config.json" does not exist/, 'missing config.json');
fails('noweights', qr/could not open file "$f\/noweights\/model.safetensors": No such file/, 'missing weights');
fails('novocab', qr/model "novocab" has no tokenizer/, 'missing vocabulary');
fails('gpt', qr/unsupported model architecture in file "$f\/gpt\/config.json"/, 'unsupported architecture');
fails('maxpool', qr/unsupported pooling in file "$f\/maxpool\/1_Pooling\/config.json"/, 'max pooling');
fails('badmodules', qr/invalid model file "$f\/badmodules\/modules.json"/, 'modules.json not an array');
fails('heads', qr/invalid model config in file "$f\/heads\/config.json".*\n.*not a multiple/, 'heads do not divide hidden');

# The view still lists good models and shows why the others fail
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE error IS NULL) || ' ' || count(*) FILTER (WHERE error IS NOT NULL)
	FROM semvec_models WHERE path LIKE '$dir/%'}), '5 19', 'semvec_models: 5 good, 19 broken folders (noconfig is no model)');
like($node->safe_psql('postgres', q{SELECT error FROM semvec_models WHERE name = 'oob'}),
	qr/invalid safetensors file/, 'semvec_models shows the error');

# A good model still works after all those failures in the same session
is($node->safe_psql('postgres', q{
	SELECT vector_dims(embed('the cat', 'tiny-mean-norm'))}), '32', 'good model still works');

# Only superusers may change the search path
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
my ($ret, $out, $err) = $node->psql('postgres', "SELECT 1 FROM embed_tokens('a', 'tiny-cls') LIMIT 1; SET semvec.model_path = '/etc'",
	extra_params => [ '-U', 'plain' ]);
like($err, qr/permission denied to set parameter "semvec.model_path"/, 'model_path is superuser-only');
is($node->safe_psql('postgres', q{SELECT vector_dims(embed('a', 'tiny-cls'))},
	extra_params => [ '-U', 'plain' ]), '32', 'plain users can embed');

($ret, $out, $err) = $node->psql('postgres', "LOAD 'semvec'; SET semvec.model_path = '/tmp:models'");
like($err, qr/invalid value for parameter "semvec.model_path".*\n.*"models" is not an absolute path/, 'model_path entries must be absolute');

# Reserved prefix
($ret, $out, $err) = $node->psql('postgres', "LOAD 'semvec'; SET semvec.no_such_setting = 1");
like($err, qr/invalid configuration parameter name|unrecognized configuration parameter/, 'semvec prefix reserved');

# Cancel: statement_timeout interrupts a long batch
($ret, $out, $err) = $node->psql('postgres', q{
	SET statement_timeout = '100ms';
	SELECT cardinality(embed(array_agg(repeat('the cat sat on the mat ', 20)), 'tiny-mean-norm'))
	FROM generate_series(1, 200000)});
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout cancels embed()');

$node->stop;
done_testing();
