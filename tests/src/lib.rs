//! Shared helpers for kestrel's integration tests and benchmarks: sample
//! frames of every kind ([`frames`]), the bad streams every stage must refuse
//! cleanly ([`bad`]), and ways to run a stage and watch it ([`run`]).
//!
//! Nothing here is linked into the stages; it exists so that every stage's
//! tests feed the same inputs.

pub mod bad;
pub mod frames;
pub mod run;
