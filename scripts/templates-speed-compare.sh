#!/usr/bin/env bash
# Miner speed against a base commit (issue 31): bench/templates.sh's per-dataset throughput
# (whole pass = header + miner, and the miner alone; CPU seconds of one thread) of this tree
# and of BASE (default 95ea8a7), the two alternating ROUNDS times; prints each dataset's median
# MB/s for both and the ratio of the medians.
#   [BASE=95ea8a7] [ROUNDS=5] bash scripts/templates-speed-compare.sh [loghub-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-95ea8a7}"
rounds="${ROUNDS:-5}"
loghub="${1:-../shared/corpus/logs/loghub}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build() {  # tree binary
  (cd "$1" && swiftc -O -module-name TemplateBench -o "$2" \
    Sources/Ingest/Logs/LogHeader*.swift Sources/Ingest/Logs/TemplateMiner*.swift \
    Sources/Ingest/Logs/LogTemplateMining.swift Sources/Ingest/Logs/TemplateEvaluation.swift \
    Sources/Ingest/Logs/LogFieldValues.swift Sources/Segmenter/Priority/LogTemplates.swift bench/templates/main.swift)
}
mkdir -p "$out/base"
git archive "$base" Sources/Ingest/Logs Sources/Segmenter/Priority bench/templates | tar -x -C "$out/base"
build "$out/base" "$out/bench-base"
build "$PWD" "$out/bench-new"
for r in $(seq 1 "$rounds"); do
  for v in base new; do
    "$out/bench-$v" "$loghub" | awk -F'|' -v v="$v" '$2 ~ /^ [A-Za-z]/ && $2 !~ /mean/ && NF >= 13 && $10 ~ /[0-9]/ {
      gsub(/ /, "", $2); gsub(/ /, "", $10); gsub(/ /, "", $12); print v, $2, $10, $12 }' >> "$out/runs.txt"
  done
done
python3 - "$out/runs.txt" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, name, passmb, minermb = line.split()
    runs[(v, name, "pass")].append(float(passmb))
    runs[(v, name, "miner")].append(float(minermb))
names = sorted({k[1] for k in runs})
print("| dataset | pass MB/s base | pass MB/s new | ratio | miner MB/s base | miner MB/s new | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
ratios = {"pass": [], "miner": []}
for n in names:
    row = [n]
    for kind in ("pass", "miner"):
        b = statistics.median(runs[("base", n, kind)]); w = statistics.median(runs[("new", n, kind)])
        ratios[kind].append(w / b)
        row += [f"{b:.0f}", f"{w:.0f}", f"{w / b:.3f}"]
    print("| " + " | ".join(row) + " |")
for kind in ("pass", "miner"):
    r = ratios[kind]
    print(f"{kind}: geometric mean ratio {statistics.geometric_mean(r):.3f}, worst {min(r):.3f}")
PY
