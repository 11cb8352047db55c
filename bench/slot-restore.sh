#!/usr/bin/env bash
# Prompt time with and without a llama-server slot restore from longctx's checkpoint store,
# for one window of a long prefix (default ~4K tokens), Gemma 3 270M.
#
#   swift build && bash bench/slot-restore.sh            # PREFIX=4096 MAX_TOKENS=4 by default
#   PREFIX=8192 LONGCTX_BIN=.build/release/longctx bash bench/slot-restore.sh
#
# One server slot (-np 1, -t 2, --swa-full, --slot-save-path). Phases, each a `longctx run`
# of the same one-window job on a freshly started server (empty KV cache):
#   plain    no model.slot_save_path: the window is prefilled in the request
#   save     slot checkpoints on, empty store: prefix-only request, slot save, zstd store, request
#   restore  restarted server, same store, the map prompt's question changed: restore, request
# Figures: wall time of the whole `longctx run` (ingest and planning included, the same in
# every phase), the server's prompt eval time (summed over its requests, from its log), and
# longctx's own log line for the slot save / restore.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --env)"
BIN=${LONGCTX_BIN:-.build/debug/longctx}
PREFIX=${PREFIX:-4096}
MAX_TOKENS=${MAX_TOKENS:-4}
CONTEXT=$((PREFIX + 512))
WORK=$(mktemp -d /tmp/longctx-slotbench.XXXXXX)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/slots" "$WORK/inputs"

start_server() {
  "$LONGCTX_LLAMA_SERVER" --host 127.0.0.1 --port "$PORT" -m "$LONGCTX_MODEL" -c "$CONTEXT" -np 1 -t 2 \
    --swa-full --slot-save-path "$WORK/slots" --no-webui >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 900); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
    sleep 0.2
  done
  echo "llama-server did not start; see $WORK/server.log" >&2; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# About PREFIX tokens of distinct log lines (≈ 37.5 tokens per line with this vocabulary).
python3 - "$WORK/inputs" "$PREFIX" <<'PY'
import sys, random
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(11)
words = "alpha beta gamma delta error timeout retry cache disk network user login payment queue worker".split()
with open(f"{d}/svc.log", "w") as f:
    for j in range(int(n / 37.5)):
        f.write(f"2026-03-01 {j // 3600 % 24:02d}:{j // 60 % 60:02d}:{j % 60:02d} WARN svc " + " ".join(rnd.choice(words) for _ in range(8)) + f" id={rnd.randint(1000,9999)}\n")
PY

job() {  # $1 = slots yes/no, $2 = question
  local slots=""
  [[ $1 == yes ]] && slots="slot_save_path: slots, "
  cat >"$WORK/job.yaml" <<YAML
name: slotbench
inputs: [inputs]
model: {engine: openai, base_url: "http://127.0.0.1:$PORT/v1", name: gemma, context: $CONTEXT, ${slots}timeout: 3600}
generation: {max_tokens: $MAX_TOKENS, temperature: 0, seed: 1}
map: {prompt: "Log excerpt:\n{{window}}\n$2"}
reduce: {prompt: "{{outputs}}\nOverall:"}
report: {path: report.md}
YAML
}

phase() {  # $1 name, $2 slots, $3 question, $4 workspace, $5 restart yes/no
  [[ $5 == yes ]] && start_server
  job "$2" "$3"
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" run "$WORK/job.yaml" --json --workspace "$WORK/$4" --log-level info >"$WORK/$1.json" 2>"$WORK/$1.err"
  t1=$(date +%s.%N)
  python3 - "$1" "$t0" "$t1" "$WORK/$1.json" "$WORK/server.log" "$WORK/$1.err" <<'PY'
import json, re, sys
name, t0, t1, summary, log, err = sys.argv[1:7]
s = json.load(open(summary))
evals = [(float(m.group(1)), int(m.group(2))) for m in re.finditer(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens", open(log).read())]
ms = sum(e[0] for e in evals); toks = sum(e[1] for e in evals)
notes = [l.strip() for l in open(err) if "slot checkpoint" in l]
print(f"| {name} | {s['promptTokens']} | {s['cachedTokens']} | {toks} | {ms/1000:.2f} | {float(t1)-float(t0):.2f} |")
for n in notes: print(f"    {n}", file=sys.stderr)
PY
  stop_server
}

echo "load before: $(uptime)"
echo "| phase | prompt tokens | cached tokens | server prompt tokens computed | server prompt eval s | longctx run wall s |"
echo "|---|---:|---:|---:|---:|---:|"
phase plain no "Summary of the problems above:" ws-plain yes
phase save yes "Summary of the problems above:" ws-slots yes
phase restore yes "Which errors repeat?" ws-slots yes
"$BIN" checkpoints ls --workspace "$WORK/ws-slots"
echo "load after: $(uptime)"
