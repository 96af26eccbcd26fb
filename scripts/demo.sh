#!/usr/bin/env bash
# The main job: a throwaway slapd with sample data, a change generator, and the CLI following it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh slapd
exec pnpm -s --dir examples/tail exec tsx main.ts "$@"
