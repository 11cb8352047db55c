#!/bin/bash
# Issue 30: ingest of one corpus on a shared workspace (PostgreSQL 15 on loopback, started
# here) by `longctx worker` processes: one worker with one extraction lane, then two workers
# with one lane each (one per core); `longctx ingest --no-work` only hands the files out.
# Each run is a fresh store and database (every file extracted). The SQLite ingest of the
# same files (one process, a child per core) runs beside them as the one-machine reference.
# Prints each run's seconds and the medians.
#
#   BIN=.build-release/release/longctx RUNS=3 \
#     CORPUS="../shared/corpus/pdf ../shared/corpus/email ../shared/corpus/office" bash bench/shared-ingest.sh
set -euo pipefail
bin=$(realpath "${BIN:-.build-release/release/longctx}")
runs="${RUNS:-3}"
read -r -a corpus <<<"${CORPUS:-../shared/corpus/pdf ../shared/corpus/email ../shared/corpus/office}"
for i in "${!corpus[@]}"; do corpus[$i]=$(realpath "${corpus[$i]}"); done
pgbin="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
tmp=$(mktemp -d)
owner=$([ "$(id -u)" = 0 ] && echo postgres || id -un)
chown "$owner" "$tmp"
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port=$((20000 + RANDOM % 20000))
as "$pgbin/initdb" -D "$tmp/data" -U longctx --auth=trust -E UTF8 --no-sync >/dev/null
as "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
trap 'as "$pgbin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
files=$(find "${corpus[@]}" -type f | wc -l)
echo "corpus: ${corpus[*]} ($files files, $(du -csh "${corpus[@]}" | tail -1 | cut -f1)); PostgreSQL on port $port"

# Says on stderr what the last ingest did (every file new: nothing was reused).
check() {
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("  (%d seen, %d new, %d failed, %d skipped)" % (s["seen"], s["new"], s["failed"], s["skipped"]), file=sys.stderr)' "$tmp/summary.json"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
now() { date +%s.%N; }

# One shared ingest with $1 workers of one lane each; prints its seconds.
shared() {
  local n=$1 run=$2 store="$tmp/store-$1-$2" db="ingest_$1_$2"
  as "$pgbin/createdb" -h "$tmp" -p "$port" -U longctx "$db"
  local ws="postgres://longctx@127.0.0.1:$port/$db?sslmode=disable&store=$store"
  local pids=()
  for _ in $(seq 1 "$n"); do
    "$bin" worker --workspace "$ws" --extract-concurrency 1 --quiet >/dev/null 2>"$tmp/worker.err" &
    pids+=($!)
  done
  local start end
  start=$(now)
  "$bin" ingest "${corpus[@]}" --workspace "$ws" --no-work --share-extraction --json >"$tmp/summary.json"
  end=$(now)
  check
  for pid in "${pids[@]}"; do kill -TERM "$pid"; done
  wait "${pids[@]}" 2>/dev/null || true
  echo "$end - $start" | bc
}

# The one-machine reference: SQLite, one ingest process, one child per core.
local_ingest() {
  local start end
  start=$(now)
  "$bin" ingest "${corpus[@]}" --workspace "$tmp/local-$1" --json >"$tmp/summary.json"
  end=$(now)
  check
  echo "$end - $start" | bc
}

one=() two=() sqlite=()
for run in $(seq 1 "$runs"); do
  echo "=== run $run ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  t=$(shared 1 "$run"); one+=("$t"); echo "one worker:  $t s"
  t=$(shared 2 "$run"); two+=("$t"); echo "two workers: $t s"
  t=$(local_ingest "$run"); sqlite+=("$t"); echo "SQLite, one process ($(nproc) children): $t s"
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
ms=$(printf '%s\n' "${sqlite[@]}" | median)
echo "medians: one worker $m1 s, two workers $m2 s (speed-up $(echo "scale=2; $m1 / $m2" | bc)x), SQLite $ms s"
