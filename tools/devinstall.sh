#!/bin/bash
# Developer helper: build and install semvec into a private copy of the
# PostgreSQL installation (relocatable binaries + DESTDIR), so that several
# checkouts can be tested side by side without touching /usr.
# Usage: tools/devinstall.sh NAME    then: PGBIN=/tmp/pg-NAME/usr/lib/postgresql/15/bin tools/regress.sh
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?name}
root=/tmp/pg-$name
ver=$(pg_config --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')
if [ ! -d "$root/usr/lib/postgresql/$ver/bin" ]; then
	mkdir -p "$root/usr/lib/postgresql" "$root/usr/share/postgresql"
	cp -a "/usr/lib/postgresql/$ver" "$root/usr/lib/postgresql/"
	cp -a "/usr/share/postgresql/$ver" "$root/usr/share/postgresql/"
fi
# Files of an earlier install (a version or alias since removed) would stay
# visible to CREATE EXTENSION and pg_available_extension_versions
rm -f "$root/usr/share/postgresql/$ver/extension/"{semvec,vector}{.control,--*.sql}
make -s -j2
make -s install DESTDIR="$root"
echo "PGBIN=$root/usr/lib/postgresql/$ver/bin"
