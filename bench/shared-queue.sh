#!/bin/bash
# Issue 30: the shared queue's claims per second, lease takeover and PostgreSQL-vs-SQLite
# overhead (`longctx-bench queue`), for two builds side by side, interleaved on the same
# machine (each run starts its own PostgreSQL 15 on loopback), with the load average
# before each run.
#
#   BASE=/path/to/main/longctx-bench NEW=.build-release/release/longctx-bench \
#     ROUNDS=2 TASKS=20000 RUNS=5 bash bench/shared-queue.sh
#
# DURABLE=1 also runs NEW against a server with PostgreSQL's default durability (fsync and
# synchronous_commit on: every commit waits for its WAL flush), as a user's server has; the
# base build's benchmark may not know that argument, so it is not run that way.
set -euo pipefail
new="${NEW:-.build-release/release/longctx-bench}"
base="${BASE:-}"
rounds="${ROUNDS:-2}"
tasks="${TASKS:-20000}"
runs="${RUNS:-5}"
for round in $(seq 1 "$rounds"); do
  for bin in $base $new; do
    echo "=== round $round: $bin ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))"
    "$bin" queue "$tasks" "$runs"
  done
  if [ "${DURABLE:-0}" = 1 ]; then
    echo "=== round $round: $new, durable server ($(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg))"
    "$new" queue "$tasks" "$runs" durable
  fi
done
