#!/usr/bin/env bash
# Checks the systemd units as far as a machine without systemd as PID 1 allows:
#  1. `systemd-analyze verify` on every unit, with ExecStart pointing at the
#     binaries just built;
#  2. the socket-activation handoff, with systemd's own launcher: a listening
#     socket held by systemd-socket-activate starts enrich with LISTEN_FDS when
#     capture connects, as kestrel-enrich.socket does; then the same for
#     evaluate behind enrich;
#  3. what happens to capture when enrich restarts (see pipelines/README.md).
# Usage: units.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: units.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
units=$here/../../pipelines/systemd
work=$(mktemp -d)
cleanup() { jobs -p | xargs -r kill 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "units.sh: FAIL: $*" >&2; exit 1; }

# 1. verify
mkdir -p "$work/units"
for f in "$units"/*.service "$units"/*.socket; do
  sed "s#/usr/local/bin/#$bin/#g" "$f" > "$work/units/$(basename "$f")"
done
if ! out=$(cd "$work/units" && systemd-analyze verify --man=no ./*.service ./*.socket 2>&1); then
  fail "systemd-analyze verify: $out"
fi
# verify prints warnings without failing; treat any line about our units as an error
if grep -E 'kestrel-.*\.(service|socket)' <<<"$out" | grep -v 'Failed to put bus name' >&2; then
  fail "systemd-analyze verify reported problems"
fi
echo "verify: ok ($(ls "$work/units" | wc -l) units)"

# 2. handoff: capture -> [socket-activated enrich] -> [socket-activated evaluate] -> file
sock1=$work/enrich.sock sock2=$work/evaluate.sock
systemd-socket-activate -l "$sock2" "$bin/evaluate" --input systemd --format json \
  -r "$here/../../rules" > "$work/alerts.json" 2> "$work/evaluate.err" &
systemd-socket-activate -l "$sock1" "$bin/enrich" --input systemd --output "unix:$sock2" \
  > /dev/null 2> "$work/enrich.err" &
for _ in $(seq 50); do [ -S "$sock1" ] && [ -S "$sock2" ] && break; sleep 0.1; done
[ -S "$sock1" ] || fail "systemd-socket-activate did not create $sock1"
"$bin/capture" --duration 5 --output "unix:$sock1" 2> "$work/capture.err" &
cap=$!
# Repeat the trigger for the whole capture: on a loaded machine the probe may
# take a while to attach.
for _ in $(seq 20); do cat /etc/shadow > /dev/null; sleep 0.2; done
wait $cap || fail "capture failed: $(tail -3 "$work/capture.err")"
for _ in $(seq 50); do grep -q 'Credential' "$work/alerts.json" 2>/dev/null && break; sleep 0.1; done
grep -q '"rule":"[^"]*[Cc]redential' "$work/alerts.json" \
  || fail "no alert came through the socket-activated chain; enrich: $(tail -2 "$work/enrich.err"); evaluate: $(tail -2 "$work/evaluate.err")"
echo "handoff: ok (capture -> socket-activated enrich -> socket-activated evaluate)"
