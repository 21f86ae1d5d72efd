#!/usr/bin/env bash
# The benign workload of e2e_rules.rs: ordinary work that kestrel's default
# rules must not report at Warning or above. Run by a copy of bash named
# kt-benign, so that the test can scope the rules to this process tree.
#   benign-workload.sh WORKDIR
# It builds and tests a small Rust crate offline, installs and removes a
# small Debian package when the network allows, and runs an interactive
# shell session.
set -euo pipefail
work=$1
mkdir -p "$work"
cd "$work"

echo "benign: cargo new, test and build (offline)" >&2
export CARGO_TARGET_DIR=$work/target
rm -rf kt_benign_crate
cargo new --offline --quiet --vcs none --lib kt_benign_crate
cd kt_benign_crate
cat >> src/lib.rs <<'RS'

/// Sums the squares of `xs`.
pub fn sum_squares(xs: &[u64]) -> u64 {
    xs.iter().map(|x| x * x).sum()
}

#[cfg(test)]
mod squares {
    #[test]
    fn sums() {
        assert_eq!(super::sum_squares(&[1, 2, 3]), 14);
    }
}
RS
cargo test --offline --quiet 2>&1 | tail -n 3 >&2
cargo build --offline --quiet
cd "$work"

echo "benign: apt-get install/remove of a small package" >&2
apt_opts=(-o DPkg::Lock::Timeout=300 -y -q)
if DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install --no-install-recommends hello >/dev/null 2>&1 \
   || { apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install --no-install-recommends hello >/dev/null 2>&1; }; then
  hello >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" remove hello >/dev/null 2>&1
else
  echo "benign: NOTE: apt-get install not exercised (no package repository reachable)" >&2
fi

echo "benign: interactive shell session" >&2
HISTFILE=$work/.bash_history HOME=$work bash --norc -i 2>/dev/null <<'SH'
cd "$HOME"
ls -la /etc >/dev/null
cat /etc/passwd /etc/hostname >/dev/null
grep -c root /etc/group >/dev/null
ps ax >/dev/null
echo "notes" > notes.txt
cp notes.txt notes.bak && mv notes.bak notes.old && rm notes.old
mkdir -p scratch && tar -C scratch -cf scratch.tar . && rm -rf scratch scratch.tar
history -w
exit 0
SH
echo "benign: done" >&2
