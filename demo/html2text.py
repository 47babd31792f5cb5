#!/usr/bin/python3
"""Convert PostgreSQL manual HTML pages to CSV rows (page, title, body) on stdout.

Usage: html2text.py FILE.html ...   (python3 standard library only)

Navigation headers/footers, scripts and styles are dropped; block elements
become line breaks and paragraphs blank lines, so that chunk() sees real
sentence and paragraph boundaries.  Whitespace inside paragraphs is folded,
except in <pre> blocks, which keep their lines.
"""
import csv
import html.parser
import os
import re
import sys

BLOCK = {"p", "div", "section", "table", "tr", "ul", "ol", "dl", "li", "dt",
         "dd", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
         "br", "hr", "title", "caption", "figure"}
SKIP = {"script", "style", "head"}
SKIP_CLASSES = {"navheader", "navfooter", "toc"}


class ManualPage(html.parser.HTMLParser):
    """Collect the text of one page, and its <title>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.title = []
        self.stack = []          # (tag, skipping) for elements that skip content
        self.skip = 0
        self.pre = 0
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        skipping = tag in SKIP or bool(classes & SKIP_CLASSES)
        if tag not in ("br", "hr", "img", "meta", "link", "input"):
            self.stack.append((tag, skipping))
            if skipping:
                self.skip += 1
        if tag == "title":
            self.in_title = True
        if tag == "pre":
            self.pre += 1
        if tag in BLOCK:
            self.out.append("\n\n" if tag in ("p", "pre", "h1", "h2", "h3", "h4", "table") else "\n")

    def handle_endtag(self, tag):
        # pop to the matching element (HTML in the manual is well formed)
        while self.stack:
            t, skipping = self.stack.pop()
            if skipping:
                self.skip -= 1
            if t == tag:
                break
        if tag == "title":
            self.in_title = False
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in BLOCK:
            self.out.append("\n\n" if tag in ("p", "pre", "h1", "h2", "h3", "h4", "table") else "\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
        else:
            self.out.append(re.sub(r"\s+", " ", data))

    def text(self):
        raw = "".join(self.out)
        lines = [ln.strip() for ln in raw.split("\n")]
        text = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def main():
    w = csv.writer(sys.stdout, lineterminator="\n")
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8", errors="replace") as f:
            p = ManualPage()
            p.feed(f.read())
            p.close()
        title = re.sub(r"\s+", " ", "".join(p.title)).strip()
        body = p.text()
        if body:
            w.writerow([os.path.basename(path), title, body])


if __name__ == "__main__":
    main()
