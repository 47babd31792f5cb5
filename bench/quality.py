#!/usr/bin/python3
"""Quality of the default model through SQL: see quality.sh.

  quality.py DSN [NODE_MODULES]

STS-B test (1,379 pairs): Spearman correlation between the cosine similarity
of embed(sentence1) and embed(sentence2) and the gold score, computed from
semvec's vectors and, in the same run, from the JS reference runtime's.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import psycopg2

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
STSB = os.path.join(ROOT, "..", "shared", "data", "stsb", "sts-test.tsv")
if not os.path.exists(STSB):
    STSB = "/work/shared/data/stsb/sts-test.tsv"


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
