#!/usr/bin/python3
"""Create small random static word-vector model folders (the Model2Vec
layout) plus reference vectors computed independently with numpy.

Usage: make_tiny_static.py OUTDIR

Folders under OUTDIR:

  tiny-static        WordLevel tokenizer.json, F32, normalize true
  tiny-static-wp     WordPiece tokenizer.json (as Model2Vec's distilled
                     models have), F16, normalize false, seq_length 12:
                     [UNK] rows are skipped, truncation after 12 tokens
  tiny-static-st     normalize false in config.json but a Normalize module
                     in modules.json (sentence-transformers export), BF16

and OUTDIR/reference.tsv: model <TAB> n <TAB> sentence <TAB> token ids <TAB> vector

A text's vector is the mean of its known tokens' rows ([UNK] skipped; no
[CLS]/[SEP] in Model2Vec's tokenization), normalised when the model says so;
a text without a known token gives the zero vector.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_bert as mtb  # noqa: E402

DIM = 16


def wordlevel_ids(text, index):
    return [index.get(w, index["[UNK]"]) for w in mtb.basic_words(text)]


def tokenizer_json(vocab, model_type):
    index = {p: i for i, p in enumerate(vocab)}
    model = {"type": model_type, "vocab": index, "unk_token": "[UNK]"}
    if model_type == "WordPiece":
        model.update({"continuing_subword_prefix": "##", "max_input_chars_per_word": 100})
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": index[p], "content": p, "special": True}
                             for p in ("[PAD]", "[UNK]") if p in index],
            "normalizer": {"type": "BertNormalizer", "clean_text": True,
                           "handle_chinese_chars": True, "strip_accents": None,
                           "lowercase": True},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": None, "decoder": None, "model": model}


def make(outdir, name, seed, model_type, dtype, normalize, seq_length, st_normalize=False):
    rng = np.random.default_rng(seed)
    vocab = mtb.build_vocab()
    if model_type == "WordLevel":
        # whole words only: no "##" pieces, no [CLS]/[SEP]
        vocab = [p for p in vocab if not p.startswith("##") and p not in ("[CLS]", "[SEP]", "[MASK]")]
    index = {p: i for i, p in enumerate(vocab)}
    emb = (rng.standard_normal((len(vocab), DIM)) * 0.5).astype(np.float32)
    emb[index["[PAD]"]] = 0
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    cfg = {"model_type": "model2vec", "architectures": ["StaticModel"],
           "hidden_dim": DIM, "normalize": normalize, "seq_length": seq_length}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab, model_type), f)
    if st_normalize:
        with open(os.path.join(d, "modules.json"), "w") as f:
            json.dump([{"idx": 0, "name": "0", "path": ".",
                        "type": "sentence_transformers.models.StaticEmbedding"},
                       {"idx": 1, "name": "1", "path": "1_Normalize",
                        "type": "sentence_transformers.models.Normalize"}], f)
    mtb.write_safetensors(os.path.join(d, "model.safetensors"), {"embeddings": emb}, dtype)
    if dtype == "F16":
        emb = emb.astype(np.float16).astype(np.float32)
    elif dtype == "BF16":
        emb = mtb.from_bf16_bits(mtb.to_bf16_bits(emb))

    rows = []
    for n, s in enumerate(mtb.sentences() + ["xyzzy qqq", "[UNK] [SEP] [CLS]", "A a A"]):
        if model_type == "WordLevel":
            ids = wordlevel_ids(s, index)
        else:
            ids = mtb.wordpiece_pieces(s, index)
        ids = ids[:seq_length]
        known = [i for i in ids if i != index["[UNK]"]]
        v = emb[known].astype(np.float64).mean(0) if known else np.zeros(DIM)
        if (normalize or st_normalize) and known:
            v = v / max(np.linalg.norm(v), 1e-12)
        rows.append("%s\t%d\t%s\t%s\t[%s]" % (name, n + 1, s, ",".join(map(str, ids)),
                                           ",".join("%.9g" % x for x in v)))
    return rows


def main():
    outdir = sys.argv[1]
    rows = []
    rows += make(outdir, "tiny-static", 21, "WordLevel", "F32", True, 512)
    rows += make(outdir, "tiny-static-wp", 22, "WordPiece", "F16", False, 12)
    rows += make(outdir, "tiny-static-st", 23, "WordLevel", "BF16", False, 512, st_normalize=True)
    with open(os.path.join(outdir, "reference.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
