#!/usr/bin/env bash
# Installs the editors the end-to-end editor tests drive (Neovim). Idempotent: does nothing when
# they are already there. CI calls it before the tests; it needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-test-editors: not root and no sudo; cannot install packages" >&2
    exit 1
  fi
fi

missing=()
command -v nvim >/dev/null 2>&1 || missing+=(neovim)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-editors: nvim already installed ($(nvim --version | head -n1))"
  exit 0
fi

echo "install-test-editors: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-test-editors: $(nvim --version | head -n1)"
