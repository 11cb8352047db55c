#!/usr/bin/env bash
# Template miner benchmark (issue 17): GA/PA per loghub 2k dataset, baseline beside it, MB/s.
#   bash bench/templates.sh [loghub-dir]
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
echo "| dataset    | layout       | GA    | PA    | base GA | base PA | templates | events | pass MB/s | pass lines/s | miner MB/s | cache hits |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
"$out/templates-bench" "${1:-../shared/corpus/logs/loghub}"
