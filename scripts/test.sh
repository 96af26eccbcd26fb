#!/usr/bin/env bash
# The whole test suite: lint and format checks, type checks, then unit, integration (real
# slapd and 389 Directory Server) and end-to-end tests. Arguments are passed to vitest (e.g. a file name).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh slapd chromium 389ds
echo "» lint and format" >&2
pnpm -s lint
echo "» tests" >&2
pnpm -s --dir test exec vitest run "$@"
