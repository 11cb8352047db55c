#!/usr/bin/env bash
# OCR test and benchmark scans: OCRmyPDF's test resources (scans, some with a
# transcript: linn.png/linn.pdf/linn.txt; poster-sized and huge pages), taken
# from OCRmyPDF's PyPI sdist into the set-up cache. Idempotent: a second run
# only checks. Prints the resources directory on stdout.
#
# Environment: LONGCTX_CACHE (default ~/.cache/longctx), as for setup.sh.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

CACHE="${LONGCTX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longctx}"
NAME="ocrmypdf"
VERSION="17.13.0"
SHA256="151c35d810eb628fbc5cb9bbe80b834ecf094737efa0e7a2e9e1fac3c730ed49"
DIR="$CACHE/ocr-testdata"
RESOURCES="$DIR/ocrmypdf-$VERSION/tests/resources"

say() { printf '[ocr-testdata] %s\n' "$*" >&2; }

if [[ ! -f "$RESOURCES/.longctx-ready" ]]; then
  mkdir -p "$DIR"
  sdist="$DIR/ocrmypdf-$VERSION.tar.gz"
  if [[ ! -f "$sdist" ]] || ! echo "$SHA256  $sdist" | sha256sum -c --status; then
    say "fetching the $NAME $VERSION sdist from PyPI (~7 MB) for its test resources"
    python3 "$SCRIPTS/pypi-sdist.py" "$NAME" "$VERSION" "$SHA256" "$sdist"
  fi
  rm -rf "$DIR/ocrmypdf-$VERSION"
  tar -xzf "$sdist" -C "$DIR" "ocrmypdf-$VERSION/tests/resources" "ocrmypdf-$VERSION/LICENSE"
  touch "$RESOURCES/.longctx-ready"
  say "test resources in $RESOURCES"
fi
echo "$RESOURCES"
