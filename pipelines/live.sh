#!/usr/bin/env bash
# Live detection with the built-in rules, alerts on the terminal:
#   capture (root) | enrich | evaluate | output
# Run as root (capture loads the eBPF probe). Extra arguments go to output
# (e.g. --json, --listen 127.0.0.1:8765). Builds the binaries first if needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
"$here/deps.sh"
bin=${KESTREL_BIN:-$root/target/release}
if [ -z "${KESTREL_BIN:-}" ]; then
  (cd "$root" && cargo build --release -q -p capture -p enrich -p evaluate -p output)
fi
# Only capture needs privileges; the other stages drop to nobody when started
# as root, so a compromise of the parsers cannot reach the kernel.
drop() { if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs "$@"; else "$@"; fi; }
syscalls=$("$here/filter-syscalls.sh" "$("$bin/evaluate" syscalls)")
# enrich sees every event its tables need but writes only the kinds a rule
# can match: evaluate would look at nothing else.
forward=$("$bin/evaluate" syscalls --matched)
"$bin/capture" --syscalls "$syscalls" \
  | drop "$bin/enrich" --forward "$forward" \
  | drop "$bin/evaluate" --format frames \
  | drop "$bin/output" "$@"
