#!/usr/bin/env bash
# PDF text extraction side by side, in one run (issue 32): `longctx ingest` with its defaults
# and with `--ocr off` against `pdftotext` one file at a time and PyMuPDF (PyPI `pymupdf`) in
# process, on the real text PDFs of ../shared/corpus/pdf and on Debian's documentation PDFs.
# Prints pages/s (median of ROUNDS), CPU seconds (user+sys, children included) and the ratios.
#
# Usage: bench/pdf-peers.sh [WORKDIR]
#   LONGCTX   the longctx to measure (default .build-release/release/longctx, then .build/release)
#   BEFORE    another longctx binary measured in the same rounds (e.g. main's release build)
#   ROUNDS    rounds per tool and set (default 3), COPIES copies of each PDF (default 3)
#   SCANS=1   also a set of scanned pages (OCRmyPDF's test scans, fetched by scripts/ocr-testdata.sh)
# PyMuPDF is installed from PyPI into a venv under ~/.cache/longctx (PYMUPDF_VENV) when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-}"
if [ -z "$LONGCTX" ]; then
  for c in "$ROOT/.build-release/release/longctx" "$ROOT/.build/release/longctx"; do
    [ -x "$c" ] && { LONGCTX="$c"; break; }
  done
fi
[ -x "${LONGCTX:-}" ] || { echo "build first: swift build -c release --scratch-path .build-release" >&2; exit 2; }
BEFORE="${BEFORE:-}"
ROUNDS="${ROUNDS:-3}"
COPIES="${COPIES:-3}"
WORK="${1:-$(mktemp -d /tmp/longctx-pdf-peers.XXXXXX)}"
VENV="${PYMUPDF_VENV:-$HOME/.cache/longctx/pymupdf-venv}"
CORPUS="$ROOT/../shared/corpus/pdf"
mkdir -p "$WORK"

if ! "$VENV/bin/python" -c 'import pymupdf' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pymupdf
fi

# The sets: each PDF copied COPIES times with distinct bytes (a comment after %%EOF), so that
# ingest stores every copy instead of linking duplicates.
make_set() {  # name, then source PDFs (.pdf or .pdf.gz)
  local name="$1"
  shift
  rm -rf "${WORK:?}/$name"
  mkdir -p "$WORK/$name"
  for src in "$@"; do
    [ -f "$src" ] || continue
    local base
    base="$(basename "${src%.gz}" .pdf)"
    for i in $(seq 1 "$COPIES"); do
      { case "$src" in *.gz) zcat "$src" ;; *) cat "$src" ;; esac
        printf '%% longctx bench copy %d\n' "$i"; } > "$WORK/$name/$base-$i.pdf"
    done
  done
}
# Text PDFs of the corpus: every page has a text layer (forms, annotations, Arabic and Hebrew,
# rotated pages, a Japanese gazette). The corpus's scans, image-only and broken files are left out.
CORPUS_TEXT=(pdfjs/160F-2019 pdfjs/TAMReview pdfjs/chrome-text-selection-markedContent pdfjs/issue12963
  pdfjs/issue14297 pdfjs/issue19971 pdfjs/issue6127 pdfjs/issue840 pdfjs/issue918 pdfjs/prefilled_f1040
  pdfminer/nonfree/kampo pdfminer/nonfree/naacl06-shinyama pypdf/indirect-rotation)
sets=()
if [ -d "$CORPUS" ]; then
  corpus_files=()
  for f in "${CORPUS_TEXT[@]}"; do corpus_files+=("$CORPUS/$f.pdf"); done
  make_set corpus "${corpus_files[@]}"
  sets+=(corpus)
else
  echo "no corpus at $CORPUS: its set is skipped" >&2
fi
# Debian's documentation PDFs that the set-up's packages install (the groff examples but the
# image-only penguin.pdf).
mapfile -t debian < <(find /usr/share/doc \( -name '*.pdf' -o -name '*.pdf.gz' \) ! -name 'penguin.pdf*' 2>/dev/null | sort)
if [ "${#debian[@]}" -gt 0 ]; then
  make_set debian "${debian[@]}"
  sets+=(debian)
fi
if [ "${SCANS:-0}" = 1 ]; then
  scans="$HOME/.cache/longctx/ocr-testdata"
  mapfile -t scanned < <(find "$scans" \( -name 'multipage.pdf' -o -name 'c03-29.pdf' -o -name 'francais.pdf' \) 2>/dev/null)
  COPIES=1 make_set scans "${scanned[@]}"
  sets+=(scans)
fi

cat > "$WORK/pymupdf-bench.py" <<'PY'
import pymupdf, sys, time
files = sys.argv[1:]
t0 = time.perf_counter(); c0 = time.process_time()
pages = 0
for f in files:
    with pymupdf.open(f) as doc:
        for page in doc:
            page.get_text()
            pages += 1
print(pages, time.perf_counter() - t0, time.process_time() - c0)
PY

# One measurement: prints "wall cpu" (seconds; cpu = user+sys of the command and its children).
measure() {
  local out="$WORK/time.txt"
  /usr/bin/time -f "%e %U %S" -o "$out" "$@" > /dev/null 2>> "$WORK/stderr.log"
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$out"
}
pdftotext_each() { for f in "$1"/*.pdf; do pdftotext -q "$f" /dev/null || true; done; }
export -f pdftotext_each

results="$WORK/results.tsv"
: > "$results"
for set in "${sets[@]}"; do
  dir="$WORK/$set"
  pages=0
  for f in "$dir"/*.pdf; do
    n=$(pdfinfo "$f" 2>/dev/null | awk '/^Pages:/ {print $2}' || true)
    pages=$((pages + ${n:-0}))
  done
  files=$(ls "$dir"/*.pdf | wc -l)
  echo "$set: $files files, $pages pages" >&2
  for round in $(seq 1 "$ROUNDS"); do
    for tool in longctx longctx-ocr-off before before-ocr-off pdftotext pymupdf; do
      case "$tool" in
        longctx) rm -rf "$WORK/ws"; m=$(measure "$LONGCTX" ingest --workspace "$WORK/ws" -q "$dir") ;;
        longctx-ocr-off) rm -rf "$WORK/ws"; m=$(measure "$LONGCTX" ingest --workspace "$WORK/ws" -q --ocr off "$dir") ;;
        before | before-ocr-off)
          [ -n "$BEFORE" ] || continue
          flags=()
          [ "$tool" = before-ocr-off ] && flags=(--ocr off)
          rm -rf "$WORK/ws"; m=$(measure "$BEFORE" ingest --workspace "$WORK/ws" -q "${flags[@]}" "$dir") ;;
        pdftotext) m=$(measure bash -c 'pdftotext_each "$0"' "$dir") ;;
        pymupdf)
          # In process: the time inside Python, after the import.
          read -r _ wall cpu < <("$VENV/bin/python" "$WORK/pymupdf-bench.py" "$dir"/*.pdf 2>> "$WORK/stderr.log")
          m="$wall $cpu" ;;
      esac
      echo -e "$set\t$pages\t$tool\t$round\t$m" | tr ' ' '\t' >> "$results"
    done
  done
done
rm -rf "$WORK/ws"

python3 - "$results" "$LONGCTX" "${BEFORE:-}" "$(nproc)" <<'PY'
import statistics, sys
from collections import defaultdict
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines() if l]
longctx, before, cores = sys.argv[2], sys.argv[3], sys.argv[4]
walls, cpus, pages = defaultdict(list), defaultdict(list), {}
for s, p, tool, _, wall, cpu in rows:
    pages[s] = int(p)
    walls[(s, tool)].append(float(wall))
    cpus[(s, tool)].append(float(cpu))
print(f"machine: {cores} cores; longctx: {longctx}" + (f"; before: {before}" if before else ""))
print()
print("| set | pages | tool | pages/s (median) | wall s (median) | CPU s (median) | × pdftotext (pages/s) | × PyMuPDF | CPU × pdftotext |")
print("|---|---|---|---|---|---|---|---|---|")
tools = ["longctx", "longctx-ocr-off", "before", "before-ocr-off", "pdftotext", "pymupdf"]
for s in pages:
    ref = statistics.median(walls[(s, "pdftotext")])
    mu = statistics.median(walls[(s, "pymupdf")])
    refc = statistics.median(cpus[(s, "pdftotext")])
    for t in tools:
        if (s, t) not in walls:
            continue
        w, c = statistics.median(walls[(s, t)]), statistics.median(cpus[(s, t)])
        print(f"| {s} | {pages[s]} | {t} | {pages[s] / w:.1f} | {w:.2f} | {c:.2f} | {ref / w:.2f} | {mu / w:.2f} | {c / refc:.2f} |")
PY
