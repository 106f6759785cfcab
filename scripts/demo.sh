#!/usr/bin/env bash
# The main job, with no internet: sets up what is missing, builds the busybox demo image,
# starts the keelson daemon (unless one is already serving on the socket), imports the image,
# runs examples/hello.yaml (a web server pod on a hostPort), waits until it is ready, prints the
# page fetched from the pod, then removes the pod and stops the daemon it started.
#   DEMO_MANIFEST  another manifest (default examples/hello.yaml)
#   DEMO_PORT      the hostPort to fetch (default: the manifest's first hostPort)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${DEMO_SKIP_SETUP:-}" ] || scripts/setup.sh

keelson() { node dist/cli/main.js "$@"; }
socket=${KEELSON_SOCKET:-/run/keelson/keelson.sock}
export KEELSON_SOCKET=$socket
manifest=${DEMO_MANIFEST:-examples/hello.yaml}
port=${DEMO_PORT:-$(sed -n 's/^ *hostPort: *\([0-9]*\).*/\1/p' "$manifest" | head -n1)}

work=$(mktemp -d /tmp/keelson-demo-XXXXXX)
started=""
ran=""
cleanup() {
  [ -z "$ran" ] || keelson down "$manifest" >/dev/null 2>&1 || true
  if [ -n "$started" ]; then
    kill -TERM "$started" 2>/dev/null || true
    wait "$started" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the demo image (busybox, no registry)"
scripts/build-demo-image.sh "$work/image" >/dev/null

if ! keelson version >/dev/null 2>&1; then
  log=$work/keelson.log
  echo "== starting keelson serve (log: $log)"
  node dist/cli/main.js serve --socket "$socket" ${KEELSON_ROOT:+--root "$KEELSON_ROOT"} ${KEELSON_STATE:+--state "$KEELSON_STATE"} \
    ${KEELSON_CONFIG:+--config "$KEELSON_CONFIG"} 2>"$log" &
  started=$!
  for _ in $(seq 200); do
    keelson version >/dev/null 2>&1 && break
    kill -0 "$started" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
fi
keelson version

echo "== importing the image"
keelson image import "$work/image"

echo "== keelson run $manifest"
ran=1
keelson run "$manifest"

echo "== waiting until the pod is ready"
for i in $(seq 150); do
  if keelson pods -o json | node -e '
    const pods = JSON.parse(require("fs").readFileSync(0, "utf8"));
    process.exit(pods.some((p) => p.supervised && p.supervised.ready) ? 0 : 1);'; then
    break
  fi
  [ "$i" -lt 150 ] || { keelson pods; echo "the pod did not become ready" >&2; exit 1; }
  sleep 0.2
done
keelson pods

echo "== GET http://127.0.0.1:$port/"
node -e '
  fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); },
    (e) => { console.error(String(e)); process.exit(1); });' "http://127.0.0.1:$port/"

echo "== keelson down $manifest"
keelson down "$manifest"
ran=""
if [ -n "$started" ]; then
  echo "stopping the daemon this demo started; run \`node dist/cli/main.js serve\` to keep one running"
fi
