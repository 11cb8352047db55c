#!/usr/bin/env bash
# Ingest benchmarks: PDF pages/s vs pdftotext (with per-page text equality),
# and plain-log MB/s vs `wc -l`. Usage: bench/ingest.sh [WORKDIR]
# Needs a release build: swift build -c release --product longctx
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
WORK="${1:-$(mktemp -d /tmp/longctx-bench.XXXXXX)}"
COPIES="${COPIES:-25}"
LOG_MB="${LOG_MB:-256}"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
mkdir -p "$WORK"
now() { date +%s.%N; }

# ---------- (a) PDFs ----------
SOURCES=("$ROOT/Samples/pdfs/contract.pdf" "$ROOT/Samples/pdfs/memo.pdf")
for extra in /usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf /usr/share/doc/libtasn1-doc/libtasn1.pdf; do
  [ -f "$extra" ] && SOURCES+=("$extra")
done
rm -rf "$WORK/pdfs" "$WORK/ws-pdf" "$WORK/txt"
mkdir -p "$WORK/pdfs" "$WORK/txt"
pages_total=0
for src in "${SOURCES[@]}"; do
  base="$(basename "$src" .pdf)"
  n="$(pdfinfo "$src" | awk '/^Pages:/ {print $2}')"
  for i in $(seq 1 "$COPIES"); do
    # A trailing comment after %%EOF gives every copy distinct bytes (no dedup).
    { cat "$src"; printf '%% longctx bench copy %d\n' "$i"; } > "$WORK/pdfs/$base-$i.pdf"
    pages_total=$((pages_total + n))
  done
done
files=$(ls "$WORK/pdfs" | wc -l)

t0=$(now)
"$LONGCTX" ingest --workspace "$WORK/ws-pdf" --json "$WORK/pdfs" > "$WORK/pdf-summary.json"
t1=$(now)
for f in "$WORK"/pdfs/*.pdf; do pdftotext -q "$f" "$WORK/txt/$(basename "$f" .pdf).txt"; done
t2=$(now)
lc_pages=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["pages"], s["failed"])' "$WORK/pdf-summary.json")

# Per-page text equality (whitespace-normalised) on each distinct source PDF.
eq_report=$(for src in "${SOURCES[@]}"; do
  "$LONGCTX" _extract-pdf --display-path "$(basename "$src")" "$src" < /dev/null > "$WORK/$(basename "$src").json"
  python3 - "$src" "$WORK/$(basename "$src").json" <<'PY'
import json, subprocess, sys
src, js = sys.argv[1], sys.argv[2]
doc = json.load(open(js))["document"]
ours = {s["locator"]["page"]: s["text"] for s in doc["sections"]}
import re
norm = lambda t: " ".join(t.split())
# Both sides join words hyphenated at line ends ("Analyt-\nics"): pdftotext, and longctx's
# PDF extractor since it joins them too.
same = total = 0
for p in range(1, doc["pageCount"] + 1):
    ref = subprocess.run(["pdftotext", "-q", "-f", str(p), "-l", str(p), src, "-"], capture_output=True, text=True).stdout
    mine = ours.get(p, "")
    total += 1
    same += norm(mine) == norm(ref)
print(f"{src.split('/')[-1]}: {same}/{total} pages equal")
PY
done)

# ---------- (b) logs ----------
LOG="$WORK/big.log"
if [ ! -f "$LOG" ] || [ "$(stat -c %s "$LOG")" -lt $((LOG_MB * 1000000)) ]; then
  python3 "$ROOT/bench/synthetic-log.py" "$LOG" "$LOG_MB"
fi
log_bytes=$(stat -c %s "$LOG")
rm -rf "$WORK/ws-log"
t3=$(now)
/usr/bin/time -f "%U %S" -o "$WORK/log-cpu.txt" "$LONGCTX" ingest --workspace "$WORK/ws-log" --json "$LOG" > "$WORK/log-summary.json"
t4=$(now)
read -r log_user log_sys < "$WORK/log-cpu.txt"
wc -l "$LOG" > /dev/null
t5=$(now)
cat "$LOG" > /dev/null
t6=$(now)

python3 - <<PY
lc_pdf = $t1 - $t0; pt = $t2 - $t1
pages = $pages_total
lc_log = $t4 - $t3; wc = $t5 - $t4; cat = $t6 - $t5
mb = $log_bytes / 1e6
print(f"machine: $(nproc) cores; longctx: $LONGCTX")
print(f"PDF corpus: $files files, {pages} pages (longctx summary pages, failed: $lc_pages)")
print()
print("| measure | longctx ingest | baseline | ratio (longctx/baseline) |")
print("|---|---|---|---|")
print(f"| PDF pages/s | {pages/lc_pdf:.1f} ({lc_pdf:.2f} s) | pdftotext per file: {pages/pt:.1f} ({pt:.2f} s) | {(pages/lc_pdf)/(pages/pt):.2f} |")
print(f"| log MB/s ({mb:.0f} MB) | {mb/lc_log:.1f} ({lc_log:.2f} s) | wc -l: {mb/wc:.1f} ({wc:.2f} s) | {(mb/lc_log)/(mb/wc):.3f} |")
print(f"| log MB/s per CPU second (user+sys $log_user+$log_sys s) | {mb/($log_user+$log_sys):.1f} | | |")
print(f"| (cat > /dev/null, page cache) | | {mb/cat:.1f} MB/s | |")
print()
print("Per-page text equality vs pdftotext (whitespace-normalised):")
PY
echo "$eq_report"
