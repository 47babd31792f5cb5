#!/bin/bash
# The hnsw scan's packed visited map (ScanMap, src/hnsw/hnswscan.c) against
# HnswKeySet in its place, in one bench/ann run: the benchmark that decides
# whether the scan keeps a second hash map (one implementation of each
# algorithm, unless a benchmark shows a second copy pays).  README.md has
# the runs and what they say.
#
# Usage: NAME=NAME PGBIN=/tmp/pg-NAME/usr/lib/postgresql/15/bin \
#            bench/hnsw_visited/run.sh [bench/ann options, e.g. --ef 80,160,320,640 --rounds 5]
#   PGBIN holds this checkout's build (tools/devinstall.sh NAME).  The
#   committed tree (HEAD) rewritten by keyset.py (HnswKeySet as the
#   visited set, nothing else changed) is built into
#   /tmp/pg-NAME-keyset and is bench/ann's baseline; PORT as for bench/ann.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${NAME:?set NAME, the tools/devinstall.sh name of this checkout}
: "${PGBIN:?set PGBIN to the private install of this checkout}"
src=$(mktemp -d /tmp/semvec-visited.XXXXXX)
trap 'rm -rf "$src"' EXIT
git archive HEAD | tar -x -C "$src"
/usr/bin/python3 bench/hnsw_visited/keyset.py "$src"
(cd "$src" && bash tools/devinstall.sh "$name-keyset" >/dev/null)
PGBIN_BASE=/tmp/pg-$name-keyset/usr/lib/postgresql/15/bin bash bench/ann/run.sh --skip-hnswlib "$@"
