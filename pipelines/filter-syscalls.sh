#!/usr/bin/env bash
# Keeps, from a comma-separated list of kestrel event names (what `evaluate
# syscalls` prints), those this kernel can trace: a syscall compiled out of
# the kernel (init_module on a kernel without modules) has no tracepoint and
# cannot happen, so there is nothing to capture. Events that are not one
# syscall's exit (procexit, container, compat_syscall: every 32-bit syscall,
# which capture hooks its own way) pass through.
#   pipelines/filter-syscalls.sh "$(evaluate syscalls)"
set -euo pipefail
tracefs=/sys/kernel/tracing/events/syscalls
out=()
IFS=, read -ra names <<<"${1:?usage: filter-syscalls.sh LIST}"
for n in "${names[@]}"; do
  case $n in
    procexit|container|compat_syscall) out+=("$n") ;;
    *) if [ -d "$tracefs/sys_exit_$n" ]; then out+=("$n"); else echo "kestrel: not capturing $n: this kernel has no such syscall" >&2; fi ;;
  esac
done
(IFS=,; echo "${out[*]}")
