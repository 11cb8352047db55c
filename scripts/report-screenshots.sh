#!/usr/bin/env bash
# Screenshots of the sample jobs' HTML reports, for README (docs/report-JOB.png).
# Run after the sample jobs (README, "Sample jobs"), with chromium installed
# (scripts/test-packages.sh):  bash scripts/report-screenshots.sh [WORKSPACE]
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --env)"
bin=${LONGCTX_BIN:-.build/release/longctx}
args=()
if [[ $# -gt 0 ]]; then args=(--workspace "$1"); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for job in summarize legal-review repo-analysis nightly-logs; do
  "$bin" report "Samples/jobs/$job.yaml" --format html -o "$tmp/$job.html" --quiet "${args[@]}"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
    --window-size=1280,1600 --screenshot="docs/report-$job.png" "file://$tmp/$job.html" 2>/dev/null
  echo "docs/report-$job.png"
done
