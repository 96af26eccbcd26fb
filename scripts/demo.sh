#!/usr/bin/env bash
# The main job: SubMan from nothing. A throwaway slapd with the SubMan schema and data, the
# syncrepl-rx server on top, the live page, and a change generator. Flags go to
# examples/subman/src/main.ts (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh slapd
exec pnpm -s --dir examples/subman exec tsx src/main.ts "$@"
