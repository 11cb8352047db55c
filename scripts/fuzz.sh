#!/usr/bin/env bash
# libFuzzer harnesses (issue 15): builds them into .build-fuzz/ and runs each
# for SECONDS (default 60), one at a time, then prints harness / runs / crashes.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   e.g. scripts/fuzz.sh 120 code mime
#   scripts/fuzz.sh --smoke                  every harness for 20 seconds (CI)
#   scripts/fuzz.sh --build-only [HARNESS...]
#
# Harnesses (fuzz/<name>/main.swift, seeds in fuzz/<name>/corpus):
#   code, mime, logs, secrets, locator, jsonschema, msg, ooxml: the needed source
#     files compiled straight into one binary with swiftc -sanitize=fuzzer,address
#     (ooxml also takes the CZlib module map and links zlib);
#   jobfile, logscan: SwiftPM package fuzz/Package.swift (they need Yams /
#     Workspace), every module built with -sanitize=fuzzer.
# Inputs libFuzzer finds go to .build-fuzz/corpus/<name>, crash, timeout and
# leak inputs to .build-fuzz/crashes/<name>/ (out of git). Reproduce one with
#   .build-fuzz/fuzz-<name> .build-fuzz/crashes/<name>/crash-…
# Exit status: 1 when a harness crashed or failed to build.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=.build-fuzz
ALL=(code mime logs secrets locator jsonschema msg ooxml jobfile logscan)

SECONDS_EACH=60
BUILD_ONLY=0
HARNESSES=()
for arg in "$@"; do
  case "$arg" in
    --smoke) SECONDS_EACH=20 ;;
    --build-only) BUILD_ONLY=1 ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *[!0-9]*) HARNESSES+=("$arg") ;;
    *) SECONDS_EACH=$arg ;;
  esac
done
[[ ${#HARNESSES[@]} -eq 0 ]] && HARNESSES=("${ALL[@]}")

if [[ -z "${PKG_CONFIG_PATH:-}" && -f scripts/setup.sh ]]; then eval "$(bash scripts/setup.sh --env)"; fi
mkdir -p "$OUT"

# Source files of each swiftc harness (module Ingest or Pipeline).
sources() {
  case "$1" in
    code) echo Sources/Ingest/Code/*.swift Sources/Ingest/Files/{TextLines,LineGrouper}.swift ;;
    mime) echo Sources/Ingest/Email/{MIMEEntity,Mbox,Charsets,HTMLText}.swift ;;
    logs) echo Sources/Ingest/Logs/{LogTimestamp,LogFieldValues}.swift Sources/Ingest/Files/{TextLines,LineGrouper}.swift ;;
    secrets) echo Sources/Ingest/Secrets/*.swift Sources/Ingest/Model/Locator.swift "$OUT/gen/SWAR.swift" ;;
    locator) echo Sources/Ingest/Model/Locator.swift ;;
    msg)
      echo Sources/Ingest/Outlook/{CompoundFile,MAPIProperties,OutlookMessage,LZFu,RTFText,RFC822Writer}.swift \
        Sources/Ingest/Email/{MIMEEntity,Mbox,Charsets,HTMLText}.swift
      ;;
    ooxml)
      local f
      for f in Sources/Ingest/Office/*.swift; do
        [[ $f == */OfficeExtractor.swift || $f == */OfficeDecryption.swift ]] || echo "$f"
      done
      echo Sources/Ingest/Model/Locator.swift Sources/Ingest/Outlook/CompoundFile.swift ;;
    jsonschema) echo Sources/Pipeline/Structured/{JSONValue,JSONSchema,JSONSchema+Validation,JSONSchema+Grammar}.swift ;;
  esac
}
module() { [[ $1 == jsonschema ]] && echo Pipeline || echo Ingest; }
# Longest input: a .msg needs its directory and a few streams (whole sectors).
maxlen() { [[ $1 == msg ]] && echo 65536 || echo 8192; }
# Extra swiftc flags of a harness: ooxml inflates with zlib.
flags() { [[ $1 == ooxml ]] && echo -I Sources/CZlib -lz; }

SPM_BUILT=""
build() {
  local h=$1
  case "$h" in
    jobfile | logscan)
      if [[ -z $SPM_BUILT ]]; then
        swift build -c release --package-path fuzz --scratch-path "$OUT/spm" \
          -Xswiftc -sanitize=fuzzer -Xswiftc -enable-testing >"$OUT/build-spm.log" 2>&1 || {
          tail -20 "$OUT/build-spm.log" >&2; SPM_BUILT=failed; return 1; }
        SPM_BUILT=ok
      fi
      [[ $SPM_BUILT == ok ]] || return 1
      ln -sf "spm/release/fuzz-$h" "$OUT/fuzz-$h"
      ;;
    *)
      if [[ $h == secrets ]]; then
        # Redactor uses SWAR from SectionsCodec.swift, whose encoder needs the
        # whole module: take just that enum.
        mkdir -p "$OUT/gen"
        awk '/^enum SWAR/,/^}/' Sources/Ingest/Model/SectionsCodec.swift >"$OUT/gen/SWAR.swift"
      fi
      # shellcheck disable=SC2046
      swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$(module "$h")" $(flags "$h") \
        $(sources "$h") "fuzz/$h/main.swift" -o "$OUT/fuzz-$h" >"$OUT/build-$h.log" 2>&1 || {
        grep -v 'Cannot export local symbol' "$OUT/build-$h.log" | tail -20 >&2; return 1; }
      ;;
  esac
}

declare -A RUNS CRASHES STATUS
failed=0
for h in "${HARNESSES[@]}"; do
  if [[ ! -f fuzz/$h/main.swift ]]; then echo "no harness $h (have: ${ALL[*]})" >&2; exit 2; fi
  echo "== build $h" >&2
  if ! build "$h"; then STATUS[$h]="build failed"; RUNS[$h]=-; CRASHES[$h]=-; failed=1; continue; fi
  [[ $BUILD_ONLY == 1 ]] && { STATUS[$h]=built; RUNS[$h]=-; CRASHES[$h]=-; continue; }
  mkdir -p "$OUT/corpus/$h" "$OUT/crashes/$h"
  echo "== run $h for ${SECONDS_EACH}s" >&2
  log="$OUT/run-$h.log"
  before=$(find "$OUT/crashes/$h" -type f | wc -l)
  # -fork=1 with -ignore_crashes keeps going after a crash, so one run counts
  # them all (each in its own artifact file); ASan leak checks are off (a
  # process-lifetime cache is not a leak worth failing on); Swift's slow
  # backtracer is off (libFuzzer prints the stack).
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-} "$OUT/fuzz-$h" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -max_len="$(maxlen "$h")" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$OUT/crashes/$h/" "$OUT/corpus/$h" "fuzz/$h/corpus" >"$log" 2>&1
  after=$(find "$OUT/crashes/$h" -type f | wc -l)
  CRASHES[$h]=$((after - before))
  RUNS[$h]=$(grep -oE 'exec/s.*|^#[0-9]+|execs: [0-9]+' "$log" | grep -oE '^#[0-9]+|execs: [0-9]+' | tail -1 | grep -oE '[0-9]+' || echo '?')
  STATUS[$h]=ok
  [[ ${CRASHES[$h]} -gt 0 ]] && { STATUS[$h]="CRASHED (see $OUT/crashes/$h, $log)"; failed=1; }
done

printf '\n%-12s %12s %8s  %s\n' harness runs crashes status
for h in "${HARNESSES[@]}"; do
  printf '%-12s %12s %8s  %s\n' "$h" "${RUNS[$h]}" "${CRASHES[$h]}" "${STATUS[$h]}"
done
exit $failed
