#!/usr/bin/env python3
"""Fetches a package's sdist from PyPI and checks it against its pinned SHA-256.

    python3 scripts/pypi-sdist.py NAME VERSION SHA256 OUT

Writes OUT.part, then renames it to OUT only when the checksum matches (exit 1
otherwise). Taken from PyPI's JSON API directly: `pip download --no-binary`
would build the package's build requirements (CMake itself) just to read its
metadata. Used by setup.sh (llama.cpp) and ocr-testdata.sh (OCRmyPDF's test
resources).
"""
import hashlib, json, os, sys, urllib.parse, urllib.request

name, version, sha256, out = sys.argv[1:]
index = f"https://pypi.org/pypi/{name}/json"
meta = json.load(urllib.request.urlopen(index, timeout=120))
sdists = [f for f in meta["releases"].get(version) or [] if f["packagetype"] == "sdist"]
if not sdists:
    sys.exit(f"{name} {version} has no sdist on PyPI")
url = urllib.parse.urljoin(index, sdists[0]["url"])
digest = hashlib.sha256()
with urllib.request.urlopen(url, timeout=600) as r, open(out + ".part", "wb") as f:
    while chunk := r.read(1 << 20):
        digest.update(chunk)
        f.write(chunk)
if digest.hexdigest() != sha256:
    os.remove(out + ".part")
    sys.exit(f"checksum mismatch for the {name} {version} sdist")
os.replace(out + ".part", out)
