#!/usr/bin/env bash
# Alert latency (issue 6, item 7), one command:
#
#   tests/bench/latency/run.sh [--runs N] [--rate EVENTS_PER_S] [--secs S]
#
# For each of three ways output delivers, and --runs runs each (default 3):
#
#   kestrel-bench-latency send | evaluate --format frames | output SINK
#
# `send` writes enriched events (the shape of tests/src/frames.rs) at --rate
# events/s (default 100,000) for --secs seconds (default 5), in batches of
# 10 flushed together; one in 100 is `cat` reading /etc/shadow in a
# container (the built-in rule "Credential file read by an unexpected
# program"), the rest open a harmless file. Each event carries as its time
# the wall clock at the moment it was built, and evaluate gives its alert
# that time. `kestrel-bench-latency receive`, behind the sink, stamps each
# alert line as it arrives and reports arrival minus alert time: from the
# event entering evaluate to its alert leaving output. Sinks:
#
#   program        --program "receive" (its disk spool on, the default)
#   program-nospool --program "receive" --no-spool
#   stdout-json    --json, piped to receive
#
# Prints a Markdown table: medians over the runs of p50, p99 and max, and
# the alerts received against the events built to match.
#
# Needs no kernel. As root, every process of the chain runs SCHED_FIFO
# (`chrt -f 50`), as in capture's benchmark, so that other work sharing the
# machine does not set the tail; RT=0 (or not being root) runs them at
# normal priority. KESTREL_BIN uses evaluate and output from that directory
# instead of building them; KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$(pwd)

runs=3
rate=100000
secs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift ;;
    --rate) rate=$2; shift ;;
    --secs) secs=$2; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

SINKS="program program-nospool stdout-json"
# Real-time priority of the chain's processes (SCHED_FIFO) when allowed.
RT_PRIORITY=50

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

mkdir -p "$repo/target"
work=$(mktemp -d "$repo/target/kestrel-bench-latency.XXXXXX")
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Copies of the binaries, so that a rebuild during the runs changes nothing.
mkdir -p "$work/bin"
if [ -z "${KESTREL_BIN:-}" ]; then
  log "building evaluate output (release)"
  cargo build --release -q -p evaluate -p output
fi
cargo build --release -q -p kestrel-tests --bin kestrel-bench-latency
for s in evaluate output; do cp "${KESTREL_BIN:-$repo/target/release}/$s" "$work/bin/"; done
cp "$repo/target/release/kestrel-bench-latency" "$work/bin/"
bin=$work/bin
lat=$bin/kestrel-bench-latency

rt=()
if [ "${RT:-1}" != 0 ] && [ "$(id -u)" -eq 0 ]; then
  rt=(chrt -f "$RT_PRIORITY")
else
  log "running at normal priority: the tail will follow the machine's other load"
fi

machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, Linux $(uname -r)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $machine; load average at start: $load_start"

for run in $(seq 1 "$runs"); do
  for sink in $SINKS; do
    d=$work/$sink.$run
    mkdir -p "$d"
    recv="${rt[*]} $lat receive --report $d/received.json"
    case $sink in
      program) sink_args=(--program "$recv" --spool-dir "$d/spool") ;;
      program-nospool) sink_args=(--program "$recv" --no-spool) ;;
      stdout-json) sink_args=(--json) ;;
    esac
    {
      "${rt[@]}" "$lat" send --rate "$rate" --secs "$secs" --report "$d/sent.json" \
        | "${rt[@]}" "$bin/evaluate" --format frames 2> "$d/evaluate.log" \
        | if [ "$sink" = stdout-json ]; then
            "${rt[@]}" "$bin/output" "${sink_args[@]}" 2> "$d/output.log" | $recv
          else
            "${rt[@]}" "$bin/output" "${sink_args[@]}" 2> "$d/output.log"
          fi
    } || die "run $run, $sink: the chain failed (see $d/*.log)"
    [ -s "$d/received.json" ] || die "run $run, $sink: the receiver wrote no report"
    load1=$(cut -d' ' -f1 /proc/loadavg)
    printf '%s\t%s\t%s\t%s\t%s\n' "$sink" "$run" "$(cat "$d/sent.json")" "$(cat "$d/received.json")" "$load1" >> "$work/results.tsv"
    log "run $run $sink: $(cat "$d/received.json") load $load1"
  done
done

echo "machine: $machine"
echo "load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "priority of the chain: ${rt[*]:-normal}"
echo
python3 - "$work/results.tsv" "$runs" <<'EOF'
import json, statistics as st, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
sinks = list(dict.fromkeys(r[0] for r in rows))
print(f"Medians of {sys.argv[2]} runs (µs from the event entering evaluate to its alert leaving output):")
print()
print("| sink | events/s sent (median) | alerts received / expected | p50 µs | p99 µs | max µs | p50 per run | p99 per run | load average (1 min) |")
print("|---|---|---|---|---|---|---|---|---|")
for s in sinks:
    rs = [(json.loads(r[2]), json.loads(r[3]), r[4]) for r in rows if r[0] == s]
    med = lambda k: st.median(x[1][k] for x in rs)
    got = sum(x[1]["alerts"] for x in rs)
    want = sum(x[0]["matching"] for x in rs)
    print(f"| {s} | {st.median(x[0]['rate'] for x in rs):,.0f} | {got}/{want} | "
          f"{med('p50_us'):.0f} | {med('p99_us'):.0f} | {med('max_us'):.0f} | "
          f"{' / '.join('%.0f' % x[1]['p50_us'] for x in rs)} | "
          f"{' / '.join('%.0f' % x[1]['p99_us'] for x in rs)} | "
          f"{' / '.join(x[2] for x in rs)} |")
EOF
echo
echo "per-run logs: $work (set KEEP=1 to keep them)"
