#!/usr/bin/python3
"""Create random-weight cross-encoder folders (BertForSequenceClassification)
plus reference scores from an independent PyTorch forward pass.

Usage: make_tiny_cross_encoder.py OUTDIR [VOCAB_TXT]

Folders have the layout of cross-encoder/ms-marco-MiniLM-L-6-v2 (config.json
with "architectures": ["BertForSequenceClassification"] and num_labels 1,
model.safetensors with "bert."-prefixed encoder tensors, the pooler and
"classifier.weight"/"classifier.bias", tokenizer.json, tokenizer_config.json,
special_tokens_map.json).  Written under OUTDIR:

  tiny-ce           4 layers x 32, F32, tokenizer.json, max length 128
  tiny-ce-f16       F16 weights, vocab.txt + tokenizer_config.json
  tiny-ce-trunc     model_max_length 20: pairs truncated longest-first
  minilm-ce         ms-marco-MiniLM-L-6-v2's real config (6 x 384, 12 heads,
                    1536 FFN, 30,522 pieces): only with VOCAB_TXT (the real
                    bert-base-uncased vocabulary, tools/fetch_bert_vocab.sh)
  tinybert-ce       ms-marco-TinyBERT-L-2-v2's real config (2 x 128), with VOCAB_TXT

and OUTDIR/reference.tsv, one line per (model, pair):

  model <TAB> n <TAB> query <TAB> document <TAB> ids <TAB> token types <TAB> score

The pair is encoded as Hugging Face does: [CLS] query [SEP] document [SEP],
token type 0 up to the first [SEP] and 1 after it, and when too long the
longer side loses its last token until it fits (truncation "longest_first";
on a tie the document shrinks).  The score is the classifier's logit on
tanh(pooler(hidden state of [CLS])): what sentence-transformers' CrossEncoder
returns for these models (their default activation is the identity).
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_bert as mtb  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def real_config(hidden, layers, heads, ff, vocab_size):
    """config.json as the real ms-marco cross-encoders ship it."""
    return {"_name_or_path": "random-weights", "architectures": ["BertForSequenceClassification"],
            "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
            "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": hidden,
            "id2label": {"0": "LABEL_0"}, "initializer_range": 0.02,
            "intermediate_size": ff, "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-12,
            "max_position_embeddings": 512, "model_type": "bert",
            "num_attention_heads": heads, "num_hidden_layers": layers, "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "sbert_ce_default_activation_function": "torch.nn.modules.linear.Identity",
            "transformers_version": "4.36.2", "type_vocab_size": 2, "use_cache": True,
            "vocab_size": vocab_size}


def pair_encode(query, doc, index, max_len):
    """[CLS] q [SEP] d [SEP] with token types, truncated longest-first."""
    a = mtb.wordpiece_pieces(query, index)
    b = mtb.wordpiece_pieces(doc, index)
    for _ in range(max(0, len(a) + len(b) + 3 - max_len)):
        if len(a) > len(b):
            a.pop()
        else:
            b.pop()
    ids = [index["[CLS]"]] + a + [index["[SEP]"]] + b + [index["[SEP]"]]
    types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return ids, types


def scores(cfg, w, ids, types):
    """Classifier logits of a padded batch (independent of semvec's code)."""
    t = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in w.items()}
    x, _ = mtb.forward(cfg, t, "bert.", ids, "hidden", False, types)
    pooled = torch.tanh(torch.nn.functional.linear(x[:, 0], t["bert.pooler.dense.weight"],
                                                   t["bert.pooler.dense.bias"]))
    logits = torch.nn.functional.linear(pooled, t["classifier.weight"], t["classifier.bias"])
    return logits[:, 0].numpy()


def pairs():
    """(query, document) pairs: short and long, empty, ties in length."""
    s = mtb.sentences()
    out = [("a", "a"), ("", ""), ("the cat", ""), ("", "the dog ran"),
           ("The cat sat on the mat.", "Unbelievably, the quick brown fox jumps!")]
    for i in range(len(s)):
        out.append((s[i], s[(i * 7 + 3) % len(s)]))
    out.append((s[-1], s[-2]))            # two long texts: both sides cut
    out.append((s[-1] + " " + s[-1], "a"))  # a long query and a short document
    return out


def write_tokenizer(d, vocab, max_len, as_json):
    index = {p: i for i, p in enumerate(vocab)}
    if as_json:
        added = [{"id": index[p], "content": p, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True} for p in SPECIALS]
        tj = {"version": "1.0",
              "truncation": {"direction": "Right", "max_length": max_len,
                             "strategy": "LongestFirst", "stride": 0},
              "padding": None, "added_tokens": added,
              "normalizer": {"type": "BertNormalizer", "clean_text": True,
                             "handle_chinese_chars": True, "strip_accents": None,
                             "lowercase": True},
              "pre_tokenizer": {"type": "BertPreTokenizer"},
              "post_processor": {
                  "type": "TemplateProcessing",
                  "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                             {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                  "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                           {"Sequence": {"id": "B", "type_id": 1}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                  "special_tokens": {p: {"id": p, "ids": [index[p]], "tokens": [p]}
                                     for p in ("[CLS]", "[SEP]")}},
              "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
              "model": {"type": "WordPiece", "unk_token": "[UNK]",
                        "continuing_subword_prefix": "##",
                        "max_input_chars_per_word": 100, "vocab": index}}
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
    else:
        with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": max_len,
                   "tokenizer_class": "BertTokenizer", "strip_accents": None,
                   "tokenize_chinese_chars": True, "cls_token": "[CLS]",
                   "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                   "mask_token": "[MASK]"}, f, indent=2)
    with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
        json.dump({"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "unk_token": "[UNK]", "mask_token": "[MASK]"}, f, indent=2)
    return index


def make_cross(outdir, name, seed, cfg, vocab, dtype="F32", max_len=512, as_json=True,
               fan_in=False):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w = mtb.make_weights(cfg, np.random.default_rng(seed), "bert.", fan_in=fan_in,
                         classifier=True)
    mtb.write_safetensors(os.path.join(d, "model.safetensors"), w, dtype)
    if dtype == "F16":  # the reference sees the same rounded weights
        w = {k: v.astype(np.float16).astype(np.float32) for k, v in w.items()}
    index = write_tokenizer(d, vocab, max_len, as_json)
    enc = [pair_encode(q, doc, index, max_len) for q, doc in pairs()]
    ids, types = [e[0] for e in enc], [e[1] for e in enc]
    batch = scores(cfg, w, ids, types)
    single = np.array([scores(cfg, w, [i], [t])[0] for i, t in zip(ids, types)])
    assert np.abs(batch - single).max() < 1e-4 * max(1, np.abs(single).max()), \
        "reference is not padding-safe"
    rows = []
    for n, ((q, doc), i, t, sc) in enumerate(zip(pairs(), ids, types, single)):
        rows.append("%s\t%d\t%s\t%s\t%s\t%s\t%.9g" % (name, n + 1, q, doc, ",".join(map(str, i)),
                                                   ",".join(map(str, t)), sc))
    return rows


def main():
    outdir = sys.argv[1]
    torch.manual_seed(0)
    tiny = mtb.build_vocab()
    cfg = real_config(32, 4, 4, 64, len(tiny))
    cfg["max_position_embeddings"] = 128
    rows = []
    rows += make_cross(outdir, "tiny-ce", 11, cfg, tiny, max_len=128)
    rows += make_cross(outdir, "tiny-ce-f16", 12, cfg, tiny, "F16", 128, as_json=False)
    rows += make_cross(outdir, "tiny-ce-trunc", 13, cfg, tiny, max_len=20)
    if len(sys.argv) > 2:
        vocab = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
        rows += make_cross(outdir, "minilm-ce", 14, real_config(384, 6, 12, 1536, len(vocab)),
                           vocab, fan_in=True)
        rows += make_cross(outdir, "tinybert-ce", 15, real_config(128, 2, 2, 512, len(vocab)),
                           vocab, fan_in=True)
    with open(os.path.join(outdir, "reference.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
