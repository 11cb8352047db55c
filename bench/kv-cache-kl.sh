#!/usr/bin/env bash
# Divergence of a q8_0 KV cache from f16 on the default model (issue 33), with
# llama.cpp's own llama-perplexity: the f16 run saves its logits, the q8_0 run
# reports perplexity and the KL divergence of its token distributions from them.
# Flash attention on in both runs (a quantized V cache needs it), so that only
# the cache type differs.
#
#   bash bench/kv-cache-kl.sh [chunks] [context]
#
# The text: the corpus's licence texts and READMEs and one e-mail (English prose).
set -euo pipefail
eval "$(bash "$(dirname "$0")/../scripts/setup.sh" --env)"
bin=$LONGCTX_LLAMA_PREFIX/bin/llama-perplexity
corpus=${CORPUS:-$(dirname "$0")/../../shared/corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat "$corpus"/LICENSES/* "$corpus"/README.md "$corpus"/office/README.md \
  "$corpus"/email/mimekit/messages/stack-overflow.txt > "$work/text.txt"
chunks=${1:-8}
ctx=${2:-2048}
common=(-m "$LONGCTX_MODEL" -f "$work/text.txt" -c "$ctx" -b 512 --chunks "$chunks" -fa on)
"$bin" "${common[@]}" -ctk f16 -ctv f16 --kl-divergence-base "$work/base.kld" > "$work/f16.log" 2>&1
grep -E "Final estimate" "$work/f16.log" | sed 's/^/f16: /'
"$bin" "${common[@]}" -ctk q8_0 -ctv q8_0 --kl-divergence-base "$work/base.kld" --kl-divergence > "$work/q8.log" 2>&1
sed -n '/====== Perplexity statistics/,$p' "$work/q8.log"
