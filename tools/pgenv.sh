# Sourced by the test scripts: where PostgreSQL is and how to run as a non-root user.
#
# PGBIN      server binaries to test against (default: pg_config --bindir).
#            A private copy made by tools/devinstall.sh can be used instead.
# as_pg CMD  runs CMD as an unprivileged user when we are root, because the
#            PostgreSQL server refuses to run as root.
PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=${PGBIN:-$($PG_CONFIG --bindir)}
PGXS_LIB=$(dirname "$($PG_CONFIG --pgxs)")/../..
PG_REGRESS=$PGXS_LIB/src/test/regress/pg_regress
PG_TAP_LIB=$PGXS_LIB/src/test/perl
SEMVEC_TEST_USER=${SEMVEC_TEST_USER:-postgres}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$SEMVEC_TEST_USER" -- env PATH="$PATH" "$@"
	else
		"$@"
	fi
}

# A scratch directory the test user can write to
scratch_dir() {
	local d
	d=$(mktemp -d "/tmp/semvec-$1.XXXXXX")
	chmod 777 "$d"
	echo "$d"
}

# The checkout as the test user can read it: the checkout itself, or (when
# we are root and it lives somewhere the test user cannot read, such as
# /root) a world-readable copy in a scratch directory
test_tree() {
	local d
	if [ "$(id -u)" != 0 ] ||
		runuser -u "$SEMVEC_TEST_USER" -- test -r "$PWD/Makefile" 2>/dev/null; then
		echo "$PWD"
		return
	fi
	d=$(scratch_dir src)
	cp -a "$PWD/." "$d/"
	chmod -R a+rwX "$d"
	echo "$d"
}

# Start a throwaway server for a benchmark and create the extension:
#   bench_server BINDIR DIR PORT [postgresql.conf line ...]
# (cluster in DIR/data, Unix socket in DIR, log in DIR/log)
bench_server() {
	local bin=$1 dir=$2 port=$3 line
	shift 3
	as_pg "$bin/initdb" -D "$dir/data" -A trust >/dev/null
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "port = $port"
		for line in "$@"; do echo "$line"; done
	} >>"$dir/data/postgresql.conf"
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
	as_pg "$bin/psql" -h "$dir" -p "$port" -d postgres -qc 'CREATE EXTENSION semvec'
}
