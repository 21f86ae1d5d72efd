#!/usr/bin/env bash
# Captures only what the rules need: evaluate computes the syscall set of its
# ruleset (plus what enrich needs for state), capture filters in the kernel.
#   sudo pipelines/selective.sh [-r rules.yaml ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/deps.sh"
bin=${KESTREL_BIN:-$(dirname "$here")/target/release}
[ -n "${KESTREL_BIN:-}" ] || (cd "$here/.." && cargo build --release -q -p capture -p enrich -p evaluate -p output)
syscalls=$("$here/filter-syscalls.sh" "$("$bin/evaluate" syscalls "$@")")
# enrich writes only what a rule can match; the rest only updates its tables.
forward=$("$bin/evaluate" syscalls --matched "$@")
echo "capturing: $syscalls; evaluating: $forward" >&2
"$bin/capture" --syscalls "$syscalls" | "$bin/enrich" --forward "$forward" \
  | "$bin/evaluate" --format frames "$@" | "$bin/output"
# To follow rule changes without a restart, run capture and evaluate with
# --control and, after editing the rules:
#   evaluate ctl reload --control "$evaluate_ctl" &&
#   capture ctl set-syscalls "$("$here/filter-syscalls.sh" "$("$bin/evaluate" syscalls "$@")")" \
#     --control "$capture_ctl"
# (with --control capture attaches every syscall's program and the selection
# map decides, so set-syscalls applies at once; see BENCHMARKS.md). enrich's
# --forward list does not follow a reload: restart enrich, or leave it out.
