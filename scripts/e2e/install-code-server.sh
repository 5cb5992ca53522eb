#!/bin/bash
# Installs code-server 4.100.3 (VS Code 1.100.3) from npm into a git-ignored folder, offline-safe:
# every install script is skipped (several download from GitHub) and only the native modules
# VS Code needs are rebuilt with the local Node 20 toolchain.
# Prerequisites (Debian): build-essential python3 pkg-config libkrb5-dev libsecret-1-dev libx11-dev
#   libxkbfile-dev ripgrep  (and chromium fonts-liberation for the browser test).
# Usage: scripts/e2e/install-code-server.sh [target-dir]   (default: <repo>/.vscode-e2e/cs)
# Idempotent: exits early when the target already holds a working install of this version.
set -euo pipefail

VERSION=4.100.3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="${1:-$ROOT/.vscode-e2e/cs}"
ENTRY="$TARGET/node_modules/code-server/out/node/entry.js"
STAMP="$TARGET/.installed-$VERSION"
# keep `code-server --version` from writing ~/.config/code-server/config.yaml and ~/.local/share/code-server
cs_version() { XDG_CONFIG_HOME="$TARGET/.xdg" XDG_DATA_HOME="$TARGET/.xdg" node "$ENTRY" --config "$TARGET/.xdg/config.yaml" --version; }

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != "20" ]; then
  echo "code-server $VERSION needs Node 20 (found $(node --version))" >&2
  exit 1
fi

if [ -f "$STAMP" ] && [ -f "$ENTRY" ] && cs_version >/dev/null 2>&1; then
  echo "code-server $VERSION already installed in $TARGET"
  cs_version
  exit 0
fi

command -v rg >/dev/null || { echo "ripgrep (rg) is required: apt-get install ripgrep" >&2; exit 1; }

mkdir -p "$TARGET/.xdg"
[ -f "$TARGET/.xdg/config.yaml" ] || echo 'auth: none' > "$TARGET/.xdg/config.yaml"
cd "$TARGET"
rm -f "$STAMP"
[ -f package.json ] || npm init -y >/dev/null
npm install --ignore-scripts --no-audit --no-fund --save-exact "code-server@$VERSION"
npm rebuild argon2                                   # code-server loads it at startup

cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund
npm rebuild kerberos @vscode/spdlog native-watchdog
# pty.node builds; the package's postinstall then fails on 'npx node-gyp' (it only writes compile_commands.json)
npm rebuild node-pty || true
for f in node-pty/build/Release/pty.node kerberos/build/Release/kerberos.node \
         @vscode/spdlog/build/Release/spdlog.node native-watchdog/build/Release/watchdog.node \
         @parcel/watcher-linux-x64-glibc/watcher.node; do
  test -f "node_modules/$f" || { echo "MISSING node_modules/$f" >&2; exit 1; }
done
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg   # its postinstall would download rg
ln -sfn node_modules node_modules.asar               # what code-server's own postinstall.sh does
ln -sfn code-linux.sh bin/remote-cli/code-server
ln -sfn browser-linux.sh bin/helpers/browser.sh
(cd extensions && npm install --omit=dev --ignore-scripts --no-audit --no-fund)

cd "$TARGET"
mkdir -p .xdg && echo 'auth: none' > .xdg/config.yaml
cs_version
touch "$STAMP"
echo "code-server $VERSION installed in $TARGET"
