# Broken copies of the default model (USE-lite) folder: each is a clear
# ERROR naming the file or tensor, never a crash, and the good model keeps
# working.  Also checks that a long batch is cancellable.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SemvecFiles;

my $dir = PostgreSQL::Test::Utils::tempdir;
my $node = PostgreSQL::Test::Cluster->new('use_errors');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');
my $good = $node->safe_psql('postgres', q{SELECT path FROM semvec_models WHERE name = 'default'});
plan skip_all => 'default model not installed' unless $good;

# Copy the default model to a new name, with one file replaced
sub clone
{
	my ($name, $file, $data) = @_;
	make_path("$dir/$name");
	for my $f (qw(config.json model.safetensors tokenizer.json sentence_bert_config.json))
	{
		copy("$good/$f", "$dir/$name/$f") or die "copy $f: $!";
	}
	spew("$dir/$name/$file", $data) if defined $file;
}

my $json = JSON::PP->new->canonical;
my $config = decode_json(slurp("$good/config.json"));
sub config_with { my %c = (%$config, @_); return $json->encode(\%c); }

my $raw = slurp("$good/model.safetensors");
my $hlen = unpack('Q<', substr($raw, 0, 8));
my $hdr = decode_json(substr($raw, 8, $hlen));
my $data = substr($raw, 8 + $hlen);
sub st_with
{
	my ($h, $more) = @_;
	my $j = $json->encode($h);
	return pack('Q<', length($j)) . $j . $data . ($more // '');
}

clone('copy');
# folders converted before model files held plain tensors say so
clone('layout', 'config.json', config_with(weight_layout => 'panel16'));
clone('layers3', 'config.json', config_with(num_hidden_layers => 3));
clone('hidden', 'config.json', config_with(hidden_size => 0));
clone('width', 'config.json', config_with(hidden_size => 500));
clone('heads', 'config.json', config_with(num_attention_heads => 3));
{
	my %h = %$hdr;
	delete $h{'layers.1.ffn.out.bias'};
	clone('notensor', 'model.safetensors', st_with(\%h));
	# a matrix stored transposed ([out][in]) is refused, not misread
	%h = %$hdr;
	$h{'layers.0.attn.qkv.weight'} = { %{ $h{'layers.0.attn.qkv.weight'} }, shape => [ 768, 256 ] };
	clone('transposed', 'model.safetensors', st_with(\%h));
	# and so is a kernel layout (16-column panels) written into the file
	%h = %$hdr;
	$h{'layers.1.ffn.out.weight'} = { %{ $h{'layers.1.ffn.out.weight'} }, shape => [ 32, 1536, 16 ] };
	clone('panels', 'model.safetensors', st_with(\%h));
	# tensors no architecture asks for are ignored (older folders had
	# row-major copies of the FFN output matrices)
	%h = %$hdr;
	$h{'layers.0.ffn.out.weight_rows'} =
	  { dtype => 'F32', shape => [4], data_offsets => [ length($data), length($data) + 16 ] };
	clone('extra', 'model.safetensors', st_with(\%h, "\0" x 16));
}
clone('vocab', 'tokenizer.json', '{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", 0], ["b"]]}}');
clone('score', 'tokenizer.json', '{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", "x"]]}}');
clone('unk', 'tokenizer.json', '{"model": {"type": "Unigram", "unk_id": 7, "vocab": [["a", 0]]}}');
clone('novocab', 'tokenizer.json', '{"model": {"type": "Unigram"}}');

# The copy works and equals the installed model
is($node->safe_psql('postgres', q{SELECT embed('Hello world.', 'copy') <-> embed('Hello world.') = 0}),
	't', 'an intact copy embeds exactly like the default model');
is($node->safe_psql('postgres', q{
	SELECT bool_and(embed(t, 'extra') <-> embed(t) = 0)
	FROM unnest(ARRAY['Hello world.', 'A longer sentence about databases and vector search engines.']) t}),
	't', 'a tensor the architecture does not use is ignored');

my @cases = (
	[ layout => qr/invalid model config ".*\/layout\/config.json".*weight_layout is "panel16".*Rebuild the model folder/s ],
	[ layers3 => qr/layers\.2\./ ],
	[ hidden => qr/"hidden_size" is not supported/ ],
	[ width => qr/invalid tensor "head.weight".*Shape is \[512, 512\], expected \[500, 500\]/s ],
	[ heads => qr/"num_attention_heads" is not supported/ ],
	[ notensor => qr/layers\.1\.ffn\.out\.bias/ ],
	[ transposed => qr/invalid tensor "layers\.0\.attn\.qkv\.weight".*Shape is \[768, 256\], expected \[256, 768\]/s ],
	[ panels => qr/invalid tensor "layers\.1\.ffn\.out\.weight".*Shape is \[32, 1536, 16\], expected \[1536, 512\]/s ],
	[ vocab => qr/invalid tokenizer file ".*\/vocab\/tokenizer.json".*\[piece, score\] pair/s ],
	[ score => qr/invalid tokenizer file.*\[piece, score\] pair/s ],
	[ unk => qr/invalid tokenizer file.*unk_id/s ],
	[ novocab => qr/invalid tokenizer file.*"model.vocab" is not an array/s ],
);
for my $c (@cases)
{
	my ($name, $re) = @$c;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT embed('x', '$name')");
	isnt($ret, 0, "$name: fails");
	like($err, $re, "$name: error says what is wrong");
	unlike($err, qr/server closed the connection|terminated by signal/, "$name: no crash");
}
is($node->safe_psql('postgres', q{SELECT vector_dims(embed('still fine'))}), '512',
	'the default model still works after the errors');

# A long batch is cancellable (statement_timeout between layers or groups)
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET statement_timeout = '200ms';
	SELECT cardinality(embed(array_agg(repeat('word ', 200) || i))) FROM generate_series(1, 20000) i});
like($err, qr/canceling statement due to statement timeout/, 'statement_timeout cancels a long batch');

$node->stop;
done_testing();
