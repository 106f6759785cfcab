#!/usr/bin/env bash
# The main job: sets up what is missing, starts the keelson daemon (unless one is already
# serving on the socket) and queries it over its CRI socket.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

keelson() { node dist/cli/main.js "$@"; }
socket=${KEELSON_SOCKET:-/run/keelson/keelson.sock}
export KEELSON_SOCKET=$socket

started=""
if ! keelson version >/dev/null 2>&1; then
  log=$(mktemp /tmp/keelson-demo-XXXXXX.log)
  echo "starting keelson serve (log: $log)"
  node dist/cli/main.js serve --socket "$socket" 2>"$log" &
  started=$!
  trap 'kill -TERM $started 2>/dev/null; wait $started 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    keelson version >/dev/null 2>&1 && break
    kill -0 "$started" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
fi

keelson version
echo
keelson info
if [ -n "$started" ]; then
  echo
  echo "stopping the daemon this demo started; run \`node dist/cli/main.js serve\` to keep one running"
fi
