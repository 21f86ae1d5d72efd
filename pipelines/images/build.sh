#!/usr/bin/env bash
# Builds the four stage images with a local Docker engine, without a registry:
#   pipelines/images/build.sh [DOCKER_HOST]
# 1. collects the shared libraries the release binaries link (ldd) into a
#    minimal rootfs and imports it as kestrel-base:local;
# 2. builds kestrel/<stage>:0.1.0 from Containerfile.<stage>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
docker=${DOCKER:-docker}
bin=${KESTREL_BIN:-$root/target/release}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

mkdir -p "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/rootfs/run/kestrel"
for s in capture enrich evaluate output; do
  [ -x "$bin/$s" ] || { echo "build.sh: $bin/$s missing; cargo build --release first" >&2; exit 1; }
  ldd "$bin/$s" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | grep '^/' | while read -r lib; do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
done
printf 'root:x:0:0:root:/:/nonexistent\nnonroot:x:65532:65532:nonroot:/:/nonexistent\n' > "$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$ctx/rootfs/etc/group"
tar -C "$ctx/rootfs" -cf "$ctx/base.tar" .
$docker import "$ctx/base.tar" kestrel-base:local >/dev/null

for s in capture enrich evaluate output; do
  mkdir -p "$ctx/$s"
  cp "$bin/$s" "$ctx/$s/$s"
  cp "$here/Containerfile.$s" "$ctx/$s/Containerfile"
  $docker build -q -t "kestrel/$s:0.1.0" -f "$ctx/$s/Containerfile" "$ctx/$s" >/dev/null
  echo "built kestrel/$s:0.1.0"
done
