#!/usr/bin/env bash
# Pipe-hop benchmark (issue 2): one writer process sends frames through a
# pipe to one reader process, which decodes each frame in place and touches
# its strings without copying them. Prints a Markdown table of medians over
# RUNS runs (default 5) for each event shape, batching mode and encoding:
# wall-clock frames/s and MB/s, and each end's CPU time per frame (which
# other work on the machine disturbs far less than wall-clock rates).
#
#   tests/bench/pipe.sh            # all cases
#   RUNS=3 tests/bench/pipe.sh     # quicker
#
# Method and results: BENCHMARKS.md, "Pipe hop".
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-5}
cargo build --release -q -p kestrel-tests --bin kestrel-pipe-bench
B=target/release/kestrel-pipe-bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One case: NAME FRAMES WRITE-ARGS... [-- READ-ARGS...]
run_case() {
  local name=$1 frames=$2
  shift 2
  local wargs=() rargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do wargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  rargs=("$@")
  : > "$tmp/runs"
  for i in $(seq "$RUNS"); do
    "$B" write --frames "$frames" "${wargs[@]}" 2> "$tmp/w$i" | "$B" read "${rargs[@]}" > "$tmp/r$i"
    # One line per run: the reader's results merged with the writer's.
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.update(json.load(open(sys.argv[2]))); print(json.dumps(r))' \
      "$tmp/r$i" "$tmp/w$i" >> "$tmp/runs"
  done
  python3 - "$name" "$tmp/runs" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
med = lambda k: statistics.median(r[k] for r in rows)
fps = [r["frames_per_s"] / 1e6 for r in rows]
print("| %s | %d | %.2f M | %.2f–%.2f M | %.0f | %.0f | %.0f |" % (
    sys.argv[1], rows[0]["frame_bytes"], med("frames_per_s") / 1e6, min(fps), max(fps),
    med("mb_per_s"), med("writer_cpu_ns_per_frame"), med("reader_cpu_ns_per_frame")))
PY
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | bytes/frame | frames/s (median) | frames/s (min–max) | MB/s (median) | writer CPU ns/frame | reader CPU ns/frame |"
echo "|---|---|---|---|---|---|---|"
run_case "enriched by reference, batched, unpacked" 5000000 --event referenced
run_case "enriched by reference, unbatched, unpacked" 1000000 --event referenced --unbatched
run_case "enriched by reference, batched, packed" 2000000 --event referenced --packed -- --packed
run_case "enriched by reference, unbatched, packed" 1000000 --event referenced --packed --unbatched -- --packed
run_case "enriched, batched, unpacked" 3000000 --event enriched
run_case "enriched, unbatched, unpacked" 500000 --event enriched --unbatched
run_case "enriched, batched, packed" 1000000 --event enriched --packed -- --packed
run_case "enriched, unbatched, packed" 500000 --event enriched --packed --unbatched -- --packed
run_case "capture, batched, unpacked" 5000000 --event capture
run_case "capture, unbatched, unpacked" 1000000 --event capture --unbatched
run_case "capture, batched, packed" 2000000 --event capture --packed -- --packed
run_case "capture, unbatched, packed" 1000000 --event capture --packed --unbatched -- --packed
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
