#!/usr/bin/env bash
# Pipe-hop benchmark (issue 2): one writer process sends frames through a
# pipe to one reader process, which decodes each frame in place and touches
# its strings without copying them. Prints a Markdown table of medians over
# RUNS runs (default 5) for each event shape, batching mode and encoding.
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

# One case: NAME FRAMES WRITE-ARGS... -- READ-ARGS...
run_case() {
  local name=$1 frames=$2
  shift 2
  local wargs=() rargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do wargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  rargs=("$@")
  for _ in $(seq "$RUNS"); do
    "$B" write --frames "$frames" "${wargs[@]}" | "$B" read "${rargs[@]}"
  done | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
fps = statistics.median(r["frames_per_s"] for r in rows)
mbs = statistics.median(r["mb_per_s"] for r in rows)
spread = "%.2f–%.2f" % (min(r["frames_per_s"] for r in rows) / 1e6, max(r["frames_per_s"] for r in rows) / 1e6)
print("| %s | %d | %.2f M | %s M | %.0f |" % (sys.argv[1], rows[0]["frame_bytes"], fps / 1e6, spread, mbs))
' "$name"
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | bytes/frame | frames/s (median) | frames/s (min–max) | MB/s (median) |"
echo "|---|---|---|---|---|"
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
