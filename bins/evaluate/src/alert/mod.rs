//! Alerts: output templates ([`template`]), and the shapes an alert leaves
//! evaluate in ([`format`]: the `alert` frame, and the text and Falco-style
//! JSON lines rendered from it by the `render` crate).
//!
//! It is not a place for delivering alerts (that is the `output` stage) or
//! for deciding whether a rule fires.

pub mod format;
pub mod template;
