#!/usr/bin/env bash
# Sets up whatever is missing for keelson on Debian bookworm, as root: Debian packages, npm
# dependencies, the native addon and the TypeScript build. Idempotent: when everything is in
# place it only checks, in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# Runs a build step quietly, showing its output only when it fails.
quiet() {
  local log
  log=$(mktemp /tmp/keelson-setup-XXXXXX.log)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "failed: $*"
    exit 1
  fi
  rm -f "$log"
}

if [ "$(id -u)" != 0 ]; then
  say "keelson runs containers and must be set up as root (try: sudo $0)"
  exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# Debian packages: the runtime's external programs, the test peers, and the addon's toolchain.
packages=(
  runc crun conmon catatonit criu containernetworking-plugins iptables iproute2 util-linux
  docker-registry apache2-utils busybox-static
  zstd umoci skopeo buildah
  python3 make g++
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  quiet apt-get update
  quiet apt-get install -y --no-install-recommends "${missing[@]}"
fi

# npm dependencies, when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  quiet npm ci --ignore-scripts --no-audit --no-fund
fi

# The linter, a package of its own (tools/lint, see eslint.config.js), when its lockfile changed.
if [ ! -f tools/lint/node_modules/.package-lock.json ] || [ tools/lint/package-lock.json -nt tools/lint/node_modules/.package-lock.json ]; then
  say "installing the linter"
  quiet npm ci --prefix tools/lint --ignore-scripts --no-audit --no-fund
fi

# better-sqlite3 is built from its bundled sources: install scripts stay off above (they would
# try to download prebuilt binaries), so build it here, once.
if [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  say "building better-sqlite3 (about a minute)"
  quiet npx --no-install node-gyp rebuild --release --directory=node_modules/better-sqlite3
fi

# node-pty (TTY exec) is built from its bundled sources too, once.
if [ ! -f node_modules/node-pty/build/Release/pty.node ]; then
  say "building node-pty"
  quiet npx --no-install node-gyp rebuild --release --directory=node_modules/node-pty
fi

# The native addon, when its sources are newer than the built module.
addon=native/build/Release/keelson_native.node
if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 -newer "$addon" \( -name '*.c' -o -name '*.h' -o -name '*.gyp' \))" ]; then
  say "building the native addon"
  quiet npx --no-install node-gyp rebuild --directory=native
fi

# The TypeScript build, when any input is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src reference scripts/gen-cri-types.mjs tsconfig.json package.json -newer "$stamp" -print -quit)" ]; then
  say "building TypeScript"
  node scripts/gen-cri-types.mjs
  npx --no-install tsc -p tsconfig.json
  chmod +x dist/cli/main.js
  touch "$stamp"
fi

# The default pod network, unless a CNI network config is already there: bridge keelson0 with
# host-local IPAM, then firewall, portmap and loopback. KEELSON_CNI_BRIDGE and
# KEELSON_CNI_SUBNET choose the bridge and the subnet; KEELSON_CNI_CONF_DIR the directory.
cni_conf_dir=${KEELSON_CNI_CONF_DIR:-/etc/cni/net.d}
cni_bridge=${KEELSON_CNI_BRIDGE:-keelson0}
cni_subnet=${KEELSON_CNI_SUBNET:-10.88.0.0/16}
if ! compgen -G "$cni_conf_dir/*.conflist" >/dev/null && ! compgen -G "$cni_conf_dir/*.conf" >/dev/null &&
  ! compgen -G "$cni_conf_dir/*.json" >/dev/null; then
  say "installing the default pod network $cni_conf_dir/10-keelson.conflist (bridge $cni_bridge, subnet $cni_subnet)"
  mkdir -p "$cni_conf_dir"
  cat >"$cni_conf_dir/10-keelson.conflist" <<CONF
{
  "cniVersion": "1.0.0",
  "name": "keelson",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$cni_bridge",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$cni_subnet" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "firewall", "backend": "iptables" },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
CONF
fi
