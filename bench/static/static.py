#!/usr/bin/python3
"""Static word vectors (glove-100d) against the default model: see run.sh.

Quality: STS-B test (1,379 pairs), Spearman of the cosine of embed(a) and
embed(b) with the gold score; SciFact test (300 claims over 5,183
abstracts, title + " " + abstract), nDCG@10 and Recall@100 of exact cosine
search.  Speed (server CPU time of the backend, so that other load on the
machine and the client round trip do not count): one short query embedded
200 times in a PL/pgSQL loop; the 5,183 SciFact documents embedded with
embed(text[]) in batches of 64; model load in a new backend.  Models
alternate within each round; best of three rounds.
"""
import os
import sys
import time

import numpy as np
import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import quality  # noqa: E402  (reads the data paths, spearman, nDCG)

MODELS = ["default", "glove-100d"]
SHORT = "A man is playing a flute at the concert."


def backend_cpu(conn):
    with open("/proc/%d/stat" % conn.get_backend_pid()) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vectors(cur, texts, model):
    out = []
    for i in range(0, len(texts), 256):
        cur.execute("SELECT e::text FROM unnest(embed(%s::text[], %s)) e", (texts[i:i + 256], model))
        out += [np.array(r[0][1:-1].split(","), dtype=np.float32) for r in cur.fetchall()]
    return np.stack(out)


def cosine(a, b):
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(na * nb, 1e-12)


def main(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET semvec.blas_threads = 1")
    rows = quality.read_tsv(quality.STSB)
    gold = [float(r[0]) for r in rows]
    have_scifact = os.path.exists(os.path.join(quality.SCIFACT, "corpus.tsv"))
    if have_scifact:
        corpus = quality.read_tsv(os.path.join(quality.SCIFACT, "corpus.tsv"))
        queries = quality.read_tsv(os.path.join(quality.SCIFACT, "queries.tsv"))
        qrels = {}
        for q, d, _ in quality.read_tsv(os.path.join(quality.SCIFACT, "qrels.tsv")):
            qrels.setdefault(q, set()).add(d)
        docs = [r[1] + " " + r[2] for r in corpus]
    else:
        print("SciFact skipped: %s not found" % quality.SCIFACT)
        docs = [r[1] for r in rows] * 4

    quality_rows = {}
    for m in MODELS:
        a = vectors(cur, [r[1] for r in rows], m)
        b = vectors(cur, [r[2] for r in rows], m)
        rho = quality.spearman(cosine(a, b), gold)
        ndcg = rec = float("nan")
        if have_scifact:
            d = vectors(cur, docs, m)
            q = vectors(cur, [r[1] for r in queries], m)
            dn = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
            qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            s = qn @ dn.T
            ranked = {}
            for i, r in enumerate(queries):
                top = np.argsort(-s[i], kind="stable")[:100]
                ranked[r[0]] = [corpus[j][0] for j in top]
            ndcg, rec = quality.retrieval_metrics(ranked, qrels)
        quality_rows[m] = (rho, ndcg, rec)

    cur.execute("""CREATE OR REPLACE FUNCTION pg_temp.loop(t text, m text, n int) RETURNS void AS $$
        BEGIN FOR i IN 1..n LOOP PERFORM embed(t, m); END LOOP; END $$ LANGUAGE plpgsql""")
    cur.execute("SELECT count(*) FROM embed_tokens(%s, 'glove-100d')", (SHORT,))
    short_words = cur.fetchone()[0]
    lat = {m: float("inf") for m in MODELS}
    thr = {m: float("inf") for m in MODELS}
    load = {m: float("inf") for m in MODELS}
    for _ in range(3):
        for m in MODELS:
            c2 = psycopg2.connect(dsn)
            k2 = c2.cursor()
            t0 = backend_cpu(c2)
            k2.execute("SELECT embed('x', %s) IS NOT NULL", (m,))
            k2.fetchall()
            load[m] = min(load[m], backend_cpu(c2) - t0)
            c2.close()
            cur.execute("SELECT embed('warm', %s) IS NOT NULL", (m,))
            # enough calls for a second of CPU (the clock ticks every 10 ms)
            calls = 200 if m == "default" else 20000
            t0 = backend_cpu(conn)
            cur.execute("SELECT pg_temp.loop(%s, %s, %s)", (SHORT, m, calls))
            lat[m] = min(lat[m], (backend_cpu(conn) - t0) / calls)
            t0 = backend_cpu(conn)
            for i in range(0, len(docs), 64):
                cur.execute("SELECT count(*) FROM unnest(embed(%s::text[], %s))", (docs[i:i + 64], m))
                cur.fetchall()
            thr[m] = min(thr[m], backend_cpu(conn) - t0)

    print("bench/static: glove-100d (static GloVe 6B 100-d, Model2Vec layout) against the default"
          " model (USE-lite), through SQL, 1 thread; speed = CPU seconds of the backend, best of 3")
    print()
    print("| model | dims | STS-B test Spearman | SciFact nDCG@10 | SciFact Recall@100 |"
          " short query ms (CPU) | docs/s, batches of 64 (CPU) | load in a new backend, ms (CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    for m, dims in zip(MODELS, (512, 100)):
        rho, ndcg, rec = quality_rows[m]
        print("| %s | %d | %.4f | %.4f | %.4f | %.4f | %.0f | %.0f |"
              % (m, dims, rho, ndcg, rec, lat[m] * 1000, len(docs) / thr[m], load[m] * 1000))
    d, g = MODELS
    print()
    print("glove-100d / default: short query %.0fx faster, batch throughput %.0fx; quality ratio"
          " STS-B %.2f, SciFact nDCG@10 %.2f"
          % (lat[d] / lat[g], thr[d] / thr[g], quality_rows[g][0] / quality_rows[d][0],
             quality_rows[g][1] / quality_rows[d][1]))
    print("short query: %r (%d words); documents: %d SciFact title + abstract texts (first 512"
          " words for glove-100d, 128 tokens for the default model)" % (SHORT, short_words, len(docs)))
    print("load average at the end: %.2f (%d CPUs)" % (os.getloadavg()[0], os.cpu_count()))


if __name__ == "__main__":
    main(sys.argv[1])
