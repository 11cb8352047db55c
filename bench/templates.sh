#!/usr/bin/env bash
# Template miner benchmark (issues 17, 31): GA/PA/FGA/FTA per loghub 2k dataset on both label sets,
# whole lines as in the file, mean and worst; leave-one-system-out over the miner's parameters;
# Drain3 (default settings) beside it when DRAIN3=/dir/with/drain3 is set (pip install --target DIR drain3);
# then the baseline rule and MB/s.
#   [DRAIN3=/tmp/drain3] [SPEED=0] [BASE=commit] [REPLAY=10000000] bash bench/templates.sh [loghub-dir]
# SPEED=1 (the default) also times the miner alone on a REPLAY-line replay of the development logs
# (bench/templates-replay): one miner per system (after the first copy, its message cache answers
# most lines), then a fresh miner per copy (every copy a first pass); beside the miner of BASE (a
# commit; its sources built the same way) when given, three rounds each, alternating.
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
[ "${SPEED:-1}" = 0 ] && exit 0
logs=(Sources/Ingest/Logs/LogHeader*.swift Sources/Ingest/Logs/TemplateMiner*.swift
  Sources/Ingest/Logs/LogTemplateMining.swift Sources/Ingest/Logs/TemplateEvaluation.swift
  Sources/Ingest/Logs/LogFieldValues.swift)
swiftc -O -D CONSOLIDATE -module-name TemplateReplay -o "$out/replay" "${logs[@]}" bench/templates-replay/main.swift
if [ -n "${BASE:-}" ]; then
  mkdir -p "$out/base"
  git archive "$BASE" Sources/Ingest/Logs | tar -x -C "$out/base"
  # The base's miner has no second pass when it has no consolidate().
  flag=()
  grep -q "func consolidate" "$out/base/Sources/Ingest/Logs/TemplateMiner.swift" && flag=(-D CONSOLIDATE)
  (cd "$out/base" && swiftc -O "${flag[@]}" -module-name TemplateReplay -o "$out/replay-base" "${logs[@]}" \
    "$OLDPWD/bench/templates-replay/main.swift")
fi
echo ""
for mode in one fresh; do
  for round in 1 2 3; do
    [ -n "${BASE:-}" ] && echo "base $BASE, round $round: $("$out/replay-base" "$loghub" "${REPLAY:-10000000}" $mode)"
    echo "this tree, round $round: $("$out/replay" "$loghub" "${REPLAY:-10000000}" $mode)"
  done
done
