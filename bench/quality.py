#!/usr/bin/python3
"""Quality of the default model through SQL: see quality.sh.

  quality.py DSN [NODE_MODULES]

STS-B test (1,379 pairs): Spearman correlation between the cosine similarity
of embed(sentence1) and embed(sentence2) and the gold score, computed from
semvec's vectors and, in the same run, from the JS reference runtime's.

BEIR SciFact (5,183 abstracts, 300 test queries): nDCG@10 and Recall@100 of
ORDER BY emb <=> embed(query), exact (sequential scan) and, when the hnsw
access method is installed, through an HNSW index.  Documents are embedded
as title + " " + abstract (only the first 128 tokens count).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import psycopg2

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "..", "shared", "data")
if not os.path.isdir(DATA):
    DATA = "/work/shared/data"
STSB = os.path.join(DATA, "stsb", "sts-test.tsv")
SCIFACT = os.path.join(DATA, "scifact")


def ranks(x):
    """Average ranks (ties share the mean rank), as Spearman needs."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def cosines(e1, e2):
    e1, e2 = np.asarray(e1, np.float64), np.asarray(e2, np.float64)
    return (e1 * e2).sum(1) / np.linalg.norm(e1, axis=1) / np.linalg.norm(e2, axis=1)


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def retrieval_metrics(ranked, qrels):
    """Mean nDCG@10 and Recall@100 over the queries that have judgements."""
    ndcg, recall = [], []
    for q, rel in qrels.items():
        got = ranked.get(q, [])
        dcg = sum(1.0 / np.log2(i + 2) for i, d in enumerate(got[:10]) if d in rel)
        idcg = sum(1.0 / np.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg.append(dcg / idcg)
        recall.append(len(set(got[:100]) & rel) / len(rel))
    return float(np.mean(ndcg)), float(np.mean(recall))


def scifact(conn):
    """Embed the corpus in SQL, then rank every query exactly and via HNSW."""
    if not os.path.exists(os.path.join(SCIFACT, "corpus.tsv")):
        print("SciFact skipped: %s not found" % SCIFACT)
        return
    corpus = read_tsv(os.path.join(SCIFACT, "corpus.tsv"))
    queries = read_tsv(os.path.join(SCIFACT, "queries.tsv"))
    qrels = {}
    for q, d, _ in read_tsv(os.path.join(SCIFACT, "qrels.tsv")):
        qrels.setdefault(q, set()).add(d)
    cur = conn.cursor()
    cur.execute("CREATE TEMP TABLE doc (id text PRIMARY KEY, emb vector(512))")
    for i in range(0, len(corpus), 256):
        part = corpus[i:i + 256]
        cur.execute("""INSERT INTO doc SELECT d, e
                       FROM unnest(%s::text[], embed(%s::text[])) AS u(d, e)""",
                    ([r[0] for r in part], [r[1] + " " + r[2] for r in part]))
    cur.execute("CREATE TEMP TABLE q (id text, emb vector(512))")
    cur.execute("INSERT INTO q SELECT i, e FROM unnest(%s::text[], embed(%s::text[])) AS u(i, e)",
                ([r[0] for r in queries], [r[1] for r in queries]))
    cur.execute("ANALYZE doc")

    def rank():
        cur.execute("""SELECT q.id, array(SELECT d.id FROM doc d ORDER BY d.emb <=> q.emb LIMIT 100)
                       FROM q""")
        return dict(cur.fetchall())

    cur.execute("SET enable_indexscan = off")
    exact = retrieval_metrics(rank(), qrels)
    print("SciFact test, %d queries, %d docs, exact search: nDCG@10 %.4f, Recall@100 %.4f"
          % (len(qrels), len(corpus), exact[0], exact[1]))
    cur.execute("SET enable_indexscan = on")
    cur.execute("SAVEPOINT s")
    try:
        cur.execute("CREATE INDEX ON doc USING hnsw (emb vector_cosine_ops)")
        cur.execute("SET hnsw.ef_search = 100")
    except psycopg2.Error as e:
        cur.execute("ROLLBACK TO SAVEPOINT s")
        print("SciFact via HNSW skipped: %s" % str(e).strip().splitlines()[0])
        return
    cur.execute("SET enable_seqscan = off")
    hnsw = retrieval_metrics(rank(), qrels)
    print("SciFact test, HNSW index (ef_search 100): nDCG@10 %.4f, Recall@100 %.4f"
          % (hnsw[0], hnsw[1]))


def main(dsn, modules):
    gold, s1, s2 = [], [], []
    with open(STSB, encoding="utf-8") as f:
        for line in f:
            g, a, b = line.rstrip("\n").split("\t")[:3]
            gold.append(float(g))
            s1.append(a)
            s2.append(b)
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    # cosine in SQL, the way a user would rank: 1 - (a <=> b)
    cur.execute("""SELECT 1 - (embed(a) <=> embed(b))
                   FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY p(a, b, i) ORDER BY i""",
                (s1, s2))
    sim_sql = [r[0] for r in cur.fetchall()]
    rho = spearman(sim_sql, gold)
    print("STS-B test, %d pairs, default model (USE-lite) via embed(): Spearman %.4f"
          % (len(gold), rho))

    scifact(conn)
    conn.rollback()
    if not modules:
        print("JS reference skipped: needs node and test/parity/setup.sh (or SEMVEC_PARITY_MODULES)")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False,
                                     dir=os.environ.get("SEMVEC_BENCH_WORK")) as f:
        json.dump(s1 + s2, f)
    r = subprocess.run(["node", os.path.join(ROOT, "bench", "quality.js"), modules, f.name],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("JS reference failed:", r.stderr.strip()[:500])
        return
    emb = json.loads(r.stdout)
    rho_js = spearman(cosines(emb[:len(s1)], emb[len(s1):]), gold)
    print("STS-B test, same pairs, JS reference runtime (@energetic-ai/embeddings): Spearman %.4f"
          % rho_js)
    print("difference %.2e; equal to 3 decimals: %s"
          % (rho - rho_js, "yes" if round(rho, 3) == round(rho_js, 3) else "NO"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
