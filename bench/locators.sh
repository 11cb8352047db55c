#!/usr/bin/env bash
# Locator parsing (issue 29): 100k citations read back as the task column is read, by the one
# parser now (`Locator(citation:)`) against BASE's two (the lines/page fast path StoredLocators
# had, then BASE's `Locator(citation:)`), and BASE's `Locator(citation:)` alone. swiftc -O on
# Locator.swift alone (no package build); three rounds, alternating; µs per citation, median of 9.
#   [BASE=d8437a0] bash bench/locators.sh
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE:-d8437a0}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
git show "$base:Sources/Ingest/Model/Locator.swift" > "$out/BaseLocator.swift"
swiftc -O -o "$out/now" Sources/Ingest/Model/Locator.swift bench/locators/current.swift bench/locators/main.swift
swiftc -O -o "$out/base" "$out/BaseLocator.swift" bench/locators/deleted-fast-path.swift bench/locators/main.swift
swiftc -O -o "$out/base-general" "$out/BaseLocator.swift" bench/locators/current.swift bench/locators/main.swift
for round in 1 2 3; do
  echo "round $round"
  echo "  now, one parser:                 $("$out/now")"
  echo "  $base, fast path + general:   $("$out/base")"
  echo "  $base, general parse alone:   $("$out/base-general")"
done
