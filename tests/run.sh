#!/usr/bin/env bash
# The test command of README.md. Installs what the tests need when it is
# missing (pipelines/deps.sh), then runs format and lint checks and the whole
# suite: a short fuzzing run of every parser of outside data, unit tests, pipe
# and stage tests, kernel tests (the real probe in the real kernel) and
# container tests (real dockerd and podman, started by the
# tests through tests/ctr-test-env.sh). Run as root. Under CI=true nothing
# skips: a missing prerequisite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '== %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "tests/run.sh: run as root (kernel and container tests)" >&2
  exit 1
fi
./pipelines/deps.sh

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
log "cargo build (binaries used by the end-to-end tests)"
cargo build --workspace --bins
# Every parser of outside data under libFuzzer for a short budget
# (RELIABILITY.md): about four minutes with the instrumented build.
log "fuzz targets (tests/fuzz/run.sh, ${FUZZ_SECONDS:-5}s each)"
./tests/fuzz/run.sh "${FUZZ_SECONDS:-5}"
# Real container runtimes for the container tests (enrich's metadata, the
# container rules, the images): started fresh once here, so that every test
# binary finds them up, and stopped at the end.
export CTR_BASE=${CTR_BASE:-/tmp/ctr-test}
log "container runtimes (tests/ctr-test-env.sh up)"
bash tests/ctr-test-env.sh down >/dev/null 2>&1 || true
bash tests/ctr-test-env.sh up
trap 'bash tests/ctr-test-env.sh down >/dev/null 2>&1 || true' EXIT

log "cargo test"
# Tests whose prerequisites a plain `cargo test` may lack (root, the probe,
# the built stages, container runtimes) are #[ignore]d there; here they run.
cargo test --workspace --no-fail-fast -- --include-ignored --test-threads=2
