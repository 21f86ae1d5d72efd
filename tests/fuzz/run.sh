#!/usr/bin/env bash
# Builds every fuzz target of tests/fuzz/ with libFuzzer and runs each for
# SECONDS_PER_TARGET seconds (default 15) on its seed corpus; fails on the
# first crash, leak-free timeout or out-of-memory, leaving the input that
# caused it in tests/fuzz/artifacts/TARGET/.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Stable Rust only: the coverage instrumentation libFuzzer needs
# (SanitizerCoverage's inline 8-bit counters, PC table and comparison
# tracing) is asked of LLVM with -Cpasses and -Cllvm-args, which stable
# rustc accepts, and libfuzzer-sys builds libFuzzer itself from its C++
# sources. No sanitizer runs by default (-Zsanitizer needs nightly);
# FUZZ_SANITIZER=address turns AddressSanitizer on through RUSTC_BOOTSTRAP
# for a deeper local run, never in CI.
#
# Environment: FUZZ_JOBS (build jobs), FUZZ_CORPUS_OUT (keep the grown
# corpus there instead of a scratch directory), FUZZ_SANITIZER.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
secs=${1:-15}
shift || true
log() { printf '== fuzz: %s\n' "$*" >&2; }

# libFuzzer is C++: libfuzzer-sys compiles it with the system's c++.
if ! command -v c++ >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/fuzz/run.sh: needs a C++ compiler; run as root, or: sudo apt-get install g++" >&2
    exit 1
  fi
  log "installing g++"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq g++ >/dev/null
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
flags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  --cfg fuzzing
)
case "${FUZZ_SANITIZER:-none}" in
  none) ;;
  address)
    export RUSTC_BOOTSTRAP=1
    flags+=(-Zsanitizer=address)
    ;;
  *)
    echo "tests/fuzz/run.sh: FUZZ_SANITIZER is none or address" >&2
    exit 1
    ;;
esac
# Its own target directory: instrumented objects must not mix with the
# workspace's. --target keeps the flags off build scripts and proc macros.
export CARGO_TARGET_DIR="$here/target${FUZZ_SANITIZER:+-$FUZZ_SANITIZER}"
export RUSTFLAGS="${flags[*]}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^kestrel-fuzz$')
fi
log "building ${#targets[@]} targets"
cargo build --locked --release --target "$triple" ${FUZZ_JOBS:+-j "$FUZZ_JOBS"} \
  $(printf -- '--bin %s ' "${targets[@]}")
bin="$CARGO_TARGET_DIR/$triple/release"

failed=()
for t in "${targets[@]}"; do
  seeds="$here/corpus/$t"
  work=${FUZZ_CORPUS_OUT:+$FUZZ_CORPUS_OUT/$t}
  work=${work:-$(mktemp -d)}
  mkdir -p "$work" "$here/artifacts/$t"
  dict=()
  [ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
  log "$t: ${secs}s"
  # New inputs go to $work; the committed seeds are only read.
  if ! "$bin/$t" "$work" "$seeds" "${dict[@]}" \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$here/artifacts/$t/" \
      2> >(tee "$work.log" | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|.*panicked)' >&2); then
    failed+=("$t")
    grep -A12 -E 'panicked|==[0-9]+== ERROR' "$work.log" | head -40 >&2 || true
  fi
  [ -n "${FUZZ_CORPUS_OUT:-}" ] || rm -rf "$work" "$work.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "tests/fuzz/run.sh: crashes in ${failed[*]}; inputs in tests/fuzz/artifacts/" >&2
  exit 1
fi
log "all ${#targets[@]} targets ran ${secs}s without a crash"
