#!/usr/bin/env bash
# capture's benchmark (issue 3, item 9), one command:
#
#   sudo tests/bench/capture/run.sh [--dry-run] [--no-rt] [--overhead-only] [--runs N] [--rates "R1 R2 …"]
#
# It builds capture and output (release) and the C programs beside this
# script, then, with capture pinned to CPU 0 and the workloads to CPU 1:
#
# 1. overhead: for each of --runs runs (default 5), times 5,000,000
#    getppid(), 5,000,000 1-byte read()s of /dev/zero and 500,000
#    open()+close() pairs of a /tmp file, first without capture, then with
#    capture selecting only openat and close. Prints the medians and
#      - ns added to an unselected syscall (getppid, read),
#      - ns added per captured event (open+close delta / 2 events);
#    and, with bpftool, how much of that the probe's own programs take: one
#    more open+close pass per run with kernel.bpf_stats_enabled=1, reading
#    run_time_ns / run_cnt of capture's exit_openat and exit_close (the
#    rest is the kernel's syscall-tracepoint machinery around them);
# 2. throughput: for each rate of --rates (events/s), three times: capture
#    (openat,close) runs while a paced storm runs on CPU 1 for STORM_SECS
#    seconds; counts the event frames reaching capture's output and reads
#    capture's drop counters from its last stats frame. A rate passes when
#    all three runs drop nothing. Two storms: open+close pairs (as measured
#    for Falco), then close() of a descriptor that is not open (the cheapest
#    recorded call, since one core cannot offer 1.5M open+close events/s).
#
# capture, framecount and the workloads run SCHED_FIFO (`chrt -f`), so that
# other work on the machine (builds, tests) cannot preempt them and skew the
# figures; --no-rt runs them at normal priority.
#
# --overhead-only skips the throughput part (as STORMS= does).
#
# --dry-run builds everything and runs each piece briefly without the probe
# (for use before capture works end to end); it needs no root.
#
# Environment: CAPTURE_ARGS adds flags to capture (e.g. "--buffer-size 64");
# STORM_SECS (default 5); STORMS (default "storm stormclose"); KEEP=1 keeps the work directory; CAPTURE_BIN and
# OUTPUT_BIN use given binaries instead of building them.
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$(pwd)

runs=5
rates="250000 500000 1000000 1500000 2000000"
dry=0
# Real-time priority for everything measured (see above).
rt=(chrt -f 50)
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --no-rt) rt=() ;;
    --overhead-only) STORMS= ;;
    --runs) runs=$2; shift ;;
    --rates) rates=$2; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# Workload sizes: the same as the Falco 0.40 measurement they compare with.
N_GETPPID=5000000
N_READ=5000000
N_OPENCLOSE=500000
STORM_SECS=${STORM_SECS:-5}
# Empty STORMS (or --overhead-only) skips the throughput sweeps.
STORMS=${STORMS-storm stormclose}
# What capture selects: open()+close() are captured, getppid/read are not.
SELECTION=openat,close
# READY_TIMEOUT: seconds to wait for capture's header (probe attached).
# shellcheck source=tests/bench/capture/lib.sh
. tests/bench/capture/lib.sh
# Seconds capture may take to flush and exit after SIGTERM.
STOP_TIMEOUT=10
# Settling time after the header, for the /proc snapshot to pass.
SETTLE_SECS=1

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

if [ "$dry" = 1 ]; then
  N_GETPPID=100000; N_READ=100000; N_OPENCLOSE=10000; STORM_SECS=1; runs=1
  [ "$(id -u)" -eq 0 ] || rt=()
fi

work=$(mktemp -d /tmp/kestrel-bench-capture.XXXXXX)
cleanup() {
  [ -n "${cap_pid:-}" ] && kill -TERM "$cap_pid" 2>/dev/null || true
  [ -n "${fc_pid:-}" ] && kill -TERM "$fc_pid" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
target="$work/oc-target"

capture=${CAPTURE_BIN:-$repo/target/release/capture}
output=${OUTPUT_BIN:-$repo/target/release/output}
pkgs=()
[ -n "${CAPTURE_BIN:-}" ] || pkgs+=(-p capture)
[ -n "${OUTPUT_BIN:-}" ] || pkgs+=(-p output)
if [ ${#pkgs[@]} -gt 0 ]; then
  log "building ${pkgs[*]} (release)"
  cargo build --release -q "${pkgs[@]}"
fi
gcc -O2 -Wall -Wextra -o "$work/workload" tests/bench/capture/workload.c
gcc -O2 -Wall -Wextra -o "$work/framecount" tests/bench/capture/framecount.c
command -v jq >/dev/null || die "jq is needed to read capture's stats (apt-get install jq)"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: capture on CPU 0, the workload on CPU 1"

workload() { "${rt[@]}" "$work/workload" "$@" | awk '{print $2}'; }

# Starts capture → framecount in the background, returns once the header
# arrived. Sets cap_pid and fc_pid; framecount's non-event frames go to
# $work/frames.kst, its reports to $work/fc.log.
start_capture() {
  rm -f "$work/ready" "$work/fifo"
  mkfifo "$work/fifo"
  "${rt[@]}" taskset -c 0 "$work/framecount" "$work/ready" < "$work/fifo" > "$work/frames.kst" 2> "$work/fc.log" &
  fc_pid=$!
  # shellcheck disable=SC2086
  "${rt[@]}" taskset -c 0 "$capture" --syscalls "$SELECTION" ${CAPTURE_ARGS:-} > "$work/fifo" 2> "$work/capture.log" &
  cap_pid=$!
  wait_ready "$work/ready" "$cap_pid" "$work/capture.log" "capture exited before its header" \
    "no header from capture after ${READY_TIMEOUT}s"
  sleep "$SETTLE_SECS"
}

# SIGTERM, not SIGINT: a script's background jobs start with SIGINT ignored.
stop_capture() {
  kill -TERM "$cap_pid"
  local waited=0
  while kill -0 "$cap_pid" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      kill -KILL "$cap_pid"
      die "capture did not stop within ${STOP_TIMEOUT}s of SIGTERM"
    fi
  done
  wait "$cap_pid" || die "capture exited with $? (see $work/capture.log)"
  wait "$fc_pid" || die "framecount failed: $(cat "$work/fc.log")"
  cap_pid=
}

# framecount's event count so far.
events_seen() {
  local before
  before=$(grep -c '^events' "$work/fc.log" || true)
  kill -USR1 "$fc_pid"
  while [ "$(grep -c '^events' "$work/fc.log" || true)" -le "$before" ]; do sleep 0.01; done
  grep '^events' "$work/fc.log" | tail -1 | awk '{print $2}'
}

# Events lost, from capture's last stats frame: its `drops` total, or the sum
# of the `drops.REASON` counters if it has no total. Then, for the log, all of
# that frame's counters on one line.
drops() {
  "$output" --raw < "$work/frames.kst" \
    | jq -rs '[.[] | select(.stats.stage == "capture")] | last | .stats.counters // []
              | (map(select(.name == "drops")) | first | .value)
                // ([.[] | select(.name | startswith("drops.")) | .value] | add // 0)'
}
counters() {
  "$output" --raw < "$work/frames.kst" \
    | jq -rsc '[.[] | select(.stats.stage == "capture")] | last | .stats.counters // [] | map("\(.name)=\(.value)") | join(" ")'
}

# The split of the cost per event: each of capture's two programs' own run
# time per run, as the kernel's BPF statistics count it. Programs loaded
# after id $1 are the ones of the capture started after it.
max_prog_id() { bpftool prog show -j 2>/dev/null | jq '[.[].id] | max // 0'; }
prog_stats() {
  bpftool prog show -j 2>/dev/null | jq -r --argjson min "$1" \
    '.[] | select(.id > $min and (.name == "exit_openat" or .name == "exit_close"))
         | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' | sort
}
# Runs open+close once more with the statistics on (they add their own
# clock reads, so never during the timed runs) and appends each program's
# ns per run to $results/prog.NAME.
program_split() {
  local old
  old=$(sysctl -n kernel.bpf_stats_enabled)
  sysctl -qw kernel.bpf_stats_enabled=1
  prog_stats "$1" > "$work/prog0"
  workload openclose $N_OPENCLOSE "$target" > /dev/null
  prog_stats "$1" > "$work/prog1"
  sysctl -qw kernel.bpf_stats_enabled="$old"
  join "$work/prog0" "$work/prog1" | while read -r name t0 c0 t1 c1; do
    [ "$c1" -gt "$c0" ] && echo "$name $(( (t1 - t0) / (c1 - c0) ))"
  done | while read -r name ns; do echo "$ns" >> "$results/prog.$name"; done
}
split=0
command -v bpftool >/dev/null && split=1

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

results="$work/results"
mkdir -p "$results"

if [ "$dry" = 1 ]; then
  log "dry run: workloads without capture"
  echo "getppid $(workload getppid $N_GETPPID) ns/call"
  echo "read $(workload read $N_READ) ns/call"
  echo "openclose $(workload openclose $N_OPENCLOSE "$target") ns/pair"
  echo "storm offered 100000/s, achieved $(workload storm 100000 "$STORM_SECS" "$target")/s"
  echo "stormclose offered 100000/s, achieved $(workload stormclose 100000 "$STORM_SECS")/s"
  "$capture" --help 2>&1 | grep -q -- --syscalls || log "capture has no --syscalls flag yet"
  log "dry run: capture would run as: ${rt[*]} taskset -c 0 $capture --syscalls $SELECTION ${CAPTURE_ARGS:-} | framecount"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root: capture loads the probe"
[ -e /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing

# The figures only mean something on a quiet machine: say what it was.
echo "## priority: ${rt[*]:-normal (--no-rt)}"
echo "## machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Another probe on the syscall tracepoints (another session's capture or
# Falco) adds its own cost to every workload: say so.
if command -v bpftool >/dev/null; then
  others=$(bpftool prog list 2>/dev/null | grep -c ' tracepoint ' || true)
  echo "## tracepoint programs already loaded: $others"
  [ "$others" = 0 ] || log "warning: $others tracepoint programs are loaded by something else; they add to the figures"
fi
if awk '{exit !($1 > 0.5)}' /proc/loadavg; then
  log "warning: load average $(cut -d' ' -f1 /proc/loadavg) > 0.5; other work will skew the figures"
fi

log "overhead: $runs runs, each without and with capture ($SELECTION)"
for run in $(seq 1 "$runs"); do
  for w in getppid read openclose; do
    case $w in
      getppid) workload getppid $N_GETPPID ;;
      read) workload read $N_READ ;;
      openclose) workload openclose $N_OPENCLOSE "$target" ;;
    esac >> "$results/$w.without"
  done
  [ "$split" = 1 ] && base_id=$(max_prog_id)
  start_capture
  for w in getppid read openclose; do
    case $w in
      getppid) workload getppid $N_GETPPID ;;
      read) workload read $N_READ ;;
      openclose) workload openclose $N_OPENCLOSE "$target" ;;
    esac >> "$results/$w.with"
  done
  [ "$split" = 1 ] && program_split "$base_id"
  stop_capture
  log "run $run: without $(paste -sd' ' <(tail -qn1 "$results"/{getppid,read,openclose}.without)), with $(paste -sd' ' <(tail -qn1 "$results"/{getppid,read,openclose}.with)) (getppid read openclose, ns); drops $(drops)"
done

echo "## capture overhead (medians of $runs runs, ns)"
printf '%-10s %10s %10s %10s\n' workload without with added
for w in getppid read openclose; do
  a=$(median < "$results/$w.without"); b=$(median < "$results/$w.with")
  printf '%-10s %10s %10s %10.1f\n' "$w" "$a" "$b" "$(echo "$b - $a" | bc -l)"
  eval "add_$w=$(echo "$b - $a" | bc -l)"
done
# shellcheck disable=SC2154
printf 'ns added to an unselected syscall: getppid %.1f, read %.1f (target <= 75)\n' "$add_getppid" "$add_read"
# shellcheck disable=SC2154
printf 'ns added per captured event (open+close, 2 events): %.1f (target <= 300)\n' "$(echo "$add_openclose / 2" | bc -l)"
if [ "$split" = 1 ] && [ -s "$results/prog.exit_openat" ] && [ -s "$results/prog.exit_close" ]; then
  p_open=$(median < "$results/prog.exit_openat"); p_close=$(median < "$results/prog.exit_close")
  printf 'of which the programs (bpf_stats run_time_ns/run_cnt, medians): exit_openat %s, exit_close %s ns per run;\n' "$p_open" "$p_close"
  printf 'the syscall-tracepoint machinery around them: %.1f ns per event\n' "$(echo "($add_openclose - $p_open - $p_close) / 2" | bc -l)"
else
  log "no program split (needs bpftool)"
fi

# One sweep over the rates with one storm kind: `storm` (open+close of a
# /tmp file, two events per pair, as in the Falco measurement) or
# `stormclose` (close() of a descriptor that is not open: the cheapest
# recorded call, to offer rates that open+close cannot reach on one core).
storm_sweep() {
  local kind=$1 best=0
  echo "## capture throughput: $kind on CPU 1 for ${STORM_SECS}s, 3 runs per rate (events/s)"
  printf '%-10s %-24s %-24s %-16s %s\n' offered achieved reached drops verdict
  for rate in $rates; do
    local ach=() got=() drp=() clean=0
    for i in 1 2 3; do
      start_capture
      local e0 e1 a d
      e0=$(events_seen)
      if [ "$kind" = storm ]; then
        a=$(workload storm "$rate" "$STORM_SECS" "$target")
      else
        a=$(workload stormclose "$rate" "$STORM_SECS")
      fi
      sleep 0.5
      e1=$(events_seen)
      stop_capture
      d=$(drops)
      ach+=("$a"); got+=("$(( (e1 - e0) / STORM_SECS ))"); drp+=("$d")
      [ "$d" = 0 ] && clean=$((clean + 1))
      echo "$kind rate $rate run $i: achieved $a/s, reached $(( (e1 - e0) / STORM_SECS ))/s, counters: $(counters)" >> "$results/storm.log"
    done
    local verdict
    verdict=$([ "$clean" = 3 ] && echo "drop-free 3/3" || echo "drops in $((3 - clean))/3")
    printf '%-10s %-24s %-24s %-16s %s\n' "$rate" "${ach[*]}" "${got[*]}" "${drp[*]}" "$verdict"
    if [ "$clean" = 3 ]; then
      local m
      m=$(printf '%s\n' "${got[@]}" | median)
      best=$(echo "if ($m > $best) $m else $best" | bc)
    fi
  done
  echo "$kind: highest drop-free rate reaching capture's output (median of 3): $best events/s (target >= 1500000)"
}

for kind in $STORMS; do storm_sweep "$kind"; done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "per-run details: $results/storm.log (set KEEP=1 to keep)"
