#!/usr/bin/env bash
# README command 1: set up (idempotent), build, and run the main job on the
# embedded default model over Samples/, then print where the report is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
eval "$(bash scripts/setup.sh --env)"
echo "[run-sample] building longctx" >&2
swift build -c release --product longctx 2>&1 | grep -E "error|warning: |Compiling longctx|Build complete" >&2 || true
bin="$(swift build -c release --show-bin-path)/longctx"
[[ -x "$bin" ]] || { echo "[run-sample] the build failed; run 'swift build -c release' to see why" >&2; exit 1; }
start=$(date +%s)
"$bin" run Samples/jobs/summarize.yaml "$@"
echo "[run-sample] finished in $(( $(date +%s) - start )) s; report: Samples/reports/samples-summary.md" >&2
