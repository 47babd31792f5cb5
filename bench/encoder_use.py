#!/usr/bin/python3
"""USE-lite half of bench/encoder: see encoder_use.sh.

  encoder_use.py DSN N_SENTENCES [NODE_MODULES]

Prints ratio tables; every number is measured in this run on this machine.
"""
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import psycopg2

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
STSB = os.path.join(ROOT, "..", "shared", "data", "stsb", "sts-test.tsv")
if not os.path.exists(STSB):
    STSB = "/work/shared/data/stsb/sts-test.tsv"
SHORT = "PostgreSQL is a powerful open source relational database."  # 13 tokens
ROUNDS = 2
# The 9 dense products per token of USE-lite: (in, out), docs/use-lite.md
DENSE = [(256, 768), (256, 512), (256, 512), (512, 1536), (1536, 512),
         (512, 1536), (512, 512), (512, 1536), (1536, 512)]


def sentences(n):
    out = []
    with open(STSB, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            out += [p[1], p[2]]
    return out[:n]


def flops(lengths):
    """FLOPs of a forward pass (1 MAC = 2): dense, attention, head.  The
    last FFN output product runs on the pooled row (one per sentence)."""
    dense = 2 * sum(i * o for i, o in DENSE[:-1])
    pooled = 2 * (1536 * 512 + 512 * 512)
    return sum(dense * t + 3072 * t * t + pooled for t in lengths)


def sgemm_gflops(m, n, k, reps):
    """Single-thread OpenBLAS sgemm rate for C[m,n] = A[m,k] B[k,n]."""
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_set_num_threads(1)
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    c = np.zeros((m, n), np.float32)
    p = ctypes.POINTER(ctypes.c_float)
    args = (101, 111, 111, m, n, k, ctypes.c_float(1.0), a.ctypes.data_as(p), k,
            b.ctypes.data_as(p), n, ctypes.c_float(0.0), c.ctypes.data_as(p), n)
    lib.cblas_sgemm(*args)
    best = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        lib.cblas_sgemm(*args)
        best = min(best, time.perf_counter() - t)
    return 2.0 * m * n * k / best / 1e9


def kernel_gflops(rows_list, reps=7):
    """semvec's panel products (src/encoder/kernels/gemm_panels.c) and sgemm
    on the 9 USE-lite shapes for each row count; returns
    {rows: (semvec_gflops, sgemm_gflops)}."""
    work = tempfile.mkdtemp(dir=os.environ.get("SEMVEC_BENCH_WORK"))
    so = os.path.join(work, "gemm_panels.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-ftree-vectorize", "-fno-math-errno",
                    "-I", os.path.join(ROOT, "src"), "-o", so,
                    os.path.join(ROOT, "src", "encoder", "kernels", "gemm_panels.c"),
                    os.path.join(ROOT, "src", "simd", "simd.c"), "-lm"], check=True)
    lib = ctypes.CDLL(so)
    lib.SimdSetLevel(lib.SimdBestLevel())
    lib.EncPanelsSetThreads(1)
    lib.EncPanelsUsable.restype = ctypes.c_bool
    packed_ok = lib.EncPanelsUsable()
    blas = ctypes.CDLL("libopenblas.so.0")
    blas.openblas_set_num_threads(1)
    p = ctypes.POINTER(ctypes.c_float)
    rng = np.random.default_rng(0)
    mats = []
    for i, o in DENSE:
        w = rng.standard_normal((i, o), dtype=np.float32)
        # the layout EncPanelsPack derives at load: [out/16][in][16]
        packed = np.ascontiguousarray(w.reshape(i, o // 16, 16).transpose(1, 0, 2))
        mats.append((i, o, w, packed))
    out = {}
    for rows in rows_list:
        x = rng.standard_normal((rows, 1536), dtype=np.float32)
        y = np.zeros((rows, 1536), np.float32)
        fl = 2.0 * rows * sum(i * o for i, o in DENSE)
        best = [1e9, 1e9]
        for _ in range(reps):
            for mode in (0, 1):
                t = time.perf_counter()
                for i, o, w, packed in mats:
                    if mode == 0 and packed_ok:
                        lib.EncPanelsGemm(x.ctypes.data_as(p), rows, i, packed.ctypes.data_as(p),
                                          None, o, y.ctypes.data_as(p), ctypes.c_bool(False))
                    else:
                        blas.cblas_sgemm(101, 111, 111, rows, o, i, ctypes.c_float(1.0),
                                         x.ctypes.data_as(p), i, w.ctypes.data_as(p), o,
                                         ctypes.c_float(0.0), y.ctypes.data_as(p), o)
                best[mode] = min(best[mode], time.perf_counter() - t)
        out[rows] = (fl / best[0] / 1e9, fl / best[1] / 1e9)
    return out


def median_ms(xs):
    return statistics.median(xs) * 1000


def run(dsn, n, modules):
    sents = sentences(n)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET semvec.blas_threads = 1")

    # First call in fresh backends, minus a cached call: with the library
    # (dlopen of semvec, OpenBLAS, ICU) and with it already loaded
    loads, firsts = [], []
    for i in range(10):
        c2 = psycopg2.connect(dsn)
        k2 = c2.cursor()
        if i % 2:
            k2.execute("LOAD 'semvec'")
        t = time.perf_counter()
        k2.execute("SELECT embed('warm') IS NOT NULL")
        first = time.perf_counter() - t
        t = time.perf_counter()
        k2.execute("SELECT embed('warm up') IS NOT NULL")
        (loads if i % 2 else firsts).append(first - (time.perf_counter() - t))
        c2.close()

    cur.execute("""SELECT (SELECT count(*) FROM embed_tokens(t))
                   FROM unnest(%s::text[]) WITH ORDINALITY s(t, i) ORDER BY i""", (sents,))
    lengths = [r[0] for r in cur.fetchall()]

    cur.execute("""CREATE FUNCTION pg_temp.core_ms(t text[], b int) RETURNS float8 AS $$
        DECLARE t0 timestamptz; i int := 1;
        BEGIN
          t0 := clock_timestamp();
          WHILE i <= cardinality(t) LOOP
            IF b = 1 THEN PERFORM embed(t[i]);
            ELSE PERFORM embed(t[i:i + b - 1]); END IF;
            i := i + b;
          END LOOP;
          RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
        END $$ LANGUAGE plpgsql""")

    # Single short query: distinct texts so nothing is constant-folded
    cur.execute("SELECT count(*) FROM embed_tokens(%s)", (SHORT,))
    short_tokens = cur.fetchone()[0]
    shorts = [SHORT.replace(".", " " * (i % 2) + ".") for i in range(200)]
    short_core = short_sql = 1e9
    for _ in range(ROUNDS):
        cur.execute("SELECT pg_temp.core_ms(%s, 1)", (shorts,))
        short_core = min(short_core, cur.fetchone()[0] / len(shorts))
        lat = []
        for s in shorts:
            t = time.perf_counter()
            cur.execute("SELECT embed(%s)", (s,))
            cur.fetchall()
            lat.append(time.perf_counter() - t)
        short_sql = min(short_sql, median_ms(lat))

    # Rounds alternate semvec and the JS runtime, keeping each one's best
    # round, so that load from other processes skews neither side
    if modules:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False,
                                         dir=os.environ.get("SEMVEC_BENCH_WORK")) as f:
            json.dump(sents, f)
    rows, js = {}, None
    peaks = [sgemm_gflops(1024, 1024, 1024, 5)]
    for _ in range(ROUNDS):
        for b in (1, 8, 32):
            lat = []
            t0 = time.perf_counter()
            for i in range(0, len(sents), b):
                t = time.perf_counter()
                if b == 1:
                    cur.execute("SELECT embed(%s)", (sents[i],))
                else:
                    cur.execute("SELECT embed(%s::text[])", (sents[i:i + b],))
                cur.fetchall()
                lat.append(time.perf_counter() - t)
            sql_s = time.perf_counter() - t0
            cur.execute("SELECT pg_temp.core_ms(%s, %s)", (sents, b))
            core_s = cur.fetchone()[0] / 1000
            old = rows.get(b)
            rows[b] = {"sql_s": min(sql_s, old["sql_s"]) if old else sql_s,
                       "sql_lat": min(median_ms(lat), old["sql_lat"]) if old else median_ms(lat),
                       "core_s": min(core_s, old["core_s"]) if old else core_s}
        if modules:
            r = subprocess.run(["node", os.path.join(ROOT, "bench", "encoder_use.js"), modules,
                                f.name, SHORT], capture_output=True, text=True)
            if r.returncode != 0:
                print("JS reference failed:", r.stderr.strip()[:500])
                modules = ""
            else:
                new = json.loads(r.stdout)
                if js is None:
                    js = new
                else:
                    js["short_ms"] = min(js["short_ms"], new["short_ms"])
                    js["load_ms"] = min(js["load_ms"], new["load_ms"])
                    for k, v in new["batches"].items():
                        if v["total_s"] < js["batches"][k]["total_s"]:
                            js["batches"][k] = v
        peaks.append(sgemm_gflops(1024, 1024, 1024, 5))

    peak = max(peaks)
    fl = flops(lengths)
    tok = sum(lengths)
    kern = kernel_gflops([short_tokens, 32 * round(tok / len(lengths)), 1024])

    print("USE-lite (default model), %d STS-B test sentences, %d tokens (mean %.1f), 1 thread"
          % (len(sents), tok, tok / len(sents)))
    print("machine: %s; OpenBLAS sgemm peak (1024^3, 1 thread, best of %d): %.1f GFLOP/s"
          % (os.uname().machine, len(peaks), peak))
    print("each rate: best of %d rounds alternating semvec and the JS runtime" % ROUNDS)
    print()
    print("%-6s %11s %11s %11s %11s %9s %9s %10s %8s"
          % ("batch", "sql sent/s", "core sent/s", "js sent/s", "sql lat ms", "core/js",
             "sql/js", "core GF/s", "%peak"))
    for b, r in rows.items():
        sql_rate = len(sents) / r["sql_s"]
        core_rate = len(sents) / r["core_s"]
        js_rate = len(sents) / js["batches"][str(b)]["total_s"] if js else float("nan")
        gf = fl / r["core_s"] / 1e9
        print("%-6d %11.1f %11.1f %11.1f %11.2f %9.2f %9.2f %10.1f %7.0f%%"
              % (b, sql_rate, core_rate, js_rate, r["sql_lat"], core_rate / js_rate,
                 sql_rate / js_rate, gf, 100 * gf / peak))
    print("core GF/s counts the model's dense FLOPs per sentence; the FFN output products skip the")
    print("terms of zero activations (about 93%), so the work actually done is smaller")
    print()
    print("dense products alone (src/encoder/kernels/gemm_panels.c vs cblas_sgemm, the 9 USE-lite shapes):")
    print("%-6s %12s %12s %8s %8s" % ("rows", "semvec GF/s", "sgemm GF/s", "ratio", "%peak"))
    for m, (ours, blas) in kern.items():
        print("%-6d %12.1f %12.1f %8.2f %7.0f%%" % (m, ours, blas, ours / blas, 100 * ours / peak))
    print()
    print("single %d-token query after caching: core %.2f ms, SQL median %.2f ms%s"
          % (short_tokens, short_core, short_sql,
             ", JS %.2f ms (core/JS speed-up %.1fx)" % (js["short_ms"], js["short_ms"] / short_core)
             if js else ""))
    print("first-call model load (fresh backend, library loaded, minus a cached call): "
          "median %.1f ms (min %.1f)" % (median_ms(loads), min(loads) * 1000))
    print("first embed() in a fresh backend incl. loading the library: median %.1f ms%s"
          % (median_ms(firsts), ", JS model load %.1f ms" % js["load_ms"] if js else ""))
    if not js:
        print("JS reference skipped: needs node and test/parity/setup.sh (or SEMVEC_PARITY_MODULES)")


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")
