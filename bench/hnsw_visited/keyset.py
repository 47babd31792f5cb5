#!/usr/bin/python3
"""Rewrite a copy of src/hnsw/hnswscan.c so that the scan's visited set is
an HnswKeySet (hnswutils.c: 16-byte slots, key and value apart, out-of-line
calls) instead of its packed ScanMap (8-byte slots, inline), changing
nothing else: the baseline of bench/hnsw_visited.

  keyset.py SRC_TREE

Each rewrite must match at least once, or this fails naming it: refresh
the patterns when hnswscan.c changes shape.  The ScanMap functions stay,
unused (static inline: no warning).
"""
import re
import sys

REWRITES = [
    # the scan's field
    (r"\bScanMap\t\tvisited;", "HnswKeySet\tvisited;"),
    # add key -> node index unless present (same contract: true if added)
    (r"ScanMapAdd\(&so->visited,", "HnswKeyMapPut(&so->visited,"),
    (r"ScanMapReserve\(&so->visited,", "HnswKeySetReserve(&so->visited,"),
    # the arrays kept between scans hold the set's slots
    (r"uint64\t   \*ents;(\s*uint32\t\tnents;)", r"HnswKeyEntry *ents;\1"),
    (r"sizeof\(uint64\) \* nents", "sizeof(HnswKeyEntry) * nents"),
    (r"\(so->visited\.mask \+ 1\) \* sizeof\(uint64\)", "(so->visited.mask + 1) * sizeof(HnswKeyEntry)"),
]
OPTIONAL = {r"ScanMapReserve\(&so->visited,"}


def main():
    path = sys.argv[1] + "/src/hnsw/hnswscan.c"
    with open(path) as f:
        text = f.read()
    for pat, rep in REWRITES:
        text, n = re.subn(pat, rep, text)
        if n == 0 and pat not in OPTIONAL:
            sys.exit("keyset.py: no match for %r in %s; refresh bench/hnsw_visited/keyset.py" % (pat, path))
    if re.search(r"ScanMap(Add|Reserve)\(&so->visited", text):
        sys.exit("keyset.py: a use of ScanMap is left in %s" % path)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
