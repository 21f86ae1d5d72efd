//! Alerts: output templates ([`template`]), and the shapes an alert leaves
//! evaluate in (text line, Falco-style JSON line, `alert` frame).
//!
//! It is not a place for delivering alerts (that is the `output` stage) or
//! for deciding whether a rule fires.

pub mod format;
pub mod template;
pub mod time;
