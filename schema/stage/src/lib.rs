//! The `stage` crate: what every kestrel stage runs around its own work,
//! written once.
//!
//! - [`Driver`] is the loop: batches from a [`Source`], the clock checked
//!   between them (timers, the per-second `stats` frame, stops), flush and
//!   wait when idle, drain and final stats at the end. A frame-reading
//!   stage implements [`Filter`] and runs as [`Frames`]; capture's ring
//!   buffer is a [`Source`] of its own.
//! - [`Out`] is where frames go (frames, rendered alert lines, or
//!   nothing), over the [`transport`]s every stage selects with the same
//!   `--input`/`--output` syntax; [`reconnect`] keeps an output going while
//!   the stage downstream restarts.
//! - [`Counters`] are typed: a drop is a drop with its reason, on the wire
//!   too.
//! - [`StageError`] says how a run ended; a reader that went away is told
//!   from a failure in one place.
//! - [`control`] serves `--control PATH` (Cap'n Proto RPC, interfaces in
//!   `schema/capnp/control.capnp`) and [`ctl`] is the one `NAME ctl …`
//!   command line, which each stage extends.
//!
//! It is not the wire format (that is the `schema` crate, re-exported here
//! for macros) and holds no stage's logic: no process state, no rules, no
//! sinks.

pub use schema;

pub mod args;
pub mod control;
pub mod counters;
pub mod ctl;
mod driver;
pub mod error;
mod filter;
pub mod input;
pub mod out;
pub mod reconnect;
pub mod transport;

pub use counters::{Counter, Counters, Kind};
pub use driver::{Driver, Pumped, Source, BATCH, PUBLISH_DELAY, STATS_INTERVAL};
pub use error::StageError;
pub use filter::{Filter, Frames, Which};
pub use input::Input;
pub use out::{Out, Sink};
pub use transport::Endpoint;
