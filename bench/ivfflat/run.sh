#!/bin/bash
# Run bench/ivfflat/ivfflat.py against a throwaway PostgreSQL instance.
# Usage: PGBIN=... [PORT=...] bench/ivfflat/run.sh [ivfflat.py options, e.g. --n 20000 --nq 200]
# Needs: npm, python3-numpy, python3-psycopg2 (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh

port=${PORT:-5432}
work=$(scratch_dir ivfbench)
bench_server "$PGBIN" "$work" "$port" "shared_buffers = '1GB'" "maintenance_work_mem = '2GB'" \
	"max_wal_size = '4GB'"
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null' EXIT
/usr/bin/python3 -u bench/ivfflat/ivfflat.py --dsn "host=$work port=$port dbname=postgres user=$SEMVEC_TEST_USER" "$@"
