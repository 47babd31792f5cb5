#!/bin/bash
# USE-lite encoder benchmark (not a test): the default model on STS-B
# sentences at batch 1/8/32, through SQL (client round trip per call) and
# through the C core (an in-backend loop, no client), against the JS
# reference runtime (@energetic-ai/embeddings, TF.js WASM) in the same run;
# plus a single ~13-token query after caching, first-call model load, and
# achieved GFLOP/s vs OpenBLAS's single-thread sgemm peak measured here.
#
# Usage: bench/encoder_use.sh [N_SENTENCES]   (default 512; PGBIN=... to pick
# a build with semvec and its default model installed).  The JS reference
# needs node and the parity runtime (test/parity/setup.sh, or
# SEMVEC_PARITY_MODULES); without them its columns are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh
n=${1:-512}
work=$(scratch_dir bench-use)
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

modules=${SEMVEC_PARITY_MODULES:-$PWD/build/parity/node_modules}
[ -d "$modules/@energetic-ai/embeddings" ] || modules=
command -v node >/dev/null || modules=

bench_server "$PGBIN" "$work" 5440 "max_parallel_workers_per_gather = 0"
as_pg env OPENBLAS_NUM_THREADS=1 SEMVEC_BENCH_WORK="$work" /usr/bin/python3 bench/encoder_use.py \
	"host=$work port=5440 dbname=postgres" "$n" "$modules"
