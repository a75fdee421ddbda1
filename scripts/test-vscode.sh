#!/usr/bin/env bash
# Tests the VS Code extension inside a real VS Code build: packages editors/vscode as a .vsix,
# installs it into code-server, starts code-server with the server binary under test, and drives
# it with playwright-core and Debian's Chromium (editors/vscode/test/e2e/drive.mjs).
#
#   scripts/test-vscode.sh [path/to/promptstack]     default: target/debug/promptstack
#
# Installs what it needs into a cache reused between runs ($PROMPTSTACK_VSCODE_CACHE, default
# ~/.cache/promptstack/vscode): Node 24 (npm package node@24), code-server 4.139, playwright-core;
# and with apt-get (as root, or with sudo): chromium, libkrb5-dev, build tools.
# Screenshots and logs: target/vscode-artifacts/ ($PROMPTSTACK_VSCODE_ARTIFACTS).
# Exit codes: 0 passed, 1 failed, 77 cannot run here (no npm, registry or apt; nothing was tested).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PROMPTSTACK_VSCODE_CACHE:-$HOME/.cache/promptstack/vscode}
ARTIFACTS=${PROMPTSTACK_VSCODE_ARTIFACTS:-$ROOT/target/vscode-artifacts}
EXT_DIR=$ROOT/editors/vscode
CODE_SERVER_VERSION=4.139
PLAYWRIGHT_VERSION=1
START=$(date +%s)

log() { echo "[test-vscode +$(($(date +%s) - START))s] $*" >&2; }
skip() {
  echo "SKIP: $*" >&2
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    return 1
  fi
}

apt_install() {
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null &&
    as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- the binary under test ------------------------------------------------------------------------
BIN=${1:-${PROMPTSTACK_BIN:-$ROOT/target/debug/promptstack}}
if [ ! -x "$BIN" ]; then
  log "building $BIN"
  (cd "$ROOT" && cargo build --quiet) || fail "cargo build failed"
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
"$BIN" --version >/dev/null || fail "$BIN --version failed"

# --- system packages ------------------------------------------------------------------------------
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v python3 >/dev/null || missing+=(python3)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" || skip "cannot apt-get install ${missing[*]} (need root or sudo and Debian's package archive)"
fi
[ -x "$CHROMIUM" ] || skip "no Chromium at $CHROMIUM"

# --- Node 24, code-server, playwright-core (cached; a marker file means the install completed) -----
mkdir -p "$CACHE"
npm_install() { # dir package...
  local dir=$1
  shift
  if [ -f "$dir/.complete" ]; then
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  log "npm install $* (into $dir)"
  if ! timeout 1800 npm install --no-audit --no-fund --loglevel=error --prefix "$dir" "$@" >"$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2
    return 1
  fi
  touch "$dir/.complete"
}

NODE_DIR=$CACHE/node24
npm_install "$NODE_DIR" node@24 || skip "cannot install node@24 from the npm registry (see $NODE_DIR.log)"
export PATH=$NODE_DIR/node_modules/node/bin:$PATH
case "$(node --version)" in
  v24.*) ;;
  *) fail "expected Node 24 from $NODE_DIR, got $(node --version)" ;;
esac

if [ "$(id -u)" = 0 ]; then
  export npm_config_unsafe_perm=true # code-server's postinstall builds native modules as root
fi
CS_DIR=$CACHE/code-server-$CODE_SERVER_VERSION
npm_install "$CS_DIR" "code-server@$CODE_SERVER_VERSION" ||
  skip "cannot install code-server@$CODE_SERVER_VERSION from the npm registry (see $CS_DIR.log)"
CODE_SERVER=$CS_DIR/node_modules/.bin/code-server
CS_VERSION=$("$CODE_SERVER" --version 2>/dev/null | grep -E '^[0-9]' | head -1)
case "$CS_VERSION" in
  "$CODE_SERVER_VERSION".*) ;;
  *)
    rm -f "$CS_DIR/.complete"
    fail "code-server in $CS_DIR does not run (version: '$CS_VERSION'); it will be reinstalled next run"
    ;;
esac

PW_DIR=$CACHE/playwright-core-$PLAYWRIGHT_VERSION
npm_install "$PW_DIR" "playwright-core@$PLAYWRIGHT_VERSION" || skip "cannot install playwright-core (see $PW_DIR.log)"
log "Node $(node --version), code-server $CS_VERSION, playwright-core $(node -p "require('$PW_DIR/node_modules/playwright-core/package.json').version"), $("$CHROMIUM" --version 2>/dev/null | head -1)"

# --- build and package the extension --------------------------------------------------------------
cd "$EXT_DIR"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci (editors/vscode)"
  npm ci --no-audit --no-fund --loglevel=error >"$CACHE/extension-npm-ci.log" 2>&1 ||
    { tail -20 "$CACHE/extension-npm-ci.log" >&2; skip "npm ci failed in editors/vscode (registry?)"; }
fi
log "unit tests (editors/vscode)"
npm run --silent test:unit || fail "extension unit tests failed"
log "packaging the extension"
rm -f promptstack.vsix
npm run --silent package </dev/null >"$CACHE/extension-package.log" 2>&1 ||
  { tail -30 "$CACHE/extension-package.log" >&2; fail "packaging the extension failed"; }
VSIX=$EXT_DIR/promptstack.vsix
[ -f "$VSIX" ] || fail "no $VSIX after packaging"

# --- a fresh VS Code profile, workspace and PromptStack home ----------------------------------------
SANDBOX=$(mktemp -d "${TMPDIR:-/tmp}/promptstack-vscode.XXXXXX")
cleanup() {
  if [ -n "${PROMPTSTACK_KEEP_SANDBOX:-}" ]; then
    log "sandbox kept: $SANDBOX"
  else
    rm -rf "$SANDBOX"
  fi
}
trap cleanup EXIT
mkdir -p "$SANDBOX/user-data/User" "$SANDBOX/user-data/Machine" "$SANDBOX/extensions" "$SANDBOX/home" "$SANDBOX/workspace"
# promptstack.server.path is machine-scoped: in code-server (a remote window) it is read from the
# Machine settings, where a user of a remote setup sets it.
cat >"$SANDBOX/user-data/Machine/settings.json" <<EOF
{ "promptstack.server.path": "$BIN" }
EOF
cat >"$SANDBOX/user-data/User/settings.json" <<EOF
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "workbench.enableExperiments": false,
  "workbench.tips.enabled": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "editor.wordBasedSuggestions": "off",
  "promptstack.compositions.globs": ["**/*.prompt.md", "**/*.composition.md", "!**/.github/prompts/**", "**/drafts/*.md"]
}
EOF
# VS Code's AI features stay on (its default): compositions must not meet its prompt-file checks.
cat >"$SANDBOX/workspace/draft.prompt.md" <<'EOF'
# Release notes for {{text:product}} {{text:version}}

Write release notes for the changes listed below. Group them by user impact
and keep each entry to one sentence.
EOF
echo "# Not a composition" >"$SANDBOX/workspace/notes.md"
# A composition with frontmatter and a broken link (VS Code's prompt-file checks would flag both),
# and a real VS Code prompt file with the same text, where VS Code's checks are expected.
PLAN='---
title: Launch plan
tags: [launch]
---
Plan the launch of {{text:product}}. See [the spec](missing-spec.md).
'
printf '%s' "$PLAN" >"$SANDBOX/workspace/plan.prompt.md"
mkdir -p "$SANDBOX/workspace/.github/prompts"
printf '%s' "$PLAN" >"$SANDBOX/workspace/.github/prompts/launch.prompt.md"
# Restricted Mode: a workspace whose settings point the library at its own folder.
mkdir -p "$SANDBOX/untrusted/.vscode" "$SANDBOX/untrusted/evil-lib/commands"
cat >"$SANDBOX/untrusted/.vscode/settings.json" <<EOF
{ "promptstack.paths.libraryDir": "$SANDBOX/untrusted/evil-lib" }
EOF
printf -- '---\ntitle: Evil prompt\ndescription: from the workspace\ntags: [x]\n---\nEvil body.\n' \
  >"$SANDBOX/untrusted/evil-lib/commands/evil.md"
printf '# Untrusted\n' >"$SANDBOX/untrusted/notes.composition.md"
mkdir -p "$SANDBOX/workspace/drafts"
printf 'Idea: {{text:topic}}\nAnother line.\n' >"$SANDBOX/workspace/drafts/idea.md"

log "installing $VSIX into code-server"
CS_ARGS=(--config "$SANDBOX/code-server.yaml" --user-data-dir "$SANDBOX/user-data" --extensions-dir "$SANDBOX/extensions")
"$CODE_SERVER" "${CS_ARGS[@]}" --install-extension "$VSIX" >"$SANDBOX/install.log" 2>&1 ||
  { cat "$SANDBOX/install.log" >&2; fail "code-server --install-extension failed"; }
"$CODE_SERVER" "${CS_ARGS[@]}" --list-extensions 2>/dev/null | grep -qx 'promptstack.promptstack' ||
  fail "the extension is not listed after --install-extension"

# --- drive it -------------------------------------------------------------------------------------
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
log "driving code-server with headless Chromium"
set +e
CODE_SERVER=$CODE_SERVER CODE_SERVER_CONFIG=$SANDBOX/code-server.yaml PROMPTSTACK_BIN=$BIN \
  PLAYWRIGHT_CORE=$PW_DIR/node_modules/playwright-core CHROMIUM=$CHROMIUM SANDBOX=$SANDBOX \
  ARTIFACTS=$ARTIFACTS node "$EXT_DIR/test/e2e/drive.mjs"
status=$?
set -e
cp -r "$SANDBOX/user-data/logs" "$ARTIFACTS/vscode-logs" 2>/dev/null || true
log "screenshots and logs in $ARTIFACTS"
if [ $status -ne 0 ]; then
  fail "the VS Code test failed (exit $status) after $(($(date +%s) - START))s"
fi
echo "test-vscode: passed in $(($(date +%s) - START))s"
