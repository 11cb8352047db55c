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

# Raw client on the exported map requests.
start_server
"$BIN" export-batch "$WORK/job.yaml" -o "$WORK/tasks.jsonl" --workspace "$WORK/ws-export" -q
stop_server; start_server
RAW=$(python3 - "$WORK/tasks.jsonl" "$PORT" <<'PY'
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
)
stop_server

# longctx, whole job.
start_server
T0=$(date +%s.%N)
"$BIN" run "$WORK/job.yaml" --workspace "$WORK/ws-run" --json -q >"$WORK/summary.json"
T1=$(date +%s.%N)
stop_server

python3 - "$RAW" "$WORK/summary.json" "$T0" "$T1" <<'PY'
import json, sys
n, rp, ro, rs = sys.argv[1].split(); n, rp, ro, rs = int(n), int(rp), int(ro), float(rs)
s = json.load(open(sys.argv[2])); t = float(sys.argv[4]) - float(sys.argv[3])
lp, lo = s["promptTokens"], s["outputTokens"]
raw_tps, lc_tps = (rp + ro) / rs, (lp + lo) / t
print(f"| client | requests | prompt tok | output tok | seconds | tokens/s |")
print(f"|---|---:|---:|---:|---:|---:|")
print(f"| raw python (4 threads, map requests) | {n} | {rp} | {ro} | {rs:.1f} | {raw_tps:.1f} |")
print(f"| longctx run (concurrency 4, map+reduce) | {s['executed']} | {lp} | {lo} | {t:.1f} | {lc_tps:.1f} |")
print(f"\nratio longctx/raw (tokens/s): {lc_tps / raw_tps:.2f}")
PY
