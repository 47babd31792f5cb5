#!/bin/bash
# bench/citus: semvec on Citus (a coordinator and two workers) against one
# plain PostgreSQL node, all four servers on this machine, on BEIR SciFact
# cut into 20-token chunks overlapping by 10 tokens (211,799 chunks).
#
#   PGBIN=... bench/citus/run.sh [--shards N] [--port P] [--subset-mod M] [--queries N]
#                                [--limit-docs N] [--vectors FILE] [--keep]
#
#   --shards N      shards of the distributed tables (default 32, Citus's default)
#   --port P        ports P (single node), P+1 (coordinator), P+2, P+3 (workers);
#                   default: a random base
#   --subset-mod M  embedding throughput is compared on the chunks of every
#                   M-th document (default 20: about 10,600 chunks)
#   --queries N     SciFact test queries used for latency and recall (default 300)
#   --limit-docs N  only the first N documents (a quick check of the script)
#   --vectors FILE  reuse the corpus's vectors: loaded from FILE when it exists
#                   (no whole-corpus embedding), else written there after it;
#                   the exact answers are kept in FILE.truth.json likewise
#   --keep          leave the servers running (prints how to connect)
#
# Needs semvec and Citus installed for $PGBIN (tools/devinstall.sh NAME, then
# PGBIN=/tmp/pg-NAME/usr/lib/postgresql/15/bin tools/build_citus.sh), python3
# with psycopg2, and ../shared/data/scifact; skips with a message otherwise.
#
# Stages (each prints its table):
#   1. load and chunk: chunk() on one node vs pushed down to the shards
#   2. embedding: the whole corpus with embed_table on the distributed table
#      (one session per worker), then, on the same subset of chunks and
#      interleaved, one node with 1, 2 and 4 sessions against the workers
#      with 1 and 2 sessions each; rows/s and ratios
#   3. the same vectors copied to the single node; exact top-10 (ground truth)
#      and its latency on both; hnsw builds on both
#   4. top-10 through hnsw at several ef_search: latency (p50/p95) and
#      recall@10 against the exact answer, one node vs distributed, queries
#      interleaved; where the question is embedded; hybrid_search agreement
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh

shards=32
port=$((20000 + RANDOM % 20000))
subset=20
nq=300
limit=0
vectors=
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
		--shards) shards=$2; shift ;;
		--port) port=$2; shift ;;
		--subset-mod) subset=$2; shift ;;
		--queries) nq=$2; shift ;;
		--limit-docs) limit=$2; shift ;;
		--vectors) vectors=$2; shift ;;
		--keep) keep=1 ;;
		*) echo "usage: $0 [--shards N] [--port P] [--subset-mod M] [--queries N] [--limit-docs N] [--vectors FILE] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

data=${SCIFACT_DIR:-$PWD/../shared/data/scifact}
[ -f "$data/corpus.tsv" ] || [ -n "${SCIFACT_DIR:-}" ] || data=/work/shared/data/scifact
if [ ! -f "$data/corpus.tsv" ]; then
	echo "SKIP: BEIR SciFact not found in $data (see ../shared/data/README.md)"
	exit 0
fi
pkglib=$("$PGBIN/pg_config" --pkglibdir)
if [ ! -f "$pkglib/citus.so" ]; then
	echo "SKIP: Citus is not installed in $pkglib (PGBIN=$PGBIN tools/build_citus.sh builds it)"
	exit 0
fi

work=$(scratch_dir bench-citus)
names=(single coordinator worker1 worker2)
ports=($port $((port + 1)) $((port + 2)) $((port + 3)))
stop_all() {
	for n in "${names[@]}"; do
		[ -d "$work/$n" ] && as_pg "$PGBIN/pg_ctl" -D "$work/$n" -m fast -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
if [ "$keep" = 1 ]; then
	trap 'echo "servers kept: $PGBIN/psql -h $work -p PORT postgres (single $port, coordinator $((port + 1)))"' EXIT
else
	trap stop_all EXIT
fi

# One node's memory settings hold its share of the data: the single node
# gets what the two workers get together
for i in 0 1 2 3; do
	n=${names[$i]}
	as_pg "$PGBIN/initdb" -D "$work/$n" -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
	{
		echo "port = ${ports[$i]}"
		echo "unix_socket_directories = '$work'"
		echo "max_wal_size = '4GB'"
		echo "checkpoint_timeout = '30min'"
		echo "max_connections = 100"
		case $n in
		single) echo "shared_buffers = '1GB'"; echo "maintenance_work_mem = '1GB'"; echo "listen_addresses = ''" ;;
		coordinator) echo "shared_buffers = '256MB'" ;;
		*) echo "shared_buffers = '512MB'"; echo "maintenance_work_mem = '512MB'" ;;
		esac
		if [ "$n" != single ]; then
			echo "shared_preload_libraries = 'citus'"
			echo "listen_addresses = '127.0.0.1'"
			echo "citus.local_hostname = '127.0.0.1'"
		fi
	} >>"$work/$n/postgresql.conf"
	as_pg "$PGBIN/pg_ctl" -D "$work/$n" -l "$work/$n.log" -w start >/dev/null
done
psql_n() { local p=$1; shift; as_pg "$PGBIN/psql" -h "$work" -p "$p" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
S() { psql_n "${ports[0]}" "$@"; }
C() { psql_n "${ports[1]}" "$@"; }
for p in "${ports[@]:1}"; do psql_n "$p" -c "CREATE EXTENSION citus"; done
C -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[1]})" \
  -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" \
  -c "SELECT citus_add_node('127.0.0.1', ${ports[3]})" >/dev/null
S -c "CREATE EXTENSION semvec"
C -c "CREATE EXTENSION semvec"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / (s > 0 ? s : 1e-9) }'; }

echo "bench/citus: BEIR SciFact, 20-token chunks (overlap 10); $(nproc) CPUs shared by 4 servers"
echo "  one node: port ${ports[0]}; Citus: coordinator ${ports[1]}, workers ${ports[2]} and ${ports[3]}, $shards shards"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. load and chunk
ddl="CREATE TABLE docs (id bigint PRIMARY KEY, title text, body text);
CREATE TABLE chunks (doc_id bigint NOT NULL, id bigint NOT NULL, ord int NOT NULL, chunk text NOT NULL,
                     n_tokens int, emb vector(512),
                     tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', chunk)) STORED,
                     PRIMARY KEY (doc_id, id));
CREATE TABLE queries (id int PRIMARY KEY, q text NOT NULL);"
S -c "$ddl"
C -c "$ddl" -c "SELECT create_distributed_table('docs', 'id', shard_count => $shards)" \
  -c "SELECT create_distributed_table('chunks', 'doc_id', colocate_with => 'docs')" >/dev/null
for f in S C; do
	if [ "$limit" -gt 0 ]; then head -n "$limit" "$data/corpus.tsv"; else cat "$data/corpus.tsv"; fi |
		$f -c "\\copy docs FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')"
	$f -c "\\copy queries FROM STDIN (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')" <"$data/queries.tsv"
done
# a document's chunks get ids doc_id * 1000 + ord (the same on both sides);
# one node chunks in one session and, to use both CPUs as the shards do, in
# two sessions (half of the documents each); the second run is kept
ingest="INSERT INTO chunks (doc_id, id, ord, chunk, n_tokens)
	SELECT id, id * 1000 + (c).ord, (c).ord, (c).chunk, (c).n_tokens
	FROM (SELECT id, chunk(title || '. ' || body, 20, 10) AS c FROM docs WHERE %s) s"
t0=$(now); S -c "$(printf "$ingest" true)"; t1=$(now)
S -c "TRUNCATE chunks"
t2=$(now)
S -c "$(printf "$ingest" 'id % 2 = 0')" & p1=$!
S -c "$(printf "$ingest" 'id % 2 = 1')" & p2=$!
wait $p1; wait $p2
t3=$(now); C -c "$(printf "$ingest" true)"; t4=$(now)
nchunks=$(S -At -c "SELECT count(*) FROM chunks")
ntok=$(S -At -c "SELECT sum(n_tokens) FROM chunks")
[ "$(S -At -c "SELECT max(ord) < 1000 FROM chunks")" = t ] || { echo "chunk ids overflow"; exit 1; }
[ "$(C -At -c "SELECT count(*) FROM chunks")" = "$nchunks" ] || { echo "chunk counts differ"; exit 1; }
echo
echo "1. chunking $(S -At -c "SELECT count(*) FROM docs") documents into $nchunks chunks ($ntok tokens)"
printf '%-46s %9s %11s\n' "" seconds chunks/s
printf '%-46s %9s %11s\n' "one node: chunk() in one session" "$(secs "$t0" "$t1")" "$(rate "$nchunks" "$(secs "$t0" "$t1")")"
printf '%-46s %9s %11s\n' "one node: two sessions, half the documents each" "$(secs "$t2" "$t3")" "$(rate "$nchunks" "$(secs "$t2" "$t3")")"
printf '%-46s %9s %11s\n' "Citus: pushed down to $shards shards" "$(secs "$t3" "$t4")" "$(rate "$nchunks" "$(secs "$t3" "$t4")")"
printf '%-46s %9s\n' "one node (2 sessions) / Citus, time" "$(ratio "$(secs "$t2" "$t3")" "$(secs "$t3" "$t4")")"

# ---- 2. embedding: the whole corpus on the workers (or, with --vectors FILE
# naming an existing file, the vectors of an earlier run of the same corpus),
# then the same vectors on the single node
load_vectors() {
	local f=$1
	$f -c "CREATE UNLOGGED TABLE e (doc_id bigint, id bigint, emb vector(512))"
	[ "$f" = C ] && C -c "SELECT create_distributed_table('e', 'doc_id', colocate_with => 'chunks')" >/dev/null
	$f -c "\\copy e FROM STDIN (FORMAT binary)"
	$f -c "UPDATE chunks c SET emb = e.emb FROM e WHERE c.doc_id = e.doc_id AND c.id = e.id" -c "DROP TABLE e"
	[ "$($f -At -c "SELECT count(*) FROM chunks WHERE emb IS NULL")" = 0 ] || { echo "vectors not loaded"; exit 1; }
}
full=
if [ -n "$vectors" ] && [ -s "$vectors" ]; then
	load_vectors C <"$vectors"
	# the file must hold what this build's embed() gives: re-embed a sample
	drift=$(C -At -c "SELECT max(emb <=> embed(chunk)) FROM (SELECT emb, chunk FROM chunks WHERE doc_id % 53 = 0 LIMIT 300) s")
	echo "vectors loaded from $vectors: largest cosine distance to this build's embed() on 300 sampled chunks: $drift"
	if awk -v d="$drift" 'BEGIN { exit !(d > 0.00001) }'; then
		echo "the vectors file is from another model or encoder build: delete it to embed the corpus again"
		exit 1
	fi
else
	t0=$(now)
	C -c "CALL embed_table('chunks', quiet => true)"
	t1=$(now)
	full=$(secs "$t0" "$t1")
fi
C -c "\\copy (SELECT doc_id, id, emb FROM chunks) TO STDOUT (FORMAT binary)" | load_vectors S
if [ -n "$vectors" ] && [ ! -s "$vectors" ]; then
	C -c "\\copy (SELECT doc_id, id, emb FROM chunks) TO STDOUT (FORMAT binary)" >"$vectors"
fi

nsub=$(S -At -c "SELECT count(*) FROM chunks WHERE doc_id % $subset = 0")
tsub=$(S -At -c "SELECT sum(n_tokens) FROM chunks WHERE doc_id % $subset = 0")
# run SIDE SESSIONS: embed the subset again with SESSIONS concurrent calls
run_embed() {
	local f=$1 n=$2 pids=() t0 t1
	$f -c "UPDATE chunks SET emb = NULL WHERE doc_id % $subset = 0" -c "VACUUM chunks"
	t0=$(now)
	for _ in $(seq "$n"); do
		$f -c "CALL embed_table('chunks', quiet => true)" & pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	t1=$(now)
	[ "$($f -At -c "SELECT count(*) FROM chunks WHERE emb IS NULL")" = 0 ] || { echo "embedding incomplete"; exit 1; }
	secs "$t0" "$t1"
}
# interleaved: each pair of runs compares the two sides under the same load
declare -A T
T[s2a]=$(run_embed S 2); T[d1a]=$(run_embed C 1)
T[s1]=$(run_embed S 1); T[s4]=$(run_embed S 4); T[d2]=$(run_embed C 2)
T[d1b]=$(run_embed C 1); T[s2b]=$(run_embed S 2)
echo
echo "2. embedding (USE-lite, 512-d); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-58s %9s %10s %11s\n' "" seconds chunks/s tokens/s
if [ -n "$full" ]; then
	printf '%-58s %9s %10s %11s\n' "Citus, whole corpus: embed_table, 1 session per worker" "$full" "$(rate "$nchunks" "$full")" "$(rate "$ntok" "$full")"
else
	echo "whole corpus: vectors loaded from $vectors (an earlier run)"
fi
printf '%-58s\n' "subset: $nsub chunks ($tsub tokens) of every ${subset}th document, interleaved:"
for k in s1 s2a s2b s4 d1a d1b d2; do
	case $k in
	s1) what="one node, 1 session" ;;
	s2*) what="one node, 2 sessions (run ${k: -1})" ;;
	s4) what="one node, 4 sessions" ;;
	d1*) what="Citus, 1 session per worker = 2 (run ${k: -1})" ;;
	d2) what="Citus, 2 sessions per worker = 4" ;;
	esac
	printf '%-58s %9s %10s %11s\n' "  $what" "${T[$k]}" "$(rate "$nsub" "${T[$k]}")" "$(rate "$tsub" "${T[$k]}")"
done
printf '%-58s %9s\n' "Citus 2 sessions vs one node 2 sessions, throughput (a)" "$(ratio "${T[s2a]}" "${T[d1a]}")"
printf '%-58s %9s\n' "Citus 2 sessions vs one node 2 sessions, throughput (b)" "$(ratio "${T[s2b]}" "${T[d1b]}")"
printf '%-58s %9s\n' "Citus 4 sessions vs one node 4 sessions, throughput" "$(ratio "${T[s4]}" "${T[d2]}")"
printf '%-58s %9s\n' "one node: 2 sessions vs 1 session, throughput" "$(ratio "${T[s1]}" "${T[s2a]}")"
printf '%-58s %9s\n' "Citus: 4 sessions vs 2 sessions, throughput" "$(ratio "${T[d1a]}" "${T[d2]}")"

# ---- 3 and 4: exact and hnsw search, hybrid_search (Python driver)
S -c "VACUUM ANALYZE"
C -c "VACUUM ANALYZE chunks" -c "VACUUM ANALYZE docs"
/usr/bin/python3 bench/citus/bench.py --host "$work" --single "${ports[0]}" --coordinator "${ports[1]}" \
	--user "$SEMVEC_TEST_USER" --queries "$nq" --shards "$shards" ${vectors:+--truth "$vectors.truth.json"}
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
