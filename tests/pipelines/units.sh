#!/usr/bin/env bash
# Checks the systemd units as far as a machine without systemd as PID 1 allows:
#  1. `systemd-analyze verify` on every unit, with ExecStart pointing at the
#     binaries just built;
#  2. the handoff and the restarts, with systemd's own launcher standing in
#     for PID 1: capture is handed a listening socket and started by enrich's
#     connection (as kestrel-capture.socket does), evaluate is
#     socket-activated behind enrich (kestrel-evaluate.socket). Then enrich is
#     killed and started again: capture keeps running, counts the gap in
#     drops.downstream_disconnected and feeds the new enrich; then evaluate is
#     killed and started again: enrich keeps running and connects again. A
#     SIGTERM (systemctl stop) ends capture cleanly;
#  3. the same enrich restart with `capture --output listen:` (no systemd),
#     capture ending at its --duration.
# See pipelines/README.md, "What happens when a stage restarts".
# Usage: units.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: units.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
units=$here/../../pipelines/systemd
rules=$here/../../rules
work=$(mktemp -d)
cleanup() {
  for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
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

# Helpers over frame files, read with `output --raw` (one JSON object per
# frame); a file still being written may end in half a frame, hence `|| true`.
raw() { "$bin/output" --raw < "$1" 2>/dev/null || true; }
has_alert() { raw "$1" | grep -q '"rule":"[^"]*[Cc]redential'; }
# counter FILE STAGE NAME: the value in STAGE's last stats frame in FILE
counter() {
  raw "$1" | grep "\"stats\":.*\"stage\":\"$2\"" | tail -1 \
    | grep -o "\"name\":\"$3\"[^}]*\"value\":[0-9]*" | grep -o '[0-9]*$' || echo 0
}
# wait_for SECS WHAT CMD...: polls CMD until it succeeds, or fails with WHAT
wait_for() {
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  fail "$what"
}
alive() { kill -0 "$1" 2>/dev/null; }
# crash PID: SIGKILL, as a crashing stage dies, and reap it quietly
crash() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
last_err() { tail -3 "$work/$1.err" 2>/dev/null | tr '\n' ' '; }

# The alert trigger, for the whole test: on a loaded machine the probe may
# take a while to attach.
(while :; do cat /etc/shadow > /dev/null; sleep 0.2; done) &
trigger=$!
# 2. systemd's launcher: capture <- enrich -> [socket-activated evaluate]
s_cap=$work/capture.sock s_ev=$work/evaluate.sock
ev_pid=
# activate_evaluate OUT: a socket-activated evaluate writing frames to OUT
activate_evaluate() {
  rm -f "$s_ev"
  systemd-socket-activate -l "$s_ev" "$bin/evaluate" --input systemd --format frames \
    -r "$rules" > "$1" 2>> "$work/evaluate.err" &
  ev_pid=$!
  wait_for 5 "systemd-socket-activate did not create $s_ev" test -S "$s_ev"
}
# start_enrich NAME: enrich from capture's socket to evaluate's
start_enrich() {
  "$bin/enrich" --input "unix:$s_cap" --output "unix:$s_ev" 2> "$work/$1.err" &
}
# --duration only bounds a hung test: SIGTERM ends capture below.
systemd-socket-activate -l "$s_cap" "$bin/capture" --output systemd --duration 60 \
  2> "$work/capture.err" &
cap=$!
wait_for 5 "systemd-socket-activate did not create $s_cap" test -S "$s_cap"
activate_evaluate "$work/ev1.kst"
start_enrich enrich1
enrich1=$!
wait_for 30 "no alert came through the chain; capture: $(last_err capture) enrich: $(last_err enrich1) evaluate: $(last_err evaluate)" \
  has_alert "$work/ev1.kst"
echo "handoff: ok (socket-activated capture <- enrich -> socket-activated evaluate)"

crash "$enrich1"
# evaluate sees its input end and leaves, as systemd's would before its restart
wait_for 5 "evaluate did not stop when enrich went away" eval '! alive $ev_pid'
activate_evaluate "$work/ev2.kst"
start_enrich enrich2
enrich2=$!
wait_for 20 "no alert after enrich restarted; capture: $(last_err capture) enrich: $(last_err enrich2)" \
  has_alert "$work/ev2.kst"
alive "$cap" || fail "capture did not survive enrich's restart: $(last_err capture)"
drops=$(counter "$work/ev2.kst" capture drops.downstream_disconnected)
[ "$drops" -gt 0 ] || fail "capture's drops.downstream_disconnected is $drops after enrich's restart"
echo "enrich restart: ok (capture kept running, $drops events counted in drops.downstream_disconnected)"

crash "$ev_pid"
activate_evaluate "$work/ev3.kst"
ev3=$ev_pid
wait_for 20 "no alert after evaluate restarted; enrich: $(last_err enrich2)" has_alert "$work/ev3.kst"
alive "$enrich2" || fail "enrich did not survive evaluate's restart: $(last_err enrich2)"
kill -TERM "$cap"
wait "$cap" || fail "capture did not stop cleanly on SIGTERM: $(last_err capture)"
wait "$enrich2" || fail "enrich failed after evaluate's restart: $(last_err enrich2)"
wait "$ev3" || fail "the restarted evaluate failed: $(last_err evaluate)"
raw "$work/ev3.kst" | head -1 | grep -q '"header":.*"stage":"evaluate"' \
  || fail "the restarted evaluate's stream does not open with its header"
events=$(counter "$work/ev3.kst" enrich events_out)
[ "$events" -gt 0 ] || fail "the restarted evaluate got no events from enrich"
gap=$(counter "$work/ev3.kst" enrich drops.downstream_disconnected)
[ "$gap" -gt 0 ] || fail "enrich's drops.downstream_disconnected is $gap after evaluate's restart"
echo "evaluate restart: ok (enrich kept running and connected again; $events events out, $gap frames counted)"

# 3. capture --output listen:, ending at its --duration
s_cap=$work/listen.sock
"$bin/capture" --output "listen:$s_cap" --duration 6 2> "$work/capture.err" &
cap=$!
wait_for 5 "capture did not listen on $s_cap" test -S "$s_cap"
"$bin/enrich" --input "unix:$s_cap" > "$work/first.kst" 2> "$work/enrich1.err" &
enrich1=$!
wait_for 20 "the first enrich got no events: $(last_err capture)" test -s "$work/first.kst"
crash "$enrich1"
sleep 0.5
"$bin/enrich" --input "unix:$s_cap" 2> "$work/enrich2.err" \
  | "$bin/evaluate" --format frames -r "$rules" > "$work/second.kst" 2> "$work/evaluate.err" &
second=$!
wait "$cap" || fail "capture (listen:) failed: $(last_err capture)"
wait "$second" || fail "the second enrich | evaluate failed: $(last_err enrich2) $(last_err evaluate)"
has_alert "$work/second.kst" || fail "no alert after enrich restarted (listen:)"
drops=$(counter "$work/second.kst" capture drops.downstream_disconnected)
[ "$drops" -gt 0 ] || fail "capture's drops.downstream_disconnected is $drops (listen:)"
crash "$trigger"
echo "listen restart: ok (capture ended at its --duration; $drops events counted)"
