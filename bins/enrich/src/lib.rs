//! enrich: kestrel's state stage. It reads capture's event stream (live or
//! recorded) and writes each event with its state attached: the thread and
//! its ancestors, the descriptor it concerns, user, group, login user,
//! container and Kubernetes pod. A thread's state is written once in a
//! `state` frame, and again when it changes; its events name it
//! (`stateGen`) instead of repeating it ([`writer::statelink`]), which keeps them a
//! few hundred bytes. Readers resolve the names with
//! `schema::state::StateTable`; `--inline-state` writes every event whole
//! instead. evaluate keeps no state beyond that table.
//!
//! enrich runs unprivileged and never reads /proc: everything comes from the
//! stream (capture's snapshot events and syscalls), so a recorded stream
//! replays to the same output. The only outside inputs are the passwd and
//! group files and, optionally, container runtimes' APIs for metadata
//! (Docker-compatible ones and CRI: [`runtime`]).
//!
//! Its rooms: the loop ([`run`], [`engine`], [`apply`], one file per
//! syscall family, with [`params`] and [`args`] reading parameters by
//! position); [`tables`], what it remembers; [`writer`], how frames are
//! written fast; [`runtime`], the container runtimes' clients.
//!
//! It does not evaluate rules or deliver alerts (evaluate and output do).

pub mod apply;
pub mod args;

pub mod engine;
pub mod forward;
pub mod holdback;
pub mod input;
pub mod limits;
pub mod params;
pub mod run;
pub mod runtime;
pub mod stats;
pub mod tables;
pub mod writer;

pub use engine::{Enricher, FetchRequest, MetaUpdate, Options};
