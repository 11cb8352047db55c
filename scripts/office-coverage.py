#!/usr/bin/env python3
"""Office extraction coverage against the LibreOffice reference text.

  scripts/office-coverage.py OURS_DIR [CORPUS_DIR]

OURS_DIR holds our text of each corpus file at its relative path plus `.txt`
(`word/NullHeader.docx.txt`); the office tests write it when
LONGCTX_OFFICE_TEXT_DIR is set:

  LONGCTX_OFFICE_TEXT_DIR=/tmp/ours swift test --skip-build --filter OfficeCorpusTests

CORPUS_DIR defaults to ../shared/corpus beside the repository. For each file
it prints the share of the reference's non-whitespace characters our text
recovers (multiset overlap, NFC) and the share of the reference's distinctive
words (the manifest's `words=`, plus every word of 6+ letters in the
reference) found verbatim. The reference is LibreOffice's txt export for
Word, its per-sheet CSV cell values for Excel, pdftotext of its PDF export
for PowerPoint (see corpus/office/README.md). Exit status 1 when fewer than
98 % of the files reach 95 % on both.
"""
import collections
import csv
import glob
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))


def nfc(text):
    return unicodedata.normalize("NFC", text.replace("\ufeff", ""))


def reference_text(ref_dir, rel):
    name = os.path.splitext(os.path.basename(rel))[0]
    ext = rel.rsplit(".", 1)[-1].lower()
    if ext.startswith("xl"):
        values = []
        for path in sorted(glob.glob(os.path.join(ref_dir, glob.escape(name) + "-*.csv"))):
            with open(path, encoding="utf-8-sig", newline="") as f:
                for row in csv.reader(f):
                    values.extend(v for v in row if v.strip())
        return "\n".join(values)
    candidates = [name + ".txt"] if ext.startswith("do") else [name + ".pdf.txt"]
    for candidate in candidates:
        path = os.path.join(ref_dir, candidate)
        if os.path.exists(path):
            with open(path, encoding="utf-8-sig") as f:
                return f.read()
    return None


def measure(ours, ref, manifest_words):
    ours, ref = nfc(ours), nfc(ref)
    ref_chars = collections.Counter(c for c in ref if not c.isspace())
    our_chars = collections.Counter(c for c in ours if not c.isspace())
    total = sum(ref_chars.values())
    got = sum(min(n, our_chars[c]) for c, n in ref_chars.items())
    words = set(manifest_words) | set(re.findall(r"[^\W\d_]{6,}", ref))
    found = sum(1 for w in words if w in ours)
    return total, (got / total if total else 1.0), len(words), (found / len(words) if words else 1.0)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ours_dir = sys.argv[1]
    corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "shared", "corpus")
    office = os.path.join(corpus, "office")
    rows = []
    with open(os.path.join(office, "manifest.tsv"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5 or parts[1] not in ("docx", "xlsx", "pptx"):
                continue
            if parts[0].split("/")[0] in ("corrupt", "encrypted"):
                continue
            words = next((t[6:].split("|") for t in parts[4].split(";") if t.startswith("words=")), [])
            rows.append((parts[0], words))
    print(f"{'file':60} {'chars':>6} {'char%':>7} {'words':>6} {'word%':>7}")
    passing = 0
    for rel, words in rows:
        ref = reference_text(os.path.join(corpus, "office-reference", rel), rel)
        ours_path = os.path.join(ours_dir, rel + ".txt")
        if ref is None or not os.path.exists(ours_path):
            print(f"{rel[:60]:60} missing {'reference' if ref is None else 'our text'}")
            continue
        with open(ours_path, encoding="utf-8") as f:
            total, chars, nwords, wshare = measure(f.read(), ref, words)
        ok = chars >= 0.95 and wshare >= 0.95
        passing += ok
        print(f"{rel[:60]:60} {total:6} {chars*100:6.1f}% {nwords:6} {wshare*100:6.1f}%{'' if ok else '  < 95 %'}")
    share = passing / len(rows) if rows else 0
    print(f"{passing}/{len(rows)} files at >= 95 % of characters and words ({share*100:.0f} %; goal 98 %)")
    return 0 if share >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
