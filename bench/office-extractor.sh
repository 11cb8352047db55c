#!/usr/bin/env bash
# Office extraction throughput: longctx's OOXML reader vs MarkItDown on the
# corpus's docx/xlsx/pptx, run one after the other in one go.
#   bench/office-extractor.sh [CORPUS_DIR]     (default ../shared/corpus/office)
# Needs MarkItDown: pip install --target /tmp/mid 'markitdown[docx,xlsx,pptx]'
# (MID=/tmp/mid). Ours: the extractor core compiled with swiftc -O
# (bench/office/main.swift), every file ROUNDS times in one process. MarkItDown:
# (a) the `markitdown FILE` command per file, as a user runs it; (b) its Python
# API, every file ROUNDS times in one process (no interpreter start-up).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus/office}"
MID="${MID:-/tmp/mid}"
ROUNDS="${ROUNDS:-20}"
OUT="$ROOT/.build-bench-office"
mkdir -p "$OUT"
now() { date +%s.%N; }

mapfile -t FILES < <(ls "$CORPUS"/word/*.docx "$CORPUS"/excel/*.xlsx "$CORPUS"/powerpoint/*.pptx)
bytes=$(cat "${FILES[@]}" | wc -c)
sources=()
for f in "$ROOT"/Sources/Ingest/Office/*.swift; do
  [[ $f == */OfficeExtractor.swift || $f == */OfficeDecryption.swift ]] || sources+=("$f")
done
swiftc -O -parse-as-library -module-name Ingest -I "$ROOT/Sources/CZlib" -lz "${sources[@]}" \
  "$ROOT/Sources/Ingest/Model/Locator.swift" "$ROOT/Sources/Ingest/Outlook/CompoundFile.swift" \
  "$ROOT/bench/office/main.swift" -o "$OUT/office-bench"

echo "== longctx OOXML reader (${#FILES[@]} files, $bytes bytes, $ROUNDS rounds)"
ROUNDS=$ROUNDS "$OUT/office-bench" "${FILES[@]}" | tee "$OUT/ours.txt"

echo "== markitdown FILE, per file"
t0=$(now)
for f in "${FILES[@]}"; do PYTHONPATH="$MID" python3 -W ignore "$MID/bin/markitdown" "$f" > /dev/null 2>&1; done
t1=$(now)
python3 -c "import sys; n=int(sys.argv[1]); b=int(sys.argv[2]); t=float(sys.argv[3]); print(f'{n} files: {t:.2f} s, {n/t:.2f} files/s, {b/1e6/t:.3f} MB/s')" \
  "${#FILES[@]}" "$bytes" "$(echo "$t1 - $t0" | bc)" | tee "$OUT/mid-cli.txt"

echo "== MarkItDown Python API, in one process"
PYTHONPATH="$MID" python3 -W ignore - "$ROUNDS" "$bytes" "${FILES[@]}" <<'PY' | tee "$OUT/mid-api.txt"
import sys, time
from markitdown import MarkItDown
rounds, size, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
md = MarkItDown()
for f in files: md.convert(f)  # warm-up: imports and first-use costs
t = time.time()
for _ in range(rounds):
    for f in files: md.convert(f)
dt = (time.time() - t) / rounds
print(f"{len(files)} files: {dt:.4f} s per pass, {len(files)/dt:.1f} files/s, {size/1e6/dt:.2f} MB/s")
PY
python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
rate = lambda name: float(re.search(r"([\d.]+) files/s", open(f"{out}/{name}").read()).group(1))
ours, cli, api = rate("ours.txt"), rate("mid-cli.txt"), rate("mid-api.txt")
print(f"ratio: {ours/cli:.0f}x the markitdown command, {ours/api:.1f}x MarkItDown's API in one process")
PY
