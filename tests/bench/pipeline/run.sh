#!/usr/bin/env bash
# The whole live pipeline's benchmark (issue 7, item 5), one command:
#
#   sudo tests/bench/pipeline/run.sh [--runs N] [--rates "R1 R2 …"] [--secs S]
#
# Builds the four stages in release and runs, for each rate (events/s; 0 is
# unthrottled) and each of --runs runs (default 3):
#
#   capture --syscalls <what the built-in rules need>
#     | enrich --forward <the kinds the rules can match>
#     | evaluate --format frames | tee stream.kst | output > alerts.txt
#
# while loadgen.c (beside this script) does open()+close() of a file
# pinned to CPU 1 at that rate for --secs seconds (default 5). The stages are
# not pinned: they share the two CPUs with the load. `tee` keeps a copy of
# what reaches output (alerts and the in-band stats of every stage, a few
# frames a second) so that capture's last stats frame can be decoded after
# the run with `output --raw`.
#
# Per run it records: the load's achieved rate and its ns per open+close
# pair (wall and CPU, pacing excluded); capture's events and drops from its
# last stats frame (seen at the end of the chain); events evaluate saw; CPU
# of each stage (utime+stime from /proc/PID/stat, from the load's start to
# the moment the stages are idle again, over the load's duration, as % of
# one core); VmHWM of each stage. The same loads also run without the
# pipeline, for the slowdown. Prints Markdown tables of medians.
#
# Every process measured (the load, the stages, tee) runs SCHED_FIFO
# (`chrt -f 50`), as in capture's benchmark: the machine is shared with
# other sessions' builds, whose load at normal priority swamps the figures.
# Among themselves the stages and the load compete as on a quiet machine.
#
# One core cannot offer more than about 500,000 open+close events/s with
# the probe attached; LOAD_CPUS="0 1" runs one generator per listed CPU,
# each at RATE / (number of CPUs), to offer more (the stages then share
# every CPU with the load).
#
# Environment: KESTREL_BIN uses the stages in that directory instead of
# building them; STAGE_CPUS (e.g. "0") pins the stages with taskset; RT=0
# runs everything at normal priority; KEEP=1 keeps the work directory
# (per-run logs, stream copies).
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$(pwd)

runs=3
rates="400000 600000 800000 1000000 0"
secs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --rates) rates=$2; shift ;;
    --secs) secs=$2; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# Seconds to wait for capture's first stats frame at the end of the chain
# (probe attached, /proc snapshot through every stage) before giving up.
READY_TIMEOUT=60
# Settling time after that, so that the snapshot's tail is not measured.
SETTLE_SECS=1
# The stages count as idle again once their CPU time stops growing for this
# long (in 0.1 s steps) after the load ends; at most DRAIN_TIMEOUT seconds.
IDLE_STEPS=3
DRAIN_TIMEOUT=30
# Real-time priority of every measured process (SCHED_FIFO), unless RT=0.
RT_PRIORITY=50
# Seconds the chain may take to end after capture gets SIGTERM.
STOP_TIMEOUT=20
# The CPUs the load runs on, one generator each.
read -r -a load_cpus <<< "${LOAD_CPUS:-1}"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: capture loads the probe"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: the load is pinned to CPU ${load_cpus[*]}"
command -v jq >/dev/null || die "jq is needed to read the stats frames (apt-get install jq)"
[ -e /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing

# Not below /tmp: the built-in rules alert on programs run from there.
mkdir -p "$repo/target"
work=$(mktemp -d "$repo/target/kestrel-bench-pipeline.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Copies of the binaries, so that a rebuild during the runs changes nothing.
mkdir -p "$work/bin"
if [ -z "${KESTREL_BIN:-}" ]; then
  log "building capture enrich evaluate output (release)"
  cargo build --release -q -p capture -p enrich -p evaluate -p output
fi
for s in capture enrich evaluate output; do cp "${KESTREL_BIN:-$repo/target/release}/$s" "$work/bin/"; done
bin=$work/bin
gcc -O2 -Wall -Wextra -o "$bin/loadgen" tests/bench/pipeline/loadgen.c
target=$work/oc-target

# What the built-in rules need, as pipelines/live.sh asks for it, minus the
# syscalls this kernel has no tracepoint for (capture refuses those).
syscalls=$("$bin/evaluate" syscalls | tr , '\n' | while read -r n; do
  if [ "$n" = procexit ] || [ -e "/sys/kernel/tracing/events/syscalls/sys_exit_$n" ]; then echo "$n"; fi
done | paste -sd,)
# What evaluate looks at: enrich writes only these (pipelines/live.sh too).
forward=$("$bin/evaluate" syscalls --matched)

# A prefix, not a function: a function in the background would be a subshell
# whose pid is not the stage's. taskset execs the stage, keeping the pid.
rt=()
[ "${RT:-1}" = 0 ] || rt=(chrt -f "$RT_PRIORITY")
pin=("${rt[@]}")
[ -z "${STAGE_CPUS:-}" ] || pin+=(taskset -c "$STAGE_CPUS")

# utime+stime of PID, in clock ticks.
# (The fields after the command name, which may hold spaces, start at 3.)
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
all_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }

# Starts the chain in $run_dir; sets cap_pid enr_pid ev_pid out_pid tee_pid.
start_chain() {
  local d=$1
  mkfifo "$d/c2e" "$d/e2v" "$d/v2t" "$d/t2o"
  # shellcheck disable=SC2086
  "${pin[@]}" "$bin/capture" --syscalls "$syscalls" > "$d/c2e" 2> "$d/capture.log" &
  cap_pid=$!
  "${pin[@]}" "$bin/enrich" --forward "$forward" < "$d/c2e" > "$d/e2v" 2> "$d/enrich.log" &
  enr_pid=$!
  "${pin[@]}" "$bin/evaluate" --format frames < "$d/e2v" > "$d/v2t" 2> "$d/evaluate.log" &
  ev_pid=$!
  "${rt[@]}" tee "$d/stream.kst" < "$d/v2t" > "$d/t2o" &
  tee_pid=$!
  "${pin[@]}" "$bin/output" < "$d/t2o" > "$d/alerts.txt" 2> "$d/output.log" &
  out_pid=$!
  pids=("$cap_pid" "$enr_pid" "$ev_pid" "$tee_pid" "$out_pid")
  local waited=0
  until { "$bin/output" --raw < "$d/stream.kst"; } 2>/dev/null | grep -q '"stage":"capture"'; do
    for p in "${pids[@]}"; do
      kill -0 "$p" 2>/dev/null || { tail -n 3 "$d"/*.log >&2; die "a stage exited before the first stats frame"; }
    done
    sleep 0.2
    waited=$((waited + 1))
    [ "$waited" -lt $((READY_TIMEOUT * 5)) ] || die "no capture stats at the end of the chain after ${READY_TIMEOUT}s"
  done
  sleep "$SETTLE_SECS"
}

stop_chain() {
  kill -TERM "$cap_pid"
  local waited=0 p
  while kill -0 "$out_pid" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
      die "the chain did not end within ${STOP_TIMEOUT}s of SIGTERM to capture"
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || die "pid $p exited with $? (see $1/*.log)"; done
  pids=()
}

# Waits until the stages' CPU time stops growing: the backlog is processed.
wait_idle() {
  local last now still=0 waited=0
  last=$(all_ticks "$@")
  while [ "$still" -lt "$IDLE_STEPS" ] && [ "$waited" -lt $((DRAIN_TIMEOUT * 10)) ]; do
    sleep 0.1
    waited=$((waited + 1))
    now=$(all_ticks "$@")
    if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
    last=$now
  done
}

# A counter of the last stats frame of STAGE in the kept stream, or 0.
last_counter() {
  "$bin/output" --raw < "$1/stream.kst" | jq -rs --arg stage "$2" --arg name "$3" \
    '[.[] | select(.stats.stage == $stage)] | last | .stats.counters // []
     | map(select(.name == $name)) | first | .value // 0'
}
# Capture's drops: its `drops` total, else the sum of `drops.REASON`.
capture_drops() {
  "$bin/output" --raw < "$1/stream.kst" | jq -rs \
    '[.[] | select(.stats.stage == "capture")] | last | .stats.counters // []
     | (map(select(.name == "drops")) | first | .value)
       // ([.[] | select(.name | startswith("drops.")) | .value] | add // 0)'
}

# Runs the load at RATE events/s in total, one generator per CPU of
# load_cpus; prints the achieved rate (sum) and the mean ns/pair, wall and
# CPU, over the generators.
run_load() {
  local rate=$1 n=${#load_cpus[@]} cpu i=0
  local each=$((rate / n))
  for cpu in "${load_cpus[@]}"; do
    KESTREL_BENCH_CPU=$cpu "${rt[@]}" "$bin/loadgen" "$each" "$secs" "$target.$cpu" > "$work/load.$i" &
    i=$((i + 1))
  done
  wait
  cat "$work"/load.[0-9]* | awk '{a += $4; w += $6; c += $8; n++} END {printf "%.0f %.1f %.1f\n", a, w / n, c / n}'
  rm -f "$work"/load.[0-9]*
}

results=$work/results.tsv
hz=$(getconf CLK_TCK)
machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, Linux $(uname -r)"
log "machine: $machine; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
log "capture selects: $syscalls; priority: ${rt[*]:-normal}"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Another tracer's programs on the syscall tracepoints tax every call of the
# load, with and without kestrel: say so, since the baseline then is not
# the bare machine.
foreign_probes=$( (bpftool prog list 2>/dev/null || true) | grep -c ' tracepoint ' || true)
[ "$foreign_probes" = 0 ] || log "warning: $foreign_probes tracepoint programs already attached by others; the load's baseline includes them"

for rate in $rates; do
  for run in $(seq 1 "$runs"); do
    # Without the pipeline: the load alone, for the slowdown.
    read -r a w c < <(run_load "$rate")
    printf 'base\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$run" "$a" "$w" "$c" >> "$work/base.tsv"

    d=$work/r$rate.$run
    mkdir -p "$d"
    start_chain "$d"
    stage_pids=("$cap_pid" "$enr_pid" "$ev_pid" "$out_pid")
    t0=()
    for p in "${stage_pids[@]}"; do t0+=("$(ticks "$p")"); done
    read -r a w c < <(run_load "$rate")
    wait_idle "${stage_pids[@]}"
    cpu=()
    hwm=()
    for i in 0 1 2 3; do
      cpu+=("$(echo "scale=1; 100 * ($(ticks "${stage_pids[$i]}") - ${t0[$i]}) / $hz / $secs" | bc)")
      hwm+=("$(hwm_kib "${stage_pids[$i]}")")
    done
    load1=$(cut -d' ' -f1 /proc/loadavg)
    stop_chain "$d"
    events=$(last_counter "$d" capture events)
    drops=$(capture_drops "$d")
    # Every captured event is either evaluated or kept back by enrich
    # (`--forward`: no rule can match its kind).
    evaluated=$(( $(last_counter "$d" evaluate events_evaluated) + $(last_counter "$d" enrich events_not_forwarded) ))
    printf 'run\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
      "$rate" "$run" "$a" "$w" "$c" "$events" "$drops" "$evaluated" \
      "${cpu[@]}" "${hwm[@]}" "$load1" >> "$results"
    log "rate $rate run $run: achieved $a/s, ${w} ns/pair (cpu $c), capture events $events drops $drops, evaluated or kept back $evaluated, cpu% ${cpu[*]}, VmHWM KiB ${hwm[*]}, load $load1"
  done
done

echo "machine: $machine"
echo "load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "capture selects: $syscalls"
echo "priority of the load and the stages: ${rt[*]:-normal}"
echo "tracepoint programs attached by others before the runs: $foreign_probes"
echo "load: open()+close() pinned to CPU ${load_cpus[*]}"
echo
python3 - "$results" "$work/base.tsv" "$secs" <<'EOF'
import statistics as st, sys
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
base = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
secs = int(sys.argv[3])
rates = list(dict.fromkeys(r[1] for r in runs))
med = st.median
def label(rate): return "unthrottled" if rate == "0" else f"{int(rate):,}"
def rows(rate): return [r for r in runs if r[1] == rate]

print(f"Throughput and drops ({secs} s per run; drops per run from capture's last stats frame):")
print()
print("| offered events/s | achieved events/s (median) | drops per run | drop % (median) | drop-free runs | events evaluated or kept back by enrich / captured |")
print("|---|---|---|---|---|---|")
for rate in rates:
    rs = rows(rate)
    ach = med(float(r[3]) for r in rs)
    drops = [int(r[7]) for r in rs]
    pct = med(100 * int(r[7]) / max(1, int(r[6]) + int(r[7])) for r in rs)
    ratio = med(int(r[8]) / max(1, int(r[6])) for r in rs)
    clean = sum(d == 0 for d in drops)
    print(f"| {label(rate)} | {ach:,.0f} | {' / '.join(map(str, drops))} | {pct:.2f} | {clean}/{len(rs)} | {ratio:.4f} |")
print()
print("CPU per stage (% of one core over the load's duration, median) and peak resident memory (VmHWM, MB, median):")
print()
print("| offered events/s | capture | enrich | evaluate | output | all four | RSS capture | RSS enrich | RSS evaluate | RSS output | RSS all four |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for rate in rates:
    rs = rows(rate)
    cpu = [med(float(r[9 + i]) for r in rs) for i in range(4)]
    tot = med(sum(float(r[9 + i]) for i in range(4)) for r in rs)
    rss = [med(int(r[13 + i]) / 1024 for r in rs) for i in range(4)]
    rtot = med(sum(int(r[13 + i]) for i in range(4)) / 1024 for r in rs)
    print(f"| {label(rate)} | " + " | ".join(f"{c:.1f}" for c in cpu) + f" | {tot:.1f} | " +
          " | ".join(f"{m:.1f}" for m in rss) + f" | {rtot:.1f} |")
print()
print("The load's slowdown (ns per open()+close() pair around the calls, median; wall and the thread's own CPU):")
print()
print("| offered events/s | achieved alone | achieved with pipeline | wall ns/pair alone | with | CPU ns/pair alone | with | load average (1 min) during runs |")
print("|---|---|---|---|---|---|---|---|")
for rate in rates:
    rs = rows(rate)
    bs = [b for b in base if b[1] == rate]
    print(f"| {label(rate)} | {med(float(b[3]) for b in bs):,.0f} | {med(float(r[3]) for r in rs):,.0f} | "
          f"{med(float(b[4]) for b in bs):.0f} | {med(float(r[4]) for r in rs):.0f} | "
          f"{med(float(b[5]) for b in bs):.0f} | {med(float(r[5]) for r in rs):.0f} | "
          f"{' / '.join(r[17] for r in rs)} |")
EOF
echo
echo "per-run log: $work (set KEEP=1 to keep it)"
