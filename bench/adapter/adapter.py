#!/usr/bin/python3
"""Adapters on SciFact, all through SQL: see run.sh.

1. Load the 5,183 SciFact abstracts (title + " " + abstract) into a table and
   embed them with the default model (two sessions).
2. CALL train_adapter on scifact-train (809 claims, 919 pairs) with the
   corpus table as hard negatives, three ways: positives given as the stored
   vectors; positives given as text (embedded inside the call); and with a
   document map (documents re-mapped with adapt(emb, 'default+NAME:doc')).
   Wall-clock seconds of each CALL.
3. Vector-only nDCG@10 and Recall@100 on SciFact test (300 claims, never
   trained on): queries embedded with embed(q, model) in SQL, exact cosine
   ranking of all documents (what ORDER BY emb <=> q LIMIT 100 returns).
   Also split by whether a test claim's relevant documents were positives
   in training ("seen") or not ("novel").
"""
import os
import sys
import threading
import time

import numpy as np
import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import quality  # noqa: E402

TRAIN = os.path.join(os.path.dirname(quality.SCIFACT), "scifact-train")


def vecs(rows):
    return np.stack([np.array(r[1:-1].split(","), dtype=np.float32) for r in rows])


def main(dsn):
    if not os.path.exists(os.path.join(TRAIN, "qrels.tsv")):
        print("SKIP: SciFact train/test not found under %s" % os.path.dirname(TRAIN))
        return
    corpus = quality.read_tsv(os.path.join(quality.SCIFACT, "corpus.tsv"))
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TABLE doc (id text PRIMARY KEY, body text, emb vector(512))")
    cur.execute("CREATE TABLE train_q (qid text, claim text)")
    cur.execute("CREATE TABLE train_rel (qid text, doc text)")
    for r in corpus:
        cur.execute("INSERT INTO doc VALUES (%s, %s)", (r[0], r[1] + " " + r[2]))
    for r in quality.read_tsv(os.path.join(TRAIN, "queries.tsv")):
        cur.execute("INSERT INTO train_q VALUES (%s, %s)", r[:2])
    for r in quality.read_tsv(os.path.join(TRAIN, "qrels.tsv")):
        cur.execute("INSERT INTO train_rel VALUES (%s, %s)", r[:2])
    t0 = time.time()

    def embed_part(k):
        c = psycopg2.connect(dsn)
        c.autocommit = True
        c.cursor().execute("""UPDATE doc SET emb = embed(body)
                              WHERE abs(hashtext(id)) %% 2 = %s""", (k,))
        c.close()
    th = [threading.Thread(target=embed_part, args=(k,)) for k in (0, 1)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    print("corpus: %d documents embedded in %.0f s (2 sessions)" % (len(corpus), time.time() - t0))

    cur.execute("SELECT id, emb::text FROM doc ORDER BY id")
    rows = cur.fetchall()
    ids = [r[0] for r in rows]
    base_docs = vecs([r[1] for r in rows])
    queries = quality.read_tsv(os.path.join(quality.SCIFACT, "queries.tsv"))
    qrels = {}
    for q, d, _ in quality.read_tsv(os.path.join(quality.SCIFACT, "qrels.tsv")):
        qrels.setdefault(q, set()).add(d)
    cur.execute("SELECT DISTINCT doc FROM train_rel")
    trained_docs = {r[0] for r in cur.fetchall()}
    seen = {q: r for q, r in qrels.items() if r & trained_docs}
    novel = {q: r for q, r in qrels.items() if not (r & trained_docs)}

    def evaluate(model, docs):
        cur.execute("SELECT embed(%s::text[], %s)::text[]", ([r[1] for r in queries], model))
        qv = vecs(cur.fetchone()[0])
        dn = docs / np.linalg.norm(docs, axis=1, keepdims=True)
        qn = qv / np.linalg.norm(qv, axis=1, keepdims=True)
        s = qn @ dn.T
        ranked = {r[0]: [ids[j] for j in np.argsort(-s[i], kind="stable")[:100]]
                  for i, r in enumerate(queries)}
        return (quality.retrieval_metrics(ranked, qrels),
                quality.retrieval_metrics(ranked, seen)[0],
                quality.retrieval_metrics(ranked, novel)[0])

    results = [("base model (default)", None, evaluate("default", base_docs))]
    pairs_vec = "SELECT q.claim, d.emb FROM train_q q JOIN train_rel r USING (qid) JOIN doc d ON d.id = r.doc"
    pairs_txt = "SELECT q.claim, d.body FROM train_q q JOIN train_rel r USING (qid) JOIN doc d ON d.id = r.doc"
    runs = [("adapter, positives as stored vectors", "sf", pairs_vec, False),
            ("adapter, positives as text", "sftext", pairs_txt, False),
            ("adapter with document map", "sfdoc", pairs_vec, True)]
    for label, name, pairs, docmap in runs:
        t0 = time.time()
        cur.execute("CALL train_adapter(%s, pairs => %s, corpus => 'SELECT emb FROM doc ORDER BY id', "
                    "document_map => %s, seed => 0)", (name, pairs, docmap))
        secs = time.time() - t0
        cur.execute("SELECT validation FROM semvec_adapters WHERE name = %s", (name,))
        val = cur.fetchone()[0]
        docs = base_docs
        if docmap:
            cur.execute("SELECT adapt(emb, %s)::text FROM doc ORDER BY id", ("default+%s:doc" % name,))
            docs = vecs([r[0] for r in cur.fetchall()])
        results.append((label, (secs, val), evaluate("default+" + name, docs)))

    base = results[0][2][0][0]
    print()
    print("SciFact test (300 claims, 5,183 abstracts), vector-only exact search; adapters trained"
          " on scifact-train (809 claims, 919 pairs) with the corpus as hard negatives, seed 0")
    print()
    print("| model | CALL train_adapter s | epochs (best) | held-out nDCG@10 before -> after |"
          " test nDCG@10 | vs base | Recall@100 | seen claims (%d) | novel claims (%d) |"
          % (len(seen), len(novel)))
    print("|---|---|---|---|---|---|---|---|---|")
    for label, tr, ((ndcg, rec), s_ndcg, n_ndcg) in results:
        if tr is None:
            cols = "- | - | -"
        else:
            secs, v = tr
            cols = "%.1f | %s (%s) | %.3f -> %.3f" % (secs, v["epochs_run"], v["best_epoch"],
                                                    v["ndcg10_base"], v["ndcg10_best"])
        print("| %s | %s | %.4f | %+.1f%% | %.4f | %.4f | %.4f |"
              % (label, cols, ndcg, 100 * (ndcg / base - 1), rec, s_ndcg, n_ndcg))
    print()
    print("seen: a test claim with a relevant document that was a training positive; novel: none"
          " (%d of the 283 documents relevant to test claims were training positives)"
          % len(set().union(*qrels.values()) & trained_docs))
    print("load average at the end: %.2f (%d CPUs)" % (os.getloadavg()[0], os.cpu_count()))


if __name__ == "__main__":
    main(sys.argv[1])
