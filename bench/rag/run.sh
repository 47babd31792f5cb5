#!/bin/bash
# bench/rag: the whole RAG pipeline on BEIR SciFact, all through SQL, in one run.
#
#   bench/rag/run.sh [--workers N] [--limit-docs N] [--keep]
#
# --keep leaves the cluster running afterwards (for experiments); it prints
# how to connect.
# Needs semvec installed for $PGBIN (default: pg_config --bindir; a private
# copy from tools/devinstall.sh works) and the data in ../shared/data/scifact
# relative to the repository root (skips with a message when absent).
# Starts a throwaway cluster (Unix socket in a temp dir), then:
#   1. ingest: load 5,183 docs, chunk(title || text), embed_table() in N
#      parallel sessions, hnsw + GIN index; docs/s and chunks/s per stage
#   2. batched embed(text[]) vs one-at-a-time embed(text) on the same chunks
#   3. nDCG@10 and Recall@100 over the 300 test queries for vector only,
#      full text only and hybrid RRF (document score = best chunk score)
#   4. hybrid nDCG@10 with the vector side's RRF weight chosen by 2-fold
#      cross-validation over the queries
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
data=${SCIFACT_DIR:-$here/../shared/data/scifact}
workers=$(nproc 2>/dev/null || echo 2)
limit=0
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
		--workers) workers=$2; shift ;;
		--limit-docs) limit=$2; shift ;;
		--keep) keep=1 ;;
		*) echo "usage: $0 [--workers N] [--limit-docs N] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
if [ ! -f "$data/corpus.tsv" ]; then
	echo "SKIP: BEIR SciFact not found in $data (see ../shared/data/README.md)"
	exit 0
fi
PGBIN=${PGBIN:-$(pg_config --bindir)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/semvec-bench-rag.XXXXXX)
chmod 777 "$work"
port=$((20000 + RANDOM % 20000))
if [ "$keep" = 1 ]; then
	trap 'echo "cluster kept: $PGBIN/psql -h $work -p $port postgres"' EXIT
else
	trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
as_pg "$PGBIN/initdb" -D "$work/data" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1
as_pg "$PGBIN/pg_ctl" -D "$work/data" -w -l "$work/log" \
	-o "-p $port -k $work -c listen_addresses='' -c shared_buffers=256MB -c maintenance_work_mem=512MB" start >/dev/null
# the data files may not be readable by postgres: stream them through psql
psql() { as_pg "$PGBIN/psql" -h "$work" -p "$port" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

psql -c "CREATE EXTENSION semvec"
echo "bench/rag: BEIR SciFact, $workers embedding sessions, $(nproc) CPUs, model default ($(psql -At -c "SELECT architecture || ', ' || dims || ' dims' FROM semvec_models WHERE name = 'default' AND error IS NULL"))"

# ---- stage 0: load
t0=$(now)
psql -c "CREATE TABLE docs (id bigint PRIMARY KEY, title text, body text)" \
     -c "CREATE TABLE queries (id int PRIMARY KEY, q text)" \
     -c "CREATE TABLE qrels (qid int, doc_id bigint, rel int)"
# no quoting in the files: a quote byte that cannot occur
if [ "$limit" -gt 0 ]; then head -n "$limit" "$data/corpus.tsv"; else cat "$data/corpus.tsv"; fi |
	psql -c "\\copy docs FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')"
psql -c "\\copy queries FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" <"$data/queries.tsv"
psql -c "\\copy qrels FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" <"$data/qrels.tsv"
ndocs=$(psql -At -c "SELECT count(*) FROM docs")
# nDCG@10 of a query's ranked documents (binary relevance), for every mode below
psql <<'SQL'
CREATE FUNCTION ndcg10(q int, ranked bigint[]) RETURNS numeric LANGUAGE sql STABLE AS $$
	SELECT coalesce(sum(1 / log(2, r.i + 1))
	                FILTER (WHERE EXISTS (SELECT FROM qrels g WHERE g.qid = q AND g.doc_id = r.d)), 0)
	       / (SELECT sum(1 / log(2, i + 1))
	          FROM generate_series(1, least(10, (SELECT count(*) FROM qrels g WHERE g.qid = q))) i)
	FROM unnest(ranked[1:10]) WITH ORDINALITY AS r(d, i) $$;
SQL

# ---- stage 1: chunk
t1=$(now)
psql <<'SQL'
CREATE TABLE chunks (
	id bigserial PRIMARY KEY, doc_id bigint NOT NULL, ord int, chunk text NOT NULL, n_tokens int,
	emb vector(512),
	tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', chunk)) STORED);
INSERT INTO chunks (doc_id, ord, chunk, n_tokens)
SELECT d.id, c.ord, c.chunk, c.n_tokens
FROM docs d, LATERAL chunk(d.title || E'\n\n' || d.body) c ORDER BY d.id, c.ord;
SQL
t2=$(now)
nchunks=$(psql -At -c "SELECT count(*) FROM chunks")

# ---- stage 2: embed (parallel sessions share the work via SKIP LOCKED)
pids=()
for _ in $(seq "$workers"); do
	psql -c "CALL embed_table('chunks', batch => 32, quiet => true)" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
t3=$(now)

# ---- stage 3: indexes
psql -c "CREATE INDEX ON chunks USING hnsw (emb vector_cosine_ops)"
t4=$(now)
psql -c "CREATE INDEX ON chunks USING gin (tsv)" -c "ANALYZE"
t5=$(now)

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / (s > 0 ? s : 1e-9) }'; }
printf '\n%-34s %9s %10s %11s\n' "ingest stage" "seconds" "docs/s" "chunks/s"
printf '%-34s %9s %10s %11s\n' "load (COPY)" "$(secs "$t0" "$t1")" "$(rate "$ndocs" "$(secs "$t0" "$t1")")" "-"
printf '%-34s %9s %10s %11s\n' "chunk() -> $nchunks chunks" "$(secs "$t1" "$t2")" "$(rate "$ndocs" "$(secs "$t1" "$t2")")" "$(rate "$nchunks" "$(secs "$t1" "$t2")")"
printf '%-34s %9s %10s %11s\n' "embed_table() x $workers sessions" "$(secs "$t2" "$t3")" "$(rate "$ndocs" "$(secs "$t2" "$t3")")" "$(rate "$nchunks" "$(secs "$t2" "$t3")")"
printf '%-34s %9s %10s %11s\n' "hnsw index" "$(secs "$t3" "$t4")" "$(rate "$ndocs" "$(secs "$t3" "$t4")")" "$(rate "$nchunks" "$(secs "$t3" "$t4")")"
printf '%-34s %9s %10s %11s\n' "GIN index + ANALYZE" "$(secs "$t4" "$t5")" "-" "-"
printf '%-34s %9s %10s %11s\n' "total ingest" "$(secs "$t0" "$t5")" "$(rate "$ndocs" "$(secs "$t0" "$t5")")" "$(rate "$nchunks" "$(secs "$t0" "$t5")")"

# ---- batched vs one at a time, same 256 chunks, one session
psql <<'SQL'
CREATE TEMP TABLE s AS SELECT chunk FROM chunks ORDER BY id LIMIT 256;
SELECT clock_timestamp() AS t \gset one_
SELECT sum(vector_dims(embed(chunk))) FROM s \g /dev/null
SELECT clock_timestamp() AS t \gset batch_
SELECT sum(vector_dims(e)) FROM (SELECT unnest(embed(array_agg(chunk))) AS e FROM s) x \g /dev/null
SELECT clock_timestamp() AS t \gset end_
SELECT format(E'\n%-34s %9s %11s\n%-34s %9s %11s\n%-34s %9s %11s\n%-34s %9sx',
  'embedding 256 chunks, 1 session', 'seconds', 'chunks/s',
  'one at a time: embed(text)', round(extract(epoch FROM :'batch_t'::timestamptz - :'one_t'::timestamptz), 2),
      round(256 / extract(epoch FROM :'batch_t'::timestamptz - :'one_t'::timestamptz), 1),
  'batched: embed(text[])', round(extract(epoch FROM :'end_t'::timestamptz - :'batch_t'::timestamptz), 2),
      round(256 / extract(epoch FROM :'end_t'::timestamptz - :'batch_t'::timestamptz), 1),
  'speed-up batched / one at a time',
      round(extract(epoch FROM :'batch_t'::timestamptz - :'one_t'::timestamptz) /
            extract(epoch FROM :'end_t'::timestamptz - :'batch_t'::timestamptz), 2)) AS line \gset
\echo :line
SQL

# ---- retrieval quality: 300 queries x 3 modes, all in SQL
psql <<'SQL'
CREATE TEMP TABLE runs (mode text, qid int, doc_id bigint, rank int);
CREATE FUNCTION pg_temp.run(mode text, vw float8, tw float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
	FOR r IN SELECT id, q FROM queries WHERE id IN (SELECT qid FROM qrels) ORDER BY id LOOP
		INSERT INTO runs
		SELECT mode, r.id, doc_id, row_number() OVER (ORDER BY s DESC, doc_id)
		FROM (SELECT c.doc_id, max(CASE mode WHEN 'vector' THEN 1 - h.vector_distance
		                                      WHEN 'text' THEN h.text_score ELSE h.score END) AS s
		      FROM hybrid_search('chunks', r.q, k => 400, pool => 400, vector_weight => vw, fusion => 'rrf',
		                         text_weight => tw, tsv_col => 'tsv') h
		      JOIN chunks c ON c.id = h.id GROUP BY c.doc_id) d
		ORDER BY s DESC, doc_id LIMIT 100;
	END LOOP;
END $$;
SELECT clock_timestamp() AS t \gset v_
SELECT pg_temp.run('vector', 1, 0) \g /dev/null
SELECT clock_timestamp() AS t \gset t_
SELECT pg_temp.run('text', 0, 1) \g /dev/null
SELECT clock_timestamp() AS t \gset h_
SELECT pg_temp.run('hybrid', 1, 1) \g /dev/null
SELECT clock_timestamp() AS t \gset e_
CREATE TEMP TABLE secs AS SELECT * FROM (VALUES
	('vector', extract(epoch FROM :'t_t'::timestamptz - :'v_t'::timestamptz)),
	('text', extract(epoch FROM :'h_t'::timestamptz - :'t_t'::timestamptz)),
	('hybrid', extract(epoch FROM :'e_t'::timestamptz - :'h_t'::timestamptz))) v(mode, s);
\echo
\echo 'retrieval over 300 SciFact test queries (document = best chunk; text = idf-weighted ts_rank; BEIR BM25 reference: nDCG@10 0.665)'
WITH m AS (SELECT DISTINCT mode FROM runs),
q AS (SELECT DISTINCT qid FROM qrels),
per_q AS (
	SELECT m.mode, q.qid,
	       ndcg10(q.qid, ARRAY(SELECT doc_id FROM runs r WHERE r.mode = m.mode AND r.qid = q.qid ORDER BY rank)) AS ndcg,
	       (SELECT count(*) FROM runs r JOIN qrels g ON g.qid = r.qid AND g.doc_id = r.doc_id
	         WHERE r.mode = m.mode AND r.qid = q.qid AND r.rank <= 100)::float8
	         / (SELECT count(*) FROM qrels g WHERE g.qid = q.qid) AS recall
	FROM m CROSS JOIN q)
SELECT p.mode, round(avg(ndcg), 4) AS "nDCG@10", round(avg(recall)::numeric, 4) AS "Recall@100",
       round((300 / s.s)::numeric, 1) AS "queries/s"
FROM per_q p JOIN secs s USING (mode) GROUP BY p.mode, s.s
ORDER BY array_position(ARRAY['vector', 'text', 'hybrid'], p.mode);
SQL

# ---- how much weight the vector side deserves, judged fairly: the RRF
# weight of the vector ranks (text weight 1) is chosen on one half of the
# queries and scored on the other half, both ways (2-fold cross-validation);
# choosing it on all 300 test queries would report an optimistic number
psql <<'SQL'
CREATE TEMP TABLE hs AS
SELECT q.id AS qid, c.doc_id, h.vector_rank, h.text_rank
FROM queries q, LATERAL hybrid_search('chunks', q.q, k => 800, pool => 400, tsv_col => 'tsv') h
JOIN chunks c ON c.id = h.id
WHERE q.id IN (SELECT qid FROM qrels);
CREATE TEMP TABLE perq AS
WITH w AS (SELECT unnest('{0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1}'::float8[]) AS w),
doc AS (SELECT w.w, h.qid, h.doc_id,
               max(coalesce(w.w / (60 + h.vector_rank), 0) + coalesce(1.0 / (60 + h.text_rank), 0)) AS s
        FROM hs h, w GROUP BY 1, 2, 3),
ranked AS (SELECT w, qid, array_agg(doc_id ORDER BY s DESC, doc_id) AS docs FROM doc GROUP BY 1, 2)
SELECT r.w, q.qid, hashint4(q.qid) & 1 AS fold, ndcg10(q.qid, r.docs) AS ndcg
FROM (SELECT DISTINCT qid FROM qrels) q JOIN ranked r ON r.qid = q.qid;
\echo
\echo 'hybrid with the vector weight chosen by 2-fold cross-validation (text weight 1; weight 0 = text only)'
WITH mean AS (SELECT fold, w, avg(ndcg) AS a FROM perq GROUP BY 1, 2),
best AS (SELECT DISTINCT ON (fold) fold, w FROM mean ORDER BY fold, a DESC, w)
SELECT 'half ' || (1 - b.fold) AS "scored on", b.w AS "weight chosen on the other half",
       round(avg(p.ndcg)::numeric, 4) AS "hybrid nDCG@10",
       round(avg(t.ndcg)::numeric, 4) AS "text only nDCG@10", count(*) AS queries
FROM best b JOIN perq p ON p.fold <> b.fold AND p.w = b.w
JOIN perq t ON t.qid = p.qid AND t.w = 0
GROUP BY b.fold, b.w
UNION ALL
SELECT 'all (pooled)', NULL, round(avg(p.ndcg)::numeric, 4), round(avg(t.ndcg)::numeric, 4), count(*)
FROM best b JOIN perq p ON p.fold <> b.fold AND p.w = b.w
JOIN perq t ON t.qid = p.qid AND t.w = 0
ORDER BY 1;
SQL
