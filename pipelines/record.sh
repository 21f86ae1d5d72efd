#!/usr/bin/env bash
# Records raw capture frames to a file for later replay:
#   sudo pipelines/record.sh trace.kst [SECONDS]
# The recording holds the /proc snapshot, so it replays without the host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: record.sh FILE [SECONDS]}
secs=${2:-60}
"$here/deps.sh"
bin=${KESTREL_BIN:-$(dirname "$here")/target/release}
[ -n "${KESTREL_BIN:-}" ] || (cd "$here/.." && cargo build --release -q -p capture)
"$bin/capture" --duration "$secs" > "$out"
echo "recorded $(stat -c %s "$out") bytes to $out" >&2
