#!/bin/bash
# Single-query latency of the default model (not a test): one ~13-token
# query after the model is cached, for one or more semvec builds side by
# side in the same run (rounds alternate between them, so load from other
# processes hits every build alike), each at semvec.blas_threads 1 (the
# default) and at one thread per CPU.  Reports per-call medians from an
# in-backend loop (no client round trip) and through SQL, with the load
# average, plus the time to stream the model's weights once (the memory
# floor of a one-row query).
#
# Usage: bench/encoder_use_latency.sh PGBIN [PGBIN ...]
#   e.g. bench/encoder_use_latency.sh /tmp/pg-base/.../bin /tmp/pg-new/.../bin
# Needs python3-psycopg2.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh
[ $# -ge 1 ] || set -- "$PGBIN"
work=$(scratch_dir bench-uselat)
dirs=()
cleanup() {
	for i in "${!dirs[@]}"; do
		as_pg "${bins[$i]}/pg_ctl" -D "${dirs[$i]}/data" stop -m immediate >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
bins=("$@")
trap cleanup EXIT
conns=()
for i in "${!bins[@]}"; do
	d="$work/s$i"
	mkdir -p "$d" && chmod 777 "$d"
	dirs+=("$d")
	bench_server "${bins[$i]}" "$d" 5440 "max_parallel_workers_per_gather = 0"
	conns+=("host=$d port=5440 dbname=postgres")
done
as_pg env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/encoder_use_latency.py "${bins[@]/#/bin=}" "${conns[@]}"
