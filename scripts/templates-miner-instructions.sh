#!/usr/bin/env bash
# Template miner cost in instructions (issue 31), which a shared, loaded machine does not blur:
# TemplateMiner.add(bytes:) inclusive instructions (valgrind callgrind) over 100 fresh miners on each
# loghub 2k dataset's messages, this tree against BASE (default 95ea8a7), and their ratio
# (base / new: above 1 is faster).
#   [BASE=95ea8a7] bash scripts/templates-miner-instructions.sh [loghub-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-95ea8a7}"
loghub="$(cd "${1:-../shared/corpus/logs/loghub}" && pwd)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build() {  # tree binary
  (cd "$1" && swiftc -O -module-name MB -o "$2" Sources/Ingest/Logs/LogHeader*.swift Sources/Ingest/Logs/TemplateMiner*.swift \
    Sources/Ingest/Logs/LogTemplateMining.swift Sources/Ingest/Logs/TemplateEvaluation.swift \
    Sources/Ingest/Logs/LogFieldValues.swift "$3")
}
mkdir -p "$out/base"
git archive "$base" Sources/Ingest/Logs | tar -x -C "$out/base"
build "$out/base" "$out/base.bin" "$PWD/bench/templates-instructions/main.swift"
build "$PWD" "$out/new.bin" "$PWD/bench/templates-instructions/main.swift"
echo "| dataset | instructions base | instructions new | speed ratio (base/new) |"
echo "|---|---:|---:|---:|"
for d in "$loghub"/*/; do
  name=$(basename "$d")
  [ -f "$d/${name}_2k.log" ] || continue
  for v in base new; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$name.$v.cg" "$out/$v.bin" "$name" cache "$loghub" > /dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out/$name.$v.cg" | grep -E 'TemplateMinerV3add5bytes.*tF \[' | head -1 | awk '{gsub(",", "", $1); print $1}' > "$out/$name.$v.n"
  done
  b=$(cat "$out/$name.base.n"); n=$(cat "$out/$name.new.n")
  python3 -c "print(f'| $name | {$b:,} | {$n:,} | {$b / $n:.3f} |')"
done
