#!/usr/bin/env bash
# OCR benchmark: pages/s on the machine's cores for longctx ingest (--ocr
# force, isolated workers, pages rendered in memory, one Tesseract per
# worker) against `pdftoppm -r 300 -gray | tesseract` per page (as many
# pages at once as there are cores, OMP_THREAD_LIMIT=1) and, when installed,
# `ocrmypdf --output-type pdf --skip-text` (`--force-ocr` for the scans that
# carry an OCR layer), with the CER of each against reference transcripts,
# and the peak memory of one extraction at 300 dpi on a letter page and on
# poster-sized pages.
#
# Usage: bench/ocr.sh [WORKDIR]   (COPIES=N copies of each scan, default 3)
# Needs a release build (swift build -c release --product longctx), the
# OCR test resources (scripts/ocr-testdata.sh) and the development corpus.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
WORK="${1:-$(mktemp -d /tmp/longctx-ocr-bench.XXXXXX)}"
COPIES="${COPIES:-3}"
CORES="$(nproc)"
CORPUS="${LONGCTX_SHARED_CORPUS:-$ROOT/../shared/corpus}/pdf"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
RES="$(bash "$ROOT/scripts/ocr-testdata.sh")"
mkdir -p "$WORK"
now() { date +%s.%N; }
export OMP_THREAD_LIMIT=1
# Copies of a scan have the same pixels: without this the OCR cache would read each once.
export LONGCTX_OCR_CACHE=off

# ---------- the scans ----------
# Image-only pages from OCRmyPDF's resources and the corpus, scans with a
# scanner's OCR layer (read again with force), and a 200-dpi raster of a PDF
# whose text layer is the transcript.
SCANS=("$RES/linn.pdf" "$RES/c03-29.pdf" "$RES/francais.pdf" "$RES/skew.pdf")
for f in pdfminer/contrib/pdf-with-jbig2.pdf pdfjs/issue5747.pdf pypdf/indirect-rotation.pdf; do
  [ -f "$CORPUS/$f" ] && SCANS+=("$CORPUS/$f")
done
gs -q -sDEVICE=pdfimage8 -r200 -o "$WORK/contract-scan.pdf" "$ROOT/Samples/pdfs/contract.pdf"
SCANS+=("$WORK/contract-scan.pdf")
pdftotext -q "$ROOT/Samples/pdfs/contract.pdf" "$WORK/contract-scan.ref.txt"
cp "$RES/linn.txt" "$WORK/linn.ref.txt"

rm -rf "$WORK/in" "$WORK/ws" "$WORK/cli" "$WORK/ocrmypdf"
mkdir -p "$WORK/in" "$WORK/cli" "$WORK/ocrmypdf"
pages=0
for src in "${SCANS[@]}"; do
  base="$(basename "$src" .pdf)"
  n="$(pdfinfo "$src" 2>/dev/null | awk '/^Pages:/ {print $2}')"
  for i in $(seq 1 "$COPIES"); do
    # A trailing comment after %%EOF gives every copy distinct bytes (no dedup).
    { cat "$src"; printf '%% longctx ocr bench copy %d\n' "$i"; } > "$WORK/in/$base-$i.pdf"
    pages=$((pages + n))
  done
done
echo "scans: ${#SCANS[@]} PDFs x $COPIES copies = $pages pages, $CORES cores"

# ---------- longctx ----------
t0=$(now)
/usr/bin/time -f "%U %S" -o "$WORK/cpu-longctx.txt" \
  "$LONGCTX" ingest --workspace "$WORK/ws" --json --ocr force "$WORK/in" > "$WORK/longctx-summary.json"
t1=$(now)
python3 - "$WORK/longctx-summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"longctx: {s['pages']} pages, {s['failed']} failed, {len(s['exceptions'])} exceptions")
PY

# ---------- pdftoppm | tesseract, one page per process pair ----------
for f in "$WORK"/in/*.pdf; do
  n="$(pdfinfo "$f" 2>/dev/null | awk '/^Pages:/ {print $2}')"
  for p in $(seq 1 "$n"); do echo "$f $p"; done
done > "$WORK/cli-jobs.txt"
t2=$(now)
/usr/bin/time -f "%U %S" -o "$WORK/cpu-cli.txt" xargs -P "$CORES" -L 1 sh -c \
  'pdftoppm -r 300 -gray -f "$1" -l "$1" "$0" | tesseract stdin stdout 2>/dev/null > "'"$WORK"'/cli/$(basename "$0" .pdf)-$1.txt"' \
  < "$WORK/cli-jobs.txt"
t3=$(now)

# ---------- ocrmypdf ----------
have_ocrmypdf=0
if command -v ocrmypdf > /dev/null; then
  have_ocrmypdf=1
  t4=$(now)
  : > "$WORK/cpu-ocrmypdf.txt"
  for f in "$WORK"/in/*.pdf; do
    mode=--skip-text
    pdffonts "$f" 2>/dev/null | awk 'NR > 2' | grep -q . && mode=--force-ocr
    /usr/bin/time -f "%U %S" -a -o "$WORK/cpu-ocrmypdf.txt" \
      ocrmypdf -q --output-type pdf "$mode" --jobs "$CORES" "$f" "$WORK/ocrmypdf/$(basename "$f")" 2>/dev/null \
      || echo "ocrmypdf failed on $(basename "$f")" >&2
  done
  t5=$(now)
fi

# ---------- accuracy: CER against the transcripts (copy 1) ----------
for base in linn contract-scan; do
  "$LONGCTX" _extract-pdf "$WORK/in/$base-1.pdf" < /dev/null > "$WORK/$base.longctx.json" 2>/dev/null
  n="$(pdfinfo "$WORK/in/$base-1.pdf" | awk '/^Pages:/ {print $2}')"
  : > "$WORK/$base.cli.txt"
  for p in $(seq 1 "$n"); do cat "$WORK/cli/$base-1-$p.txt" >> "$WORK/$base.cli.txt"; done
  [ "$have_ocrmypdf" = 1 ] && pdftotext -q "$WORK/ocrmypdf/$base-1.pdf" "$WORK/$base.ocrmypdf.txt"
done
python3 - "$WORK" "$have_ocrmypdf" <<'PY'
import json, sys
work, have = sys.argv[1], sys.argv[2] == "1"
def norm(t): return " ".join(t.split())
def dist(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
def cer(h, r): return dist(norm(h), norm(r)) / max(1, len(norm(r)))
for base in ["linn", "contract-scan"]:
    ref = open(f"{work}/{base}.ref.txt").read()
    doc = json.load(open(f"{work}/{base}.longctx.json"))["document"]
    ours = "\n".join(s["text"] for s in doc["sections"])
    conf = [s["ocr"]["confidence"] for s in doc["sections"] if s.get("ocr")]
    line = f"CER {base}: longctx {cer(ours, ref):.4f} (mean confidence {sum(conf)/max(1,len(conf)):.1f})"
    line += f", pdftoppm|tesseract {cer(open(f'{work}/{base}.cli.txt').read(), ref):.4f}"
    if have:
        line += f", ocrmypdf {cer(open(f'{work}/{base}.ocrmypdf.txt').read(), ref):.4f}"
    print(line)
PY

# ---------- speed ----------
python3 - "$WORK" "$pages" "$t0" "$t1" "$t2" "$t3" "${t4:-0}" "${t5:-0}" "$have_ocrmypdf" <<'PY'
import sys
work = sys.argv[1]
pages = int(sys.argv[2]); t0, t1, t2, t3, t4, t5 = map(float, sys.argv[3:9]); have = sys.argv[9] == "1"
def cpu(name):
    total = 0.0
    for line in open(f"{work}/cpu-{name}.txt"):
        parts = line.split()
        if len(parts) == 2:
            try: total += float(parts[0]) + float(parts[1])
            except ValueError: pass
    return total / pages
lc, cli = pages / (t1 - t0), pages / (t3 - t2)
print(f"longctx ingest --ocr force: {t1 - t0:.1f} s, {lc:.2f} pages/s, {cpu('longctx'):.2f} CPU s/page")
print(f"pdftoppm -r 300 | tesseract per page: {t3 - t2:.1f} s, {cli:.2f} pages/s, {cpu('cli'):.2f} CPU s/page (ratio longctx/cli {lc / cli:.2f})")
if have:
    om = pages / (t5 - t4)
    print(f"ocrmypdf --output-type pdf: {t5 - t4:.1f} s, {om:.2f} pages/s, {cpu('ocrmypdf'):.2f} CPU s/page (ratio longctx/ocrmypdf {lc / om:.2f})")
    print(f"longctx vs the faster of the two: {lc / max(cli, om):.2f}x")
PY

# ---------- memory of one extraction (peak RSS) ----------
cat > "$WORK/warnings.py" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))["document"]
print("; ".join(doc["warnings"]) or "no warnings")
PY
for f in "$RES/linn.pdf" "$RES/poster.pdf" "$RES/hugemono.pdf"; do
  size="$(pdfinfo "$f" | awk -F': *' '/^Page size/ {print $2}')"
  /usr/bin/time -f "%M %e" -o "$WORK/time.txt" "$LONGCTX" _extract-pdf "$f" < /dev/null > "$WORK/mem.json" 2>/dev/null
  read -r kb secs < "$WORK/time.txt"
  warn="$(python3 "$WORK/warnings.py" "$WORK/mem.json")"
  echo "memory $(basename "$f") ($size): peak RSS $((kb / 1024)) MiB, $secs s; $warn"
done
