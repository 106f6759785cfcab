#!/usr/bin/env bash
# Builds and runs a benchmark: bench/run.sh pull [--runs N]. Needs the daemon built (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/run.sh NAME [args]}
shift
npx --no-install tsc -p bench/tsconfig.json
# The fixtures find the built daemon at ../../dist relative to themselves.
ln -sfn ../dist dist-bench/dist
ln -sfn ../reference dist-bench/reference
ln -sfn ../native dist-bench/native
exec node "dist-bench/bench/${name}.js" "$@"
