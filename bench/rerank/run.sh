#!/bin/bash
# bench/rerank: cross-encoder reranking throughput, rerank() through SQL
# against PyTorch (1 thread) on the same pairs in the same run.  The model is
# a random-weight folder with the real config of ms-marco-MiniLM-L-6-v2
# (6 layers x 384, the real bert-base-uncased vocabulary); the pairs are
# SciFact test claims, each with 50 abstracts (its judged ones first, then
# others), the way a reranking stage sees them.  Not a test: nothing asserts.
# Usage: bench/rerank/run.sh [QUERIES]   (PGBIN=... to pick a build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh
nq=${1:-12}
work=$(scratch_dir bench-rerank)
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
tools/fetch_bert_vocab.sh "$work/vocab" >/dev/null
/usr/bin/python3 bench/rerank/rerank.py make "$work/models" "$work/vocab/vocab.txt"
chmod -R a+rX "$work"
bench_server "$PGBIN" "$work" 5444 "semvec.model_path = '$work/models'" \
	"max_parallel_workers_per_gather = 0"
as_pg env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/rerank/rerank.py run \
	"$work/models/minilm-ce" "host=$work port=5444 dbname=postgres" "$nq"
