#!/usr/bin/env bash
# The CRI churn benchmark, one command:
#
#   sudo tests/bench/cri-churn/run.sh [--rate 20] [--seconds 60] [--runs 3]
#
# With the real containerd of tests/ctr-test-env.sh (brought up if it is
# not running), runs `capture | enrich --cri-socket` while
# kestrel-cri-churn starts containers that exit at once (`true`) in one pod
# sandbox through CRI, at --rate per second for --seconds, and removes each
# after it exits. containerd 1.6 has no container event stream, so every
# container's metadata comes from enrich's lookup on first sight, with its
# first events held back meanwhile.
#
# Per run it reports: containers started (and the rate achieved); how many
# of them enrich saw start, and how many of those carried complete
# metadata and their pod's name on their first event; enrich's
# `meta_timeouts` (events released without metadata because the hold-back
# limit ran out), `meta_misses`, `held_events` and its drops; capture's
# kernel drops; enrich's CPU time. Then the medians over the runs.
#
# Environment: KESTREL_BIN uses the binaries (capture, enrich, output,
# kestrel-cri-churn) in that directory instead of building them in
# release; CTR_BASE as for ctr-test-env.sh; KEEP=1 keeps the work directory.
#
# enrich runs with --inline-state so that each event carries its container
# and pod for the count (a little more output than by reference).
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$(pwd)

rate=20
seconds=60
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --runs) runs=$2; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (capture loads the probe)" >&2; exit 1; }
command -v jq > /dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -qq jq > /dev/null
export CTR_BASE=${CTR_BASE:-/tmp/ctr-test}
if ! grep -qs '^CONTAINERD_SOCK=' "$CTR_BASE/env" \
   || [ ! -S "$(sed -n 's/^CONTAINERD_SOCK=//p' "$CTR_BASE/env")" ]; then
  bash tests/ctr-test-env.sh up > /dev/null
fi
sock=$(sed -n 's/^CONTAINERD_SOCK=//p' "$CTR_BASE/env")

if [ -n "${KESTREL_BIN:-}" ]; then
  bin=$KESTREL_BIN
else
  cargo build --release -q -p capture -p enrich -p output -p kestrel-tests \
    --bin capture --bin enrich --bin output --bin kestrel-cri-churn
  bin=$repo/target/release
fi

work=$(mktemp -d /tmp/kestrel-cri-churn.XXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# Fields of enrich's and capture's last stats frames in a stream.
last_stats() { # FILE STAGE
  "$bin/output" --raw < "$1" 2>/dev/null \
    | jq -c --arg s "$2" 'select(.stats? and .stats.stage == $s) | .stats' | tail -n 1
}
counter() { # STATS-JSON NAME
  jq -r --arg n "$2" '[.counters[]? | select(.name == $n) | .value] | first // 0' <<< "$1"
}

printf '| run | started | achieved/s | seen by enrich | complete on first event | meta_timeouts | meta_misses | held_events | enrich drops | capture drops | enrich CPU s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for r in $(seq "$runs"); do
  d=$work/run$r; mkdir -p "$d"
  ( "$bin/capture" --syscalls execve,clone,clone3,procexit 2> "$d/capture.log" \
      | "$bin/enrich" --cri-socket "$sock" --inline-state > "$d/enriched.kst" 2> "$d/enrich.log" ) &
  chain=$!
  sleep 4
  enrich_pid=$(pgrep -n -x enrich)
  "$bin/kestrel-cri-churn" --socket "$sock" --rate "$rate" --seconds "$seconds" \
    > "$d/ids.txt" 2> "$d/churn.log"
  sleep 3
  cpu=$(awk '{print ($14+$15)/100}' "/proc/$enrich_pid/stat")
  pkill -INT -x capture || true
  wait $chain || true
  started=$(wc -l < "$d/ids.txt")
  achieved=$(grep -o '[0-9.]*/s achieved' "$d/churn.log" | grep -o '^[0-9.]*' || echo "?")
  # The first event of each churned container, as enrich wrote it.
  "$bin/output" --raw < "$d/enriched.kst" 2>/dev/null \
    | jq -c 'select(.event? and .event.container?.fullId? != null and .event.container.fullId != "")
             | {id: .event.container.fullId, kind: .event.kind, meta: .event.container.metadata,
                pod: (.event.k8s.podName // "")}' > "$d/events.jsonl"
  jq -s --rawfile ids "$d/ids.txt" '
      ($ids | split("\n") | map(select(. != ""))) as $want
      | group_by(.id) | map(first) | map(select(.id as $i | $want | index($i)))
      | {seen: length, complete: map(select(.meta == "complete" and .pod != "")) | length}' \
      "$d/events.jsonl" > "$d/first.json"
  es=$(last_stats "$d/enriched.kst" enrich)
  cs=$(last_stats "$d/enriched.kst" capture)
  drops() { jq -r '[.counters[]? | select(.kind == "drops") | .value] | add // 0' <<< "$1"; }
  edrops=$(drops "$es")
  kdrops=$(drops "$cs")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$r" "$started" "$achieved" \
    "$(jq .seen "$d/first.json")" "$(jq .complete "$d/first.json")" \
    "$(counter "$es" meta_timeouts)" "$(counter "$es" meta_misses)" "$(counter "$es" held_events)" \
    "$edrops" "$kdrops" "$cpu"
done
