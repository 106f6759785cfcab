#!/usr/bin/env bash
# Builds the demo image (busybox from Debian's busybox-static, one layer) as an OCI image
# layout in the directory given, with no registry and no internet. Reproducible: the same
# busybox gives the same digests.
#   scripts/build-demo-image.sh OUT_DIR [REF_NAME]
set -euo pipefail
out=${1:?usage: $0 OUT_DIR [REF_NAME]}
ref=${2:-localhost/keelson/demo:latest}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "$busybox is missing: apt-get install busybox-static" >&2; exit 1; }

work=$(mktemp -d /tmp/keelson-demo-image-XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,etc,tmp,root,www,proc,sys,dev,var,run,home/user}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
echo 'Hello from a keelson pod!' > "$root/www/index.html"
chown -R 1000:1000 "$root/home/user"

mkdir -p "$out/blobs/sha256"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --pax-option=delete=atime,delete=ctime \
  -C "$root" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -6 -c "$work/layer.tar" > "$work/layer.tar.gz"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$out/blobs/sha256/$layer"

arch=$(dpkg --print-architecture)
case "$arch" in armhf) arch=arm ;; i386) arch=386 ;; esac
printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\",\"ExposedPorts\":{\"80/tcp\":{}}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"scripts/build-demo-image.sh\"}]}" > "$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$out/blobs/sha256/$config"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}" > "$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$out/blobs/sha256/$manifest"

printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest\",\"size\":$manifest_size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$ref\"}}]}" > "$out/index.json"
echo "sha256:$config"
