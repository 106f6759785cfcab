#!/usr/bin/env bash
# Compiles the benches (with src/ and test/fixtures/) into dist-bench/, linking the native
# addon and the profiles where the compiled modules look for them.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p bench/tsconfig.json
ln -sfn ../native dist-bench/native
ln -sfn ../profiles dist-bench/profiles
