#!/usr/bin/env bash
# README command 2: set up (idempotent), build, and run the whole test suite,
# including the end-to-end tests of the real CLI with the real model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --server
bash scripts/test-packages.sh
eval "$(bash scripts/setup.sh --env)"
# The committed .swift-format is the style: a file it would change fails the run.
echo "[test] swift format lint" >&2
swift format lint --strict -r -p Sources Tests Package.swift
echo "[test] building (debug) with tests" >&2
swift build --build-tests 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Wrapping)" >&2
# Unit tests run in parallel; the suites that run the real model (in process or
# through llama-server) run one at a time afterwards, so they do not fight
# over the 2 cores.
model_suites="EndToEndTests|TemplateRefinerModelTests|QuestionsEndToEndTests|SharedWorkspaceCLITests|IncrementalCronTests|OpenAIServerTests|RateLimitServerTests|BudgetServerTests|SlotCheckpointServerTests|PrefillProgressServerTests|LlamaEngineCheckpointTests|LlamaEngineStructuredTests|LlamaEngineParallelTests|LlamaEngineStagedStateTests"
if [[ $# -gt 0 ]]; then
  swift test --skip-build "$@"
else
  swift test --skip-build --skip "$model_suites"
  swift test --skip-build --no-parallel --filter "$model_suites"
fi
