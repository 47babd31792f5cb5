#!/bin/bash
# Install what the tests need, build and install semvec (with its default
# model), and run every test: C unit tests, pg_regress suites, TAP suites.
# Exits non-zero when any test fails.  Run as root on a fresh Debian 12 machine
# (or as a user with sudo).
set -uo pipefail
cd "$(dirname "$0")/.."

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

step() { printf '\n==== %s ====\n' "$*"; }
fail=0
run() {
	local name=$1
	shift
	step "$name"
	if "$@"; then
		echo "---- $name: ok"
	else
		echo "---- $name: FAILED"
		fail=1
	fi
}

step "dependencies"
bash tools/install_deps.sh --full || exit 1

step "build and install"
make -s -j2 || exit 1
make -s model || exit 1
$SUDO make -s install || exit 1

# Citus, a test dependency only (test/t/060_citus_*): built from
# ../shared/vendor/citus (cached) into the same server; skipped with a
# message where that source is absent
step "Citus (test dependency)"
bash tools/build_citus.sh || exit 1

[ -x tools/unit.sh ] && run "C unit tests" bash tools/unit.sh
run "pg_regress" bash tools/regress.sh
# the input parsers of vector/halfvec/sparsevec under libFuzzer + sanitizers
run "fuzz (60 s)" bash tools/fuzz.sh 60
# Client-library interop must really run in CI (npm registry is reachable)
export SEMVEC_REQUIRE_CLIENTS=${SEMVEC_REQUIRE_CLIENTS:-1}
run "TAP" bash tools/tap.sh
# hnsw's scans read pages without pins unless semvec.hnsw_unpinned_reads is
# off (src/hnsw/hnswpeek.h): the hnsw suites once more with every visit pinned
run "hnsw, pinned reads (pg_regress)" env PGOPTIONS="-c semvec.hnsw_unpinned_reads=off" \
	bash tools/regress.sh $(ls test/regress/hnsw_*.sql | sed 's|.*/||; s|\.sql$||')
run "hnsw, pinned reads (TAP)" env PGOPTIONS="-c semvec.hnsw_unpinned_reads=off" \
	bash tools/tap.sh test/t/01[0-3]_hnsw_*.pl
# pgvector 0.8.6's own tests, unmodified (docs/conformance.md); skipped with a
# message when ../shared/conformance is absent
run "pgvector conformance" bash tools/conformance.sh

if [ $fail -ne 0 ]; then
	step "SOME TESTS FAILED"
	exit 1
fi
step "all tests passed"
