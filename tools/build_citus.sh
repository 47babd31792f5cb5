#!/bin/bash
# Build Citus, PostgreSQL's distributed engine, and install it into the
# PostgreSQL that PG_CONFIG / PGBIN designate, so that semvec's distributed
# tests (test/t/060_citus_*.pl) and bench/citus can run a coordinator and
# workers.  Citus is a test dependency only: semvec never links to it or
# ships it.
#
# Usage: tools/build_citus.sh
#   PG_CONFIG   headers and install layout (default: pg_config)
#   PGBIN       the server to install into (default: pg_config --bindir).  A
#               private copy made by tools/devinstall.sh (PGBIN=/tmp/pg-NAME/
#               usr/lib/postgresql/15/bin) gets Citus under /tmp/pg-NAME
#               (make install DESTDIR=/tmp/pg-NAME); the system server gets it
#               in place (needs root or sudo).
#   CITUS_SRC   folder holding citus-<version>.tar.gz, its patch and
#               SHA256SUMS (default: ../shared/vendor/citus next to the
#               checkout, as CI lays it out, else /work/shared/vendor/citus
#               for a checkout elsewhere on the development machine)
#   SEMVEC_CACHE  where builds are kept (default: ~/.cache/semvec)
#
# The build is cached per (source, patch, PostgreSQL version): a rerun only
# reinstalls.  Exits 0 without doing anything, saying so, when the source
# folder is absent (the Citus tests then skip themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

CITUS_VERSION=13.2.2
PG_CONFIG=${PG_CONFIG:-pg_config}
src_dir=${CITUS_SRC:-$(cd .. && pwd)/shared/vendor/citus}
if [ -z "${CITUS_SRC:-}" ] && [ ! -d "$src_dir" ] && [ -d /work/shared/vendor/citus ]; then
	src_dir=/work/shared/vendor/citus
fi
tarball=$src_dir/citus-$CITUS_VERSION.tar.gz
patchfile=$src_dir/citus-$CITUS_VERSION-pg15-minor.patch

if [ ! -f "$tarball" ]; then
	echo "build_citus: skipped: no Citus source at $tarball" \
		"(the Citus tests and bench/citus will skip)"
	exit 0
fi
for f in "$tarball" "$patchfile"; do
	[ -f "$f" ] || { echo "build_citus: $f is missing" >&2; exit 1; }
done
if [ -f "$src_dir/SHA256SUMS" ]; then
	(cd "$src_dir" && sha256sum --quiet -c SHA256SUMS) ||
		{ echo "build_citus: checksum mismatch in $src_dir" >&2; exit 1; }
fi

# Where to install: PGBIN is pg_config's bindir, either in place or under a
# DESTDIR root (tools/devinstall.sh's private copies)
bindir=$($PG_CONFIG --bindir)
PGBIN=${PGBIN:-$bindir}
PGBIN=$(cd "$PGBIN" && pwd)
case "$PGBIN" in
"$bindir") destdir= ;;
*"$bindir") destdir=${PGBIN%"$bindir"} ;;
*)
	echo "build_citus: PGBIN=$PGBIN is neither $bindir nor a copy of it under a root folder" >&2
	exit 1
	;;
esac
pkglib=$destdir$($PG_CONFIG --pkglibdir)

# Cache key: the exact source, patch and server headers built against
pgver=$($PG_CONFIG --version)
key=$( { sha256sum <"$tarball"; sha256sum <"$patchfile"; echo "$pgver";
	$PG_CONFIG --includedir-server; } | sha256sum | cut -c1-12)
cache=${SEMVEC_CACHE:-${HOME:-/tmp}/.cache/semvec}
build=$cache/citus-$CITUS_VERSION-$key
tree=$build/citus-$CITUS_VERSION

if [ -f "$build/built" ]; then
	echo "build_citus: using the cached build in $build"
else
	echo "build_citus: building Citus $CITUS_VERSION for $pgver in $build (about 3 minutes on 2 cores)"
	rm -rf "$build"
	mkdir -p "$build"
	tar -xzf "$tarball" -C "$build"
	[ -d "$tree" ] || { echo "build_citus: $tarball did not unpack to citus-$CITUS_VERSION/" >&2; exit 1; }
	(cd "$tree" && patch -s -p1 <"$patchfile")
	# --without-libcurl: no usage reports sent from test clusters
	(cd "$tree" && ./configure -q PG_CONFIG="$(command -v "$PG_CONFIG")" --without-libcurl >"$build/configure.log" 2>&1) ||
		{ tail -30 "$build/configure.log" >&2; echo "build_citus: configure failed (tools/install_deps.sh --full installs the build packages)" >&2; exit 1; }
	make -C "$tree" -s -j"$(nproc)" >"$build/make.log" 2>&1 ||
		{ grep -m20 -B2 -A5 'error' "$build/make.log" >&2 || tail -30 "$build/make.log" >&2; echo "build_citus: build failed, log in $build/make.log" >&2; exit 1; }
	touch "$build/built"
fi

# Already installed from this build: nothing to do (make install would
# still walk the whole tree)
if cmp -s "$tree/src/backend/distributed/citus.so" "$pkglib/citus.so"; then
	echo "build_citus: Citus $CITUS_VERSION already installed in $pkglib"
	exit 0
fi
SUDO=
if [ ! -w "${destdir:-$pkglib}" ] && [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
$SUDO make -C "$tree" -s install ${destdir:+DESTDIR="$destdir"} >"$build/install.log" 2>&1 ||
	{ tail -20 "$build/install.log" >&2; echo "build_citus: install failed" >&2; exit 1; }
[ -f "$pkglib/citus.so" ] || { echo "build_citus: $pkglib/citus.so not installed" >&2; exit 1; }
echo "build_citus: Citus $CITUS_VERSION installed in $pkglib"
