#!/usr/bin/env bash
# The main job: SubMan from nothing. A throwaway slapd with the SubMan schema and data, the
# syncrepl-rx server on top, the live page, and a change generator. Flags go to
# examples/subman/src/main.ts (--help lists them); `--server 389ds` runs it on 389 Directory Server.
set -euo pipefail
cd "$(dirname "$0")/.."
wanted=(slapd)
prev=''
for arg in "$@"; do
  if [ "$arg" = --server=389ds ] || { [ "$prev" = --server ] && [ "$arg" = 389ds ]; }; then wanted+=(389ds); fi
  prev=$arg
done
bash scripts/bootstrap.sh "${wanted[@]}"
exec pnpm -s --dir examples/subman exec tsx src/main.ts "$@"
