# chunk() with a BERT WordPiece model: token counts include [CLS]/[SEP],
# long sentences split at words, long words cut between WordPiece tokens,
# and max_tokens must leave room for the special tokens.  Uses the real
# bert-base-uncased vocabulary (tools/fetch_bert_vocab.sh, npm) around a
# tiny random BERT (tools/make_tiny_bert.py).
use strict;
use warnings;
use utf8;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Encode qw(encode decode);

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $dir = PostgreSQL::Test::Utils::tempdir;
system("$src/tools/fetch_bert_vocab.sh", "$dir/vocab") == 0
  or BAIL_OUT("could not fetch the bert-base-uncased vocabulary (npm)");
system('/usr/bin/python3', "$src/tools/make_tiny_bert.py", '--vocab',
	"$dir/vocab/vocab.txt", "$dir/models/uncased") == 0
  or BAIL_OUT("make_tiny_bert.py failed");

my $node = PostgreSQL::Test::Cluster->new('chunkwp');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir/models'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');

sub q8
{
	my ($sql) = @_;
	return decode('UTF-8', $node->safe_psql('postgres', encode('UTF-8', $sql)));
}

# Hand-counted (specials included): "Hello, world!" = [CLS] hello , world !
# [SEP] = 6; "This is a test." = 5 + 2 = 7; together 11 > 8.  The third
# sentence is una ##ffa ##ble straw ##berries are nice . = 8 + 2 = 10 > 8, so
# it is split at words: "Unaffable strawberries are" = 6 + 2 = 8, "nice." = 4.
is( q8(q{SELECT string_agg(format('%s|%s|%s', chunk, n_tokens, char_start), E'\n' ORDER BY ord)
	FROM chunk('Hello, world! This is a test. Unaffable strawberries are nice.', 8, 0, 'uncased')}),
	"Hello, world!|6|1\nThis is a test.|7|15\nUnaffable strawberries are|8|31\nnice.|4|58",
	'sentences packed with [CLS]/[SEP] counted; a long sentence split at words');

# n_tokens is what embed_tokens() (the model's tokenizer, specials included) counts
is( q8(q{SELECT count(*) FROM (VALUES ('Grüße aus Köln! 中文字 and 日本語. ' || repeat('Résumé naïve café. ', 30))) v(d),
	chunk(d, 12, 3, 'uncased') c
	WHERE c.n_tokens <> (SELECT count(*) FROM embed_tokens(c.chunk, 'uncased'))
	   OR c.n_tokens > 12
	   OR substr(d, c.char_start, c.char_end - c.char_start + 1) <> c.chunk}),
	'0', 'n_tokens = embed_tokens count, fits, offsets exact (accents, CJK)');

# a single word longer than the budget is cut between WordPiece tokens
my $pieces = q8(q{SELECT string_agg(chunk || ':' || n_tokens, ' ' ORDER BY ord)
	FROM chunk('unaffableunaffableunaffable', 5, 0, 'uncased')});
note "pieces: $pieces";
unlike($pieces, qr/:(?:[6-9]|\d\d)/, 'every piece fits 5 tokens');
is(join('', map { (split /:/)[0] } split / /, $pieces),
	'unaffableunaffableunaffable', 'pieces are consecutive slices of the word');
cmp_ok(scalar(split / /, $pieces), '>', 2, 'the word was cut into several pieces');

# default max_tokens is the model's max length (512 for this model)
is(q8(q{SELECT count(*) || '|' || max(n_tokens) FROM chunk(repeat('word ', 1000), model => 'uncased', overlap_tokens => 0)}),
	'2|512', 'default max_tokens = model max length');

my ($ret, $out, $err) = $node->psql('postgres', q{SELECT * FROM chunk('x', 2, 0, 'uncased')});
like($err, qr/max_tokens must be greater than 2/, 'max_tokens must exceed the special tokens');

$node->stop;
done_testing();
