#!/bin/bash
# Run the TAP suites (test/t/*.pl) with PostgreSQL::Test::Cluster.
# Usage: tools/tap.sh [test/t/file.pl ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh

if [ $# -eq 0 ]; then
	set -- test/t/*.pl
fi
[ -e "$1" ] || { echo "no TAP tests"; exit 0; }

work=$(scratch_dir tap)
cd "$(test_tree)"
as_pg env PATH="$PGBIN:$PATH" TESTDIR="$work" PG_REGRESS="$PG_REGRESS" \
	SEMVEC_SRC="$PWD" \
	prove -I "$PG_TAP_LIB" -I test/t --timer "$@"
