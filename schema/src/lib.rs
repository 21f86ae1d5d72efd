//! The `schema` crate: kestrel's wire format, linked by every stage.
//!
//! It holds the code generated from `capnp/kestrel.capnp` (the contract between
//! `capture`, `enrich`, `evaluate` and `output`), the event table that names each
//! event kind's positional parameters, a frame reader and writer (blocking in
//! [`reader`]/[`writer`], tokio in [`aio`]) that enforce the named limits of
//! [`limits`], and the transports of [`transport`] that every stage selects with
//! the same `--input`/`--output` syntax; [`reconnect`] keeps an output going
//! while the stage downstream restarts. [`control`] is the control plane
//! every stage serves on `--control PATH` (Cap'n Proto RPC, interfaces in
//! `capnp/control.capnp`) and the client of `NAME ctl …`.
//!
//! [`priority`] gives the wire's alert priorities Falco's names, the one
//! parser of priority names, and their severity order.
//!
//! [`state`] resolves an enriched event's reference to its thread's state
//! frame, which every reader of enrich's stream needs.
//!
//! It is not a place for stage logic: no state tracking (what a state holds
//! and when it is sent is enrich's), no rule evaluation, no alert delivery. A stage reads frames, does its work, writes frames.

#[allow(clippy::all, missing_docs, unused)]
pub mod kestrel_capnp {
    include!(concat!(env!("OUT_DIR"), "/kestrel_capnp.rs"));
}

#[allow(clippy::all, missing_docs, unused)]
pub mod control_capnp {
    include!(concat!(env!("OUT_DIR"), "/control_capnp.rs"));
}

pub mod aio;
pub mod arena;
pub mod control;
pub mod error;
mod framing;
pub use framing::FrameSegments;
pub mod header;
pub mod json;
pub mod limits;
pub mod priority;
pub mod reader;
pub mod reconnect;
pub mod state;
pub mod table;
pub mod transport;
pub mod writer;

pub use error::FrameError;
pub use header::HeaderInfo;
pub use kestrel_capnp::{
    alert, event, frame, header as header_capnp, param, stats, Kind, Priority, Stage,
};
pub use reader::{FrameReader, InFrame};
pub use transport::Endpoint;
pub use writer::FrameWriter;

/// Wall-clock time now, ns since the Unix epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// This machine's hostname, or "unknown".
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}
