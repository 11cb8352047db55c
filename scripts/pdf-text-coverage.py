#!/usr/bin/env python3
"""How much of pdftotext's text longctx's PDF extractor keeps, per file.

Usage: scripts/pdf-text-coverage.py [LONGCTX_BINARY] [PDF_DIR]
  (defaults: .build/debug/longctx, /work/shared/corpus/pdf)

For each PDF, both texts are whitespace-normalised (runs of whitespace become
one space) and stripped of Unicode bidi controls (U+200E/F, U+202A-202E,
U+2066-2069: formatting, not text). Three figures are printed:

  bytes  our normalised UTF-8 bytes / pdftotext's (a length ratio; labels such
         as "[form field X]" count too);
  chars  the share of pdftotext's non-space characters that also occur in
         ours, each counted as often as it occurs (what we lost; our extra
         text does not raise it, and word order and spacing do not matter:
         vertical CJK text is spaced differently by the two);
  words  the same for whole words, in bytes (spacing matters).
A row is flagged when chars is below 90%.
"""
import collections, json, os, re, subprocess, sys

binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/longctx"
root = sys.argv[2] if len(sys.argv) > 2 else "/work/shared/corpus/pdf"
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def normalise(text):
    return " ".join(BIDI.sub("", text).split())


def pdftotext(path):
    run = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", path, "-"], capture_output=True)
    return run.stdout.decode("utf-8", "replace"), run.returncode


def ours(path):
    run = subprocess.run([binary, "_extract-pdf", "--display-path", "x.pdf", path],
                         capture_output=True, timeout=300)
    reply = json.loads(run.stdout or b"{}")
    doc = reply.get("document")
    if doc is None:
        return None, reply.get("errorReason") or reply.get("errorKind") or "no reply"
    return "\n".join(s["text"] for s in doc.get("sections", [])), None


def kept(theirs, mine, unit):
    split = (lambda t: t.split()) if unit == "words" else (lambda t: list(t.replace(" ", "")))
    have = collections.Counter(split(mine))
    total = got = 0
    for word in split(theirs):
        n = len(word.encode())
        total += n
        if have[word] > 0:
            have[word] -= 1
            got += n
    return got / total if total else 1.0


rows = []
for dirpath, _, names in os.walk(root):
    for name in names:
        if name.lower().endswith(".pdf"):
            rows.append(os.path.join(dirpath, name))
print(f"{'file':48} {'pdftotext':>9} {'ours':>7} {'bytes':>6} {'chars':>6} {'words':>6}")
for path in sorted(rows):
    ref, rc = pdftotext(path)
    mine, failure = ours(path)
    ref_n = normalise(ref)
    rel = os.path.relpath(path, root)
    if mine is None:
        print(f"{rel:48} {len(ref_n.encode()):9} {'failed':>7}   ({failure})")
        continue
    mine_n = normalise(mine)
    a, b = len(mine_n.encode()), len(ref_n.encode())
    ratio = a / b if b else float("nan") if a else 1.0
    chars, words = kept(ref_n, mine_n, "chars"), kept(ref_n, mine_n, "words")
    flag = "" if chars >= 0.9 else "  <90%"
    print(f"{rel:48} {b:9} {a:7} {ratio:6.0%} {chars:6.0%} {words:6.0%}{flag}")
