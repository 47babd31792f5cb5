#!/bin/bash
# Run pg_regress suites (test/regress/*.sql, expected/*.out).
# Usage: tools/regress.sh [--installcheck] [test ...]   (default: all)
#
# By default the suites run in a throwaway instance (--temp-instance) made
# with $PGBIN's binaries.  With --installcheck they run against the running,
# installed server that psql would reach (PGHOST, PGPORT, PGUSER), as
# `make installcheck` does for every PGXS extension; the settings of
# tools/regress.conf are then passed per session through PGOPTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh

installcheck=0
if [ "${1:-}" = "--installcheck" ]; then
	installcheck=1
	shift
fi
if [ $# -eq 0 ]; then
	set -- $(ls test/regress/*.sql | sed 's|.*/||; s|\.sql$||' | sort)
fi

# pg_regress wants DIR/sql and DIR/expected side by side; the design card
# keeps them in test/regress and expected, so stage a copy.
work=$(scratch_dir regress)
mkdir -p "$work/sql" "$work/expected"
cp test/regress/*.sql "$work/sql/"
cp expected/*.out "$work/expected/" 2>/dev/null || true
cp tools/regress.conf "$work/regress.conf"
# In the throwaway instance, no autovacuum: an autovacuum ANALYZE of another
# table holds a snapshot, so a suite's own VACUUM could not remove the rows
# it just deleted (hnsw_reuse and the vacuum suites measure exactly that)
echo "autovacuum = off" >>"$work/regress.conf"
# Some suites read fixtures; give them the absolute path of the checkout
sed -i "s|@abs_srcdir@|$PWD|g" "$work/sql/"*.sql "$work/expected/"*.out 2>/dev/null || true
chmod -R a+rwX "$work"

rc=0
if [ $installcheck = 1 ]; then
	opts=$(sed -n 's/^\([a-z_]*\) *= *\(.*\)$/-c \1=\2/p' tools/regress.conf | tr '\n' ' ')
	PGOPTIONS="${PGOPTIONS:-} $opts" "$PG_REGRESS" --bindir="$PGBIN" \
		--inputdir="$work" --outputdir="$work" --load-extension=semvec \
		"$@" || rc=$?
else
	as_pg "$PG_REGRESS" --temp-instance="$work/instance" --bindir="$PGBIN" \
		--inputdir="$work" --outputdir="$work" --load-extension=semvec \
		--temp-config="$work/regress.conf" "$@" || rc=$?
fi
if [ $rc -ne 0 ]; then
	cp "$work/regression.diffs" ./regression.diffs 2>/dev/null || true
	cat "$work/regression.diffs" 2>/dev/null | head -200 || true
	echo "regression tests failed; see regression.diffs"
fi
exit $rc
