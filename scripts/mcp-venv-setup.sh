#!/usr/bin/env bash
# Installs the official Python MCP SDK (PyPI `mcp`), the real peer of the MCP tests, into a
# cached venv. Idempotent: does nothing when the venv already has that version. Prints the venv's
# python on success (progress goes to stderr).
set -euo pipefail

CACHE="${PROMPTSTACK_CACHE:-$HOME/.cache/promptstack}"
VENV="$CACHE/mcp-venv"
VERSION="2.3.0"

if "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$VERSION')" 2>/dev/null; then
    echo "$VENV/bin/python"
    exit 0
fi

mkdir -p "$CACHE"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "mcp==$VERSION" >&2
"$VENV/bin/python" -c "import mcp.client.session, mcp.server.mcpserver" >&2
echo "$VENV/bin/python"
