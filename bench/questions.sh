#!/usr/bin/env bash
# Several questions per job (issue 33): Samples/jobs/questions.yaml (5 questions over the
# sample repository and logs) as ONE job against the same 5 questions as 5 separate
# one-question jobs (`question:`, the same prompts), each in a fresh workspace (a separate
# job shares nothing with the others: that is today's cost of asking 5 questions).
#
#   swift build && bash bench/questions.sh              # both engines
#   ENGINES=llama bash bench/questions.sh               # in process only
#   LONGCTX_BIN=.build/release/longctx bash bench/questions.sh
#   CONTEXT=1024 MAX_TOKENS=16 INPUTS=../logs bash bench/questions.sh   # a smaller run (loaded machine)
#
# Engines: llama (in process, KV checkpoints on as `longctx run` has them) and server
# (a loopback llama-server, -np 2 -t 2, model.engine openai; longctx sends id_slot per window).
# Figures per run: prompt tokens, tokens reused (checkpoint restore, or the server's cache_n),
# prefill tokens computed (= prompt − reused; for the server also its own count: the sum of
# "prompt eval time = … / N tokens" over its log), and wall time of the whole `longctx run`.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --env)"
BIN=${LONGCTX_BIN:-.build/debug/longctx}
ENGINES=${ENGINES:-"llama server"}
WORK=$(mktemp -d /tmp/longctx-questions.XXXXXX)
SERVER_PID=""
# KEEP=1 keeps the workspaces (their task tables: prompt tokens per task) and the server log.
trap '[[ -n $SERVER_PID ]] && kill $SERVER_PID 2>/dev/null; [[ -n ${KEEP:-} ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"' EXIT
cp -r Samples "$WORK/Samples"
JOB="$WORK/Samples/jobs/questions.yaml"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The job for an engine: in process as committed, or against the loopback server.
variant() {  # $1 engine, $2 out file, $3 question name or "" for all
  python3 - "$JOB" "$1" "$2" "$3" "$PORT" "${CONTEXT:-}" "${MAX_TOKENS:-}" "${INPUTS:-}" "${MAX_WINDOWS:-}" <<'PY'
import re, sys
src, engine, out, one, port, context, max_tokens, inputs, max_windows = sys.argv[1:10]
text = open(src).read()
if max_windows: text = text.replace("\nmap:\n", f"\nplan:\n  max_windows: {max_windows}\nmap:\n", 1)
if context: text = re.sub(r"\n  context: \d+\n", f"\n  context: {context}\n", text)
if max_tokens: text = re.sub(r"\n  max_tokens: \d+\n", f"\n  max_tokens: {max_tokens}\n", text)
if inputs: text = re.sub(r"inputs:\n(  - .*\n)+", "inputs:\n" + "".join(f"  - {i}\n" for i in inputs.split()), text)
if engine == "server":
    text = text.replace("  engine: llama\n", f'  engine: openai\n  base_url: "http://127.0.0.1:{port}/v1"\n  name: gemma\n  timeout: 3600\n')
if one:
    head, qs = text.split("questions:\n", 1)
    qs, tail = qs.split("report:\n", 1)
    q = re.search(r"- name: " + re.escape(one) + r"\n\s+question: (.*)\n", qs).group(1)
    text = head.replace("name: questions\n", f"name: questions-{one}\n") + f"question: {q}\nreport:\n" + tail.replace("questions.md", f"questions-{one}.md")
open(out, "w").write(text)
PY
}

start_server() {
  # -c is the server's whole context, shared by its -np slots: each slot gets the job's context.
  "$LONGCTX_LLAMA_SERVER" --host 127.0.0.1 --port "$PORT" -m "$LONGCTX_MODEL" -c $((2 * ${CONTEXT:-4096})) -np 2 -t 2 \
    --no-webui >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 900); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
    sleep 0.2
  done
  echo "llama-server did not start; see $WORK/server.log" >&2; exit 1
}

run() {  # $1 label, $2 job file, $3 workspace; prints one row
  local t0 t1 lines
  lines=0
  [[ -f $WORK/server.log ]] && lines=$(wc -l <"$WORK/server.log")
  t0=$(date +%s.%N)
  "$BIN" run "$2" --json --quiet --workspace "$3" >"$WORK/$1.json" 2>"$WORK/$1.err" || { cat "$WORK/$1.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 - "$1" "$t0" "$t1" "$WORK/$1.json" "$WORK/server.log" "$lines" <<'PY'
import json, re, sys
label, t0, t1, summary, log, skip = sys.argv[1:7]
s = json.load(open(summary))
server = "—"
try:
    text = "".join(open(log).readlines()[int(skip):])
    toks = [int(m.group(1)) for m in re.finditer(r"prompt eval time =\s+[\d.]+ ms /\s+(\d+) tokens", text)]
    if toks: server = str(sum(toks))
except FileNotFoundError:
    pass
computed = s["promptTokens"] - s["cachedTokens"]
print(f"{label}\t{s['windows']}\t{s['executed']}\t{s['promptTokens']}\t{s['cachedTokens']}\t{computed}\t{server}\t{float(t1)-float(t0):.1f}")
PY
}

QUESTIONS="errors retries config entry-points outages"
for engine in $ENGINES; do
  [[ $engine == server ]] && start_server
  echo "== $engine: label windows executed prompt reused computed server-evaluated wall_s"
  variant "$engine" "$WORK/Samples/jobs/q-$engine.yaml" ""
  run "$engine-one-job" "$WORK/Samples/jobs/q-$engine.yaml" "$WORK/ws-$engine-multi" | tee -a "$WORK/rows"
  for q in $QUESTIONS; do
    variant "$engine" "$WORK/Samples/jobs/q-$engine-$q.yaml" "$q"
    run "$engine-sep-$q" "$WORK/Samples/jobs/q-$engine-$q.yaml" "$WORK/ws-$engine-$q" | tee -a "$WORK/rows"
  done
  if [[ $engine == server ]]; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
done
python3 - "$WORK/rows" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for engine in sorted({r[0].split("-")[0] for r in rows}):
    one = next(r for r in rows if r[0] == f"{engine}-one-job")
    sep = [r for r in rows if r[0].startswith(f"{engine}-sep-")]
    pick = 6 if engine == "server" and one[6] != "—" else 5
    c1, cs = int(one[pick]), sum(int(r[pick]) for r in sep)
    w1, ws = float(one[7]), sum(float(r[7]) for r in sep)
    first = int(sep[0][pick])
    print(f"{engine}: prefill computed one job {c1} vs one question {first} ({c1/first:.2f}x) vs 5 jobs {cs} ({c1/cs:.2f}x); "
          f"wall one job {w1:.1f} s vs 5 jobs {ws:.1f} s ({w1/ws:.2f}x)")
PY
