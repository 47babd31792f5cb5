#!/bin/bash
# semvec main job: question answering over the PostgreSQL manual, in SQL.
#
# On a fresh Debian 12 machine, as root, from the repository root:
#     demo/run.sh
# installs the build dependencies and the manual (postgresql-doc-15), builds
# and installs semvec with its default model, starts a throwaway cluster as
# user postgres in a temporary directory, ingests the manual (HTML -> text ->
# chunk() -> embed() -> hnsw, and a bm25 index), and answers a few questions with
# hybrid_search() (vector + BM25 full text).  Nothing outside
# the temporary directory is changed besides the packages and the extension
# install; the cluster is stopped and removed at the end.  Safe to re-run.
#
# Options:
#   --no-deps       do not run apt-get (dependencies already installed)
#   --no-build      do not build/install semvec (already installed for $PG_CONFIG)
#   --all-pages     ingest the whole manual (~1,170 pages, ~21k chunks) instead of
#                   the default selection (SQL commands, indexes, MVCC, locking,
#                   vacuum, EXPLAIN, partitioning, backup: ~220 pages, ~4k chunks)
#   --workers N     parallel embedding sessions (default: number of CPUs, max 8)
#   --keep          keep the cluster running at the end (prints how to connect)
#   --question Q    ask Q instead of the built-in questions (repeatable)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
deps=1 build=1 all=0 keep=0
workers=$(nproc 2>/dev/null || echo 2)
questions=()
while [ $# -gt 0 ]; do
	case "$1" in
		--no-deps) deps=0 ;;
		--no-build) build=0 ;;
		--all-pages) all=1 ;;
		--keep) keep=1 ;;
		--workers) workers=${2:?--workers N}; shift ;;
		--question) questions+=("${2:?--question TEXT}"); shift ;;
		-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
		*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$workers" -ge 1 ] 2>/dev/null || { echo "--workers must be a positive number" >&2; exit 2; }
[ "$workers" -le 8 ] || workers=8
if [ ${#questions[@]} -eq 0 ]; then
	questions=(
		"How do I build an index without locking out writes?"
		"How can I reclaim disk space used by deleted rows?"
		"Which lock does ALTER TABLE take, and what does it block?"
		"How do I see the execution plan and actual run time of a query?"
	)
fi

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
done_in() { printf '    done in %s s\n' "$(elapsed "$1")"; }

# ---------------------------------------------------------------- dependencies
if [ "$deps" = 1 ]; then
	say "Installing dependencies with apt-get"
	t=$(date +%s.%N)
	[ "$(id -u)" = 0 ] || { echo "run as root (or pass --no-deps --no-build)" >&2; exit 1; }
	# one list of packages for the demo and the tests (keeps a machine's own
	# node/npm, e.g. NodeSource's, which Debian's npm package conflicts with)
	bash "$here/tools/install_deps.sh" >/dev/null
	done_in "$t"
fi

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config)
PGBIN=${PGBIN:-$("$PG_CONFIG" --bindir)}
DOCDIR=${DOCDIR:-/usr/share/doc/postgresql-doc-15/html}
[ -d "$DOCDIR" ] || { echo "no PostgreSQL manual in $DOCDIR (apt-get install postgresql-doc-15)" >&2; exit 1; }

# ---------------------------------------------------------------- build
if [ "$build" = 1 ]; then
	say "Building semvec and its default model (make && make model && make install)"
	t=$(date +%s.%N)
	make -C "$here" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG"
	make -C "$here" -s model PG_CONFIG="$PG_CONFIG"
	make -C "$here" -s install PG_CONFIG="$PG_CONFIG"
	done_in "$t"
fi

# ---------------------------------------------------------------- cluster
say "Starting a throwaway cluster as user postgres"
t=$(date +%s.%N)
runas=postgres
[ "$(id -u)" = 0 ] || runas=""
as_pg() { if [ -n "$runas" ]; then runuser -u "$runas" -- "$@"; else "$@"; fi; }
work=$(mktemp -d /tmp/semvec-demo.XXXXXX)
chmod 755 "$work"
[ -z "$runas" ] || chown "$runas" "$work"
# a Unix socket in our own directory: no TCP port is opened or can collide
port=$((20000 + RANDOM % 20000))
cleanup() {
	if [ "$keep" = 0 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$work/data" -A trust -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 ||
	{ cat "$work/initdb.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$work/data" -w -l "$work/server.log" \
	-o "-p $port -k $work -c listen_addresses='' -c shared_buffers=256MB -c maintenance_work_mem=512MB" \
	start >/dev/null
psql() { as_pg "$PGBIN/psql" -h "$work" -p "$port" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql -c "CREATE EXTENSION semvec"
echo "    cluster in $work (socket directory, port $port)"
done_in "$t"

# ---------------------------------------------------------------- corpus
say "Converting the PostgreSQL manual from HTML to text"
t=$(date +%s.%N)
if [ "$all" = 1 ]; then
	pages=("$DOCDIR"/*.html)
else
	mapfile -t pages < <(ls "$DOCDIR"/*.html | grep -E '/(sql-|indexes|mvcc|routine-vacuuming|explicit-locking|populate|using-explain|ddl-partitioning|backup|continuous-archiving)[^/]*\.html$')
fi
python3 "$here/demo/html2text.py" "${pages[@]}" >"$work/manual.csv"
chmod 644 "$work/manual.csv"
echo "    ${#pages[@]} pages, $(du -h "$work/manual.csv" | cut -f1) of text"
done_in "$t"

say "Loading pages and chunking them with chunk() (model tokenizer, ICU sentences)"
t=$(date +%s.%N)
psql <<SQL
CREATE TABLE docs (id serial PRIMARY KEY, page text, title text, body text);
\copy docs (page, title, body) FROM '$work/manual.csv' CSV
CREATE TABLE chunks (
	id bigserial PRIMARY KEY,
	doc_id int NOT NULL REFERENCES docs,
	ord int NOT NULL,
	chunk text NOT NULL,
	n_tokens int,
	emb vector(512)
);
INSERT INTO chunks (doc_id, ord, chunk, n_tokens)
SELECT d.id, c.ord, c.chunk, c.n_tokens
FROM docs d, LATERAL chunk(d.body) c;
SELECT format('    %s pages -> %s chunks, %s tokens (avg %s per chunk, max %s)',
              (SELECT count(*) FROM docs), count(*), sum(n_tokens),
              round(avg(n_tokens)), max(n_tokens)) FROM chunks \gset
\echo :format
SQL
done_in "$t"

say "Embedding chunks with embed(text[]) in $workers parallel sessions (CALL embed_table)"
t=$(date +%s.%N)
total=$(psql -At -c "SELECT count(*) FROM chunks")
pids=()
for _ in $(seq "$workers"); do
	psql -c "CALL embed_table('chunks', batch => 32, quiet => true)" &
	pids+=($!)
done
# progress from a separate session: committed batches are visible at once
while :; do
	sleep 5
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	left=$(psql -At -c "SELECT count(*) FROM chunks WHERE emb IS NULL")
	awk -v d=$((total - left)) -v n="$total" -v s="$(elapsed "$t")" \
		'BEGIN { printf "    %d / %d chunks embedded (%.0f%%), %.0f chunks/s\n", d, n, 100 * d / (n ? n : 1), d / (s > 0 ? s : 1) }'
	[ "$alive" = 1 ] || break
done
for p in "${pids[@]}"; do wait "$p"; done
done_in "$t"

say "Building the hnsw index and the bm25 full-text index"
t=$(date +%s.%N)
if [ "$(psql -At -c "SELECT count(*) FROM pg_am WHERE amname = 'hnsw'")" = 1 ]; then
	psql -c "CREATE INDEX chunks_emb ON chunks USING hnsw (emb vector_cosine_ops)"
else
	echo "    (this build has no hnsw access method: vector search scans the table)"
fi
psql -c "CREATE INDEX chunks_bm25 ON chunks USING bm25 (chunk)" -c "ANALYZE docs, chunks"
done_in "$t"

# ---------------------------------------------------------------- questions
say "Answering questions: hybrid_search() = hnsw vector search + bm25 full text, fused"
psql -At -c "SELECT DISTINCT '    full-text side: ' || text_path FROM hybrid_search('chunks', 'vacuum', k => 1)"
for q in "${questions[@]}"; do
	printf '\n\033[1mQ: %s\033[0m\n' "$q"
	psql -v q="$q" <<'SQL'
\timing on
SELECT h.score::numeric(6,4) AS score, h.vector_rank AS vec, h.text_rank AS txt,
       d.page, left(regexp_replace(c.chunk, '\s+', ' ', 'g'), 150) || ' ...' AS chunk
FROM hybrid_search('chunks', :'q', k => 3) h
JOIN chunks c ON c.id = h.id JOIN docs d ON d.id = c.doc_id
ORDER BY h.score DESC;
SQL
done

say "Finished in $(elapsed "$t_start") s"
if [ "$keep" = 1 ]; then
	echo "    cluster kept running: $PGBIN/psql -h $work -p $port postgres"
	echo "    stop it with: runuser -u postgres -- $PGBIN/pg_ctl -D $work/data stop"
fi
