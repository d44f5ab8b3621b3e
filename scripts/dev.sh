#!/usr/bin/env bash
# `npm run dev -- -f DIR`: dependencies and tools when missing, then dev mode.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d node_modules ]] || npm install --no-audit --no-fund
bash scripts/bootstrap.sh >/dev/null
exec bash scripts/node24.sh scripts/dev.ts "$@"
