#!/usr/bin/env bash
# Throughput of longctx through OpenAIEngine vs a plain concurrent client, on the same
# llama-server (4 slots) and the same map prompts.
#
#   bash bench/openai-throughput.sh            # after: swift build (debug) or -c release
#   LONGCTX_BIN=.build/release/longctx WINDOWS=12 bash bench/openai-throughput.sh
#
# Each side gets a freshly started server, so neither profits from the other's prompt cache.
# longctx: wall time of the whole `longctx run` (ingest, plan with /tokenize, map at
# concurrency 4, reduce), tokens = prompt + output tokens of all its tasks.
# raw: python3 threads + urllib sending the exported map requests (`longctx export-batch`)
# 4 at a time; tokens = prompt + output tokens the server reports.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --env)"
BIN=${LONGCTX_BIN:-.build/debug/longctx}
WINDOWS=${WINDOWS:-12}
MAX_TOKENS=${MAX_TOKENS:-32}
CONTEXT=${CONTEXT:-1024}
WORK=$(mktemp -d /tmp/longctx-bench.XXXXXX)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start_server() {
  "$LONGCTX_LLAMA_SERVER" --host 127.0.0.1 --port "$PORT" -m "$LONGCTX_MODEL" -c $((CONTEXT * 4)) -np 4 -t 2 \
    --no-webui >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
    sleep 0.2
  done
  echo "llama-server did not start; see $WORK/server.log" >&2; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

# Inputs: WINDOWS files of ~2.4 KB of distinct log lines, one window each at this context.
mkdir -p "$WORK/inputs"
python3 - "$WORK/inputs" "$WINDOWS" <<'PY'
import sys, random
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
words = "alpha beta gamma delta error timeout retry cache disk network user login payment queue worker".split()
for i in range(n):
    with open(f"{d}/svc-{i:02d}.log", "w") as f:
        for j in range(30):
            f.write(f"2026-02-{i%28+1:02d} 12:{j:02d}:00 WARN svc-{i} " + " ".join(rnd.choice(words) for _ in range(10)) + f" id={rnd.randint(1000,9999)}\n")
PY
cat >"$WORK/job.yaml" <<YAML
name: bench
inputs: [inputs]
model: {engine: openai, base_url: "http://127.0.0.1:$PORT/v1", name: gemma, context: $CONTEXT, concurrency: 4}
generation: {max_tokens: $MAX_TOKENS, seed: 1}
map: {prompt: "Log excerpt:\n{{window}}\nSummary of the problems above:"}
reduce: {prompt: "Summaries:\n{{outputs}}\nOverall summary:"}
report: {path: report.md}
YAML

# The exported map requests, for the raw client (same plan: both count with /tokenize).
start_server
"$BIN" export-batch "$WORK/job.yaml" -o "$WORK/tasks.jsonl" --workspace "$WORK/ws-export" -q
stop_server

raw_phase() {  # prints: requests prompt_tokens output_tokens seconds
  start_server
  python3 - "$WORK/tasks.jsonl" "$PORT" <<'PY'
import json, sys, time, threading, urllib.request, queue
lines = [json.loads(l) for l in open(sys.argv[1])]
port = sys.argv[2]
q = queue.Queue()
for l in lines: q.put(l)
totals = {"prompt": 0, "output": 0}
lock = threading.Lock()
def worker():
    while True:
        try: item = q.get_nowait()
        except queue.Empty: return
        req = urllib.request.Request(f"http://127.0.0.1:{port}{item['url']}", data=json.dumps(item["body"]).encode(),
                                     headers={"Content-Type": "application/json"})
        usage = json.load(urllib.request.urlopen(req))["usage"]
        with lock:
            totals["prompt"] += usage["prompt_tokens"]; totals["output"] += usage["completion_tokens"]
t = time.time()
threads = [threading.Thread(target=worker) for _ in range(4)]
for th in threads: th.start()
for th in threads: th.join()
print(len(lines), totals["prompt"], totals["output"], time.time() - t)
PY
  stop_server
}

longctx_phase() {  # whole job in a fresh workspace; prints: requests prompt_tokens output_tokens seconds
  start_server
  rm -rf "$WORK/ws-run"
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" run "$WORK/job.yaml" --workspace "$WORK/ws-run" --json -q >"$WORK/summary.json"
  t1=$(date +%s.%N)
  stop_server
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["executed"], s["promptTokens"], s["outputTokens"], float(sys.argv[3])-float(sys.argv[2]))' \
    "$WORK/summary.json" "$t0" "$t1"
}

# ABBA order, so load drift on a shared machine hits both sides alike.
RESULTS=()
RESULTS+=("raw $(raw_phase)")
RESULTS+=("longctx $(longctx_phase)")
RESULTS+=("longctx $(longctx_phase)")
RESULTS+=("raw $(raw_phase)")

python3 - "${RESULTS[@]}" <<'PY'
import sys
rows = [r.split() for r in sys.argv[1:]]
print("| round | client | requests | prompt tok | output tok | seconds | tokens/s |")
print("|---:|---|---:|---:|---:|---:|---:|")
tot = {"raw": [0, 0.0], "longctx": [0, 0.0]}
for i, (who, n, p, o, s) in enumerate(rows, 1):
    tps = (int(p) + int(o)) / float(s)
    tot[who][0] += int(p) + int(o); tot[who][1] += float(s)
    label = "raw python, 4 threads, map requests" if who == "raw" else "longctx run, concurrency 4, map+reduce"
    print(f"| {i} | {label} | {n} | {p} | {o} | {float(s):.1f} | {tps:.1f} |")
raw = tot["raw"][0] / tot["raw"][1]; lc = tot["longctx"][0] / tot["longctx"][1]
print(f"\nraw {raw:.1f} tokens/s, longctx {lc:.1f} tokens/s; ratio longctx/raw: {lc / raw:.2f}")
PY
