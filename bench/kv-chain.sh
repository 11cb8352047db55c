#!/usr/bin/env bash
# Prefix-delta KV checkpoints (issue 33): disk of a chain of growing prefixes
# of a 16K-token prefix of the corpus logs against full checkpoints of the same
# states, restore time of the longest, and restore against re-prefill.
#
#   bash bench/kv-chain.sh [tokens] [prefixes] [f16|q8_0]
#
# Needs the release build of longctx-bench-kv and LONGCTX_MODEL
# (eval "$(bash scripts/setup.sh --env)").
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SCRATCH:-.build-release}
swift build -c release --scratch-path "$scratch" --product longctx-bench-kv >&2
B=$(swift build -c release --scratch-path "$scratch" --show-bin-path)/longctx-bench-kv
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), load $(cut -d' ' -f1-3 /proc/loadavg)"
LONGCTX_BENCH_DIR=${LONGCTX_BENCH_DIR:-$PWD/.build/benchtmp} "$B" chain "${1:-16384}" "${2:-8}" "${3:-f16}"
