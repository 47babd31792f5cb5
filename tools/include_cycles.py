#!/usr/bin/python3
"""Fail when the modules of the given source folders include each other in
a cycle, or a header declares functions of more than one file.

  tools/include_cycles.py [--am] DIR [[--am] DIR ...]
                                    (e.g. src/encoder --am src/hnsw)

A module is a source path without its extension: x.c and x.h are one
module, a header alone (an interface such as arch/arch.h) is one too.
Module A depends on B when A's .c or .h includes B's header ("..." includes,
relative to src/).  Since x.h is x.c's header, each function x.h declares
must be defined in x.c (a header that is no file's, such as an interface,
declares none): otherwise one header would stand for several files and
hide their dependencies from this check.  Prints every cycle (with the
includes that close it) and every misplaced declaration, and exits 1;
prints the module count and exits 0 otherwise.

--am DIR marks an index access method's folder laid out as pgvector and
PostgreSQL's contrib AMs are: its header DIR/DIR.h (hnsw/hnsw.h) is the
AM's own interface and declares the callbacks and helpers of all the
folder's files.  That one header is exempt from the one-file rule; the
folder's other headers and the cycle check are not.  Pass every folder in
one run so that includes across subsystems are followed too.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
EXTERN_FN = re.compile(r'^extern\s+[^;(]*?\b(\w+)\s*\((?!\s*\*)', re.M)


def misplaced(files, hubs):
    """Functions a header declares that its own .c does not define"""
    out = []
    for rel, path in sorted(files.items()):
        if not rel.endswith(".h") or rel in hubs:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            names = EXTERN_FN.findall(f.read())
        csrc = files.get(rel[:-2] + ".c")
        body = ""
        if csrc:
            with open(csrc, encoding="utf-8", errors="replace") as f:
                body = f.read()
        for n in names:
            if not re.search(r'^(\w[\w \t*]*[\s*])?%s\s*\([^;]*$' % re.escape(n), body, re.M):
                out.append("%s declares %s, which %s" % (
                    rel, n, "%s.c does not define" % rel[:-2] if csrc else
                    "belongs to no file of its own (no %s.c)" % os.path.basename(rel[:-2])))
    return out


deps_files = [None]


def modules(src, dirs):
    files = {}
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in names:
                if n.endswith((".c", ".h")):
                    path = os.path.join(root, n)
                    files[os.path.relpath(path, src)] = path
    deps = {}
    deps_files[0] = files
    for rel, path in files.items():
        mod = os.path.splitext(rel)[0]
        with open(path, encoding="utf-8", errors="replace") as f:
            for inc in INCLUDE.findall(f.read()):
                target = os.path.splitext(inc)[0]
                if target != mod and inc in files:
                    deps.setdefault(mod, set()).add(target)
        deps.setdefault(mod, set())
    return deps


def cycles(deps):
    """Each strongly connected component with more than one module"""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(deps.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    return out


def main():
    dirs, hubs, am = [], set(), False
    for a in sys.argv[1:]:
        if a == "--am":
            am = True
            continue
        d = a.rstrip("/")
        dirs.append(d)
        if am:
            name = os.path.basename(d)
            hubs.add("%s/%s.h" % (name, name))
        am = False
    if not dirs:
        sys.exit(__doc__)
    src = os.path.commonpath([os.path.dirname(os.path.abspath(d.rstrip("/"))) for d in dirs])
    deps = modules(src, [os.path.abspath(d) for d in dirs])
    found = cycles(deps)
    wrong = misplaced(deps_files[0], hubs)
    for line in wrong:
        print(line)
    for comp in found:
        members = set(comp)
        print("include cycle among: " + ", ".join(comp))
        for m in comp:
            print("  %s includes %s" % (m, ", ".join(sorted(deps[m] & members))))
    if found or wrong:
        sys.exit(1)
    print("include_cycles: %d modules under %s, no cycle" % (len(deps), " ".join(dirs)))


if __name__ == "__main__":
    main()
