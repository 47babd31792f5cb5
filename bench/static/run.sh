#!/bin/bash
# bench/static: the static word-vector model (glove-100d) beside the default
# model (USE-lite), all through SQL in one run: STS-B test Spearman, BEIR
# SciFact test nDCG@10 / Recall@100 (exact search), latency of one short
# query and throughput of batched embedding.  Not a test: nothing asserts.
# Usage: bench/static/run.sh   (PGBIN=... to pick a build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh
work=$(scratch_dir bench-static)
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bench_server "$PGBIN" "$work" 5443 "max_parallel_workers_per_gather = 0"
as_pg /usr/bin/python3 bench/static/static.py "host=$work port=5443 dbname=postgres"
