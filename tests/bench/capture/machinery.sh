#!/usr/bin/env bash
# Where capture's cost per event goes (BENCHMARKS.md, "capture", "Where the
# time goes"), one command:
#
#   sudo tests/bench/capture/machinery.sh [--rounds N] [--no-rt]
#
# Loads programs with a minimal libbpf loader (loader.c) instead of capture,
# so capture's reader is out of the picture, and times on CPU 1 (as run.sh
# does): 2,000,000 getppid() (never probed), a max-rate close(-1) storm for
# 1 s (ns per close) and 100,000 open()+close() pairs of a /tmp file. Each
# of --rounds rounds (default 7) runs the workloads under each of:
#
#   none     nothing attached
#   empty    empty programs on sys_exit_openat and sys_exit_close: the
#            syscall-tracepoint machinery alone
#   kestrel  the probe's exit_openat and exit_close (probe/, as built)
#   tp_btf   one tp_btf program on raw sys_exit tail-calling, by syscall
#            number, handlers that write the same records
#            (alternatives.bpf.c)
#
# and prints the medians. Then, with kernel.bpf_stats_enabled=1 for one
# more pass, the probe's own ns per run (the statistics add their own clock
# reads, about 46 ns per run here; they are off during the timed runs).
#
# Needs root, clang-19, libbpf-dev, bpftool and jq; builds capture (release)
# for the generated headers the probe includes.
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$(pwd)

rounds=7
rt=(chrt -f 50)
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --no-rt) rt=() ;;
    *) echo "machinery.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

N_GETPPID=2000000
N_OPENCLOSE=100000
# A close() storm offered faster than any core can go: it runs flat out.
STORM_RATE=100000000
STORM_SECS=1
# Syscall numbers (x86-64) of the tail-call slots.
NR_CLOSE=3
NR_OPENAT=257
# shellcheck source=tests/bench/capture/lib.sh
. tests/bench/capture/lib.sh

die() { printf 'machinery.sh: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root: it loads BPF programs"
for tool in clang-19 bpftool jq gcc; do command -v $tool >/dev/null || die "needs $tool"; done

work=$(mktemp -d /tmp/kestrel-bench-machinery.XXXXXX)
cleanup() {
  [ -n "${lp:-}" ] && kill -TERM "$lp" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p capture
# The headers build.rs generated (vmlinux.h, kinds.h, layout.h), from the
# newest build.
gen=$(dirname "$(ls -t target/release/build/capture-*/out/kinds.h | head -1)")
cflags=(-O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I "$gen" -I probe)
clang-19 "${cflags[@]}" -c probe/kestrel.bpf.c -o "$work/kestrel.bpf.o"
clang-19 "${cflags[@]}" -c tests/bench/capture/alternatives.bpf.c -o "$work/alternatives.bpf.o"
gcc -O2 -Wall -Wextra -o "$work/loader" tests/bench/capture/loader.c -lbpf
gcc -O2 -Wall -Wextra -o "$work/workload" tests/bench/capture/workload.c
target="$work/oc-target"

workload() { "${rt[@]}" "$work/workload" "$@" | awk '{print $2}'; }
measure() {
  echo "$(workload getppid $N_GETPPID)" \
    "$(workload stormclose $STORM_RATE $STORM_SECS | awk '{printf "%.1f", 1e9 / $1}')" \
    "$(workload openclose $N_OPENCLOSE "$target")"
}

# Starts the loader on CPU 0 with the given object and programs.
attach() {
  rm -f "$work/ready"
  "${rt[@]}" taskset -c 0 "$work/loader" "$1" "$work/ready" "${@:2}" 2> "$work/loader.log" &
  lp=$!
  wait_ready "$work/ready" "$lp" "$work/loader.log" "the loader failed" \
    "the loader did not attach in ${READY_TIMEOUT}s"
}
detach() { kill -TERM "$lp"; wait "$lp" || die "the loader failed: $(cat "$work/loader.log")"; lp=; }

setups=(none empty kestrel tp_btf)
run_setup() {
  case $1 in
    none) measure ;;
    empty) attach "$work/alternatives.bpf.o" empty_openat empty_close; measure; detach ;;
    kestrel) attach "$work/kestrel.bpf.o" exit_openat exit_close; measure; detach ;;
    tp_btf) attach "$work/alternatives.bpf.o" dispatch btf_close@$NR_CLOSE btf_openat@$NR_OPENAT
      measure; detach ;;
  esac
}

echo "## machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## tracepoint programs already loaded: $(bpftool prog list 2>/dev/null | grep -c ' tracepoint \| tracing ' || true)"
for r in $(seq 1 "$rounds"); do
  for s in "${setups[@]}"; do echo "$s $(run_setup "$s")" >> "$work/rounds"; done
  printf 'round %d done\n' "$r" >&2
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
col() { grep "^$1 " "$work/rounds" | awk -v c="$2" '{print $c}' | median; }
echo "## medians of $rounds rounds (ns; in brackets: added to none)"
printf '%-8s %16s %16s %18s\n' setup getppid "close()" "open+close pair"
for s in "${setups[@]}"; do
  printf '%-8s' "$s"
  for c in 2 3 4; do
    v=$(col "$s" $c); base=$(col none $c)
    printf ' %8s (%+6.1f)' "$v" "$(echo "$v - $base" | bc -l)"
  done
  echo
done

# The probe's own time per run, with the statistics on for one pass.
attach "$work/kestrel.bpf.o" exit_openat exit_close
ids=$(jq -sc . "$work/ready")
stats() {
  bpftool prog show -j | jq -r --argjson ids "$ids" \
    '.[] | select(.id as $i | $ids | index($i)) | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' | sort
}
old=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
stats > "$work/s0"
workload openclose $N_OPENCLOSE "$target" > /dev/null
workload stormclose $STORM_RATE $STORM_SECS > /dev/null
stats > "$work/s1"
sysctl -qw kernel.bpf_stats_enabled="$old"
detach
echo "## the probe's programs, bpf_stats ns per run (statistics' own time included)"
join "$work/s0" "$work/s1" | awk '{ if ($5 > $3) printf "%-12s %6.1f ns over %d runs\n", $1, ($4 - $2) / ($5 - $3), $5 - $3 }'
