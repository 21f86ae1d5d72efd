//! Shared helpers for kestrel's integration tests and benchmarks: sample
//! frames of every kind ([`frames`]), the bad streams every stage must refuse
//! cleanly ([`bad`]), ways to run a stage and watch it ([`run`]), and a
//! kubelet's part on containerd's CRI ([`cri`]).
//!
//! Nothing here is linked into the stages; it exists so that every stage's
//! tests feed the same inputs. The crate's binaries serve the pipe's own
//! tests and benchmark: `kestrel-relay` (a stage with no logic, for testing
//! transports and bad input) and `kestrel-pipe-bench` (both ends of
//! `tests/bench/pipe.sh`).

pub mod bad;
pub mod cri;
pub mod frames;
pub mod run;
