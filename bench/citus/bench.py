#!/usr/bin/python3
"""bench/citus, stages 3 and 4 (run by bench/citus/run.sh): exact and hnsw
top-10 on one node against the same vectors on Citus, latency and recall@10,
where the question is embedded, and hybrid_search agreement.

Both sides hold the same chunks with the same vectors (run.sh copies them).
Queries alternate between the two sides (one side first on even queries, the
other on odd ones), so both see the same machine load.  Latency is the wall
time of one prepared EXECUTE from this client, rows fetched."""
import argparse
import json
import os
import statistics
import time

import psycopg2

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--single", type=int, required=True)
ap.add_argument("--coordinator", type=int, required=True)
ap.add_argument("--user", default="postgres")
ap.add_argument("--queries", type=int, default=300)
ap.add_argument("--shards", type=int, default=32)
ap.add_argument("--exact-latency-queries", type=int, default=50)
ap.add_argument("--hybrid-queries", type=int, default=50)
ap.add_argument("--ef", default="40,100,200")
ap.add_argument("--truth", help="file caching the exact answers (JSON) for reruns on the same vectors")
a = ap.parse_args()


def connect(port):
    c = psycopg2.connect(host=a.host, port=port, dbname="postgres", user=a.user)
    c.autocommit = True
    return c


def ms(x):
    return "%.2f" % (1000 * x)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Side:
    def __init__(self, name, port):
        self.name, self.port = name, port
        self.conn = connect(port)

    def reconnect(self):
        self.conn.close()
        self.conn = connect(self.port)

    def run(self, sql, args=None):
        cur = self.conn.cursor()
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None

    def timed(self, sql, args=None):
        cur = self.conn.cursor()
        t = time.perf_counter()
        cur.execute(sql, args)
        rows = cur.fetchall()
        return time.perf_counter() - t, rows


S = Side("one node", a.single)
C = Side("Citus", a.coordinator)

qs = S.run("SELECT id, q, embed(q)::text FROM queries ORDER BY id LIMIT %s", (a.queries,))
nq = len(qs)


def interleaved(prepare, execute, arg, n=None, rows_too=False):
    """Run EXECUTE for each query on both sides, alternating which goes first;
    returns {side: (latencies, first columns[, rows])}"""
    out = {}
    for side in (S, C):
        side.run("DEALLOCATE ALL")
        side.run(prepare)
        out[side] = ([], [], [])
    for i, q in enumerate(qs[:n] if n else qs):
        order = (S, C) if i % 2 == 0 else (C, S)
        for side in order:
            t, rows = side.timed(execute, (arg(q),))
            out[side][0].append(t)
            out[side][1].append([r[0] for r in rows])
            if rows_too:
                out[side][2].append(rows)
    return out


def recall(results, truth):
    hits = sum(len(set(r) & set(t)) for r, t in zip(results, truth))
    return hits / sum(len(t) for t in truth)


def row(label, *cells):
    print("%-50s" % label + "".join("%12s" % c for c in cells))


KNN = "PREPARE knn(vector) AS SELECT id, emb <=> $1 FROM chunks ORDER BY emb <=> $1 LIMIT 10"
KNN_EXEC = "EXECUTE knn(%s::vector)"

# ---- 3. exact search (no index yet): ground truth on one node, latency of both
print()
print("3. exact top-10 (no index: sequential scans; one node may use parallel workers)")
truth = None
if a.truth and os.path.exists(a.truth):
    with open(a.truth) as f:
        saved = json.load(f)
    if len(saved) >= nq:
        truth = [[r[0] for r in t] for t in saved[:nq]]
        truth_rows = saved[:nq]
        print("   ground truth: %d queries, read from %s (an earlier run on the same vectors)" % (nq, a.truth))
if truth is None:
    t = time.perf_counter()
    S.run(KNN)
    truth_rows = [[list(r) for r in S.run(KNN_EXEC, (q[2],))] for q in qs]
    truth = [[r[0] for r in t] for t in truth_rows]
    print("   ground truth: %d queries on one node in %.1f s" % (nq, time.perf_counter() - t))
    if a.truth:
        with open(a.truth, "w") as f:
            json.dump(truth_rows, f)
ex = interleaved(KNN, KNN_EXEC, lambda q: q[2], a.exact_latency_queries, rows_too=True)
# the same rows, or the same distances in another order (ties between
# chunks with the same text)
same = sum(1 for r, g in zip(ex[C][1], truth) if r == g)
ties = sum(1 for r, g in zip(ex[C][2], truth_rows)
           if [x[0] for x in r] != [x[0] for x in g]
           and all(abs(x[1] - y[1]) < 1e-9 for x, y in zip(r, g)))
row("", "p50 ms", "p95 ms", "mean ms")
for side in (S, C):
    lat = ex[side][0]
    row("   %s, %d queries" % (side.name, len(lat)), ms(pct(lat, 50)), ms(pct(lat, 95)),
        ms(statistics.mean(lat)))
row("   Citus / one node, p50 latency",
    "%.2fx" % (pct(ex[C][0], 50) / pct(ex[S][0], 50)))
print("   Citus's exact top-10 is one node's on %d of %d queries; on %d more, the same distances"
      " with tied rows in another order" % (same, len(ex[C][1]), ties))

# ---- index builds
print()
print("   index builds (hnsw m=16, ef_construction=64, cosine; GIN on tsv)")
row("", "hnsw s", "GIN s")
for side in (S, C):
    t0 = time.perf_counter()
    side.run("CREATE INDEX chunks_emb ON chunks USING hnsw (emb vector_cosine_ops)")
    t1 = time.perf_counter()
    side.run("CREATE INDEX chunks_tsv ON chunks USING gin (tsv)")
    t2 = time.perf_counter()
    side.run("ANALYZE chunks")
    row("   %s" % side.name, "%.1f" % (t1 - t0), "%.1f" % (t2 - t1))

# ---- 4. hnsw top-10 at several ef_search
print()
print("4. top-10 through hnsw, %d SciFact queries (vector given), recall@10 against the exact answer" % nq)
print("   hnsw.ef_search set per database on both sides (Citus propagates it to the workers)")
# Do the shards answer through their index?  The planner may prefer a
# sequential scan on small shards (the cost of reading TOASTed vectors is not
# in its estimate); then the comparison is made with enable_seqscan = off on
# both sides, and says so
plan = "\n".join(r[0] for r in C.run(
    "EXPLAIN (COSTS OFF) SELECT id FROM chunks ORDER BY emb <=> %s::vector LIMIT 10", (qs[0][2],)))
forced = "Index Scan using chunks_emb_" not in plan
if forced:
    print("   NOTE: the shards' planner chose sequential scans for ORDER BY ... LIMIT 10 (%d rows per shard);"
          % (S.run("SELECT count(*) FROM chunks")[0][0] // a.shards))
    print("   the rows below are measured with enable_seqscan = off per database on both sides")
settings = "SET enable_seqscan = off" if forced else ""
row("", "p50 ms", "p95 ms", "QPS(1 cl.)", "recall@10")
uses = uses_s = None
given = None
for ef in [int(x) for x in a.ef.split(",")]:
    for side in (S, C):
        side.run("ALTER DATABASE postgres SET hnsw.ef_search = %d" % ef)
        if forced:
            side.run("ALTER DATABASE postgres SET enable_seqscan = off")
        side.reconnect()
    shown = C.run("SELECT string_agg(result, ',') FROM run_command_on_workers('SHOW hnsw.ef_search')")[0][0]
    if uses is None:
        plan = "\n".join(r[0] for r in C.run(
            "EXPLAIN (COSTS OFF) SELECT id FROM chunks ORDER BY emb <=> %s::vector LIMIT 10", (qs[0][2],)))
        uses = "Index Scan using chunks_emb_" in plan
        plan = "\n".join(r[0] for r in S.run(
            "EXPLAIN (COSTS OFF) SELECT id FROM chunks ORDER BY emb <=> %s::vector LIMIT 10", (qs[0][2],)))
        uses_s = "Index Scan using chunks_emb" in plan
    interleaved(KNN, KNN_EXEC, lambda q: q[2], 30)  # warm-up
    res = interleaved(KNN, KNN_EXEC, lambda q: q[2])
    if ef == 40:
        given = {side: pct(res[side][0], 50) for side in (S, C)}
    for side in (S, C):
        lat, r = res[side][:2]
        row("   ef_search %d, %s" % (ef, side.name), ms(pct(lat, 50)), ms(pct(lat, 95)),
            "%.0f" % (1 / statistics.mean(lat)), "%.3f" % recall(r, truth))
    row("   ef_search %d, Citus / one node (workers: %s)" % (ef, shown),
        "%.2fx" % (pct(res[C][0], 50) / pct(res[S][0], 50)),
        "%.2fx" % (pct(res[C][0], 95) / pct(res[S][0], 95)), "",
        "%+.3f" % (recall(res[C][1], truth) - recall(res[S][1], truth)))
print("   through the hnsw index: one node %s, the shards %s" % ("yes" if uses_s else "NO (sequential scan)",
                                                               "yes" if uses else "NO (sequential scans)"))

# ---- where the question is embedded, and what it costs
for side in (S, C):
    side.run("ALTER DATABASE postgres SET hnsw.ef_search = 40")
    side.reconnect()
print()
print("   the question embedded in the query: ORDER BY emb <=> embed($1) LIMIT 10 (ef_search 40)")
res = interleaved("PREPARE knnq(text) AS SELECT id FROM chunks ORDER BY emb <=> embed($1) LIMIT 10",
                  "EXECUTE knnq(%s)", lambda q: q[1])
emb = interleaved("PREPARE e(text) AS SELECT embed($1)::text", "EXECUTE e(%s)", lambda q: q[1], 100)
row("", "p50 ms", "p95 ms", "embed p50")
for side in (S, C):
    row("   %s" % side.name, ms(pct(res[side][0], 50)), ms(pct(res[side][0], 95)), ms(pct(emb[side][0], 50)))
row("   Citus / one node", "%.2fx" % (pct(res[C][0], 50) / pct(res[S][0], 50)),
    "%.2fx" % (pct(res[C][0], 95) / pct(res[S][0], 95)))
if given:
    print("   embed() inside the query adds %s ms (p50) on one node and %s ms on Citus; embed() alone takes"
          " %s / %s ms:" % (ms(pct(res[S][0], 50) - given[S]), ms(pct(res[C][0], 50) - given[C]),
                           ms(pct(emb[S][0], 50)), ms(pct(emb[C][0], 50))))
    print("   on Citus that is %.1f times the cost of one embed() (once per shard would be ~%d times on %d shards)"
          % ((pct(res[C][0], 50) - given[C]) / pct(emb[C][0], 50), a.shards // 2, a.shards))
task_q = C.run("EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM chunks ORDER BY emb <=> embed(%s) LIMIT 10",
               (qs[0][1],))
task_q = next((r[0] for r in task_q if "Query:" in r[0]), "")
print("   the shards' query holds %s" % (
    "the embedded vector, no embed() call" if "embed(" not in task_q and "::public.vector" in task_q
    else "AN embed() CALL: " + task_q[:200]))

# ---- hybrid_search: same answers, latency
for side in (S, C):
    side.run("ALTER DATABASE postgres SET hnsw.ef_search = 100")
    if forced:
        side.run("ALTER DATABASE postgres SET enable_seqscan = off")
    side.reconnect()
print()
print("   hybrid_search(k => 10, pool => 100, tsv_col => 'tsv'), %d queries, ef_search 100 on every node"
      % min(a.hybrid_queries, nq))
res = interleaved("PREPARE h(text) AS SELECT id FROM hybrid_search('chunks', $1, k => 10, tsv_col => 'tsv')",
                  "EXECUTE h(%s)", lambda q: q[1], a.hybrid_queries)
same = sum(1 for x, y in zip(res[S][1], res[C][1]) if x == y)
overlap = statistics.mean(len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(res[S][1], res[C][1]))
row("", "p50 ms", "p95 ms")
for side in (S, C):
    row("   %s" % side.name, ms(pct(res[side][0], 50)), ms(pct(res[side][0], 95)))
row("   Citus / one node", "%.2fx" % (pct(res[C][0], 50) / pct(res[S][0], 50)),
    "%.2fx" % (pct(res[C][0], 95) / pct(res[S][0], 95)))
print("   identical top-10 on %d of %d queries; mean overlap %.3f" % (same, len(res[S][1]), overlap))

# ---- bm25: per-shard statistics
print()
print("   bm25 index (ORDER BY chunk <@> $1 LIMIT 10), %d queries; each shard scores with its own statistics" % nq)
row("", "build s")
for side in (S, C):
    t0 = time.perf_counter()
    side.run("CREATE INDEX chunks_bm25 ON chunks USING bm25 (chunk)")
    row("   %s" % side.name, "%.1f" % (time.perf_counter() - t0))
    side.reconnect()
res = interleaved("PREPARE b(text) AS SELECT id FROM chunks ORDER BY chunk <@> $1 LIMIT 10",
                  "EXECUTE b(%s)", lambda q: q[1])
same = sum(1 for x, y in zip(res[S][1], res[C][1]) if x == y)
overlap = statistics.mean(len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(res[S][1], res[C][1]))
row("", "p50 ms", "p95 ms")
for side in (S, C):
    row("   %s" % side.name, ms(pct(res[side][0], 50)), ms(pct(res[side][0], 95)))
row("   Citus / one node", "%.2fx" % (pct(res[C][0], 50) / pct(res[S][0], 50)),
    "%.2fx" % (pct(res[C][0], 95) / pct(res[S][0], 95)))
print("   identical top-10 on %d of %d queries; mean overlap with one node's top-10 %.3f" % (same, len(res[S][1]), overlap))

for side in (S, C):
    side.run("ALTER DATABASE postgres RESET hnsw.ef_search")
    side.run("ALTER DATABASE postgres RESET enable_seqscan")
