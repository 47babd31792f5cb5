#!/bin/bash
# Fetch an npm package tarball once, check its pinned SHA-256 and print its
# path.  Tarballs are cached in $SEMVEC_CACHE (default ~/.cache/semvec), so
# a rebuild needs no network.  Build-time only: nothing semvec installs
# reads npm.
# Usage: tools/npm_fetch.sh NAME@VERSION SHA256
set -euo pipefail
spec=${1:?usage: npm_fetch.sh NAME@VERSION SHA256}
sha=${2:?usage: npm_fetch.sh NAME@VERSION SHA256}
name=${spec%@*}
version=${spec##*@}
# npm pack names the file after the package: @scope/pkg -> scope-pkg-VERSION.tgz
tgz=$(echo "${name#@}" | tr / -)-$version.tgz
cache=${SEMVEC_CACHE:-${HOME:-/tmp}/.cache/semvec}

mkdir -p "$cache"
if [ ! -f "$cache/$tgz" ] || ! echo "$sha  $cache/$tgz" | sha256sum -c --status - 2>/dev/null; then
	rm -f "$cache/$tgz"
	command -v npm >/dev/null || { echo "npm_fetch: npm is needed to fetch $spec" >&2; exit 1; }
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "$spec" >/dev/null)
	mv "$tmp/$tgz" "$cache/$tgz"
fi
if ! echo "$sha  $cache/$tgz" | sha256sum -c --quiet - >&2; then
	echo "npm_fetch: checksum mismatch for $cache/$tgz (expected $sha)" >&2
	rm -f "$cache/$tgz"
	exit 1
fi
echo "$cache/$tgz"
