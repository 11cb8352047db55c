#!/usr/bin/env bash
# OCR test and benchmark scans: OCRmyPDF's test resources (scans, some with a
# transcript: linn.png/linn.pdf/linn.txt; poster-sized and huge pages), taken
# from OCRmyPDF's PyPI sdist into the set-up cache. Idempotent: a second run
# only checks. Prints the resources directory on stdout.
#
# Environment: LONGCTX_CACHE (default ~/.cache/longctx), as for setup.sh.
set -euo pipefail

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
    # As setup.sh does for llama.cpp: the sdist straight from PyPI's JSON API
    # (pip download --no-binary would build its build requirements first).
    python3 - "$NAME" "$VERSION" "$sdist.part" <<'PY'
import json, sys, urllib.parse, urllib.request
name, version, out = sys.argv[1:]
index = f"https://pypi.org/pypi/{name}/json"
meta = json.load(urllib.request.urlopen(index, timeout=120))
sdists = [f for f in meta["releases"].get(version) or [] if f["packagetype"] == "sdist"]
if not sdists:
    sys.exit(f"{name} {version} has no sdist on PyPI")
url = urllib.parse.urljoin(index, sdists[0]["url"])
with urllib.request.urlopen(url, timeout=600) as r, open(out, "wb") as f:
    while chunk := r.read(1 << 20):
        f.write(chunk)
PY
    echo "$SHA256  $sdist.part" | sha256sum -c --status || { say "checksum mismatch for the $NAME sdist"; exit 1; }
    mv "$sdist.part" "$sdist"
  fi
  rm -rf "$DIR/ocrmypdf-$VERSION"
  tar -xzf "$sdist" -C "$DIR" "ocrmypdf-$VERSION/tests/resources" "ocrmypdf-$VERSION/LICENSE"
  touch "$RESOURCES/.longctx-ready"
  say "test resources in $RESOURCES"
fi
echo "$RESOURCES"
