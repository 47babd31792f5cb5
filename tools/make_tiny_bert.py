#!/usr/bin/python3
"""Create tiny random-weight BERT model folders plus reference embeddings.

Usage: make_tiny_bert.py OUTDIR
       make_tiny_bert.py --vocab VOCAB_TXT MODEL_DIR   (one tiny model using a
           given vocabulary, for tokenizer tests; no reference vectors)

Writes, under OUTDIR, model folders in the Hugging Face /
sentence-transformers layout (real config keys and tensor names) and
OUTDIR/reference.tsv with one line per (model, sentence):

    model <TAB> sentence number <TAB> sentence <TAB> token ids <TAB> vector

The reference vectors come from an independent forward pass written with
torch (padded batch + additive attention mask, as Hugging Face does), and
the token ids from a small independent WordPiece written here (ASCII only,
which is all the sentences use).  safetensors files are written by hand:
u64 header length + JSON header + raw little-endian data.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

WORDS = ("the a cat dog sat on mat and ran fast slow big small red blue green "
         "house tree car road city river bank money time year day night "
         "play played playing run running walk walked talk talking read "
         "reading book books quick brown fox jumps over lazy").split()
SUFFIXES = ["s", "ed", "ing", "er", "ly", "y", "e", "n"]


def build_vocab():
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += list("abcdefghijklmnopqrstuvwxyz0123456789")
    vocab += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab += ["##" + s for s in SUFFIXES]
    vocab += [w for w in WORDS if w not in vocab]
    vocab += ["un", "##believ", "##able", "##ably"]
    return list(dict.fromkeys(vocab))  # unique, first occurrence kept


def wordpiece(text, index, max_len):
    """Lower-case ASCII BERT tokenization: [CLS] pieces [SEP]."""
    ids = wordpiece_pieces(text, index)[:max_len - 2]
    return [index["[CLS]"]] + ids + [index["[SEP]"]]


def basic_words(text):
    """BERT's basic tokenization of an ASCII text: lower-case, split at white
    space, every punctuation character a word of its own."""
    words, cur = [], ""
    for ch in text.lower():
        if ch.isspace():
            if cur:
                words.append(cur)
            cur = ""
        elif ch in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
            if cur:
                words.append(cur)
            words.append(ch)
            cur = ""
        else:
            cur += ch
    if cur:
        words.append(cur)
    return words


def wordpiece_pieces(text, index):
    """The WordPiece ids of an ASCII text, without special tokens."""
    words = basic_words(text)
    ids = []
    for w in words:
        pieces, start = [], 0
        while start < len(w):
            end = len(w)
            while end > start:
                sub = w[start:end] if start == 0 else "##" + w[start:end]
                if sub in index:
                    break
                end -= 1
            if end == start:
                pieces = [index["[UNK]"]]
                break
            pieces.append(index[sub])
            start = end
        ids += pieces
    return ids


def sentences():
    rng = np.random.default_rng(7)
    out = ["a", "The cat sat on the mat.", "Unbelievably, the quick brown fox jumps!",
           "", "   ", "Hello, world!? (yes) -- 42 cats & 7 dogs", "xyzzyqq",
           "playing played plays player", "$100 @home #tag 50%"]
    for n in list(range(1, 40, 3)) + [60, 90]:
        toks = [WORDS[i] for i in rng.integers(0, len(WORDS), n)]
        for i in range(len(toks)):
            if rng.random() < 0.2:
                toks[i] += SUFFIXES[rng.integers(0, len(SUFFIXES))]
            if rng.random() < 0.1:
                toks[i] += rng.choice([",", ".", "!", "?"])
        out.append(" ".join(toks))
    return out


def make_weights(cfg, rng, prefix, fan_in=False, classifier=False):
    """Random BERT weights under Hugging Face's tensor names.  fan_in scales
    each dense matrix by 1/sqrt(its inputs), which keeps activations O(1) at
    real sizes; classifier adds BertForSequenceClassification's head
    ("classifier.weight" [num_labels, hidden], "classifier.bias")."""
    h, ff, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]

    def r(*shape, std=0.3):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def dense(out, inp):  # [out][in], as torch.nn.Linear stores it
        return r(out, inp, std=1.0 / math.sqrt(inp) if fan_in else 0.3)

    w = {}
    e = prefix + "embeddings."
    w[e + "word_embeddings.weight"] = r(v, h, std=1.0)
    w[e + "position_embeddings.weight"] = r(cfg["max_position_embeddings"], h)
    w[e + "token_type_embeddings.weight"] = r(cfg["type_vocab_size"], h)
    w[e + "LayerNorm.weight"] = 1 + r(h, std=0.1)
    w[e + "LayerNorm.bias"] = r(h, std=0.1)
    for l in range(cfg["num_hidden_layers"]):
        p = "%sencoder.layer.%d." % (prefix, l)
        for name in ("query", "key", "value"):
            w[p + "attention.self.%s.weight" % name] = dense(h, h)
            w[p + "attention.self.%s.bias" % name] = r(h, std=0.1)
        w[p + "attention.output.dense.weight"] = dense(h, h)
        w[p + "attention.output.dense.bias"] = r(h, std=0.1)
        w[p + "attention.output.LayerNorm.weight"] = 1 + r(h, std=0.1)
        w[p + "attention.output.LayerNorm.bias"] = r(h, std=0.1)
        w[p + "intermediate.dense.weight"] = dense(ff, h)
        w[p + "intermediate.dense.bias"] = r(ff, std=0.1)
        w[p + "output.dense.weight"] = dense(h, ff)
        w[p + "output.dense.bias"] = r(h, std=0.1)
        w[p + "output.LayerNorm.weight"] = 1 + r(h, std=0.1)
        w[p + "output.LayerNorm.bias"] = r(h, std=0.1)
    # A pooler, as real checkpoints have; embed() must ignore it
    w[prefix + "pooler.dense.weight"] = dense(h, h)
    w[prefix + "pooler.dense.bias"] = r(h)
    if classifier:
        w["classifier.weight"] = dense(cfg.get("num_labels", 1), h)
        w["classifier.bias"] = r(cfg.get("num_labels", 1))
    return w


def to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bits (round to nearest even)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    """Write tensors (name -> float32 array) as F32, F16 or BF16."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        if dtype == "BF16":
            a = to_bf16_bits(tensors[name])
        else:
            a = tensors[name].astype(np.float16 if dtype == "F16" else np.float32)
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def forward(cfg, w, prefix, batch_ids, pooling, normalize, batch_types=None):
    """Independent BertModel forward on a right-padded batch.  pooling
    "mean"/"cls" give sentence vectors; "hidden" returns the last layer
    [batch, seq, hidden] and the mask.  batch_types: token type ids per row
    (default all 0)."""
    t = {k: (v if torch.is_tensor(v) else torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)))
         for k, v in w.items()}
    n = len(batch_ids)
    seq = max(len(x) for x in batch_ids)
    ids = torch.zeros((n, seq), dtype=torch.long)
    types = torch.zeros((n, seq), dtype=torch.long)
    mask = torch.zeros((n, seq))
    for i, x in enumerate(batch_ids):
        ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
        if batch_types is not None:
            types[i, :len(x)] = torch.tensor(batch_types[i])
    h, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = h // nh, cfg["layer_norm_eps"]
    e = prefix + "embeddings."
    x = (t[e + "word_embeddings.weight"][ids]
         + t[e + "position_embeddings.weight"][torch.arange(seq)][None]
         + t[e + "token_type_embeddings.weight"][types])
    x = torch.nn.functional.layer_norm(x, (h,), t[e + "LayerNorm.weight"],
                                       t[e + "LayerNorm.bias"], eps)
    add_mask = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
    lin = torch.nn.functional.linear
    for l in range(cfg["num_hidden_layers"]):
        p = "%sencoder.layer.%d." % (prefix, l)

        def heads(name):
            y = lin(x, t[p + "attention.self.%s.weight" % name],
                    t[p + "attention.self.%s.bias" % name])
            return y.view(n, seq, nh, dh).transpose(1, 2)
        q, k, v = heads("query"), heads("key"), heads("value")
        s = q @ k.transpose(-1, -2) / math.sqrt(dh) + add_mask
        c = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(n, seq, h)
        a = lin(c, t[p + "attention.output.dense.weight"],
                t[p + "attention.output.dense.bias"])
        a = torch.nn.functional.layer_norm(a + x, (h,),
                                           t[p + "attention.output.LayerNorm.weight"],
                                           t[p + "attention.output.LayerNorm.bias"], eps)
        m = torch.nn.functional.gelu(lin(a, t[p + "intermediate.dense.weight"],
                                         t[p + "intermediate.dense.bias"]))
        o = lin(m, t[p + "output.dense.weight"], t[p + "output.dense.bias"])
        x = torch.nn.functional.layer_norm(o + a, (h,), t[p + "output.LayerNorm.weight"],
                                           t[p + "output.LayerNorm.bias"], eps)
    if pooling == "hidden":
        return x, mask
    if pooling == "cls":
        out = x[:, 0]
    else:
        out = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    if normalize:
        out = torch.nn.functional.normalize(out, p=2, dim=1)
    return out.numpy()


def make_model(outdir, name, seed, pooling, normalize, prefix, dtype,
               tokenizer_json, max_seq_length):
    rng = np.random.default_rng(seed)
    vocab = build_vocab()
    index = {p: i for i, p in enumerate(vocab)}
    cfg = {"architectures": ["BertModel"], "model_type": "bert",
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
           "intermediate_size": 64, "hidden_act": "gelu",
           "max_position_embeddings": 128, "type_vocab_size": 2,
           "vocab_size": len(vocab), "layer_norm_eps": 1e-12,
           "position_embedding_type": "absolute", "pad_token_id": 0,
           "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
           "initializer_range": 0.02, "torch_dtype": "float32"}
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w = make_weights(cfg, rng, prefix)
    write_safetensors(os.path.join(d, "model.safetensors"), w, dtype)
    if dtype == "F16":  # the reference sees the same rounded weights
        w = {k: v.astype(np.float16).astype(np.float32) for k, v in w.items()}
    if dtype == "BF16":
        w = {k: from_bf16_bits(to_bf16_bits(v)) for k, v in w.items()}
    if tokenizer_json:
        tj = {"version": "1.0", "truncation": None, "padding": None,
              "added_tokens": [],
              "normalizer": {"type": "BertNormalizer", "clean_text": True,
                             "handle_chinese_chars": True, "strip_accents": None,
                             "lowercase": True},
              "pre_tokenizer": {"type": "BertPreTokenizer"},
              "post_processor": {"type": "TemplateProcessing"},
              "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
              "model": {"type": "WordPiece", "unk_token": "[UNK]",
                        "continuing_subword_prefix": "##",
                        "max_input_chars_per_word": 100, "vocab": index}}
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tj, f)
    else:
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab) + "\n")
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True}, f)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump(modules, f, indent=2)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 32,
                   "pooling_mode_cls_token": pooling == "cls",
                   "pooling_mode_mean_tokens": pooling == "mean",
                   "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=2)
    with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": max_seq_length, "do_lower_case": False}, f)

    sents = sentences()
    ids = [wordpiece(s, index, max_seq_length) for s in sents]
    # One padded batch of everything: padding must not matter in torch either
    vecs = forward(cfg, w, prefix, ids, pooling, normalize)
    single = np.stack([forward(cfg, w, prefix, [x], pooling, normalize)[0] for x in ids])
    assert np.abs(vecs - single).max() < 1e-5, "reference is not padding-safe"
    rows = []
    for i, (s, x, v) in enumerate(zip(sents, ids, vecs)):
        rows.append("%s\t%d\t%s\t%s\t[%s]" % (name, i + 1, s, ",".join(map(str, x)),
                                           ",".join("%.9g" % y for y in v)))
    return rows


def vocab_model(vocab_txt, d):
    """A minimal random BERT around an existing vocab.txt."""
    vocab = open(vocab_txt, encoding="utf-8").read().split("\n")[:-1]
    cfg = {"architectures": ["BertModel"], "model_type": "bert",
           "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
           "intermediate_size": 16, "hidden_act": "gelu",
           "max_position_embeddings": 512, "type_vocab_size": 2,
           "vocab_size": len(vocab), "layer_norm_eps": 1e-12}
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    w = make_weights(cfg, np.random.default_rng(5), "")
    write_safetensors(os.path.join(d, "model.safetensors"), w, "F16")


def main():
    if sys.argv[1] == "--vocab":
        vocab_model(sys.argv[2], sys.argv[3])
        return
    outdir = sys.argv[1]
    torch.manual_seed(0)
    rows = []
    rows += make_model(outdir, "tiny-mean-norm", 1, "mean", True, "", "F32", False, 128)
    rows += make_model(outdir, "tiny-cls", 2, "cls", False, "bert.", "F16", True, 128)
    rows += make_model(outdir, "tiny-mean-trunc", 3, "mean", False, "", "F32", True, 24)
    rows += make_model(outdir, "tiny-cls-norm", 4, "cls", True, "", "F32", False, 128)
    rows += make_model(outdir, "tiny-bf16", 5, "mean", True, "bert.", "BF16", False, 128)
    with open(os.path.join(outdir, "reference.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
