#!/bin/bash
# bench/adapter: adapters trained in SQL on SciFact train, evaluated on
# SciFact test (vector-only nDCG@10 against the base model in the same
# run).  Not a test: nothing asserts.
# Usage: bench/adapter/run.sh   (PGBIN=... to pick a build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh
work=$(scratch_dir bench-adapter)
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bench_server "$PGBIN" "$work" 5445 "max_parallel_workers_per_gather = 0"
as_pg /usr/bin/python3 bench/adapter/adapter.py "host=$work port=5445 dbname=postgres"
