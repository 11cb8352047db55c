#!/usr/bin/env bash
# Ingest + produce throughput on a mixed production (issue 19): the sample PDFs
# and mail and the shared corpus's PDFs and mail, each copied COPIES times with
# distinct bytes, under two custodians. Prints GB/hour and per core.
# Usage: bench/produce.sh [WORKDIR]   (needs: swift build -c release --product longctx)
#        IMAGES=1 bench/produce.sh [WORKDIR]   adds --images (stamped 300-dpi G4 TIFFs, the OPT)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
WORK="${1:-$(mktemp -d /tmp/longctx-produce.XXXXXX)}"
COPIES="${COPIES:-20}"
CORPUS="${CORPUS:-$ROOT/../shared/corpus}"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
rm -rf "$WORK/in" "$WORK/ws" "$WORK/out"
mkdir -p "$WORK/in/a" "$WORK/in/b"
sources=("$ROOT"/Samples/pdfs/*.pdf "$ROOT"/Samples/mail/*)
if [ -d "$CORPUS" ]; then
  while IFS= read -r f; do sources+=("$f"); done < <(find "$CORPUS/pdf" "$CORPUS/email" -type f \( -name '*.pdf' -o -name '*.eml' \) | sort | head -60)
fi
i=0
for c in $(seq 1 "$COPIES"); do
  for f in "${sources[@]}"; do
    i=$((i + 1))
    dest="$WORK/in/$([ $((i % 2)) = 0 ] && echo a || echo b)/$c-$(basename "$f")"
    { cat "$f"; printf '\n%% copy %d\n' "$c"; } > "$dest"
  done
done
bytes=$(du -sb "$WORK/in" | cut -f1)
files=$(find "$WORK/in" -type f | wc -l)
cat > "$WORK/job.yaml" <<YAML
name: bench-production
inputs:
  - {path: in/a, custodian: "Custodian A"}
  - {path: in/b, custodian: "Custodian B"}
model: {engine: llama, context: 4096}
map: {prompt: "{{window}}"}
reduce: {prompt: "{{outputs}}"}
ingest: {redact: false}
production: {prefix: BENCH-, digits: 8, dedup: none}
YAML
t0=$(date +%s.%N)
images=()
[ "${IMAGES:-0}" = 1 ] && images=(--images)
"$LONGCTX" produce "$WORK/job.yaml" -o "$WORK/out" --workspace "$WORK/ws" --json "${images[@]}" > "$WORK/summary.json"
t1=$(date +%s.%N)
"$LONGCTX" produce --check "$WORK/out" > /dev/null
python3 - "$bytes" "$files" "$t0" "$t1" "$WORK/summary.json" <<'PY'
import json, sys
b, files, t0, t1, path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
s = json.load(open(path)); sec = t1 - t0; gbh = b / 1e9 / (sec / 3600)
print("| input | files | MB | documents | pages | images | seconds | GB/hour | GB/hour per core | RelativityOne example (96 GB/hour per instance) ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| mixed PDFs + mail | {files} | {b/1e6:.1f} | {s['documents']} | {s['pages']} | {s.get('images', 0)} | {sec:.1f} | {gbh:.2f} | {gbh/2:.2f} | {gbh/96:.3f} |")
PY
