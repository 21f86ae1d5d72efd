//! The `schema` crate: kestrel's wire format, linked by every stage.
//!
//! It holds the code generated from `capnp/kestrel.capnp` (the contract between
//! `capture`, `enrich`, `evaluate` and `output`) and `capnp/control.capnp` (the
//! control sockets' interfaces), the event table that names each event kind's
//! positional parameters, and a frame reader and writer (blocking in
//! [`reader`]/[`writer`], tokio in [`aio`]) that enforce the named limits of
//! [`limits`]. [`state`] resolves an enriched event's reference to its
//! thread's state frame, which every reader of enrich's stream needs.
//!
//! [`priority`] gives the wire's alert priorities Falco's names, the one
//! parser of priority names, and their severity order.
//!
//! It is not a place for stage logic, nor for the loop, transports and
//! control sockets every stage shares (the `stage` crate beside it): no state
//! tracking (what a state holds and when it is sent is enrich's), no rule
//! evaluation, no alert delivery.

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
pub mod error;
mod framing;
pub use framing::FrameSegments;
pub mod header;
pub mod json;
pub mod limits;
pub mod priority;
pub mod reader;
pub mod state;
pub mod table;
pub mod writer;

pub use error::FrameError;
pub use header::HeaderInfo;
pub use kestrel_capnp::{
    alert, event, frame, header as header_capnp, param, stats, Kind, Priority, Stage,
};
pub use reader::{FrameReader, InFrame};
pub use writer::FrameWriter;

/// Wall-clock time now, ns since the Unix epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The name set with [`set_hostname`] (a stage's `--hostname`).
static HOSTNAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Environment variables that name the node, in order of preference: a
/// DaemonSet sets `NODE_NAME` from `spec.nodeName`, so that alerts name the
/// node rather than the pod.
pub const HOSTNAME_ENV: [&str; 2] = ["KESTREL_HOSTNAME", "NODE_NAME"];

/// Makes [`hostname`] answer `name` for the rest of the process (a stage's
/// `--hostname`). Only the first call counts; an empty name is ignored.
pub fn set_hostname(name: &str) {
    if !name.is_empty() {
        let _ = HOSTNAME.set(name.to_string());
    }
}

/// The node name chosen by the operator, if any: `--hostname`, else the
/// first of [`HOSTNAME_ENV`] that is set and not empty.
pub fn hostname_override() -> Option<String> {
    if let Some(h) = HOSTNAME.get() {
        return Some(h.clone());
    }
    HOSTNAME_ENV
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

/// The name this machine goes by in headers, stats and alerts: the
/// operator's choice ([`hostname_override`]), else the kernel's hostname,
/// else "unknown".
pub fn hostname() -> String {
    hostname_override().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string())
    })
}
