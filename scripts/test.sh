#!/usr/bin/env bash
# Sets up what is missing, type-checks and lints, then runs every test: unit tests in parallel, then the
# integration tests (as root, against the real runc, conmon, CNI plugins and registry).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npx --no-install tsc -p tsconfig.test.json
tools/lint/node_modules/.bin/eslint src test bench eslint.config.js
exec npx --no-install vitest run "$@"
