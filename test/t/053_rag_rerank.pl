# The rerank stage of hybrid_search() and retrieve(): with rerank_model, the
# rerank_k best fused candidates come first in the order of the
# cross-encoder's scores (rerank() on a random-weight folder from
# tools/make_tiny_cross_encoder.py, called here independently), any further
# rows keep the fused order; retrieve() reports the cross-encoder's score;
# a missing model or an embedding model is refused with a clear error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{SEMVEC_SRC} or die "SEMVEC_SRC not set";
my $dir = PostgreSQL::Test::Utils::tempdir;
# the tiny folders only (no vocabulary download): a vocabulary of 46 words
system('/usr/bin/python3', "$src/tools/make_tiny_cross_encoder.py", "$dir/models") == 0
  or BAIL_OUT("make_tiny_cross_encoder.py failed (needs python3-torch, python3-numpy)");

my $node = PostgreSQL::Test::Cluster->new('rag_rerank');
$node->init;
$node->append_conf('postgresql.conf', "semvec.model_path = '$dir/models'\n");
$node->start;
my $q = 'the quick brown fox jumps over the lazy dog';
# 40 chunks of the tiny vocabulary's words (deterministic), text keys, a
# bm25 index, 3-d embeddings
$node->safe_psql('postgres', qq{
	CREATE EXTENSION semvec;
	CREATE TABLE c (id text PRIMARY KEY, doc_id int, chunk text, emb vector(3));
	INSERT INTO c
	SELECT 'k' || i, i / 4,
	       (SELECT string_agg(w[1 + (i * 7 + j * j * 3 + j * i) % array_length(w, 1)], ' ' ORDER BY j)
	        FROM generate_series(1, 4 + i % 9) j),
	       ARRAY[1 + (i % 5), (i * 3) % 7, (i % 2)]::float4[]::vector
	FROM generate_series(1, 40) i,
	     (SELECT string_to_array('the a cat dog sat on mat and ran fast slow big small red blue green '
	        'house tree car road city river bank money time year day night play played playing run '
	        'running walk walked talk talking read reading book books quick brown fox jumps over lazy', ' ') AS w) v;
	CREATE INDEX ON c USING bm25 (chunk);
	CREATE TABLE cb (id bigint PRIMARY KEY, doc_id int, chunk text);
	INSERT INTO cb SELECT substr(id, 2)::bigint, doc_id, chunk FROM c;
	CREATE INDEX ON cb USING bm25 (chunk);
});

# the fused order without reranking, and the same call with rerank_k 8, k 12
my $fused = qq{SELECT array_agg(id ORDER BY o) FROM hybrid_search('c', '$q', '[1,0.5,0]'::vector, NULL::text,
	k => 40, pool => 40) WITH ORDINALITY AS h(id, score, vr, tr, vd, ts, p, rs, o)};
my $reranked = qq{hybrid_search('c', '$q', '[1,0.5,0]'::vector, NULL::text, k => 12, pool => 40,
	rerank_model => 'tiny-ce', rerank_k => 8)};
$node->safe_psql('postgres', qq{
	CREATE TABLE fused AS SELECT ($fused) AS ids;
	CREATE TABLE got AS SELECT o, id, rerank_score FROM $reranked
		WITH ORDINALITY AS h(id, score, vr, tr, vd, ts, p, rerank_score, o);
	-- what the cross-encoder says about the 8 best fused candidates, one call
	CREATE TABLE want AS
	SELECT s.id, s.score FROM (SELECT f.ids[1:8] AS ids,
	                                  ARRAY(SELECT c.chunk FROM unnest(f.ids[1:8]) WITH ORDINALITY u(id, n)
	                                        JOIN c USING (id) ORDER BY u.n) AS docs FROM fused f) a,
	     unnest(a.ids, rerank('$q', a.docs, 'tiny-ce')) AS s(id, score);
});
cmp_ok($node->safe_psql('postgres', 'SELECT cardinality(ids) FROM fused'), '>=', 20,
	'enough fused candidates');
is($node->safe_psql('postgres', 'SELECT count(*) FROM got'), '12', 'k rows returned');
is($node->safe_psql('postgres', q{
	SELECT string_agg(id, ' ' ORDER BY o) FROM got WHERE o <= 8}),
	$node->safe_psql('postgres', q{SELECT string_agg(id, ' ' ORDER BY score DESC, id) FROM want}),
	'the rerank_k best fused candidates come first, in the order of the cross-encoder scores');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM got JOIN want USING (id) WHERE abs(got.rerank_score - want.score) < 1e-6}),
	'8', 'rerank_score is the cross-encoder score');
isnt($node->safe_psql('postgres', q{SELECT string_agg(id, ' ' ORDER BY o) FROM got WHERE o <= 8}),
	$node->safe_psql('postgres', q{SELECT array_to_string(ids[1:8], ' ') FROM fused}),
	'the cross-encoder changes the order (the test is not vacuous)');
is($node->safe_psql('postgres', q{
	SELECT string_agg(id || ':' || (rerank_score IS NULL), ' ' ORDER BY o) FROM got WHERE o > 8}),
	$node->safe_psql('postgres', q{
	SELECT string_agg(u || ':true', ' ' ORDER BY n) FROM fused, unnest(ids[9:12]) WITH ORDINALITY x(u, n)}),
	'rows after rerank_k keep the fused order, without a rerank score');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM hybrid_search('c', '$q', '[1,0.5,0]'::vector, NULL::text, k => 12, pool => 40)
	WHERE rerank_score IS NOT NULL}), '0', 'without rerank_model: no rerank score');

# retrieve(): text mode, reranks greatest(k, rerank_k) = 8 candidates and
# reports the cross-encoder's score; bigint keys through the plain form
$node->safe_psql('postgres', qq{
	CREATE TABLE tfused AS SELECT array_agg(id ORDER BY text_rank) AS ids
	FROM hybrid_search('cb', '$q', NULL::vector, k => 8, pool => 100, vector_weight => 0);
	CREATE TABLE twant AS
	SELECT s.id, s.score FROM (SELECT f.ids AS ids,
	                                  ARRAY(SELECT cb.chunk FROM unnest(f.ids) WITH ORDINALITY u(id, n)
	                                        JOIN cb USING (id) ORDER BY u.n) AS docs FROM tfused f) a,
	     unnest(a.ids, rerank('$q', a.docs, 'tiny-ce')) AS s(id, score);
});
is($node->safe_psql('postgres', qq{
	SELECT string_agg(rank || ':' || id || ':' || round(score::numeric, 5), ' ' ORDER BY rank)
	FROM retrieve('cb', '$q', k => 5, mode => 'text', rerank_model => 'tiny-ce', rerank_k => 8)}),
	$node->safe_psql('postgres', q{
	SELECT string_agg(n || ':' || id || ':' || round(score::numeric, 5), ' ' ORDER BY n)
	FROM (SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS n FROM twant) x WHERE n <= 5}),
	'retrieve() with rerank_model: top k of the reranked candidates, with the cross-encoder score');
like($node->safe_psql('postgres', qq{
	SELECT retrieve_prompt('cb', '$q', k => 2, mode => 'text', rerank_model => 'tiny-ce')}),
	qr/^\[1\] \(document \d+, score -?\d+\.\d+\)$/m, 'retrieve_prompt() with rerank_model');

# errors
my ($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT * FROM hybrid_search('c', '$q', '[1,0.5,0]'::vector, NULL::text, rerank_model => 'no-such-ce')});
like($err, qr/ERROR:  model "no-such-ce" does not exist.*HINT:  Model folders are looked up in semvec\.model_path/s,
	'a missing rerank model: clear error');
($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT * FROM hybrid_search('c', 'zebra', NULL::vector, NULL::text, rerank_model => 'no-such-ce')});
like($err, qr/model "no-such-ce" does not exist/, 'a missing rerank model is reported without candidates too');
($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT * FROM retrieve('cb', '$q', mode => 'text', rerank_model => 'no-such-ce')});
like($err, qr/model "no-such-ce" does not exist/, 'retrieve(): a missing rerank model');
($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT * FROM hybrid_search('cb', '$q', NULL::vector, rerank_model => 'default')});
like($err, qr/model "default" is not a cross-encoder/, 'an embedding model as rerank model: clear error');
($ret, $out, $err) = $node->psql('postgres', qq{
	SELECT * FROM hybrid_search('cb', '$q', NULL::vector, rerank_model => 'tiny-ce', rerank_k => 0)});
like($err, qr/rerank_k must be positive/, 'rerank_k must be positive');

$node->stop;
done_testing();
