#!/usr/bin/env bash
# Template miner benchmark (issues 17, 31): GA/PA/FGA/FTA per loghub 2k dataset on both label sets,
# whole lines as in the file, mean and worst; leave-one-system-out over the miner's parameters;
# Drain3 (default settings) beside it when DRAIN3=/dir/with/drain3 is set (pip install --target DIR drain3);
# then the baseline rule and MB/s.
#   [DRAIN3=/tmp/drain3] [SPEED=0] bash bench/templates.sh [loghub-dir]
# Compiles the miner's sources on their own with swiftc -O (no package build needed).
# Speeds are per CPU second of the benchmark thread (one core), over each file mined again and again
# (a fresh miner each time) to >= 32 MB; cache hits: the share of a file's lines the miner's message cache answered.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swiftc -O -module-name TemplateBench -o "$out/templates-bench" \
  Sources/Ingest/Logs/LogHeader*.swift Sources/Ingest/Logs/TemplateMiner*.swift \
  Sources/Ingest/Logs/LogTemplateMining.swift Sources/Ingest/Logs/TemplateEvaluation.swift Sources/Ingest/Logs/LogFieldValues.swift Sources/Segmenter/Priority/LogTemplates.swift \
  bench/templates/main.swift
loghub="${1:-../shared/corpus/logs/loghub}"
args=("$loghub")
if [ -n "${DRAIN3:-}" ]; then
  PYTHONPATH="$DRAIN3" python3 bench/drain3-baseline.py "$loghub" "$out/drain3-lines" lines
  PYTHONPATH="$DRAIN3" python3 bench/drain3-baseline.py "$loghub" "$out/drain3-content" content
  args+=(--predictions "$out/drain3-lines" "Drain3 (default settings) on whole lines")
  args+=(--predictions "$out/drain3-content" "Drain3 (default settings) on the labelled Content column (not whole lines)")
fi
[ "${SPEED:-1}" = 0 ] && args+=(--no-speed)
"$out/templates-bench" "${args[@]}"
