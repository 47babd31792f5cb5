#!/usr/bin/python3
"""Two semvec builds side by side on one model: the A/B half of
bench/encoder_use.sh and bench/encoder_bert.sh (BASE_PGBIN=...).

  encoder_ab.py MODEL N_SENTENCES BASE_DSN NEW_DSN

Each round measures every case on the base build and right after on the
new one (the order alternates between rounds), so that load from other
processes hits both alike.  Ratios are new/base speed (base time / new time: > 1
means the new build is faster), so the no-slowdown target is >= 0.97 for
every row; the table gives the median over rounds of each round's ratio
(the two builds of a round ran back to back, so they saw the same load),
and the ratio of the best rounds.  Each in-backend case is
timed twice: wall clock, and the backend's CPU time (from
/proc/PID/schedstat), which waiting for a CPU held by other processes
does not inflate.  Memory rows compare a fresh backend's footprint after
its first embed().
"""
import os
import statistics
import sys
import time

import psycopg2

STSB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                    "data", "stsb", "sts-test.tsv")
if not os.path.exists(STSB):
    STSB = "/work/shared/data/stsb/sts-test.tsv"
ROUNDS = int(os.environ.get("SEMVEC_AB_ROUNDS", "6"))
LOADS = 6  # fresh backends per build and round for the load time


def sentences(n):
    out = []
    with open(STSB, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            out += [p[1], p[2]]
    return out[:n]


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_ms(pid):
    """CPU time of a process so far, in ms (ns resolution)"""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e6


def connect(dsn):
    c = psycopg2.connect(dsn)
    c.autocommit = True
    return c


def first_call(dsn, model):
    """A fresh backend with the library loaded: ms of the first embed()
    minus a cached call (the model load), and its memory after it"""
    c = connect(dsn)
    k = c.cursor()
    k.execute("LOAD 'semvec'")
    pid = c.get_backend_pid()
    anon0 = status_kb(pid, "RssAnon")
    c0 = cpu_ms(pid)
    t = time.perf_counter()
    k.execute("SELECT embed('warm', %s) IS NOT NULL", (model,))
    first = time.perf_counter() - t
    c1 = cpu_ms(pid)
    t = time.perf_counter()
    k.execute("SELECT embed('warm up', %s) IS NOT NULL", (model,))
    cached = time.perf_counter() - t
    c2 = cpu_ms(pid)
    k.execute("""SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts
                 WHERE name = 'semvec model'""")
    ctx = k.fetchone()[0]
    mem = {"anon": status_kb(pid, "RssAnon") - anon0, "file": status_kb(pid, "RssFile"),
           "ctx": ctx / 1024}
    c.close()
    return (first - cached) * 1000, (c1 - c0) - (c2 - c1), mem


CORE = """CREATE FUNCTION pg_temp.core_ms(t text[], b int, m text) RETURNS float8 AS $$
    DECLARE t0 timestamptz; i int := 1;
    BEGIN
      t0 := clock_timestamp();
      WHILE i <= cardinality(t) LOOP
        IF b = 1 THEN PERFORM embed(t[i], m);
        ELSE PERFORM embed(t[i:i + b - 1], m); END IF;
        i := i + b;
      END LOOP;
      RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
    END $$ LANGUAGE plpgsql"""


def cases(model, sents, shorts):
    """The throughput and latency cases: (name, function(cur, pid) -> list
    of (row, value))"""
    def core(cur, pid, texts, b):
        c0 = cpu_ms(pid)
        cur.execute("SELECT pg_temp.core_ms(%s, %s, %s)", (texts, b, model))
        return cur.fetchone()[0], cpu_ms(pid) - c0

    def short_core(cur, pid):
        wall, cpu = core(cur, pid, shorts, 1)
        return [("short core ms", wall / len(shorts)), ("short core CPU ms", cpu / len(shorts))]

    def short_sql(cur, pid):
        lat = []
        for s in shorts[:100]:
            t = time.perf_counter()
            cur.execute("SELECT embed(%s, %s)", (s, model))
            cur.fetchall()
            lat.append((time.perf_counter() - t) * 1000)
        return [("short SQL ms (median)", statistics.median(lat))]

    def batch(b):
        def run(cur, pid):
            wall, cpu = core(cur, pid, sents, b)
            return [("batch %d core sent/s" % b, len(sents) / (wall / 1000)),
                    ("batch %d core sent/CPU-s" % b, len(sents) / (cpu / 1000))]
        return run

    def batch_sql(cur, pid):
        t = time.perf_counter()
        for i in range(0, len(sents), 32):
            cur.execute("SELECT embed(%s::text[], %s)", (sents[i:i + 32], model))
            cur.fetchall()
        return [("batch 32 SQL sent/s", len(sents) / (time.perf_counter() - t))]

    return [short_core, short_sql, batch(1), batch(8), batch(32), batch_sql]


def main():
    model, n, dsns = sys.argv[1], int(sys.argv[2]), sys.argv[3:5]
    labels = ["base", "new"]
    sents = sentences(n)
    short = "PostgreSQL is a powerful open source relational database."
    # distinct texts, so that nothing is constant-folded or cached
    shorts = [short.replace(".", " " * (i % 2) + ".") for i in range(200)]
    curs = []
    pids = []
    for dsn in dsns:
        c = connect(dsn)
        pids.append(c.get_backend_pid())
        k = c.cursor()
        k.execute("SET semvec.blas_threads = 1")
        k.execute(CORE)
        k.execute("SELECT embed('warm', %s) IS NOT NULL", (model,))
        curs.append(k)
    k = curs[0]
    k.execute("SELECT count(*) FROM embed_tokens(%s, %s)", (short, model))
    short_tokens = k.fetchone()[0]
    k.execute("SELECT sum((SELECT count(*) FROM embed_tokens(t, %s))) FROM unnest(%s::text[]) t",
              (model, sents))
    tokens = k.fetchone()[0]

    res = [{} for _ in dsns]
    loads = [[] for _ in dsns]
    load_cpus = [[] for _ in dsns]
    mems = [None for _ in dsns]
    avg = []
    for r in range(ROUNDS):
        avg.append(os.getloadavg()[0])
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for _ in range(LOADS // 2):
            for i in order:
                ms, cpu, mem = first_call(dsns[i], model)
                loads[i].append(ms)
                load_cpus[i].append(cpu)
                mems[i] = mem
        # each case on both builds back to back, so that the pair sees the
        # same load
        for case in cases(model, sents, shorts):
            for i in order:
                for key, v in case(curs[i], pids[i]):
                    res[i].setdefault(key, []).append(v)
    for i in range(2):
        res[i]["model load ms"] = loads[i]
        res[i]["model load CPU ms"] = load_cpus[i]

    print("A/B: model %s, %d STS-B test sentences (%d tokens), short query %d tokens, 1 thread;"
          % (model, len(sents), tokens, short_tokens))
    print("%d rounds, each case on both builds back to back (order alternating); load average %.1f-%.1f (%d CPUs)"
          % (ROUNDS, min(avg), max(avg), os.cpu_count()))
    print()
    print("| case | base (median) | new (median) | new/base speed, median of rounds | of the best rounds |")
    print("|---|---|---|---|---|")
    worst = None
    for key in res[0]:
        a, b = res[0][key], res[1][key]
        rate = "sent/" in key
        speed = (lambda x, y: y / x) if rate else (lambda x, y: x / y)
        paired = statistics.median(speed(x, y) for x, y in zip(a, b))
        best = speed(max(a), max(b)) if rate else speed(min(a), min(b))
        worst = paired if worst is None else min(worst, paired)
        print("| %s | %.2f | %.2f | %.3f | %.3f |"
              % (key, statistics.median(a), statistics.median(b), paired, best))
    print()
    print("lowest median ratio: %.3f (target >= 0.97)" % worst)
    print()
    print("memory of a fresh backend after its first embed() (last round):")
    print("| | base | new |")
    print("|---|---|---|")
    print("| private memory added by the load (RssAnon delta, kB) | %d | %d |"
          % (mems[0]["anon"], mems[1]["anon"]))
    print("| 'semvec model' memory context (kB) | %.0f | %.0f |" % (mems[0]["ctx"], mems[1]["ctx"]))
    print("| file-backed resident (RssFile, kB; weights shared via page cache) | %d | %d |"
          % (mems[0]["file"], mems[1]["file"]))
    print("model load: first embed() in a fresh backend with the library loaded, minus a cached call "
          "(%d per build, paired in order); CPU: the backend's CPU time" % len(loads[0]))


if __name__ == "__main__":
    main()
