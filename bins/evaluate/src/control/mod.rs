//! evaluate's control plane: the live ruleset that `reload`,
//! `setEnabled` and SIGHUP replace while events flow ([`live`]), the
//! `EvaluateControl` RPC server on `--control PATH` ([`server`]), and the
//! `evaluate ctl …` client ([`ctl`]).
//!
//! It is not a place for loading or compiling rules (that is
//! [`crate::loader`] and [`crate::ruleset`]) nor for the socket machinery
//! shared by every stage (that is `stage::control`).

pub mod ctl;
pub mod live;
pub mod server;

pub use live::{Controller, Live, Outcome, RuleConfig};
