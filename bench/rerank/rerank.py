#!/usr/bin/python3
"""rerank() against PyTorch: see run.sh.

  rerank.py make MODELS_DIR VOCAB_TXT     write the minilm-ce folder
  rerank.py run MODEL_DIR DSN QUERIES     measure and print the table

Texts are folded to ASCII first so that the independent Python tokenizer of
tools/make_tiny_bert.py (ASCII only) gives PyTorch the same token ids as
semvec's tokenizer; the scores of both are compared too.  Both sides sort
the pairs by length and run batches of 32 (what rerank() does); PyTorch
pads each batch (as Hugging Face does), semvec packs it without padding.
Times are CPU seconds (the backend's for SQL, the process's for PyTorch),
best of three rounds, the engines alternating within each round.
"""
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
sys.path.insert(0, os.path.join(HERE, ".."))
import make_tiny_bert as mtb  # noqa: E402
import make_tiny_cross_encoder as mce  # noqa: E402
import quality  # noqa: E402  (data paths)


def make(models, vocab_txt):
    vocab = open(vocab_txt, encoding="utf-8").read().split("\n")[:-1]
    cfg = mce.real_config(384, 6, 12, 1536, len(vocab))
    d = os.path.join(models, "minilm-ce")
    os.makedirs(d, exist_ok=True)
    import json
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w = mtb.make_weights(cfg, np.random.default_rng(14), "bert.", fan_in=True, classifier=True)
    mtb.write_safetensors(os.path.join(d, "model.safetensors"), w, "F32")
    mce.write_tokenizer(d, vocab, 512, True)


def ascii(s):
    return s.encode("ascii", "ignore").decode()


def backend_cpu(conn):
    with open("/proc/%d/stat" % conn.get_backend_pid()) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_pairs(nq):
    corpus = quality.read_tsv(os.path.join(quality.SCIFACT, "corpus.tsv"))
    queries = quality.read_tsv(os.path.join(quality.SCIFACT, "queries.tsv"))
    qrels = {}
    for q, d, _ in quality.read_tsv(os.path.join(quality.SCIFACT, "qrels.tsv")):
        qrels.setdefault(q, []).append(d)
    text = {r[0]: ascii(r[1] + " " + r[2]) for r in corpus}
    ids = [r[0] for r in corpus]
    rng = np.random.default_rng(3)
    out = []
    for r in queries[:nq]:
        cand = list(qrels.get(r[0], []))
        while len(cand) < 50:
            d = ids[rng.integers(len(ids))]
            if d not in cand:
                cand.append(d)
        out.append((ascii(r[1]), [text[d] for d in cand]))
    return out


def run(model_dir, dsn, nq):
    import psycopg2
    if not os.path.exists(os.path.join(quality.SCIFACT, "corpus.tsv")):
        print("SKIP: SciFact not found in %s" % quality.SCIFACT)
        return
    pairs = load_pairs(nq)
    vocab = open(os.path.join(model_dir, "..", "..", "vocab", "vocab.txt"),
                 encoding="utf-8").read().split("\n")[:-1]
    index = {p: i for i, p in enumerate(vocab)}
    cfg = mce.real_config(384, 6, 12, 1536, len(vocab))
    import json
    import struct
    raw = open(os.path.join(model_dir, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    w = {}
    for k, v in hdr.items():
        if k != "__metadata__":
            a, b = v["data_offsets"]
            w[k] = torch.from_numpy(np.frombuffer(raw, np.float32, (b - a) // 4, 8 + n + a)
                                    .reshape(v["shape"]).copy())

    # torch inputs: the same pairs, sorted by length, batches of 32
    enc = []
    for q, docs in pairs:
        enc.append([mce.pair_encode(q, d, index, 512) for d in docs])
    npairs = sum(len(e) for e in enc)
    ntok = sum(len(i) for e in enc for i, _ in e)

    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET semvec.blas_threads = 1")
    cur.execute("SELECT rerank('warm', ARRAY['up'], 'minilm-ce')")
    torch.set_num_threads(1)
    sql_s = torch_s = float("inf")
    worst = 0.0
    for _ in range(3):
        got = []
        c0 = backend_cpu(conn)
        for q, docs in pairs:
            cur.execute("SELECT rerank(%s, %s::text[], 'minilm-ce')", (q, docs))
            got.append(cur.fetchone()[0])
        sql_s = min(sql_s, backend_cpu(conn) - c0)
        want = []
        t0 = time.process_time()
        with torch.inference_mode():
            for e in enc:
                order = sorted(range(len(e)), key=lambda i: (len(e[i][0]), i))
                sc = np.empty(len(e))
                for s in range(0, len(order), 32):
                    part = order[s:s + 32]
                    sc[part] = mce.scores(cfg, w, [e[i][0] for i in part], [e[i][1] for i in part])
                want.append(sc)
        torch_s = min(torch_s, time.process_time() - t0)
        worst = max(worst, max(np.abs(np.array(g) - wv).max() for g, wv in zip(got, want)))

    print("bench/rerank: rerank() through SQL vs PyTorch %s, 1 thread, random-weight"
          " ms-marco-MiniLM-L-6-v2 config (6x384, vocab 30522)" % torch.__version__)
    print("%d SciFact test claims x 50 abstracts = %d pairs, mean %.0f tokens per pair"
          " (max 512); CPU seconds, best of 3" % (len(pairs), npairs, ntok / npairs))
    print()
    print("| engine | pairs/s | ms per query (50 pairs) | ratio |")
    print("|---|---|---|---|")
    print("| semvec rerank() (SQL, backend CPU) | %.1f | %.0f | %.2fx |"
          % (npairs / sql_s, 1000 * sql_s / len(pairs), torch_s / sql_s))
    print("| PyTorch (padded batches of 32) | %.1f | %.0f | 1.00x |"
          % (npairs / torch_s, 1000 * torch_s / len(pairs)))
    print()
    print("scores agree: max |semvec - torch| = %.2e" % worst)
    print("load average at the end: %.2f (%d CPUs)" % (os.getloadavg()[0], os.cpu_count()))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]))
