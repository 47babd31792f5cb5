#!/usr/bin/python3
"""Reference model of chunk_chars(): LangChain's RecursiveCharacterTextSplitter
(keep_separator=True, strip_whitespace=True, lengths = len()) written in Python
from LangChain's _split_text/_merge_splits, plus semvec's sentence-end level.

Usage: chunk_chars_ref.py SEED N > cases.json  (N random texts with their chunks)
"""
import re, random, sys, json
def split_level(text, level):
    if level == 0: sep = "\n\n"
    elif level == 1: sep = "\n"
    elif level == 3: sep = " "
    if level in (0,1,3):
        parts = re.split("(" + re.escape(sep) + ")", text)
        out = [parts[0]] + [parts[i] + parts[i+1] for i in range(1, len(parts)-1, 2)]
        return [p for p in out if p != ""], sep in text
    if level == 2:
        cuts = [m.start()+1 for m in re.finditer(r"[.!?](?=\s)", text)]
        found = len(cuts) > 0
        pos = [0] + cuts + [len(text)]
        return [text[pos[i]:pos[i+1]] for i in range(len(pos)-1) if pos[i] < pos[i+1]], found
    return list(text), True
def merge(splits, size, overlap, out):
    cur, total = [], 0
    for d in splits:
        l = len(d)
        if total + l > size:
            if cur:
                s = "".join(cur).strip()
                if s: out.append(s)
                while total > overlap or (total + l > size and total > 0):
                    total -= len(cur[0]); cur.pop(0)
        cur.append(d); total += l
    s = "".join(cur).strip()
    if s: out.append(s)
def split(text, level, size, overlap, out):
    lv = level
    while lv < 4:
        pieces, found = split_level(text, lv)
        if found: break
        lv += 1
    if lv == 4: pieces, _ = split_level(text, 4)
    good = []
    for p in pieces:
        if len(p) < size: good.append(p)
        else:
            if good: merge(good, size, overlap, out); good = []
            if lv >= 4: 
                s = p.strip()
                if s: out.append(s)
            else: split(p, lv+1, size, overlap, out)
    if good: merge(good, size, overlap, out)
random.seed(int(sys.argv[1]))
n = int(sys.argv[2])
alpha = ["a","b","c","é","日"," "," "," ","\n","\n\n",". ","! ","?","."," x"]
cases = []
for i in range(n):
    t = "".join(random.choice(alpha) for _ in range(random.randint(0, 80)))
    size = random.randint(1, 20); ov = random.randint(0, size-1)
    out = []
    if t: split(t, 0, size, ov, out)
    cases.append({"t": t, "size": size, "ov": ov, "out": out})
json.dump(cases, sys.stdout, ensure_ascii=False)
