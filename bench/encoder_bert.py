#!/usr/bin/python3
"""BERT half of bench/encoder: see encoder_bert.sh.

  encoder_bert.py make MODEL_DIR VOCAB_TXT   write the MiniLM-shaped folder
  encoder_bert.py run MODEL_DIR DSN N        measure and print tables
"""
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import make_tiny_bert as mtb  # noqa: E402

STSB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                    "data", "stsb", "sts-test.tsv")
if not os.path.exists(STSB):
    STSB = "/work/shared/data/stsb/sts-test.tsv"
CFG = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 384,
       "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
       "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2,
       "vocab_size": 30522, "layer_norm_eps": 1e-12}


def make(d, vocab_txt):
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CFG, f)
    with open(vocab_txt, encoding="utf-8") as src, open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    w = mtb.make_weights(CFG, np.random.default_rng(1), "")
    w = {k: (v * 0.2 if v.ndim == 2 else v) for k, v in w.items()}
    mtb.write_safetensors(os.path.join(d, "model.safetensors"), w, "F32")
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}], f)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"pooling_mode_mean_tokens": True}, f)
    with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 256}, f)


def sentences(n):
    out = []
    with open(STSB, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            out += [p[1], p[2]]
    return out[:n]


def flops(lengths):
    """Multiply-adds x 2 of a forward pass over sentences of these lengths."""
    h, ff, layers = CFG["hidden_size"], CFG["intermediate_size"], CFG["num_hidden_layers"]
    tok = sum(lengths)
    dense = 2 * tok * (4 * h * h + 2 * h * ff)
    attn = sum(2 * 2 * n * n * h for n in lengths)
    return layers * (dense + attn)


def sgemm_gflops(m, n, k, reps):
    """Single-thread OpenBLAS sgemm rate for C[m,n] = A[m,k] B[k,n]^T."""
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_set_num_threads(1)
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(n, k).astype(np.float32)
    c = np.zeros((m, n), np.float32)
    p = ctypes.POINTER(ctypes.c_float)
    args = (101, 111, 112, m, n, k, ctypes.c_float(1.0), a.ctypes.data_as(p), k,
            b.ctypes.data_as(p), k, ctypes.c_float(0.0), c.ctypes.data_as(p), n)
    lib.cblas_sgemm(*args)
    t = time.process_time()
    for _ in range(reps):
        lib.cblas_sgemm(*args)
    return 2.0 * m * n * k * reps / (time.process_time() - t) / 1e9


def backend_cpu(conn):
    """CPU seconds (user + system) used so far by the connection's backend."""
    with open("/proc/%d/stat" % conn.get_backend_pid()) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(model_dir, dsn, n):
    import psycopg2
    sents = sentences(n)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET semvec.blas_threads = 1")

    # First-call load (fresh backend, model not cached)
    c2 = psycopg2.connect(dsn)
    k2 = c2.cursor()
    t = time.perf_counter()
    k2.execute("SELECT embed('warm', 'minilm-shape') IS NOT NULL")
    k2.fetchall()
    first = time.perf_counter() - t
    t = time.perf_counter()
    k2.execute("SELECT embed('warm', 'minilm-shape') IS NOT NULL")
    k2.fetchall()
    second = time.perf_counter() - t
    c2.close()

    # Token counts as the model sees them (for FLOPs and the torch input)
    cur.execute("""SELECT array_agg(id ORDER BY ord) FROM unnest(%s::text[]) WITH ORDINALITY s(t, i),
                   LATERAL (SELECT id, row_number() OVER () AS ord FROM embed_tokens(t, 'minilm-shape')) e
                   GROUP BY i ORDER BY i""", (sents,))
    ids = [r[0] for r in cur.fetchall()]
    lengths = [len(x) for x in ids]

    cur.execute("""CREATE OR REPLACE FUNCTION pg_temp.core_ms(t text[], b int) RETURNS float8 AS $$
        DECLARE t0 timestamptz; i int := 1;
        BEGIN
          t0 := clock_timestamp();
          WHILE i <= cardinality(t) LOOP
            IF b = 1 THEN PERFORM @extschema@embed(t[i], 'minilm-shape');
            ELSE PERFORM embed(t[i:i + b - 1], 'minilm-shape'); END IF;
            i := i + b;
          END LOOP;
          RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
        END $$ LANGUAGE plpgsql""".replace("@extschema@", ""))

    # Single short query (13 tokens incl. specials) and the batch runs
    short = "A man is playing a flute at the concert."
    cur.execute("SELECT count(*) FROM embed_tokens(%s, 'minilm-shape')", (short,))
    short_tokens = cur.fetchone()[0]
    short_ms = float("inf")
    for _ in range(3):
        c0 = backend_cpu(conn)
        cur.execute("SELECT pg_temp.core_ms(array_fill(%s::text, ARRAY[200]), 1)", (short,))
        cur.fetchone()
        short_ms = min(short_ms, (backend_cpu(conn) - c0) * 1000 / 200)

    torch.set_num_threads(1)
    tw = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    rows = []
    for b in (1, 8, 32):
        calls = (len(sents) + b - 1) // b
        sql_s = sqlcpu_s = core_s = torch_s = float("inf")
        sql_lat = None
        # Best of three interleaved rounds: the machine may be shared
        for _ in range(3):
            lat = []
            c0 = backend_cpu(conn)
            t0 = time.perf_counter()
            for i in range(0, len(sents), b):
                t = time.perf_counter()
                if b == 1:
                    cur.execute("SELECT embed(%s, 'minilm-shape')", (sents[i],))
                else:
                    cur.execute("SELECT embed(%s::text[], 'minilm-shape')", (sents[i:i + b],))
                cur.fetchall()
                lat.append(time.perf_counter() - t)
            s_ = time.perf_counter() - t0
            sqlcpu_s = min(sqlcpu_s, backend_cpu(conn) - c0)
            if s_ < sql_s:
                sql_s, sql_lat = s_, statistics.median(lat)
            c0 = backend_cpu(conn)
            cur.execute("SELECT pg_temp.core_ms(%s, %s)", (sents, b))
            cur.fetchone()
            core_s = min(core_s, backend_cpu(conn) - c0)
            with torch.inference_mode():
                t0 = time.process_time()
                for i in range(0, len(sents), b):
                    mtb.forward(CFG, tw, "", ids[i:i + b], "mean", True)
                torch_s = min(torch_s, time.process_time() - t0)
        rows.append((b, len(sents) / sql_s, sql_lat * 1000, len(sents) / sqlcpu_s,
                     len(sents) / core_s, core_s / calls * 1000,
                     len(sents) / torch_s, torch_s / calls * 1000,
                     flops(lengths) / core_s / 1e9, flops(lengths) / torch_s / 1e9))

    mean_tok = sum(lengths) / len(lengths)
    peak = max(sgemm_gflops(1024, 1024, 1024, 5) for _ in range(3))
    m = int(32 * mean_tok)
    shapes = [(m, 384, 384), (m, 1536, 384), (m, 384, 1536)]
    shape_rates = [sgemm_gflops(a, b_, c, 50) for a, b_, c in shapes]

    print("BERT encoder benchmark: random-weight MiniLM-L6 shape (6x384, 12 heads, FFN 1536,"
          " vocab 30522), %d STS-B test sentences, mean %.1f tokens, 1 thread" % (len(sents), mean_tok))
    print("torch %s (1 thread, forward only: no tokenization); semvec SQL includes tokenization"
          " and the client round trip (wall clock); core = CPU time of the backend running embed(),"
          " torch = CPU time of its forward passes, sgemm = CPU time; best of 3 rounds" % torch.__version__)
    print()
    print("| batch | SQL sent/s (wall) | SQL ms/call (wall) | SQL sent/s (backend CPU) | core sent/s | core ms/call"
          " | torch sent/s | torch ms/call | core/torch | core GFLOP/s | torch GFLOP/s | core % of sgemm peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.2f | %.2fx | %.1f | %.1f | %.0f%% |"
              % (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[4] / r[6], r[8], r[9], 100 * r[8] / peak))
    print()
    print("OpenBLAS sgemm, 1 thread: peak (1024^3) %.1f GFLOP/s; at batch-32 shapes %s: %s GFLOP/s"
          % (peak, ", ".join("%dx%dx%d" % s for s in shapes),
             ", ".join("%.1f" % x for x in shape_rates)))
    print("load average at the end: %.2f (%d CPUs): other work on the machine slows every column alike"
          % (os.getloadavg()[0], os.cpu_count()))
    print("single short query (%d tokens), core CPU: %.2f ms;  first call in a new backend (load + embed): %.1f ms,"
          " second call: %.1f ms" % (short_tokens, short_ms, first * 1000, second * 1000))


def read_safetensors(path):
    """Tensors of a safetensors file as torch tensors (independent reader)."""
    import struct
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(raw, dtype=np.float32, count=(b - a) // 4, offset=8 + n + a)
        out[k] = torch.from_numpy(arr.reshape(v["shape"]).copy())
    return out


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]))
