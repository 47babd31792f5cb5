"""Single-query latency of embed() for several builds (see encoder_use_latency.sh)."""
import os
import statistics
import sys
import time

import psycopg2

SHORT = "PostgreSQL is a powerful open source relational database."  # 13 tokens
CALLS = 300
ROUNDS = 5

LOOP = """CREATE FUNCTION pg_temp.lat(t text[]) RETURNS float8[] AS $$
    DECLARE t0 timestamptz; r float8[] := '{}'; i int;
    BEGIN
      FOR i IN 1 .. cardinality(t) LOOP
        t0 := clock_timestamp();
        PERFORM embed(t[i]);
        r := r || extract(epoch FROM clock_timestamp() - t0) * 1000;
      END LOOP;
      RETURN r;
    END $$ LANGUAGE plpgsql"""


def schedstat(pid):
    """(ns on a CPU, ns waiting for one) of a backend, from the scheduler"""
    with open("/proc/%d/schedstat" % pid) as f:
        run, wait = f.read().split()[:2]
    return int(run), int(wait)


def main():
    args = sys.argv[1:]
    threads = [1]
    if os.cpu_count() and os.cpu_count() > 1:
        threads.append(os.cpu_count())
    # every build at semvec.blas_threads 1 (the default) and at one per CPU
    bins = ["%s, %d thr" % (a[4:], t) for a in args if a.startswith("bin=") for t in threads]
    dsns = [(a, t) for a in args if not a.startswith("bin=") for t in threads]
    # distinct texts so that nothing is constant-folded or cached
    texts = [SHORT.replace(".", " " * (i % 2) + ".") for i in range(CALLS)]
    curs = []
    pids = []
    for dsn, nthreads in dsns:
        c = psycopg2.connect(dsn)
        c.autocommit = True
        cur = c.cursor()
        cur.execute("SET semvec.blas_threads = %d" % nthreads)
        cur.execute(LOOP)
        cur.execute("SELECT count(*) FROM embed_tokens(%s)", (SHORT,))
        ntok = cur.fetchone()[0]
        cur.execute("SELECT pg_temp.lat(%s)", (texts[:50],))  # warm-up, load
        cur.execute("SELECT pg_backend_pid()")
        pids.append(cur.fetchone()[0])
        curs.append(cur)
    core = [[] for _ in curs]
    sql = [[] for _ in curs]
    cpu = [[] for _ in curs]
    wait = [[] for _ in curs]
    loads = []
    for _ in range(ROUNDS):
        loads.append(os.getloadavg()[0])
        for i, cur in enumerate(curs):
            r0, w0 = schedstat(pids[i])
            cur.execute("SELECT pg_temp.lat(%s)", (texts,))
            core[i].append(statistics.median(cur.fetchone()[0]))
            r1, w1 = schedstat(pids[i])
            cpu[i].append((r1 - r0) / 1e6 / len(texts))
            wait[i].append((w1 - w0) / 1e6 / len(texts))
            lat = []
            for s in texts[:100]:
                t = time.perf_counter()
                cur.execute("SELECT embed(%s)", (s,))
                cur.fetchall()
                lat.append((time.perf_counter() - t) * 1000)
            sql[i].append(statistics.median(lat))
    print("single %d-token query, model cached; %d calls x %d rounds; load average %.1f-%.1f (%d CPUs)"
          % (ntok, CALLS, ROUNDS, min(loads), max(loads), os.cpu_count()))
    print("%-44s %14s %14s %8s %10s %8s" % ("build", "core med ms", "SQL med ms", "vs #1",
                                            "CPU ms", "wait ms"))
    for i in range(len(curs)):
        b = min(core[i])
        print("%-44s %6.2f (%5.2f) %6.2f (%5.2f) %7.2fx %10.2f %8.2f"
              % (bins[i][-44:], b, statistics.median(core[i]), min(sql[i]),
                 statistics.median(sql[i]), min(core[0]) / b, min(cpu[i]),
                 statistics.median(wait[i])))
    print("core/SQL: best round's median wall time per call (median over rounds in parentheses);")
    print("CPU ms: the backend's main thread's CPU time per call in the in-backend loop (best round;")
    print("        worker threads not included);")
    print("wait ms: its time per call waiting for a CPU held by other processes (median round)")


main()
