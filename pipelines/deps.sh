#!/usr/bin/env bash
# Installs what building and running kestrel needs, when it is missing:
# capnp (schema compiler), protoc (enrich's CRI protocol), clang-19/llvm-19/libbpf-dev/bpftool (the eBPF
# probe), systemd (systemd-socket-activate, systemd-analyze for the unit
# tests), Debian's python3 with python3-yaml and python3-venv (the
# Kubernetes tests read manifests with it and keep their PyPI tools in a
# virtualenv: Debian 12 refuses pip outside one), and mounts tracefs, where
# the syscall tracepoints live.
# Idempotent; quiet when everything is there.
set -euo pipefail

need=()
command -v capnp >/dev/null || need+=(capnproto)
command -v protoc >/dev/null || need+=(protobuf-compiler)
command -v clang-19 >/dev/null || need+=(clang-19)
command -v llvm-strip-19 >/dev/null || need+=(llvm-19)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
command -v bpftool >/dev/null || need+=(bpftool)
command -v systemd-socket-activate >/dev/null || need+=(systemd)
command -v cc >/dev/null || need+=(gcc)
command -v jq >/dev/null || need+=(jq)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
command -v setpriv >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "kestrel: missing packages (${need[*]}); run as root, or: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "kestrel: installing ${need[*]}" >&2
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need[@]}" >/dev/null
fi

if [ "$(id -u)" -eq 0 ] && [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
