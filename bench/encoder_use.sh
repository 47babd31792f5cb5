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
#
# With BASE_PGBIN=... (another build, e.g. a private install of an older
# commit), compares the two builds instead, interleaved in one run
# (bench/encoder_ab.py): model load time, per-backend memory, short-query
# latency, batch 1/8/32 throughput, as new/base ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh
n=${1:-512}
work=$(scratch_dir bench-use)
if [ -n "${BASE_PGBIN:-}" ]; then
	mkdir -p "$work/base" "$work/new" && chmod 777 "$work/base" "$work/new"
	trap 'for b in base new; do as_pg "$PGBIN/pg_ctl" -D "$work/$b/data" stop -m immediate >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
	bench_server "$BASE_PGBIN" "$work/base" 5441 "max_parallel_workers_per_gather = 0"
	bench_server "$PGBIN" "$work/new" 5442 "max_parallel_workers_per_gather = 0"
	echo "base: $BASE_PGBIN"
	echo "new:  $PGBIN"
	as_pg env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/encoder_ab.py default "$n" \
		"host=$work/base port=5441 dbname=postgres" "host=$work/new port=5442 dbname=postgres"
	exit 0
fi
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

modules=${SEMVEC_PARITY_MODULES:-$PWD/build/parity/node_modules}
[ -d "$modules/@energetic-ai/embeddings" ] || modules=
command -v node >/dev/null || modules=

bench_server "$PGBIN" "$work" 5440 "max_parallel_workers_per_gather = 0"
as_pg env OPENBLAS_NUM_THREADS=1 SEMVEC_BENCH_WORK="$work" /usr/bin/python3 bench/encoder_use.py \
	"host=$work port=5440 dbname=postgres" "$n" "$modules"
