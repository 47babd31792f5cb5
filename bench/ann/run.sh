#!/bin/bash
# Run bench/ann/ann.py against a throwaway PostgreSQL instance.
# Usage: PGBIN=... bench/ann/run.sh [ann.py options, e.g. --n 20000 --nq 200 | --full]
#        PGBIN=... PGBIN_BASE=... bench/ann/run.sh ...   compares with a baseline build:
#          a second throwaway server runs PGBIN_BASE's semvec (e.g. an install of
#          an older commit made with tools/devinstall.sh), see README.md
# PORT (default 5432) and PORT+1 are the servers' ports (Unix sockets only).
# Needs: npm, python3-numpy, python3-psycopg2, python3-hnswlib (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh
port=${PORT:-5432}

conf=("shared_buffers = '1GB'" "maintenance_work_mem = '2GB'" "max_wal_size = '4GB'")
work=$(scratch_dir ann)
bench_server "$PGBIN" "$work" "$port" "${conf[@]}"
stop() {
	as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null || true
	if [ -n "${base:-}" ]; then
		as_pg "$PGBIN_BASE/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null || true
	fi
}
trap stop EXIT
args=()
if [ -n "${PGBIN_BASE:-}" ]; then
	base=$(scratch_dir ann-base)
	bench_server "$PGBIN_BASE" "$base" "$((port + 1))" "${conf[@]}"
	args=(--baseline-dsn "host=$base port=$((port + 1)) dbname=postgres user=$SEMVEC_TEST_USER")
fi
/usr/bin/python3 bench/ann/ann.py --dsn "host=$work port=$port dbname=postgres user=$SEMVEC_TEST_USER" \
	"${args[@]}" "$@"
