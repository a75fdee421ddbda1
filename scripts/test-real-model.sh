#!/usr/bin/env bash
# Runs the real-model test: SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI-compatible
# server, reviewed and applied through the `openai` provider. Set-up is cached between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t setup < <(scripts/real-model-setup.sh)
python="${setup[0]}"
model="${setup[1]}"

port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$python" -m llama_cpp.server --model "$model" --model_alias smollm2 --host 127.0.0.1 \
    --port "$port" --n_threads 2 --n_ctx 4096 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 120); do
    if "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v1/models')" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$log" >&2
        exit 1
    fi
    sleep 1
done

PROMPTSTACK_LLAMA_URL="http://127.0.0.1:$port" PROMPTSTACK_REQUIRE_EXTERNAL=1 \
    cargo test --lib ai::real_model -- --nocapture
