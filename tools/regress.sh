#!/bin/bash
# Run pg_regress suites (test/regress/*.sql, expected/*.out) in a throwaway
# instance.  Usage: tools/regress.sh [test ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh

if [ $# -eq 0 ]; then
	set -- $(ls test/regress/*.sql | sed 's|.*/||; s|\.sql$||' | sort)
fi

work=$(scratch_dir regress)
mkdir -p "$work/sql" "$work/expected"
cp test/regress/*.sql "$work/sql/"
cp expected/*.out "$work/expected/" 2>/dev/null || true
cp tools/regress.conf "$work/regress.conf"
# Some suites read fixtures; give them the absolute path of the checkout
sed -i "s|@abs_srcdir@|$PWD|g" "$work/sql/"*.sql "$work/expected/"*.out 2>/dev/null || true
chmod -R a+rwX "$work"

rc=0
as_pg "$PG_REGRESS" --temp-instance="$work/instance" --bindir="$PGBIN" \
	--inputdir="$work" --outputdir="$work" --load-extension=semvec \
	--temp-config="$work/regress.conf" "$@" || rc=$?
if [ $rc -ne 0 ]; then
	cp "$work/regression.diffs" ./regression.diffs 2>/dev/null || true
	cat "$work/regression.diffs" 2>/dev/null | head -200 || true
	echo "regression tests failed; see regression.diffs"
fi
exit $rc
