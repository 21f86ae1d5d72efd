//! Shared helpers for kestrel integration tests and benchmarks.
