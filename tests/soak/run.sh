#!/usr/bin/env bash
# Endurance run of the live pipeline, one command (as root):
#
#   sudo tests/soak/run.sh [--secs S] [--every S] [--out DIR]
#
# Runs capture | enrich | evaluate | output with the built-in rules, as
# pipelines/live.sh does but joined by Unix sockets so that each stage's pid
# is known, under a steady mix of work for --secs seconds (default 3600):
#   - process churn: a loop forking and exec'ing short programs, at least
#     100 a second (FORKS_PER_SEC, default 150);
#   - file activity: files written, read, renamed and removed in a scratch
#     directory; reads under /etc (which the rules watch);
#   - network activity: TCP connections to a local listener;
#   - container starts: `podman run --rm` of the test image every
#     CONTAINER_EVERY seconds (default 20) when podman and the image of
#     tests/ctr-test-env.sh are there.
# Every --every seconds (default 60) it records, per stage, resident memory
# (VmRSS), peak (VmHWM) and open descriptors, and each stage's key counters
# from its control socket, to DIR/samples.csv; at the end it prints a
# Markdown table of the curves after warm-up (the first WARMUP seconds,
# default 300) and, when gnuplot is installed, plots DIR/soak.png.
#
# It is a script, not a CI test: an hour is the point. KESTREL_BIN uses
# prebuilt stages (else it builds them in release).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

secs=3600
every=60
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --secs) secs=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
forks_per_sec=${FORKS_PER_SEC:-150}
container_every=${CONTAINER_EVERY:-20}
warmup=${WARMUP:-300}

if [ "$(id -u)" -ne 0 ]; then
  echo "soak: run as root (capture loads the eBPF probe)" >&2
  exit 1
fi
./pipelines/deps.sh
bin=${KESTREL_BIN:-$repo/target/release}
if [ -z "${KESTREL_BIN:-}" ]; then
  cargo build --release -q -p capture -p enrich -p evaluate -p output
fi
out=${out:-$(mktemp -d /tmp/kestrel-soak.XXXXXX)}
mkdir -p "$out"
work=$out/run
mkdir -p "$work/scratch"
echo "soak: ${secs}s, samples every ${every}s, in $out" >&2

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

syscalls=$(./pipelines/filter-syscalls.sh "$("$bin/evaluate" syscalls)")
forward=$("$bin/evaluate" syscalls --matched)
"$bin/capture" --syscalls "$syscalls" --output "listen:$work/capture.sock" \
  --control "$work/capture.ctl" 2> "$work/capture.err" &
cap=$!; pids+=("$cap")
"$bin/enrich" --forward "$forward" --input "unix:$work/capture.sock" \
  --output "listen:$work/enrich.sock" --control "$work/enrich.ctl" 2> "$work/enrich.err" &
enr=$!; pids+=("$enr")
"$bin/evaluate" --format frames --input "unix:$work/enrich.sock" \
  --output "listen:$work/evaluate.sock" --control "$work/evaluate.ctl" 2> "$work/evaluate.err" &
eva=$!; pids+=("$eva")
"$bin/output" --input "unix:$work/evaluate.sock" --file "$work/alerts.json" \
  --control "$work/output.ctl" 2> "$work/output.err" &
outp=$!; pids+=("$outp")
for s in capture enrich evaluate output; do
  for _ in $(seq 100); do [ -S "$work/$s.ctl" ] && break; sleep 0.1; done
  [ -S "$work/$s.ctl" ] || { echo "soak: $s did not start: $(tail -1 "$work/$s.err")" >&2; exit 1; }
done

# The workload, each part a background loop until the end.
end=$(( $(date +%s) + secs ))
churn() {
  local batch=$(( forks_per_sec / 10 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    for _ in $(seq "$batch"); do /bin/true; done
    sleep 0.1
  done
}
files() {
  local i=0
  while [ "$(date +%s)" -lt "$end" ]; do
    i=$(( (i + 1) % 100 ))
    echo "soak $i" > "$work/scratch/f$i"
    cat "$work/scratch/f$i" > /dev/null
    mv "$work/scratch/f$i" "$work/scratch/g$i"
    rm -f "$work/scratch/g$i"
    head -c 64 /etc/hostname > /dev/null
    sleep 0.01
  done
}
net() {
  python3 -m http.server 0 --bind 127.0.0.1 --directory "$work/scratch" \
    > "$work/http.log" 2>&1 &
  local srv=$!
  local port=
  for _ in $(seq 50); do
    port=$(grep -o 'port [0-9]*' "$work/http.log" | grep -o '[0-9]*' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  while [ -n "$port" ] && [ "$(date +%s)" -lt "$end" ]; do
    exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 \
      && cat <&3 > /dev/null; exec 3>&- || true
    sleep 0.05
  done
  kill "$srv" 2>/dev/null || true
}
containers() {
  local ctr=${CTR_BASE:-/tmp/ctr-test}
  [ -f "$ctr/env" ] || { echo "soak: no container runtimes (tests/ctr-test-env.sh up); no container starts" >&2; return 0; }
  set -a; . "$ctr/env"; set +a
  command -v podman > /dev/null || return 0
  while [ "$(date +%s)" -lt "$end" ]; do
    podman --root "$ctr/podman/storage" --runroot "$ctr/podman/run" \
      run --rm localhost/test:1 true > /dev/null 2>&1 || true
    sleep "$container_every"
  done
}
churn & pids+=($!)
files & pids+=($!)
net & pids+=($!)
containers & pids+=($!)

# Samples.
csv=$out/samples.csv
echo "t,stage,rss_kb,hwm_kb,fds,counter" > "$csv"
sample() {
  local t=$1 name pid
  for pair in "capture:$cap" "enrich:$enr" "evaluate:$eva" "output:$outp"; do
    name=${pair%%:*}; pid=${pair#*:}
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "soak: $name (pid $pid) died: $(tail -1 "$work/$name.err")" >&2
      exit 1
    fi
    local rss hwm fds c
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    c=$("$bin/$name" ctl stats --json --control "$work/$name.ctl" 2>/dev/null \
      | jq -r '.counters | (.events // .events_in // .events_evaluated // .alerts // 0)' \
      2>/dev/null || echo 0)
    echo "$t,$name,$rss,$hwm,$fds,$c" >> "$csv"
  done
}
start=$(date +%s)
sample 0
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$every"
  sample $(( $(date +%s) - start ))
done

# Summary: per stage, after warm-up, the RSS range against its median and
# the fd count range.
echo
echo "| stage | RSS median after warm-up (MB) | RSS min–max (MB) | spread vs median | VmHWM (MB) | fds min–max | samples |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for s in capture enrich evaluate output; do
  rows=$(awk -F, -v s="$s" -v w="$warmup" '$2 == s && $1 >= w' "$csv")
  n=$(printf '%s\n' "$rows" | grep -c . || true)
  if [ "$n" -eq 0 ]; then
    echo "| $s | – | – | – | – | – | 0 |"
    continue
  fi
  med=$(printf '%s\n' "$rows" | cut -d, -f3 | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf '%s\n' "$rows" | awk -F, -v s="$s" -v med="$med" -v n="$n" '
    NR == 1 { lo = $3; hi = $3; fmin = $5; fmax = $5; h = $4 }
    { if ($3 < lo) lo = $3; if ($3 > hi) hi = $3; if ($5 < fmin) fmin = $5; if ($5 > fmax) fmax = $5; if ($4 > h) h = $4 }
    END { printf "| %s | %.1f | %.1f–%.1f | %.1f%% | %.1f | %d–%d | %d |\n", s, med / 1024, lo / 1024, hi / 1024, (hi - lo) / med * 100, h / 1024, fmin, fmax, n }'
done
if command -v gnuplot > /dev/null; then
  gnuplot <<EOF
set terminal png size 900,500
set output "$out/soak.png"
set datafile separator ","
set xlabel "minutes"
set ylabel "RSS (MB)"
set key outside
plot for [s in "capture enrich evaluate output"] "< grep ,".s.", $csv" using (\$1/60):(\$3/1024) with linespoints title s
EOF
  echo "plot: $out/soak.png"
fi
echo "samples: $csv"
