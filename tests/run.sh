#!/usr/bin/env bash
# The test command of README.md: installs what the tests need when it is
# missing, starts what they need, and runs the whole suite. Run as root: the
# kernel tests load the real probe, the container tests start real runtimes.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

need_pkgs=()
command -v capnp >/dev/null || need_pkgs+=(capnproto)
command -v clang-19 >/dev/null || need_pkgs+=(clang-19 llvm-19)
[ -f /usr/include/bpf/bpf_helpers.h ] || need_pkgs+=(libbpf-dev)
command -v bpftool >/dev/null || need_pkgs+=(bpftool)
command -v systemd-socket-activate >/dev/null || need_pkgs+=(systemd)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run.sh: missing packages (${need_pkgs[*]}); run as root so they can be installed" >&2
    exit 1
  fi
  log "installing ${need_pkgs[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# The probe attaches to syscall tracepoints, which live in tracefs.
if [ "$(id -u)" -eq 0 ] && [ ! -e /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings
log "cargo test"
cargo test --workspace --release -- --test-threads=2
