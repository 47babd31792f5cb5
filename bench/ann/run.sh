#!/bin/bash
# Run bench/ann/ann.py against a throwaway PostgreSQL instance.
# Usage: PGBIN=... bench/ann/run.sh [ann.py options, e.g. --n 20000 --nq 200 | --full]
# Needs: npm, python3-numpy, python3-psycopg2, python3-hnswlib (Debian).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/pgenv.sh

work=$(scratch_dir ann)
as_pg "$PGBIN/initdb" -D "$work/data" -A trust >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
shared_buffers = '1GB'
maintenance_work_mem = '2GB'
max_wal_size = '4GB'
CONF
as_pg "$PGBIN/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
trap 'as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null' EXIT
/usr/bin/python3 bench/ann/ann.py --dsn "host=$work port=5432 dbname=postgres user=$SEMVEC_TEST_USER" "$@"
