#!/bin/bash
# Run pgvector 0.8.6's own regression and TAP tests, unmodified, against the
# installed semvec (docs/conformance.md).
#
# Usage: tools/conformance.sh [options] [test-or-pattern ...]
#   test-or-pattern  a regress test (bit), a TAP file's name without .pl
#                    (018_aggregates) or a shell pattern ('hnsw_*', '*ivfflat*');
#                    default: every test of the suite
#   --regress        only the pg_regress tests
#   --tap            only the TAP tests
#   --no-pending     do not run the tests the allow-list marks "pending" (they
#                    are reported as SKIPPED, never left out silently)
#   --strict         a listed test that passes (XPASS) is a failure too
#   --list           print the selected tests with their allow-list entry
#
# Environment: PGBIN (server binaries, as for tools/regress.sh),
#   SEMVEC_CONFORMANCE (the suite; default ../shared/conformance/pgvector-0.8.6
#   next to the checkout), CONFORMANCE_TAP_TIMEOUT (seconds per TAP file,
#   default 1800).
#
# Each test ends as PASS, FAIL, XFAIL (failed, and docs/conformance.md's
# allow-list names it with its reason), XPASS (passed although listed as
# pending or differs: remove it from the list) or SKIPPED.  The exit status is non-zero when any test
# ends FAIL (or XPASS with --strict).
set -uo pipefail
cd "$(dirname "$0")/.."
. tools/pgenv.sh

only=
no_pending=0
strict=0
list=0
patterns=()
while [ $# -gt 0 ]; do
	case "$1" in
	--regress) only=regress ;;
	--tap) only=tap ;;
	--no-pending) no_pending=1 ;;
	--strict) strict=1 ;;
	--list) list=1 ;;
	-h | --help)
		sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "conformance: unknown option $1" >&2
		exit 2
		;;
	*) patterns+=("$1") ;;
	esac
	shift
done

# The suite lives next to the checkout (CI clones the repository beside
# shared/); a git worktree elsewhere finds it next to its main checkout.
suite=${SEMVEC_CONFORMANCE:-}
if [ -z "$suite" ]; then
	for base in "$PWD/.." "$(cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/../.." 2>/dev/null && pwd)"; do
		if [ -d "$base/shared/conformance/pgvector-0.8.6/test" ]; then
			suite=$base/shared/conformance/pgvector-0.8.6
			break
		fi
	done
fi
if [ -z "$suite" ] || [ ! -d "$suite/test/sql" ]; then
	echo "SKIPPING pgvector conformance: suite not found (looked for ../shared/conformance/pgvector-0.8.6" \
		"next to the checkout; set SEMVEC_CONFORMANCE to its directory)"
	exit 0
fi

# ---------------------------------------------------------------------------
# The allow-list: the table between the markers in docs/conformance.md,
# rows "| `test` | status | owner | reason |"
declare -A allow_status allow_owner allow_reason
while IFS='|' read -r _ name status owner reason _; do
	name=$(echo "$name" | tr -d '` ')
	status=$(echo "$status" | tr -d ' ')
	owner=$(echo "$owner" | tr -d '` ')
	reason=$(echo "$reason" | sed 's/^ *//; s/ *$//')
	case "$status" in
	pending | differs | flaky) ;;
	*)
		echo "conformance: docs/conformance.md: test $name has status '$status' (pending, differs or flaky)" >&2
		exit 2
		;;
	esac
	allow_status[$name]=$status
	allow_owner[$name]=$owner
	allow_reason[$name]=$reason
done < <(sed -n '/<!-- allow-list begin -->/,/<!-- allow-list end -->/p' docs/conformance.md |
	grep '^| *`')

# ---------------------------------------------------------------------------
# Select the tests
selected() {
	local name=$1 p
	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do
		# shellcheck disable=SC2053
		[[ $name == $p ]] && return 0
	done
	return 1
}
regress_tests=()
tap_tests=()
if [ "$only" != tap ]; then
	for f in "$suite"/test/sql/*.sql; do
		n=$(basename "$f" .sql)
		selected "$n" && regress_tests+=("$n")
	done
fi
if [ "$only" != regress ]; then
	for f in "$suite"/test/t/*.pl; do
		n=$(basename "$f" .pl)
		selected "$n" && tap_tests+=("$n")
	done
fi
for n in "${!allow_status[@]}"; do
	[ -e "$suite/test/sql/$n.sql" ] || [ -e "$suite/test/t/$n.pl" ] ||
		echo "conformance: warning: allow-list names $n, which is not a test of the suite" >&2
done

if [ $list = 1 ]; then
	for n in "${regress_tests[@]}" "${tap_tests[@]}"; do
		if [ -n "${allow_status[$n]:-}" ]; then
			printf '%-40s %-8s %-8s %s\n' "$n" "${allow_status[$n]}" "${allow_owner[$n]}" "${allow_reason[$n]}"
		else
			printf '%-40s must pass\n' "$n"
		fi
	done
	exit 0
fi

declare -A result
skip_pending() {
	[ $no_pending = 1 ] && [ "${allow_status[$1]:-}" = pending ]
}

work=$(scratch_dir conformance)
echo "pgvector conformance: suite $suite"
echo "pgvector conformance: server $PGBIN; work directory $work"

# ---------------------------------------------------------------------------
# pg_regress: one throwaway instance with default settings, the tests in the
# suite's order, CREATE EXTENSION vector first (as pgvector's Makefile does).
# The copy test writes results/*.bin relative to psql's working directory,
# so pg_regress runs in the output directory.
run_regress=()
for n in "${regress_tests[@]}"; do
	if skip_pending "$n"; then
		result[$n]=SKIPPED
	else
		run_regress+=("$n")
	fi
done
if [ ${#run_regress[@]} -gt 0 ]; then
	echo
	echo "==== pg_regress: ${run_regress[*]}"
	out=$work/regress
	mkdir -p "$out"
	chmod 777 "$out"
	(cd "$out" && as_pg "$PG_REGRESS" --temp-instance="$out/instance" --bindir="$PGBIN" \
		--inputdir="$suite/test" --outputdir="$out" --load-extension=vector \
		"${run_regress[@]}") >"$work/regress.log" 2>&1
	cat "$work/regress.log"
	for n in "${run_regress[@]}"; do
		if grep -Eq "^(test| ) *$n +\.\.\. +ok" "$work/regress.log"; then
			result[$n]=pass
		else
			result[$n]=fail
		fi
	done
fi

# ---------------------------------------------------------------------------
# TAP: each file on its own (they start their own clusters), with a time limit
tap_timeout=${CONFORMANCE_TAP_TIMEOUT:-1800}
for n in "${tap_tests[@]}"; do
	if skip_pending "$n"; then
		result[$n]=SKIPPED
		continue
	fi
	echo
	echo "==== TAP: $n"
	d=$work/tap/$n
	mkdir -p "$d"
	chmod -R 777 "$work/tap"
	start=$(date +%s)
	if (cd "$suite" && as_pg env PATH="$PGBIN:$PATH" TESTDIR="$d" PG_REGRESS="$PG_REGRESS" \
		timeout "$tap_timeout" prove -I "$PG_TAP_LIB" "test/t/$n.pl") >"$d/prove.log" 2>&1; then
		result[$n]=pass
	else
		result[$n]=fail
	fi
	tail -n 25 "$d/prove.log"
	echo "---- $n: ${result[$n]} in $(($(date +%s) - start)) s"
done

# ---------------------------------------------------------------------------
# Verdicts against the allow-list
echo
echo "==== pgvector 0.8.6 conformance summary"
failed=0
counts=()
declare -A count
for n in "${regress_tests[@]}" "${tap_tests[@]}"; do
	r=${result[$n]}
	st=${allow_status[$n]:-}
	case "$r/$st" in
	pass/ | pass/flaky) v=PASS ;;
	pass/*) v=XPASS ;;
	fail/) v=FAIL ;;
	fail/*) v=XFAIL ;;
	SKIPPED/*) v=SKIPPED ;;
	esac
	count[$v]=$((${count[$v]:-0} + 1))
	case $v in
	PASS) printf '%-8s %s\n' "$v" "$n" ;;
	FAIL)
		printf '%-8s %s\n' "$v" "$n"
		failed=1
		;;
	XPASS)
		printf '%-8s %s (listed as %s for %s: remove it from docs/conformance.md)\n' "$v" "$n" "$st" "${allow_owner[$n]}"
		[ $strict = 1 ] && failed=1
		;;
	*) printf '%-8s %s (%s, %s: %s)\n' "$v" "$n" "$st" "${allow_owner[$n]}" "${allow_reason[$n]}" ;;
	esac
done
for v in PASS FAIL XFAIL XPASS SKIPPED; do
	counts+=("$v ${count[$v]:-0}")
done
echo "---- $(IFS=,; echo "${counts[*]}" | sed 's/,/, /g')"
if [ -s "$work/regress/regression.diffs" ]; then
	echo "---- pg_regress differences: $work/regress/regression.diffs"
fi
echo "---- TAP logs: $work/tap/<test>/ (prove.log, tmp_check/log)"
if [ $failed = 1 ]; then
	echo "pgvector conformance: FAILED"
	exit 1
fi
echo "pgvector conformance: ok"
