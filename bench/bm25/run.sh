#!/bin/bash
# bench/bm25: the bm25 index and hybrid_search() through SQL, each figure
# next to a baseline measured in the same run, on BEIR SciFact.
#
#   PGBIN=... bench/bm25/run.sh [--skip-1m] [--skip-hybrid] [--skip-x40] [--slow-queries N] [--keep]
#
# Needs semvec installed for $PGBIN (default: pg_config --bindir; a private
# copy from tools/devinstall.sh works) and BEIR SciFact in ../shared/data/scifact
# relative to the repository root (SCIFACT_DIR overrides; skipped with a
# message when absent).  Document embeddings (default model) are cached in
# $SEMVEC_CACHE_DIR (default /tmp/semvec-cache), never in the repository:
# embedding the 5,183 abstracts takes minutes on 2 cores.
#
# Stages (all through SQL, in one throwaway cluster):
#   1. quality: BM25 alone (bm25 index) on the 300 test queries, nDCG@10 and
#      Recall@100, against the previous text ranking (idf-weighted ts_rank,
#      hybrid_search's text side before the bm25 index) and BEIR's published
#      BM25 (0.665, reference only)
#   2. SciFact x40 (207,320 rows): bm25 build time and size against GIN on
#      to_tsvector('english', doc) (the same column); top-10 latency through
#      SQL against ts_rank_cd with GIN and the previous hybrid_search() text
#      side (tsvector column + GIN), interleaved query by query
#   3. insert rate into the x40 table's bm25 index against GIN's (fastupdate)
#   4. SciFact x200 (1,036,600 rows): build and top-10 latency (--skip-1m)
#   5. hybrid (--skip-hybrid): nDCG@10 of text only, vector only, the default
#      fusion and RRF 1:1 on the test queries (reported once); end-to-end
#      hybrid_search() latency over the x40 table (embed + hnsw + bm25 + fusion)
#   --skip-x40 skips stages 2-4 and the latency part of 5 (quality only: a few
#   minutes instead of an hour on a loaded 2-core machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh
here=$PWD
data=${SCIFACT_DIR:-$here/../shared/data/scifact}
cache=${SEMVEC_CACHE_DIR:-/tmp/semvec-cache}
skip1m=0
skiphybrid=0
skipx40=0
slowq=30
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
		--skip-1m) skip1m=1 ;;
		--skip-hybrid) skiphybrid=1 ;;
		--skip-x40) skipx40=1; skip1m=1 ;;
		--slow-queries) slowq=$2; shift ;;
		--keep) keep=1 ;;
		*) echo "usage: $0 [--skip-1m] [--skip-hybrid] [--skip-x40] [--slow-queries N] [--keep]" >&2; exit 2 ;;
	esac
	shift
done
if [ ! -f "$data/corpus.tsv" ]; then
	echo "SKIP: BEIR SciFact not found in $data (see ../shared/data/README.md)"
	exit 0
fi

work=$(scratch_dir bench-bm25)
port=${BENCH_PORT:-$((20000 + RANDOM % 20000))}
bench_server "$PGBIN" "$work" "$port" "shared_buffers = '1GB'" "maintenance_work_mem = '1GB'" \
	"max_wal_size = '8GB'" "checkpoint_timeout = '30min'" "jit = off" \
	"max_parallel_maintenance_workers = 2" "work_mem = '64MB'"
if [ "$keep" = 1 ]; then
	trap 'echo "cluster kept: $PGBIN/psql -h $work -p $port postgres"' EXIT
else
	trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
psql() { as_pg "$PGBIN/psql" -h "$work" -p "$port" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
load() { echo "    load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
# CPU time (ms, from /proc) that one backend spends running SQL, after a
# first untimed run: on a shared machine wall-clock latency mostly measures
# the other jobs, CPU time does not
cpu_ms() {
	local sql=$1 pid t0 t1 x
	coproc CPUP { as_pg "$PGBIN/psql" -h "$work" -p "$port" -X -q -At -v ON_ERROR_STOP=1 -d postgres 2>&1; }
	echo "SELECT pg_backend_pid();" >&"${CPUP[1]}"
	read -r pid <&"${CPUP[0]}"
	echo "$sql; SELECT 'done';" >&"${CPUP[1]}"
	while read -r x <&"${CPUP[0]}" && [ "$x" != done ]; do :; done
	t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	echo "$sql; SELECT 'done';" >&"${CPUP[1]}"
	while read -r x <&"${CPUP[0]}" && [ "$x" != done ]; do :; done
	t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	echo '\q' >&"${CPUP[1]}"
	wait "$CPUP_PID" 2>/dev/null || true
	echo $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) ))
}

echo "bench/bm25: BEIR SciFact, $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
load

# ---------------------------------------------------------------- data
psql -c "CREATE TABLE docs (id bigint PRIMARY KEY, title text, body text)" \
     -c "CREATE TABLE queries (id int PRIMARY KEY, q text)" \
     -c "CREATE TABLE qrels (qid int, doc_id bigint, rel int)"
# no quoting in the files: a quote byte that cannot occur
psql -c "\\copy docs FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" <"$data/corpus.tsv"
psql -c "\\copy queries FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" <"$data/queries.tsv"
psql -c "\\copy qrels FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" <"$data/qrels.tsv"
psql <<'SQL'
ALTER TABLE docs ADD COLUMN doc text;
UPDATE docs SET doc = title || ' ' || body;
DELETE FROM queries WHERE id NOT IN (SELECT qid FROM qrels);
VACUUM ANALYZE docs, queries, qrels;
-- nDCG@10 of a query's ranked documents (binary relevance)
CREATE FUNCTION ndcg10(q int, ranked bigint[]) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT coalesce(sum(1 / log(2, r.i + 1))
	                FILTER (WHERE EXISTS (SELECT FROM qrels g WHERE g.qid = q AND g.doc_id = r.d)), 0)::float8
	       / (SELECT sum(1 / log(2, i + 1))
	          FROM generate_series(1, least(10, (SELECT count(*) FROM qrels g WHERE g.qid = q))) i)
	FROM unnest(ranked[1:10]) WITH ORDINALITY AS r(d, i) $$;
CREATE FUNCTION recall100(q int, ranked bigint[]) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT count(*)::float8 / (SELECT count(*) FROM qrels g WHERE g.qid = q)
	FROM unnest(ranked[1:100]) AS r(d) WHERE EXISTS (SELECT FROM qrels g WHERE g.qid = q AND g.doc_id = r.d) $$;
-- median and 90th percentile of a set of latencies
CREATE TABLE lat (what text, qid int, ms float8);
SQL

# ---------------------------------------------------------------- 1. quality
echo
echo "1. BM25 alone on SciFact test (300 queries, 5,183 abstracts: title + text), through SQL"
psql <<'SQL'
CREATE INDEX docs_bm25 ON docs USING bm25 (doc);
-- the previous text ranking's setup: a stored tsvector with GIN
ALTER TABLE docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', doc)) STORED;
CREATE INDEX docs_gin ON docs USING gin (tsv);
VACUUM ANALYZE docs;
CREATE TEMP TABLE runs AS
SELECT 'bm25 index (ORDER BY doc <@> q LIMIT 100)' AS what, q.id AS qid,
       ARRAY(SELECT id FROM docs ORDER BY doc <@> q.q LIMIT 100) AS ranked
FROM queries q;
INSERT INTO runs
SELECT 'previous text ranking (idf-weighted ts_rank, GIN)', q.id,
       ARRAY(SELECT h.id FROM hybrid_search('docs', q.q, NULL::vector, k => 100, pool => 100,
                 text_col => 'doc', tsv_col => 'tsv', ranking => 'idf', vector_weight => 0) h ORDER BY h.text_rank)
FROM queries q;
SELECT what AS "ranking", round(avg(ndcg10(qid, ranked))::numeric, 4) AS "nDCG@10",
       round(avg(recall100(qid, ranked))::numeric, 4) AS "Recall@100"
FROM runs GROUP BY what ORDER BY 2 DESC;
\echo 'reference: BEIR''s published BM25 (Elasticsearch) nDCG@10 0.665'
-- exactness: the index's top 10 against every row scored by the operator
-- (a sequential scan and a sort), for the first 50 queries
SET enable_indexscan = off;
CREATE TEMP TABLE exhaustive AS
SELECT q.id AS qid, ARRAY(SELECT id FROM (SELECT id, ctid, doc <@> q.q AS s FROM docs ORDER BY 3, 2 LIMIT 10) t
                          WHERE s < 0) AS ranked
FROM (SELECT * FROM queries ORDER BY id LIMIT 50) q;
RESET enable_indexscan;
SELECT format('exactness: top 10 of the index = exhaustive scoring for %s of %s queries',
              count(*) FILTER (WHERE e.ranked = r.ranked[1:10]), count(*))
FROM exhaustive e JOIN runs r USING (qid) WHERE r.what LIKE 'bm25%' \gset
\echo :format
SQL

# ---------------------------------------------------------------- 2. x40
if [ "$skipx40" = 0 ]; then
echo
echo "2. SciFact x40: builds and top-10 latency"
psql <<'SQL'
CREATE TABLE big AS
SELECT (c::bigint * 100000000 + d.id) AS id, d.doc FROM docs d, generate_series(0, 39) c ORDER BY c, d.id;
ALTER TABLE big ADD PRIMARY KEY (id);
VACUUM ANALYZE big;
CHECKPOINT;
SELECT clock_timestamp() AS t \gset b0_
CREATE INDEX big_bm25 ON big USING bm25 (doc);
SELECT clock_timestamp() AS t \gset b1_
CREATE INDEX big_gin_expr ON big USING gin (to_tsvector('english', doc));
SELECT clock_timestamp() AS t \gset b2_
CHECKPOINT;
-- the setup of the previous hybrid_search() text side: a stored tsvector with GIN
ALTER TABLE big ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', doc)) STORED;
SELECT clock_timestamp() AS t \gset b3_
CREATE INDEX big_gin_tsv ON big USING gin (tsv);
SELECT clock_timestamp() AS t \gset b4_
VACUUM ANALYZE big;
SELECT format(E'%-46s %9s %9s\n%-46s %9s %9s\n%-46s %9s %9s\n%-46s %9s %9s\n%-46s %9sx %8sx',
  (SELECT format('%s rows', count(*)) FROM big), 'seconds', 'MB',
  'bm25 index on doc', round(extract(epoch FROM :'b1_t'::timestamptz - :'b0_t'::timestamptz)::numeric, 1),
      round(pg_relation_size('big_bm25') / 1048576.0, 1),
  'GIN on to_tsvector(''english'', doc)', round(extract(epoch FROM :'b2_t'::timestamptz - :'b1_t'::timestamptz)::numeric, 1),
      round(pg_relation_size('big_gin_expr') / 1048576.0, 1),
  'GIN on a stored tsvector column (column: +' || round(extract(epoch FROM :'b3_t'::timestamptz - :'b2_t'::timestamptz)::numeric, 1) || ' s)',
      round(extract(epoch FROM :'b4_t'::timestamptz - :'b3_t'::timestamptz)::numeric, 1),
      round(pg_relation_size('big_gin_tsv') / 1048576.0, 1),
  'bm25 / GIN on the same column (time, size)',
      round((extract(epoch FROM :'b1_t'::timestamptz - :'b0_t'::timestamptz)
             / extract(epoch FROM :'b2_t'::timestamptz - :'b1_t'::timestamptz))::numeric, 2),
      round(pg_relation_size('big_bm25')::numeric / pg_relation_size('big_gin_expr'), 2)) AS line \gset
\echo :line
SQL
load

psql -v slowq="$slowq" <<'SQL'
-- Three top-10 rankings, query by query, interleaved; each query is run
-- once untimed first so that every method sees warm caches
CREATE FUNCTION bench_topk(nslow int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
	t0 timestamptz;
	ids bigint[];
	tsq tsquery;
	n int := 0;
BEGIN
	FOR r IN SELECT id, q FROM queries ORDER BY id LOOP
		n := n + 1;
		ids := ARRAY(SELECT id FROM big ORDER BY doc <@> r.q LIMIT 10);
		t0 := clock_timestamp();
		ids := ARRAY(SELECT id FROM big ORDER BY doc <@> r.q LIMIT 10);
		INSERT INTO lat VALUES ('bm25 index', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
		CONTINUE WHEN n > nslow;
		-- ts_rank_cd over the question's lexemes (OR), GIN on the tsvector column
		SELECT string_agg(quote_literal(l), ' | ')::tsquery INTO tsq
		FROM unnest(tsvector_to_array(to_tsvector('english', r.q))) AS l;
		ids := ARRAY(SELECT id FROM big WHERE tsv @@ tsq ORDER BY ts_rank_cd(tsv, tsq) DESC LIMIT 10);
		t0 := clock_timestamp();
		SELECT string_agg(quote_literal(l), ' | ')::tsquery INTO tsq
		FROM unnest(tsvector_to_array(to_tsvector('english', r.q))) AS l;
		ids := ARRAY(SELECT id FROM big WHERE tsv @@ tsq ORDER BY ts_rank_cd(tsv, tsq) DESC LIMIT 10);
		INSERT INTO lat VALUES ('ts_rank_cd, GIN', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
		-- the previous hybrid_search() text side: idf-weighted ts_rank, GIN
		t0 := clock_timestamp();
		ids := ARRAY(SELECT h.id FROM hybrid_search('big', r.q, NULL::vector, k => 10, pool => 10,
		             text_col => 'doc', tsv_col => 'tsv', ranking => 'idf', vector_weight => 0) h);
		INSERT INTO lat VALUES ('previous hybrid_search() text side', r.id,
		                        extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END $$;
SELECT bench_topk(:slowq);
\echo
\echo 'top-10 through SQL over 207,320 rows (bm25: all 300 test queries; the others: the first queries of the same list)'
WITH s AS (SELECT what, count(*) AS n,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) AS p90
           FROM lat GROUP BY what),
same AS (SELECT l.what, percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms) AS p50
         FROM lat l WHERE l.qid IN (SELECT qid FROM lat WHERE what = 'ts_rank_cd, GIN') GROUP BY l.what)
SELECT s.what AS "method", s.n AS queries, round(s.p50::numeric, 2) AS "p50 ms", round(s.p90::numeric, 2) AS "p90 ms",
       round((same.p50 / (SELECT p50 FROM same WHERE what = 'bm25 index'))::numeric, 1) AS "p50 / bm25 p50 (same queries)"
FROM s JOIN same USING (what) ORDER BY s.p50;
SQL
# the same queries one method at a time, CPU time of the backend
q_bm25="SELECT count(*) FROM (SELECT ARRAY(SELECT id FROM big ORDER BY doc <@> q.q LIMIT 10) a FROM queries q) s WHERE a IS NOT NULL"
q_bm25_slow="SELECT count(*) FROM (SELECT ARRAY(SELECT id FROM big ORDER BY doc <@> q.q LIMIT 10) a FROM (SELECT * FROM queries ORDER BY id LIMIT $slowq) q) s WHERE a IS NOT NULL"
q_cd="SELECT count(*) FROM (SELECT ARRAY(SELECT id FROM big, (SELECT string_agg(quote_literal(l), ' | ')::tsquery AS tq FROM unnest(tsvector_to_array(to_tsvector('english', q.q))) l) t WHERE tsv @@ t.tq ORDER BY ts_rank_cd(tsv, t.tq) DESC LIMIT 10) a FROM (SELECT * FROM queries ORDER BY id LIMIT $slowq) q) s WHERE a IS NOT NULL"
q_old="SELECT count(*) FROM (SELECT ARRAY(SELECT h.id FROM hybrid_search('big', q.q, NULL::vector, k => 10, pool => 10, text_col => 'doc', tsv_col => 'tsv', ranking => 'idf', vector_weight => 0) h) a FROM (SELECT * FROM queries ORDER BY id LIMIT $slowq) q) s WHERE a IS NOT NULL"
c_bm25=$(cpu_ms "$q_bm25")
c_bm25s=$(cpu_ms "$q_bm25_slow")
c_cd=$(cpu_ms "$q_cd")
c_old=$(cpu_ms "$q_old")
awk -v b="$c_bm25" -v bs="$c_bm25s" -v c="$c_cd" -v o="$c_old" -v n="$slowq" 'BEGIN {
	printf "\nCPU time of the backend per query (the same top-10 queries, one method at a time)\n"
	printf "%-40s %12s %14s\n", "method", "ms / query", "/ bm25 (same)"
	printf "%-40s %12.2f %14s\n", "bm25 index (300 queries)", b / 300, "-"
	printf "%-40s %12.2f %14s\n", "bm25 index (first " n ")", bs / n, "1.0"
	printf "%-40s %12.2f %14.1f\n", "ts_rank_cd, GIN (first " n ")", c / n, c / (bs > 0 ? bs : 1)
	printf "%-40s %12.2f %14.1f\n", "previous hybrid text side (first " n ")", o / n, o / (bs > 0 ? bs : 1)
}'
load

# ---------------------------------------------------------------- 3. inserts
echo
echo "3. Insert rate (20,000 rows, one INSERT per row, into a 207,320-row table)"
psql <<'SQL'
CREATE TABLE ins_bm25 (id bigint, doc text);
INSERT INTO ins_bm25 SELECT id, doc FROM big;
CREATE INDEX ON ins_bm25 USING bm25 (doc);
CREATE TABLE ins_gin (id bigint, doc text);
INSERT INTO ins_gin SELECT id, doc FROM big;
CREATE INDEX ON ins_gin USING gin (to_tsvector('english', doc));
CREATE TABLE ins_none (id bigint, doc text);
INSERT INTO ins_none SELECT id, doc FROM big;
CHECKPOINT;
CREATE PROCEDURE ins(tbl text, n int) LANGUAGE plpgsql AS $$
DECLARE r record; i int := 0;
BEGIN
	FOR r IN SELECT id + 4000000000 AS id, doc FROM big ORDER BY id LIMIT n LOOP
		EXECUTE format('INSERT INTO %I VALUES ($1, $2)', tbl) USING r.id, r.doc;
		i := i + 1;
		IF i % 1000 = 0 THEN COMMIT; END IF;
	END LOOP;
END $$;
SELECT clock_timestamp() AS t \gset i0_
CALL ins('ins_none', 20000);
SELECT clock_timestamp() AS t \gset i1_
CALL ins('ins_bm25', 20000);
SELECT clock_timestamp() AS t \gset i2_
CALL ins('ins_gin', 20000);
SELECT clock_timestamp() AS t \gset i3_
SELECT format(E'%-40s %9s\n%-40s %9s\n%-40s %9s\n%-40s %9s',
  'table', 'rows/s',
  'no text index', round(20000 / extract(epoch FROM :'i1_t'::timestamptz - :'i0_t'::timestamptz)),
  'bm25 index', round(20000 / extract(epoch FROM :'i2_t'::timestamptz - :'i1_t'::timestamptz)),
  'GIN on to_tsvector (fastupdate)', round(20000 / extract(epoch FROM :'i3_t'::timestamptz - :'i2_t'::timestamptz))) AS line \gset
\echo :line
SELECT format('bm25 after the inserts: %s segments, %s pending documents, bm25_check %s',
              segments, pending_documents, bm25_check('ins_bm25_doc_idx')) FROM bm25_stats('ins_bm25_doc_idx') \gset
\echo :format
DROP TABLE ins_bm25, ins_gin, ins_none;
SQL
load
fi

# ---------------------------------------------------------------- 4. 1M rows
if [ "$skip1m" = 0 ]; then
	echo
	echo "4. SciFact x200: build and top-10 latency"
	psql <<'SQL'
CREATE TABLE huge AS
SELECT (c::bigint * 100000000 + d.id) AS id, d.doc FROM docs d, generate_series(0, 199) c ORDER BY c, d.id;
VACUUM ANALYZE huge;
CHECKPOINT;
SELECT clock_timestamp() AS t \gset h0_
CREATE INDEX huge_bm25 ON huge USING bm25 (doc);
SELECT clock_timestamp() AS t \gset h1_
DELETE FROM lat;
DO $$
DECLARE r record; t0 timestamptz; ids bigint[];
BEGIN
	FOR r IN SELECT id, q FROM queries ORDER BY id LOOP
		ids := ARRAY(SELECT id FROM huge ORDER BY doc <@> r.q LIMIT 10);
		t0 := clock_timestamp();
		ids := ARRAY(SELECT id FROM huge ORDER BY doc <@> r.q LIMIT 10);
		INSERT INTO lat VALUES ('x200', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END $$;
SELECT format('%s rows: bm25 build %s s, %s MB; top-10 p50 %s ms, p90 %s ms (300 queries)',
  (SELECT count(*) FROM huge), round(extract(epoch FROM :'h1_t'::timestamptz - :'h0_t'::timestamptz)::numeric, 1),
  round(pg_relation_size('huge_bm25') / 1048576.0, 1),
  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
  round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 2)) FROM lat \gset
\echo :format
DROP TABLE huge;
SQL
	load
fi

# ---------------------------------------------------------------- 5. hybrid
if [ "$skiphybrid" = 0 ]; then
	echo
	echo "5. hybrid_search(): quality on SciFact test, latency over the x40 table"
	mkdir -p "$cache"
	chmod 777 "$cache" 2>/dev/null || true
	emb="$cache/scifact_docs_emb.tsv"
	psql -c "ALTER TABLE docs ADD COLUMN emb vector(512)"
	if [ -s "$emb" ] && [ "$(wc -l <"$emb")" = "$(psql -At -c 'SELECT count(*) FROM docs')" ]; then
		echo "    document embeddings from the cache ($emb)"
		psql -c "CREATE TEMP TABLE e (id bigint, emb vector(512))" \
		     -c "\\copy e FROM STDIN" -c "UPDATE docs d SET emb = e.emb FROM e WHERE e.id = d.id" <"$emb"
	else
		echo "    embedding 5,183 documents (default model, $(nproc) sessions); cached in $emb"
		t0=$(date +%s)
		pids=()
		for _ in $(seq "$(nproc)"); do
			psql -c "CALL embed_table('docs', text_col => 'doc', emb_col => 'emb', batch => 32, quiet => true)" &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done
		echo "    embedded in $(( $(date +%s) - t0 )) s"
		psql -c "\\copy (SELECT id, emb FROM docs ORDER BY id) TO STDOUT" >"$emb.tmp" && mv "$emb.tmp" "$emb"
	fi
	psql <<'SQL'
ALTER TABLE queries ADD COLUMN qv vector(512);
UPDATE queries SET qv = embed(q);
-- each query once per mode; the default fusion is compared with the better half
CREATE TEMP TABLE hres AS
SELECT q.id AS qid, m.mode,
       ndcg10(q.id, ARRAY(SELECT h.id FROM hybrid_search('docs', q.q, q.qv, k => 10, text_col => 'doc',
                  vector_weight => m.vw, text_weight => m.tw, fusion => m.f) h ORDER BY h.score DESC, h.id)) AS ndcg
FROM queries q, (VALUES ('text only (bm25)', 0.0, 1.0, 'auto'), ('vector only (embed + cosine)', 1.0, 0.0, 'auto'),
                        ('hybrid, default fusion (auto)', 1.0, 1.0, 'auto'), ('hybrid, RRF 1:1', 1.0, 1.0, 'rrf')) m(mode, vw, tw, f);
\echo
\echo 'SciFact test, 300 queries, one row per abstract (title + text; embedding of the first 128 tokens)'
SELECT mode, round(avg(ndcg)::numeric, 4) AS "nDCG@10" FROM hres GROUP BY mode ORDER BY 2 DESC;
WITH best AS (SELECT mode FROM hres WHERE mode IN ('text only (bm25)', 'vector only (embed + cosine)')
              GROUP BY mode ORDER BY avg(ndcg) DESC LIMIT 1)
SELECT 'default fusion - ' || b.mode AS "difference",
       round(avg(a.ndcg - s.ndcg)::numeric, 4) AS "mean", round((stddev(a.ndcg - s.ndcg) / sqrt(count(*)))::numeric, 4) AS "std. error",
       count(*) FILTER (WHERE a.ndcg > s.ndcg) AS "better", count(*) FILTER (WHERE a.ndcg < s.ndcg) AS "worse"
FROM best b, hres a JOIN hres s USING (qid)
WHERE a.mode = 'hybrid, default fusion (auto)' AND s.mode = b.mode GROUP BY b.mode;
SQL
	if [ "$skipx40" = 0 ]; then
	psql <<'SQL'
-- the x40 table gets the embeddings of its originals and an hnsw index
ALTER TABLE big ADD COLUMN emb vector(512);
UPDATE big b SET emb = d.emb FROM docs d WHERE d.id = b.id % 100000000;
VACUUM ANALYZE big;
SELECT clock_timestamp() AS t \gset n0_
CREATE INDEX big_hnsw ON big USING hnsw (emb vector_cosine_ops);
SELECT clock_timestamp() AS t \gset n1_
\echo
SELECT format('x40 table: hnsw index (m 16, ef_construction 64, parallel) built in %s s',
              round(extract(epoch FROM :'n1_t'::timestamptz - :'n0_t'::timestamptz)::numeric, 1)) \gset
\echo :format
DELETE FROM lat;
DO $$
DECLARE r record; t0 timestamptz; ids bigint[]; qv vector;
BEGIN
	FOR r IN SELECT id, q FROM queries ORDER BY id LIMIT 100 LOOP
		ids := ARRAY(SELECT h.id FROM hybrid_search('big', r.q, k => 10, text_col => 'doc') h);
		t0 := clock_timestamp();
		ids := ARRAY(SELECT h.id FROM hybrid_search('big', r.q, k => 10, text_col => 'doc') h);
		INSERT INTO lat VALUES ('hybrid_search(), embed + hnsw + bm25 + fusion', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
		t0 := clock_timestamp();
		qv := embed(r.q);
		INSERT INTO lat VALUES ('  embed(question)', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
		PERFORM set_config('hnsw.ef_search', '100', true);
		t0 := clock_timestamp();
		ids := ARRAY(SELECT id FROM big ORDER BY emb <=> qv LIMIT 100);
		INSERT INTO lat VALUES ('  hnsw top-100 (ef_search 100)', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
		PERFORM set_config('bm25.first_batch', '100', true);
		t0 := clock_timestamp();
		ids := ARRAY(SELECT id FROM big ORDER BY doc <@> r.q LIMIT 100);
		INSERT INTO lat VALUES ('  bm25 top-100', r.id, extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END $$;
\echo 'hybrid_search(''big'', question, k => 10) over 207,320 rows (pool 100), 100 test queries, and its parts measured alone'
SELECT what, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS "p50 ms",
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS "p90 ms"
FROM lat GROUP BY what ORDER BY what DESC;
SQL
	fi
	[ "$skipx40" = 1 ] || c_hyb=$(cpu_ms "SELECT count(*) FROM (SELECT ARRAY(SELECT h.id FROM hybrid_search('big', q.q, k => 10, text_col => 'doc') h) a FROM (SELECT * FROM queries ORDER BY id LIMIT 100) q) s WHERE a IS NOT NULL")
	[ "$skipx40" = 1 ] || echo "CPU time of the backend: $(awk -v c="$c_hyb" 'BEGIN { printf "%.2f", c / 100 }') ms per hybrid_search() (100 queries)"
	load
fi
