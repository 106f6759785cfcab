#!/usr/bin/env bash
# Builds the benchmarks with the sources and fixtures they import into dist-bench/ and runs
# one: bench/run.sh sandbox [args...]. The links let compiled code find the built daemon,
# the CRI descriptor and the native addon at the same relative paths as in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/run.sh <bench> [args...]}
shift
scripts/setup.sh
# The comparison bench runs Debian's containerd beside keelson; it is no test dependency.
if [ "$name" = compare ] && ! dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q 'install ok installed'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends containerd >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends containerd >/dev/null; }
fi
npx --no-install tsc -p bench/tsconfig.json
for d in dist reference native profiles; do ln -sfn "../$d" "dist-bench/$d"; done
# The fixture CSI plugin is plain JS, not compiled: link it where its compiled helpers look.
ln -sfn ../../../test/fixtures/csi-plugin dist-bench/test/fixtures/csi-plugin
exec node --expose-gc "dist-bench/bench/$name.js" "$@"
