#!/usr/bin/env bash
# `npm run demo`: everything from a fresh clone — dependencies, the tool cache, then the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
if [[ ! -d node_modules ]]; then
  step "installing dependencies (npm install)"
  npm install --no-audit --no-fund
fi
step "building or reusing the local control plane tools (first run: many minutes)"
bash scripts/bootstrap.sh >/dev/null
exec bash scripts/node24.sh scripts/demo.ts "$@"
