#!/usr/bin/env bash
# Log ingest with template mining (issue 17): MB/s, lines/s and peak memory of
# `longctx ingest` on a 256 MB synthetic log, a 10M-line log of 50 templates,
# and real loghub logs repeated to 64 MB each, against a reference binary
# (the release build before templates were mined), with the ratio.
#
# Usage: BEFORE=/path/to/old/longctx [ROUNDS=3] bench/log-templates.sh [WORKDIR]
# Each figure is the fastest of ROUNDS runs, the two binaries alternating; the ratio of
# the medians is printed beside the ratio of the fastest runs.
# Needs a release build: swift build -c release --product longctx
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
BEFORE="${BEFORE:-}"
WORK="${1:-$(mktemp -d /tmp/longctx-logtpl.XXXXXX)}"
LOGHUB="${LOGHUB:-$ROOT/../shared/corpus/logs/loghub}"
REAL_MB="${REAL_MB:-64}"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
mkdir -p "$WORK/in"

# Inputs.
[ -f "$WORK/in/synthetic-256mb.log" ] || python3 "$ROOT/bench/synthetic-log.py" "$WORK/in/synthetic-256mb.log" 256
if [ ! -f "$WORK/in/lines10m-50templates.log" ]; then
  python3 - "$WORK/in/lines10m-50templates.log" <<'EOF'
import random, sys
random.seed(11)
shapes = [f"svc{i % 7} step {i} finished job {{}} in {{}} ms" if i % 2 else f"worker{i % 5} queue {i} holds {{}} items, oldest {{}} s"
          for i in range(50)]
with open(sys.argv[1], "w") as f:
    buf = []
    for n in range(10_000_000):
        s = shapes[n % 50] if n % 3 else shapes[random.randrange(50)]
        buf.append(f"2026-03-09T02:{n // 60 % 60:02d}:{n % 60:02d}Z INFO " + s.format(random.randrange(1 << 20), random.randrange(5000)) + "\n")
        if len(buf) >= 100_000:
            f.write("".join(buf)); buf = []
    f.write("".join(buf))
EOF
fi
if [ -d "$LOGHUB" ]; then
  for d in "$LOGHUB"/*/; do
    name="$(basename "$d")"
    src="$d/${name}_2k.log"
    [ -f "$src" ] || continue
    out="$WORK/in/loghub-$name-${REAL_MB}mb.log"
    [ -f "$out" ] && continue
    size=$(stat -c %s "$src")
    copies=$(( REAL_MB * 1000000 / size + 1 ))
    for _ in $(seq 1 "$copies"); do cat "$src"; done > "$out"
  done
fi

# One ingest into a fresh workspace: "seconds peakKB templates".
measure() {
  local bin="$1" file="$2" count="${3:-}" ws="$WORK/ws-$$"
  rm -rf "$ws"
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/rss.txt" "$bin" ingest --workspace "$ws" --json "$file" > /dev/null
  t1=$(date +%s.%N)
  local templates="-"
  if [ -n "$count" ]; then
    templates=$("$bin" templates --workspace "$ws" --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["templates"])')
  fi
  rm -rf "$ws"
  echo "$(python3 -c "print($t1 - $t0)") $(cat "$WORK/rss.txt") $templates"
}

echo "| input | MB | lines | before MB/s | after MB/s | after/before | median after/before | after lines/s | before peak MB | after peak MB | templates |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
worst_name="" worst_mbs=""
for f in "$WORK"/in/*.log; do
  mb=$(python3 -c "print($(stat -c %s "$f") / 1e6)")
  lines=$(wc -l < "$f")
  # ROUNDS runs of each, alternating. The fastest is kept for MB/s (the machine is
  # shared: the minimum is the run least disturbed by others); the ratio of the two
  # medians is printed beside it, since one lucky run of either binary moves the minima.
  a_s="" b_s=0 b_kb=0 a_all="" b_all=""
  for _ in $(seq 1 "${ROUNDS:-3}"); do
    read -r s kb t < <(measure "$LONGCTX" "$f" count)
    a_all="$a_all $s"
    if [ -z "$a_s" ] || python3 -c "import sys; sys.exit(0 if $s < $a_s else 1)"; then a_s=$s a_kb=$kb tpl=$t; fi
    if [ -n "$BEFORE" ]; then
      read -r s kb _ < <(measure "$BEFORE" "$f")
      b_all="$b_all $s"
      if [ "$b_s" = 0 ] || python3 -c "import sys; sys.exit(0 if $s < $b_s else 1)"; then b_s=$s b_kb=$kb; fi
    fi
  done
  python3 - "$(basename "$f")" "$mb" "$lines" "$a_s" "$a_kb" "$b_s" "$b_kb" "$tpl" "$a_all" "$b_all" <<'EOF'
import statistics, sys
name, mb, lines, a_s, a_kb, b_s, b_kb, tpl, a_all, b_all = sys.argv[1:]
mb, lines, a_s, a_kb, b_s, b_kb = float(mb), int(lines), float(a_s), int(a_kb), float(b_s), int(b_kb)
before = f"{mb / b_s:.1f}" if b_s else "-"
ratio = f"{(mb / a_s) / (mb / b_s):.2f}" if b_s else "-"
median = f"{statistics.median(map(float, b_all.split())) / statistics.median(map(float, a_all.split())):.2f}" if b_s else "-"
print(f"| {name} | {mb:.0f} | {lines} | {before} | {mb / a_s:.1f} | {ratio} | {median} | {lines / a_s:,.0f} | {b_kb / 1024:.0f} | {a_kb / 1024:.0f} | {tpl} |")
EOF
done
echo
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores)"
