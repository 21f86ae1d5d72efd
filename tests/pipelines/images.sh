#!/usr/bin/env bash
# Builds the four stage images with the real dockerd of tests/ctr-test-env.sh
# (brought up when it is not running) and runs a recorded stream through the
# unprivileged ones: enrich and evaluate in containers, as non-root, with
# read-only root filesystems.
# Usage: images.sh BIN_DIR
set -euo pipefail
bin=$(cd "${1:?usage: images.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fail() { echo "images.sh: FAIL: $*" >&2; exit 1; }
export CTR_BASE=${CTR_BASE:-/tmp/ctr-test}
docker_cli="/usr/bin/docker -H unix://$CTR_BASE/docker.sock"
if ! $docker_cli info >/dev/null 2>&1; then
  bash "$root/tests/ctr-test-env.sh" up >/dev/null || fail "ctr-test-env.sh up failed"
fi
DOCKER=$docker_cli KESTREL_BIN=$bin DOCKER_BUILDKIT=0 "$root/pipelines/images/build.sh" \
  || fail "image build failed"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Triggers repeat for the whole capture: on a loaded machine the probe may take
# a while to attach.
"$bin/capture" --duration 5 > "$work/trace.kst" 2>/dev/null &
for _ in $(seq 20); do cat /etc/shadow >/dev/null; sleep 0.2; done; wait
run() { $docker_cli run -i --rm --network none --read-only "$@"; }
run kestrel/enrich:0.1.0 < "$work/trace.kst" \
  | run kestrel/evaluate:0.1.0 --format json > "$work/alerts.json" \
  || fail "containerised enrich | evaluate failed"
grep -q '/etc/shadow' "$work/alerts.json" || fail "no alert from the containerised stages"
uid=$(run --entrypoint /usr/local/bin/evaluate kestrel/evaluate:0.1.0 list-rules >/dev/null && \
      $docker_cli inspect -f '{{.Config.User}}' kestrel/evaluate:0.1.0)
[ "$uid" = "65102:65102" ] || fail "evaluate image runs as '$uid', not non-root"
echo "images: ok (built 4, ran enrich|evaluate in containers as $uid)"
