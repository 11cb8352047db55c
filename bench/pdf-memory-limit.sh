#!/usr/bin/env bash
# Does the PDF worker's memory limit (RLIMIT_AS, `--pdf-memory`) stop a child
# that balloons? Builds a valid PDF of PAGES pages that all show one content
# stream (small on disk, a lot of text once extracted), then runs the worker
# child (`longctx _extract-pdf --memory-limit BYTES`) under several limits and
# prints, per limit: exit status, peak RSS, seconds, and whether a result came back.
# Usage: PAGES=20000 LIMITS_MIB="0 4096 512 300" bench/pdf-memory-limit.sh [WORKDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
WORK="${1:-$(mktemp -d /tmp/longctx-pdfmem.XXXXXX)}"
PAGES="${PAGES:-20000}"
LIMITS_MIB="${LIMITS_MIB:-0 4096 512 300}"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
mkdir -p "$WORK"
PDF="$WORK/balloon-$PAGES.pdf"
python3 - "$PDF" "$PAGES" <<'PY'
import sys
path, pages, lines = sys.argv[1], int(sys.argv[2]), 110
content = "BT /F1 6 Tf 20 780 Td 7 TL\n" + "".join(
    f"(line {i} of many words to fill the page with extracted text) '\n" for i in range(lines)) + "ET\n"
kids = " ".join(f"{6 + i} 0 R" for i in range(pages))
objs = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}endstream", "<< >>"]
objs += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
         "/Resources << /Font << /F1 3 0 R >> >> >>"] * pages
out, offsets = "%PDF-1.4\n", []
for i, body in enumerate(objs):
    offsets.append(len(out))
    out += f"{i + 1} 0 obj\n{body}\nendobj\n"
xref = len(out)
out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
open(path, "w").write(out)
PY
echo "PDF: $PDF, $PAGES pages, $(stat -c %s "$PDF") bytes; pdftotext text: $(pdftotext -q "$PDF" - | wc -c) bytes"
echo
echo "| --memory-limit | exit | peak RSS MiB | seconds | result |"
echo "|---|---|---|---|---|"
for mib in $LIMITS_MIB; do
  bytes=$((mib * 1024 * 1024))
  set +e
  /usr/bin/time -f "%x %M %e" -o "$WORK/time.txt" "$LONGCTX" _extract-pdf --memory-limit "$bytes" "$PDF" \
    < /dev/null > "$WORK/out.json" 2> "$WORK/err.txt"
  set -e
  read -r code rss secs < <(tail -1 "$WORK/time.txt")
  if grep -q "terminated by signal" "$WORK/time.txt"; then code="$(grep -o 'signal [0-9]*' "$WORK/time.txt")"; fi
  result=$(python3 - "$WORK/out.json" "$WORK/err.txt" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    d = r.get("document")
    print("%d pages" % d["pageCount"] if d else "error: %s" % r.get("errorReason"))
except Exception:
    lines = open(sys.argv[2]).read().strip().splitlines() or ["no stderr"]
    print("no result (%s)" % lines[-1][:80])
PY
)
  label=$([ "$mib" = 0 ] && echo "none" || echo "$mib MiB")
  echo "| $label | $code | $((rss / 1024)) | $secs | $result |"
done
