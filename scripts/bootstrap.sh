#!/usr/bin/env bash
# Sets up everything the project needs on a machine with Node 20 and npm: pnpm (the version
# pinned in package.json), the dependencies, the system packages named as arguments
# (see scripts/ensure-system.sh), and the build. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "syncrepl-rx needs Node.js 20 or newer: install it from https://nodejs.org or your package manager." >&2
  exit 1
fi

want=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want" ]; then
  echo "» installing pnpm $want" >&2
  if ! npm install -g "pnpm@$want" >/dev/null 2>&1; then
    echo "syncrepl-rx needs pnpm $want: run 'npm install -g pnpm@$want' as a user who may install global npm packages." >&2
    exit 1
  fi
fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "» installing dependencies" >&2
  pnpm install --frozen-lockfile --reporter=silent
fi

if [ "$#" -gt 0 ]; then bash scripts/ensure-system.sh "$@"; fi

echo "» building" >&2
pnpm -s build
