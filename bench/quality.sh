#!/bin/bash
# Quality benchmark (not a test) of the default model through SQL: STS-B
# test Spearman of embed() cosine vs gold, and of the JS reference runtime
# in the same run (needs node + test/parity/setup.sh; else skipped), and
# BEIR SciFact nDCG@10 / Recall@100, exact and via HNSW when available.
# Usage: bench/quality.sh   (PGBIN=... to pick a build)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh
work=$(scratch_dir bench-quality)
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

modules=${SEMVEC_PARITY_MODULES:-$PWD/build/parity/node_modules}
[ -d "$modules/@energetic-ai/embeddings" ] || modules=
command -v node >/dev/null || modules=

bench_server "$PGBIN" "$work" 5441
as_pg env SEMVEC_BENCH_WORK="$work" /usr/bin/python3 bench/quality.py \
	"host=$work port=5441 dbname=postgres" "$modules"
