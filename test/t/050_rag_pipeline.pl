# The whole RAG pipeline end to end: documents -> chunk() -> embed_table()
# (batched, cancelled half-way by statement_timeout, resumed) -> hnsw ->
# hybrid_search()/retrieve(), with progress NOTICEs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('rag');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION semvec');

# 60 synthetic documents on distinct topics, several sentences each
my @topics = (
	[ 'index', 'CREATE INDEX CONCURRENTLY builds an index without locking out writes' ],
	[ 'vacuum', 'VACUUM reclaims the storage occupied by dead tuples' ],
	[ 'explain', 'EXPLAIN ANALYZE shows the plan and the actual run time of a query' ],
	[ 'lock', 'ACCESS EXCLUSIVE locks conflict with every other table lock mode' ],
	[ 'backup', 'pg_dump writes a consistent logical backup of a database' ],
	[ 'wal', 'The write-ahead log makes committed transactions durable after a crash' ]);
$node->safe_psql('postgres', q{
	CREATE TABLE docs (id int PRIMARY KEY, topic text, body text);
	CREATE TABLE chunks (id bigserial PRIMARY KEY, doc_id int REFERENCES docs,
	                     ord int, chunk text NOT NULL, emb vector(512));
});
my @rows;
for my $i (1 .. 60)
{
	my ($topic, $s) = @{ $topics[ $i % @topics ] };
	my $body = join(' ',
		map { "$s (note $i.$_). This is sentence $_ of document $i about $topic." } 1 .. 6);
	push @rows, "($i, '$topic', '$body')";
}
$node->safe_psql('postgres', 'INSERT INTO docs VALUES ' . join(',', @rows));

# chunk with the model tokenizer; offsets give the chunks back exactly
$node->safe_psql('postgres', q{
	INSERT INTO chunks (doc_id, ord, chunk)
	SELECT d.id, c.ord, c.chunk FROM docs d, LATERAL chunk(d.body, 48, 8) c});
my $nchunks = $node->safe_psql('postgres', 'SELECT count(*) FROM chunks');
cmp_ok($nchunks, '>', 120, "documents split into several chunks each ($nchunks)");
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM docs d, LATERAL chunk(d.body, 48, 8) c
		WHERE substr(d.body, c.char_start, c.char_end - c.char_start + 1) <> c.chunk
		   OR c.n_tokens > 48}),
	'0', 'every chunk is its slice of the document and fits max_tokens');

# embed_table, cancelled by statement_timeout after some committed batches
# (400 ms is a small part of the whole job even on a fast machine)
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '400ms'; CALL embed_table('chunks', batch => 2)");
isnt($ret, 0, 'embed_table was cancelled by statement_timeout');
like($err, qr/canceling statement due to statement timeout/, 'cancel reported');
my $done = $node->safe_psql('postgres', 'SELECT count(emb) FROM chunks');
note "embedded before the cancel: $done of $nchunks";
cmp_ok($done, '<', $nchunks, 'cancel stopped the work part-way');
cmp_ok($done % 2, '==', 0, 'only whole committed batches were kept');

# resume: finishes, nothing lost or duplicated, progress reported
($ret, $out, $err) = $node->psql('postgres', "CALL embed_table('chunks', batch => 16)");
is($ret, 0, 'embed_table resumed');
like($err, qr/embed_table: \d+ rows of chunks to embed/, 'start NOTICE');
like($err, qr/embed_table: done, \d+ rows in/, 'final NOTICE');
my $left = $nchunks - $done;
like($err, qr/embed_table: $left rows of chunks to embed/, 'resume picks up exactly the rows left');
is( $node->safe_psql('postgres',
		'SELECT count(*), count(emb), count(DISTINCT id) FROM chunks'),
	"$nchunks|$nchunks|$nchunks", 'all rows embedded once');
is( $node->safe_psql('postgres',
		'SELECT count(*) FROM chunks WHERE (emb <=> embed(chunk)) > 1e-6'),
	'0', 'batched embeddings equal one-at-a-time embed()');

# two sessions sharing the work through SKIP LOCKED
$node->safe_psql('postgres', 'UPDATE chunks SET emb = NULL WHERE id % 3 = 0');
my ($bg_out, $bg_err) = ('', '');
my $bg = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	  '-c', "CALL embed_table('chunks', batch => 2, quiet => true)" ],
	'>', \$bg_out, '2>', \$bg_err);
$node->safe_psql('postgres', "CALL embed_table('chunks', batch => 2, quiet => true)");
$bg->finish;
is($bg->result(0), 0, 'background session finished cleanly') or diag $bg_err;
is($node->safe_psql('postgres', 'SELECT count(*) - count(emb) FROM chunks'),
	'0', 'two concurrent embed_table sessions finish the table');

# index and retrieval
$node->safe_psql('postgres',
	'CREATE INDEX ON chunks USING hnsw (emb vector_cosine_ops); ANALYZE chunks');
like( $node->safe_psql('postgres', q{
		SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM chunks ORDER BY emb <=> embed('reclaim dead tuples') LIMIT 5}),
	qr/Index Scan using \w+ on chunks/, 'vector search uses the hnsw index');
for my $q ([ 'how do I build an index without blocking writes', 'index' ],
	[ 'reclaim storage of dead rows', 'vacuum' ],
	[ 'see the query plan and actual time', 'explain' ])
{
	my ($question, $topic) = @$q;
	is( $node->safe_psql('postgres', qq{
			SELECT d.topic FROM hybrid_search('chunks', '$question', k => 1) h
			JOIN chunks c ON c.id = h.id JOIN docs d ON d.id = c.doc_id}),
		$topic, "hybrid_search answers '$question' from a '$topic' document");
}
my $prompt = $node->safe_psql('postgres',
	q{SELECT retrieve_prompt('chunks', 'What does pg_dump write?', k => 3)});
like($prompt, qr/\[1\] \(document \d+, score [0-9.]+\)\n.*pg_dump/s, 'prompt lists sources');
like($prompt, qr/Question: What does pg_dump write\?$/, 'prompt ends with the question');

$node->stop;
done_testing();
