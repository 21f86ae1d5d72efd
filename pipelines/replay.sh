#!/usr/bin/env bash
# Replays a recording through the unprivileged stages, deterministically:
#   pipelines/replay.sh trace.kst [evaluate args, e.g. -r my_rules.yaml]
# Needs no root: nothing here touches the kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:?usage: replay.sh FILE [EVALUATE ARGS...]}
shift
bin=${KESTREL_BIN:-$(dirname "$here")/target/release}
[ -n "${KESTREL_BIN:-}" ] || (cd "$here/.." && cargo build --release -q -p enrich -p evaluate -p output)
"$bin/enrich" < "$in" | "$bin/evaluate" --format frames "$@" | "$bin/output"
