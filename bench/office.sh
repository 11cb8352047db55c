#!/usr/bin/env bash
# Office ingest throughput (issue 28), side by side in one run:
#   (a) DOCX/XLSX/PPTX: `longctx ingest` (native OOXML) against MarkItDown
#       (PyPI `markitdown`, in process: one Python process converting every file);
#   (b) legacy formats (DOC/XLS/PPT/RTF/ODT/ODS/ODP): `longctx ingest` (LibreOffice
#       kept warm in the extraction workers) against `soffice --headless
#       --convert-to txt` one file at a time, as a user would call it;
#   (c) PST: `longctx ingest` against `readpst -M` (one file per item; seconds, equal counts).
# Every file is copied COPIES times with distinct bytes (a ZIP comment, or a
# run of whole zero sectors after an OLE2 file, newlines after RTF), so no copy is a duplicate.
# Usage: bench/office.sh [WORKDIR]   (ROUNDS=3 COPIES=8 by default)
# Needs a release build: swift build -c release --product longctx
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LONGCTX="${LONGCTX:-$ROOT/.build/release/longctx}"
CORPUS="${CORPUS:-$ROOT/../shared/corpus/office}"
WORK="${1:-$(mktemp -d /tmp/longctx-office.XXXXXX)}"
COPIES="${COPIES:-8}"
ROUNDS="${ROUNDS:-3}"
[ -x "$LONGCTX" ] || { echo "build first: swift build -c release --product longctx" >&2; exit 2; }
[ -d "$CORPUS" ] || { echo "no office corpus at $CORPUS" >&2; exit 2; }
mkdir -p "$WORK"
if ! PYTHONPATH="$WORK/mid" python3 -c 'import markitdown' 2>/dev/null; then
  echo "[bench] installing markitdown from PyPI into $WORK/mid" >&2
  python3 -m pip install --quiet --disable-pip-version-check --target "$WORK/mid" 'markitdown[docx,xlsx,pptx]' >&2
fi

python3 - "$CORPUS" "$WORK" "$COPIES" <<'PY'
import os, sys, shutil, zipfile, glob
corpus, work, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
sets = {"ooxml": ("docx", "xlsx", "pptx"), "legacy": ("doc", "xls", "ppt", "rtf", "odt", "ods", "odp")}
for name, exts in sets.items():
    out = os.path.join(work, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for sub in ("word", "excel", "powerpoint", "opendocument", "rtf"):
        for src in sorted(glob.glob(os.path.join(corpus, sub, "*"))):
            ext = src.rsplit(".", 1)[-1].lower()
            if ext not in exts:
                continue
            base = os.path.basename(src).rsplit(".", 1)[0]
            for i in range(copies):
                dst = os.path.join(out, f"{base}-{i}.{ext}")
                shutil.copyfile(src, dst)
                # By the first bytes, not zipfile.is_zipfile: that also finds a ZIP embedded in an
                # OLE2 file (SampleShow.ppt, the au.edu .doc), and "appending" a comment to it cut
                # the copy short after that ZIP (LibreOffice's 0xF26, wrong format, on every copy).
                with open(dst, "rb") as f:
                    is_zip = f.read(4) == b"PK\x03\x04"
                if is_zip:
                    with zipfile.ZipFile(dst, "a") as z:
                        z.comment = f"longctx bench copy {i}".encode()
                else:
                    # OLE2 files are whole 512-byte sectors: whole zero sectors after the last keep
                    # them readable; RTF ignores what follows its closing brace.
                    with open(dst, "ab") as f:
                        f.write(b"\0" * 512 * (i + 1) if ext != "rtf" else b"\n" * (i + 1))
PY

now() { date +%s.%N; }
median() { python3 -c 'import sys, statistics; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }
bytes_of() { du -sb "$1" | cut -f1; }

run_longctx() { # dir → seconds; the summary in $WORK/$name-summary.json
  local dir=$1 name=$2 t0 t1
  rm -rf "$WORK/ws-$name"
  t0=$(now)
  "$LONGCTX" ingest --workspace "$WORK/ws-$name" --json "$dir" > "$WORK/$name-summary.json"
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}

# ---------- (a) OOXML against MarkItDown ----------
# Twice: every file, and only the files without embedded legacy objects (an OLE .doc/.xls/.ppt
# under */embeddings/: longctx converts those through LibreOffice, a warm soffice per worker,
# while MarkItDown does not read embedded objects at all).
mkdir -p "$WORK/ooxml-plain"
rm -f "$WORK/ooxml-plain"/*
python3 - "$WORK/ooxml" "$WORK/ooxml-plain" <<'PY'
import os, sys, zipfile, shutil
src, dst = sys.argv[1:3]
for name in sorted(os.listdir(src)):
    with zipfile.ZipFile(os.path.join(src, name)) as z:
        legacy = [n for n in z.namelist() if "/embeddings/" in n
                  and not n.lower().endswith((".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".png", ".jpeg", ".jpg", ".emf", ".wmf"))]
    if not legacy:
        shutil.copy(os.path.join(src, name), dst)
PY
ooxml_pair() { # dir label
  local dir=$1 label=$2 files mb lc=() md=() t0 t1 failed lcm mdm
  files=$(ls "$dir" | wc -l)
  mb=$(python3 -c "print($(bytes_of "$dir") / 1e6)")
  for r in $(seq 1 "$ROUNDS"); do
    lc+=("$(run_longctx "$dir" "$label")")
    t0=$(now)
    PYTHONPATH="$WORK/mid" python3 - "$dir" <<'PY' > /dev/null
import os, sys
from markitdown import MarkItDown
m = MarkItDown()
for name in sorted(os.listdir(sys.argv[1])):
    try:
        m.convert(os.path.join(sys.argv[1], name))
    except Exception as e:
        print("markitdown failed:", name, e, file=sys.stderr)
PY
    t1=$(now)
    md+=("$(python3 -c "print($t1 - $t0)")")
  done
  failed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$WORK/$label-summary.json")
  lcm=$(median "${lc[@]}"); mdm=$(median "${md[@]}")
  echo "OOXML ($label): $files files, $mb MB; longctx failed: $failed"
  echo "  longctx ingest  runs: ${lc[*]}  median $lcm s  $(python3 -c "print(f'{$files/$lcm:.1f} files/s, {$mb/$lcm:.2f} MB/s')")"
  echo "  MarkItDown      runs: ${md[*]}  median $mdm s  $(python3 -c "print(f'{$files/$mdm:.1f} files/s, {$mb/$mdm:.2f} MB/s')")"
  echo "  ratio (MarkItDown time / longctx time, medians): $(python3 -c "print(f'{$mdm/$lcm:.2f}')")"
}
ooxml_pair "$WORK/ooxml" ooxml
ooxml_pair "$WORK/ooxml-plain" ooxml-plain

# ---------- (b) legacy formats against soffice one by one ----------
files=$(ls "$WORK/legacy" | wc -l)
mb=$(python3 -c "print($(bytes_of "$WORK/legacy") / 1e6)")
lc=(); so=()
for r in $(seq 1 "$ROUNDS"); do
  lc+=("$(run_longctx "$WORK/legacy" legacy)")
  rm -rf "$WORK/soffice-out" && mkdir -p "$WORK/soffice-out"
  t0=$(now)
  for f in "$WORK"/legacy/*; do
    # What each kind converts to as the office corpus's references were made: text, CSV, PDF.
    case "$f" in
      *.xls | *.ods) to=csv ;;
      *.ppt | *.odp) to=pdf ;;
      *) to=txt:Text ;;
    esac
    timeout 120 soffice --headless -env:UserInstallation=file://$WORK/soffice-profile \
      --convert-to "$to" --outdir "$WORK/soffice-out" "$f" > /dev/null 2>&1 || true
  done
  made=$(ls "$WORK/soffice-out" | wc -l)
  t1=$(now)
  so+=("$(python3 -c "print($t1 - $t0)")")
done
failed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$WORK/legacy-summary.json")
lcm=$(median "${lc[@]}"); som=$(median "${so[@]}")
echo "Legacy: $files files, $mb MB; longctx failed: $failed"
echo "  longctx ingest       runs: ${lc[*]}  median $lcm s  $(python3 -c "print(f'{$files/$lcm:.2f} files/s')")"
echo "  soffice one by one   runs: ${so[*]}  median $som s  $(python3 -c "print(f'{$files/$som:.2f} files/s')"); it wrote $made files"
echo "  ratio (soffice time / longctx time, medians): $(python3 -c "print(f'{$som/$lcm:.2f}')")"

# ---------- (c) PST against readpst ----------
for pst in "$CORPUS"/pst/*.pst; do
  name=$(basename "$pst" .pst)
  lc=(); rp=()
  for r in $(seq 1 "$ROUNDS"); do
    lc+=("$(run_longctx "$pst" "pst-$name")")
    rm -rf "$WORK/readpst-$name" && mkdir -p "$WORK/readpst-$name"
    t0=$(now)
    readpst -q -M -o "$WORK/readpst-$name" "$pst" > /dev/null 2>&1 || true
    t1=$(now)
    rp+=("$(python3 -c "print($t1 - $t0)")")
  done
  ours=$(python3 - "$WORK/ws-pst-$name/state.sqlite" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT metadata FROM document WHERE kind = 'pst'").fetchone()
print(json.loads(row[0]).get("messages", "?") if row else "?")
PY
)
  theirs=$(find "$WORK/readpst-$name" -type f | wc -l)
  echo "PST $name: messages longctx $ours, readpst $theirs; longctx median $(median "${lc[@]}") s, readpst median $(median "${rp[@]}") s"
done
