#!/usr/bin/env bash
# Builds the four stage images with a local engine (docker or podman), without
# a registry:
#   DOCKER='podman' pipelines/images/build.sh
# 1. collects the shared libraries the binaries link (ldd) into a minimal
#    rootfs with one passwd entry per stage's uid and imports it as
#    kestrel-base:local;
# 2. builds kestrel/<stage>:0.1.0 from Containerfile.<stage>, with the binary
#    stripped of its debug information (it keeps its symbols, for
#    backtraces);
# 3. prints each image's size.
# KESTREL_BIN names the binaries' directory (default target/release).
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
# The uids the Containerfiles and the DaemonSet use: one per stage.
cat > "$ctx/rootfs/etc/passwd" <<'PW'
root:x:0:0:root:/:/nonexistent
kestrel-enrich:x:65101:65101:kestrel enrich:/:/nonexistent
kestrel-evaluate:x:65102:65102:kestrel evaluate:/:/nonexistent
kestrel-output:x:65103:65103:kestrel output:/:/nonexistent
PW
printf 'root:x:0:\nkestrel-enrich:x:65101:\nkestrel-evaluate:x:65102:\nkestrel-output:x:65103:\n' \
  > "$ctx/rootfs/etc/group"
tar -C "$ctx/rootfs" -cf "$ctx/base.tar" .
$docker import "$ctx/base.tar" kestrel-base:local >/dev/null

for s in capture enrich evaluate output; do
  mkdir -p "$ctx/$s"
  objcopy --strip-debug "$bin/$s" "$ctx/$s/$s"
  cp "$here/Containerfile.$s" "$ctx/$s/Containerfile"
  $docker build -q -t "kestrel/$s:0.1.0" -f "$ctx/$s/Containerfile" "$ctx/$s" >/dev/null
  size=$($docker image inspect -f '{{.Size}}' "kestrel/$s:0.1.0")
  echo "built kestrel/$s:0.1.0 ($((size / 1000000)) MB)"
done
