#!/bin/bash
# BERT encoder benchmark (not a test): a random-weight BERT of
# all-MiniLM-L6-v2's shape (6 layers, 384 hidden, 12 heads, 1536 FFN, the
# real 30,522-piece uncased vocabulary) on STS-B sentences, through SQL and
# through the C core, against PyTorch (1 thread) in the same run, plus
# OpenBLAS's single-thread sgemm peak.  Prints ratio tables.
#
# Usage: bench/encoder_bert.sh [N_SENTENCES]   (PGBIN=... to pick a build)
#
# With BASE_PGBIN=... (another build), compares the two builds on the same
# model folder instead, interleaved in one run (bench/encoder_ab.py): model
# load time, per-backend memory, short-query latency, batch throughput.
# SEMVEC_BENCH_PORT=N picks the servers' ports (N, and N + 1 for the A/B's
# second server; default 5439, and 5443/5444 for the A/B).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh
n=${1:-512}
work=$(scratch_dir bench-bert)
trap 'for d in "$work" "$work/base" "$work/new"; do as_pg "$PGBIN/pg_ctl" -D "$d/data" stop -m immediate >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT

tools/fetch_bert_vocab.sh "$work/vocab" >/dev/null
/usr/bin/python3 bench/encoder_bert.py make "$work/models/minilm-shape" "$work/vocab/vocab.txt"
chmod -R a+rX "$work"

if [ -n "${BASE_PGBIN:-}" ]; then
	mkdir -p "$work/base" "$work/new" && chmod 777 "$work/base" "$work/new"
	bench_server "$BASE_PGBIN" "$work/base" "${SEMVEC_BENCH_PORT:-5443}" "semvec.model_path = '$work/models'" \
		"max_parallel_workers_per_gather = 0"
	bench_server "$PGBIN" "$work/new" "$((${SEMVEC_BENCH_PORT:-5443} + 1))" "semvec.model_path = '$work/models'" \
		"max_parallel_workers_per_gather = 0"
	echo "base: $BASE_PGBIN"
	echo "new:  $PGBIN"
	as_pg env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/encoder_ab.py \
		minilm-shape "$n" "host=$work/base port=${SEMVEC_BENCH_PORT:-5443} dbname=postgres" \
		"host=$work/new port=$((${SEMVEC_BENCH_PORT:-5443} + 1)) dbname=postgres"
	exit 0
fi

bench_server "$PGBIN" "$work" "${SEMVEC_BENCH_PORT:-5439}" "semvec.model_path = '$work/models'" \
	"max_parallel_workers_per_gather = 0"
as_pg env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/encoder_bert.py run \
	"$work/models/minilm-shape" "host=$work port=${SEMVEC_BENCH_PORT:-5439} dbname=postgres" "$n"
