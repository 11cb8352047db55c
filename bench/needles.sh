#!/usr/bin/env bash
# Needles a paraphrase must find (issue 34): each needle of bench/needles/needles.json planted
# one at a time in a real haystack, planned with `max_windows: 1` at several budgets for its own-
# words question and its paraphrase, ranked by BM25 alone, embeddings alone, and the two blends.
# Also the embedding model's throughput on the haystack's pieces.
# MODES (`rrf:0.85` = RRF with semantic weight 0.85, the default; `weighted:0.5` = the weighted
# sum with semantic weight 0.5), PIECE_BYTES
# (the planner's piece size) and NEEDLES (a needle file) change what is compared.
#
#   bash bench/needles.sh [WORKDIR]     (BIN=.build/release/longctx-bench by default)
# Haystacks: the seven Loghub systems of ../shared/corpus/logs (the held-back ones are not used),
# apple/swift-argument-parser (cloned into WORKDIR), the PDFs of ../shared/corpus/pdf.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/setup.sh --env)"
BIN="${BIN:-.build/release/longctx-bench}"
WORK="${1:-/tmp/longctx-needles}"
BUDGETS="${BUDGETS:-4096 8192 16384}"
export MODES="${MODES:-bm25,embeddings,rrf:0.5,rrf:0.7,rrf:0.85,weighted:0.5,weighted:0.7,weighted:0.85}"
shared="$(cd .. && pwd)/shared/corpus"
mkdir -p "$WORK/loghub"
for s in HPC Hadoop HealthApp Mac OpenStack Proxifier Windows; do
  cp "$shared/logs/loghub/$s/${s}_2k.log" "$WORK/loghub/"
done
[[ -d "$WORK/swift-argument-parser" ]] || git clone -q https://github.com/apple/swift-argument-parser "$WORK/swift-argument-parser"
"$BIN" embed "$WORK/loghub" "${PIECES:-600}"
# The tuning set (bench/needles/needles.json) and the held-out set (heldout.json, never tuned on).
for set in needles heldout; do
  export NEEDLES="bench/needles/$set.json"
  "$BIN" needles loghub "$WORK/loghub" $BUDGETS
  "$BIN" needles swift-argument-parser "$WORK/swift-argument-parser/Sources" $BUDGETS
  "$BIN" needles pdf "$shared/pdf" $BUDGETS
done
